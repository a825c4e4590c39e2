"""``record_payment``: persist money that moved (advance, settlement payout, refund).

Idempotent twice over: the event is keyed by the step's key and the payment row by the
payment's own business key (``{de_an}:payment:...``), both inserted ``ON CONFLICT DO NOTHING``
in the same transaction as the read-model row. An attempt that committed and then crashed is
retried by Temporal and writes no second payment row; a payment row never exists without
its event, nor the other way round.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities._steps import PAYMENT_ACTIONS, invalid_step, record_in_transaction, require_action
from workflows.de_an_contract import DeAnStep


class DeAnPaymentActivities:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @activity.defn
    async def record_payment(self, step: DeAnStep) -> bool:
        """Write the payment, its event and the snapshot; True when the payment step was new."""
        require_action(step, PAYMENT_ACTIONS, "record_payment")
        if step.payment is None:
            raise invalid_step(f"record_payment needs step.payment (step {step.key})")
        return await record_in_transaction(self._pool, step)
