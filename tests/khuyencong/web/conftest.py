"""The web desk against real servers: the dev server, the production worker, PostgreSQL.

- ``desk``: one worker (``worker.build_worker``) on a fresh task queue for the package, an
  :class:`AdminClient` on the session's client (which signs as the admin tool does, with the
  suite's key) and pool, and the web desk's application on it.
- ``browser_of(desk)``: an httpx client talking to the application in-process (the same event
  loop as the pool), cookies kept, redirects not followed.
- :func:`cast`: officials of Bắc Giang and Bắc Ninh with the password :data:`PASSWORD`, and a
  đề án registered by the Bắc Giang centre (:func:`registered`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg
import httpx
import pytest_asyncio
from starlette.applications import Starlette
from temporalio.testing import WorkflowEnvironment

import worker
from domain.deadlines import vn_date
from domain.model import Role
from khuyencong.admin import credentials
from khuyencong.admin.client import AdminClient
from khuyencong.admin.models import DeAnView, OfficialIn
from khuyencong.settings import Settings
from khuyencong.web.app import create_app
from tests.support.builders import dossier_on
from tests.support.identity import HarnessRegister, with_test_identity
from tests.support.lifecycle import end_running
from tests.support.temporal import new_task_queue

BG = "Bắc Giang"
BN = "Bắc Ninh"
UI_URL = "http://ui.example.test:8233"
PASSWORD = "mat-khau-thu-nghiem"
ADMIN = f"QTV-{uuid.uuid4().hex[:6].upper()}"
"""The administrator of the package's web desk (``KHUYENCONG_WEB_ADMINS``)."""
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def today() -> date:
    return vn_date(datetime.now(UTC))


def suffix() -> str:
    return uuid.uuid4().hex[:6].upper()


@dataclass
class Desk:
    settings: Settings
    admin: AdminClient
    app: Starlette
    codes: list[str] = field(default_factory=list)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://desk.test"
        )


def web_settings(dev_env: WorkflowEnvironment, pg_url: str, **overrides: object) -> Settings:
    return Settings.from_env(
        {},
        temporal_address=dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        task_queue=new_task_queue(),
        database_url=pg_url,
        ui_url=UI_URL,
        web_lockout_attempts=3,
        **overrides,
    )


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def desk(
    dev_env: WorkflowEnvironment,
    db_pool: asyncpg.Pool,
    pg_url: str,
    officials_register: HarnessRegister,
) -> AsyncIterator[Desk]:
    settings = web_settings(
        dev_env, pg_url, web_sso_header="X-Remote-User", web_admins=f"{ADMIN}, someone-else"
    )
    admin = AdminClient(
        dev_env.client, db_pool, task_queue=settings.task_queue, ui_url=settings.ui_url
    )
    built = Desk(settings, admin, create_app(admin, settings))
    async with worker.build_worker(
        dev_env.client, db_pool, with_test_identity(settings), officials_register
    ):
        try:
            yield built
        finally:
            await end_running(dev_env.client, built.codes)


ORGANISATIONS: dict[Role, str] = {
    Role.TRUNG_TAM: "Trung tâm Khuyến công và Xúc tiến thương mại tỉnh {p}",
    Role.SO_CONG_THUONG: "Sở Công Thương tỉnh {p}",
    Role.UBND_TINH: "UBND tỉnh {p}",
    Role.TAI_CHINH: "Phòng Kế hoạch – Tài chính {p}",
}


@dataclass(frozen=True)
class Cast:
    tt: str
    so: str
    ubnd: str
    so_bn: str
    kt: str


async def add_official(admin: AdminClient, official_id: str, role: Role, province: str) -> None:
    await admin.add_official(
        OfficialIn(
            id=official_id,
            full_name=f"Cán bộ {official_id}",
            role=role,
            organisation=ORGANISATIONS[role].format(p=province),
            province=province,
        )
    )
    await credentials.set_password(admin.pool, official_id, PASSWORD, set_by="tests")


async def cast(admin: AdminClient) -> Cast:
    tag = suffix()
    people = Cast(f"TT-{tag}", f"SO-{tag}", f"UBND-{tag}", f"SOBN-{tag}", f"KT-{tag}")
    await add_official(admin, people.tt, Role.TRUNG_TAM, BG)
    await add_official(admin, people.so, Role.SO_CONG_THUONG, BG)
    await add_official(admin, people.ubnd, Role.UBND_TINH, BG)
    await add_official(admin, people.so_bn, Role.SO_CONG_THUONG, BN)
    await add_official(admin, people.kt, Role.TAI_CHINH, BG)
    return people


async def registered(desk: Desk, people: Cast, *, province: str = BG) -> str:
    """A provincial đề án of ``province`` registered by the centre (through the admin
    client, as ``de-an register`` does)."""
    code = f"DP-{suffix()}"
    desk.codes.append(code)
    registrar = people.tt
    if province != BG:
        registrar = f"TTBN-{suffix()}"
        await add_official(desk.admin, registrar, Role.TRUNG_TAM, province)
    actor = await desk.admin.authenticate(registrar, PASSWORD)
    await desk.admin.register(actor, dossier_on(today(), code=code, province=province))
    return code


async def log_in(
    client: httpx.AsyncClient, official_id: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/dang-nhap")
    token = CSRF.search(page.text)
    assert token is not None, page.text
    return await client.post(
        "/dang-nhap",
        data={"official_id": official_id, "password": password, "csrf_token": token.group(1)},
    )


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html
    return found.group(1)


def assert_closed_by_the_cast(view: DeAnView, people: Cast) -> None:
    """The web lifecycle's đề án as PostgreSQL holds it: each of its 12 steps by the cast's
    official for it, 200 triệu approved, 140 advanced, all paid."""
    assert view.row.stage.value == "closed"
    assert [(e.action, e.actor_official_id) for e in view.timeline] == [
        ("register", people.tt),
        ("appraise", people.so),
        ("approve", people.ubnd),
        ("sign_contract", people.so),
        ("report_progress", people.tt),
        ("confirm_progress", people.so),
        ("request_advance", people.tt),
        ("pay_advance", people.kt),
        ("accept", people.so),
        ("submit_settlement_dossier", people.tt),
        ("settle", people.so),
        ("pay_settlement", people.kt),
    ]
    row = view.row
    assert (row.approved_support, row.advanced, row.paid, row.remaining) == (
        200_000_000,
        140_000_000,
        200_000_000,
        0,
    )
