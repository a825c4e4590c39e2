"""What the step activities share: the refusals they raise and the one transaction per step.

The rows themselves are written by the repository (:mod:`db.de_an`); a step of any format,
typed rows or an older worker's ``details`` dict, is accepted there.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.de_an import (
    DEADLINE_ACTIONS,
    PAYMENT_ACTIONS,
    RECORD_ACTIONS,
    DecisionConflictError,
    InvalidStepError,
    StepNotStorableError,
    write_step,
)
from domain.stages import Action
from workflows.de_an_contract import DeAnStep

__all__ = [
    "DEADLINE_ACTIONS",
    "PAYMENT_ACTIONS",
    "RECORD_ACTIONS",
    "invalid_step",
    "not_storable",
    "record_in_transaction",
    "require_action",
]

log = structlog.get_logger(__name__)


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
