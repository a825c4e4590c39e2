"""``record_missed_deadline``: persist a missed deadline as an event and a notification.

Idempotent because the step key names the deadline (``{de_an}:deadline_missed:{kind}:{ref}``)
and both the event and the notification are inserted ``ON CONFLICT (idempotency_key) DO
NOTHING`` in one transaction: a timer that fires again after continue-as-new, or a retried
attempt, leaves one notification.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities._steps import DEADLINE_ACTIONS, invalid_step, record_in_transaction, require_action
from workflows.de_an_contract import DeAnStep


class DeAnNotificationActivities:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @activity.defn
    async def record_missed_deadline(self, step: DeAnStep) -> bool:
        """Write the notification, its event and the snapshot; True when it was new."""
        require_action(step, DEADLINE_ACTIONS, "record_missed_deadline")
        if step.deadline is None:
            raise invalid_step(f"record_missed_deadline needs step.deadline (step {step.key})")
        return await record_in_transaction(self._pool, step)
