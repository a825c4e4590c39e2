"""The one write path of a step: read-model row, event, detail row, in the caller's transaction.

Exactly-once comes from the database, not from Temporal: the event is inserted with
``ON CONFLICT (idempotency_key) DO NOTHING`` and the detail row is written only when the
event was new, so an activity that committed and then crashed (and is retried) writes
nothing the second time. The read-model row moves only forwards: a snapshot replaces it only
when its ``seq`` is higher than the stored one.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from typing import Any, Literal

import asyncpg
import structlog
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.decisions import DecisionFacts, check_same_decision, decision_scope, number_key
from domain.errors import Refusal
from domain.stages import Action
from workflows.de_an_contract import DeAnStep
from workflows.de_an_rows import (
    AcceptanceRow,
    AdvanceRequestRow,
    AppraisalRow,
    ContractRow,
    DecisionRow,
    MonitoringVisitRow,
    ProgressConfirmationRow,
    ProgressReportRow,
    SettlementRow,
)

DetailRowType = (
    AppraisalRow
    | DecisionRow
    | ContractRow
    | ProgressReportRow
    | ProgressConfirmationRow
    | MonitoringVisitRow
    | AdvanceRequestRow
    | AcceptanceRow
    | SettlementRow
)

log = structlog.get_logger(__name__)

# --- statements ------------------------------------------------------------------------------

UPSERT_DE_AN = """
INSERT INTO de_an (
    de_an_id, workflow_id, seq, code, title, level, province, district, commune,
    content_area, support_item, beneficiary_name, beneficiary_type, plan_year, stage,
    requested_support, approved_support, contracted_support, advanced, paid,
    refund_owed, refunded, payments_on_hold, overdue, rule_pack_id,
    created_at, updated_at, address, schedule_start, schedule_end
) VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9,
    $10, $11, $12, $13, $14, $15,
    $16, $17, $18, $19, $20,
    $21, $22, $23, $24, $25,
    $26, $26, $27, $28, $29
)
ON CONFLICT (de_an_id) DO UPDATE SET
    workflow_id        = EXCLUDED.workflow_id,
    seq                = EXCLUDED.seq,
    code               = EXCLUDED.code,
    title              = EXCLUDED.title,
    level              = EXCLUDED.level,
    province           = EXCLUDED.province,
    district           = EXCLUDED.district,
    commune            = EXCLUDED.commune,
    content_area       = EXCLUDED.content_area,
    support_item       = EXCLUDED.support_item,
    beneficiary_name   = EXCLUDED.beneficiary_name,
    beneficiary_type   = EXCLUDED.beneficiary_type,
    plan_year          = EXCLUDED.plan_year,
    stage              = EXCLUDED.stage,
    requested_support  = EXCLUDED.requested_support,
    approved_support   = EXCLUDED.approved_support,
    contracted_support = EXCLUDED.contracted_support,
    advanced           = EXCLUDED.advanced,
    paid               = EXCLUDED.paid,
    refund_owed        = EXCLUDED.refund_owed,
    refunded           = EXCLUDED.refunded,
    payments_on_hold   = EXCLUDED.payments_on_hold,
    overdue            = EXCLUDED.overdue,
    rule_pack_id       = EXCLUDED.rule_pack_id,
    updated_at         = EXCLUDED.updated_at,
    address            = EXCLUDED.address,
    schedule_start     = EXCLUDED.schedule_start,
    schedule_end       = EXCLUDED.schedule_end
WHERE de_an.seq < EXCLUDED.seq
"""

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

# --- which activity writes which action --------------------------------------------------------

PAYMENT_ACTIONS: dict[Action, str] = {
    Action.PAY_ADVANCE: "advance",
    Action.PAY_SETTLEMENT: "settlement",
    Action.RECORD_REFUND: "refund",
}
"""Actions that move money, and the payment kind each one carries."""

DEADLINE_ACTIONS = frozenset({Action.DEADLINE_MISSED})

RECORD_ACTIONS = frozenset(Action) - set(PAYMENT_ACTIONS) - DEADLINE_ACTIONS
"""Everything else: written by ``record_step``."""

EVENT_ONLY_ACTIONS = frozenset(
    {
        Action.REGISTER,
        Action.RESUBMIT,
        Action.RESOLVE_FINDINGS,
        Action.SUBMIT_SETTLEMENT_DOSSIER,
    }
)

DECISION_KINDS: dict[Action, Literal["approve", "reject", "adjust", "stop"]] = {
    Action.APPROVE: "approve",
    Action.REJECT: "reject",
    Action.ADJUST: "adjust",
    Action.STOP: "stop",
}


class InvalidStepError(ValueError):
    """The step cannot be stored: a bug in the caller, retrying will not help."""


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

    ``conn`` must come from :func:`khuyencong.db.create_pool` (jsonb codec). Raises
    :class:`InvalidStepError` for a step that lacks what its action needs.
    """
    validate_step(step)
    detail = detail_statement(step)  # parse before writing anything
    await _checked(conn, "execute", UPSERT_DE_AN, *_snapshot_args(step))
    event_id = await _checked(conn, "fetchval", INSERT_EVENT, *_event_args(step))
    if event_id is None:
        return False
    await claim_decision_number(conn, step)
    if detail is not None:
        sql, args = detail
        await _checked(conn, "execute", sql, *args)
    return True


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


def validate_step(step: DeAnStep) -> None:
    if step.snapshot.de_an_id != step.de_an_id:
        raise InvalidStepError(
            f"step {step.key}: snapshot of {step.snapshot.de_an_id!r}, step of {step.de_an_id!r}"
        )
    if step.action in PAYMENT_ACTIONS:
        if step.payment is None:
            raise InvalidStepError(f"step {step.key}: {step.action.value} carries no payment")
        if step.payment.kind.value != PAYMENT_ACTIONS[step.action]:
            raise InvalidStepError(
                f"step {step.key}: {step.action.value} carries a {step.payment.kind.value} payment"
            )
    if step.action in DEADLINE_ACTIONS and step.deadline is None:
        raise InvalidStepError(f"step {step.key}: {step.action.value} carries no deadline")


def _snapshot_args(step: DeAnStep) -> tuple[Any, ...]:
    s = step.snapshot
    return (
        s.de_an_id,
        s.workflow_id,
        s.seq,
        s.code,
        s.title,
        s.level,
        s.province,
        s.district,
        s.commune,
        s.content_area,
        s.support_item,
        s.beneficiary_name,
        s.beneficiary_type,
        s.plan_year,
        s.stage.value,
        s.requested_support,
        s.approved_support,
        s.contracted_support,
        s.advanced,
        s.paid,
        s.refund_owed,
        s.refunded,
        s.payments_on_hold,
        s.overdue,
        s.rule_pack_id,
        step.occurred_at,
        s.address,
        s.schedule_start,
        s.schedule_end,
    )


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


# --- the detail row of a step ---------------------------------------------------------------


def appraisal_round(step: DeAnStep) -> str:
    """co_so (Sở) then bo (Cục) for national đề án; tinh for provincial ones."""
    if step.snapshot.level != "quoc_gia":
        return "tinh"
    return "co_so" if step.stage_from.value == "registered" else "bo"


ROW_TYPES: dict[Action, type[DetailRowType]] = {
    Action.APPRAISE: AppraisalRow,
    Action.APPROVE: DecisionRow,
    Action.REJECT: DecisionRow,
    Action.ADJUST: DecisionRow,
    Action.STOP: DecisionRow,
    Action.SIGN_CONTRACT: ContractRow,
    Action.REPORT_PROGRESS: ProgressReportRow,
    Action.CONFIRM_PROGRESS: ProgressConfirmationRow,
    Action.RECORD_VISIT: MonitoringVisitRow,
    Action.REQUEST_ADVANCE: AdvanceRequestRow,
    Action.ACCEPT: AcceptanceRow,
    Action.SETTLE: SettlementRow,
}
"""The detail row each action writes; the others write none (event only), a payment or a
notification (typed fields of their own on the step)."""


def detail_row(step: DeAnStep) -> DetailRowType | None:
    """The step's typed detail row: the one its decider built or, for a step scheduled by a
    worker older than typed rows (no ``row``), the one its ``details`` dict describes."""
    expected = ROW_TYPES.get(step.action)
    if expected is None:
        if step.row is not None:
            raise InvalidStepError(
                f"step {step.key}: {step.action.value} writes no {step.row.table} row"
            )
        return None
    if step.row is None:
        try:
            return legacy_row(step)
        except ValidationError as exc:  # a value of the wrong type in the old dict
            raise InvalidStepError(f"step {step.key}: details do not make a row: {exc}") from exc
    if not isinstance(step.row, expected):
        raise InvalidStepError(
            f"step {step.key}: {step.action.value} carries a {step.row.table} row"
        )
    return step.row


# --- steps of older workers: the row read from the details dict ------------------------------


class _Details:
    """Typed reads from ``step.details`` (JSON: dates are ISO strings)."""

    def __init__(self, step: DeAnStep) -> None:
        self._step = step
        self._d = step.details

    def _get(self, key: str) -> Any:
        if key not in self._d or self._d[key] is None:
            raise InvalidStepError(f"step {self._step.key}: details lack {key!r}")
        return self._d[key]

    def text(self, key: str) -> str:
        return str(self._get(key))

    def opt_text(self, key: str) -> str | None:
        value = self._d.get(key)
        return None if value is None else str(value)

    def number(self, key: str) -> int:
        return self._int(key, self._get(key))

    def opt_number(self, key: str) -> int | None:
        value = self._d.get(key)
        return None if value is None else self._int(key, value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._d.get(key, default)
        if not isinstance(value, bool):
            raise InvalidStepError(f"step {self._step.key}: {key!r} is not true/false")
        return value

    def day(self, key: str) -> date:
        value = self._get(key)
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise InvalidStepError(f"step {self._step.key}: {key!r} is not a date") from exc

    def _int(self, key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidStepError(f"step {self._step.key}: {key!r} is not a whole number")
        try:
            return int(value)
        except ValueError as exc:
            raise InvalidStepError(f"step {self._step.key}: {key!r} is not a whole number") from exc


def legacy_row(step: DeAnStep) -> DetailRowType | None:
    """The detail row of an old-format step (``details`` dict, no ``row``), read exactly as
    the activities read it before rows were typed: same keys, same defaults, same refusals
    (:class:`InvalidStepError` naming the missing or malformed key)."""
    action = step.action
    d = _Details(step)
    if action is Action.APPRAISE:
        return AppraisalRow(
            round=d.opt_text("round") or appraisal_round(step),
            verdict=d.text("verdict"),
            minutes_number=d.text("minutes_number"),
            by_council=d.flag("by_council"),
            appraised_on=d.day("appraised_on"),
            reason=d.opt_text("reason") or "",
        )
    if action in DECISION_KINDS:
        return DecisionRow(
            kind=DECISION_KINDS[action],
            number=step.decision_number or d.text("decision_number"),
            decision_date=d.day("decision_date"),
            signer=d.opt_text("signer"),
            amount={
                Action.APPROVE: d.opt_number("approved_support"),
                Action.ADJUST: d.opt_number("new_support"),
            }.get(action),
        )
    if action is Action.SIGN_CONTRACT:
        return ContractRow(
            number=step.decision_number or d.text("contract_number"),
            signed_on=d.day("signed_on"),
            contracted_support=d.number("contracted_support"),
            via_bidding=d.flag("via_bidding"),
        )
    if action is Action.REPORT_PROGRESS:
        return ProgressReportRow(
            month=d.text("month"),
            investment_done_bp=d.number("investment_done_bp"),
            spent_cost=d.number("spent_cost"),
            reported_on=d.day("reported_on"),
        )
    if action is Action.CONFIRM_PROGRESS:
        return ProgressConfirmationRow(month=d.text("month"), confirmed_on=d.day("confirmed_on"))
    if action is Action.RECORD_VISIT:
        findings = step.details.get("findings") or []
        if not isinstance(findings, list):
            raise InvalidStepError(f"step {step.key}: 'findings' is not a list")
        return MonitoringVisitRow(
            visited_on=d.day("visited_on"),
            minutes_number=d.text("minutes_number"),
            findings=findings,
            hold_payments=d.flag("hold_payments"),
        )
    if action is Action.REQUEST_ADVANCE:
        return AdvanceRequestRow(
            request_no=d.opt_number("request_no"),
            amount=d.number("amount"),
            requested_on=d.day("requested_on"),
        )
    if action is Action.ACCEPT:
        return AcceptanceRow(
            minutes_number=d.text("minutes_number"),
            accepted_on=d.day("accepted_on"),
            accepted_cost=d.number("accepted_cost"),
            accepted_volume_bp=d.number("accepted_volume_bp"),
            force_majeure=d.flag("force_majeure"),
        )
    if action is Action.SETTLE:
        return SettlementRow(
            number=d.text("settlement_number"),
            settled_on=d.day("settled_on"),
            disallowed_cost=d.opt_number("disallowed_cost") or 0,
            eligible_cost=d.number("eligible_cost"),
            rate_bp=d.number("rate_bp"),
            cap=d.opt_number("cap"),
            final_support=d.number("final_support"),
            payout=d.number("payout"),
            refund_owed=d.number("refund_owed"),
        )
    return None


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
    raise InvalidStepError(f"step {key}: no detail mapping for action {action.value}")


# --- shared by the activities --------------------------------------------------------------------


def invalid_step(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidStep", non_retryable=True)


def not_storable(step: DeAnStep, refused: StepNotStorableError) -> ApplicationError:
    """A value PostgreSQL cannot hold, as a non-retryable ``InvalidStep`` whose details name
    the column (``field``) and the SQLSTATE for the workflow's refusal."""
    where = f" ({refused.field})" if refused.field else ""
    return ApplicationError(
        f"step {step.key}: PostgreSQL refused a value{where}: {refused}",
        {"field": refused.field, "sqlstate": refused.sqlstate, "message": str(refused)[:500]},
        type="InvalidStep",
        non_retryable=True,
    )


def require_action(step: DeAnStep, allowed: Collection[Action], activity_name: str) -> None:
    """Refuse (non-retryable) a step that belongs to another activity."""
    if step.action not in allowed:
        raise invalid_step(
            f"{activity_name} does not write {step.action.value} steps (step {step.key})"
        )


async def record_in_transaction(pool: Any, step: DeAnStep) -> bool:
    """``write_step`` in a transaction of its own, with logging and error mapping.

    A step the database refuses by a constraint (CHECK, foreign key, unique) is a bug that a
    retry cannot fix: it fails the activity without retries (type ``ConstraintViolation``).
    A value it cannot hold (``DataError``: out of range, invalid text) fails it the same way
    (type ``InvalidStep``, naming the column). The idempotency ``ON CONFLICT`` is no error.
    Every other database error (connection lost, timeout, serialisation) propagates and
    Temporal retries the activity: the workflow refuses the action only for the first two.
    """
    bound = log.bind(
        de_an_id=step.de_an_id, key=step.key, action=step.action.value, attempt=attempt()
    )
    try:
        async with pool.acquire() as conn, conn.transaction():
            new = await write_step(conn, step)
    except InvalidStepError as exc:
        bound.error("step refused", error=str(exc))
        raise invalid_step(str(exc)) from exc
    except DecisionConflictError as exc:
        refusal = exc.refusal
        bound.warning("decision number refused", error=str(refusal))
        raise ApplicationError(
            str(refusal), refusal.as_details(), type=refusal.code, non_retryable=True
        ) from None
    except (StepNotStorableError, asyncpg.DataError) as exc:
        refused = exc if isinstance(exc, StepNotStorableError) else StepNotStorableError(exc, None)
        bound.error(
            "step not storable", column=refused.field, sqlstate=refused.sqlstate, error=str(exc)
        )
        raise not_storable(step, refused) from exc
    except asyncpg.IntegrityConstraintViolationError as exc:
        constraint = getattr(exc, "constraint_name", None)
        bound.error("step violates a constraint", constraint=constraint, error=str(exc))
        raise ApplicationError(
            f"step {step.key} violates {constraint or 'a constraint'}: {exc}",
            constraint,
            type="ConstraintViolation",
            non_retryable=True,
        ) from exc
    if new:
        bound.info("step recorded", seq=step.snapshot.seq, stage=step.stage_to.value)
    else:
        bound.info("step already recorded")
    return new


def attempt() -> int:
    """The activity attempt number, or 0 outside an activity (direct calls in tests)."""
    return activity.info().attempt if activity.in_activity() else 0
