"""What each official action does to a đề án, as pure functions.

``decide(state, command, now)`` checks stage, authority, jurisdiction, four-eyes and the
rules, then returns an :class:`Outcome`: the new state (a copy; the input is never touched),
the :class:`~workflows.de_an_contract.DeAnStep` the activities persist, and a sentence for the
official. A broken rule raises :class:`~domain.errors.Refusal`.

The workflow calls the same function twice: in the update's validator (the outcome is thrown
away, so a refusal leaves no trace in history) and again in the handler under its lock, where
the state may have moved on while another handler awaited an activity.

No Temporal and no asyncpg here, so every rule is unit-tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.authority import (
    BASIS_APPROVAL_LOCAL,
    BASIS_APPROVAL_NATIONAL,
    BASIS_PROCESS,
    AdjustmentKind,
    check_adjust_authority,
    check_authority,
    check_four_eyes,
)
from domain.deadlines import (
    Deadline,
    DeadlineKind,
    parse_month,
    progress_report_deadline,
    report_months,
    settlement_deadline,
    settlement_dossier_deadline,
    vn_date,
)
from domain.errors import Refusal, RefusalCode
from domain.model import Actor, DeAnDossier, Level, Schedule
from domain.money import (
    BP_PER_WHOLE,
    apply_rate,
    format_bp,
    format_dong,
    settlement_figures,
)
from domain.rules import AdvanceKind, RulePack, SupportItemRule, pack_in_force, packs_for
from domain.stages import TRANSITIONS, Action, Stage, next_stage_after_appraisal
from workflows.de_an_contract import (
    AppraisalVerdict,
    DeAnAccept,
    DeAnActionResult,
    DeAnAdjust,
    DeAnAdvance,
    DeAnAppraisalRecord,
    DeAnAppraise,
    DeAnApprove,
    DeAnCommand,
    DeAnConfirmProgress,
    DeAnDecisionRecord,
    DeAnPayAdvance,
    DeAnPayment,
    DeAnPaySettlement,
    DeAnProgress,
    DeAnRecordRefund,
    DeAnRecordVisit,
    DeAnReject,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnResolveFindings,
    DeAnResubmit,
    DeAnSettle,
    DeAnSettlementRecord,
    DeAnSignContract,
    DeAnSnapshot,
    DeAnState,
    DeAnStep,
    DeAnStop,
    DeAnSubmitSettlementDossier,
    DeAnTimelineEntry,
    PaymentKind,
)
from workflows.plan_contract import PlanCommitmentChange, PlanDeAnFinished
from workflows.plan_rules import PLAN_CLOSED

BASIS_ADVANCE = "Thông tư 36/2013/TT-BCT Điều 13, 14"
BASIS_SETTLEMENT = "Thông tư 36/2013/TT-BCT Điều 18"
BASIS_PAID = "Thông tư 36/2013/TT-BCT Điều 12 khoản 6 (chi không vượt kinh phí được duyệt)"
BASIS_HOLD = "Thông tư 36/2013/TT-BCT Điều 21 khoản 6 (kiểm tra, giám sát thực hiện đề án)"
BASIS_STOPPED_MONEY = (
    "Thông tư 36/2013/TT-BCT Điều 11 khoản 3 và Điều 12 khoản 2, 6: tạm ứng theo tiến độ thực "
    "hiện; đề án ngừng thực hiện chỉ được thanh toán khối lượng nghiệm thu qua quyết toán"
)
BASIS_ADJUST_DETAILS = "Thông tư 36/2013/TT-BCT Điều 11 khoản 2 điểm b"


@dataclass(frozen=True)
class RuleSwitches:
    """Rule changes that a running đề án meets only through a workflow patch
    (docs/upgrading-workflows.md, ``workflows/de_an.py``).

    The validators and every step decided now use the defaults: the rules as they are. A
    handler replaying a step recorded before a change gets ``False`` from ``workflow.patched``
    and passes it here, so that step is decided exactly as it was then.
    """

    stop_lapses_advances: bool = True
    """``stop-lapses-advances-v1``: an advance request still unpaid when the đề án is stopped
    lapses with the stop (recorded in the stop's step); after a stop no advance is requested
    or paid, only what the settlement decides; a lapsed request does not block the settlement."""

    adjust_needs_details: bool = True
    """``adjust-details-v1``: a change of site names the new site, a change of timing the new
    dates; both become the đề án's current site and dates."""

    resolve_after_settlement: bool = True
    """``resolve-findings-settled-v1``: findings (and the hold on payments they placed) can be
    resolved once the đề án is settled, so a settlement payout held by them can be paid
    (:func:`decide_resolve_findings`). Before, ``resolve_findings`` was WrongStage there."""


CURRENT_RULES = RuleSwitches()

STOP_LAPSES_PATCH = "stop-lapses-advances-v1"
ADJUST_DETAILS_PATCH = "adjust-details-v1"
RESOLVE_SETTLED_PATCH = "resolve-findings-settled-v1"

TRANSITIONS_BEFORE_RESOLVE_SETTLED = {
    key: target
    for key, target in TRANSITIONS.items()
    if key != (Stage.SETTLED, Action.RESOLVE_FINDINGS)
}
"""The lifecycle before ``resolve-findings-settled-v1`` (a handler replaying a step recorded
then decides by it)."""


@dataclass(frozen=True)
class Outcome:
    state: DeAnState
    step: DeAnStep
    message: str

    def result(self) -> DeAnActionResult:
        return DeAnActionResult(
            de_an_id=self.state.de_an_id,
            action=self.step.action,
            stage=self.state.stage,
            stage_label=self.state.stage.label,
            message=self.message,
            approved_support=self.state.approved_support,
            advanced=self.state.advanced,
            paid=self.state.paid,
        )


# --- helpers ------------------------------------------------------------------------------


def refuse(code: str, message: str, field: str | None = None, basis: str | None = None) -> Refusal:
    return Refusal(code, message, field, basis)


def check_stage(
    state: DeAnState,
    action: Action,
    transitions: dict[tuple[Stage, Action], Stage] = TRANSITIONS,
) -> Stage:
    """The stage this action leads to, or a WrongStage refusal listing what is possible."""
    target = transitions.get((state.stage, action))
    if target is None:
        possible = [a.label for (s, a) in transitions if s is state.stage]
        hint = f"; có thể: {', '.join(possible)}" if possible else "; đề án đã kết thúc"
        raise refuse(
            RefusalCode.WRONG_STAGE,
            f"đề án đang ở giai đoạn «{state.stage.label}», không thể «{action.label}»{hint}",
            "stage",
            BASIS_PROCESS,
        )
    return target


def check_business_date(state: DeAnState, value: date, field: str, now: datetime) -> None:
    """Dates of paper documents: not in the future, not before the đề án was registered."""
    if value > vn_date(now):
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"ngày {value:%d/%m/%Y} ở tương lai",
            field,
        )
    if value < state.registered_on:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"ngày {value:%d/%m/%Y} trước ngày đăng ký đề án ({state.registered_on:%d/%m/%Y})",
            field,
        )


def begin(
    state: DeAnState,
    action: Action,
    cmd: DeAnCommand,
    on: date,
    field: str,
    now: datetime,
    transitions: dict[tuple[Stage, Action], Stage] = TRANSITIONS,
) -> Stage:
    """The checks every official action starts with: stage, role and jurisdiction, and the
    date of its paper. Returns the stage the action leads to."""
    target = check_stage(state, action, transitions)
    check_authority(cmd.actor, action, state.dossier, state.stage)
    check_business_date(state, on, field, now)
    return target


def check_not_duplicate(state: DeAnState, key: str, what: str) -> None:
    if key in state.step_keys:
        raise refuse(RefusalCode.DUPLICATE, f"{what} đã được ghi nhận trước đó", None)


def pack_for_approval(state: DeAnState, on: date) -> RulePack:
    dossier = state.dossier
    pack = pack_in_force(packs_for(state.rule_packs, dossier.level, dossier.province), on)
    if pack is None:
        raise refuse(
            RefusalCode.NO_RULE_PACK,
            f"không có bộ quy tắc ({dossier.level.label}, tỉnh {dossier.province}) có hiệu lực "
            f"ngày {on:%d/%m/%Y}",
            "decision_date",
        )
    return pack


def fixed_pack(state: DeAnState) -> RulePack:
    """The pack fixed at approval: a đề án is judged by the rules in force when approved."""
    for pack in state.rule_packs:
        if pack.id == state.rule_pack_id:
            return pack
    raise refuse(RefusalCode.NO_RULE_PACK, f"không tìm thấy bộ quy tắc {state.rule_pack_id}")


def item_rule(pack: RulePack, dossier: DeAnDossier) -> SupportItemRule:
    rule = pack.item(dossier.support_item)
    if rule is None:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"hạng mục hỗ trợ «{dossier.support_item}» không có trong {pack.title}",
            "dossier.support_item",
            pack.citation,
        )
    return rule


def check_cap(amount: int, dossier: DeAnDossier, pack: RulePack, field: str) -> SupportItemRule:
    rule = item_rule(pack, dossier)
    ceiling = rule.max_support(dossier.eligible_cost)
    if amount > ceiling:
        cap = f", tối đa {format_dong(rule.cap)}" if rule.cap is not None else ""
        raise refuse(
            RefusalCode.SUPPORT_OVER_CAP,
            f"{format_dong(amount)} vượt mức hỗ trợ tối đa {format_dong(ceiling)} cho "
            f"«{rule.label}» ({format_bp(rule.rate_bp)} chi phí hợp lệ "
            f"{format_dong(dossier.eligible_cost)}{cap})",
            field,
            rule.citation,
        )
    return rule


def check_counterpart(dossier: DeAnDossier, support: int, field: str) -> None:
    needed = dossier.total_cost - support
    if dossier.counterpart_funds < needed:
        raise refuse(
            RefusalCode.COUNTERPART_TOO_LOW,
            f"với kinh phí hỗ trợ {format_dong(support)}, đơn vị thụ hưởng phải đối ứng "
            f"{format_dong(needed)} nhưng chỉ cam kết {format_dong(dossier.counterpart_funds)}",
            field,
            "TTLT 26/2014/TTLT-BTC-BCT Điều 7 (đơn vị thụ hưởng đối ứng phần còn lại)",
        )


def snapshot(state: DeAnState) -> DeAnSnapshot:
    d = state.dossier
    site = state.current_site
    schedule = state.current_schedule
    refund_owed = state.settlement.refund_owed if state.settlement else 0
    return DeAnSnapshot(
        de_an_id=state.de_an_id,
        workflow_id=d.workflow_id,
        seq=state.seq,
        code=d.code,
        title=d.title,
        level=d.level.value,
        province=d.province,
        district=site.district,
        commune=site.commune,
        address=site.address,
        schedule_start=schedule.start,
        schedule_end=schedule.end,
        content_area=d.content_area.value,
        support_item=d.support_item,
        beneficiary_name=d.beneficiary.name,
        beneficiary_type=d.beneficiary.type.value,
        plan_year=d.plan_year,
        stage=state.stage,
        requested_support=d.requested_support,
        approved_support=state.approved_support,
        contracted_support=state.contracted_support,
        advanced=state.advanced,
        paid=state.paid,
        refund_owed=max(0, refund_owed - state.refunded),
        refunded=state.refunded,
        payments_on_hold=state.payments_on_hold,
        overdue=state.overdue,
        rule_pack_id=state.rule_pack_id,
    )


def finish(
    before: DeAnState,
    after: DeAnState,
    *,
    action: Action,
    key: str,
    now: datetime,
    business_date: date,
    summary: str,
    actor: Actor | None,
    command: DeAnCommand | None = None,
    decision_number: str | None = None,
    extra: dict[str, Any] | None = None,
    payment: DeAnPayment | None = None,
    deadline: Deadline | None = None,
) -> Outcome:
    """Stamp the new state (sequence, key, timeline) and build the step to persist."""
    after.seq = before.seq + 1
    after.step_keys.append(key)
    after.timeline.append(
        DeAnTimelineEntry(
            at=now,
            action=action,
            stage=after.stage,
            actor=actor.describe() if actor else None,
            summary=summary,
        )
    )
    details: dict[str, Any] = (
        command.model_dump(mode="json", exclude={"actor"}) if command is not None else {}
    )
    details.update(extra or {})
    step = DeAnStep(
        key=key,
        de_an_id=after.de_an_id,
        action=action,
        stage_from=before.stage,
        stage_to=after.stage,
        actor=actor,
        occurred_at=now,
        business_date=business_date,
        decision_number=decision_number,
        summary=summary,
        details=details,
        snapshot=snapshot(after),
        payment=payment,
        deadline=deadline,
    )
    return Outcome(after, step, summary)


def _key(state: DeAnState, *parts: object) -> str:
    return ":".join([state.de_an_id, *(str(p) for p in parts)])


# --- registration -------------------------------------------------------------------------


def initial_state(
    dossier: DeAnDossier,
    registered_by: Actor,
    registered_on: date,
    packs: list[RulePack],
    entered_at: datetime | None = None,
    flag_past_deadlines: bool = True,
) -> DeAnState:
    return DeAnState(
        de_an_id=dossier.code,
        dossier=dossier,
        registered_by=registered_by,
        registered_on=registered_on,
        entered_at=entered_at,
        flag_past_deadlines=flag_past_deadlines,
        rule_packs=packs,
        budget_year=dossier.plan_year,
    )


def check_registration(dossier: DeAnDossier, actor: Actor) -> None:
    """Who may register. The cap binds at approval, under the pack in force that day: a
    request above it is trimmed by appraisal and approval, not refused at the door."""
    check_authority(actor, Action.REGISTER, dossier, Stage.REGISTERED)


def decide_register(state: DeAnState, now: datetime) -> Outcome:
    dossier = state.dossier
    check_active(state, state.registered_by)
    check_registration(dossier, state.registered_by)
    after = state.model_copy(deep=True)
    summary = (
        f"Đăng ký đề án {dossier.code} «{dossier.title}» ({dossier.level.label.lower()}, "
        f"đề nghị hỗ trợ {format_dong(dossier.requested_support)})"
    )
    return finish(
        state,
        after,
        action=Action.REGISTER,
        key=_key(state, "register"),
        now=now,
        business_date=state.registered_on,
        summary=summary,
        actor=state.registered_by,
        extra={"dossier": dossier.model_dump(mode="json")},
    )


# --- appraisal and approval -----------------------------------------------------------------


def decide_resubmit(state: DeAnState, cmd: DeAnResubmit, now: datetime) -> Outcome:
    target = check_stage(state, Action.RESUBMIT)
    check_authority(cmd.actor, Action.RESUBMIT, state.dossier, state.stage)
    old, new = state.dossier, cmd.dossier
    for field in ("code", "level", "province", "plan_year"):
        if getattr(old, field) != getattr(new, field):
            raise refuse(
                RefusalCode.INVALID_FIELD,
                f"hồ sơ bổ sung không được đổi {field} ({getattr(old, field)} → "
                f"{getattr(new, field)}); đăng ký đề án mới nếu cần",
                f"dossier.{field}",
            )
    after = state.model_copy(deep=True)
    after.dossier = new
    after.stage = target
    return finish(
        state,
        after,
        action=Action.RESUBMIT,
        key=_key(state, "resubmit", state.returns),
        now=now,
        business_date=vn_date(now),
        summary=f"Nộp lại hồ sơ đã bổ sung (lần {state.returns})",
        actor=cmd.actor,
        command=cmd,
    )


def appraisal_round(state: DeAnState) -> str:
    if state.dossier.level is Level.DIA_PHUONG:
        return "tinh"
    return "bo" if state.stage is Stage.BASE_APPRAISED else "co_so"


ROUND_LABELS = {
    "co_so": "Sở Công Thương thẩm định cấp cơ sở",
    "bo": "Cục thẩm định cấp Bộ",
    "tinh": "Sở Công Thương thẩm định",
}


def decide_appraise(state: DeAnState, cmd: DeAnAppraise, now: datetime) -> Outcome:
    check_stage(state, Action.APPRAISE)
    check_authority(cmd.actor, Action.APPRAISE, state.dossier, state.stage)
    check_four_eyes(cmd.actor, [state.registered_by.official_id], "đăng ký", "nguyên tắc bốn mắt")
    check_business_date(state, cmd.appraised_on, "appraised_on", now)
    if cmd.verdict is not AppraisalVerdict.PASS and not cmd.reason.strip():
        raise refuse(
            RefusalCode.INVALID_FIELD,
            "thẩm định không đạt hoặc trả lại phải ghi lý do",
            "reason",
            "Thông tư 36/2013/TT-BCT Điều 9",
        )
    round_ = appraisal_round(state)
    key = _key(state, "appraise", round_, cmd.minutes_number)
    check_not_duplicate(state, key, f"biên bản thẩm định {cmd.minutes_number}")
    after = state.model_copy(deep=True)
    after.stage = next_stage_after_appraisal(state.stage, state.dossier.level, cmd.verdict.value)
    after.appraisals.append(
        DeAnAppraisalRecord(
            round=round_,
            verdict=cmd.verdict,
            official_id=cmd.actor.official_id,
            appraised_on=cmd.appraised_on,
            minutes_number=cmd.minutes_number,
        )
    )
    if cmd.verdict is AppraisalVerdict.RETURN:
        after.returns += 1
    council = " (qua hội đồng)" if cmd.by_council else ""
    return finish(
        state,
        after,
        action=Action.APPRAISE,
        key=key,
        now=now,
        business_date=cmd.appraised_on,
        summary=f"{ROUND_LABELS[round_]}{council}: {cmd.verdict.label}",
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.minutes_number,
        extra={"round": round_},
    )


def _approval_basis(state: DeAnState) -> str:
    national = state.dossier.level is Level.QUOC_GIA
    return BASIS_APPROVAL_NATIONAL if national else BASIS_APPROVAL_LOCAL


def _check_decision_date(state: DeAnState, value: date, now: datetime) -> None:
    check_business_date(state, value, "decision_date", now)
    last = max((a.appraised_on for a in state.appraisals), default=state.registered_on)
    if value < last:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"ngày quyết định {value:%d/%m/%Y} trước ngày thẩm định {last:%d/%m/%Y}",
            "decision_date",
        )


def decide_approve(state: DeAnState, cmd: DeAnApprove, now: datetime) -> Outcome:
    target = check_stage(state, Action.APPROVE)
    dossier = state.dossier
    check_authority(cmd.actor, Action.APPROVE, dossier, state.stage)
    check_four_eyes(
        cmd.actor,
        [state.registered_by.official_id, *(a.official_id for a in state.appraisals)],
        "đăng ký hoặc thẩm định",
        _approval_basis(state),
    )
    _check_decision_date(state, cmd.decision_date, now)
    if cmd.approved_support <= 0:
        raise refuse(
            RefusalCode.INVALID_FIELD, "kinh phí phê duyệt phải lớn hơn 0", "approved_support"
        )
    if cmd.approved_support > dossier.requested_support:
        raise refuse(
            RefusalCode.SUPPORT_OVER_REQUEST,
            f"kinh phí phê duyệt {format_dong(cmd.approved_support)} vượt kinh phí đề nghị "
            f"{format_dong(dossier.requested_support)}",
            "approved_support",
            _approval_basis(state),
        )
    pack = pack_for_approval(state, cmd.decision_date)
    check_cap(cmd.approved_support, dossier, pack, "approved_support")
    check_counterpart(dossier, cmd.approved_support, "approved_support")
    key = _key(state, "approve", cmd.decision_number)
    after = state.model_copy(deep=True)
    after.stage = target
    after.rule_pack_id = pack.id
    after.approved_support = cmd.approved_support
    after.plan_id = cmd.plan_id
    after.approval = DeAnDecisionRecord(
        number=cmd.decision_number,
        date=cmd.decision_date,
        signer=cmd.signer,
        official_id=cmd.actor.official_id,
    )
    return finish(
        state,
        after,
        action=Action.APPROVE,
        key=key,
        now=now,
        business_date=cmd.decision_date,
        summary=(
            f"Phê duyệt theo Quyết định {cmd.decision_number} ngày {cmd.decision_date:%d/%m/%Y}: "
            f"hỗ trợ {format_dong(cmd.approved_support)} (áp dụng {pack.title})"
        ),
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.decision_number,
        extra={"rule_pack_id": pack.id},
    )


def decide_reject(state: DeAnState, cmd: DeAnReject, now: datetime) -> Outcome:
    target = check_stage(state, Action.REJECT)
    check_authority(cmd.actor, Action.REJECT, state.dossier, state.stage)
    _check_decision_date(state, cmd.decision_date, now)
    after = state.model_copy(deep=True)
    after.stage = target
    return finish(
        state,
        after,
        action=Action.REJECT,
        key=_key(state, "reject", cmd.decision_number),
        now=now,
        business_date=cmd.decision_date,
        summary=f"Không phê duyệt (Quyết định {cmd.decision_number}): {cmd.reason}",
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.decision_number,
    )


# --- implementation -------------------------------------------------------------------------


def decide_sign_contract(state: DeAnState, cmd: DeAnSignContract, now: datetime) -> Outcome:
    target = begin(state, Action.SIGN_CONTRACT, cmd, cmd.signed_on, "signed_on", now)
    assert state.approval is not None
    if cmd.signed_on < state.approval.date:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"hợp đồng ký ngày {cmd.signed_on:%d/%m/%Y} trước ngày phê duyệt",
            "signed_on",
        )
    if not 0 < cmd.contracted_support <= state.approved_support:
        raise refuse(
            RefusalCode.SUPPORT_OVER_REQUEST,
            f"kinh phí hợp đồng {format_dong(cmd.contracted_support)} phải lớn hơn 0 và không "
            f"vượt kinh phí phê duyệt {format_dong(state.approved_support)}",
            "contracted_support",
            BASIS_PAID,
        )
    after = state.model_copy(deep=True)
    after.stage = target
    after.contract_number = cmd.contract_number
    after.contract_signed_on = cmd.signed_on
    after.contracted_support = cmd.contracted_support
    return finish(
        state,
        after,
        action=Action.SIGN_CONTRACT,
        key=_key(state, "contract", cmd.contract_number),
        now=now,
        business_date=cmd.signed_on,
        summary=(
            f"Ký hợp đồng {cmd.contract_number} ngày {cmd.signed_on:%d/%m/%Y}, kinh phí "
            f"{format_dong(cmd.contracted_support)}"
        ),
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.contract_number,
    )


def decide_report_progress(state: DeAnState, cmd: DeAnReportProgress, now: datetime) -> Outcome:
    target = begin(state, Action.REPORT_PROGRESS, cmd, cmd.reported_on, "reported_on", now)
    assert state.contract_signed_on is not None
    if parse_month(cmd.month) < state.contract_signed_on.replace(day=1):
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"tháng {cmd.month} trước tháng ký hợp đồng",
            "month",
        )
    if parse_month(cmd.month) > cmd.reported_on.replace(day=1):
        raise refuse(RefusalCode.INVALID_FIELD, f"chưa đến tháng {cmd.month}", "month")
    key = _key(state, "progress", cmd.month)
    check_not_duplicate(state, key, f"báo cáo tiến độ tháng {cmd.month}")
    previous = max((p.investment_done_bp for p in state.progress), default=0)
    if cmd.investment_done_bp < previous:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"tiến độ {format_bp(cmd.investment_done_bp)} thấp hơn báo cáo trước "
            f"({format_bp(previous)})",
            "investment_done_bp",
        )
    after = state.model_copy(deep=True)
    after.stage = target
    after.progress.append(
        DeAnProgress(
            month=cmd.month,
            investment_done_bp=cmd.investment_done_bp,
            spent_cost=cmd.spent_cost,
            reported_on=cmd.reported_on,
        )
    )
    return finish(
        state,
        after,
        action=Action.REPORT_PROGRESS,
        key=key,
        now=now,
        business_date=cmd.reported_on,
        summary=(
            f"Báo cáo tiến độ tháng {cmd.month}: đã thực hiện {format_bp(cmd.investment_done_bp)}"
            f", đã chi {format_dong(cmd.spent_cost)}"
        ),
        actor=cmd.actor,
        command=cmd,
    )


def decide_confirm_progress(state: DeAnState, cmd: DeAnConfirmProgress, now: datetime) -> Outcome:
    target = begin(state, Action.CONFIRM_PROGRESS, cmd, cmd.confirmed_on, "confirmed_on", now)
    after = state.model_copy(deep=True)
    report = next((p for p in after.progress if p.month == cmd.month), None)
    if report is None:
        raise refuse(
            RefusalCode.INVALID_FIELD, f"chưa có báo cáo tiến độ tháng {cmd.month}", "month"
        )
    if report.confirmed_by is not None:
        raise refuse(RefusalCode.DUPLICATE, f"báo cáo tháng {cmd.month} đã được xác nhận", "month")
    report.confirmed_by = cmd.actor.official_id
    after.stage = target
    return finish(
        state,
        after,
        action=Action.CONFIRM_PROGRESS,
        key=_key(state, "progress-confirm", cmd.month),
        now=now,
        business_date=cmd.confirmed_on,
        summary=(
            f"Sở Công Thương xác nhận báo cáo tiến độ tháng {cmd.month} "
            f"({format_bp(report.investment_done_bp)})"
        ),
        actor=cmd.actor,
        command=cmd,
    )


def decide_record_visit(state: DeAnState, cmd: DeAnRecordVisit, now: datetime) -> Outcome:
    target = begin(state, Action.RECORD_VISIT, cmd, cmd.visited_on, "visited_on", now)
    findings = [f.strip() for f in cmd.findings if f.strip()]
    if cmd.hold_payments and not findings:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            "tạm dừng chi trả phải ghi rõ kiến nghị, tồn tại phát hiện khi kiểm tra",
            "findings",
            BASIS_HOLD,
        )
    key = _key(state, "visit", cmd.minutes_number)
    check_not_duplicate(state, key, f"biên bản kiểm tra {cmd.minutes_number}")
    after = state.model_copy(deep=True)
    after.stage = target
    after.open_findings.extend(findings)
    after.payments_on_hold = state.payments_on_hold or cmd.hold_payments
    hold = "; tạm dừng chi trả đến khi khắc phục" if cmd.hold_payments else ""
    found = f"{len(findings)} kiến nghị" if findings else "không có kiến nghị"
    return finish(
        state,
        after,
        action=Action.RECORD_VISIT,
        key=key,
        now=now,
        business_date=cmd.visited_on,
        summary=f"Kiểm tra, giám sát ngày {cmd.visited_on:%d/%m/%Y}: {found}{hold}",
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.minutes_number,
    )


def decide_resolve_findings(
    state: DeAnState,
    cmd: DeAnResolveFindings,
    now: datetime,
    switches: RuleSwitches = CURRENT_RULES,
) -> Outcome:
    """The Sở (or, for a national đề án, the Cục) records that what a monitoring visit found
    was put right, which lifts the hold on payments.

    Possible in every open stage a visit can leave findings in, and also once SETTLED
    (``resolve-findings-settled-v1``): a hold stops *paying* (:func:`_check_payer`), not the
    settlement, which is due by 22/01 of the next year whatever the findings (TT 36/2013/TT-BCT
    Điều 18 khoản 2, 3; settling is also how disallowed costs are cut and refunds claimed,
    Điều 12 khoản 6); the unit stays subject to inspection of the money it settles (Điều 12
    khoản 5) and the Sở resolves what monitoring found (Điều 21 khoản 6). Refusing the
    settlement instead would put the legal deadline and the recovery of refunds at the mercy
    of a finding. Without this, a đề án settled on hold could never be paid nor closed."""
    transitions = (
        TRANSITIONS if switches.resolve_after_settlement else TRANSITIONS_BEFORE_RESOLVE_SETTLED
    )
    target = begin(
        state, Action.RESOLVE_FINDINGS, cmd, cmd.resolved_on, "resolved_on", now, transitions
    )
    if not state.open_findings and not state.payments_on_hold:
        raise refuse(RefusalCode.INVALID_FIELD, "không có kiến nghị nào đang mở", None)
    after = state.model_copy(deep=True)
    after.stage = target
    after.open_findings = []
    after.payments_on_hold = False
    after.resolutions += 1
    return finish(
        state,
        after,
        action=Action.RESOLVE_FINDINGS,
        key=_key(state, "resolve", after.resolutions),
        now=now,
        business_date=cmd.resolved_on,
        summary=f"Đã khắc phục {len(state.open_findings)} kiến nghị; tiếp tục chi trả",
        actor=cmd.actor,
        command=cmd,
    )


# --- money ----------------------------------------------------------------------------------


def advance_limit(state: DeAnState) -> tuple[int, str]:
    """Most that may be advanced in total at this point, and the rule that says so."""
    pack = fixed_pack(state)
    rule = item_rule(pack, state.dossier).advance
    ceiling = rule.max_bp
    if rule.kind is not AdvanceKind.AFTER_ACCEPTANCE:
        ceiling = min(ceiling, pack.advance_ceiling_bp)
    return apply_rate(state.contracted_support, ceiling), rule.citation


def check_advance_allowed(state: DeAnState) -> None:
    """The condition of the first advance for this kind of đề án (TT 36/2013 Điều 13)."""
    pack = fixed_pack(state)
    rule = item_rule(pack, state.dossier).advance
    if rule.kind is AdvanceKind.AFTER_ACCEPTANCE and state.stage is not Stage.ACCEPTED:
        raise refuse(
            RefusalCode.ADVANCE_NOT_ALLOWED,
            "loại đề án này chỉ được tạm ứng sau khi nghiệm thu cơ sở",
            "amount",
            rule.citation,
        )
    if rule.kind is not AdvanceKind.AFTER_ACCEPTANCE and state.stage is Stage.ACCEPTED:
        raise refuse(
            RefusalCode.ADVANCE_NOT_ALLOWED,
            "sau nghiệm thu cơ sở, kinh phí còn lại được thanh toán qua quyết toán",
            "amount",
            "Thông tư 36/2013/TT-BCT Điều 14",
        )
    if rule.kind is AdvanceKind.AFTER_PROGRESS:
        confirmed = max((p.investment_done_bp for p in state.progress if p.confirmed_by), default=0)
        if confirmed <= rule.progress_bp:
            raise refuse(
                RefusalCode.ADVANCE_NOT_ALLOWED,
                f"chỉ được tạm ứng khi báo cáo tiến độ được Sở Công Thương xác nhận đã thực hiện "
                f"trên {format_bp(rule.progress_bp)} (hiện được xác nhận "
                f"{format_bp(confirmed)})",
                "amount",
                rule.citation,
            )


def advance_lapsed(state: DeAnState, advance: DeAnAdvance, switches: RuleSwitches) -> bool:
    """An unpaid request lapses with the stop: marked by the stop's step, or (a đề án stopped
    before the rule) judged so from the stop itself."""
    if advance.paid_on is not None:
        return False
    if advance.lapsed_on is not None:
        return True
    return switches.stop_lapses_advances and state.stopped


def open_advance_requests(state: DeAnState, switches: RuleSwitches) -> list[DeAnAdvance]:
    """Requests still waiting to be paid (not paid, not lapsed)."""
    return [
        a for a in state.advances if a.paid_on is None and not advance_lapsed(state, a, switches)
    ]


def _lapses(advances: list[DeAnAdvance]) -> str:
    return ", ".join(f"lần {a.no} ({format_dong(a.amount)})" for a in advances)


def decide_request_advance(
    state: DeAnState,
    cmd: DeAnRequestAdvance,
    now: datetime,
    switches: RuleSwitches = CURRENT_RULES,
) -> Outcome:
    target = begin(state, Action.REQUEST_ADVANCE, cmd, cmd.requested_on, "requested_on", now)
    if cmd.amount <= 0:
        raise refuse(RefusalCode.INVALID_FIELD, "số tiền tạm ứng phải lớn hơn 0", "amount")
    if switches.stop_lapses_advances and state.stopped:
        raise refuse(
            RefusalCode.ADVANCE_NOT_ALLOWED,
            "đề án đã ngừng thực hiện: không tạm ứng thêm; khối lượng đã nghiệm thu được thanh "
            "toán qua quyết toán",
            "amount",
            BASIS_STOPPED_MONEY,
        )
    if open_advance_requests(state, switches):
        raise refuse(
            RefusalCode.DUPLICATE,
            "đề nghị tạm ứng trước chưa được chi; chi hoặc chờ xử lý trước khi đề nghị tiếp",
            "amount",
        )
    check_advance_allowed(state)
    limit, citation = advance_limit(state)
    already = sum(a.amount for a in state.advances)
    if already + cmd.amount > limit:
        raise refuse(
            RefusalCode.ADVANCE_OVER_LIMIT,
            f"tổng tạm ứng {format_dong(already + cmd.amount)} vượt mức được tạm ứng "
            f"{format_dong(limit)} (đã tạm ứng {format_dong(already)}, còn được "
            f"{format_dong(max(0, limit - already))})",
            "amount",
            citation,
        )
    if state.paid + cmd.amount > state.approved_support:
        raise refuse(
            RefusalCode.PAID_OVER_APPROVED,
            f"tổng chi {format_dong(state.paid + cmd.amount)} vượt kinh phí phê duyệt "
            f"{format_dong(state.approved_support)}",
            "amount",
            BASIS_PAID,
        )
    no = len(state.advances) + 1
    after = state.model_copy(deep=True)
    after.stage = target
    after.advances.append(
        DeAnAdvance(
            no=no,
            amount=cmd.amount,
            requested_on=cmd.requested_on,
            requested_by=cmd.actor.official_id,
        )
    )
    return finish(
        state,
        after,
        action=Action.REQUEST_ADVANCE,
        key=_key(state, "advance-request", no),
        now=now,
        business_date=cmd.requested_on,
        summary=f"Đề nghị tạm ứng lần {no}: {format_dong(cmd.amount)}",
        actor=cmd.actor,
        command=cmd,
        extra={"request_no": no},
    )


def _check_payer(state: DeAnState, actor: Actor, others: list[str]) -> None:
    approver = [state.approval.official_id] if state.approval else []
    check_four_eyes(actor, [*approver, *others], "phê duyệt, đề nghị hoặc quyết toán", BASIS_PAID)
    if state.payments_on_hold:
        raise refuse(
            RefusalCode.PAYMENTS_ON_HOLD,
            "chi trả đang tạm dừng theo kiến nghị kiểm tra: "
            + "; ".join(state.open_findings or ["chưa khắc phục"]),
            None,
            BASIS_HOLD,
        )


def decide_pay_advance(
    state: DeAnState,
    cmd: DeAnPayAdvance,
    now: datetime,
    switches: RuleSwitches = CURRENT_RULES,
) -> Outcome:
    target = begin(state, Action.PAY_ADVANCE, cmd, cmd.paid_on, "paid_on", now)
    request = next((a for a in state.advances if a.no == cmd.request_no), None)
    if request is None:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"không có đề nghị tạm ứng lần {cmd.request_no}",
            "request_no",
        )
    if request.paid_on is not None:
        raise refuse(
            RefusalCode.DUPLICATE,
            f"đề nghị tạm ứng lần {cmd.request_no} đã được chi ngày {request.paid_on:%d/%m/%Y}",
            "request_no",
        )
    if advance_lapsed(state, request, switches):
        when = f" ngày {request.lapsed_on:%d/%m/%Y}" if request.lapsed_on else ""
        raise refuse(
            RefusalCode.ADVANCE_LAPSED,
            f"đề nghị tạm ứng lần {cmd.request_no} ({format_dong(request.amount)}) đã hết hiệu "
            f"lực{when} khi đề án ngừng thực hiện"
            + (f" ({request.lapse_reason})" if request.lapse_reason else "")
            + "; sau khi ngừng, chỉ chi khoản do quyết toán xác định",
            "request_no",
            BASIS_STOPPED_MONEY,
        )
    _check_payer(state, cmd.actor, [request.requested_by])
    if state.paid + request.amount > state.approved_support:
        raise refuse(
            RefusalCode.PAID_OVER_APPROVED,
            f"tổng chi {format_dong(state.paid + request.amount)} vượt kinh phí phê duyệt "
            f"{format_dong(state.approved_support)}",
            "request_no",
            BASIS_PAID,
        )
    after = state.model_copy(deep=True)
    after.stage = target
    paid = next(a for a in after.advances if a.no == cmd.request_no)
    paid.paid_on, paid.paid_by, paid.voucher_number = (
        cmd.paid_on,
        cmd.actor.official_id,
        cmd.voucher_number,
    )
    return finish(
        state,
        after,
        action=Action.PAY_ADVANCE,
        key=_key(state, "advance-pay", cmd.request_no),
        now=now,
        business_date=cmd.paid_on,
        summary=(
            f"Chi tạm ứng lần {cmd.request_no}: {format_dong(request.amount)} "
            f"(chứng từ {cmd.voucher_number})"
        ),
        actor=cmd.actor,
        command=cmd,
        payment=DeAnPayment(
            key=_key(state, "payment", "advance", cmd.request_no),
            kind=PaymentKind.ADVANCE,
            amount=request.amount,
            paid_on=cmd.paid_on,
            voucher_number=cmd.voucher_number,
        ),
    )


# --- adjustments and stop -------------------------------------------------------------------


SITE_OR_TIMING = frozenset({AdjustmentKind.CHANGE_SITE, AdjustmentKind.CHANGE_TIMING})

_SITE_LABELS = {"address": "địa chỉ", "commune": "xã/phường", "district": "huyện"}


def check_adjust_details(state: DeAnState, cmd: DeAnAdjust) -> None:
    """A change of site names the new site; a change of timing names the new dates, inside
    the budget year (TT 36/2013 Điều 11 khoản 2 điểm b: «thời gian (trong năm tài chính)»).
    The fields of one kind are refused on another: an adjustment records what its decision
    changes, nothing silently ignored."""
    timing = cmd.new_start is not None or cmd.new_end is not None
    site = bool(cmd.site_fields)
    if cmd.kind is AdjustmentKind.CHANGE_SITE and not site:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            "thay đổi địa điểm phải ghi địa điểm mới (địa chỉ, xã/phường hoặc huyện)",
            "new_address",
            BASIS_ADJUST_DETAILS,
        )
    if cmd.kind is AdjustmentKind.CHANGE_TIMING and not timing:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            "thay đổi thời gian phải ghi ngày bắt đầu và/hoặc kết thúc mới",
            "new_start",
            BASIS_ADJUST_DETAILS,
        )
    if site and cmd.kind is not AdjustmentKind.CHANGE_SITE:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"địa điểm mới chỉ ghi khi thay đổi địa điểm (change_site), không phải «{cmd.kind.label}»",
            "kind",
        )
    if timing and cmd.kind is not AdjustmentKind.CHANGE_TIMING:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"ngày mới chỉ ghi khi thay đổi thời gian (change_timing), không phải «{cmd.kind.label}»",
            "kind",
        )
    if timing:
        current = state.current_schedule
        start = cmd.new_start or current.start
        end = cmd.new_end or current.end
        if start > end:
            raise refuse(
                RefusalCode.INVALID_FIELD,
                f"ngày bắt đầu {start:%d/%m/%Y} sau ngày kết thúc {end:%d/%m/%Y}",
                "new_start" if cmd.new_start else "new_end",
            )
        year = state.budget_year
        for field, day in (("new_start", cmd.new_start), ("new_end", cmd.new_end)):
            if day is not None and day.year != year:
                raise refuse(
                    RefusalCode.INVALID_FIELD,
                    f"ngày {day:%d/%m/%Y} ngoài năm kế hoạch {year}; sang năm sau là gia hạn "
                    "(extend_next_year, Bộ trưởng / Chủ tịch UBND tỉnh quyết định)",
                    field,
                    BASIS_ADJUST_DETAILS,
                )


def decide_adjust(
    state: DeAnState, cmd: DeAnAdjust, now: datetime, switches: RuleSwitches = CURRENT_RULES
) -> Outcome:
    target = check_stage(state, Action.ADJUST)
    dossier = state.dossier
    check_adjust_authority(cmd.actor, cmd.kind, dossier)
    check_business_date(state, cmd.decision_date, "decision_date", now)
    key = _key(state, "adjust", cmd.decision_number)
    check_not_duplicate(state, key, f"quyết định điều chỉnh {cmd.decision_number}")
    after = state.model_copy(deep=True)
    after.stage = target
    change = cmd.kind.label
    if cmd.kind in (AdjustmentKind.INCREASE_SUPPORT, AdjustmentKind.DECREASE_SUPPORT):
        new = cmd.new_support
        if new is None:
            raise refuse(RefusalCode.INVALID_FIELD, "phải ghi mức hỗ trợ mới", "new_support")
        increase = cmd.kind is AdjustmentKind.INCREASE_SUPPORT
        if increase and new <= state.approved_support:
            raise refuse(
                RefusalCode.INVALID_FIELD,
                f"mức mới {format_dong(new)} không cao hơn mức hiện tại "
                f"{format_dong(state.approved_support)}",
                "new_support",
            )
        if not increase and new >= state.approved_support:
            raise refuse(
                RefusalCode.INVALID_FIELD,
                f"mức mới {format_dong(new)} không thấp hơn mức hiện tại "
                f"{format_dong(state.approved_support)}",
                "new_support",
            )
        if new < state.paid:
            raise refuse(
                RefusalCode.PAID_OVER_APPROVED,
                f"không thể giảm kinh phí xuống {format_dong(new)}, dưới số đã chi "
                f"{format_dong(state.paid)}",
                "new_support",
                BASIS_PAID,
            )
        check_cap(new, dossier, fixed_pack(state), "new_support")
        check_counterpart(dossier, new, "new_support")
        after.approved_support = new
        after.contracted_support = min(state.contracted_support, new)
        change = f"{change}: {format_dong(state.approved_support)} → {format_dong(new)}"
    elif cmd.kind is AdjustmentKind.EXTEND_NEXT_YEAR:
        if state.budget_year > dossier.plan_year:
            raise refuse(
                RefusalCode.DUPLICATE,
                f"đề án đã được gia hạn sang năm {state.budget_year}",
                "kind",
                "Thông tư 36/2013/TT-BCT Điều 11 khoản 2 điểm a",
            )
        after.budget_year = state.budget_year + 1
        change = f"{change} {after.budget_year}"
    elif cmd.kind in SITE_OR_TIMING and switches.adjust_needs_details:
        check_adjust_details(state, cmd)
        if cmd.kind is AdjustmentKind.CHANGE_SITE:
            before_site = state.current_site
            after.site = before_site.model_copy(update=cmd.site_fields)
            change = f"{change}: {before_site.describe()} → {after.site.describe()}"
        else:
            old = state.current_schedule
            after.schedule = Schedule(start=cmd.new_start or old.start, end=cmd.new_end or old.end)
            change = (
                f"{change}: {old.start:%d/%m/%Y}–{old.end:%d/%m/%Y} → "
                f"{after.schedule.start:%d/%m/%Y}–{after.schedule.end:%d/%m/%Y}"
            )
    if switches.adjust_needs_details and cmd.kind not in SITE_OR_TIMING:
        check_adjust_details(state, cmd)  # refuses site or dates on another kind
    return finish(
        state,
        after,
        action=Action.ADJUST,
        key=key,
        now=now,
        business_date=cmd.decision_date,
        summary=f"Điều chỉnh theo Quyết định {cmd.decision_number}: {change}",
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.decision_number,
    )


def decide_stop(
    state: DeAnState, cmd: DeAnStop, now: datetime, switches: RuleSwitches = CURRENT_RULES
) -> Outcome:
    target = begin(state, Action.STOP, cmd, cmd.decision_date, "decision_date", now)
    after = state.model_copy(deep=True)
    after.stage = target
    after.stopped = True
    after.force_majeure = cmd.force_majeure
    why = "bất khả kháng" if cmd.force_majeure else "vi phạm hoặc không đáp ứng yêu cầu"
    summary = f"Ngừng thực hiện theo Quyết định {cmd.decision_number} ({why}): {cmd.reason}"
    extra: dict[str, Any] = {}
    if switches.stop_lapses_advances:
        lapsing = [a for a in after.advances if a.paid_on is None and a.lapsed_on is None]
        for advance in lapsing:
            advance.lapsed_on = cmd.decision_date
            advance.lapse_reason = f"ngừng thực hiện theo Quyết định {cmd.decision_number}"
        if lapsing:
            summary += (
                f"; đề nghị tạm ứng chưa chi hết hiệu lực: {_lapses(lapsing)} — sau khi ngừng "
                "chỉ chi theo quyết toán"
            )
            extra["lapsed_advances"] = [{"request_no": a.no, "amount": a.amount} for a in lapsing]
    return finish(
        state,
        after,
        action=Action.STOP,
        key=_key(state, "stop", cmd.decision_number),
        now=now,
        business_date=cmd.decision_date,
        summary=summary,
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.decision_number,
        extra=extra,
    )


# --- acceptance and settlement --------------------------------------------------------------


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
    after = state.model_copy(deep=True)
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
        key=_key(state, "accept", cmd.minutes_number),
        now=now,
        business_date=cmd.accepted_on,
        summary=(
            f"Nghiệm thu cơ sở (biên bản {cmd.minutes_number}): khối lượng "
            f"{format_bp(cmd.accepted_volume_bp)}, chi phí {format_dong(cmd.accepted_cost)}"
        ),
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.minutes_number,
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
    after = state.model_copy(deep=True)
    after.stage = target
    after.settlement_dossier_on = cmd.submitted_on
    return finish(
        state,
        after,
        action=Action.SUBMIT_SETTLEMENT_DOSSIER,
        key=_key(state, "settlement-dossier"),
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
    after = state.model_copy(deep=True)
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
        key=_key(state, "settle", cmd.settlement_number),
        now=now,
        business_date=cmd.settled_on,
        summary=(
            f"Quyết toán {cmd.settlement_number}: kinh phí hỗ trợ được quyết toán "
            f"{format_dong(figures.final_support)}, đã tạm ứng {format_dong(state.advanced)}, "
            f"{money}"
            + (f"; không chi đề nghị tạm ứng đã hết hiệu lực: {_lapses(lapsed)}" if lapsed else "")
        ),
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.settlement_number,
        extra=dict(figures.__dict__),
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
    _check_payer(state, cmd.actor, [state.settlement.settled_by])
    payout = state.settlement.payout
    if state.paid + payout > state.approved_support:
        raise refuse(
            RefusalCode.PAID_OVER_APPROVED,
            f"tổng chi {format_dong(state.paid + payout)} vượt kinh phí phê duyệt",
            None,
            BASIS_PAID,
        )
    after = state.model_copy(deep=True)
    after.stage = target
    after.paid_settlement = payout
    return finish(
        state,
        after,
        action=Action.PAY_SETTLEMENT,
        key=_key(state, "settlement-pay"),
        now=now,
        business_date=cmd.paid_on,
        summary=f"Chi trả quyết toán {format_dong(payout)} (chứng từ {cmd.voucher_number})",
        actor=cmd.actor,
        command=cmd,
        payment=DeAnPayment(
            key=_key(state, "payment", "settlement"),
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
    after = state.model_copy(deep=True)
    after.stage = target
    after.refunded = owed
    return finish(
        state,
        after,
        action=Action.RECORD_REFUND,
        key=_key(state, "refund"),
        now=now,
        business_date=cmd.refunded_on,
        summary=f"Thu hồi nộp ngân sách {format_dong(owed)} (chứng từ {cmd.voucher_number})",
        actor=cmd.actor,
        command=cmd,
        payment=DeAnPayment(
            key=_key(state, "payment", "refund"),
            kind=PaymentKind.REFUND,
            amount=owed,
            paid_on=cmd.refunded_on,
            voucher_number=cmd.voucher_number,
        ),
    )


# --- deadlines ------------------------------------------------------------------------------


def open_deadlines(state: DeAnState) -> list[Deadline]:
    """Every deadline still open (not met, not yet recorded as missed), earliest first, those
    that had passed before the đề án entered the engine included."""
    if state.rule_pack_id is None or state.stage.terminal:
        return []
    rules = fixed_pack(state).deadlines
    found: list[Deadline] = []
    if state.stage is Stage.IN_PROGRESS and state.contract_signed_on is not None:
        reported = {p.month for p in state.progress}
        year_end = date(state.budget_year, 12, 31)
        for month in report_months(state.contract_signed_on, year_end):
            deadline = progress_report_deadline(month, rules)
            if deadline.due_date >= state.contract_signed_on and month not in reported:
                found.append(deadline)
    if state.stage is Stage.ACCEPTED and state.accepted_on and not state.settlement_dossier_on:
        found.append(settlement_dossier_deadline(state.accepted_on, rules))
    if state.stage in (Stage.IN_PROGRESS, Stage.STOPPED, Stage.ACCEPTED):
        found.append(settlement_deadline(state.budget_year, rules))
    missed = set(state.missed_deadlines)
    return sorted((d for d in found if d.key not in missed), key=lambda d: d.missed_at)


def before_entry(state: DeAnState, deadline: Deadline) -> bool:
    """The deadline had passed before the đề án entered the engine (a step typed in after the
    fact): no timer could have watched it."""
    return state.entered_at is not None and deadline.missed_at <= state.entered_at


def past_deadlines(state: DeAnState) -> list[Deadline]:
    """Open deadlines that had passed before the đề án entered the engine; recorded as missed
    at once (``past-deadlines-v1``) unless the state says the record is a complete paper
    year (``flag_past_deadlines`` off: the backfill)."""
    if not state.flag_past_deadlines:
        return []
    return [d for d in open_deadlines(state) if before_entry(state, d)]


def pending_deadlines(state: DeAnState, *, past: bool = False) -> list[Deadline]:
    """Deadlines the workflow watches, earliest first: the open ones that fell after the đề án
    entered the engine and, with ``past``, also those that had passed before (see
    :func:`past_deadlines`; the workflow passes ``past`` once the patch is in force)."""
    flag_past = past and state.flag_past_deadlines
    return [d for d in open_deadlines(state) if flag_past or not before_entry(state, d)]


def deadline_summary(deadline: Deadline) -> str:
    """A deadline as the event history and the UI show it (the timer's summary):
    «Hạn nộp hồ sơ quyết toán: 15/12/2019», «Hạn báo cáo tiến độ tháng 06/2019: 24/06/2019»."""
    due = f"{deadline.due_date:%d/%m/%Y}"
    if deadline.kind is DeadlineKind.PROGRESS_REPORT:
        return f"{deadline.kind.label} {parse_month(deadline.ref):%m/%Y}: {due}"
    if deadline.kind is DeadlineKind.SETTLEMENT:
        return f"{deadline.kind.label} kinh phí năm {deadline.ref}: {due}"
    return f"{deadline.kind.label}: {due}"


def due_deadlines(state: DeAnState, now: datetime, *, past: bool = False) -> list[Deadline]:
    return [d for d in pending_deadlines(state, past=past) if d.missed_at <= now]


def decide_deadline_missed(state: DeAnState, deadline: Deadline, now: datetime) -> Outcome:
    after = state.model_copy(deep=True)
    after.missed_deadlines.append(deadline.key)
    late = " — đã quá hạn khi được nhập vào hệ thống" if before_entry(state, deadline) else ""
    return finish(
        state,
        after,
        action=Action.DEADLINE_MISSED,
        key=_key(state, "deadline", deadline.kind.value, deadline.ref),
        now=now,
        business_date=deadline.due_date,
        summary=f"Quá hạn: {deadline.describe()} ({deadline.citation}){late}",
        actor=None,
        deadline=deadline,
    )


# --- the plan that approved the đề án -------------------------------------------------------

PLAN_FINAL_STAGES = frozenset({Stage.SETTLED, Stage.CLOSED})


def plan_commitment_change(
    before: DeAnState, after: DeAnState, command: DeAnCommand
) -> PlanCommitmentChange | None:
    """The change an adjustment makes to the commitment in the plan's envelope, or None (no
    plan, or the support did not move). The plan must accept it before the step is applied."""
    if before.plan_id is None or not isinstance(command, DeAnAdjust):
        return None
    if after.approved_support == before.approved_support:
        return None
    return PlanCommitmentChange(
        code=before.dossier.code,
        decision_number=command.decision_number,
        decision_date=command.decision_date,
        new_support=after.approved_support,
    )


def plan_finished_notice(before: DeAnState, after: DeAnState) -> PlanDeAnFinished | None:
    """What the plan is told when the đề án first reaches settled or closed: the support it
    finally receives (its settlement, or what was paid out if it closed without one)."""
    if after.plan_id is None or before.stage in PLAN_FINAL_STAGES:
        return None
    if after.stage not in PLAN_FINAL_STAGES:
        return None
    final = after.settlement.final_support if after.settlement is not None else after.paid
    return PlanDeAnFinished(code=after.dossier.code, stage=after.stage, final_support=final)


PLAN_UNAVAILABLE = "PlanUnavailable"


def decision_refusal(cause: object) -> Refusal | None:
    """The decision register's refusal, carried by the failure of the step's activity (an
    application error typed ``DecisionNumberReused`` whose first detail is the refusal's
    details); None for any other failure."""
    if getattr(cause, "type", None) != RefusalCode.DECISION_NUMBER_REUSED:
        return None
    details = getattr(cause, "details", ()) or ()
    info = details[0] if details and isinstance(details[0], dict) else {}
    return Refusal(
        RefusalCode.DECISION_NUMBER_REUSED,
        str(info.get("message") or getattr(cause, "message", "") or cause),
        info.get("field"),
        info.get("legal_basis"),
    )


def plan_refusal(
    change: PlanCommitmentChange,
    before: DeAnState,
    code: str | None,
    message: str,
    field: str | None,
    basis: str | None,
) -> Refusal | None:
    """The plan's refusal of a commitment change, as the đề án's refusal of the adjustment; or
    None when it does not bind: a plan whose year has ended holds no envelope to protect, so a
    cut goes through (a raise does not: there is no budget left to raise it from)."""
    if code == PLAN_CLOSED and change.new_support < before.approved_support:
        return None
    return Refusal(code or "PlanRefused", message, field or "new_support", basis)


# --- dispatch -------------------------------------------------------------------------------


def check_active(state: DeAnState, actor: Actor) -> None:
    if actor.official_id in state.deactivated_officials:
        raise refuse(
            RefusalCode.INACTIVE_OFFICIAL,
            f"{actor.full_name} ({actor.official_id}) đã bị vô hiệu hoá, không được thao tác",
            "actor.official_id",
        )


def decide(
    state: DeAnState,
    action: Action,
    command: DeAnCommand,
    now: datetime,
    switches: RuleSwitches = CURRENT_RULES,
) -> Outcome:
    """Which decider judges which action is the catalogue's to say
    (:func:`workflows.de_an_actions.decide`); kept here for the callers of this module."""
    from workflows.de_an_actions import decide as decide_by_catalogue

    return decide_by_catalogue(state, action, command, now, switches)


def patches_at_stake(state: DeAnState, action: Action, command: DeAnCommand) -> set[str]:
    """Which rule changes (by patch ID) could decide this step differently from the rules it
    was recorded under: the workflow asks ``workflow.patched`` for these only, so a history
    that never met a changed rule carries no marker and replays as it was."""
    at_stake: set[str] = set()
    if state.stopped and action in (
        Action.REQUEST_ADVANCE,
        Action.PAY_ADVANCE,
        Action.SETTLE,
    ):
        at_stake.add(STOP_LAPSES_PATCH)
    if action is Action.STOP and any(a.paid_on is None for a in state.advances):
        at_stake.add(STOP_LAPSES_PATCH)
    if isinstance(command, DeAnAdjust) and command.kind in SITE_OR_TIMING:
        at_stake.add(ADJUST_DETAILS_PATCH)
    if action is Action.RESOLVE_FINDINGS and state.stage is Stage.SETTLED:
        # A handler used to refuse this (WrongStage, no command); one recorded before the
        # change (accepted by a validator while a settlement was in flight, before the busy
        # guard) must refuse it again on replay rather than schedule the step's activity.
        at_stake.add(RESOLVE_SETTLED_PATCH)
    return at_stake


def switches_for(patched: dict[str, bool]) -> RuleSwitches:
    """The rules a handler decides by, from the answers of ``workflow.patched`` (a patch not
    asked is not at stake: the current rule decides as the old one would)."""
    return RuleSwitches(
        stop_lapses_advances=patched.get(STOP_LAPSES_PATCH, True),
        adjust_needs_details=patched.get(ADJUST_DETAILS_PATCH, True),
        resolve_after_settlement=patched.get(RESOLVE_SETTLED_PATCH, True),
    )
