"""PostgreSQL connections: the asyncpg pool the activities use, and database creation.

asyncpg lives here and in ``activities/`` only: imported into a module that defines a
workflow it crashes the worker (see the Temporal field notes).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import asyncpg
import structlog

log = structlog.get_logger(__name__)

DEFAULT_SERVER_SETTINGS = {
    "application_name": "khuyencong",
    # A step writes a handful of rows; anything slower is stuck. The activity fails and
    # Temporal retries it.
    "statement_timeout": "30s",
    "lock_timeout": "10s",
    "idle_in_transaction_session_timeout": "60s",
    "timezone": "UTC",
}


def _json_default(value: object) -> str:
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def encode_json(value: Any) -> str:
    """Text for a json/jsonb column: Vietnamese kept readable, dates as ISO strings."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


async def init_connection(conn: Any) -> None:
    """Set the json and jsonb codecs so dicts and lists round-trip."""
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=encode_json, decoder=json.loads, schema="pg_catalog"
        )


async def create_pool(url: str, **kw: Any) -> asyncpg.Pool:
    """An asyncpg pool on ``url`` with JSON codecs and sensible server-side timeouts.

    Keyword arguments go to :func:`asyncpg.create_pool`; ``server_settings`` are merged with
    the defaults and a caller's ``init`` runs after the codecs are set.
    """
    server_settings = {**DEFAULT_SERVER_SETTINGS, **kw.pop("server_settings", {})}
    user_init: Callable[[Any], Awaitable[None]] | None = kw.pop("init", None)

    async def init(conn: Any) -> None:
        await init_connection(conn)
        if user_init is not None:
            await user_init(conn)

    kw.setdefault("min_size", 1)
    kw.setdefault("max_size", 10)
    kw.setdefault("command_timeout", 60)
    return await asyncpg.create_pool(url, server_settings=server_settings, init=init, **kw)


def database_name(url: str) -> str | None:
    """The database a connection URL names (path or ``dbname``/``database`` parameter)."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if name:
        return name
    query = dict(parse_qsl(parts.query))
    return query.get("dbname") or query.get("database") or None


def with_database(url: str, database: str) -> str:
    """The same server URL, pointing at ``database``."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in {"dbname", "database"}]
    return urlunsplit(
        (
            parts.scheme,
            parts.netloc,
            "/" + quote(database, safe=""),
            urlencode(query, safe="/"),
            parts.fragment,
        )
    )


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def ensure_database(url: str) -> None:
    """Create the database ``url`` names unless it exists (connects to ``postgres`` for it)."""
    name = database_name(url)
    if name is None or name == "postgres":
        return
    conn = await asyncpg.connect(url, database="postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return
        try:
            await conn.execute(f"CREATE DATABASE {quote_ident(name)}")
        except asyncpg.DuplicateDatabaseError:
            return  # created by another process meanwhile
        log.info("database created", database=name)
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    """Drop the database ``url`` names, closing its connections (tests, demos)."""
    name = database_name(url)
    if name is None or name == "postgres":
        raise ValueError("refusing to drop the maintenance database")
    conn = await asyncpg.connect(url, database="postgres")
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
    finally:
        await conn.close()
