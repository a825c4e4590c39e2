"""Which rows a step writes, typed: the action's classes, its detail row, and the row of a
step scheduled by a worker older than typed rows.

A decider puts the typed row in ``DeAnStep.row`` (``workflows.de_an_rows``). A step an older
worker scheduled carries only its ``details`` dict (Temporal may retry it on this worker):
:func:`detail_row` reads it into the same row exactly as the activities read it before rows
were typed (same keys, same defaults, an :class:`InvalidStepError` naming what is missing).
Pure: no asyncpg.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import ValidationError

from domain.stages import Action
from workflows.de_an_actions import BY_ACTION
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
    Row,
    SettlementRow,
)

DetailRowType = Row
"""Any detail row (``workflows.de_an_rows``)."""

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
"""The detail row each of the lifecycle's actions writes; the others write none (event only),
a payment or a notification (typed fields of their own on the step). An action added later
names its row in its definition (``ActionDefinition.row``, :func:`row_type`)."""


def row_type(action: Action) -> type[Row] | None:
    """The model of the detail row ``action`` writes; None: none."""
    known = ROW_TYPES.get(action)
    if known is not None:
        return known
    defined = BY_ACTION.get(action)
    return defined.row if defined is not None else None


def detail_row(step: DeAnStep) -> DetailRowType | None:
    """The step's typed detail row: the one its decider built or, for a step scheduled by a
    worker older than typed rows (no ``row``), the one its ``details`` dict describes."""
    expected = row_type(step.action)
    if expected is None:
        if step.row is not None:
            raise InvalidStepError(
                f"step {step.key}: {step.action.value} writes no {step.row.table} row"
            )
        return None
    if step.row is None:
        if step.action not in ROW_TYPES:  # no worker older than typed rows knew this action
            raise InvalidStepError(f"step {step.key}: {step.action.value} carries no row")
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
