"""Repository of the officials register (``officials``): who may act, in which role and
province, and who was deactivated. Written by the admin tool (the statements below) and the
backfill's seeding; read by the workers' identity check and the đề án's registration."""

from __future__ import annotations

from typing import Any

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
