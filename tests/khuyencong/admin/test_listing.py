"""Listing and searching đề án in the read model: filters, sort, pages."""

from __future__ import annotations

import asyncpg
import pytest

from db.de_an import write_step
from domain.model import Level
from domain.stages import Action, Stage
from khuyencong.admin.client import AdminClient
from khuyencong.admin.models import DeAnFilter
from tests.support.builders import make_dossier, make_step, unique_code


@pytest.fixture
async def province(db_pool: asyncpg.Pool) -> str:
    """Five đề án of a province of their own, written through the activities' write path."""
    name = f"Tỉnh Thử {unique_code('L')}"
    rows = [
        ("Yên Dũng", Level.DIA_PHUONG, 2019, "3", Stage.REGISTERED, False),
        ("Yên Dũng", Level.DIA_PHUONG, 2020, "1", Stage.IN_PROGRESS, True),
        ("Lục Ngạn", Level.QUOC_GIA, 2019, "3", Stage.IN_PROGRESS, False),
        ("Lục Ngạn", Level.DIA_PHUONG, 2019, "4", Stage.REGISTERED, False),
        ("Hiệp Hòa", Level.DIA_PHUONG, 2019, "3", Stage.CLOSED, False),
    ]
    async with db_pool.acquire() as conn, conn.transaction():
        for n, (district, level, year, area, stage, overdue) in enumerate(rows, 1):
            schedule = {"start": f"{year}-03-01", "end": f"{year}-11-30"}
            dossier = make_dossier(
                code=unique_code(f"LIST-{n}"),
                province=name,
                district=district,
                level=level,
                plan_year=year,
                content_area=area,
                schedule=schedule,
                title=f"Đề án thử số {n}",
            )
            step = make_step(
                Action.REGISTER, dossier=dossier, stage_to=stage, snapshot={"overdue": overdue}
            )
            await write_step(conn, step)
    return name


async def test_de_an_are_found_by_every_criterion_sorted_and_paged(
    db_pool: asyncpg.Pool, province: str
) -> None:
    admin = AdminClient(client=None, pool=db_pool, task_queue="unused")  # type: ignore[arg-type]

    async def titles(**criteria: object) -> list[str]:
        page = await admin.list_de_an(DeAnFilter.model_validate(criteria))
        return [row.title.removeprefix("Đề án thử số ") for row in page.items]

    spelled = province.upper().replace("TỈNH ", "")  # case and «tỉnh» do not matter
    assert await titles(province=spelled, sort=["code"]) == ["1", "2", "3", "4", "5"]
    assert await titles(province=province, year=2019, content_area="3") == ["1", "3", "5"]
    assert await titles(province=province, level="quoc_gia") == ["3"]
    assert await titles(province=province, district="yên dũng") == ["1", "2"]
    assert await titles(province=province, stage=["in_progress", "closed"]) == ["2", "3", "5"]
    assert await titles(province=province, overdue=True) == ["2"]
    assert await titles(province=province, text="THỬ SỐ 4") == ["4"]
    assert await titles(province=province, sort=["-year", "-code"]) == ["2", "5", "4", "3", "1"]
    page = await admin.list_de_an(DeAnFilter(province=province, sort=["code"], page=2, page_size=2))
    assert ([r.title[-1] for r in page.items], page.total, page.pages) == (["3", "4"], 5, 3)
    assert page.items[0].stage_label == "Đang triển khai"


def test_an_unknown_sort_key_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="chọn: code, year"):
        DeAnFilter(sort=["price"])
