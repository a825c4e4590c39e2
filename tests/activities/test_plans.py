"""The plan's PostgreSQL activities: idempotent writes keyed by business identity."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from activities.plans import PlanActivities
from domain.model import Level
from domain.stages import Stage
from khuyencong.plans.generator import generate, load_history
from workflows.plan_contract import (
    CheckpointKind,
    CheckpointRecord,
    DecisionItemResult,
    ItemStatus,
    PlanRelease,
    PlanRow,
    ReadItemsRequest,
    RecordCommitmentRequest,
    RecordDecisionRequest,
    RecordReleaseRequest,
    Verdict,
    default_checkpoints,
)


def plan_id() -> str:
    return f"ke-hoach/dia_phuong/test-{uuid.uuid4().hex[:8]}/2019"


async def new_plan(acts: PlanActivities, pid: str) -> None:
    row = PlanRow(
        plan_id=pid,
        province="Bắc Giang",
        level="dia_phuong",
        year=2019,
        envelope=1_000_000_000,
        intake_closes_on=date(2018, 12, 31),
        checkpoints=default_checkpoints(2019),
    )
    assert await acts.record_plan(row) is True
    assert await acts.record_plan(row) is False


def activities(pool: Any) -> PlanActivities:
    return PlanActivities(pool, client=None)  # type: ignore[arg-type]  # no Temporal calls here


async def test_a_decision_is_recorded_once_with_a_verdict_per_item(db_pool: asyncpg.Pool) -> None:
    acts, pid = activities(db_pool), plan_id()
    await new_plan(acts, pid)
    request = RecordDecisionRequest(
        plan_id=pid,
        decision_number="427/QĐ-UBND",
        decision_date=date(2019, 3, 9),
        signer="Chủ tịch UBND tỉnh",
        official_id="ubnd-1",
        items=[
            DecisionItemResult(
                code="A-001",
                verdict=Verdict.APPROVE,
                status=ItemStatus.APPROVED,
                approved_support=100,
            ),
            DecisionItemResult(
                code="B-001",
                verdict=Verdict.APPROVE,
                status=ItemStatus.REFUSED,
                error_type="SupportOverCap",
                message="vượt mức hỗ trợ",
            ),
        ],
    )
    assert await acts.record_plan_decision(request) is True
    assert await acts.record_plan_decision(request) is False  # a retry writes nothing
    rows = await db_pool.fetch(
        "SELECT de_an_id, status, error_type FROM plan_verdict WHERE plan_id = $1 ORDER BY 1", pid
    )
    assert [tuple(r) for r in rows] == [
        ("A-001", "approved", None),
        ("B-001", "refused", "SupportOverCap"),
    ]
    counts = await db_pool.fetchrow(
        "SELECT approved, refused FROM plan_decision WHERE plan_id = $1", pid
    )
    assert tuple(counts) == (1, 1)


async def test_a_checkpoint_and_its_releases_are_written_once(db_pool: asyncpg.Pool) -> None:
    acts, pid = activities(db_pool), plan_id()
    await new_plan(acts, pid)
    code = f"R-{uuid.uuid4().hex[:6].upper()}"
    record = CheckpointRecord(
        plan_id=pid,
        key="mid-year",
        label="Sơ kết 6 tháng",
        on=date(2019, 6, 30),
        kind=CheckpointKind.MID_YEAR,
        recorded_at=datetime(2019, 6, 30, 17, tzinfo=UTC),
        approved_count=2,
        done_count=1,
        done_bp=5000,
        counts_by_stage={"closed": 1, "in_progress": 1},
        envelope=1_000,
        committed=300,
        approved_support=500,
        advanced=100,
        paid=300,
        refunded=0,
        released_now=[
            PlanRelease(code=code, amount=200, committed=500, final_support=300, stage=Stage.CLOSED)
        ],
    )
    assert await acts.record_plan_checkpoint(record) is True
    assert await acts.record_plan_checkpoint(record) is False
    again = record.model_copy(update={"key": "completion-target"})
    assert await acts.record_plan_checkpoint(again) is True  # its release is already there
    releases = await db_pool.fetch("SELECT amount FROM plan_release WHERE de_an_id = $1", code)
    assert [r["amount"] for r in releases] == [200]
    stored = await db_pool.fetchval(
        "SELECT record->>'done_bp' FROM plan_checkpoint WHERE plan_id = $1 AND key = 'mid-year'",
        pid,
    )
    assert stored == "5000"


async def test_the_plan_reads_stage_and_money_of_its_de_an_from_the_read_model(
    db_pool: asyncpg.Pool,
) -> None:
    entries = generate(  # not Bắc Giang: the 2014–2018 report test shares the database
        11,
        year=2017,
        level=Level.QUOC_GIA,
        province="Bắc Ninh",
        count=2,
        code_prefix=f"RD-{uuid.uuid4().hex[:6].upper()}",
    )
    await load_history(db_pool, entries)
    codes = [e.dossier.code for e in entries]
    seen = await activities(db_pool).read_plan_items(
        ReadItemsRequest(plan_id="p", codes=[*codes, "NONE"])
    )
    assert sorted(o.code for o in seen) == sorted(codes)
    for obs in seen:
        assert obs.stage is Stage.CLOSED and obs.paid == obs.approved_support > 0
        assert obs.final_support is None  # history has no settlement row


async def test_a_commitment_change_and_a_release_on_close_are_written_once(
    db_pool: asyncpg.Pool,
) -> None:
    acts, pid = activities(db_pool), plan_id()
    await new_plan(acts, pid)
    change = RecordCommitmentRequest(
        plan_id=pid,
        code="BG-1",
        decision_number="601/QĐ-UBND",
        decision_date=date(2019, 6, 1),
        before=150_000_000,
        after=190_000_000,
    )
    assert await acts.record_plan_commitment(change) is True
    assert await acts.record_plan_commitment(change) is False  # a retried attempt
    release = RecordReleaseRequest(
        plan_id=pid,
        release=PlanRelease(
            code="BG-1",
            amount=40_000_000,
            committed=190_000_000,
            final_support=150_000_000,
            stage=Stage.SETTLED,
        ),
        released_at=datetime(2019, 12, 20, tzinfo=UTC),
    )
    assert await acts.record_plan_release(release) is True
    assert await acts.record_plan_release(release) is False
    rows = await db_pool.fetch(
        "SELECT committed_before, committed_after FROM plan_commitment_change WHERE plan_id = $1",
        pid,
    )
    assert [tuple(r) for r in rows] == [(150_000_000, 190_000_000)]
    released = await db_pool.fetch(
        "SELECT amount, checkpoint_key, released_at FROM plan_release WHERE plan_id = $1", pid
    )
    assert [tuple(r) for r in released] == [(40_000_000, None, datetime(2019, 12, 20, tzinfo=UTC))]
