"""Contract of ``DeAnWorkflow``: its input, result, state and every message payload.

Pure pydantic (no Temporal import) so the admin tool, the starter, the activities and the
tests share it. Every payload is one model argument; new fields must get defaults so that
running đề án survive upgrades. Every official action carries the acting official
(:class:`~domain.model.Actor`) into the history.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.authority import AdjustmentKind
from domain.councils import MAX_MEMBERS, CouncilMember
from domain.deadlines import Deadline
from domain.limits import (
    MAX_FINDINGS,
    AdvanceRequestNo,
    HistoryEventLimit,
    list_ceiling,
)
from domain.model import Actor, DeAnDossier, Schedule
from domain.money import BasisPoints, Dong
from domain.rules import DeadlineRules, RulePack
from domain.stages import Action, Stage
from domain.text import Text, nfc
from workflows.de_an_rows import DetailRow

DECISION_NUMBER = re.compile(r"^\d{1,6}/([0-9]{4}/)?[0-9A-ZĐ\-]{2,30}$")
"""Số văn bản: ``427/QĐ-UBND``, ``1234/QĐ-BCT``, ``15/2019/HĐ-KC``."""
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class _Model(BaseModel):
    # Ignore unknown fields: a field added by a newer worker must not break an older one.
    # Files people type are read strictly instead (domain.strict.validate_typed).
    model_config = ConfigDict(extra="ignore")


def _decision_number(value: str) -> str:
    value = nfc(value.strip())
    if not DECISION_NUMBER.match(value.upper()):
        raise ValueError("số văn bản phải có dạng «số/ký hiệu», ví dụ 427/QĐ-UBND")
    return value


class DeAnCommand(_Model):
    """Fields every official action has."""

    actor: Actor
    note: Text = Field(default="", max_length=2000)


# --- start -------------------------------------------------------------------------------


class DeAnInput(_Model):
    """Start of a đề án: its registration by the implementing unit."""

    dossier: DeAnDossier
    registered_by: Actor
    registered_on: date | None = Field(
        default=None, description="Ngày đăng ký; default: the workflow's start day in Vietnam"
    )
    rule_packs: list[RulePack] = Field(
        default_factory=list,
        description="Packs that may apply; empty: loaded by an activity at start (a new đề "
        "án) or, with ``resume``, read from a state serialized before issue 14",
    )
    resume: DeAnState | None = Field(
        default=None,
        description="State carried across continue-as-new (its rule packs in ``rule_packs``); "
        "None on a new đề án",
    )
    flag_past_deadlines: bool = Field(
        default=True,
        description="Record deadlines already past when they become known (steps entered "
        "after the fact) as missed; False only for a complete paper record rebuilt by the "
        "backfill, whose gaps are gaps of the data set",
    )
    history_event_limit: HistoryEventLimit | None = Field(
        default=None,
        description="Continue as new once the history has this many events; None: when the "
        "server suggests it (~4K events or ~4 MB). Carried to the next run",
    )


class DeAnResult(_Model):
    de_an_id: str
    stage: Stage
    approved_support: int
    advanced: int
    paid: int
    refunded: int


# --- official actions (updates) ------------------------------------------------------------


class DeAnResubmit(DeAnCommand):
    dossier: DeAnDossier


class AppraisalVerdict(StrEnum):
    PASS = "pass"
    RETURN = "return"
    FAIL = "fail"

    @property
    def label(self) -> str:
        return {"pass": "đạt", "return": "trả lại bổ sung hồ sơ", "fail": "không đạt"}[self]


class DeAnAppraise(DeAnCommand):
    verdict: AppraisalVerdict
    appraised_on: date
    minutes_number: Text = Field(min_length=1, max_length=60, description="Số biên bản thẩm định")
    by_council: bool = Field(default=False, description="Qua hội đồng thẩm định")
    reason: Text = Field(
        default="", max_length=2000, description="Required unless the verdict is pass"
    )
    council: list[CouncilMember] = Field(
        default_factory=list,
        max_length=MAX_MEMBERS,
        description="The council's members with their declarations of interest (none: not "
        "recorded); a member tied to the beneficiary cannot sit",
    )


class DeAnApprove(DeAnCommand):
    decision_number: str
    decision_date: date
    signer: Text = Field(min_length=1, max_length=200, description="Người ký quyết định")
    approved_support: Dong
    plan_id: str | None = Field(
        default=None,
        description="The plan (KeHoachWorkflow ID) whose decision this is: its envelope holds "
        "the commitment, so later support adjustments and the closing are reported to it",
    )

    _n = field_validator("decision_number")(_decision_number)


class DeAnReject(DeAnCommand):
    decision_number: str
    decision_date: date
    reason: Text = Field(min_length=1, max_length=2000)

    _n = field_validator("decision_number")(_decision_number)


class DeAnSignContract(DeAnCommand):
    contract_number: str
    signed_on: date
    contracted_support: Dong
    via_bidding: bool = False

    _n = field_validator("contract_number")(_decision_number)


class DeAnReportProgress(DeAnCommand):
    month: str = Field(description="YYYY-MM")
    investment_done_bp: BasisPoints = Field(description="Share of the investment done, in bp")
    spent_cost: Dong
    reported_on: date

    @field_validator("month")
    @classmethod
    def _month(cls, value: str) -> str:
        if not MONTH.match(value):
            raise ValueError("tháng báo cáo phải có dạng YYYY-MM")
        return value


class DeAnConfirmProgress(DeAnCommand):
    month: str
    confirmed_on: date

    _m = field_validator("month")(DeAnReportProgress._month.__func__)  # type: ignore[attr-defined]


class DeAnRecordVisit(DeAnCommand):
    visited_on: date
    minutes_number: Text = Field(min_length=1, max_length=60)
    findings: Annotated[
        list[Annotated[Text, Field(max_length=2000)]],
        list_ceiling(MAX_FINDINGS, "kiến nghị"),
    ] = Field(default_factory=list)
    hold_payments: bool = Field(default=False, description="Findings put payments on hold")


class DeAnResolveFindings(DeAnCommand):
    resolved_on: date


class DeAnRequestAdvance(DeAnCommand):
    amount: Dong
    requested_on: date


class DeAnPayAdvance(DeAnCommand):
    request_no: AdvanceRequestNo
    paid_on: date
    voucher_number: Text = Field(min_length=1, max_length=60, description="Số chứng từ chi")


class DeAnAdjust(DeAnCommand):
    kind: AdjustmentKind
    decision_number: str
    decision_date: date
    description: Text = Field(min_length=1, max_length=2000)
    new_support: Dong | None = Field(
        default=None, description="Required for increase_support and decrease_support"
    )
    new_address: str | None = Field(
        default=None, max_length=300, description="change_site: địa chỉ mới (số nhà, thôn, ...)"
    )
    new_commune: str | None = Field(
        default=None, max_length=100, description="change_site: xã/phường mới"
    )
    new_district: str | None = Field(
        default=None, max_length=100, description="change_site: huyện mới (trước 7/2025)"
    )
    new_start: date | None = Field(
        default=None, description="change_timing: ngày bắt đầu mới (trong năm kế hoạch)"
    )
    new_end: date | None = Field(
        default=None, description="change_timing: ngày kết thúc mới (trong năm kế hoạch)"
    )

    _n = field_validator("decision_number")(_decision_number)

    @property
    def site_fields(self) -> dict[str, str]:
        """The parts of the site this adjustment names (dossier field → new value)."""
        named = {
            "address": self.new_address,
            "commune": self.new_commune,
            "district": self.new_district,
        }
        return {k: v.strip() for k, v in named.items() if v is not None and v.strip()}


class DeAnStop(DeAnCommand):
    decision_number: str
    decision_date: date
    reason: Text = Field(min_length=1, max_length=2000)
    force_majeure: bool = False

    _n = field_validator("decision_number")(_decision_number)


class DeAnAccept(DeAnCommand):
    minutes_number: Text = Field(min_length=1, max_length=60, description="Số biên bản nghiệm thu")
    accepted_on: date
    accepted_cost: Dong = Field(description="Chi phí hợp lệ được nghiệm thu")
    accepted_volume_bp: BasisPoints = Field(description="Khối lượng hoàn thành, bp of plan")
    force_majeure: bool = False


class DeAnSubmitSettlementDossier(DeAnCommand):
    submitted_on: date


class DeAnSettle(DeAnCommand):
    settlement_number: Text = Field(
        min_length=1, max_length=60, description="Số biên bản quyết toán"
    )
    settled_on: date
    disallowed_cost: Dong = Field(default=0, description="Chi phí không được quyết toán")


class DeAnPaySettlement(DeAnCommand):
    paid_on: date
    voucher_number: Text = Field(min_length=1, max_length=60)


class DeAnRecordRefund(DeAnCommand):
    refunded_on: date
    amount: Dong
    voucher_number: Text = Field(min_length=1, max_length=60)


class DeAnOfficialDeactivated(_Model):
    """Signal: an official left or lost their authority; they can no longer act on this đề án."""

    official_id: Text = Field(min_length=1, max_length=64)
    deactivated_on: date
    reason: Text = Field(default="", max_length=500)


class DeAnActionResult(_Model):
    """What an accepted action answers: the new stage and money, and a sentence for people."""

    de_an_id: str
    action: Action
    stage: Stage
    stage_label: str
    message: str
    approved_support: int
    advanced: int
    paid: int


class DeAnRegistration(_Model):
    """What the update ``registered`` answers once the registration step is recorded (the
    read model holds the đề án): a summary, not the whole state."""

    de_an_id: str
    stage: Stage
    seq: int
    registered_on: date


# --- state ---------------------------------------------------------------------------------


class DeAnAppraisalRecord(_Model):
    round: str = Field(description="co_so | bo | tinh")
    verdict: AppraisalVerdict
    official_id: str
    appraised_on: date
    minutes_number: str


class DeAnDecisionRecord(_Model):
    number: str
    date: date
    signer: str
    official_id: str


class DeAnAdvance(_Model):
    no: int
    amount: int
    requested_on: date
    requested_by: str
    paid_on: date | None = None
    paid_by: str | None = None
    voucher_number: str | None = None
    lapsed_on: date | None = Field(
        default=None,
        description="Unpaid when the đề án was stopped, or when a cut of support left it above "
        "the new advance ceiling: the request lapsed that day and is never paid (after a stop "
        "only the settlement pays; after a cut the centre may request again within the room)",
    )
    lapse_reason: str | None = None
    lapse_ceiling: int | None = Field(
        default=None,
        description="Set when a cut of support lapsed the request: the advance ceiling of the "
        "new support (TT 36/2013/TT-BCT Điều 13, 14); None for a lapse by the stop",
    )


class DeAnProgress(_Model):
    month: str
    investment_done_bp: int
    spent_cost: int
    reported_on: date
    confirmed_by: str | None = None


class DeAnSettlementRecord(_Model):
    number: str
    settled_on: date
    settled_by: str
    eligible_cost: int
    rate_bp: int
    cap: int | None
    final_support: int
    payout: int
    refund_owed: int


class DeAnSite(_Model):
    """Where the đề án is carried out, as the latest change of site says (the dossier keeps
    the site it was registered with)."""

    address: str | None = None
    commune: str | None = None
    district: str | None = None

    def describe(self) -> str:
        return ", ".join(p for p in (self.address, self.commune, self.district) if p) or "—"


class DeAnTimelineEntry(_Model):
    at: datetime
    action: Action
    stage: Stage
    actor: str | None = None
    summary: str
    seq: int = Field(
        default=0,
        description="The step's number (DeAnState.seq after it); 0 in entries recorded "
        "before the timeline was bounded",
    )


class DeAnState(_Model):
    """Everything the workflow knows. Queries return it; continue-as-new carries it (its rule
    packs aside: they are never serialized, see ``rule_packs``)."""

    de_an_id: str
    dossier: DeAnDossier
    stage: Stage = Stage.REGISTERED
    seq: int = Field(default=0, description="Steps applied so far; orders the read model")
    registered_by: Actor
    registered_on: date
    entered_at: datetime | None = Field(
        default=None,
        description="When the đề án entered Khuyến công Flow; a deadline due before it was "
        "not watched by a timer: it is recorded as missed as soon as it is known, unless "
        "flag_past_deadlines is off (a closed paper year rebuilt by the backfill)",
    )
    flag_past_deadlines: bool = Field(
        default=True,
        description="Record deadlines that had passed before they entered the engine (a step "
        "typed in after the fact) as missed; False for a complete paper record (backfill)",
    )
    rule_packs: list[RulePack] = Field(
        default_factory=list,
        exclude=True,
        description="The packs that may apply, shared by every đề án of the worker "
        "(domain.rules.shared). Never serialized (issue 14): the ``state`` query answers "
        "without them and continue-as-new carries them in ``DeAnInput.rule_packs``; a state "
        "serialized before that, which holds them, still loads with them",
    )
    rule_pack_id: str | None = Field(default=None, description="Pack fixed at approval")
    deadline_rules: DeadlineRules | None = Field(
        default=None,
        description="The deadlines of the pack fixed at approval, so that the readers of the "
        "``state`` query (which answers without the packs) know the open deadlines",
    )
    plan_id: str | None = Field(
        default=None, description="The plan whose decision approved it (None: approved alone)"
    )
    appraisals: list[DeAnAppraisalRecord] = Field(default_factory=list)
    approval: DeAnDecisionRecord | None = None
    approved_support: int = 0
    contract_number: str | None = None
    contract_signed_on: date | None = None
    contracted_support: int = 0
    progress: list[DeAnProgress] = Field(default_factory=list)
    open_findings: list[str] = Field(default_factory=list)
    payments_on_hold: bool = False
    advances: list[DeAnAdvance] = Field(default_factory=list)
    budget_year: int = Field(default=0, description="Plan year, or the extension year")
    stopped: bool = False
    force_majeure: bool = False
    accepted_on: date | None = None
    accepted_cost: int = 0
    accepted_volume_bp: int = 0
    accepted_by: str | None = None
    settlement_dossier_on: date | None = None
    settlement: DeAnSettlementRecord | None = None
    paid_settlement: int = 0
    refunded: int = 0
    missed_deadlines: list[str] = Field(default_factory=list, description="Deadline keys missed")
    site: DeAnSite | None = Field(
        default=None, description="The site after a change_site adjustment; None: as registered"
    )
    schedule: Schedule | None = Field(
        default=None,
        description="The dates after a change_timing adjustment; None: as registered",
    )
    timeline: list[DeAnTimelineEntry] = Field(
        default_factory=list,
        description="The last TIMELINE_KEPT entries, newest last; every step is a row of the "
        "read model (de_an_event), which is the đề án's whole timeline",
    )
    applied_update_ids: list[str] = Field(
        default_factory=list,
        description="The last APPLIED_UPDATE_IDS_KEPT update IDs applied, kept across "
        "continue-as-new (the server deduplicates update IDs within one run only)",
    )
    step_keys: list[str] = Field(
        default_factory=list, description="Idempotency keys of the steps applied"
    )
    resolutions: int = Field(default=0, description="Findings resolved so far")
    deactivated_officials: list[str] = Field(
        default_factory=list, description="Officials who may no longer act (signalled)"
    )
    returns: int = Field(default=0, description="Times the dossier was returned for supplement")
    answering_province: str | None = Field(
        default=None,
        description="The province that took the đề án over from the one it was registered in "
        "(a merger, recorded when its official first acts); None: the registered province",
    )

    @property
    def advanced(self) -> int:
        return sum(a.amount for a in self.advances if a.paid_on is not None)

    @property
    def paid(self) -> int:
        """All money out: paid advances plus the settlement payout."""
        return self.advanced + self.paid_settlement

    @property
    def current_site(self) -> DeAnSite:
        if self.site is not None:
            return self.site
        d = self.dossier
        return DeAnSite(commune=d.commune, district=d.district)

    @property
    def current_schedule(self) -> Schedule:
        return self.schedule or self.dossier.schedule

    @property
    def overdue(self) -> bool:
        return bool(self.missed_deadlines) and not self.stage.terminal


APPLIED_UPDATE_IDS_KEPT = 256
"""How many applied update IDs a đề án remembers (issue 14: the list grew with every action).
A sender retries an action whose answer it lost within seconds or minutes, never after 256
other actions on the same đề án; within one run the server answers a repeated ID itself."""


TIMELINE_KEPT = 20
"""How many timeline entries the workflow state keeps (issue 14: the timeline grew with every
step, in the memory of every worker caching the đề án and in every continue-as-new input).
The whole timeline is in PostgreSQL: each step's write inserts its ``de_an_event`` row in the
same workflow task (``khuyencong de-an show``, the web desk and the audit read it there); the
state keeps the recent entries for the ``timeline`` query and for a sender checking whether
its action was applied."""


def remember_entry(timeline: list[DeAnTimelineEntry], entry: DeAnTimelineEntry) -> None:
    """Append ``entry`` to ``timeline`` (in place), then :func:`keep_recent`."""
    timeline.append(entry)
    keep_recent(timeline)


def keep_recent(timeline: list[DeAnTimelineEntry]) -> None:
    """Drop the oldest entries of ``timeline`` (in place) beyond :data:`TIMELINE_KEPT`."""
    del timeline[:-TIMELINE_KEPT]


def remember_update(applied: list[str], update_id: str) -> list[str]:
    """``applied`` with ``update_id`` last, the oldest dropped beyond
    :data:`APPLIED_UPDATE_IDS_KEPT`."""
    return [*applied[-(APPLIED_UPDATE_IDS_KEPT - 1) :], update_id]


class DeAnSnapshot(_Model):
    """The read-model row of a đề án as of one step."""

    de_an_id: str
    workflow_id: str
    seq: int
    code: str
    title: str
    level: str
    province: str
    district: str | None
    commune: str | None
    address: str | None = None
    schedule_start: date | None = None
    schedule_end: date | None = None
    content_area: str
    support_item: str
    beneficiary_name: str
    beneficiary_type: str
    plan_year: int
    stage: Stage
    requested_support: int
    approved_support: int
    contracted_support: int
    advanced: int
    paid: int
    refund_owed: int
    refunded: int
    payments_on_hold: bool
    overdue: bool
    rule_pack_id: str | None


class PaymentKind(StrEnum):
    ADVANCE = "advance"
    SETTLEMENT = "settlement"
    REFUND = "refund"


class DeAnPayment(_Model):
    """Money that moves: an advance or settlement paid out, or a refund received."""

    key: str = Field(description="Idempotency key from business identity: {de_an}:payment:...")
    kind: PaymentKind
    amount: int = Field(gt=0)
    paid_on: date
    voucher_number: str


class DeAnStep(_Model):
    """One applied step, as the activities persist it (one transaction)."""

    key: str = Field(description="Idempotency key from business identity: {de_an}:{action}:{ref}")
    de_an_id: str
    action: Action
    stage_from: Stage
    stage_to: Stage
    actor: Actor | None = None
    occurred_at: datetime
    business_date: date
    decision_number: str | None = None
    summary: str
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="The command as the event records it (de_an_event.details); written "
        "whole, never read back by key: the detail row is ``row``",
    )
    row: DetailRow | None = Field(
        default=None,
        description="The detail row, typed; None for event-only, payment and deadline steps "
        "and for steps scheduled by a worker older than typed rows (read from ``details``)",
    )
    snapshot: DeAnSnapshot
    payment: DeAnPayment | None = None
    deadline: Deadline | None = None


class DeAnInactiveOfficialsQuery(_Model):
    de_an_id: str


class DeAnRegistrationProof(_Model):
    """Input of the local activity ``verify_registration``: the statement the đề án was
    started with and what it must prove. A local activity's input is not recorded in the
    history (only its verdict is)."""

    statement: str | None = None
    workflow_id: str
    registered_by: Actor
    province: str
    at: datetime = Field(description="The workflow's time (expiry is judged by it)")


class DeAnRegistrationVerdict(_Model):
    """Result of ``verify_registration``, recorded in the history: proven, or the refusal."""

    ok: bool
    error_type: str | None = None
    message: str = ""
    field: str | None = None


class DeAnRulePackQuery(_Model):
    level: str
    province: str


DeAnInput.model_rebuild()
