"""Repository of the officials register (``officials``): who may act, in which role and
province, and who was deactivated; and their password hashes (``official_credentials``). Written by the admin tool (the statements below) and the
backfill's seeding; read by the workers' identity check and the đề án's registration."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from khuyencong.identity import RegisteredOfficial

OFFICIAL_COLUMNS = """
    id, full_name, organisation, role, province, active, created_at, updated_at,
    deactivated_at, deactivation_reason
"""

INSERT_OFFICIAL = f"""
INSERT INTO officials (id, full_name, organisation, role, province)
VALUES ($1, $2, $3, $4, $5)
RETURNING {OFFICIAL_COLUMNS}
"""

SEED_OFFICIAL = """
INSERT INTO officials (id, full_name, organisation, role, province)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO NOTHING
"""

SELECT_OFFICIAL = f"SELECT {OFFICIAL_COLUMNS} FROM officials WHERE id = $1"

LIST_OFFICIALS = f"""
SELECT {OFFICIAL_COLUMNS} FROM officials
WHERE ($1::text IS NULL OR role = $1) AND (active OR $2)
ORDER BY role, province NULLS FIRST, id
"""

UPDATE_OFFICIAL = f"""
UPDATE officials
SET full_name = $2, organisation = $3, role = $4, province = $5, updated_at = now()
WHERE id = $1 AND active
RETURNING {OFFICIAL_COLUMNS}
"""

# Deactivating twice keeps the first date; the signals are sent again (they are idempotent).
DEACTIVATE_OFFICIAL = f"""
UPDATE officials
SET active = false,
    deactivated_at = COALESCE(deactivated_at, now()),
    deactivation_reason = CASE WHEN active THEN $2 ELSE deactivation_reason END,
    updated_at = now()
WHERE id = $1
RETURNING {OFFICIAL_COLUMNS}
"""

SELECT_INACTIVE = "SELECT id FROM officials WHERE NOT active ORDER BY id"

SELECT_REGISTER = "SELECT id, role, province, active FROM officials"


async def inactive_ids(pool: Any) -> list[str]:
    """The officials who may no longer act, by ID."""
    return [row["id"] for row in await pool.fetch(SELECT_INACTIVE)]


async def load_register(pool: Any) -> list[RegisteredOfficial]:
    """The whole register as the workers' identity check holds it."""
    rows = await pool.fetch(SELECT_REGISTER)
    return [
        RegisteredOfficial(
            official_id=r["id"], role=r["role"], province=r["province"], active=r["active"]
        )
        for r in rows
    ]


# --- official_credentials (hashing: khuyencong.admin.credentials) ---------------------------

UPSERT_CREDENTIAL = """
INSERT INTO official_credentials (official_id, algorithm, cost_n, block_r, parallel_p, salt,
                                  hash, set_at, set_by)
VALUES ($1, 'scrypt', $2, $3, $4, $5, $6, now(), $7)
ON CONFLICT (official_id) DO UPDATE SET
    algorithm = 'scrypt', cost_n = EXCLUDED.cost_n, block_r = EXCLUDED.block_r,
    parallel_p = EXCLUDED.parallel_p, salt = EXCLUDED.salt, hash = EXCLUDED.hash,
    set_at = now(), set_by = EXCLUDED.set_by
RETURNING official_id, algorithm, cost_n, block_r, parallel_p, salt, hash, set_at, set_by
"""

SELECT_CREDENTIAL = """
SELECT official_id, algorithm, cost_n, block_r, parallel_p, salt, hash, set_at, set_by
FROM official_credentials WHERE official_id = $1
"""


class CredentialRow(BaseModel):
    """A row of ``official_credentials``."""

    model_config = ConfigDict(frozen=True)

    official_id: str
    algorithm: str
    cost_n: int
    block_r: int
    parallel_p: int
    salt: bytes
    hash: bytes
    set_at: datetime
    set_by: str

    def __repr__(self) -> str:  # never print the hash
        return f"CredentialRow(official_id={self.official_id!r}, set_at={self.set_at!r})"

    __str__ = __repr__


def _row(row: Mapping[str, Any]) -> CredentialRow:
    return CredentialRow.model_validate(
        {**dict(row), "salt": bytes(row["salt"]), "hash": bytes(row["hash"])}
    )


async def store_credential(
    pool: Any,
    official_id: str,
    cost: tuple[int, int, int],
    salt: bytes,
    digest: bytes,
    *,
    set_by: str,
) -> CredentialRow:
    """Store (or replace) ``official_id``'s scrypt hash; ``cost`` is (N, r, p)."""
    n, r, p = cost
    row = await pool.fetchrow(UPSERT_CREDENTIAL, official_id, n, r, p, salt, digest, set_by)
    return _row(row)


async def load_credential(pool: Any, official_id: str) -> CredentialRow | None:
    row = await pool.fetchrow(SELECT_CREDENTIAL, official_id)
    return None if row is None else _row(row)
