"""The project's own Prometheus counters, next to the SDK's on ``KHUYENCONG_METRICS_BIND``.

Counted by two worker interceptors, without a line in the workflow code:

- :class:`RefusalMetricsInterceptor` (workflow side) wraps every update's validator and handler
  and counts the :class:`~temporalio.exceptions.ApplicationError` it raises, by its ``type``
  (the stable refusal code, e.g. ``NotAuthorized``). It counts through
  :func:`temporalio.workflow.metric_meter`, which records nothing while history is replayed:
  a worker that rebuilds a đề án from its history does not count its refusals again.
- :class:`StepMetricsInterceptor` (activity side) counts a step once ``record_step``,
  ``record_payment`` or ``record_missed_deadline`` has committed it **and** answered that it
  was new (True). A retry that finds the step already written (False) counts nothing, so a
  payout is never counted twice; a worker killed between the commit and its answer loses that
  one increment (the counters are per process and restart at zero anyway). PostgreSQL is the
  ledger; these counters are for rates and alerts.

Metrics (counters; the Prometheus endpoint adds ``namespace``, ``task_queue`` and
``activity_type`` or ``workflow_type`` labels):

=====================================  ==========================================================
``khuyencong_stage_transitions``       Steps applied, by ``action``, ``stage`` (after the step)
                                       and ``level`` (``quoc_gia`` / ``dia_phuong``)
``khuyencong_refused_actions``         Officials' actions refused, by ``error_type``, ``action``
                                       and ``phase`` (``validator``: refused before acceptance,
                                       nothing in history; ``handler``: refused after)
``khuyencong_payouts``                 Payments recorded, by ``kind`` (advance, settlement,
                                       refund)
``khuyencong_payout_amount_dong``      Their amount in đồng, by ``kind``
``khuyencong_overdue_deadlines``       Deadlines missed, by ``kind`` (progress_report,
                                       settlement_dossier, settlement)
``khuyencong_persist_failures``        Attempts of ``record_step``, ``record_payment`` or
                                       ``record_missed_deadline`` that failed, by ``error_type``
                                       (``InvalidStep``, ``ConstraintViolation``: never
                                       retried; else the exception, e.g.
                                       ``ConnectionRefusedError``: retried) and ``retryable``
=====================================  ==========================================================

A payload the converter cannot read (``InvalidField``) is refused before any validator runs,
so no interceptor sees it: it is not in ``khuyencong_refused_actions``.

This module must stay importable inside the workflow sandbox: no asyncpg, no side effects.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity, workflow
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from workflows.de_an_contract import DeAnStep

STAGE_TRANSITIONS = "khuyencong_stage_transitions"
REFUSED_ACTIONS = "khuyencong_refused_actions"
PAYOUTS = "khuyencong_payouts"
PAYOUT_AMOUNT = "khuyencong_payout_amount_dong"
OVERDUE_DEADLINES = "khuyencong_overdue_deadlines"
PERSIST_FAILURES = "khuyencong_persist_failures"

COUNTERS: dict[str, tuple[str, str | None]] = {
    STAGE_TRANSITIONS: ("Steps applied to đề án, by action, stage after the step and level", None),
    REFUSED_ACTIONS: ("Officials' actions refused, by error type, action and phase", None),
    PAYOUTS: ("Payments recorded (advance, settlement, refund), by kind", None),
    PAYOUT_AMOUNT: ("Amount of the payments recorded, in đồng, by kind", "đồng"),
    OVERDUE_DEADLINES: ("Deadlines missed, by kind", None),
    PERSIST_FAILURES: (
        "Failed attempts to persist a step, by error type and whether it is retried",
        None,
    ),
}
"""Every project counter: name → (description, unit)."""

PERSIST_ACTIVITIES = frozenset({"record_step", "record_payment", "record_missed_deadline"})
"""The activities whose success means a step reached PostgreSQL."""


def _counter(meter: MetricMeter, name: str) -> Any:
    description, unit = COUNTERS[name]
    return meter.create_counter(name, description, unit)


# --- workflow side: refusals ------------------------------------------------------------------


def count_refusal(error: ApplicationError, action: str, phase: str) -> None:
    """Count one refused action (in workflow code: replay-safe through the workflow meter)."""
    _counter(workflow.metric_meter(), REFUSED_ACTIONS).add(
        1,
        {"error_type": error.type or "ApplicationError", "action": action, "phase": phase},
    )


class _CountRefusals(WorkflowInboundInterceptor):
    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        try:
            self.next.handle_update_validator(input)
        except ApplicationError as error:
            count_refusal(error, input.update, "validator")
            raise

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        try:
            return await self.next.handle_update_handler(input)
        except ApplicationError as error:
            count_refusal(error, input.update, "handler")
            raise


class RefusalMetricsInterceptor(Interceptor):
    """Counts refused officials' actions (``khuyencong_refused_actions``)."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _CountRefusals


# --- activity side: steps, payouts, overdue deadlines -----------------------------------------


def count_step(meter: MetricMeter, step: DeAnStep) -> None:
    """Count one step that was just written to PostgreSQL for the first time."""
    _counter(meter, STAGE_TRANSITIONS).add(
        1,
        {
            "action": step.action.value,
            "stage": step.stage_to.value,
            "level": step.snapshot.level,
        },
    )
    if step.payment is not None:
        kind = {"kind": step.payment.kind.value}
        _counter(meter, PAYOUTS).add(1, kind)
        _counter(meter, PAYOUT_AMOUNT).add(step.payment.amount, kind)
    if step.deadline is not None:
        _counter(meter, OVERDUE_DEADLINES).add(1, {"kind": step.deadline.kind.value})


def count_persist_failure(meter: MetricMeter, error: BaseException) -> None:
    """Count one failed attempt to persist a step (each retry counts again: a rate of these
    that does not fall is a đề án stuck on a transient error, see ``khuyencong problems``)."""
    if isinstance(error, ApplicationError):
        error_type, retryable = error.type or "ApplicationError", not error.non_retryable
    else:
        error_type, retryable = type(error).__name__, True
    _counter(meter, PERSIST_FAILURES).add(
        1, {"error_type": error_type, "retryable": "true" if retryable else "false"}
    )


class _CountPersistedSteps(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            result = await self.next.execute_activity(input)
        except Exception as error:
            if activity.info().activity_type in PERSIST_ACTIVITIES:
                count_persist_failure(activity.metric_meter(), error)
            raise
        if result is True and activity.info().activity_type in PERSIST_ACTIVITIES:
            step = input.args[0] if input.args else None
            if isinstance(step, DeAnStep):
                count_step(activity.metric_meter(), step)
        return result


class StepMetricsInterceptor(Interceptor):
    """Counts steps, payouts and overdue deadlines once PostgreSQL has them."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountPersistedSteps(next)


def metrics_interceptors() -> list[Interceptor]:
    """Both interceptors, as ``worker.build_worker`` registers them."""
    return [RefusalMetricsInterceptor(), StepMetricsInterceptor()]
