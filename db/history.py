"""Repository of ``de_an_history`` (migration 0009): the Temporal history of each run of a
closed đề án, decoded and gzip-compressed. The only writer of that table; a run is stored once
(``ON CONFLICT DO NOTHING`` on workflow and run ID) and never changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

INSERT_RUN = """
INSERT INTO de_an_history (
    workflow_id, run_id, de_an_id, run_index, previous_run_id, status, event_count,
    first_event_at, last_event_at, compression, history, sha256, size_bytes
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'gzip', $10, $11, $12)
ON CONFLICT (workflow_id, run_id) DO NOTHING
"""

RUNS_OF = "SELECT * FROM de_an_history WHERE workflow_id = $1 ORDER BY run_index"

CLOSED_NOT_EXPORTED = """
SELECT d.de_an_id, d.workflow_id FROM de_an d
WHERE d.stage = ANY($1::text[])
  AND NOT EXISTS (
      SELECT 1 FROM de_an_history h
      WHERE h.workflow_id = d.workflow_id AND h.status <> 'continued_as_new'
  )
ORDER BY d.updated_at, d.de_an_id
LIMIT $2
"""


class HistoryRunRow(BaseModel):
    """One run's exported history."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    run_id: str
    de_an_id: str
    run_index: int
    previous_run_id: str | None
    status: str
    event_count: int
    first_event_at: datetime
    last_event_at: datetime
    history: bytes  # gzip of the JSON
    sha256: str  # of the JSON
    size_bytes: int  # of the JSON


async def insert_runs(conn: Any, runs: list[HistoryRunRow]) -> int:
    """Store the runs (in the caller's transaction); how many were new."""
    new = 0
    for r in runs:
        status = await conn.execute(
            INSERT_RUN,
            r.workflow_id,
            r.run_id,
            r.de_an_id,
            r.run_index,
            r.previous_run_id,
            r.status,
            r.event_count,
            r.first_event_at,
            r.last_event_at,
            r.history,
            r.sha256,
            r.size_bytes,
        )
        new += status.endswith(" 1")
    return new


async def runs_of(conn: Any, workflow_id: str) -> list[Any]:
    return list(await conn.fetch(RUNS_OF, workflow_id))


async def closed_not_exported(conn: Any, stages: list[str], limit: int) -> list[Any]:
    """Closed đề án whose history is not stored yet (oldest first)."""
    return list(await conn.fetch(CLOSED_NOT_EXPORTED, stages, limit))
