"""Repository of a đề án's tables: its read-model row (``de_an``), its events, the decision
register and the detail rows of its steps. Every writer of these tables comes through here:
the step activities (:func:`write_step`) and the plan generator's history (:func:`insert_de_an_rows`,
:func:`copy_de_an_rows`).

The one write path of a step: read-model row, event, detail row, in the caller's transaction.
Exactly-once comes from the database, not from Temporal: the event is inserted with
``ON CONFLICT (idempotency_key) DO NOTHING`` and the detail row is written only when the
event was new, so an activity that committed and then crashed (and is retried) writes
nothing the second time. The read-model row moves only forwards: a snapshot replaces it only
when its ``seq`` is higher than the stored one.

Never imported by workflow modules (asyncpg in a workflow module crashes the sandbox).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from db.steps import (
    DEADLINE_ACTIONS,
    DECISION_KINDS,
    EVENT_ONLY_ACTIONS,
    PAYMENT_ACTIONS,
    RECORD_ACTIONS,
    ROW_TYPES,
    InvalidStepError,
    detail_row,
    validate_step,
)
from domain.decisions import DecisionFacts, check_same_decision, decision_scope, number_key
from domain.errors import Refusal
from domain.stages import Action
from workflows.de_an_contract import DeAnSnapshot, DeAnStep
from workflows.de_an_rows import (
    AcceptanceRow,
    AdvanceRequestRow,
    AppraisalRow,
    ContractRow,
    DecisionRow,
    InsertedRow,
    MonitoringVisitRow,
    ProgressConfirmationRow,
    ProgressReportRow,
    SettlementRow,
)

__all__ = [
    "DEADLINE_ACTIONS",
    "PAYMENT_ACTIONS",
    "RECORD_ACTIONS",
    "ROW_TYPES",
    "DeAnRow",
    "DecisionConflictError",
    "InvalidStepError",
    "StepNotStorableError",
    "copy_de_an_rows",
    "insert_de_an_rows",
    "write_step",
]

# --- the read-model row ------------------------------------------------------------------------


class DeAnRow(DeAnSnapshot):
    """A row of ``de_an``: the đề án as of one step (:class:`DeAnSnapshot`, which the
    workflow builds) and when the row was made and last moved. Its fields are the table's
    columns, named once: every statement below is built from :data:`DE_AN_COLUMNS`."""

    created_at: datetime
    updated_at: datetime

    @classmethod
    def of_step(cls, step: DeAnStep) -> DeAnRow:
        at = step.occurred_at
        return cls(**dict(step.snapshot), created_at=at, updated_at=at)

    def values(self) -> tuple[Any, ...]:
        """The column values in :data:`DE_AN_COLUMNS` order."""
        return tuple(
            self.stage.value if column == "stage" else getattr(self, column)
            for column in DE_AN_COLUMNS
        )


DE_AN_COLUMNS: tuple[str, ...] = tuple(DeAnRow.model_fields)
_MARKS = ", ".join(f"${n}" for n in range(1, len(DE_AN_COLUMNS) + 1))
_MOVING = [c for c in DE_AN_COLUMNS if c not in ("de_an_id", "created_at")]

UPSERT_DE_AN = (
    f"INSERT INTO de_an ({', '.join(DE_AN_COLUMNS)})\n"
    f"VALUES ({_MARKS})\n"
    "ON CONFLICT (de_an_id) DO UPDATE SET\n"
    + ",\n".join(f"    {c} = EXCLUDED.{c}" for c in _MOVING)
    + "\nWHERE de_an.seq < EXCLUDED.seq\n"
)
"""A step's snapshot: inserted, or replacing an older one (lower ``seq``); ``created_at``
stays the first step's."""

INSERT_DE_AN_ONCE = (
    f"INSERT INTO de_an ({', '.join(DE_AN_COLUMNS)}) VALUES ({_MARKS})\n"
    "ON CONFLICT (de_an_id) DO NOTHING\n"
)
"""A row loaded from history (the plan generator): an existing đề án is left alone."""


async def insert_de_an_rows(conn: Any, rows: Iterable[DeAnRow]) -> None:
    """Insert read-model rows of past đề án, leaving existing ones (caller's transaction)."""
    await conn.executemany(INSERT_DE_AN_ONCE, [r.values() for r in rows])


async def copy_de_an_rows(conn: Any, rows: Sequence[DeAnRow]) -> None:
    """Bulk-load read-model rows (COPY) into an empty table."""
    await conn.copy_records_to_table(
        "de_an", records=[r.values() for r in rows], columns=list(DE_AN_COLUMNS)
    )


# --- the events and detail rows of a step -----------------------------------------------------

INSERT_EVENT = """
INSERT INTO de_an_event (
    idempotency_key, de_an_id, seq, action, stage_from, stage_to,
    actor_official_id, actor_name, actor_role, actor_organisation, actor_province,
    occurred_at, business_date, decision_number, summary, details
) VALUES (
    $1, $2, $3, $4, $5, $6,
    $7, $8, $9, $10, $11,
    $12, $13, $14, $15, $16
)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""

# The first use of a number inserts it; a later one returns the row as recorded (filling in
# the signer when the first use did not know it) for write_step to compare.
CLAIM_DECISION_NUMBER = """
INSERT INTO decision_register (
    scope, year, number_key, number, decision_date, signer, first_key, first_de_an
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (scope, year, number_key) DO UPDATE
    SET signer = COALESCE(decision_register.signer, EXCLUDED.signer)
RETURNING number, decision_date, signer, first_de_an
"""

INSERT_APPRAISAL = """
INSERT INTO appraisal (
    idempotency_key, de_an_id, round, verdict, minutes_number, by_council,
    appraised_on, official_id, reason
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (idempotency_key) DO NOTHING
"""

INSERT_DECISION = """
INSERT INTO decision (
    idempotency_key, de_an_id, kind, number, decision_date, signer, official_id, amount, details
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (idempotency_key) DO NOTHING
"""

INSERT_CONTRACT = """
INSERT INTO contract (
    idempotency_key, de_an_id, number, signed_on, contracted_support, via_bidding, official_id
) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (idempotency_key) DO NOTHING
"""

INSERT_PROGRESS_REPORT = """
INSERT INTO progress_report (
    idempotency_key, de_an_id, month, investment_done_bp, spent_cost, reported_on, reported_by
) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (idempotency_key) DO NOTHING
"""

# Sets the confirmation once; a repeated confirmation of the same month changes nothing.
CONFIRM_PROGRESS_REPORT = """
UPDATE progress_report
SET confirmed_by = $3,
    confirmed_on = $4,
    confirm_key  = $5
WHERE de_an_id = $1
  AND month = $2
  AND confirmed_by IS NULL
"""

INSERT_MONITORING_VISIT = """
INSERT INTO monitoring_visit (
    idempotency_key, de_an_id, visited_on, minutes_number, findings, hold_payments, official_id
) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (idempotency_key) DO NOTHING
"""

# The request number comes from the step when the workflow gives one, else it is the next
# number for the đề án (steps of one đề án are written one after another).
INSERT_ADVANCE_REQUEST = """
INSERT INTO advance_request (
    idempotency_key, de_an_id, request_no, amount, requested_on, requested_by
) VALUES (
    $1, $2,
    COALESCE($3::integer,
             (SELECT COALESCE(max(request_no), 0) + 1 FROM advance_request WHERE de_an_id = $2)),
    $4, $5, $6
)
ON CONFLICT (idempotency_key) DO NOTHING
"""

# A stop, or a cut of support, that lapsed unpaid advance requests names them in its step's
# details (``lapsed_advances``); its write marks them here, in the same transaction, only once
# (rows already marked stay as they are, and a retried step's event is not new).
LAPSE_ADVANCE_REQUESTS = """
UPDATE advance_request
SET lapsed_on = $3,
    lapse_key = $4
WHERE de_an_id = $1
  AND request_no = ANY($2::integer[])
  AND lapsed_on IS NULL
"""

INSERT_PAYMENT = """
INSERT INTO payment (
    idempotency_key, event_key, de_an_id, kind, amount, paid_on, voucher_number, official_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING
"""

INSERT_ACCEPTANCE = """
INSERT INTO acceptance (
    idempotency_key, de_an_id, minutes_number, accepted_on, accepted_cost,
    accepted_volume_bp, force_majeure, official_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (idempotency_key) DO NOTHING
"""

INSERT_SETTLEMENT = """
INSERT INTO settlement (
    idempotency_key, de_an_id, number, settled_on, disallowed_cost, eligible_cost, rate_bp,
    cap, final_support, payout, refund_owed, official_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (idempotency_key) DO NOTHING
"""

INSERT_NOTIFICATION = """
INSERT INTO notification (
    idempotency_key, de_an_id, kind, deadline_kind, ref, due_date, citation, message, created_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (idempotency_key) DO NOTHING
"""


class StepNotStorableError(Exception):
    """PostgreSQL refused a value of the step (asyncpg ``DataError``, SQLSTATE class 22: a
    number out of its column's range, text it cannot hold, ...). The same step fails the same
    way on every attempt, so it is never retried."""

    def __init__(self, error: Exception, field: str | None) -> None:
        self.error = error
        self.field = field
        self.sqlstate: str | None = getattr(error, "sqlstate", None)
        super().__init__(str(error))


INSERT_COLUMNS = re.compile(r"INSERT\s+INTO\s+\w+\s*\((?P<columns>[^)]*)\)", re.IGNORECASE)
QUERY_ARGUMENT = re.compile(r"query argument \$(?P<n>\d+)")


def argument_column(sql: str, error: Exception) -> str | None:
    """The column a refused query argument was for (asyncpg names it ``$n`` when it cannot
    encode a value, e.g. ``value out of int64 range``); None when the error does not say.
    Every statement here binds its *n*-th listed column to ``$n``."""
    argument = QUERY_ARGUMENT.search(str(error))
    columns = INSERT_COLUMNS.search(sql)
    if argument is None or columns is None:
        return getattr(error, "column_name", None)
    names = [c.strip() for c in columns["columns"].split(",")]
    n = int(argument["n"])
    return names[n - 1] if 1 <= n <= len(names) else None


async def _checked(conn: Any, method: str, sql: str, *args: Any) -> Any:
    """``conn.<method>(sql, *args)``, a refused value raised as :class:`StepNotStorableError`."""
    try:
        return await getattr(conn, method)(sql, *args)
    except asyncpg.DataError as exc:
        raise StepNotStorableError(exc, argument_column(sql, exc)) from exc


# --- the write path ------------------------------------------------------------------------------


async def write_step(conn: Any, step: DeAnStep) -> bool:
    """Write ``step`` inside the caller's transaction; True when its event was new.

    ``conn`` must come from :func:`db.pool.create_pool` (jsonb codec). Raises
    :class:`InvalidStepError` for a step that lacks what its action needs.
    """
    validate_step(step)
    detail = detail_statement(step)  # parse before writing anything
    await _checked(conn, "execute", UPSERT_DE_AN, *DeAnRow.of_step(step).values())
    event_id = await _checked(conn, "fetchval", INSERT_EVENT, *_event_args(step))
    if event_id is None:
        return False
    await claim_decision_number(conn, step)
    if detail is not None:
        sql, args = detail
        await _checked(conn, "execute", sql, *args)
    lapsed = lapsed_request_numbers(step)
    if lapsed:
        await _checked(
            conn,
            "execute",
            LAPSE_ADVANCE_REQUESTS,
            step.de_an_id,
            lapsed,
            step.business_date,
            step.key,
        )
    return True


def lapsed_request_numbers(step: DeAnStep) -> list[int]:
    """The advance requests a stop or a cut of support lapsed (its details'
    ``lapsed_advances``), by number; none for any other step."""
    if step.action not in (Action.STOP, Action.ADJUST):
        return []
    lapsed = step.details.get("lapsed_advances")
    if not isinstance(lapsed, list):
        return []
    return [int(item["request_no"]) for item in lapsed if isinstance(item, dict)]


class DecisionConflictError(Exception):
    """The step names a decision number already recorded with another date or signer."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        super().__init__(str(refusal))


def decision_facts(step: DeAnStep) -> DecisionFacts | None:
    """The decision a step records (approve, reject, adjust, stop), or None."""
    if step.action not in DECISION_KINDS or not step.decision_number:
        return None
    row = detail_row(step)
    assert isinstance(row, DecisionRow)  # ROW_TYPES: every decision kind writes one
    return DecisionFacts(
        number=step.decision_number,
        decision_date=row.decision_date,
        signer=row.signer,
        de_an_id=step.de_an_id,
    )


async def claim_decision_number(conn: Any, step: DeAnStep) -> None:
    """Register the step's decision number, or raise :class:`DecisionConflictError` when the
    number is recorded with another date or signer (domain.decisions)."""
    facts = decision_facts(step)
    if facts is None:
        return
    row = await conn.fetchrow(
        CLAIM_DECISION_NUMBER,
        decision_scope(step.snapshot.level, step.snapshot.province),
        facts.decision_date.year,
        number_key(facts.number),
        facts.number,
        facts.decision_date,
        facts.signer,
        step.key,
        step.de_an_id,
    )
    recorded = DecisionFacts(
        number=row["number"],
        decision_date=row["decision_date"],
        signer=row["signer"],
        de_an_id=row["first_de_an"],
    )
    try:
        check_same_decision(recorded, facts)
    except Refusal as refusal:
        raise DecisionConflictError(refusal) from None


def _event_args(step: DeAnStep) -> tuple[Any, ...]:
    actor = step.actor
    return (
        step.key,
        step.de_an_id,
        step.snapshot.seq,
        step.action.value,
        step.stage_from.value,
        step.stage_to.value,
        actor.official_id if actor else None,
        actor.full_name if actor else None,
        actor.role.value if actor else None,
        actor.organisation if actor else None,
        actor.province if actor else None,
        step.occurred_at,
        step.business_date,
        step.decision_number,
        step.summary,
        step.details,
    )


# --- detail rows ---------------------------------------------------------------------------------


def detail_statement(step: DeAnStep) -> tuple[str, tuple[Any, ...]] | None:
    """The detail row a step writes, as ``(sql, args)``; None for event-only actions."""
    action, key, de_an = step.action, step.key, step.de_an_id
    official = step.actor.official_id if step.actor else None

    if action in EVENT_ONLY_ACTIONS:
        return None
    if action in PAYMENT_ACTIONS:
        payment = step.payment
        if payment is None:
            raise InvalidStepError(f"step {key}: {action.value} carries no payment")
        return INSERT_PAYMENT, (
            payment.key,
            key,
            de_an,
            payment.kind.value,
            payment.amount,
            payment.paid_on,
            payment.voucher_number,
            official,
        )
    if action is Action.DEADLINE_MISSED:
        deadline = step.deadline
        if deadline is None:
            raise InvalidStepError(f"step {key}: {action.value} carries no deadline")
        return INSERT_NOTIFICATION, (
            key,
            de_an,
            "deadline_missed",
            deadline.kind.value,
            deadline.ref,
            deadline.due_date,
            deadline.citation,
            step.summary or deadline.describe(),
            step.occurred_at,
        )
    row = detail_row(step)
    if row is None:  # an action added later that writes only its event
        return None
    if isinstance(row, AppraisalRow):
        return INSERT_APPRAISAL, (
            key,
            de_an,
            row.round,
            row.verdict,
            row.minutes_number,
            row.by_council,
            row.appraised_on,
            official,
            row.reason,
        )
    if isinstance(row, DecisionRow):
        return INSERT_DECISION, (
            key,
            de_an,
            row.kind,
            row.number,
            row.decision_date,
            row.signer or (step.actor.full_name if step.actor else None),
            official,
            row.amount,
            step.details,
        )
    if isinstance(row, ContractRow):
        return INSERT_CONTRACT, (
            key,
            de_an,
            row.number,
            row.signed_on,
            row.contracted_support,
            row.via_bidding,
            official,
        )
    if isinstance(row, ProgressReportRow):
        return INSERT_PROGRESS_REPORT, (
            key,
            de_an,
            row.month,
            row.investment_done_bp,
            row.spent_cost,
            row.reported_on,
            official,
        )
    if isinstance(row, ProgressConfirmationRow):
        return CONFIRM_PROGRESS_REPORT, (de_an, row.month, official or "", row.confirmed_on, key)
    if isinstance(row, MonitoringVisitRow):
        return INSERT_MONITORING_VISIT, (
            key,
            de_an,
            row.visited_on,
            row.minutes_number,
            row.findings,
            row.hold_payments,
            official,
        )
    if isinstance(row, AdvanceRequestRow):
        return INSERT_ADVANCE_REQUEST, (
            key,
            de_an,
            row.request_no,
            row.amount,
            row.requested_on,
            official,
        )
    if isinstance(row, AcceptanceRow):
        return INSERT_ACCEPTANCE, (
            key,
            de_an,
            row.minutes_number,
            row.accepted_on,
            row.accepted_cost,
            row.accepted_volume_bp,
            row.force_majeure,
            official,
        )
    if isinstance(row, SettlementRow):
        return INSERT_SETTLEMENT, (
            key,
            de_an,
            row.number,
            row.settled_on,
            row.disallowed_cost,
            row.eligible_cost,
            row.rate_bp,
            row.cap,
            row.final_support,
            row.payout,
            row.refund_owed,
            official,
        )
    if isinstance(row, InsertedRow):
        return inserted_row_statement(row), (key, de_an, official, *inserted_row_values(row))
    raise InvalidStepError(f"step {key}: no detail mapping for action {action.value}")


def inserted_row_columns(model: type[InsertedRow]) -> tuple[str, ...]:
    """The columns of an :class:`InsertedRow`'s table the row fills besides the three every
    such table has: one per field of the model but ``table``, in the model's order."""
    return tuple(name for name in model.model_fields if name != "table")


def inserted_row_statement(row: InsertedRow) -> str:
    """The generic insert of a row added with a new action: ``idempotency_key``, ``de_an_id``,
    ``official_id``, then its fields, ``ON CONFLICT (<conflict_key>) DO NOTHING``. Names
    come from the model (a table name is checked when the model is defined)."""
    model = type(row)
    table = model.model_fields["table"].default
    columns = ("idempotency_key", "de_an_id", "official_id", *inserted_row_columns(model))
    marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    return (
        f"INSERT INTO {table} ({', '.join(columns)})\n"
        f"VALUES ({marks})\n"
        f"ON CONFLICT ({model.conflict_key}) DO NOTHING\n"
    )


def inserted_row_values(row: InsertedRow) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in inserted_row_columns(type(row)))
