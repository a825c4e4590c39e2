"""``record_step``: persist a step that moves no money and misses no deadline.

Idempotent because the event row is keyed by the step's idempotency key (built from
business identity, ``{de_an}:{action}:{ref}``, never from the activity ID, which restarts
after continue-as-new): the event is inserted ``ON CONFLICT DO NOTHING`` and the detail row
only when the event was new, all in one transaction. A retry after a commit finds the event
and writes nothing; the read model moves only to a higher ``seq``.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities._steps import RECORD_ACTIONS, record_in_transaction, require_action
from workflows.de_an_contract import DeAnStep


class DeAnRecordActivities:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @activity.defn
    async def record_step(self, step: DeAnStep) -> bool:
        """Write the read model, the event and the detail row; True when the step was new."""
        require_action(step, RECORD_ACTIONS, "record_step")
        return await record_in_transaction(self._pool, step)
