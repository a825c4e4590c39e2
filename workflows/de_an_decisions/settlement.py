"""The end of a đề án: acceptance, the settlement dossier, the settlement (its figures
are :func:`domain.money.settlement_figures`), its payout and the refund."""

from __future__ import annotations

from datetime import datetime

from domain.errors import RefusalCode
from domain.money import BP_PER_WHOLE, format_bp, format_dong, pays_over, settlement_figures
from domain.stages import Action, Stage
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnPayment,
    DeAnPaySettlement,
    DeAnRecordRefund,
    DeAnSettle,
    DeAnSettlementRecord,
    DeAnState,
    DeAnSubmitSettlementDossier,
    PaymentKind,
)
from workflows.de_an_decisions.common import (
    BASIS_PAID,
    BASIS_SETTLEMENT,
    CURRENT_RULES,
    Outcome,
    RuleSwitches,
    begin,
    finish,
    fixed_pack,
    fork,
    item_rule,
    refuse,
    step_key,
)
from workflows.de_an_decisions.implementation import (
    advance_lapsed,
    check_payer,
    describe_lapses,
    open_advance_requests,
)
from workflows.de_an_rows import AcceptanceRow, SettlementRow


def decide_accept(state: DeAnState, cmd: DeAnAccept, now: datetime) -> Outcome:
    target = begin(state, Action.ACCEPT, cmd, cmd.accepted_on, "accepted_on", now)
    partial_allowed = state.stopped or cmd.force_majeure
    if cmd.accepted_volume_bp < BP_PER_WHOLE and not partial_allowed:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"khối lượng nghiệm thu {format_bp(cmd.accepted_volume_bp)} chưa hoàn thành; chỉ "
            "nghiệm thu một phần khi ngừng thực hiện hoặc bất khả kháng",
            "accepted_volume_bp",
            "Thông tư 36/2013/TT-BCT Điều 18 khoản 4",
        )
    after = fork(state)
    after.stage = target
    after.accepted_on = cmd.accepted_on
    after.accepted_cost = cmd.accepted_cost
    after.accepted_volume_bp = cmd.accepted_volume_bp
    after.accepted_by = cmd.actor.official_id
    after.force_majeure = state.force_majeure or cmd.force_majeure
    return finish(
        state,
        after,
        action=Action.ACCEPT,
        key=step_key(state, "accept", cmd.minutes_number),
        now=now,
        business_date=cmd.accepted_on,
        summary=(
            f"Nghiệm thu cơ sở (biên bản {cmd.minutes_number}): khối lượng "
            f"{format_bp(cmd.accepted_volume_bp)}, chi phí {format_dong(cmd.accepted_cost)}"
        ),
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.minutes_number,
        row=AcceptanceRow(
            minutes_number=cmd.minutes_number,
            accepted_on=cmd.accepted_on,
            accepted_cost=cmd.accepted_cost,
            accepted_volume_bp=cmd.accepted_volume_bp,
            force_majeure=cmd.force_majeure,
        ),
    )


def decide_submit_settlement_dossier(
    state: DeAnState, cmd: DeAnSubmitSettlementDossier, now: datetime
) -> Outcome:
    target = begin(
        state, Action.SUBMIT_SETTLEMENT_DOSSIER, cmd, cmd.submitted_on, "submitted_on", now
    )
    if state.settlement_dossier_on is not None:
        raise refuse(
            RefusalCode.DUPLICATE,
            f"hồ sơ quyết toán đã nộp ngày {state.settlement_dossier_on:%d/%m/%Y}",
            "submitted_on",
        )
    after = fork(state)
    after.stage = target
    after.settlement_dossier_on = cmd.submitted_on
    return finish(
        state,
        after,
        action=Action.SUBMIT_SETTLEMENT_DOSSIER,
        key=step_key(state, "settlement-dossier"),
        now=now,
        business_date=cmd.submitted_on,
        summary=f"Nộp hồ sơ quyết toán ngày {cmd.submitted_on:%d/%m/%Y}",
        actor=cmd.actor,
        command=cmd,
    )


def decide_settle(
    state: DeAnState, cmd: DeAnSettle, now: datetime, switches: RuleSwitches = CURRENT_RULES
) -> Outcome:
    target = begin(state, Action.SETTLE, cmd, cmd.settled_on, "settled_on", now)
    if open_advance_requests(state, switches):
        raise refuse(
            RefusalCode.INVALID_FIELD,
            "còn đề nghị tạm ứng chưa chi; xử lý trước khi quyết toán",
            None,
            BASIS_SETTLEMENT,
        )
    lapsed = [a for a in state.advances if advance_lapsed(state, a, switches)]
    rule = item_rule(fixed_pack(state), state.dossier)
    figures = settlement_figures(
        state.approved_support,
        state.accepted_cost,
        cmd.disallowed_cost,
        rule.rate_bp,
        rule.cap,
        state.advanced,
    )
    after = fork(state)
    for advance in after.advances:  # a đề án stopped before the rule: the lapse is noted here
        if advance_lapsed(state, advance, switches) and advance.lapsed_on is None:
            advance.lapsed_on = cmd.settled_on
            advance.lapse_reason = "đề án đã ngừng thực hiện (ghi nhận khi quyết toán)"
    nothing_left = figures.payout == 0 and figures.refund_owed == 0
    after.stage = Stage.CLOSED if nothing_left else target
    after.settlement = DeAnSettlementRecord(
        number=cmd.settlement_number,
        settled_on=cmd.settled_on,
        settled_by=cmd.actor.official_id,
        **figures.__dict__,
    )
    if figures.refund_owed:
        money = f"thu hồi {format_dong(figures.refund_owed)}"
    else:
        money = f"còn chi {format_dong(figures.payout)}"
    return finish(
        state,
        after,
        action=Action.SETTLE,
        key=step_key(state, "settle", cmd.settlement_number),
        now=now,
        business_date=cmd.settled_on,
        summary=(
            f"Quyết toán {cmd.settlement_number}: kinh phí hỗ trợ được quyết toán "
            f"{format_dong(figures.final_support)}, đã tạm ứng {format_dong(state.advanced)}, "
            f"{money}"
            + (
                f"; không chi đề nghị tạm ứng đã hết hiệu lực: {describe_lapses(lapsed)}"
                if lapsed
                else ""
            )
        ),
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.settlement_number,
        extra=dict(figures.__dict__),
        row=SettlementRow(
            number=cmd.settlement_number,
            settled_on=cmd.settled_on,
            disallowed_cost=cmd.disallowed_cost,
            **figures.__dict__,
        ),
    )


def decide_pay_settlement(state: DeAnState, cmd: DeAnPaySettlement, now: datetime) -> Outcome:
    target = begin(state, Action.PAY_SETTLEMENT, cmd, cmd.paid_on, "paid_on", now)
    assert state.settlement is not None
    if state.settlement.payout <= 0:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            "quyết toán không còn khoản nào phải chi; ghi nhận thu hồi nếu có",
            None,
        )
    check_payer(state, cmd.actor, [state.settlement.settled_by])
    payout = state.settlement.payout
    if pays_over(state.paid, payout, state.approved_support):
        raise refuse(
            RefusalCode.PAID_OVER_APPROVED,
            f"tổng chi {format_dong(state.paid + payout)} vượt kinh phí phê duyệt",
            None,
            BASIS_PAID,
        )
    after = fork(state)
    after.stage = target
    after.paid_settlement = payout
    return finish(
        state,
        after,
        action=Action.PAY_SETTLEMENT,
        key=step_key(state, "settlement-pay"),
        now=now,
        business_date=cmd.paid_on,
        summary=f"Chi trả quyết toán {format_dong(payout)} (chứng từ {cmd.voucher_number})",
        actor=cmd.actor,
        command=cmd,
        payment=DeAnPayment(
            key=step_key(state, "payment", "settlement"),
            kind=PaymentKind.SETTLEMENT,
            amount=payout,
            paid_on=cmd.paid_on,
            voucher_number=cmd.voucher_number,
        ),
    )


def decide_record_refund(state: DeAnState, cmd: DeAnRecordRefund, now: datetime) -> Outcome:
    target = begin(state, Action.RECORD_REFUND, cmd, cmd.refunded_on, "refunded_on", now)
    assert state.settlement is not None
    owed = state.settlement.refund_owed
    if owed <= 0 or cmd.amount != owed:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"số thu hồi phải đúng {format_dong(owed)} theo quyết toán",
            "amount",
            "Thông tư 36/2013/TT-BCT Điều 12 khoản 6",
        )
    after = fork(state)
    after.stage = target
    after.refunded = owed
    return finish(
        state,
        after,
        action=Action.RECORD_REFUND,
        key=step_key(state, "refund"),
        now=now,
        business_date=cmd.refunded_on,
        summary=f"Thu hồi nộp ngân sách {format_dong(owed)} (chứng từ {cmd.voucher_number})",
        actor=cmd.actor,
        command=cmd,
        payment=DeAnPayment(
            key=step_key(state, "payment", "refund"),
            kind=PaymentKind.REFUND,
            amount=owed,
            paid_on=cmd.refunded_on,
            voucher_number=cmd.voucher_number,
        ),
    )
