"""What every decider shares: the :class:`Outcome`, the rule switches behind workflow
patches, refusals, the checks every official action starts with (:func:`begin`), the rule
pack, the read-model snapshot and the stamping of a step (:func:`finish`)."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.authority import BASIS_PROCESS, check_adjust_authority, check_authority
from domain.deadlines import Deadline, vn_date
from domain.errors import Refusal, RefusalCode
from domain.model import CENTRAL_ROLES, Actor, DeAnDossier
from domain.money import format_bp, format_dong, refund_outstanding
from domain.places import Succession
from domain.rules import RulePack, SupportItemRule, pack_in_force, packs_for, province_key
from domain.stages import TRANSITIONS, Action, Stage
from khuyencong.places import SHIPPED_UNITS
from workflows.de_an_contract import (
    DeAnActionResult,
    DeAnAdjust,
    DeAnCommand,
    DeAnPayment,
    DeAnSnapshot,
    DeAnState,
    DeAnStep,
    DeAnTimelineEntry,
    remember_entry,
)
from workflows.de_an_rows import DetailRow

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

    cut_lapses_advances: bool = True
    """``cut-lapses-advances-v1``: a cut of support (``decrease_support``) that leaves the
    advances paid plus the requests still open above the advance ceiling of the new support
    lapses the open requests that no longer fit (recorded in the adjustment's step), so the
    centre may request again within what is left; paying an advance is refused when it would
    take the advances paid above the current ceiling (TT 36/2013/TT-BCT Điều 13, 14)."""

    adjust_needs_details: bool = True
    """``adjust-details-v1``: a change of site names the new site, a change of timing the new
    dates; both become the đề án's current site and dates."""

    resolve_after_settlement: bool = True
    """``resolve-findings-settled-v1``: findings (and the hold on payments they placed) can be
    resolved once the đề án is settled, so a settlement payout held by them can be paid
    (:func:`decide_resolve_findings`). Before, ``resolve_findings`` was WrongStage there."""

    unit_successor_jurisdiction: bool = True
    """``unit-successor-jurisdiction-v1``: jurisdiction follows the successor of the province
    the đề án was registered in, on the date of the act (its paper's date, else the workflow's
    day): after 1/7/2025 Bắc Ninh's officials act on a former Bắc Giang đề án and Bắc Giang's
    former officials no longer do; the first act of the successor's officials is recorded
    (:func:`begin`, :func:`finish`). Before, the province's name alone decided."""


CURRENT_RULES = RuleSwitches()


STOP_LAPSES_PATCH = "stop-lapses-advances-v1"


CUT_LAPSES_PATCH = "cut-lapses-advances-v1"


ADJUST_DETAILS_PATCH = "adjust-details-v1"


RESOLVE_SETTLED_PATCH = "resolve-findings-settled-v1"


UNIT_SUCCESSOR_PATCH = "unit-successor-jurisdiction-v1"


_SUCCESSOR_JURISDICTION: ContextVar[bool] = ContextVar("successor_jurisdiction", default=True)
"""Whether :func:`begin` and :func:`finish` follow the successor province (the switch
``unit_successor_jurisdiction`` of the step being decided, set by :func:`deciding_under`;
every decider reaches ``begin`` without taking the switches itself)."""


def deciding_under(switches: RuleSwitches, decide: Callable[[], Outcome]) -> Outcome:
    """``decide()`` under ``switches`` as far as :func:`begin` and :func:`finish` go.
    Synchronous (a decider never awaits), so no other step sees the value. (Not a
    ``contextlib`` manager: it sets ``__traceback__`` on the refusal passing through, and a
    :class:`~domain.errors.Refusal` is frozen.)"""
    token = _SUCCESSOR_JURISDICTION.set(switches.unit_successor_jurisdiction)
    try:
        return decide()
    finally:
        _SUCCESSOR_JURISDICTION.reset(token)


PAPER_DATES = (
    "decision_date",
    "appraised_on",
    "signed_on",
    "reported_on",
    "confirmed_on",
    "visited_on",
    "resolved_on",
    "requested_on",
    "paid_on",
    "accepted_on",
    "submitted_on",
    "settled_on",
    "refunded_on",
)
"""The date fields of the commands that carry a paper's date (one per command)."""


def act_day(command: object, now: datetime) -> date:
    """The day an act is judged on for jurisdiction: the date of its paper (a decision signed
    on 30/6/2025 by Bắc Giang and typed in on 2/7/2025 was Bắc Giang's to sign), else the
    workflow's day."""
    for name in PAPER_DATES:
        value = getattr(command, name, None)
        if isinstance(value, date):
            return value
    return vn_date(now)


def succession_on(state: DeAnState, day: date) -> Succession | None:
    """The province that took over the đề án's by ``day`` (None: none did)."""
    return SHIPPED_UNITS.successor_province(state.dossier.province, state.registered_on, day)


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
    on: date | None,
    field: str | None,
    now: datetime,
    transitions: dict[tuple[Stage, Action], Stage] = TRANSITIONS,
) -> Stage:
    """The checks every official action starts with, in this order: stage, role and
    jurisdiction (an adjustment's by its kind), and the date ``on`` of its paper (named
    ``field``). Returns the stage the action leads to.

    ``on`` None: the action has no paper date, or its decider checks it itself after checks
    that come first (four-eyes, :func:`~workflows.de_an_decisions.decision` dates)."""
    target = check_stage(state, action, transitions)
    place: dict[str, Any] = {}
    if _SUCCESSOR_JURISDICTION.get():
        place = {"units": SHIPPED_UNITS, "registered_on": state.registered_on}
        place["on"] = act_day(cmd, now)
    if isinstance(cmd, DeAnAdjust):
        check_adjust_authority(cmd.actor, cmd.kind, state.dossier, **place)
    else:
        check_authority(cmd.actor, action, state.dossier, state.stage, **place)
    if on is not None:
        assert field is not None, "a checked date names its field"
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
        refund_owed=refund_outstanding(refund_owed, state.refunded),
        refunded=state.refunded,
        payments_on_hold=state.payments_on_hold,
        overdue=state.overdue,
        rule_pack_id=state.rule_pack_id,
    )


def fork(state: DeAnState) -> DeAnState:
    """The state a decider changes, copied on write instead of deeply (issue 14: a deep copy
    per decision copied the rule packs, the timeline and every update ID).

    A shallow copy whose lists are new lists (deciders append to them) and whose advances and
    progress reports are copies of their own (deciders mark those paid, lapsed, confirmed in
    place). Everything else is shared with ``state``: the dossier, the rule packs, the records
    and timeline entries, which deciders replace and never change. ``state`` is left exactly
    as it was (the validator throws the outcome away), and the new state equals what a deep
    copy changed the same way would be. A decider that changes anything else in place (a
    new field, a nested model) must copy it here first:
    ``tests/workflows/test_de_an_decisions_fork.py`` compares every chaos path with a deep
    copy's outcome."""
    after = state.model_copy()
    # Written into __dict__ so the copy's set fields stay those of ``state``, as a deep
    # copy's would (assigning through the model would mark them set).
    after.__dict__.update(
        {name: list(value) for name, value in state.__dict__.items() if isinstance(value, list)}
    )
    after.__dict__["advances"] = [a.model_copy() for a in state.advances]
    after.__dict__["progress"] = [p.model_copy() for p in state.progress]
    return after


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
    row: DetailRow | None = None,
) -> Outcome:
    """Stamp the new state (sequence, key, timeline) and build the step to persist: the
    event's ``details`` (the command and ``extra``) and the typed detail ``row``."""
    after.seq = before.seq + 1
    after.step_keys.append(key)

    def note(text: str) -> None:
        entry = DeAnTimelineEntry(
            at=now,
            action=action,
            stage=after.stage,
            actor=actor.describe() if actor else None,
            summary=text,
            seq=after.seq,
        )
        remember_entry(after.timeline, entry)

    note(summary)
    details: dict[str, Any] = (
        command.model_dump(mode="json", exclude={"actor"}) if command is not None else {}
    )
    details.update(extra or {})
    taken_over = _taken_over(after, actor, command, now)
    if taken_over is not None:
        after.answering_province = taken_over.to_name
        note(f"Chuyển thẩm quyền: {taken_over.describe()}")
        details["jurisdiction_transfer"] = taken_over.model_dump(mode="json")
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
        row=row,
        snapshot=snapshot(after),
        payment=payment,
        deadline=deadline,
    )
    return Outcome(after, step, summary)


def _taken_over(
    state: DeAnState, actor: Actor | None, command: DeAnCommand | None, now: datetime
) -> Succession | None:
    """The succession to record with this step: the first act of an official of the province
    that took the đề án over (``unit-successor-jurisdiction-v1``)."""
    if not _SUCCESSOR_JURISDICTION.get() or actor is None or actor.role in CENTRAL_ROLES:
        return None
    if not actor.province or province_key(actor.province) == province_key(state.dossier.province):
        return None
    if state.answering_province is not None and province_key(
        state.answering_province
    ) == province_key(actor.province):
        return None
    succession = succession_on(state, act_day(command, now))
    if succession is None or province_key(succession.to_name) != province_key(actor.province):
        return None
    return succession


def step_key(state: DeAnState, *parts: object) -> str:
    return ":".join([state.de_an_id, *(str(p) for p in parts)])


def check_active(state: DeAnState, actor: Actor) -> None:
    if actor.official_id in state.deactivated_officials:
        raise refuse(
            RefusalCode.INACTIVE_OFFICIAL,
            f"{actor.full_name} ({actor.official_id}) đã bị vô hiệu hoá, không được thao tác",
            "actor.official_id",
        )
