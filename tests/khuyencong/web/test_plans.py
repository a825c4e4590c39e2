"""*Kế hoạch* and *Báo cáo*: a plan's envelope and commitments from its workflow; the reports
with charts and their XLSX / CSV downloads; a provincial official sees their province only."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook  # type: ignore[import-untyped, unused-ignore]

from domain.model import Level, Role
from khuyencong.plans.service import ensure_plan
from tests.khuyencong.web.conftest import (
    Desk,
    add_official,
    cast,
    log_in,
    registered,
    suffix,
    today,
)
from tests.support.waiting import until
from workflows.plan_contract import PlanConfig


async def test_a_plan_shows_its_envelope_to_its_province_and_is_hidden_from_others(
    desk: Desk,
) -> None:
    province = f"Tỉnh Thử {suffix()}"
    config = PlanConfig.with_defaults(province, Level.DIA_PHUONG, today().year, 5_000_000_000)
    centre = f"TT-{suffix()}"
    await add_official(desk.admin, centre, Role.TRUNG_TAM, province)
    opener = await desk.admin.acting(centre)
    await ensure_plan(desk.admin.client, desk.settings.task_queue, config, opener)

    async def recorded() -> bool:
        found = await desk.admin.pool.fetchval(
            "SELECT 1 FROM plan WHERE plan_id = $1", config.plan_id
        )
        return bool(found)

    await until(recorded, timeout=30)
    official = f"SO-{suffix()}"
    await add_official(desk.admin, official, Role.SO_CONG_THUONG, province)
    people = await cast(desk.admin)
    async with desk.client() as client:
        await log_in(client, official)
        listed = await client.get("/ke-hoach")
        assert f'href="/ke-hoach/{config.plan_id}"' in listed.text
        page = await client.get(f"/ke-hoach/{config.plan_id}")
        assert page.status_code == 200, page.text
        assert "5.000.000.000 đ" in page.text and 'id="envelope"' in page.text
    async with desk.client() as client:
        await log_in(client, people.so)  # Bắc Giang
        assert config.plan_id not in (await client.get("/ke-hoach")).text
        assert (await client.get(f"/ke-hoach/{config.plan_id}")).status_code == 404


async def test_the_report_draws_its_charts_and_downloads_as_xlsx_and_csv(desk: Desk) -> None:
    people = await cast(desk.admin)
    await registered(desk, people)  # at least one đề án of this year in Bắc Giang
    year = today().year
    async with desk.client() as client:
        await log_in(client, people.so)
        page = await client.get("/bao-cao", params={"tu": year, "den": year})
        assert page.status_code == 200, page.text
        assert "Bắc Giang" in page.text  # the province of the official, and only it
        assert "Theo nội dung" in page.text and 'class="bar-row"' in page.text
        xlsx = await client.get("/bao-cao/tai-xuong.xlsx", params={"tu": year, "den": year})
        assert xlsx.status_code == 200
        assert "attachment" in xlsx.headers["content-disposition"]
        book = load_workbook(io.BytesIO(xlsx.content))
        assert "Theo nội dung" in book.sheetnames
        table = await client.get("/bao-cao/tai-xuong.csv", params={"tu": year, "den": year})
        text = table.content.decode("utf-8-sig")
        assert next(csv.reader(io.StringIO(text)))[0] == "Bảng"
        assert (await client.get("/bao-cao", params={"tu": "19xx"})).status_code == 404
