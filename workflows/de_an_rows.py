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

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SerializeAsAny


class Row(BaseModel):
    """A detail row. Each subclass names its table in a ``table`` field with a default
    (``table: Literal["settlement"] = "settlement"``), which tells rows apart in a step's
    payload: defining the subclass registers it (:data:`ROWS_BY_TABLE`), so a row model
    added with a new action needs no edit here."""

    model_config = ConfigDict(frozen=True)

    table: str = ""
    """The table (each row model gives it as its default; empty: a base of rows)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        table = cls.model_fields["table"].default
        if not table:
            return  # a base of rows (InsertedRow), no table of its own
        if not _TABLE_NAME.fullmatch(table):
            raise TypeError(f"{cls.__name__}: table {table!r} is not a plain SQL name")
        known = ROWS_BY_TABLE.get(table)
        if known is not None and (known.__module__, known.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise TypeError(f"{cls.__name__}: table {table!r} is {known.__qualname__}'s")
        ROWS_BY_TABLE.setdefault(table, cls)  # the same class imported again keeps the first


_Row = Row
_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")

ROWS_BY_TABLE: dict[str, type[Row]] = {}
"""Every row model, by the table its ``table`` field names."""


class InsertedRow(Row):
    """A row written by the generic insert (``db.de_an.inserted_row_statement``): its table
    has the columns ``idempotency_key`` (the step's key), ``de_an_id``, ``official_id`` (the
    acting official) and one column per field of the model but ``table``, of the same name,
    with a unique :attr:`conflict_key`. No SQL to write and no repository to edit: a new
    action's row model and its migration are enough."""

    conflict_key: ClassVar[str] = "idempotency_key"
    """The unique column a retried step's row conflicts on (``ON CONFLICT ... DO NOTHING``)."""


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


def _row_of_table(value: Any) -> Any:
    """A row read from a payload: the model its ``table`` names (:data:`ROWS_BY_TABLE`)."""
    if isinstance(value, dict):
        table = value.get("table")
        model = ROWS_BY_TABLE.get(table) if isinstance(table, str) else None
        if model is None:
            raise ValueError(f"no row model for table {table!r}")
        return model.model_validate(value)
    return value


DetailRow = Annotated[SerializeAsAny[Row], BeforeValidator(_row_of_table)]
"""Any detail row, told apart by its ``table`` and dumped with all its fields."""
