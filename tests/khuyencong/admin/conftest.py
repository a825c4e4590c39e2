"""The admin tool against real servers: the dev server, the production worker, PostgreSQL.

- ``stack``: one worker (``worker.build_worker``) on a fresh task queue for the package, the
  settings a CLI process would read, and an :class:`AdminClient` on the session's client and
  pool. At the end, the đề án still running are terminated.
- ``cli``: runs ``khuyencong ...`` in-process (typer's runner, in a thread: each command runs
  its own event loop, as a real process would) with the stack's settings in the environment.

Proven identity: the CLI signs with the suite's key (tests/support/identity.py) and reads the
password from ``KHUYENCONG_PASSWORD``; the harness, as the administrator, gives every
official a test acts as the password :data:`PASSWORD` (:func:`ensure_password`).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

import worker
from domain.deadlines import vn_date
from domain.model import Actor, Level, Role
from khuyencong.admin import credentials
from khuyencong.admin.client import AdminClient
from khuyencong.admin.models import OfficialIn
from khuyencong.cli import app
from khuyencong.settings import Settings
from tests.support.identity import HarnessRegister, suite_identity_env, with_test_identity
from tests.support.lifecycle import end_running
from tests.support.temporal import new_task_queue

BG = "Bắc Giang"
BN = "Bắc Ninh"
UI_URL = "http://ui.example.test:8233"
PASSWORD = "mat-khau-thu-nghiem"
"""The password the harness sets for every official a test acts as."""
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\S+ \[")


def today() -> date:
    return vn_date(datetime.now(UTC))


def suffix() -> str:
    return uuid.uuid4().hex[:6].upper()


@dataclass
class Stack:
    settings: Settings
    admin: AdminClient
    codes: list[str] = field(default_factory=list)

    def new_code(self, prefix: str) -> str:
        code = f"{prefix}-{suffix()}"
        self.codes.append(code)
        return code


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def stack(
    dev_env: WorkflowEnvironment,
    db_pool: asyncpg.Pool,
    pg_url: str,
    officials_register: HarnessRegister,
) -> AsyncIterator[Stack]:
    address = dev_env.client.service_client.config.target_host
    settings = Settings.from_env(
        {},
        temporal_address=address,
        namespace=dev_env.client.namespace,
        task_queue=new_task_queue(),
        database_url=pg_url,
        ui_url=UI_URL,
    )
    admin = AdminClient(
        dev_env.client, db_pool, task_queue=settings.task_queue, ui_url=settings.ui_url
    )
    built = Stack(settings, admin)
    async with worker.build_worker(
        dev_env.client, db_pool, with_test_identity(settings), officials_register
    ):
        try:
            yield built
        finally:
            await end_running(dev_env.client, built.codes)


@dataclass
class Run:
    """What a command did: its exit status, stdout and stderr."""

    exit_code: int
    stdout: str
    stderr: str  # without log lines (a warning the environment causes is not the message)

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"exit {self.exit_code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


async def ensure_password(pool: asyncpg.Pool, official_id: str) -> None:
    """The administrator's part: an official of the register without a password gets
    :data:`PASSWORD`."""
    known = await pool.fetchval("SELECT 1 FROM officials WHERE id = $1", official_id)
    if known and not await credentials.has_password(pool, official_id):
        await credentials.set_password(pool, official_id, PASSWORD, set_by="tests")


class Cli:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.env = {
            "KHUYENCONG_TEMPORAL_ADDRESS": settings.temporal_address,
            "KHUYENCONG_NAMESPACE": settings.namespace,
            "KHUYENCONG_TASK_QUEUE": settings.task_queue,
            "KHUYENCONG_DATABASE_URL": settings.database_url_value or "",
            "KHUYENCONG_UI_URL": settings.ui_url,
            "KHUYENCONG_OFFICIAL_ID": "",
            "KHUYENCONG_PASSWORD": PASSWORD,
            "COLUMNS": "200",
            **suite_identity_env(),
        }
        self.runner = CliRunner()

    async def __call__(
        self,
        *args: str,
        as_: str | None = None,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Run:
        argv = [*args, *(["--as", as_] if as_ else [])]
        if as_:
            await ensure_password(self.pool, as_)
        result = await asyncio.to_thread(
            self.runner.invoke,
            app,
            argv,
            input=stdin,
            env={**self.env, **(env or {})},
            catch_exceptions=False,
        )
        messages = [
            line for line in result.stderr.splitlines(keepends=True) if not LOG_LINE.match(line)
        ]
        return Run(result.exit_code, result.stdout, "".join(messages))

    async def ok(self, *args: str, as_: str | None = None, stdin: str | None = None) -> Run:
        run = await self(*args, as_=as_, stdin=stdin)
        assert run.exit_code == 0, str(run)
        return run


@pytest.fixture
def cli(stack: Stack, db_pool: asyncpg.Pool) -> Cli:
    return Cli(stack.settings, db_pool)


# --- officials ---------------------------------------------------------------------------------

ORGANISATIONS: dict[Role, str] = {
    Role.TRUNG_TAM: "Trung tâm Khuyến công và Xúc tiến thương mại tỉnh {p}",
    Role.SO_CONG_THUONG: "Sở Công Thương tỉnh {p}",
    Role.UBND_TINH: "UBND tỉnh {p}",
    Role.CUC: "Cục Đổi mới sáng tạo, Chuyển đổi xanh và Khuyến công",
    Role.BO_TRUONG: "Văn phòng Bộ Công Thương",
    Role.TAI_CHINH: "Phòng Kế hoạch – Tài chính {p}",
}


def official_in(official_id: str, role: Role, province: str | None, name: str = "") -> OfficialIn:
    return OfficialIn(
        id=official_id,
        full_name=name or f"Cán bộ {official_id}",
        role=role,
        organisation=ORGANISATIONS[role].format(p=province or "Cục"),
        province=province,
    )


@dataclass(frozen=True)
class Cast:
    """One official per role and place: own province (Bắc Giang), another (Bắc Ninh), central."""

    by_key: dict[str, Actor]

    def __getitem__(self, key: str) -> Actor:
        return self.by_key[key]


CAST_SPEC: dict[str, tuple[Role, str | None]] = {
    "TT-BG": (Role.TRUNG_TAM, BG),
    "TT-BN": (Role.TRUNG_TAM, BN),
    "SO-BG": (Role.SO_CONG_THUONG, BG),
    "SO-BN": (Role.SO_CONG_THUONG, BN),
    "UBND-BG": (Role.UBND_TINH, BG),
    "UBND-BN": (Role.UBND_TINH, BN),
    "KT-BG": (Role.TAI_CHINH, BG),
    "KT-BN": (Role.TAI_CHINH, BN),
    "KT-TW": (Role.TAI_CHINH, None),
    "CUC": (Role.CUC, None),
    "BT": (Role.BO_TRUONG, None),
}


async def add_cast(admin: AdminClient, tag: str) -> Cast:
    actors: dict[str, Actor] = {}
    for key, (role, province) in CAST_SPEC.items():
        official = await admin.add_official(official_in(f"{key}-{tag}", role, province))
        await ensure_password(admin.pool, official.id)
        actors[key] = await admin.authenticate(official.id, PASSWORD)
    return Cast(actors)


def level_of(code: str) -> Level:
    return Level.QUOC_GIA if code.startswith("QG") else Level.DIA_PHUONG
