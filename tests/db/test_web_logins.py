"""The record of web logins: one row per attempt (a retried write keeps one), and the count
of failures the lockout reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from db.web_logins import (
    LoginMethod,
    LoginOutcome,
    failures_since,
    recent_logins,
    record_login,
)


async def test_an_attempt_recorded_twice_is_one_row(db_pool: Any) -> None:
    official_id = f"web-{uuid.uuid4().hex[:8]}"
    attempt = uuid.uuid4()
    for _ in range(2):
        await record_login(
            db_pool, official_id, LoginMethod.PASSWORD, LoginOutcome.OK, attempt_id=attempt
        )
    rows = await recent_logins(db_pool, official_id)
    assert [(r.attempt_id, r.outcome) for r in rows] == [(attempt, LoginOutcome.OK)]


async def test_failures_count_within_the_window_and_after_the_last_accepted_login(
    db_pool: Any,
) -> None:
    official_id = f"web-{uuid.uuid4().hex[:8]}"
    hour_ago = datetime.now(UTC) - timedelta(hours=1)

    async def attempt(outcome: LoginOutcome) -> None:
        await record_login(db_pool, official_id, LoginMethod.PASSWORD, outcome)

    await attempt(LoginOutcome.WRONG_PASSWORD)
    await attempt(LoginOutcome.UNKNOWN)
    assert await failures_since(db_pool, official_id, hour_ago) == 2
    assert await failures_since(db_pool, official_id, datetime.now(UTC)) == 0  # window
    await attempt(LoginOutcome.OK)
    assert await failures_since(db_pool, official_id, hour_ago) == 0  # cleared by success
    await attempt(LoginOutcome.WRONG_PASSWORD)
    await attempt(LoginOutcome.LOCKED)  # a refused attempt while locked is not a new failure
    assert await failures_since(db_pool, official_id, hour_ago) == 1
