"""The production worker, made to die in the middle of settlement.

Run as ``python -m tests.support.crashing_worker`` with the usual ``KHUYENCONG_*`` settings.
The settlement payment activity commits its transaction and then the process exits at once
(``os._exit``): PostgreSQL has the payment, Temporal never hears that the activity finished.
That is the worst moment for a crash, and the one an idempotency key must survive.
"""

from __future__ import annotations

import asyncio
import os

from temporalio import activity

import worker
from activities.payments import DeAnPaymentActivities
from khuyencong.settings import Settings
from workflows.de_an_contract import DeAnStep, PaymentKind


class PaymentsThatDieAfterCommit(DeAnPaymentActivities):
    @activity.defn(name="record_payment")
    async def record_payment(self, step: DeAnStep) -> bool:
        written = await super().record_payment(step)
        if step.payment is not None and step.payment.kind is PaymentKind.SETTLEMENT:
            os._exit(137)  # committed, never reported: like a power cut or an OOM kill
        return written


setattr(worker, "DeAnPaymentActivities", PaymentsThatDieAfterCommit)  # noqa: B010

if __name__ == "__main__":
    asyncio.run(worker.run_worker(Settings.from_env()))
