"""Repository of ``de_an_document`` (migration 0009): the documents attached to the steps of a
đề án. The only writer of that table. A row is inserted once (``ON CONFLICT DO NOTHING`` on
its business key: the same file, of the same kind, on the same step), and the chain's trigger
links it into its đề án's chain and its day's; rows are never changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

INSERT_DOCUMENT = """
INSERT INTO de_an_document (
    idempotency_key, de_an_id, step_key, step_action, kind, file_name, media_type, size_bytes,
    sha256, actor_official_id, actor_name, actor_role, actor_province, occurred_at, note
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""

SELECT_DOCUMENT = "SELECT * FROM de_an_document WHERE idempotency_key = $1"
DOCUMENTS_OF = "SELECT * FROM de_an_document WHERE de_an_id = $1 ORDER BY chain_seq"


class DocumentRow(BaseModel):
    """A document to attach: which step, what kind, which file (by hash), who and when."""

    model_config = ConfigDict(frozen=True)

    de_an_id: str
    step_key: str
    step_action: str
    kind: str
    file_name: str
    media_type: str
    size_bytes: int
    sha256: str
    actor_official_id: str
    actor_name: str
    actor_role: str
    actor_province: str | None
    occurred_at: datetime
    note: str = ""

    @property
    def idempotency_key(self) -> str:
        return f"{self.de_an_id}:document:{self.step_key}:{self.kind}:{self.sha256}"


async def insert_document(conn: Any, row: DocumentRow) -> tuple[bool, Any]:
    """Record the document; ``(new, stored row)`` (the row as first recorded when it was
    there already)."""
    new_id = await conn.fetchval(
        INSERT_DOCUMENT,
        row.idempotency_key,
        row.de_an_id,
        row.step_key,
        row.step_action,
        row.kind,
        row.file_name,
        row.media_type,
        row.size_bytes,
        row.sha256,
        row.actor_official_id,
        row.actor_name,
        row.actor_role,
        row.actor_province,
        row.occurred_at,
        row.note,
    )
    stored = await conn.fetchrow(SELECT_DOCUMENT, row.idempotency_key)
    return new_id is not None, stored


async def documents_of(conn: Any, de_an_id: str) -> list[Any]:
    return list(await conn.fetch(DOCUMENTS_OF, de_an_id))
