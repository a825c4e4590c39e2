"""Repository of ``web_logins``: every login to the officials' web desk, accepted or refused,
and every logout (:mod:`khuyencong.web.auth` records them). The one module that writes it.

An attempt has its own ID (a UUID made by the web desk), so recording it twice (a retry) keeps
one row. The lockout counts the failures since the last accepted login within a window.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class LoginMethod(StrEnum):
    PASSWORD = "password"
    SSO = "sso"


class LoginOutcome(StrEnum):
    OK = "ok"
    WRONG_PASSWORD = "wrong_password"
    UNKNOWN = "unknown"
    INACTIVE = "inactive"
    LOCKED = "locked"
    LOGOUT = "logout"


FAILURES = (LoginOutcome.WRONG_PASSWORD, LoginOutcome.UNKNOWN, LoginOutcome.INACTIVE)


class WebLogin(BaseModel):
    """One row of ``web_logins``."""

    model_config = ConfigDict(frozen=True)

    attempt_id: uuid.UUID
    official_id: str
    attempted_at: datetime
    method: LoginMethod
    outcome: LoginOutcome
    remote_addr: str
    user_agent: str


INSERT_LOGIN = """
INSERT INTO web_logins (attempt_id, official_id, method, outcome, remote_addr, user_agent)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (attempt_id) DO NOTHING
"""

COUNT_FAILURES = """
SELECT count(*) FROM web_logins
WHERE official_id = $1
  AND attempted_at > $2
  AND outcome = ANY($3::text[])
  AND attempted_at > COALESCE(
      (SELECT max(attempted_at) FROM web_logins WHERE official_id = $1 AND outcome = 'ok'),
      '-infinity'::timestamptz)
"""

SELECT_RECENT = """
SELECT attempt_id, official_id, attempted_at, method, outcome, remote_addr, user_agent
FROM web_logins WHERE official_id = $1 ORDER BY attempted_at DESC LIMIT $2
"""


async def record_login(
    pool: Any,
    official_id: str,
    method: LoginMethod,
    outcome: LoginOutcome,
    *,
    remote_addr: str = "",
    user_agent: str = "",
    attempt_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Record one attempt (or logout); returns its ID."""
    attempt = attempt_id or uuid.uuid4()
    await pool.execute(
        INSERT_LOGIN,
        attempt,
        official_id[:64],
        method.value,
        outcome.value,
        remote_addr[:100],
        user_agent[:300],
    )
    return attempt


async def failures_since(pool: Any, official_id: str, since: datetime) -> int:
    """Failed logins of ``official_id`` after ``since`` and after their last accepted one."""
    return int(
        await pool.fetchval(COUNT_FAILURES, official_id[:64], since, [f.value for f in FAILURES])
        or 0
    )


async def recent_logins(pool: Any, official_id: str, limit: int = 20) -> list[WebLogin]:
    rows = await pool.fetch(SELECT_RECENT, official_id[:64], limit)
    return [WebLogin.model_validate(dict(r)) for r in rows]
