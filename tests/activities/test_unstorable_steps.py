"""A step PostgreSQL cannot store fails its activity at once, typed and naming the column;
an error that may pass (the database unreachable) is still left to Temporal's retries."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.records import DeAnRecordActivities
from db.de_an import argument_column
from db.pool import with_database
from domain.stages import Action
from tests.support.builders import make_dossier, make_step, unique_code
from tests.support.postgres import rows_of


@pytest.fixture
def acts(db_pool: Any) -> DeAnRecordActivities:
    return DeAnRecordActivities(db_pool)


@pytest.mark.parametrize("amount", [10**30, 2**64], ids=["10^30", "2^64"])
async def test_an_amount_out_of_bigint_range_fails_the_activity_without_retry_naming_the_column(
    acts: DeAnRecordActivities, db_pool: Any, amount: int
) -> None:
    dossier = make_dossier(code=unique_code())
    step = make_step(Action.REGISTER, dossier=dossier, snapshot={"requested_support": amount})

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(acts.record_step, step)

    error = raised.value
    assert error.type == "InvalidStep"
    assert error.non_retryable
    assert error.details[0]["field"] == "requested_support"
    assert error.details[0]["sqlstate"] == "22000"
    assert "int64" in error.details[0]["message"]
    assert await rows_of(db_pool, "de_an", dossier.code) == 0  # the transaction rolled back


async def test_a_request_number_out_of_integer_range_names_its_column(
    acts: DeAnRecordActivities, db_pool: Any
) -> None:
    dossier = make_dossier(code=unique_code())
    await ActivityEnvironment().run(
        acts.record_step, make_step(Action.REGISTER, dossier=dossier, seq=1)
    )
    step = make_step(
        Action.REQUEST_ADVANCE,
        dossier=dossier,
        seq=2,
        details={"amount": 1_000_000, "requested_on": "2019-05-02", "request_no": 2**40},
    )

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(acts.record_step, step)

    assert raised.value.type == "InvalidStep" and raised.value.non_retryable
    assert raised.value.details[0]["field"] == "request_no"
    assert await rows_of(db_pool, "de_an_event", dossier.code) == 1  # only the registration


async def test_text_the_database_cannot_hold_is_refused_without_retry(
    acts: DeAnRecordActivities,
) -> None:
    dossier = make_dossier(code=unique_code())
    step = make_step(Action.REGISTER, dossier=dossier, snapshot={"title": "Máy\x00ép"})

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(acts.record_step, step)

    assert raised.value.type == "InvalidStep" and raised.value.non_retryable


async def test_an_unreachable_database_is_left_to_temporal_to_retry(pg_url: str) -> None:
    pool = await asyncpg.create_pool(with_database(pg_url, "kc_missing"), min_size=0, max_size=1)
    try:
        step = make_step(Action.REGISTER, dossier=make_dossier(code=unique_code()))
        # The driver's own error, not a non-retryable ApplicationError: retried by the policy.
        with pytest.raises(asyncpg.InvalidCatalogNameError) as raised:
            await ActivityEnvironment().run(DeAnRecordActivities(pool).record_step, step)
        assert not isinstance(raised.value, ApplicationError)
    finally:
        await pool.close()


def test_the_column_of_a_refused_argument_is_read_from_the_statement() -> None:
    sql = "INSERT INTO t (a, b, c) VALUES ($1, COALESCE($2::integer, 1), $3)"
    error = asyncpg.DataError("invalid input for query argument $2: 99 (value out of range)")
    assert argument_column(sql, error) == "b"
    assert argument_column("UPDATE t SET a = $1", error) is None
