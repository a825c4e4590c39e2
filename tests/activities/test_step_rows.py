"""Typed detail rows: what the deciders put in a step is what reaches the tables, and a step
scheduled by a worker older than typed rows (a ``details`` dict, no ``row``) is written the
same way."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment

from activities.payments import DeAnPaymentActivities
from activities.records import DeAnRecordActivities
from db.steps import ROW_TYPES, detail_row, legacy_row
from domain.model import Level
from domain.rules import load_packs
from domain.stages import Action
from tests.support.builders import (
    BO_TRUONG,
    CUC,
    KE_TOAN_CUC,
    SO,
    SO_2,
    TRUNG_TAM,
    dossier_on,
)
from workflows import de_an_decisions as decisions
from workflows.de_an_actions import decide
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnAppraise,
    DeAnApprove,
    DeAnConfirmProgress,
    DeAnPayAdvance,
    DeAnRecordVisit,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnSettle,
    DeAnSignContract,
    DeAnStep,
    DeAnStop,
)

TODAY = date(2019, 6, 10)
NOW = datetime(2019, 6, 10, 3, 0, tzinfo=UTC)


def national_life() -> list[DeAnStep]:
    """Every step of a national đề án that is stopped, accepted in part and settled."""
    dossier = dossier_on(
        TODAY, level=Level.QUOC_GIA, cost=600_000_000, requested_support=250_000_000
    )
    state = decisions.initial_state(dossier, TRUNG_TAM, date(2019, 1, 15), load_packs())
    outcome = decisions.decide_register(state, NOW)
    steps = [outcome.step]
    commands: list[tuple[Action, Any]] = [
        (Action.APPRAISE, DeAnAppraise(actor=SO, verdict="pass", appraised_on=TODAY, minutes_number="CS-1")),
        (Action.APPRAISE, DeAnAppraise(actor=CUC, verdict="pass", appraised_on=TODAY, minutes_number="BO-1", by_council=True)),
        (Action.APPROVE, DeAnApprove(actor=BO_TRUONG, decision_number="1234/QĐ-BCT", decision_date=TODAY, signer="Bộ trưởng", approved_support=250_000_000)),
        (Action.SIGN_CONTRACT, DeAnSignContract(actor=CUC, contract_number="9/HĐ", signed_on=TODAY, contracted_support=250_000_000)),
        (Action.REPORT_PROGRESS, DeAnReportProgress(actor=TRUNG_TAM, month="2019-06", investment_done_bp=7500, spent_cost=450_000_000, reported_on=TODAY)),
        (Action.CONFIRM_PROGRESS, DeAnConfirmProgress(actor=SO_2, month="2019-06", confirmed_on=TODAY)),
        (Action.RECORD_VISIT, DeAnRecordVisit(actor=SO, visited_on=TODAY, minutes_number="KT-1", findings=["Sổ sách chưa đủ"])),
        (Action.REQUEST_ADVANCE, DeAnRequestAdvance(actor=TRUNG_TAM, amount=100_000_000, requested_on=TODAY)),
        (Action.PAY_ADVANCE, DeAnPayAdvance(actor=KE_TOAN_CUC, request_no=1, paid_on=TODAY, voucher_number="A1")),
        (Action.STOP, DeAnStop(actor=BO_TRUONG, decision_number="2001/QĐ-BCT", decision_date=TODAY, reason="Chậm tiến độ")),
        (Action.ACCEPT, DeAnAccept(actor=SO, minutes_number="NT-60", accepted_on=TODAY, accepted_cost=300_000_000, accepted_volume_bp=6000)),
        (Action.SETTLE, DeAnSettle(actor=CUC, settlement_number="QT-1", settled_on=TODAY, disallowed_cost=1_000_000)),
    ]  # fmt: skip
    for action, command in commands:
        outcome = decide(outcome.state, action, command, NOW)
        steps.append(outcome.step)
    return steps


def as_old_worker_sent_it(step: DeAnStep) -> DeAnStep:
    """The step as a worker older than typed rows scheduled it: the same JSON, no ``row``."""
    payload = json.loads(step.model_dump_json())
    del payload["row"]
    return DeAnStep.model_validate(payload)


def test_every_action_that_writes_a_detail_row_gets_its_typed_row_from_its_decider() -> None:
    steps = national_life()

    for step in steps:
        expected = ROW_TYPES.get(step.action)
        assert (type(step.row) if step.row else None) is expected, step.action
    assert {s.action for s in steps} >= set(ROW_TYPES) - {Action.REJECT, Action.ADJUST}


def test_an_old_format_step_reads_as_the_same_row_its_decider_now_builds() -> None:
    for step in national_life():
        old = as_old_worker_sent_it(step)

        assert old.row is None
        assert legacy_row(old) == step.row, step.action
        assert detail_row(old) == detail_row(step)


def test_a_typed_step_survives_the_temporal_payload_round_trip() -> None:
    converter = pydantic_data_converter.payload_converter
    for step in national_life():
        (payload,) = converter.to_payloads([step])
        (back,) = converter.from_payloads([payload], [DeAnStep])

        assert back == step


async def test_a_life_written_from_typed_rows_and_one_from_old_dicts_leave_the_same_rows(
    db_pool: Any,
) -> None:
    records, payments = DeAnRecordActivities(db_pool), DeAnPaymentActivities(db_pool)
    typed = national_life()
    old = [as_old_worker_sent_it(s) for s in national_life()]
    written: list[dict[str, list[dict[str, Any]]]] = []

    for steps in (typed, old):
        for step in steps:
            write = payments.record_payment if step.payment else records.record_step
            assert await ActivityEnvironment().run(write, step) is True
        written.append(await detail_rows_of(db_pool, steps[0].de_an_id))
        await db_pool.execute("DELETE FROM decision_register")  # the same numbers, again

    typed_rows, old_rows = written
    assert typed_rows == old_rows
    assert [r["signer"] for r in typed_rows["decision"]] == ["Bộ trưởng", BO_TRUONG.full_name]
    (settlement,) = typed_rows["settlement"]
    assert (settlement["number"], settlement["disallowed_cost"]) == ("QT-1", 1_000_000)
    assert [r["round"] for r in typed_rows["appraisal"]] == ["bo", "co_so"]  # by round


DETAIL_TABLES = {
    "appraisal": "round, verdict, minutes_number, by_council, appraised_on, reason",
    "decision": "kind, number, decision_date, signer, amount, details",
    "contract": "number, signed_on, contracted_support, via_bidding",
    "progress_report": "month, investment_done_bp, spent_cost, reported_on, confirmed_on",
    "monitoring_visit": "visited_on, minutes_number, findings, hold_payments",
    "advance_request": "request_no, amount, requested_on",
    "payment": "kind, amount, paid_on, voucher_number",
    "acceptance": "minutes_number, accepted_on, accepted_cost, accepted_volume_bp",
    "settlement": "number, disallowed_cost, eligible_cost, rate_bp, cap, final_support, payout",
}


async def detail_rows_of(pool: Any, de_an_id: str) -> dict[str, list[dict[str, Any]]]:
    """The detail rows of one đề án, without the keys and IDs that name it."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table, columns in DETAIL_TABLES.items():
        rows = await pool.fetch(
            f"SELECT {columns} FROM {table} WHERE de_an_id = $1 ORDER BY {columns.split(',')[0]}",
            de_an_id,
        )
        found[table] = [dict(r) for r in rows]
    return found
