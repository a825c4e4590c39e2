"""What the admin client returns: officials, đề án rows and views, inbox items, outcomes.

Plain pydantic models, so a script gets them as JSON (``model_dump(mode="json")``) and the CLI
prints them as tables. Stage and action labels are in Vietnamese.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.deadlines import Deadline
from domain.model import CENTRAL_ROLES, Actor, Role
from domain.money import Dong
from domain.stages import Action, Stage
from domain.text import Text
from workflows.de_an_contract import DeAnActionResult

OFFICIAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- officials -------------------------------------------------------------------------------


class _ActsAs(_Model):
    """An official of the register, as every action carries them."""

    id: str
    full_name: str
    organisation: str
    role: Role
    province: str | None

    def as_actor(self) -> Actor:
        return Actor(
            official_id=self.id,
            full_name=self.full_name,
            role=self.role,
            organisation=self.organisation,
            province=self.province,
        )


class OfficialIn(_ActsAs):
    """A new official, or the new role/organisation/jurisdiction of one (``officials add``)."""

    id: str = Field(pattern=OFFICIAL_ID_PATTERN, description="Mã cán bộ, e.g. BG-SCT-003")
    full_name: Text = Field(min_length=1, max_length=200)
    organisation: Text = Field(min_length=1, max_length=200)
    role: Role
    province: Text | None = Field(default=None, max_length=100)

    @field_validator("full_name", "organisation", "province")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    @model_validator(mode="after")
    def _fits_actor(self) -> OfficialIn:
        # The same rules as the Actor every action carries: checked once, here.
        self.as_actor()
        return self


class Official(_ActsAs):
    role_label: str
    active: bool
    created_at: datetime
    updated_at: datetime
    deactivated_at: datetime | None = None
    deactivation_reason: str = ""

    @property
    def central(self) -> bool:
        return self.role in CENTRAL_ROLES


class DeactivationReport(_Model):
    official: Official
    signalled: list[str] = Field(description="Open đề án told (workflow IDs)")
    skipped: list[str] = Field(
        default_factory=list, description="Đề án whose workflow was no longer running"
    )


# --- đề án -----------------------------------------------------------------------------------


class DeAnRow(_Model):
    """One row of the read model, as lists show it."""

    de_an_id: str
    workflow_id: str
    code: str
    title: str
    level: str
    province: str
    district: str | None
    commune: str | None
    content_area: str
    support_item: str
    beneficiary_name: str
    plan_year: int
    stage: Stage
    stage_label: str
    requested_support: int
    approved_support: int
    contracted_support: int
    advanced: int
    paid: int
    remaining: int = Field(description="Approved support not paid yet")
    refund_owed: int
    refunded: int
    payments_on_hold: bool
    overdue: bool
    rule_pack_id: str | None
    created_at: datetime
    updated_at: datetime
    address: str | None = None
    schedule_start: date | None = Field(default=None, description="As the last adjustment left it")
    schedule_end: date | None = None


class Page(_Model):
    items: list[DeAnRow]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


class SortKey(StrEnum):
    CODE = "code"
    YEAR = "year"
    STAGE = "stage"
    PROVINCE = "province"
    APPROVED = "approved"
    PAID = "paid"
    UPDATED = "updated"
    CREATED = "created"


class DeAnFilter(_Model):
    """Search of the read model. Every criterion is optional; they combine with AND."""

    year: int | None = Field(default=None, ge=2012, le=2100)
    level: str | None = Field(default=None, pattern=r"^(quoc_gia|dia_phuong)$")
    province: Text | None = None
    district: Text | None = None
    content_area: Text | None = None
    stage: list[Stage] = Field(default_factory=list)
    overdue: bool | None = None
    text: Text | None = Field(default=None, description="In code, title or beneficiary")
    sort: list[str] = Field(
        default_factory=lambda: ["code"],
        description="Keys of SortKey; a leading '-' sorts descending",
    )
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=20, ge=1, le=500)

    @field_validator("sort")
    @classmethod
    def _sort_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            name = key.removeprefix("-")
            if name not in {k.value for k in SortKey}:
                choices = ", ".join(k.value for k in SortKey)
                raise ValueError(f"khoá sắp xếp «{key}» không có; chọn: {choices} (thêm - để giảm)")
        return value or ["code"]


class TimelineEvent(_Model):
    seq: int
    occurred_at: datetime
    business_date: date
    action: str
    action_label: str
    stage_from: str
    stage_to: str
    actor_official_id: str | None
    actor_name: str | None
    actor_role: str | None
    actor_organisation: str | None
    decision_number: str | None
    summary: str


class DeadlineView(_Model):
    kind: str
    label: str
    ref: str
    due_date: date
    citation: str
    missed: bool = False
    counting: str = Field(
        default="", description="How it is counted: a fixed day, N ngày or N ngày làm việc"
    )

    @classmethod
    def of(cls, deadline: Deadline, missed: bool = False) -> DeadlineView:
        return cls(
            kind=deadline.kind.value,
            label=deadline.kind.label,
            ref=deadline.ref,
            due_date=deadline.due_date,
            citation=deadline.citation,
            missed=missed,
            counting=deadline.counting,
        )


class DeAnView(_Model):
    """Everything ``show`` prints about one đề án."""

    row: DeAnRow
    timeline: list[TimelineEvent]
    deadlines: list[DeadlineView] | None = Field(
        description="Open deadlines from the workflow; None when it could not be asked"
    )
    missed_deadlines: list[DeadlineView] = Field(default_factory=list)
    deadlines_note: str | None = None
    ui_url: str


# --- inbox -----------------------------------------------------------------------------------


class InboxAction(_Model):
    action: Action
    label: str
    command: str = Field(description="The CLI command that takes this action")


class InboxItem(_Model):
    code: str
    workflow_id: str
    title: str
    level: str
    province: str
    stage: Stage
    stage_label: str
    actions: list[InboxAction]
    waiting_since: datetime
    overdue: bool
    payments_on_hold: bool
    approved_support: int
    paid: int


class InboxPage(_Model):
    """One page of an inbox, oldest first, with the counts of the whole inbox."""

    items: list[InboxItem]
    total: int = Field(description="Đề án waiting in the whole inbox")
    overdue: int = Field(description="Of which overdue")
    page: int = Field(description="This page's number, from 1 (a number past the end: the last)")
    pages: int = Field(description="Pages in all (at least 1)")


# --- actions ---------------------------------------------------------------------------------


class RegisterResult(_Model):
    code: str
    workflow_id: str
    status: str = Field(description="started | existing")
    stage: Stage
    stage_label: str
    message: str


class ActionOutcome(_Model):
    """An accepted action: the workflow's answer and the update ID it was sent with."""

    update_id: str
    result: DeAnActionResult
    repeated: bool = Field(
        default=False, description="The same update ID had been applied before: nothing new"
    )


class RefusalInfo(_Model):
    """Why an action was refused: the stable type, the rule's message, field and basis."""

    type: str
    rule: str = Field(description="The rule's name in Vietnamese")
    message: str
    field: str | None = None
    legal_basis: str | None = None
    problems: list[dict[str, Any]] = Field(
        default_factory=list, description="Every field at fault (InvalidField)"
    )


class BatchVerdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class BatchItem(_Model):
    code: str = Field(min_length=1)
    verdict: BatchVerdict = BatchVerdict.APPROVE
    approved_support: Dong | None = Field(
        default=None, description="Default: the support requested (read model)"
    )
    reason: Text = Field(default="", max_length=2000, description="Required to reject")
    note: Text = Field(default="", max_length=2000)


class BatchOutcome(_Model):
    code: str
    verdict: BatchVerdict
    status: str = Field(description="done | repeated | refused")
    outcome: ActionOutcome | None = None
    refusal: RefusalInfo | None = None
