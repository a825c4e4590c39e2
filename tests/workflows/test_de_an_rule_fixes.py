"""Issue 10, items 7–9 through the engine (time-skipping server, production worker, real
PostgreSQL): a decision number names one decision across đề án; a step typed in after the fact
has its deadlines, recorded as missed; after a stop nothing is paid but the settlement."""

from __future__ import annotations

import random
from datetime import date, timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.model import Level
from domain.stages import Stage
from khuyencong.admin import output
from khuyencong.admin.client import AdminClient
from tests.support.builders import (
    BO_TRUONG,
    CUC,
    KE_TOAN_CUC,
    SO,
    SO_2,
    TRUNG_TAM,
    UBND,
    dossier_on,
)
from tests.support.lifecycle import Driver, appraisal, approval, contract, today_of
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnCommand,
    DeAnConfirmProgress,
    DeAnPayAdvance,
    DeAnPaySettlement,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnSettle,
    DeAnStop,
    DeAnSubmitSettlementDossier,
)


def decision_number(suffix: str) -> str:
    """A number of this test's own: the decision register is shared by the whole session."""
    return f"{random.randint(100_000, 999_999)}/{suffix}"


async def refusal_of(d: Driver, command: DeAnCommand) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await d.act(command)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


# --- item 7 ------------------------------------------------------------------------------------


async def test_a_decision_number_reused_with_another_date_is_refused_and_with_the_same_accepted(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    today = await today_of(ts_env)
    earlier = today - timedelta(days=1)
    if earlier.year != today.year:  # 1 January: numbering restarts, compare with the signer
        earlier = today
    number = decision_number("QĐ-UBND")
    drivers = []
    for _ in range(3):
        d = await Driver.register(ts_env.client, tq, dossier_on(today), earlier)
        await d.act(appraisal(SO, earlier))
        drivers.append(d)
    first, second, third = drivers
    await first.act(approval(UBND, earlier, 200_000_000, number=number))

    before = await second.state()
    other_date = approval(UBND, today, 200_000_000, number=number)
    if earlier == today:
        other_date = other_date.model_copy(update={"signer": "Người ký khác"})
    cause = await refusal_of(second, other_date)
    assert cause.type == "DecisionNumberReused"
    details = cause.details[0]
    assert details["field"] == ("decision_date" if earlier != today else "signer")
    assert "30/2020/NĐ-CP" in details["legal_basis"]
    assert first.handle.id.removeprefix("de-an/") in details["message"]
    after = await second.state()
    assert (after.stage, after.seq, after.approval) == (Stage.APPRAISED, before.seq, None)
    rows = await db_pool.fetchval(
        "SELECT count(*) FROM decision WHERE de_an_id = $1", before.de_an_id
    )
    assert rows == 0  # the step's transaction was rolled back

    # the same decision (a batch of the plan) approves the third đề án, and the second too
    await third.act(approval(UBND, earlier, 200_000_000, number=number))
    again = await second.act(approval(UBND, earlier, 200_000_000, number=number))
    assert again.stage is Stage.APPROVED
    register = await db_pool.fetch(
        "SELECT decision_date, first_de_an FROM decision_register WHERE number = $1", number
    )
    assert [(r["decision_date"], r["first_de_an"]) for r in register] == [
        (earlier, first.handle.id.removeprefix("de-an/"))
    ]


# --- item 8 ------------------------------------------------------------------------------------


async def test_an_acceptance_typed_in_years_later_shows_and_records_its_missed_deadlines(
    ts_env: WorkflowEnvironment,
    db_pool: asyncpg.Pool,
    tq: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    year = 2019
    dossier = dossier_on(
        date(year, 3, 1),
        plan_year=year,
        schedule={"start": date(year, 3, 1), "end": date(year, 11, 30)},
    )
    d = await Driver.register(ts_env.client, tq, dossier, date(year, 1, 15))
    await d.act(appraisal(SO, date(year, 2, 20)))
    number = decision_number("QĐ-UBND")
    await d.act(approval(UBND, date(year, 3, 1), 200_000_000, number=number))
    await d.act(contract(SO, date(year, 11, 1), 200_000_000))
    await d.act(
        DeAnAccept(
            actor=SO,
            minutes_number="NT-2019",
            accepted_on=date(year, 11, 20),
            accepted_cost=600_000_000,
            accepted_volume_bp=10000,
        ),
    )
    dossier_key, settlement_key = "settlement_dossier:2019-11-20", "settlement:2019"
    state = await d.until(
        lambda s: {dossier_key, settlement_key} <= set(s.missed_deadlines), timeout=20
    )
    assert state.overdue
    rows = await db_pool.fetch(
        "SELECT deadline_kind, ref, due_date FROM notification WHERE de_an_id = $1 "
        "ORDER BY due_date",
        state.de_an_id,
    )
    recorded = {(r["deadline_kind"], r["ref"]): r["due_date"] for r in rows}
    assert recorded[("settlement_dossier", "2019-11-20")] == date(2019, 12, 5)
    assert recorded[("settlement", "2019")] == date(2020, 1, 22)
    assert recorded[("progress_report", "2019-11")] == date(2019, 11, 24)  # while in progress
    events = await db_pool.fetch(
        "SELECT business_date, summary FROM de_an_event "
        "WHERE de_an_id = $1 AND action = 'deadline_missed'",
        state.de_an_id,
    )
    assert len(events) == len(rows)
    assert all("đã quá hạn khi được nhập vào hệ thống" in e["summary"] for e in events)

    view = await AdminClient(ts_env.client, db_pool, task_queue=tq).show(state.de_an_id)
    shown = {(m.kind, m.ref): (m.due_date, m.missed) for m in view.missed_deadlines}
    assert shown[("settlement_dossier", "2019-11-20")] == (date(2019, 12, 5), True)
    assert shown[("settlement", "2019")] == (date(2020, 1, 22), True)
    assert view.row.overdue
    capsys.readouterr()
    output.de_an_view(view)
    printed = capsys.readouterr().out
    assert "05/12/2019" in printed and "22/01/2020" in printed
    assert printed.count("⚠ đã quá hạn") >= 2


# --- item 9 ------------------------------------------------------------------------------------


async def test_a_stopped_national_de_an_pays_no_lapsed_advance_and_settles_to_50_tr(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    """The tester's case: machinery, 250 tr approved, 75 % progress confirmed; advance 1 (100 tr)
    paid, advance 2 (75 tr) requested; the Minister stops the đề án; 60 % accepted (300 tr)."""
    today = await today_of(ts_env)
    dossier = dossier_on(
        today, level=Level.QUOC_GIA, cost=600_000_000, requested_support=250_000_000
    )
    d = await Driver.register(ts_env.client, tq, dossier, today)
    await d.act(appraisal(SO, today, minutes="BB-CS"))
    await d.act(appraisal(CUC, today, minutes="BB-BO"))
    number = decision_number("QĐ-BCT")
    await d.act(approval(BO_TRUONG, today, 250_000_000, number=number))
    await d.act(contract(CUC, today, 250_000_000))
    month = f"{today:%Y-%m}"
    await d.act(
        DeAnReportProgress(
            actor=TRUNG_TAM,
            month=month,
            investment_done_bp=7500,
            spent_cost=450_000_000,
            reported_on=today,
        ),
    )
    await d.act(DeAnConfirmProgress(actor=SO_2, month=month, confirmed_on=today))

    def pay(no: int) -> DeAnPayAdvance:
        return DeAnPayAdvance(
            actor=KE_TOAN_CUC, request_no=no, paid_on=today, voucher_number=f"A{no}"
        )

    for no, amount in ((1, 100_000_000), (2, 75_000_000)):
        await d.act(DeAnRequestAdvance(actor=TRUNG_TAM, amount=amount, requested_on=today))
        if no == 1:
            await d.act(pay(1))
    stop = await d.act(
        DeAnStop(
            actor=BO_TRUONG,
            decision_number=decision_number("QĐ-BCT"),
            decision_date=today,
            reason="Đơn vị thụ hưởng không đáp ứng yêu cầu",
        ),
    )
    assert stop.stage is Stage.STOPPED and "lần 2 (75.000.000 đ)" in stop.message
    assert (await refusal_of(d, pay(2))).type == "WrongStage"
    await d.act(
        DeAnAccept(
            actor=SO,
            minutes_number="NT-60",
            accepted_on=today,
            accepted_cost=300_000_000,
            accepted_volume_bp=6000,
        ),
    )
    await d.act(DeAnSubmitSettlementDossier(actor=TRUNG_TAM, submitted_on=today))
    lapsed = await refusal_of(d, pay(2))
    assert lapsed.type == "AdvanceLapsed"
    assert lapsed.details[0]["field"] == "request_no"

    settled = await d.act(DeAnSettle(actor=CUC, settlement_number="QT-1", settled_on=today))
    assert settled.stage is Stage.SETTLED
    state = await d.state()
    assert state.settlement is not None
    assert (state.settlement.final_support, state.settlement.payout) == (150_000_000, 50_000_000)
    assert (await refusal_of(d, pay(2))).type == "WrongStage"
    closed = await d.act(
        DeAnPaySettlement(actor=KE_TOAN_CUC, paid_on=today, voucher_number="UNC-9")
    )
    assert (closed.stage, closed.advanced, closed.paid) == (Stage.CLOSED, 100_000_000, 150_000_000)

    payments = await db_pool.fetch(
        "SELECT p.kind, p.amount, e.seq FROM payment p "
        "JOIN de_an_event e ON e.idempotency_key = p.event_key "
        "WHERE p.de_an_id = $1 ORDER BY e.seq",
        state.de_an_id,
    )
    stop_seq = await db_pool.fetchval(
        "SELECT seq FROM de_an_event WHERE de_an_id = $1 AND action = 'stop'", state.de_an_id
    )
    assert [(p["kind"], p["amount"]) for p in payments] == [
        ("advance", 100_000_000),
        ("settlement", 50_000_000),
    ]
    assert [p["kind"] for p in payments if p["seq"] > stop_seq] == ["settlement"]
    stop_event = await db_pool.fetchrow(
        "SELECT summary, details FROM de_an_event WHERE de_an_id = $1 AND action = 'stop'",
        state.de_an_id,
    )
    assert stop_event["details"]["lapsed_advances"] == [{"request_no": 2, "amount": 75_000_000}]
    lapsed = await db_pool.fetch(
        "SELECT request_no FROM advance_request WHERE de_an_id = $1 AND lapsed_on IS NOT NULL",
        state.de_an_id,
    )
    assert [r["request_no"] for r in lapsed] == [2]  # the read model marks it (0008)
