"""The web desk's pages over the real stack: the inbox, the đề án list and page, the action
forms (a refusal shown on its field, nothing changed), jurisdiction, CSRF, health."""

from __future__ import annotations

import re

import httpx

from khuyencong.web.app import create_app
from tests.khuyencong.web.conftest import Desk, cast, csrf_of, log_in, registered, today
from tests.support.waiting import until


def appraisal(token: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "verdict": "pass",
        "appraised_on": today().strftime("%d/%m/%Y"),
        "minutes_number": "12/BB-HĐTĐ",
        "by_council": "on",
        "reason": "",
        "note": "Hội đồng thống nhất",
    }


async def appraise(client: httpx.AsyncClient, code: str) -> httpx.Response:
    form = await client.get(f"/de-an/{code}/thao-tac/appraise")
    assert form.status_code == 200, form.text
    return await client.post(f"/de-an/{code}/thao-tac/appraise", data=appraisal(csrf_of(form.text)))


async def test_the_so_finds_the_de_an_in_the_inbox_with_a_button_and_appraises_it(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    async with desk.client() as client:
        await log_in(client, people.so)
        inbox = await client.get("/viec-cho")
        assert f'href="/de-an/{code}/thao-tac/appraise"' in inbox.text
        done = await appraise(client, code)
        assert done.status_code == 303
        assert done.headers["location"] == f"/de-an/{code}?da-xong=appraise"
        page = await client.get(done.headers["location"])
        assert "Đã ghi nhận: Thẩm định." in page.text
        assert "Đạt thẩm định, chờ phê duyệt" in page.text
        assert f"({people.so})" in page.text and "12/BB-HĐTĐ" in page.text
        assert f"{desk.settings.ui_url}/namespaces/" in page.text  # the Temporal UI link
        assert "200.000.000 đ" in page.text  # the money table
    assert (await desk.admin.row(code)).stage.value == "appraised"  # type: ignore[union-attr]


async def test_an_action_without_its_csrf_token_is_refused_and_nothing_changes(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    async with desk.client() as client:
        await log_in(client, people.so)
        answer = await client.post(f"/de-an/{code}/thao-tac/appraise", data=appraisal(""))
        assert answer.status_code == 403 and "CSRF" in answer.text
        forged = await client.post(f"/de-an/{code}/thao-tac/appraise", data=appraisal("gia-mao"))
        assert forged.status_code == 403
    view = await desk.admin.show(code)
    assert view.row.stage.value == "registered"
    assert [e.action for e in view.timeline] == ["register"]


async def test_a_refusal_is_shown_on_its_field_with_the_rule_and_basis_and_nothing_changes(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    async with desk.client() as client:
        await log_in(client, people.so)
        await appraise(client, code)
        await client.post(
            "/dang-xuat", data={"csrf_token": csrf_of((await client.get("/viec-cho")).text)}
        )
        await log_in(client, people.ubnd)
        form = await client.get(f"/de-an/{code}/thao-tac/approve")
        answer = await client.post(
            f"/de-an/{code}/thao-tac/approve",
            data={
                "csrf_token": csrf_of(form.text),
                "decision_number": "427/QĐ-UBND",
                "decision_date": today().strftime("%d/%m/%Y"),
                "signer": "Lê Ánh Dương",
                "approved_support": "900.000.000",  # more than the 200 triệu requested
                "note": "",
            },
        )
        assert answer.status_code == 409
        assert 'id="refusal"' in answer.text and "Căn cứ:" in answer.text
        field = re.search(
            r'data-field="approved_support">(.*?)</div>', answer.text, flags=re.DOTALL
        )
        assert field is not None and "field-error" in field.group(1)
        assert 'value="900.000.000"' in answer.text  # what was typed is kept
    view = await desk.admin.show(code)
    assert view.row.stage.value == "appraised"
    assert [e.action for e in view.timeline] == ["register", "appraise"]


async def test_a_malformed_field_is_named_before_anything_is_sent(desk: Desk) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    async with desk.client() as client:
        await log_in(client, people.so)
        form = await client.get(f"/de-an/{code}/thao-tac/appraise")
        data = {**appraisal(csrf_of(form.text)), "appraised_on": "31/02/2019"}
        answer = await client.post(f"/de-an/{code}/thao-tac/appraise", data=data)
        assert answer.status_code == 422
        field = re.search(r'data-field="appraised_on">(.*?)</div>', answer.text, flags=re.DOTALL)
        assert field is not None and "field-error" in field.group(1)
    assert (await desk.admin.row(code)).stage.value == "registered"  # type: ignore[union-attr]


async def test_another_provinces_de_an_is_not_listed_and_its_pages_answer_404(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    async with desk.client() as client:
        await log_in(client, people.so_bn)
        listed = await client.get("/de-an", params={"q": code})
        assert listed.status_code == 200 and f'href="/de-an/{code}"' not in listed.text
        assert (await client.get(f"/de-an/{code}")).status_code == 404
        assert (await client.get(f"/de-an/{code}/thao-tac/appraise")).status_code == 404
        assert code not in (await client.get("/viec-cho")).text
    async with desk.client() as client:
        await log_in(client, people.so)
        listed = await client.get("/de-an", params={"q": code})
        assert f'href="/de-an/{code}"' in listed.text


async def test_a_so_official_cannot_reach_the_approval_form(desk: Desk) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    async with desk.client() as client:
        await log_in(client, people.so)
        page = await client.get(f"/de-an/{code}/thao-tac/approve")
        assert page.status_code == 403 and "Không đúng thẩm quyền" in page.text
        posted = await client.post(f"/de-an/{code}/thao-tac/approve", data={})
        assert posted.status_code == 403


async def test_the_list_filters_by_stage_and_pages(desk: Desk) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    async with desk.client() as client:
        await log_in(client, people.so)
        found = await client.get("/de-an", params={"q": code, "stage": "registered"})
        assert f'href="/de-an/{code}"' in found.text
        other = await client.get("/de-an", params={"q": code, "stage": "approved"})
        assert f'href="/de-an/{code}"' not in other.text
        bad = await client.get("/de-an", params={"year": "1990"})
        assert bad.status_code == 200 and 'class="error"' in bad.text


async def test_the_health_page_reports_temporal_postgresql_and_the_worker(desk: Desk) -> None:
    pages: list[httpx.Response] = []

    async def healthy() -> bool:  # a worker just started shows once it has polled
        async with desk.client() as client:
            pages.append(await client.get("/suc-khoe"))
        return pages[-1].status_code == 200

    await until(healthy, timeout=30, interval=0.2)
    page = pages[-1]
    for name in ("Temporal", "PostgreSQL", "Worker"):
        assert f'data-check="{name}"' in page.text
    assert "Không trả lời" not in page.text
    assert desk.settings.task_queue not in page.text  # details for logged-in officials only


async def test_a_part_that_does_not_answer_makes_the_health_page_answer_503(desk: Desk) -> None:
    async def down() -> str:
        raise ConnectionError("connection refused")

    async def up() -> str:
        return "ok"

    app = create_app(desk.admin, desk.settings, health_checks={"Temporal": up, "Worker": down})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://desk.test"
    ) as client:
        page = await client.get("/suc-khoe")
    assert page.status_code == 503
    assert "Không trả lời" in page.text and "connection refused" in page.text
