"""The plans repository: each write once, by its business key, in one transaction."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from db import plans as plans_db
from tests.support.postgres import rows_of
from workflows.plan_contract import (
    DecisionItemResult,
    ItemStatus,
    PlanRow,
    RecordDecisionRequest,
    Verdict,
)


def a_plan() -> PlanRow:
    return PlanRow(
        plan_id=f"ke-hoach/test-{uuid.uuid4().hex[:8]}",
        province="Bắc Giang",
        level="dia_phuong",
        year=2019,
        envelope=1_000_000_000,
        intake_closes_on=date(2018, 12, 31),
        checkpoints=[],
    )


async def test_a_plan_is_recorded_once(db_pool: Any) -> None:
    plan = a_plan()

    assert await plans_db.insert_plan(db_pool, plan) is True
    assert await plans_db.insert_plan(db_pool, plan) is False

    stored = await db_pool.fetchrow("SELECT * FROM plan WHERE plan_id = $1", plan.plan_id)
    assert (stored["envelope"], stored["checkpoints"]) == (1_000_000_000, [])


async def test_a_decision_and_its_verdicts_are_recorded_once(db_pool: Any) -> None:
    plan = a_plan()
    await plans_db.insert_plan(db_pool, plan)
    code = f"BG-2019-DP-{uuid.uuid4().hex[:6].upper()}"
    request = RecordDecisionRequest(
        plan_id=plan.plan_id,
        decision_number="427/QĐ-UBND",
        decision_date=date(2019, 3, 1),
        signer="Chủ tịch",
        official_id="ubnd-bg-1",
        items=[
            DecisionItemResult(
                code=code, verdict=Verdict.APPROVE, status=ItemStatus.APPROVED, approved_support=1
            )
        ],
    )

    assert await plans_db.record_decision(db_pool, request) is True
    assert await plans_db.record_decision(db_pool, request) is False

    verdicts = await db_pool.fetch(
        "SELECT de_an_id, status FROM plan_verdict WHERE plan_id = $1", plan.plan_id
    )
    assert [(v["de_an_id"], v["status"]) for v in verdicts] == [(code, "approved")]
    assert await rows_of(db_pool, "plan_item", code) == 0  # items come from registration
