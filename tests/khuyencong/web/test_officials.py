"""*Cán bộ*: the register for the administrators the settings name; deactivation ends the
official's web session and every later login; a weak password is refused with its rule."""

from __future__ import annotations

from domain.model import Role
from tests.khuyencong.web.conftest import (
    ADMIN,
    BG,
    Desk,
    add_official,
    cast,
    csrf_of,
    log_in,
)


async def administrator(desk: Desk) -> None:
    known = await desk.admin.pool.fetchval("SELECT 1 FROM officials WHERE id = $1", ADMIN)
    if not known:
        await add_official(desk.admin, ADMIN, Role.SO_CONG_THUONG, BG)


async def test_only_the_configured_administrators_reach_the_register(desk: Desk) -> None:
    people = await cast(desk.admin)
    await administrator(desk)
    async with desk.client() as client:
        await log_in(client, people.so)
        assert (await client.get("/can-bo")).status_code == 403
        assert 'href="/can-bo"' not in (await client.get("/viec-cho")).text
    async with desk.client() as client:
        await log_in(client, ADMIN)
        page = await client.get("/can-bo")
        assert page.status_code == 200 and f'data-official="{people.so}"' in page.text


async def test_a_deactivated_official_loses_their_session_and_cannot_log_in_again(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    await administrator(desk)
    async with desk.client() as theirs, desk.client() as admin:
        await log_in(theirs, people.tt)
        assert (await theirs.get("/viec-cho")).status_code == 200
        await log_in(admin, ADMIN)
        page = await admin.get("/can-bo")
        done = await admin.post(
            "/can-bo",
            data={
                "csrf_token": csrf_of(page.text),
                "official_id": people.tt,
                "what": "deactivate",
                "reason": "chuyển công tác",
            },
        )
        assert done.status_code == 303
        shown = await admin.get(done.headers["location"])
        assert f"Đã vô hiệu hoá Cán bộ {people.tt}" in shown.text
        assert (await theirs.get("/viec-cho")).status_code == 303  # back to the login
        assert (await log_in(theirs, people.tt)).status_code == 401


async def test_a_password_too_short_is_refused_with_the_rule(desk: Desk) -> None:
    people = await cast(desk.admin)
    await administrator(desk)
    async with desk.client() as client:
        await log_in(client, ADMIN)
        page = await client.get("/can-bo")
        answer = await client.post(
            "/can-bo",
            data={
                "csrf_token": csrf_of(page.text),
                "official_id": people.so,
                "what": "password",
                "password": "ngan",
            },
        )
        assert answer.status_code == 422 and "ít nhất 8 ký tự" in answer.text
