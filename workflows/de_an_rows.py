"""The detail row a step writes, typed: one model per detail table (or row kind).

A decider builds the row from the command it accepted and carries it in
:attr:`~workflows.de_an_contract.DeAnStep.row`; the repository (``db.de_an``) writes it
field by field, so renaming a field here is a mypy error at both ends instead of a
``KeyError`` in an activity. Money moved (``payment``) and deadlines missed (``notification``)
keep their own typed fields on the step (:class:`~workflows.de_an_contract.DeAnPayment`,
:class:`~domain.deadlines.Deadline`).

Pure pydantic, no asyncpg: workflow modules import it. A step scheduled by an older worker
carries no ``row``, only its ``details`` dict; the activity reads the row from the dict then
(``db.legacy_steps``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class AppraisalRow(_Row):
    """``appraisal``: one round of thẩm định."""

    table: Literal["appraisal"] = "appraisal"
    round: str = Field(description="co_so | bo | tinh")
    verdict: str
    minutes_number: str
    by_council: bool = False
    appraised_on: date
    reason: str = ""


class DecisionRow(_Row):
    """``decision`` (approve, reject, adjust, stop), also claimed in ``decision_register``."""

    table: Literal["decision"] = "decision"
    kind: Literal["approve", "reject", "adjust", "stop"]
    number: str
    decision_date: date
    signer: str | None = Field(
        default=None,
        description="As the decision names it; None: the decision row records the acting "
        "official, the register leaves the signer open",
    )
    amount: int | None = Field(
        default=None, description="Approved support (approve) or the new support (adjust)"
    )


class ContractRow(_Row):
    table: Literal["contract"] = "contract"
    number: str
    signed_on: date
    contracted_support: int
    via_bidding: bool = False


class ProgressReportRow(_Row):
    table: Literal["progress_report"] = "progress_report"
    month: str
    investment_done_bp: int
    spent_cost: int
    reported_on: date


class ProgressConfirmationRow(_Row):
    """Confirms a ``progress_report`` row (an update, not an insert)."""

    table: Literal["progress_confirmation"] = "progress_confirmation"
    month: str
    confirmed_on: date


class MonitoringVisitRow(_Row):
    table: Literal["monitoring_visit"] = "monitoring_visit"
    visited_on: date
    minutes_number: str
    findings: list[str] = Field(default_factory=list)
    hold_payments: bool = False


class AdvanceRequestRow(_Row):
    table: Literal["advance_request"] = "advance_request"
    request_no: int | None = Field(
        default=None, description="None: the next number for the đề án (given by the database)"
    )
    amount: int
    requested_on: date


class AcceptanceRow(_Row):
    table: Literal["acceptance"] = "acceptance"
    minutes_number: str
    accepted_on: date
    accepted_cost: int
    accepted_volume_bp: int
    force_majeure: bool = False


class SettlementRow(_Row):
    table: Literal["settlement"] = "settlement"
    number: str
    settled_on: date
    disallowed_cost: int = 0
    eligible_cost: int
    rate_bp: int
    cap: int | None = None
    final_support: int
    payout: int
    refund_owed: int


DetailRow = Annotated[
    AppraisalRow
    | DecisionRow
    | ContractRow
    | ProgressReportRow
    | ProgressConfirmationRow
    | MonitoringVisitRow
    | AdvanceRequestRow
    | AcceptanceRow
    | SettlementRow,
    Field(discriminator="table"),
]
"""Any detail row, told apart by its ``table``."""
