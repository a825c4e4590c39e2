"""Logging in to the web desk: sessions, CSRF, lockout, the record of every attempt, SSO."""

from __future__ import annotations

import asyncpg
import httpx

from tests.khuyencong.web.conftest import Desk, cast, csrf_of, log_in, registered, today


async def outcomes(pool: asyncpg.Pool, official_id: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT outcome FROM web_logins WHERE official_id = $1 ORDER BY attempted_at", official_id
    )
    return [r["outcome"] for r in rows]


async def test_a_login_sets_an_httponly_samesite_session_cookie_and_is_recorded(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    async with desk.client() as client:
        answer = await log_in(client, people.so)
        assert answer.status_code == 303 and answer.headers["location"] == "/viec-cho"
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("kc_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http here; https requests get Secure cookies
        inbox = await client.get("/viec-cho")
        assert inbox.status_code == 200 and "Việc chờ" in inbox.text
        assert f"Cán bộ {people.so}" in inbox.text
    assert await outcomes(desk.admin.pool, people.so) == ["ok"]


async def test_a_page_without_a_session_sends_the_official_to_the_login_and_back(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    async with desk.client() as client:
        answer = await client.get("/de-an?year=2019")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/dang-nhap?next=%2Fde-an%3Fyear%3D2019"
        page = await client.get(answer.headers["location"])
        logged = await client.post(
            "/dang-nhap",
            data={
                "official_id": people.so,
                "password": "mat-khau-thu-nghiem",
                "csrf_token": csrf_of(page.text),
                "next": "/de-an?year=2019",
            },
        )
        assert logged.headers["location"] == "/de-an?year=2019"


async def test_a_login_to_another_site_after_the_login_goes_to_the_inbox_instead(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    async with desk.client() as client:
        page = await client.get("/dang-nhap")
        logged = await client.post(
            "/dang-nhap",
            data={
                "official_id": people.so,
                "password": "mat-khau-thu-nghiem",
                "csrf_token": csrf_of(page.text),
                "next": "//evil.example/",
            },
        )
        assert logged.headers["location"] == "/viec-cho"


async def test_a_login_without_its_csrf_token_is_refused_and_nothing_is_recorded(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    async with desk.client() as client:
        await client.get("/dang-nhap")
        answer = await client.post(
            "/dang-nhap", data={"official_id": people.so, "password": "mat-khau-thu-nghiem"}
        )
        assert answer.status_code == 403 and "CSRF" in answer.text
        assert "kc_session" not in answer.cookies
    assert await outcomes(desk.admin.pool, people.so) == []


async def test_repeated_wrong_passwords_lock_the_official_out_even_with_the_right_one(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    async with desk.client() as client:
        for _ in range(3):  # KHUYENCONG_WEB_LOCKOUT_ATTEMPTS of the suite
            wrong = await log_in(client, people.so, "sai-mat-khau")
            assert wrong.status_code == 401
            assert "Mã cán bộ hoặc mật khẩu không đúng" in wrong.text
        locked = await log_in(client, people.so)
        assert locked.status_code == 401 and "tạm khoá" in locked.text
        assert (await client.get("/viec-cho")).status_code == 303
    assert await outcomes(desk.admin.pool, people.so) == ["wrong_password"] * 3 + ["locked"]


async def test_an_unknown_official_gets_the_same_answer_as_a_wrong_password(desk: Desk) -> None:
    async with desk.client() as client:
        answer = await log_in(client, "KHONG-CO-AI")
        assert answer.status_code == 401
        assert "Mã cán bộ hoặc mật khẩu không đúng" in answer.text
    assert await outcomes(desk.admin.pool, "KHONG-CO-AI") == ["unknown"]


async def test_logging_out_needs_the_token_ends_the_session_and_is_recorded(desk: Desk) -> None:
    people = await cast(desk.admin)
    async with desk.client() as client:
        await log_in(client, people.so)
        inbox = await client.get("/viec-cho")
        refused = await client.post("/dang-xuat", data={})
        assert refused.status_code == 403
        assert (await client.get("/viec-cho")).status_code == 200  # still logged in
        out = await client.post("/dang-xuat", data={"csrf_token": csrf_of(inbox.text)})
        assert out.status_code == 303 and out.headers["location"] == "/dang-nhap"
        assert (await client.get("/viec-cho")).status_code == 303
    assert await outcomes(desk.admin.pool, people.so) == ["ok", "logout"]


async def test_the_trusted_sso_header_logs_the_official_in_without_a_password(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    async with desk.client() as client:
        answer = await client.get("/viec-cho", headers={"X-Remote-User": people.ubnd})
        assert answer.status_code == 200 and f"Cán bộ {people.ubnd}" in answer.text
        assert "kc_session" in answer.cookies
        assert (await client.get("/viec-cho")).status_code == 200  # the session holds
        unknown = await client.get("/viec-cho", headers={"X-Remote-User": "KHONG-CO-AI"})
        assert unknown.status_code == 403  # the proxy names someone else: not them
        assert (await client.get("/viec-cho")).status_code == 303  # nor the one before
    async with desk.client() as fresh:
        refused = await fresh.get("/viec-cho", headers={"X-Remote-User": "KHONG-CO-AI"})
        assert refused.status_code == 403
    rows = await desk.admin.pool.fetch(
        "SELECT method, outcome FROM web_logins WHERE official_id = $1", people.ubnd
    )
    assert [(r["method"], r["outcome"]) for r in rows] == [("sso", "ok")]


async def test_over_https_the_session_cookie_is_secure(desk: Desk) -> None:
    people = await cast(desk.admin)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=desk.app), base_url="https://desk.test"
    ) as client:
        answer = await log_in(client, people.so)
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("kc_session=")
        )
        assert "Secure" in cookie and "HttpOnly" in cookie
        assert (await client.get("/viec-cho")).status_code == 200


async def test_an_sso_official_can_open_a_form_first_and_send_it_in_one_session(
    desk: Desk,
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    sso = {"X-Remote-User": people.so}
    async with desk.client() as client:
        form = await client.get(f"/de-an/{code}/thao-tac/appraise", headers=sso)
        assert form.status_code == 200
        sent = await client.post(
            f"/de-an/{code}/thao-tac/appraise",
            headers=sso,
            data={
                "csrf_token": csrf_of(form.text),
                "verdict": "pass",
                "appraised_on": today().strftime("%d/%m/%Y"),
                "minutes_number": "9/BB-SCT",
            },
        )
        assert sent.status_code == 303, sent.text
    assert await outcomes(desk.admin.pool, people.so) == ["ok"]  # one login, one session
