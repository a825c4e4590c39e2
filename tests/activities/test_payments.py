"""record_payment against a real PostgreSQL: exactly one payment row per payment."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.payments import DeAnPaymentActivities
from activities.records import DeAnRecordActivities
from domain.model import DeAnDossier, Role
from domain.stages import Action, Stage
from tests.support.builders import (
    details_of,
    make_actor,
    make_dossier,
    make_payment,
    make_step,
    unique_code,
)
from tests.support.postgres import rows_of
from workflows.de_an_contract import DeAnPayAdvance, DeAnStep, PaymentKind

FINANCE = make_actor(Role.TAI_CHINH)
APPROVED = 200_000_000


@pytest.fixture
def acts(db_pool: Any) -> DeAnPaymentActivities:
    return DeAnPaymentActivities(db_pool)


@pytest.fixture
async def dossier(db_pool: Any) -> DeAnDossier:
    """A đề án in progress with 200 000 000 đ approved and contracted."""
    dossier = make_dossier(code=unique_code())
    await DeAnRecordActivities(db_pool).record_step(
        make_step(Action.REGISTER, dossier=dossier, seq=1)
    )
    return dossier


def pay_advance(
    dossier: DeAnDossier, amount: int = 100_000_000, *, seq: int = 5, paid: int | None = None
) -> DeAnStep:
    paid = amount if paid is None else paid
    return make_step(
        Action.PAY_ADVANCE,
        dossier=dossier,
        seq=seq,
        ref="1",
        actor=FINANCE,
        details=details_of(
            DeAnPayAdvance(
                actor=FINANCE, request_no=1, paid_on=date(2019, 6, 10), voucher_number="PC-0123"
            )
        ),
        payment=make_payment(dossier.code, PaymentKind.ADVANCE, amount, ref="1"),
        snapshot={
            "approved_support": APPROVED,
            "contracted_support": APPROVED,
            "advanced": paid,
            "paid": paid,
        },
    )


async def test_a_retried_payment_writes_one_row(
    acts: DeAnPaymentActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    step = pay_advance(dossier)

    assert await ActivityEnvironment().run(acts.record_payment, step) is True
    assert await acts.record_payment(step) is False

    assert await rows_of(db_pool, "payment", dossier.code) == 1
    async with db_pool.acquire() as conn:
        payment = await conn.fetchrow("SELECT * FROM payment WHERE de_an_id = $1", dossier.code)
        de_an = await conn.fetchrow("SELECT * FROM de_an WHERE de_an_id = $1", dossier.code)
    assert payment["idempotency_key"] == f"{dossier.code}:payment:advance:1"
    assert payment["event_key"] == step.key
    assert (payment["kind"], payment["amount"], payment["official_id"]) == (
        "advance",
        100_000_000,
        FINANCE.official_id,
    )
    assert (de_an["advanced"], de_an["paid"], de_an["seq"]) == (100_000_000, 100_000_000, 5)


async def test_concurrent_attempts_of_one_payment_write_one_row(
    acts: DeAnPaymentActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    step = pay_advance(dossier)

    results = await asyncio.gather(*(acts.record_payment(step) for _ in range(4)))

    assert sorted(results) == [False, False, False, True]
    assert await rows_of(db_pool, "payment", dossier.code) == 1
    assert await rows_of(db_pool, "de_an_event", dossier.code) == 2  # register + payment


async def test_a_payment_sent_again_under_another_step_key_writes_one_row(
    acts: DeAnPaymentActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    first = pay_advance(dossier)
    again = first.model_copy(update={"key": first.key + ":after-continue-as-new"})

    await acts.record_payment(first)
    await acts.record_payment(again)

    assert await rows_of(db_pool, "payment", dossier.code) == 1


async def test_an_overpayment_is_refused_by_the_database(
    acts: DeAnPaymentActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    step = pay_advance(dossier, amount=250_000_000)  # paid 250 M > approved 200 M

    with pytest.raises(ApplicationError) as refused:
        await acts.record_payment(step)

    assert refused.value.type == "ConstraintViolation"
    assert refused.value.non_retryable
    assert refused.value.details == ("de_an_paid_within_approved",)
    assert await rows_of(db_pool, "payment", dossier.code) == 0
    assert await rows_of(db_pool, "de_an_event", dossier.code) == 1  # only the registration


async def test_payment_amounts_must_be_positive(db_pool: Any, dossier: DeAnDossier) -> None:
    await DeAnPaymentActivities(db_pool).record_payment(pay_advance(dossier))
    async with db_pool.acquire() as conn:
        event_key = await conn.fetchval(
            "SELECT idempotency_key FROM de_an_event WHERE de_an_id = $1 AND action = $2",
            dossier.code,
            "register",
        )
        for amount in (0, -1):
            with pytest.raises(asyncpg.CheckViolationError, match="payment_amount_check"):
                await conn.execute(
                    """INSERT INTO payment (idempotency_key, event_key, de_an_id, kind, amount,
                                            paid_on, voucher_number)
                       VALUES ($1, $2, $3, 'refund', $4, current_date, 'PT-1')""",
                    f"{dossier.code}:payment:test:{amount}",
                    event_key,
                    dossier.code,
                    amount,
                )


async def test_settlement_and_refund_payments_are_recorded(
    acts: DeAnPaymentActivities, db_pool: Any
) -> None:
    paid_out, refunded = make_dossier(code=unique_code()), make_dossier(code=unique_code())
    settled = {"approved_support": APPROVED, "contracted_support": APPROVED}
    await acts.record_payment(
        make_step(
            Action.PAY_SETTLEMENT,
            dossier=paid_out,
            seq=12,
            ref="final",
            payment=make_payment(paid_out.code, PaymentKind.SETTLEMENT, 195_000_000, ref="final"),
            snapshot={**settled, "paid": 195_000_000},
        )
    )
    await acts.record_payment(
        make_step(
            Action.RECORD_REFUND,
            dossier=refunded,
            seq=12,
            ref="1",
            payment=make_payment(refunded.code, PaymentKind.REFUND, 5_000_000, ref="1"),
            snapshot={
                **settled,
                "advanced": 140_000_000,
                "paid": 140_000_000,
                "refund_owed": 5_000_000,
                "refunded": 5_000_000,
            },
        )
    )
    async with db_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT p.kind, p.amount, d.stage FROM payment p JOIN de_an d USING (de_an_id)"
            " WHERE de_an_id = ANY($1::text[]) ORDER BY p.kind",
            [paid_out.code, refunded.code],
        )
    assert [tuple(r) for r in rows] == [
        ("refund", 5_000_000, Stage.CLOSED.value),
        ("settlement", 195_000_000, Stage.CLOSED.value),
    ]


async def test_a_payment_step_without_its_payment_is_refused(
    acts: DeAnPaymentActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    step = pay_advance(dossier).model_copy(update={"payment": None})
    with pytest.raises(ApplicationError, match=r"needs step\.payment") as refused:
        await acts.record_payment(step)
    assert (refused.value.type, refused.value.non_retryable) == ("InvalidStep", True)


async def test_a_payment_of_the_wrong_kind_is_refused(
    acts: DeAnPaymentActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    step = pay_advance(dossier).model_copy(
        update={"payment": make_payment(dossier.code, PaymentKind.REFUND)}
    )
    with pytest.raises(ApplicationError, match="carries a refund payment") as refused:
        await acts.record_payment(step)
    assert (refused.value.type, refused.value.non_retryable) == ("InvalidStep", True)
    assert await rows_of(db_pool, "payment", dossier.code) == 0


async def test_record_payment_refuses_steps_that_move_no_money(
    acts: DeAnPaymentActivities, dossier: DeAnDossier
) -> None:
    with pytest.raises(ApplicationError, match="does not write register") as refused:
        await acts.record_payment(make_step(Action.REGISTER, dossier=dossier, seq=2))
    assert (refused.value.type, refused.value.non_retryable) == ("InvalidStep", True)
