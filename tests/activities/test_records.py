"""record_step against a real PostgreSQL: read model, append-only events, detail rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.records import DeAnRecordActivities
from domain.authority import AdjustmentKind
from domain.model import DeAnDossier, Role
from domain.stages import Action
from tests.support.builders import details_of, make_actor, make_dossier, make_step, unique_code
from tests.support.postgres import rows_of
from workflows.de_an_contract import (
    AppraisalVerdict,
    DeAnAccept,
    DeAnAdjust,
    DeAnAppraise,
    DeAnApprove,
    DeAnConfirmProgress,
    DeAnRecordVisit,
    DeAnReject,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnSettle,
    DeAnSignContract,
    DeAnStop,
)

SO = make_actor(Role.SO_CONG_THUONG)
UBND = make_actor(Role.UBND_TINH)
TRUNG_TAM = make_actor(Role.TRUNG_TAM)


@pytest.fixture
def acts(db_pool: Any) -> DeAnRecordActivities:
    return DeAnRecordActivities(db_pool)


@pytest.fixture
def dossier() -> DeAnDossier:
    return make_dossier(code=unique_code())


async def test_a_registered_de_an_appears_in_the_read_model_and_the_history(
    acts: DeAnRecordActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    step = make_step(Action.REGISTER, dossier=dossier, seq=1, details={"note": "Đăng ký"})

    assert await ActivityEnvironment().run(acts.record_step, step) is True

    row = await db_pool.fetchrow("SELECT * FROM de_an WHERE de_an_id = $1", dossier.code)
    assert row["workflow_id"] == f"de-an/{dossier.code}"
    assert row["stage"] == "registered"
    assert row["province"] == "Bắc Giang"
    assert row["requested_support"] == 200_000_000
    assert row["seq"] == 1
    event = await db_pool.fetchrow("SELECT * FROM de_an_event WHERE de_an_id = $1", dossier.code)
    assert event["idempotency_key"] == step.key
    assert event["actor_official_id"] == "trung_tam-01"
    assert event["actor_role"] == "trung_tam"
    assert event["details"] == {"note": "Đăng ký"}


async def test_a_retried_step_writes_one_event_and_one_detail_row(
    acts: DeAnRecordActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    await acts.record_step(make_step(Action.REGISTER, dossier=dossier, seq=1))
    appraise = make_step(
        Action.APPRAISE,
        dossier=dossier,
        seq=2,
        actor=SO,
        details=details_of(
            DeAnAppraise(
                actor=SO,
                verdict=AppraisalVerdict.PASS,
                appraised_on=date(2019, 3, 10),
                minutes_number="12/BB-SCT",
            )
        ),
    )

    assert await acts.record_step(appraise) is True
    assert await acts.record_step(appraise) is False

    events = await db_pool.fetchval(
        "SELECT count(*) FROM de_an_event WHERE idempotency_key = $1", appraise.key
    )
    appraisals = await rows_of(db_pool, "appraisal", dossier.code)
    assert (events, appraisals) == (1, 1)
    row = await db_pool.fetchrow("SELECT * FROM appraisal WHERE de_an_id = $1", dossier.code)
    assert (row["round"], row["verdict"], row["official_id"]) == ("tinh", "pass", SO.official_id)


async def test_an_older_step_does_not_move_the_read_model_backwards(
    acts: DeAnRecordActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    newer = make_step(Action.RESUBMIT, dossier=dossier, seq=3, details={"note": "mới"})
    older = make_step(Action.REGISTER, dossier=dossier, seq=1)

    await acts.record_step(newer)
    assert await acts.record_step(older) is True  # its event is still recorded

    row = await db_pool.fetchrow(
        "SELECT seq, stage, updated_at FROM de_an WHERE de_an_id = $1", dossier.code
    )
    assert (row["seq"], row["stage"]) == (3, "registered")
    assert row["updated_at"] == newer.occurred_at
    assert await rows_of(db_pool, "de_an_event", dossier.code) == 2


async def test_a_newer_step_replaces_the_read_model(
    acts: DeAnRecordActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    await acts.record_step(make_step(Action.REGISTER, dossier=dossier, seq=1))
    await acts.record_step(
        make_step(
            Action.RECORD_VISIT,
            dossier=dossier,
            seq=2,
            actor=SO,
            details=details_of(
                DeAnRecordVisit(
                    actor=SO,
                    visited_on=date(2019, 5, 2),
                    minutes_number="5/BB-KT",
                    findings=["Chưa lắp đặt máy"],
                    hold_payments=True,
                )
            ),
            snapshot={"payments_on_hold": True},
        )
    )
    row = await db_pool.fetchrow("SELECT * FROM de_an WHERE de_an_id = $1", dossier.code)
    assert (row["seq"], row["stage"], row["payments_on_hold"]) == (2, "in_progress", True)
    visit = await db_pool.fetchrow(
        "SELECT * FROM monitoring_visit WHERE de_an_id = $1", dossier.code
    )
    assert visit["findings"] == ["Chưa lắp đặt máy"]
    assert visit["hold_payments"] is True


async def test_events_are_append_only(
    acts: DeAnRecordActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    step = make_step(Action.REGISTER, dossier=dossier, seq=1)
    await acts.record_step(step)

    async with db_pool.acquire() as conn:
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            await conn.execute(
                "UPDATE de_an_event SET summary = 'sửa' WHERE idempotency_key = $1", step.key
            )
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            await conn.execute("DELETE FROM de_an_event WHERE idempotency_key = $1", step.key)
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            await conn.execute("TRUNCATE de_an_event CASCADE")
        assert (
            await conn.fetchval(
                "SELECT summary FROM de_an_event WHERE idempotency_key = $1", step.key
            )
            == step.summary
        )


async def test_a_whole_life_writes_one_detail_row_per_fact(
    acts: DeAnRecordActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    money = {"approved_support": 200_000_000}
    contracted = {**money, "contracted_support": 200_000_000, "rule_pack_id": "bg"}
    steps = [
        make_step(Action.REGISTER, dossier=dossier, seq=1),
        make_step(
            Action.APPRAISE,
            dossier=dossier,
            seq=2,
            actor=SO,
            details=details_of(
                DeAnAppraise(
                    actor=SO,
                    verdict=AppraisalVerdict.PASS,
                    by_council=True,
                    appraised_on=date(2019, 3, 10),
                    minutes_number="12/BB-HĐTĐ",
                )
            ),
        ),
        make_step(
            Action.APPROVE,
            dossier=dossier,
            seq=3,
            actor=UBND,
            decision_number="427/QĐ-UBND",
            snapshot=money,
            details=details_of(
                DeAnApprove(
                    actor=UBND,
                    decision_number="427/QĐ-UBND",
                    decision_date=date(2019, 3, 20),
                    signer="Hoàng Thị Giang",
                    approved_support=200_000_000,
                )
            ),
        ),
        make_step(
            Action.SIGN_CONTRACT,
            dossier=dossier,
            seq=4,
            actor=SO,
            snapshot=contracted,
            details=details_of(
                DeAnSignContract(
                    actor=SO,
                    contract_number="15/HĐ-KC",
                    signed_on=date(2019, 3, 25),
                    contracted_support=200_000_000,
                )
            ),
        ),
        make_step(
            Action.REPORT_PROGRESS,
            dossier=dossier,
            seq=5,
            actor=TRUNG_TAM,
            ref="2019-04",
            snapshot=contracted,
            details=details_of(
                DeAnReportProgress(
                    actor=TRUNG_TAM,
                    month="2019-04",
                    investment_done_bp=6000,
                    spent_cost=240_000_000,
                    reported_on=date(2019, 4, 20),
                )
            ),
        ),
        make_step(
            Action.CONFIRM_PROGRESS,
            dossier=dossier,
            seq=6,
            actor=SO,
            ref="2019-04",
            snapshot=contracted,
            details=details_of(
                DeAnConfirmProgress(actor=SO, month="2019-04", confirmed_on=date(2019, 4, 22))
            ),
        ),
        make_step(
            Action.REQUEST_ADVANCE,
            dossier=dossier,
            seq=7,
            actor=TRUNG_TAM,
            ref="1",
            snapshot=contracted,
            details=details_of(
                DeAnRequestAdvance(
                    actor=TRUNG_TAM, amount=140_000_000, requested_on=date(2019, 4, 25)
                )
            ),
        ),
        make_step(
            Action.ADJUST,
            dossier=dossier,
            seq=8,
            actor=UBND,
            decision_number="501/QĐ-UBND",
            snapshot=contracted,
            details=details_of(
                DeAnAdjust(
                    actor=UBND,
                    kind=AdjustmentKind.CHANGE_TIMING,
                    decision_number="501/QĐ-UBND",
                    decision_date=date(2019, 6, 1),
                    description="Lùi thời gian lắp đặt sang tháng 8",
                )
            ),
        ),
        make_step(
            Action.ACCEPT,
            dossier=dossier,
            seq=9,
            actor=SO,
            snapshot=contracted,
            details=details_of(
                DeAnAccept(
                    actor=SO,
                    minutes_number="30/BB-NT",
                    accepted_on=date(2019, 11, 20),
                    accepted_cost=390_000_000,
                    accepted_volume_bp=10000,
                )
            ),
        ),
        make_step(
            Action.SETTLE,
            dossier=dossier,
            seq=10,
            actor=SO,
            snapshot=contracted,
            details={
                **details_of(
                    DeAnSettle(
                        actor=SO, settlement_number="45/BB-QT", settled_on=date(2019, 12, 10)
                    )
                ),
                "eligible_cost": 390_000_000,
                "rate_bp": 5000,
                "cap": 200_000_000,
                "final_support": 195_000_000,
                "payout": 55_000_000,
                "refund_owed": 0,
            },
        ),
    ]
    for step in steps:
        assert await acts.record_step(step) is True

    async with db_pool.acquire() as conn:

        async def count(table: str) -> int:
            return await rows_of(conn, table, dossier.code)

        assert await count("de_an_event") == len(steps)
        for table in (
            "appraisal",
            "contract",
            "progress_report",
            "advance_request",
            "acceptance",
            "settlement",
        ):
            assert await count(table) == 1, table
        assert await count("decision") == 2

        approval = await conn.fetchrow(
            "SELECT * FROM decision WHERE de_an_id = $1 AND kind = 'approve'", dossier.code
        )
        assert approval["number"] == "427/QĐ-UBND"
        assert approval["amount"] == 200_000_000
        assert approval["signer"] == "Hoàng Thị Giang"
        adjust = await conn.fetchrow(
            "SELECT * FROM decision WHERE de_an_id = $1 AND kind = 'adjust'", dossier.code
        )
        assert adjust["amount"] is None
        assert adjust["details"]["kind"] == "change_timing"
        report = await conn.fetchrow(
            "SELECT * FROM progress_report WHERE de_an_id = $1", dossier.code
        )
        assert report["confirmed_by"] == SO.official_id
        assert report["confirmed_on"] == date(2019, 4, 22)
        assert report["confirm_key"] == steps[5].key
        advance = await conn.fetchrow(
            "SELECT * FROM advance_request WHERE de_an_id = $1", dossier.code
        )
        assert (advance["request_no"], advance["amount"]) == (1, 140_000_000)
        settlement = await conn.fetchrow(
            "SELECT * FROM settlement WHERE de_an_id = $1", dossier.code
        )
        assert (settlement["final_support"], settlement["payout"]) == (195_000_000, 55_000_000)
        contract = await conn.fetchrow("SELECT * FROM contract WHERE de_an_id = $1", dossier.code)
        assert contract["number"] == "15/HĐ-KC"
        row = await conn.fetchrow("SELECT * FROM de_an WHERE de_an_id = $1", dossier.code)
        assert (row["seq"], row["stage"], row["rule_pack_id"]) == (10, "settled", "bg")


async def test_a_repeated_confirmation_keeps_the_first_one(
    acts: DeAnRecordActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    await acts.record_step(
        make_step(
            Action.REPORT_PROGRESS,
            dossier=dossier,
            seq=1,
            ref="2019-05",
            details=details_of(
                DeAnReportProgress(
                    actor=TRUNG_TAM,
                    month="2019-05",
                    investment_done_bp=3000,
                    spent_cost=100_000_000,
                    reported_on=date(2019, 5, 20),
                )
            ),
        )
    )
    for seq, day in ((2, 21), (3, 28)):
        await acts.record_step(
            make_step(
                Action.CONFIRM_PROGRESS,
                dossier=dossier,
                seq=seq,
                actor=SO,
                ref=f"2019-05-{seq}",
                details=details_of(
                    DeAnConfirmProgress(actor=SO, month="2019-05", confirmed_on=date(2019, 5, day))
                ),
            )
        )

    row = await db_pool.fetchrow(
        "SELECT confirmed_on FROM progress_report WHERE de_an_id = $1", dossier.code
    )
    assert row["confirmed_on"] == date(2019, 5, 21)


async def test_rejection_and_stop_are_decisions(acts: DeAnRecordActivities, db_pool: Any) -> None:
    rejected, stopped = make_dossier(code=unique_code()), make_dossier(code=unique_code())
    await acts.record_step(
        make_step(
            Action.REJECT,
            dossier=rejected,
            seq=3,
            actor=UBND,
            details=details_of(
                DeAnReject(
                    actor=UBND,
                    decision_number="88/QĐ-UBND",
                    decision_date=date(2019, 3, 20),
                    reason="Không phù hợp quy hoạch",
                )
            ),
            decision_number="88/QĐ-UBND",
        )
    )
    await acts.record_step(
        make_step(
            Action.STOP,
            dossier=stopped,
            seq=5,
            actor=UBND,
            details=details_of(
                DeAnStop(
                    actor=UBND,
                    decision_number="99/QĐ-UBND",
                    decision_date=date(2019, 7, 1),
                    reason="Thiên tai",
                    force_majeure=True,
                )
            ),
        )
    )

    rows = await decisions_of(db_pool, rejected.code, stopped.code)
    assert rows == [
        ("reject", "88/QĐ-UBND", UBND.full_name),
        ("stop", "99/QĐ-UBND", UBND.full_name),
    ]


async def decisions_of(pool: Any, *codes: str) -> list[tuple[str, str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT kind, number, signer FROM decision WHERE de_an_id = ANY($1::text[])"
            " ORDER BY kind",
            list(codes),
        )
    return [(r["kind"], r["number"], r["signer"]) for r in rows]


async def test_a_payment_or_deadline_step_is_refused_by_record_step(
    acts: DeAnRecordActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    for action in (Action.PAY_ADVANCE, Action.DEADLINE_MISSED):
        with pytest.raises(ApplicationError) as refused:
            await acts.record_step(make_step(action, dossier=dossier, seq=1))
        assert refused.value.type == "InvalidStep"
        assert refused.value.non_retryable
    assert await rows_of(db_pool, "de_an", dossier.code) == 0


async def test_a_step_missing_its_details_is_refused_and_writes_nothing(
    acts: DeAnRecordActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    with pytest.raises(ApplicationError, match="details lack 'verdict'") as refused:
        await acts.record_step(make_step(Action.APPRAISE, dossier=dossier, seq=2, details={}))
    assert refused.value.type == "InvalidStep"
    assert refused.value.non_retryable
    assert await rows_of(db_pool, "de_an_event", dossier.code) == 0


async def test_the_read_model_refuses_negative_money(
    acts: DeAnRecordActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    step = make_step(Action.REGISTER, dossier=dossier, seq=1, snapshot={"refunded": -1})
    with pytest.raises(ApplicationError) as refused:
        await acts.record_step(step)
    assert refused.value.type == "ConstraintViolation"
    assert refused.value.non_retryable
    assert refused.value.details == ("de_an_refunded_check",)

    for column in MONEY_COLUMNS:
        async with db_pool.acquire() as conn:
            with pytest.raises(asyncpg.CheckViolationError, match="violates check constraint"):
                await conn.execute(INSERT_DE_AN_WITH_MONEY.format(column=column), dossier.code)


MONEY_COLUMNS = (
    "requested_support",
    "approved_support",
    "contracted_support",
    "advanced",
    "paid",
    "refund_owed",
    "refunded",
)

INSERT_DE_AN_WITH_MONEY = """
INSERT INTO de_an (
    de_an_id, workflow_id, seq, code, title, level, province, content_area, support_item,
    beneficiary_name, beneficiary_type, plan_year, stage, created_at, updated_at, {column}
) VALUES (
    $1, $1, 1, $1, 't', 'dia_phuong', 'Bắc Giang', '3', 'machinery',
    'b', 'hop_tac_xa', 2019, 'registered', now(), now(), -1
)
"""
