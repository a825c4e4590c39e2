"""The demo's story: on paper, every chapter passes the workflow's rules and ends where it
says; told by ``khuyencong dev`` against real servers (its own dev server and a fresh
database), it leaves Bắc Giang's 2019 year in every stage, with overdue đề án, a payout and a
refund in PostgreSQL and a national đề án waiting at the Cục; told again, it changes nothing."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from db.pool import create_pool, drop_database, with_database
from domain.rules import load_packs
from domain.stages import Action, Stage
from khuyencong.admin.client import AdminClient
from khuyencong.client import connect
from khuyencong.demo_data import DEMO_OFFICIALS, demo_entries
from khuyencong.demo_story import chapters, story_stages
from khuyencong.devstack import DEV_PASSWORD, dev_secrets
from khuyencong.settings import Settings
from tests.support.devstack import free_port, run_dev_until
from workflows.de_an_actions import BY_ACTION, decide
from workflows.de_an_decisions.registration import decide_register, initial_state

STORY_LINE = "  Story      Bắc Giang 2019 as of 30/06/2019:"

WAITING = {
    "BN-TTKC-005": {
        ("BG-2019-DP-15", Action.RESUBMIT),
        ("BG-2019-DP-14", Action.SUBMIT_SETTLEMENT_DOSSIER),
    },
    "BN-SCT-002": {
        ("BG-2019-DP-01", Action.APPRAISE),
        ("BG-2019-DP-13", Action.SIGN_CONTRACT),
        ("BG-2019-DP-12", Action.CONFIRM_PROGRESS),
        ("BG-2019-DP-21", Action.RESOLVE_FINDINGS),
        ("BG-2019-DP-08", Action.ACCEPT),
        ("BG-2019-DP-05", Action.SETTLE),
    },
    "BN-UBND-001": {("BG-2019-DP-11", Action.APPROVE)},
    "BN-KT-004": {
        ("BG-2019-DP-07", Action.PAY_ADVANCE),
        ("BG-2019-DP-16", Action.PAY_SETTLEMENT),
    },
    "CUC-KC-001": {("BG-2019-QG-01", Action.APPRAISE)},
}
"""Some of what waits for each demo official once the story is told (their inbox): today,
after Bắc Giang merged into Bắc Ninh (1/7/2025), the provincial steps wait for Bắc Ninh's."""


def test_every_chapter_passes_the_workflows_rules_and_ends_in_its_stage() -> None:
    actors = {o.official_id: o for o in DEMO_OFFICIALS}
    entries = {e.dossier.code: e for e in demo_entries()}
    packs = load_packs()
    now = datetime.now(UTC)
    story = chapters()
    assert [c.code for c in story] == list(entries)
    for chapter in story:
        entry = entries[chapter.code]
        assert entry.registered_on is not None
        state = initial_state(
            entry.dossier, entry.registered_by, entry.registered_on, packs, entered_at=now
        )
        state = decide_register(state, now).state
        for step in chapter.steps:
            command = BY_ACTION[step.action].command.model_validate(
                {"actor": actors[step.by], **step.fields}
            )
            state = decide(state, step.action, command, now).state
        assert state.stage is chapter.ends_in, chapter.code
    assert set(story_stages(story)) == set(Stage)


async def tell_once(
    settings: Settings,
    ports: tuple[int, int, int],
    inspect: Callable[[], Awaitable[None]] | None = None,
) -> list[str]:
    """Start ``khuyencong dev``, wait until its story is told, ``inspect`` the running stack,
    stop it; what it printed."""

    def told(printed: list[str]) -> bool:
        return any(p.startswith(STORY_LINE) for p in printed)

    async def look(_: list[str]) -> None:
        if inspect is not None:
            await inspect()

    return await run_dev_until(settings, ports, told, timeout=240, inspect=look)


async def read_year(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        stages = {
            r["de_an_id"]: (r["stage"], r["level"], r["overdue"])
            for r in await conn.fetch(
                "SELECT de_an_id, stage, level, overdue FROM de_an WHERE plan_year = 2019"
            )
        }
        payments = sorted(
            (r["de_an_id"], r["kind"], r["amount"])
            for r in await conn.fetch("SELECT de_an_id, kind, amount FROM payment")
        )
        steps = await conn.fetchval(
            "SELECT count(*) FROM de_an_event WHERE action <> 'deadline_missed'"
        )
    finally:
        await conn.close()
    return {"stages": stages, "payments": payments, "steps": steps}


async def test_khuyencong_dev_tells_the_story_of_a_year_in_the_middle_once(pg_url: str) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="kc-story-"))
    url = with_database(pg_url, f"kc_story_{uuid.uuid4().hex[:8]}")
    settings = Settings.from_env({}, data_dir=data_dir, database_url=url)
    ports = (free_port(), free_port(), free_port())

    async def the_inboxes_show_the_year() -> None:
        client = await connect(
            settings.model_copy(update={"temporal_address": f"127.0.0.1:{ports[0]}"}),
            codec_keys=dev_secrets(settings).codec_keys,
        )
        pool = await create_pool(url)
        try:
            admin = AdminClient(client, pool, task_queue=settings.task_queue)
            for official_id, expected in WAITING.items():
                items = await admin.inbox(await admin.acting(official_id))
                waiting = {(i.code, a.action) for i in items for a in i.actions}
                assert expected <= waiting, (official_id, waiting)
            assert any(i.overdue for i in await admin.inbox(await admin.acting("BN-SCT-002")))
            # Bắc Giang's officials signed the 2019 papers; none of them waits for them any more.
            former = await admin.inbox(await admin.acting("BG-SCT-003"))
            assert not [i.code for i in former if i.code.startswith("BG-2019-")]
        finally:
            await pool.close()

    try:
        first = await tell_once(settings, ports, the_inboxes_show_the_year)
        banner = first[0]
        for official in DEMO_OFFICIALS:  # every demo role, with its password
            assert official.official_id in banner
        assert repr(DEV_PASSWORD) in banner
        story = next(p for p in first if p.startswith(STORY_LINE))
        assert "failed" not in story and "left alone" not in story, first
        year = await read_year(url)

        stages = year["stages"]
        assert {s for s, _, _ in stages.values()} == {s.value for s in Stage}
        assert {c.code: c.ends_in.value for c in chapters()} == {
            code: stage for code, (stage, _, _) in stages.items()
        }
        assert any(overdue for _, _, overdue in stages.values())
        assert stages["BG-2019-QG-01"] == ("base_appraised", "quoc_gia", False)  # at the Cục
        kinds = {(code, kind) for code, kind, _ in year["payments"]}
        assert ("BG-2019-DP-09", "settlement") in kinds
        assert ("BG-2019-DP-22", "refund", 20_000_000) in year["payments"]

        again = await tell_once(settings, ports)
        told_again = next(p for p in again if p.startswith(STORY_LINE))
        assert "0 steps sent, 0 đề án moved on, 25 already there" in told_again, again
        assert await read_year(url) == year
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        await drop_database(url)
