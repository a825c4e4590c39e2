"""DeAnWorkflow in the time-skipping server: whole lives of đề án, with real activities on a
real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.authority import AdjustmentKind
from domain.errors import RefusalCode
from domain.model import Level
from domain.stages import Stage
from tests.support.builders import (
    BO_TRUONG,
    CUC,
    KE_TOAN_BG,
    KE_TOAN_CUC,
    SO,
    SO_2,
    TRUNG_TAM,
    UBND,
    dossier_on,
)
from tests.support.lifecycle import (
    Driver,
    appraisal,
    approval,
    contract,
    contracted_provincial,
    contracted_training,
    paid_advance,
    today_of,
)
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnAdjust,
    DeAnConfirmProgress,
    DeAnPayAdvance,
    DeAnPaySettlement,
    DeAnRecordRefund,
    DeAnRecordVisit,
    DeAnReject,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnResolveFindings,
    DeAnResubmit,
    DeAnSettle,
    DeAnStop,
    DeAnSubmitSettlementDossier,
)


def refusal_type(failure: WorkflowUpdateFailedError) -> str:
    """The refusal's code (``RefusalCode``): the workflow refuses as a typed application error."""
    cause = failure.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable, cause
    assert cause.type is not None
    return cause.type


async def test_a_provincial_de_an_goes_from_registration_to_closing(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    today = await today_of(ts_env)
    dossier = dossier_on(today, cost=600_000_000, requested_support=200_000_000)
    d = await Driver.register(ts_env.client, tq, dossier, today)

    assert (await d.act(appraisal(SO, today))).stage is Stage.APPRAISED
    assert (await d.act(approval(UBND, today, 200_000_000))).stage is Stage.APPROVED
    await d.act(contract(SO, today, 200_000_000))
    month = f"{today:%Y-%m}"
    await d.act(
        DeAnReportProgress(
            actor=TRUNG_TAM,
            month=month,
            investment_done_bp=8000,
            spent_cost=480_000_000,
            reported_on=today,
        ),
    )
    await d.act(DeAnConfirmProgress(actor=SO_2, month=month, confirmed_on=today))
    paid = await paid_advance(d, today, 140_000_000)
    assert paid.advanced == 140_000_000
    await d.act(
        DeAnAccept(
            actor=SO,
            minutes_number="NT-01",
            accepted_on=today,
            accepted_cost=580_000_000,
            accepted_volume_bp=10000,
        ),
    )
    await d.act(DeAnSubmitSettlementDossier(actor=TRUNG_TAM, submitted_on=today))
    settled = await d.act(DeAnSettle(actor=SO, settlement_number="QT-01", settled_on=today))
    assert settled.stage is Stage.SETTLED
    state = await d.state()
    assert state.settlement is not None
    # min(approved 200M, floor(580M × 50 %) = 290M, cap 200M) − advances 140M
    assert (state.settlement.final_support, state.settlement.payout) == (200_000_000, 60_000_000)
    closed = await d.act(
        DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=today, voucher_number="UNC-02")
    )
    assert closed.stage is Stage.CLOSED

    result = await d.handle.result()
    assert (result.stage, result.paid, result.advanced) == (Stage.CLOSED, 200_000_000, 140_000_000)
    row = await db_pool.fetchrow(
        "SELECT stage, paid, advanced FROM de_an WHERE de_an_id = $1", dossier.code
    )
    assert dict(row) == {"stage": "closed", "paid": 200_000_000, "advanced": 140_000_000}
    payments = await db_pool.fetch(
        "SELECT kind, amount FROM payment WHERE de_an_id = $1 ORDER BY amount", dossier.code
    )
    assert [(p["kind"], p["amount"]) for p in payments] == [
        ("settlement", 60_000_000),
        ("advance", 140_000_000),
    ]
    events = await db_pool.fetchval(
        "SELECT count(*) FROM de_an_event WHERE de_an_id = $1", dossier.code
    )
    assert events == len(state.timeline) + 1  # + pay_settlement, applied after this query


async def test_a_national_de_an_is_appraised_by_the_so_then_the_cuc_and_approved_by_the_minister(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    today = await today_of(ts_env)
    dossier = dossier_on(
        today, level=Level.QUOC_GIA, cost=700_000_000, requested_support=300_000_000
    )
    d = await Driver.register(ts_env.client, tq, dossier, today)

    base = await d.act(appraisal(SO, today, minutes="BB-CS-01"))
    assert base.stage is Stage.BASE_APPRAISED
    ministry = await d.act(appraisal(CUC, today, minutes="BB-BO-01"))
    assert ministry.stage is Stage.APPRAISED
    await d.act(approval(BO_TRUONG, today, 300_000_000, number="1234/QĐ-BCT"))
    await d.act(contract(CUC, today, 300_000_000))
    await d.act(
        DeAnAccept(
            actor=SO,
            minutes_number="NT-QG",
            accepted_on=today,
            accepted_cost=700_000_000,
            accepted_volume_bp=10000,
        ),
    )
    await d.act(DeAnSettle(actor=CUC, settlement_number="QT-QG", settled_on=today))
    await d.act(DeAnPaySettlement(actor=KE_TOAN_CUC, paid_on=today, voucher_number="C-1"))

    result = await d.handle.result()
    assert (result.stage, result.paid) == (Stage.CLOSED, 300_000_000)
    state = await d.state()
    assert state.rule_pack_id == "quoc-gia-tt-28-2018"
    assert [a.round for a in state.appraisals] == ["co_so", "bo"]
    decision = await db_pool.fetchrow(
        "SELECT number, amount FROM decision WHERE de_an_id = $1 AND kind = 'approve'", dossier.code
    )
    assert dict(decision) == {"number": "1234/QĐ-BCT", "amount": 300_000_000}


async def test_a_returned_dossier_is_resubmitted_and_appraised_again(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    dossier = dossier_on(today)
    d = await Driver.register(ts_env.client, tq, dossier, today)

    returned = await d.act(appraisal(SO, today, verdict="return", minutes="BB-1"))
    assert returned.stage is Stage.RETURNED
    amended = dossier.model_copy(update={"title": "Hỗ trợ máy ép gạch (hồ sơ bổ sung)"})
    again = await d.act(DeAnResubmit(actor=TRUNG_TAM, dossier=amended))
    assert again.stage is Stage.REGISTERED
    passed = await d.act(appraisal(SO, today, minutes="BB-2"))
    assert passed.stage is Stage.APPRAISED
    assert (await d.state()).dossier.title.endswith("(hồ sơ bổ sung)")


async def test_a_failed_appraisal_rejects_the_de_an_and_ends_the_workflow(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    d = await Driver.register(ts_env.client, tq, dossier_on(today), today)
    await d.act(appraisal(SO, today, verdict="fail"))
    assert (await d.handle.result()).stage is Stage.REJECTED


async def test_the_approver_can_decide_not_to_approve(ts_env: WorkflowEnvironment, tq: str) -> None:
    today = await today_of(ts_env)
    d = await Driver.register(ts_env.client, tq, dossier_on(today), today)
    await d.act(appraisal(SO, today))
    await d.act(
        DeAnReject(
            actor=UBND,
            decision_number="428/QĐ-UBND",
            decision_date=today,
            reason="Không đủ nguồn kinh phí năm kế hoạch",
        ),
    )
    assert (await d.handle.result()).stage is Stage.REJECTED


async def test_a_stopped_de_an_settles_its_accepted_volume_and_refunds_the_excess_advance(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    today = await today_of(ts_env)
    d = await contracted_training(ts_env.client, tq, today)
    # training: up to 70 % on the contract (TT 36/2013 Điều 13 khoản 2 điểm a)
    await paid_advance(d, today, 70_000_000)
    stopped = await d.act(
        DeAnStop(
            actor=UBND,
            decision_number="900/QĐ-UBND",
            decision_date=today,
            reason="Đơn vị thụ hưởng không bố trí được học viên",
        ),
    )
    assert stopped.stage is Stage.STOPPED
    await d.act(
        DeAnAccept(
            actor=SO,
            minutes_number="NT-2",
            accepted_on=today,
            accepted_cost=40_000_000,
            accepted_volume_bp=4000,
        ),
    )
    settled = await d.act(DeAnSettle(actor=SO, settlement_number="QT-2", settled_on=today))
    assert settled.stage is Stage.SETTLED
    state = await d.state()
    assert state.settlement is not None and state.settlement.refund_owed == 30_000_000
    await d.act(
        DeAnRecordRefund(
            actor=KE_TOAN_BG, refunded_on=today, amount=30_000_000, voucher_number="NT-01"
        ),
    )
    result = await d.handle.result()
    assert (result.stage, result.advanced, result.refunded) == (
        Stage.CLOSED,
        70_000_000,
        30_000_000,
    )
    row = await db_pool.fetchrow(
        "SELECT refunded, refund_owed FROM de_an WHERE de_an_id = $1", state.de_an_id
    )
    assert dict(row) == {"refunded": 30_000_000, "refund_owed": 0}


async def test_force_majeure_settles_only_the_accepted_volume(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    d = await contracted_provincial(ts_env.client, tq, today)
    await d.act(
        DeAnAccept(
            actor=SO,
            minutes_number="NT-FM",
            accepted_on=today,
            accepted_cost=300_000_000,
            accepted_volume_bp=5000,
            force_majeure=True,
        ),
    )
    await d.act(DeAnSettle(actor=SO, settlement_number="QT-FM", settled_on=today))
    state = await d.state()
    assert state.settlement is not None
    assert state.settlement.final_support == 150_000_000  # 50 % of 300M, under approval and cap


async def test_a_stop_before_the_contract_closes_the_de_an(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    d = await Driver.register(ts_env.client, tq, dossier_on(today), today)
    await d.act(appraisal(SO, today))
    await d.act(approval(UBND, today, 200_000_000))
    await d.act(
        DeAnStop(
            actor=UBND,
            decision_number="901/QĐ-UBND",
            decision_date=today,
            reason="Đơn vị thụ hưởng xin rút",
        ),
    )
    assert (await d.handle.result()).stage is Stage.CLOSED


async def test_a_visit_with_findings_holds_payments_until_they_are_resolved(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    d = await contracted_training(ts_env.client, tq, today)
    await d.act(
        DeAnRecordVisit(
            actor=SO,
            visited_on=today,
            minutes_number="KT-1",
            findings=["Danh sách học viên chưa có chữ ký"],
            hold_payments=True,
        ),
    )
    await d.act(DeAnRequestAdvance(actor=TRUNG_TAM, amount=50_000_000, requested_on=today))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await d.act(
            DeAnPayAdvance(actor=KE_TOAN_BG, request_no=1, paid_on=today, voucher_number="A1"),
        )
    assert refusal_type(refused.value) == RefusalCode.PAYMENTS_ON_HOLD
    await d.act(DeAnResolveFindings(actor=SO, resolved_on=today))
    paid = await d.act(
        DeAnPayAdvance(actor=KE_TOAN_BG, request_no=1, paid_on=today, voucher_number="A1"),
    )
    assert paid.advanced == 50_000_000


async def test_adjustments_go_to_the_decider_the_regulation_names(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    d = await contracted_provincial(ts_env.client, tq, today, requested_support=150_000_000)
    extend = DeAnAdjust(
        actor=SO,
        kind=AdjustmentKind.EXTEND_NEXT_YEAR,
        decision_number="77/QĐ-UBND",
        decision_date=today,
        description="Gia hạn do thiết bị nhập khẩu giao chậm",
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await d.act(extend)
    assert refusal_type(refused.value) == RefusalCode.WRONG_AUTHORITY
    await d.act(extend.model_copy(update={"actor": UBND}))
    site = DeAnAdjust(
        actor=SO,
        kind=AdjustmentKind.CHANGE_SITE,
        decision_number="78/QĐ-SCT",
        decision_date=today,
        description="Chuyển xưởng sang xã bên cạnh",
        new_commune="Xã Nham Sơn",
    )
    await d.act(site)
    state = await d.state()
    assert state.budget_year == today.year + 1
    assert [e.action for e in state.timeline][-2:] == ["adjust", "adjust"]
