"""Reads of the audit chain (migration 0009): the links of ``de_an_event`` and
``de_an_document`` with every column their canonical content needs, and the heads of
``audit_chain_head``. Nothing here writes: the links are made by the chain's trigger, the
heads by its functions (the rows themselves by :mod:`db.de_an` and :mod:`db.documents`).

Rows come back as plain mappings; :mod:`khuyencong.audit.chain` recomputes their hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

CHAIN_COLUMNS = (
    "id, idempotency_key, de_an_id, chain_seq, content_hash, prev_hash, chain_hash, "
    "chain_day, day_seq, day_prev_hash, day_hash, occurred_at, recorded_at"
)

EVENT_COLUMNS = (
    f"{CHAIN_COLUMNS}, seq, action, stage_from, stage_to, actor_official_id, actor_name, "
    "actor_role, actor_organisation, actor_province, business_date, decision_number, summary, "
    "details::text AS details_text"
)

DOCUMENT_COLUMNS = (
    f"{CHAIN_COLUMNS}, step_key, step_action, kind, file_name, media_type, size_bytes, sha256, "
    "actor_official_id, actor_name, actor_role, actor_province, note"
)

EVENTS_OF = f"SELECT {EVENT_COLUMNS} FROM de_an_event WHERE de_an_id = $1 ORDER BY chain_seq, id"
DOCUMENTS_OF = (
    f"SELECT {DOCUMENT_COLUMNS} FROM de_an_document WHERE de_an_id = $1 ORDER BY chain_seq, id"
)
EVENTS_ON_DAYS = (
    f"SELECT {EVENT_COLUMNS} FROM de_an_event WHERE chain_day = ANY($1::date[]) "
    "ORDER BY chain_day, day_seq, id"
)
DOCUMENTS_ON_DAYS = (
    f"SELECT {DOCUMENT_COLUMNS} FROM de_an_document WHERE chain_day = ANY($1::date[]) "
    "ORDER BY chain_day, day_seq, id"
)
ALL_EVENTS = f"SELECT {EVENT_COLUMNS} FROM de_an_event ORDER BY de_an_id, chain_seq, id"
ALL_DOCUMENTS = f"SELECT {DOCUMENT_COLUMNS} FROM de_an_document ORDER BY de_an_id, chain_seq, id"

HEADS = "SELECT scope, length, head_hash FROM audit_chain_head WHERE scope = ANY($1::text[])"
ALL_HEADS = "SELECT scope, length, head_hash FROM audit_chain_head"

DE_AN_SCOPE = "de_an:"
DAY_SCOPE = "day:"


def de_an_scope(de_an_id: str) -> str:
    return DE_AN_SCOPE + de_an_id


def day_scope(day: date) -> str:
    return DAY_SCOPE + day.isoformat()


async def links_of(conn: Any, de_an_id: str) -> tuple[list[Any], list[Any]]:
    """The đề án's steps and documents, each with its chain columns."""
    return await conn.fetch(EVENTS_OF, de_an_id), await conn.fetch(DOCUMENTS_OF, de_an_id)


async def links_on(conn: Any, days: Sequence[date]) -> tuple[list[Any], list[Any]]:
    """Every step and document recorded on ``days`` (all đề án)."""
    return (
        await conn.fetch(EVENTS_ON_DAYS, list(days)),
        await conn.fetch(DOCUMENTS_ON_DAYS, list(days)),
    )


async def all_links(conn: Any) -> tuple[list[Any], list[Any]]:
    return await conn.fetch(ALL_EVENTS), await conn.fetch(ALL_DOCUMENTS)


async def heads(conn: Any, scopes: Sequence[str] | None = None) -> dict[str, tuple[int, str]]:
    """``scope -> (length, head_hash)``; every head when ``scopes`` is None."""
    rows = await (conn.fetch(ALL_HEADS) if scopes is None else conn.fetch(HEADS, list(scopes)))
    return {r["scope"]: (int(r["length"]), r["head_hash"]) for r in rows}
