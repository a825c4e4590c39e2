"""A provincial đề án from registration to closing entirely through the web desk: the centre
registers it from its dossier, and every later step is taken from the inbox button of the
competent official, on the form generated for the action; the timeline names each of them."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack

import httpx

from tests.khuyencong.web.conftest import (
    Desk,
    assert_closed_by_the_cast,
    cast,
    csrf_of,
    log_in,
    suffix,
    today,
)
from tests.support.builders import dossier_on


async def from_inbox(client: httpx.AsyncClient, code: str, action: str, **fields: str) -> None:
    """Press the action's button in the official's inbox, fill its form, send it."""
    inbox = await client.get("/viec-cho")
    link = f'href="/de-an/{code}/thao-tac/{action}"'
    assert link in inbox.text, f"{action} is not waiting in the inbox"
    form = await client.get(f"/de-an/{code}/thao-tac/{action}")
    answer = await client.post(
        f"/de-an/{code}/thao-tac/{action}", data={"csrf_token": csrf_of(form.text), **fields}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/de-an/{code}?da-xong={action}"


async def test_a_provincial_de_an_goes_from_registration_to_closing_in_the_web_desk(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    code = f"DP-{suffix()}"
    desk.codes.append(code)
    day = today().strftime("%d/%m/%Y")
    month = today().strftime("%Y-%m")
    async with AsyncExitStack() as stack:
        tt, so, ubnd, kt = [await stack.enter_async_context(desk.client()) for _ in range(4)]
        for client, official in (
            (tt, people.tt),
            (so, people.so),
            (ubnd, people.ubnd),
            (kt, people.kt),
        ):
            await log_in(client, official)

        page = await tt.get("/dang-ky")
        dossier = dossier_on(today(), code=code).model_dump(mode="json")
        registered = await tt.post(
            "/dang-ky",
            data={"csrf_token": csrf_of(page.text), "dossier": json.dumps(dossier)},
        )
        assert registered.status_code == 303, registered.text
        assert registered.headers["location"] == f"/de-an/{code}?da-xong=register"

        await from_inbox(so, code, "appraise", verdict="pass", appraised_on=day,
                         minutes_number="12/BB-HĐTĐ", by_council="on")  # fmt: skip
        await from_inbox(ubnd, code, "approve", decision_number="427/QĐ-UBND",
                         decision_date=day, signer="Lê Ánh Dương",
                         approved_support="200.000.000")  # fmt: skip
        await from_inbox(so, code, "sign_contract", contract_number="15/2019/HĐ-KC",
                         signed_on=day, contracted_support="200.000.000")  # fmt: skip
        await from_inbox(tt, code, "report_progress", month=month, investment_done_bp="7500",
                         spent_cost="450.000.000", reported_on=day)  # fmt: skip
        await from_inbox(so, code, "confirm_progress", month=month, confirmed_on=day)
        form = await tt.get(f"/de-an/{code}/thao-tac/request_advance")  # discretionary
        asked = await tt.post(
            f"/de-an/{code}/thao-tac/request_advance",
            data={"csrf_token": csrf_of(form.text), "amount": "140.000.000", "requested_on": day},
        )
        assert asked.status_code == 303, asked.text
        await from_inbox(kt, code, "pay_advance", request_no="1", paid_on=day,
                         voucher_number="UNC-0412")  # fmt: skip
        await from_inbox(so, code, "accept", minutes_number="31/BB-NT", accepted_on=day,
                         accepted_cost="600.000.000", accepted_volume_bp="10000")  # fmt: skip
        await from_inbox(tt, code, "submit_settlement_dossier", submitted_on=day)
        await from_inbox(so, code, "settle", settlement_number="44/BB-QT", settled_on=day)
        await from_inbox(kt, code, "pay_settlement", paid_on=day, voucher_number="UNC-0977")

        page = await kt.get(f"/de-an/{code}")
        assert "Đã thanh lý, kết thúc" in page.text
        for client in (tt, so, ubnd, kt):
            assert f'href="/de-an/{code}/thao-tac/' not in (await client.get("/viec-cho")).text

    view = await desk.admin.show(code)
    assert_closed_by_the_cast(view, people)


async def test_a_dossier_with_a_bad_field_is_named_and_nothing_is_registered(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    code = f"DP-{suffix()}"
    dossier = dossier_on(today(), code=code).model_dump(mode="json")
    dossier["requested_support"] = "nhiều"
    async with desk.client() as client:
        await log_in(client, people.tt)
        page = await client.get("/dang-ky")
        answer = await client.post(
            "/dang-ky", data={"csrf_token": csrf_of(page.text), "dossier": json.dumps(dossier)}
        )
        assert answer.status_code == 422 and "requested_support" in answer.text
    assert await desk.admin.row(code) is None


async def test_a_so_official_is_refused_the_registration_by_the_rule(desk: Desk) -> None:
    people = await cast(desk.admin)
    code = f"DP-{suffix()}"
    dossier = dossier_on(today(), code=code).model_dump(mode="json")
    async with desk.client() as client:
        await log_in(client, people.so)
        page = await client.get("/dang-ky")
        answer = await client.post(
            "/dang-ky", data={"csrf_token": csrf_of(page.text), "dossier": json.dumps(dossier)}
        )
        assert answer.status_code == 409 and 'id="refusal"' in answer.text
    assert await desk.admin.row(code) is None
