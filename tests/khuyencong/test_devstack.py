"""``khuyencong dev``, the README's main command, in-process: the Temporal dev server from the
wheel, the worker, the demo (officials, Bắc Giang 2019, next year's plan), a clean stop, and a
second run on the same data that starts nothing twice. PostgreSQL: a fresh database on the
session's server (the embedded default is what the other tests run on)."""

from __future__ import annotations

import shlex
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from db.pool import drop_database, with_database
from khuyencong.client import connect
from khuyencong.demo_data import DEMO_OFFICIALS
from khuyencong.devstack import dev_secrets, stack_exports
from khuyencong.plans.service import DEMO_PLAN_SIZE, plan_state
from khuyencong.settings import Settings
from tests.support.devstack import free_port, run_dev_until
from workflows.plan_contract import ItemStatus


async def run_once(
    settings: Settings,
    ports: tuple[int, int, int],
    inspect: Callable[[str], Awaitable[None]] | None = None,
) -> str:
    """Start the stack, wait for its banner, ``inspect`` it while it runs, stop it; the
    banner."""

    async def on_banner(printed: list[str]) -> None:
        if inspect is not None:
            await inspect(printed[0])

    printed = await run_dev_until(settings, ports, bool, timeout=120, inspect=on_banner)
    return printed[0]


async def test_khuyencong_dev_seeds_the_demo_once_and_stops_cleanly(pg_url: str) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="kc-dev-"))
    url = with_database(pg_url, f"kc_dev_{uuid.uuid4().hex[:8]}")
    settings = Settings.from_env({}, data_dir=data_dir, database_url=url)
    ports = (free_port(), free_port(), free_port())
    seen: list[int] = []

    async def the_plan_waits_for_its_decision(banner: str) -> None:
        line = next(x for x in banner.splitlines() if "Kế hoạch   ke-hoach/" in x)
        plan_id = line.split()[2].rstrip(":")
        client = await connect(
            settings.model_copy(update={"temporal_address": f"127.0.0.1:{ports[0]}"}),
            codec_keys=dev_secrets(settings).codec_keys,
        )
        state = await plan_state(client.get_workflow_handle(plan_id))
        assert {i.status for i in state.items} == {ItemStatus.REGISTERED}
        seen.append(len(state.items))

    try:
        first = await run_once(settings, ports, the_plan_waits_for_its_decision)
        assert "Demo       Bắc Giang 2019: 25 started, 0 already existing" in first
        assert "Web desk   http://127.0.0.1:" in first
        # Another terminal is told where this stack runs as well as its keys.
        assert f"export KHUYENCONG_TEMPORAL_ADDRESS=127.0.0.1:{ports[0]}" in first
        assert f"export KHUYENCONG_UI_URL=http://127.0.0.1:{ports[1]}" in first
        assert f"{DEMO_PLAN_SIZE} đề án chờ thẩm định và quyết định" in first

        again = await run_once(settings, ports, the_plan_waits_for_its_decision)
        assert "Bắc Giang 2019: 0 started, 25 already existing" in again
        assert seen == [DEMO_PLAN_SIZE, DEMO_PLAN_SIZE]  # the plan's đề án, registered once

        conn = await asyncpg.connect(url)
        try:
            ids = {r["id"] for r in await conn.fetch("SELECT id FROM officials WHERE active")}
        finally:
            await conn.close()
        assert {o.official_id for o in DEMO_OFFICIALS} <= ids
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        await drop_database(url)


def exported(lines: list[str]) -> dict[str, str]:
    """The variables ``export`` lines set, as a shell would read them."""
    return dict(shlex.split(line)[1].split("=", 1) for line in lines)


def test_the_banner_points_other_terminals_at_the_stack_whatever_their_own_defaults() -> None:
    stack = Settings.from_env(
        {}, temporal_address="127.0.0.1:17999", data_dir=Path("/srv/khuyen cong")
    )
    # A terminal elsewhere, whose profile points at another server, reads the lines.
    profile = {"KHUYENCONG_TEMPORAL_ADDRESS": "temporal.example.gov.vn:7233"}
    other = Settings.from_env(profile | exported(stack_exports(stack, 18999)))
    assert other.temporal_address == "127.0.0.1:17999"
    assert other.namespace == stack.namespace
    assert other.ui_url == "http://127.0.0.1:18999"  # the links de-an show prints
    assert other.data_dir == Path("/srv/khuyen cong")  # where the CLI finds PostgreSQL
