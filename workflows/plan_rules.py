"""The plan's rules as pure functions: intake window, envelope, verdicts, checkpoints.

No Temporal and no asyncpg: every rule is unit- and property-tested directly, and
``KeHoachWorkflow`` only sequences them with its activities.

Envelope arithmetic (all whole đồng):

- an item's commitment is the support the decision approved for it;
- ``committed`` = Σ commitments of approved items − Σ releases;
- a decision reserves each approval in order; an approval that would take ``committed`` above
  the envelope is refused by the plan (``EnvelopeExceeded``) and never sent; a đề án that
  refuses its approval frees its reservation, and the items the plan refused are screened
  again, in order, against what was freed (a next round of the same decision);
- an adjustment decision that raises or lowers an approved đề án's support moves its
  commitment; a raise the envelope cannot hold is refused (``EnvelopeExceeded``), so the
  adjustment is refused too;
- when an approved đề án is settled or closed (stopped, or settled for less), the difference
  between its commitment and its final support is released, once (the item keeps the amount):
  as soon as the đề án signals it, or at the next checkpoint if that signal never came.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

from domain.authority import (
    BASIS_ADJUST,
    BASIS_APPROVAL_LOCAL,
    BASIS_APPROVAL_NATIONAL,
    BASIS_PROCESS,
    MATRIX,
)
from domain.deadlines import VN_TZ
from domain.errors import Refusal, RefusalCode
from domain.model import DeAnDossier, Level
from domain.money import BP_PER_WHOLE, format_dong
from domain.rules import province_key
from domain.stages import Action, Stage
from workflows.plan_contract import (
    BehindItem,
    CheckpointRecord,
    DecisionItemResult,
    ItemObservation,
    ItemStatus,
    PlanCheckpoint,
    PlanCommitmentChange,
    PlanConfig,
    PlanDeAnFinished,
    PlanDecision,
    PlanItem,
    PlanRegister,
    PlanRegistration,
    PlanRelease,
    PlanState,
    SendOrder,
    SendResult,
    Verdict,
)

# The plan's refusals, by their names in the one catalogue (domain.errors.RefusalCode).
INTAKE_CLOSED = RefusalCode.INTAKE_CLOSED
ENVELOPE_EXCEEDED = RefusalCode.ENVELOPE_EXCEEDED
NOT_IN_PLAN = RefusalCode.NOT_IN_PLAN
WRONG_PLAN = RefusalCode.WRONG_PLAN
ALREADY_DECIDED = RefusalCode.ALREADY_DECIDED
COMMITMENT_CLOSED = RefusalCode.COMMITMENT_CLOSED
PLAN_CLOSED = RefusalCode.PLAN_CLOSED
INVALID_FIELD = RefusalCode.INVALID_FIELD
WRONG_AUTHORITY = RefusalCode.WRONG_AUTHORITY
WRONG_JURISDICTION = RefusalCode.WRONG_JURISDICTION

ENVELOPE_BASIS = (
    "Thông tư 36/2013/TT-BCT Điều 6 khoản 3: kế hoạch phù hợp với dự toán kinh phí được giao"
)

STAGE_RANK: dict[Stage, int] = {
    Stage.REGISTERED: 0,
    Stage.RETURNED: 0,
    Stage.BASE_APPRAISED: 1,
    Stage.APPRAISED: 2,
    Stage.REJECTED: 2,
    Stage.APPROVED: 3,
    Stage.IN_PROGRESS: 4,
    Stage.STOPPED: 4,
    Stage.ACCEPTED: 5,
    Stage.SETTLED: 6,
    Stage.CLOSED: 7,
}
FINAL_STAGES = frozenset({Stage.SETTLED, Stage.CLOSED})
DONE_RANK = STAGE_RANK[Stage.ACCEPTED]
"""A đề án counts as done once its work is accepted (nghiệm thu)."""


def end_of_day(day: date) -> datetime:
    """00:00 in Vietnam after ``day``: when a checkpoint 'as of ``day``' fires."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=VN_TZ)


def initial_state(config: PlanConfig, plan_id: str | None = None) -> PlanState:
    """``plan_id``: the workflow ID (default :attr:`PlanConfig.plan_id`)."""
    return PlanState(plan_id=plan_id or config.plan_id, config=config)


# --- intake ----------------------------------------------------------------------------------


def check_intake_open(config: PlanConfig, today: date) -> None:
    if today > config.intake_closes_on:
        raise Refusal(
            INTAKE_CLOSED,
            f"đã hết hạn đăng ký vào kế hoạch năm {config.year}: hạn cuối "
            f"{config.intake_closes_on:%d/%m/%Y}, hôm nay {today:%d/%m/%Y}",
            "registered_on",
        )


def registration_problem(config: PlanConfig, dossier: DeAnDossier) -> str | None:
    """Why a dossier does not belong in this plan, or None."""
    if dossier.level is not config.level:
        return f"đề án cấp {dossier.level.label}, kế hoạch cấp {config.level.label}"
    if province_key(dossier.province) != province_key(config.province):
        return f"đề án của tỉnh {dossier.province}, kế hoạch của tỉnh {config.province}"
    if dossier.plan_year != config.year:
        return f"đề án năm {dossier.plan_year}, kế hoạch năm {config.year}"
    return None


def new_item(entry: PlanRegistration, today: date) -> PlanItem:
    d = entry.dossier
    return PlanItem(
        code=d.code,
        title=d.title,
        district=d.district,
        content_area=d.content_area.value,
        requested_support=d.requested_support,
        counterpart_funds=d.counterpart_funds,
        registered_on=entry.registered_on or today,
    )


# --- envelope --------------------------------------------------------------------------------


def committed(state: PlanState) -> int:
    return sum(
        item.committed - (item.released or 0)
        for item in state.items
        if item.status is ItemStatus.APPROVED
    )


def released_total(state: PlanState) -> int:
    return sum(item.released or 0 for item in state.items)


def available(state: PlanState) -> int:
    return state.config.envelope - committed(state)


def check_signer(state: PlanState, decision: PlanDecision) -> None:
    """The plan is approved by the Minister (national) or the Chairman of the province's People's
    Committee (provincial): a decision signed by anyone else is refused whole, before any đề án
    sees it (each đề án would refuse it too, but the paper would be recorded)."""
    config = state.config
    actor = decision.actor
    allowed = MATRIX[(Action.APPROVE, config.level)]
    national = config.level is Level.QUOC_GIA
    basis = BASIS_APPROVAL_NATIONAL if national else BASIS_APPROVAL_LOCAL
    if actor.role not in allowed:
        raise Refusal(
            WRONG_AUTHORITY,
            f"{actor.role.label} không có thẩm quyền phê duyệt kế hoạch "
            f"{config.level.label.lower()}; thẩm quyền thuộc: "
            f"{', '.join(sorted(r.label for r in allowed))}",
            "actor.role",
            basis,
        )
    if not national and province_key(actor.province or "") != province_key(config.province):
        raise Refusal(
            WRONG_JURISDICTION,
            f"{actor.organisation} (tỉnh {actor.province or '—'}) không phê duyệt kế hoạch của "
            f"tỉnh {config.province}",
            "actor.province",
            basis,
        )


IDENTITY_NOT_PROVEN = RefusalCode.IDENTITY_NOT_PROVEN


def check_registrar(config: PlanConfig, request: PlanRegister) -> None:
    """Rows enter a plan only from a centre's official of the plan's province whose identity
    the worker verified (the statement is checked before this rule, by the identity
    interceptor). The worker then starts each đề án signing for the registrar its row names:
    that trust rests on this check, so an unsigned import is refused whole."""
    actor = request.actor
    if actor is None:
        raise Refusal(
            IDENTITY_NOT_PROVEN,
            "đăng ký đề án vào kế hoạch cần cán bộ Trung tâm khuyến công đã xác thực "
            "(khuyencong plan import --as MÃ_CÁN_BỘ)",
            "actor",
            BASIS_PROCESS,
        )
    allowed = MATRIX[(Action.REGISTER, config.level)]
    if actor.role not in allowed:
        raise Refusal(
            WRONG_AUTHORITY,
            f"{actor.role.label} không đăng ký đề án vào kế hoạch; thẩm quyền thuộc: "
            f"{', '.join(sorted(r.label for r in allowed))}",
            "actor.role",
            BASIS_PROCESS,
        )
    if province_key(actor.province or "") != province_key(config.province):
        raise Refusal(
            WRONG_JURISDICTION,
            f"{actor.organisation} (tỉnh {actor.province or '—'}) không đăng ký đề án vào kế "
            f"hoạch của tỉnh {config.province}",
            "actor.province",
            BASIS_PROCESS,
        )


def check_commitment_actor(change: PlanCommitmentChange) -> None:
    """A commitment moves only on an adjustment some verified official made: the đề án
    checked their statement, the relaying worker signs for them, the interceptor checks it."""
    if change.actor is None:
        raise Refusal(
            IDENTITY_NOT_PROVEN,
            f"thay đổi cam kết của {change.code} không kèm cán bộ đã xác thực: gửi lại điều "
            "chỉnh từ đề án",
            "actor",
            BASIS_ADJUST,
        )


def check_decision_date(decision: PlanDecision, today: date) -> None:
    """A decision dated in the future is a typo: refused whole, before its number is used."""
    if decision.decision_date > today:
        raise Refusal(
            INVALID_FIELD,
            f"ngày quyết định {decision.decision_date:%d/%m/%Y} ở tương lai (hôm nay "
            f"{today:%d/%m/%Y}, giờ Việt Nam)",
            "decision_date",
        )


def check_decision(state: PlanState, decision: PlanDecision) -> None:
    """Refusals of the whole decision (validator): a decision number used before, unknown
    items, items decided earlier. A refused item is decided again under a new number: each
    decision is one paper, recorded once (its verdict rows are keyed by its number)."""
    check_signer(state, decision)
    if any(record.number == decision.decision_number for record in state.decisions):
        raise Refusal(
            ALREADY_DECIDED,
            f"quyết định {decision.decision_number} đã được ghi nhận; quyết định lại các đề án "
            "bị từ chối cần một số quyết định mới",
            "decision_number",
        )
    for entry in decision.items:
        item = state.item(entry.code)
        if item is None:
            raise Refusal(
                NOT_IN_PLAN, f"đề án {entry.code} không có trong kế hoạch {state.plan_id}", "items"
            )
        if item.status in (ItemStatus.APPROVED, ItemStatus.REJECTED):
            raise Refusal(
                ALREADY_DECIDED,
                f"đề án {entry.code} đã có quyết định {item.decision_number}",
                "items",
            )


def envelope_message(state: PlanState, support: int, left: int) -> str:
    return (
        f"phê duyệt {format_dong(support)} vượt kinh phí còn lại của kế hoạch "
        f"{format_dong(left)} (tổng {format_dong(state.config.envelope)}) — căn cứ: "
        f"{ENVELOPE_BASIS}"
    )


def screen_decision(
    state: PlanState, decision: PlanDecision, answered: Sequence[SendResult] = ()
) -> tuple[list[SendOrder], list[DecisionItemResult]]:
    """Reserve each approval in order; refuse those that would overspend the envelope.

    ``answered``: the đề án's answers to the earlier rounds of this decision. An approval a
    đề án accepted holds its amount; one it refused holds nothing, so the items the plan
    refused earlier are screened again against what that freed. Returns the orders of this
    round (empty: the decision is complete) and the items the plan refuses."""
    done = {r.code for r in answered}
    left = available(state) - sum(
        r.approved_support for r in answered if r.ok and r.verdict is Verdict.APPROVE
    )
    orders: list[SendOrder] = []
    refused: list[DecisionItemResult] = []
    for entry in decision.items:
        if entry.code in done:
            continue
        item = state.item(entry.code)
        assert item is not None  # check_decision ran first
        if entry.verdict is Verdict.REJECT:
            orders.append(SendOrder(code=entry.code, verdict=Verdict.REJECT, reason=entry.reason))
            continue
        support = (
            entry.approved_support if entry.approved_support is not None else item.requested_support
        )
        if support > left:
            refused.append(
                DecisionItemResult(
                    code=entry.code,
                    verdict=Verdict.APPROVE,
                    status=ItemStatus.REFUSED,
                    error_type=ENVELOPE_EXCEEDED,
                    message=envelope_message(state, support, left),
                    refused_by_plan=True,
                )
            )
            continue
        left -= support
        orders.append(SendOrder(code=entry.code, verdict=Verdict.APPROVE, approved_support=support))
    return orders, refused


def results_of(sent: Sequence[SendResult]) -> list[DecisionItemResult]:
    out = []
    for r in sent:
        if r.ok:
            status = ItemStatus.APPROVED if r.verdict is Verdict.APPROVE else ItemStatus.REJECTED
        else:
            status = ItemStatus.REFUSED
        out.append(
            DecisionItemResult(
                code=r.code,
                verdict=r.verdict,
                status=status,
                approved_support=r.approved_support if r.ok else 0,
                error_type=r.error_type,
                message=r.message,
            )
        )
    return out


def apply_decision(
    state: PlanState,
    decision: PlanDecision,
    results: Iterable[DecisionItemResult],
    *,
    linked: bool = True,
) -> PlanState:
    """``linked``: the approved đề án know their plan (they ask it and report to it)."""
    after = state.model_copy(deep=True)
    for result in results:
        item = after.item(result.code)
        if item is None:
            continue
        item.decision_number = decision.decision_number
        item.status = result.status
        item.error_type = result.error_type
        item.message = result.message
        item.committed = result.approved_support if result.status is ItemStatus.APPROVED else 0
        item.linked = linked and result.status is ItemStatus.APPROVED
    return after


def resync_unlinked(
    state: PlanState, observations: Iterable[ItemObservation]
) -> tuple[PlanState, dict[str, int]]:
    """Đề án approved before they knew their plan change their support without asking it: at
    a checkpoint their commitment becomes the support they now hold (both ways), so the
    envelope is right again. Linked items are never touched (the plan is their truth, and a
    change may be half-way: the plan moves before the đề án records it)."""
    after = state.model_copy(deep=True)
    changed: dict[str, int] = {}
    for obs in observations:
        item = after.item(obs.code)
        if item is None or item.linked or item.status is not ItemStatus.APPROVED:
            continue
        if item.released is not None or obs.approved_support == item.committed:
            continue
        if obs.approved_support <= 0:
            continue  # not yet in the read model
        item.committed = obs.approved_support
        changed[obs.code] = obs.approved_support
    return after, changed


# --- adjustments of an approved đề án ---------------------------------------------------------


def check_plan_open(state: PlanState, closing: bool) -> None:
    """After its last checkpoint the plan only finishes: nothing new is committed in it."""
    if closing:
        raise Refusal(
            PLAN_CLOSED,
            f"kế hoạch {state.plan_id} đã qua mốc cuối (hạn quyết toán), không nhận thay đổi",
            "plan_id",
        )


def check_commitment_change(state: PlanState, change: PlanCommitmentChange) -> None:
    """An adjustment of an approved đề án's support: the commitment must still be open, and a
    raise must fit in what the envelope has left. A decision applied before passes (the
    handler answers it without changing anything)."""
    item = state.item(change.code)
    if item is None or item.status is not ItemStatus.APPROVED:
        raise Refusal(
            NOT_IN_PLAN,
            f"đề án {change.code} không được phê duyệt trong kế hoạch {state.plan_id}",
            "code",
        )
    applied = item.commitment_decisions.get(change.decision_number)
    if applied is not None:
        if applied == change.new_support:
            return  # the same decision again (a retry): answered, changes nothing
        raise Refusal(
            ALREADY_DECIDED,
            f"quyết định {change.decision_number} đã đặt kinh phí đề án {change.code} là "
            f"{format_dong(applied)}; mức khác cần một quyết định điều chỉnh mới",
            "decision_number",
        )
    if item.released is not None:
        raise Refusal(
            COMMITMENT_CLOSED,
            f"đề án {change.code} đã quyết toán hoặc kết thúc; phần kinh phí không dùng đã "
            f"được trả về kế hoạch ({format_dong(item.released)})",
            "code",
        )
    raise_by = change.new_support - item.committed
    left = available(state)
    if raise_by > left:
        raise Refusal(
            ENVELOPE_EXCEEDED,
            f"tăng kinh phí đề án {change.code} từ {format_dong(item.committed)} lên "
            f"{format_dong(change.new_support)} cần thêm {format_dong(raise_by)}, vượt kinh phí "
            f"còn lại của kế hoạch {format_dong(left)} (tổng {format_dong(state.config.envelope)})",
            "new_support",
            ENVELOPE_BASIS,
        )


def apply_commitment_change(state: PlanState, change: PlanCommitmentChange) -> PlanState:
    """The state after the change (unchanged for a decision applied before)."""
    after = state.model_copy(deep=True)
    item = after.item(change.code)
    assert item is not None  # check_commitment_change ran first
    if change.decision_number not in item.commitment_decisions:
        item.committed = change.new_support
        item.commitment_decisions[change.decision_number] = change.new_support
    return after


def release_on_close(
    state: PlanState, notice: PlanDeAnFinished
) -> tuple[PlanState, list[PlanRelease]]:
    """A đề án signalled that it settled or closed: release what it did not use (once; a
    repeated or late signal releases nothing)."""
    return observe(
        state,
        [ItemObservation(code=notice.code, stage=notice.stage, final_support=notice.final_support)],
    )


# --- progress --------------------------------------------------------------------------------


def final_support_of(obs: ItemObservation) -> int | None:
    """The support the đề án finally receives, once it is settled or closed; else None."""
    if obs.stage not in FINAL_STAGES:
        return None
    if obs.final_support is not None:
        return obs.final_support
    return max(obs.paid - obs.refund_owed, 0)  # closed without settlement: stopped before work


def observe(
    state: PlanState, observations: Iterable[ItemObservation]
) -> tuple[PlanState, list[PlanRelease]]:
    """Release, once, what settled or closed đề án did not use. Idempotent: observing the same
    (or an older) state again releases nothing."""
    after = state.model_copy(deep=True)
    releases: list[PlanRelease] = []
    for obs in observations:
        item = after.item(obs.code)
        if item is None or item.status is not ItemStatus.APPROVED or item.released is not None:
            continue
        final = final_support_of(obs)
        if final is None:
            continue
        amount = max(item.committed - final, 0)
        item.released = amount
        item.final_support = final
        releases.append(
            PlanRelease(
                code=item.code,
                amount=amount,
                committed=item.committed,
                final_support=final,
                stage=obs.stage,
            )
        )
    return after, releases


def checkpoint_record(
    state: PlanState,
    checkpoint: PlanCheckpoint,
    observations: Sequence[ItemObservation],
    releases: Sequence[PlanRelease],
    now: datetime,
) -> CheckpointRecord:
    """Where the plan stood: counts by stage of its approved đề án, money, who is behind."""
    approved_codes = {i.code for i in state.items if i.status is ItemStatus.APPROVED}
    seen = [o for o in observations if o.code in approved_codes]
    by_code = {o.code: o for o in seen}
    expect = STAGE_RANK[checkpoint.expect]
    behind: list[BehindItem] = []
    for code in sorted(approved_codes):
        obs = by_code.get(code)
        if obs is None:
            behind.append(BehindItem(code=code, stage=Stage.APPROVED, reason="chưa có dữ liệu"))
            continue
        reasons = []
        if STAGE_RANK[obs.stage] < expect:
            reasons.append(f"mới ở giai đoạn «{obs.stage.label}», cần «{checkpoint.expect.label}»")
        if obs.overdue:
            reasons.append("quá hạn báo cáo hoặc quyết toán")
        if reasons:
            behind.append(BehindItem(code=code, stage=obs.stage, reason="; ".join(reasons)))
    done = sum(1 for o in seen if STAGE_RANK[o.stage] >= DONE_RANK)
    total = len(approved_codes)
    unsettled = (
        sorted(
            code
            for code in approved_codes
            if by_code.get(code) is None or by_code[code].stage not in FINAL_STAGES
        )
        if checkpoint.list_unsettled
        else []
    )
    return CheckpointRecord(
        plan_id=state.plan_id,
        key=checkpoint.key,
        label=checkpoint.label,
        on=checkpoint.on,
        kind=checkpoint.kind,
        recorded_at=now,
        approved_count=total,
        done_count=done,
        done_bp=(done * BP_PER_WHOLE // total) if total else 0,
        counts_by_stage=dict(sorted(Counter(o.stage.value for o in seen).items())),
        envelope=state.config.envelope,
        committed=committed(state),
        approved_support=sum(o.approved_support for o in seen),
        advanced=sum(o.advanced for o in seen),
        paid=sum(o.paid for o in seen),
        refunded=sum(o.refunded for o in seen),
        released_now=list(releases),
        behind=behind,
        unsettled=unsettled,
        released=released_total(state),
    )


def pending_checkpoints(state: PlanState) -> list[PlanCheckpoint]:
    done = {c.key for c in state.checkpoints}
    return sorted((c for c in state.config.checkpoints if c.key not in done), key=lambda c: c.on)
