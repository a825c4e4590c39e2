"""Contract of ``KeHoachWorkflow``: the annual plan (kế hoạch khuyến công năm N) of one
province and level.

Pure pydantic (no Temporal, no asyncpg) so the CLI, the importer, the activities, the
simulation and the tests share it. New fields get defaults so running plans survive upgrades.

A plan talks to its đề án only through their public API: it starts them (``starter``), sends
them the ``approve`` / ``reject`` updates of its decision, and reads their stage and money from
the ``de_an`` read model.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.model import Actor, DeAnDossier, Level
from domain.money import BasisPoints, Dong
from domain.rules import province_key
from domain.stages import Stage
from domain.text import Text, nfc
from workflows.de_an_contract import DECISION_NUMBER


class _Model(BaseModel):
    # Ignore unknown fields: a field added by a newer worker must not break an older one.
    # Files people type are read strictly instead (domain.strict.validate_typed).
    model_config = ConfigDict(extra="ignore")


def plan_slug(province: str) -> str:
    """``Bắc Giang`` → ``bac-giang`` (no accents, no 'tỉnh', words joined by '-')."""
    return re.sub(r"[^a-z0-9]+", "-", province_key(province)).strip("-")


def plan_id_for(level: Level | str, province: str, year: int) -> str:
    """The plan's workflow ID: ``ke-hoach/dia_phuong/bac-giang/2019``."""
    return f"ke-hoach/{Level(level).value}/{plan_slug(province)}/{year}"


# --- configuration ---------------------------------------------------------------------------


class CheckpointKind(StrEnum):
    MID_YEAR = "mid_year"
    COMPLETION_TARGET = "completion_target"
    YEAR_END = "year_end"
    SETTLEMENT_DEADLINE = "settlement_deadline"
    OTHER = "other"


class PlanCheckpoint(_Model):
    """A day on which the plan records where it stood. It fires at 00:00 (Vietnam) after
    ``on``: the record is 'as of the end of ``on``'."""

    key: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_\-]+$")
    label: Text = Field(min_length=1, max_length=200)
    on: date
    kind: CheckpointKind = CheckpointKind.OTHER
    expect: Stage = Field(
        description="Approved đề án not yet at this stage (or later) are flagged as behind"
    )
    list_unsettled: bool = Field(
        default=False, description="List đề án not settled (year end: extend or settle volume)"
    )


def default_checkpoints(
    year: int, settlement_month: int = 1, settlement_day: int = 22
) -> list[PlanCheckpoint]:
    """Mid-year (30/6: contracted), completion target (30/11: accepted, Bắc Giang 2019),
    year end (31/12: listed if unsettled), settlement deadline (22/1 next year: settled).

    The settlement day comes from the rule pack (TT 36/2013 Điều 18 khoản 2: 22 January)."""
    return [
        PlanCheckpoint(
            key="mid-year",
            label="Sơ kết 6 tháng",
            on=date(year, 6, 30),
            kind=CheckpointKind.MID_YEAR,
            expect=Stage.IN_PROGRESS,
        ),
        PlanCheckpoint(
            key="completion-target",
            label="Mục tiêu hoàn thành 100 % kế hoạch",
            on=date(year, 11, 30),
            kind=CheckpointKind.COMPLETION_TARGET,
            expect=Stage.ACCEPTED,
        ),
        PlanCheckpoint(
            key="year-end",
            label="Kết thúc năm ngân sách",
            on=date(year, 12, 31),
            kind=CheckpointKind.YEAR_END,
            expect=Stage.ACCEPTED,
            list_unsettled=True,
        ),
        PlanCheckpoint(
            key="settlement-deadline",
            label="Hạn quyết toán",
            on=date(year + 1, settlement_month, settlement_day),
            kind=CheckpointKind.SETTLEMENT_DEADLINE,
            expect=Stage.SETTLED,
            list_unsettled=True,
        ),
    ]


def default_intake_close(level: Level, year: int) -> date:
    """National: the Sở registers to the ministry before 20 June of the year before
    (TT 36/2013/TT-BCT Điều 8); provincial: no public rule, 31 December of the year before."""
    return date(year - 1, 6, 19) if level is Level.QUOC_GIA else date(year - 1, 12, 31)


class PlanConfig(_Model):
    province: Text = Field(min_length=1, max_length=100)
    level: Level
    year: int = Field(ge=2012, le=2100)
    envelope: Dong = Field(description="Tổng kinh phí khuyến công được giao cho kế hoạch")
    intake_closes_on: date = Field(description="Last day registrations are accepted")
    checkpoints: list[PlanCheckpoint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _checkpoint_keys_unique(self) -> PlanConfig:
        keys = [c.key for c in self.checkpoints]
        if len(keys) != len(set(keys)):
            raise ValueError("mỗi mốc kiểm điểm (checkpoint) phải có key riêng")
        return self

    @property
    def plan_id(self) -> str:
        return plan_id_for(self.level, self.province, self.year)

    @classmethod
    def with_defaults(
        cls,
        province: str,
        level: Level,
        year: int,
        envelope: int,
        intake_closes_on: date | None = None,
    ) -> PlanConfig:
        return cls(
            province=province,
            level=level,
            year=year,
            envelope=envelope,
            intake_closes_on=intake_closes_on or default_intake_close(level, year),
            checkpoints=default_checkpoints(year),
        )


# --- messages --------------------------------------------------------------------------------


class PlanRegistration(_Model):
    """One đề án registered into the plan (a row of the centre's spreadsheet)."""

    dossier: DeAnDossier
    registered_by: Actor
    registered_on: date | None = None


class PlanRegister(_Model):
    entries: list[PlanRegistration] = Field(min_length=1)
    actor: Actor | None = Field(
        default=None,
        description="The centre's official who imports the rows, with a signed statement of "
        "their identity (the worker checks it before the plan's own rules). None only in "
        "histories recorded before registrations were signed: the validator refuses it.",
    )


class ItemStatus(StrEnum):
    REGISTERED = "registered"
    """In the plan, waiting for the decision."""
    APPROVED = "approved"
    REFUSED = "refused"
    """Refused: by the plan (envelope) or by the đề án's own rules; see the error."""
    REJECTED = "rejected"
    """Not selected by the decision (the đề án accepted the rejection)."""

    @property
    def label(self) -> str:
        return {
            "registered": "Chờ quyết định",
            "approved": "Được phê duyệt",
            "refused": "Bị từ chối (xét lại được)",
            "rejected": "Không được phê duyệt",
        }[self]


class RegisterVerdict(_Model):
    code: str
    accepted: bool
    workflow_id: str | None = None
    already: bool = Field(default=False, description="Registered earlier (same file twice)")
    error_type: str | None = None
    message: str = ""


class PlanRegisterResult(_Model):
    plan_id: str
    items: list[RegisterVerdict]

    @property
    def accepted(self) -> int:
        return sum(1 for i in self.items if i.accepted)


class Verdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class PlanDecisionItem(_Model):
    code: str = Field(min_length=1, max_length=60)
    verdict: Verdict = Verdict.APPROVE
    approved_support: Dong | None = Field(
        default=None, description="Approve: support granted; default the requested support"
    )
    reason: Text = Field(default="", max_length=2000, description="Reject: why")


class PlanDecision(_Model):
    """One decision (quyết định) approving many đề án of the plan."""

    decision_number: str
    decision_date: date
    signer: Text = Field(min_length=1, max_length=200)
    actor: Actor = Field(description="The official who signs: UBND tỉnh or the Minister")
    items: list[PlanDecisionItem] = Field(min_length=1)

    @field_validator("decision_number")
    @classmethod
    def _number(cls, value: str) -> str:
        value = nfc(value.strip())
        if not DECISION_NUMBER.match(value.upper()):
            raise ValueError("số quyết định phải có dạng «số/ký hiệu», ví dụ 427/QĐ-UBND")
        return value

    @model_validator(mode="after")
    def _codes_unique(self) -> PlanDecision:
        codes = [i.code for i in self.items]
        if len(codes) != len(set(codes)):
            raise ValueError("một đề án chỉ được ghi một lần trong quyết định")
        return self


class PlanCommitmentChange(_Model):
    """Update ``change_commitment``, sent by a đề án of the plan (through an activity) when an
    adjustment decision raises or lowers its support (TT 36/2013 Điều 11): the plan's
    commitment follows, and an increase the envelope cannot hold is refused."""

    code: str = Field(min_length=1, max_length=60)
    decision_number: str
    decision_date: date
    new_support: Dong
    actor: Actor | None = Field(
        default=None,
        description="The official whose adjustment the đề án accepted; the worker that relays "
        "it signs for them (the đề án checked their statement). None only in histories "
        "recorded before: the validator refuses it.",
    )


class PlanCommitmentResult(_Model):
    plan_id: str
    code: str
    committed: int = Field(description="The đề án's commitment after the change")
    plan_committed: int
    envelope: int


class PlanDeAnFinished(_Model):
    """Signal ``de_an_finished``, sent by a đề án of the plan when it is settled or closed:
    the plan releases what it did not use at once instead of at the next checkpoint."""

    code: str
    stage: Stage
    final_support: int = Field(ge=0, description="What the đề án finally receives")


class DecisionItemResult(_Model):
    code: str
    verdict: Verdict
    status: ItemStatus
    approved_support: int = 0
    error_type: str | None = None
    message: str = ""
    refused_by_plan: bool = False


class PlanDecisionResult(_Model):
    plan_id: str
    decision_number: str
    items: list[DecisionItemResult]
    committed: int
    envelope: int

    def count(self, status: ItemStatus) -> int:
        return sum(1 for i in self.items if i.status is status)


# --- activity payloads -----------------------------------------------------------------------


class PlanRow(_Model):
    """The plan as ``record_plan`` stores it."""

    plan_id: str
    province: str
    level: str
    year: int
    envelope: int
    intake_closes_on: date
    checkpoints: list[PlanCheckpoint]


class StartDeAnRequest(_Model):
    plan_id: str
    entries: list[PlanRegistration]


class SendOrder(_Model):
    """An approve or reject update, as the activity sends it to a đề án."""

    code: str
    verdict: Verdict
    approved_support: int = 0
    reason: str = ""


class SendDecisionRequest(_Model):
    plan_id: str
    decision_number: str
    decision_date: date
    signer: str
    actor: Actor
    orders: list[SendOrder]


class SendResult(_Model):
    code: str
    verdict: Verdict
    ok: bool
    approved_support: int = 0
    error_type: str | None = None
    message: str = ""


class RecordDecisionRequest(_Model):
    plan_id: str
    decision_number: str
    decision_date: date
    signer: str
    official_id: str
    items: list[DecisionItemResult]


class PlanCommitmentRequest(_Model):
    """What a đề án asks its plan's activity to send as ``change_commitment``."""

    plan_id: str
    change: PlanCommitmentChange


class PlanCommitmentAnswer(_Model):
    """The plan's answer, as data: a refusal is the đề án's refusal of the adjustment."""

    ok: bool
    error_type: str | None = None
    message: str = ""
    field: str | None = None
    legal_basis: str | None = None
    result: PlanCommitmentResult | None = None


class RecordCommitmentRequest(_Model):
    plan_id: str
    code: str
    decision_number: str
    decision_date: date
    before: int
    after: int


class ReadItemsRequest(_Model):
    plan_id: str
    codes: list[str]


class ItemObservation(_Model):
    """A đề án as the read model shows it (``final_support``: from its settlement, if any)."""

    code: str
    stage: Stage
    approved_support: int = 0
    advanced: int = 0
    paid: int = 0
    refund_owed: int = 0
    refunded: int = 0
    overdue: bool = False
    final_support: int | None = None


# --- state -----------------------------------------------------------------------------------


class PlanItem(_Model):
    code: str
    title: str
    district: str | None = None
    content_area: str
    requested_support: int
    counterpart_funds: int
    registered_on: date
    status: ItemStatus = ItemStatus.REGISTERED
    decision_number: str | None = None
    committed: int = Field(default=0, description="Support committed in the envelope")
    error_type: str | None = None
    message: str = ""
    released: int | None = Field(
        default=None, description="Released once, when the đề án is settled or closed"
    )
    final_support: int | None = None
    linked: bool = Field(
        default=False,
        description="Approved by a decision that told the đề án its plan (it asks and reports)",
    )
    commitment_decisions: dict[str, int] = Field(
        default_factory=dict,
        description="Adjustment decisions that changed the commitment, and the support each set",
    )


class PlanRelease(_Model):
    code: str
    amount: int
    committed: int
    final_support: int
    stage: Stage


class RecordReleaseRequest(_Model):
    plan_id: str
    release: PlanRelease
    released_at: datetime


class BehindItem(_Model):
    code: str
    stage: Stage
    reason: str


class CheckpointRecord(_Model):
    plan_id: str
    key: str
    label: str
    on: date
    kind: CheckpointKind
    recorded_at: datetime
    approved_count: int
    done_count: int
    done_bp: BasisPoints = Field(description="Share of approved đề án accepted or later")
    counts_by_stage: dict[str, int]
    envelope: int
    committed: int
    approved_support: int
    advanced: int
    paid: int
    refunded: int
    released_now: list[PlanRelease] = Field(default_factory=list)
    behind: list[BehindItem] = Field(default_factory=list)
    unsettled: list[str] = Field(default_factory=list)
    released: int = Field(default=0, description="Released to date (on close and at checkpoints)")
    resynced: dict[str, int] = Field(
        default_factory=dict,
        description="Commitments re-read from đề án approved before they knew their plan",
    )


class PlanDecisionRecord(_Model):
    number: str
    date: date
    signer: str
    official_id: str
    approved: int
    refused: int
    rejected: int


class PlanState(_Model):
    plan_id: str
    config: PlanConfig
    items: list[PlanItem] = Field(default_factory=list)
    decisions: list[PlanDecisionRecord] = Field(default_factory=list)
    checkpoints: list[CheckpointRecord] = Field(default_factory=list)
    applied_update_ids: list[str] = Field(default_factory=list)

    def item(self, code: str) -> PlanItem | None:
        for item in self.items:
            if item.code == code:
                return item
        return None


class PlanInput(_Model):
    config: PlanConfig
    resume: PlanState | None = None
    created_by: Actor | None = Field(
        default=None,
        description="The centre's official who opens the plan (its envelope, its intake): the "
        "start carries a signed statement for them, judged by the local activity "
        "``verify_registration`` before anything is written. None only in histories "
        "recorded before plans were proven: a new plan without one fails.",
    )


class PlanResult(_Model):
    plan_id: str
    envelope: int
    committed: int
    released: int
    approved: int
    checkpoints: list[CheckpointRecord]
