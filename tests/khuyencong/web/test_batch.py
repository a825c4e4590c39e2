"""*Quyết định*: one decision for many đề án, typed or uploaded as the decision sheet, each
refusal shown with its rule; nothing sent when the list is bad."""

from __future__ import annotations

import random
import re

from domain.stages import Stage
from tests.khuyencong.web.conftest import (
    BN,
    PASSWORD,
    Cast,
    Desk,
    cast,
    csrf_of,
    log_in,
    registered,
    today,
)
from workflows.de_an_contract import AppraisalVerdict, DeAnAppraise


async def appraised(desk: Desk, people: Cast) -> str:
    code = await registered(desk, people)
    so = await desk.admin.authenticate(people.so, PASSWORD)
    await desk.admin.act(
        code,
        DeAnAppraise(
            actor=so,
            verdict=AppraisalVerdict.PASS,
            appraised_on=today(),
            minutes_number="7/BB-HĐTĐ",
            by_council=True,
        ),
    )
    return code


def decision(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "decision_number": f"{random.randint(100, 9999)}/QĐ-UBND",
        "decision_date": today().strftime("%d/%m/%Y"),
        "signer": "Lê Ánh Dương",
        **fields,
    }


def row_of(html: str, code: str) -> str:
    found = re.search(rf'<tr data-code="{code}"(.*?)</tr>', html, flags=re.DOTALL)
    assert found is not None, html
    return found.group(1)


async def test_one_decision_approves_the_appraised_and_shows_why_the_others_were_refused(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    ready, early = await appraised(desk, people), await registered(desk, people)
    async with desk.client() as client:
        await log_in(client, people.ubnd)
        page = await client.get("/quyet-dinh")
        items = f"{ready}=200.000.000\n{early}\n"
        answer = await client.post("/quyet-dinh", data=decision(csrf_of(page.text), items=items))
    assert answer.status_code == 200, answer.text
    assert 'data-status="done"' in row_of(answer.text, ready)
    assert "200.000.000 đ" in row_of(answer.text, ready)
    refused = row_of(answer.text, early)
    assert 'data-status="refused"' in refused and "Sai giai đoạn của đề án" in refused
    assert (await desk.admin.row(ready)).stage is Stage.APPROVED  # type: ignore[union-attr]
    assert (await desk.admin.row(early)).stage is Stage.REGISTERED  # type: ignore[union-attr]


async def test_the_decision_sheet_can_be_uploaded_as_csv_with_a_rejection_and_its_reason(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    approved, rejected = await appraised(desk, people), await appraised(desk, people)
    sheet = (
        "Mã đề án,Quyết định,Kinh phí phê duyệt,Lý do\n"
        f"{approved},Phê duyệt,200.000.000,\n"
        f"{rejected},Không phê duyệt,,Trùng nội dung với đề án năm trước\n"
    )
    async with desk.client() as client:
        await log_in(client, people.ubnd)
        page = await client.get("/quyet-dinh")
        answer = await client.post(
            "/quyet-dinh",
            data=decision(csrf_of(page.text)),
            files={"sheet": ("quyet-dinh.csv", sheet.encode(), "text/csv")},
        )
    assert answer.status_code == 200, answer.text
    row = await desk.admin.row(approved)
    assert row is not None and (row.stage, row.approved_support) == (Stage.APPROVED, 200_000_000)
    assert (await desk.admin.row(rejected)).stage is Stage.REJECTED  # type: ignore[union-attr]


async def test_another_provinces_de_an_in_the_list_stops_the_decision_without_naming_it(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    ours, theirs = await appraised(desk, people), await registered(desk, people, province=BN)
    async with desk.client() as client:
        await log_in(client, people.ubnd)
        page = await client.get("/quyet-dinh")
        answer = await client.post(
            "/quyet-dinh", data=decision(csrf_of(page.text), items=f"{ours}\n{theirs}")
        )
    assert answer.status_code == 422
    assert f"không có đề án: {theirs}" in answer.text and BN not in answer.text
    assert (await desk.admin.row(ours)).stage is Stage.APPRAISED  # type: ignore[union-attr]


async def test_a_so_official_cannot_reach_the_decision_page(desk: Desk) -> None:
    people = await cast(desk.admin)
    async with desk.client() as client:
        await log_in(client, people.so)
        assert (await client.get("/quyet-dinh")).status_code == 403
        assert 'href="/quyet-dinh"' not in (await client.get("/viec-cho")).text
