"""The one way a process opens its PostgreSQL database.

:func:`open_database` gives an asyncpg pool (:func:`db.pool.create_pool`) on
``KHUYENCONG_DATABASE_URL``, or on an embedded PostgreSQL in ``<data_dir>/pgdata`` when no URL
is set (the one ``khuyencong dev`` uses). Migrations are applied at start-up only:

- ``migrate=True``: the worker (``khuyencong worker``), the dev stack (``khuyencong dev``),
  ``khuyencong migrate`` and the throw-away stacks (simulation, chaos) create the database if
  needed and apply pending migrations (:func:`migrations.apply_migrations`, serialised by an
  advisory lock);
- ``migrate=False``: every other command checks that the schema is current and, when it is
  behind, stops with :class:`SchemaBehind`, which names ``khuyencong migrate``; it never
  changes the schema.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import structlog

from db.pool import create_pool, ensure_database
from khuyencong.embedded_pg import running_url, start_embedded
from khuyencong.settings import Settings, StartupError
from migrations import apply_migrations, pending_migrations

log = structlog.get_logger(__name__)


class SchemaBehind(StartupError):
    """The database lacks migrations this code needs."""

    def __init__(self, pending: list[str] | None) -> None:
        """``pending``: the versions not applied; None when the database does not exist."""
        self.pending = pending
        if pending is None:
            vi, en = "chưa được tạo", "does not exist yet"
        else:
            vi = f"chưa được cập nhật (thiếu migration {', '.join(pending)})"
            en = f"schema is behind this version (missing {', '.join(pending)})"
        super().__init__(
            f"cơ sở dữ liệu {vi}: chạy `khuyencong migrate` trước. "
            f"The database {en}: run `khuyencong migrate` first."
        )


@contextlib.asynccontextmanager
async def database_url(settings: Settings, *, hold: bool = True) -> AsyncIterator[str]:
    """``KHUYENCONG_DATABASE_URL``, or the URL of an embedded PostgreSQL in
    ``<data_dir>/pgdata`` started (or attached to) for the duration (stopped on exit when
    this process was its last holder). ``hold=False`` (a short command): the server running
    there (``khuyencong dev``) is used as it is, without holding it."""
    url = settings.database_url_value
    if url is None and not hold:
        url = running_url(settings.pg_data_dir)
    if url is not None:
        yield url
        return
    try:
        server = await asyncio.to_thread(start_embedded, settings.pg_data_dir, keep=False)
    except Exception as exc:
        raise StartupError(
            f"cannot start the embedded PostgreSQL in {settings.pg_data_dir}: {exc}"
        ) from exc
    try:
        yield server.url()
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def open_database(
    settings: Settings, *, migrate: bool, **pool_options: Any
) -> AsyncIterator[Any]:
    """An asyncpg pool on the configured database, closed (and an embedded server stopped)
    on exit. ``migrate``: apply pending migrations first, else refuse a schema that is
    behind (:class:`SchemaBehind`). ``pool_options`` go to :func:`create_pool`."""
    async with database_url(settings, hold=migrate) as url:
        async with pool_on(url, migrate=migrate, **pool_options) as pool:
            yield pool


@contextlib.asynccontextmanager
async def pool_on(url: str, *, migrate: bool, **pool_options: Any) -> AsyncIterator[Any]:
    """:func:`open_database` on a given URL (a stack that started its own server)."""
    try:
        if migrate:
            await ensure_database(url)
        pool = await create_pool(url, **pool_options)
    except asyncpg.InvalidCatalogNameError:  # the database does not exist yet
        raise SchemaBehind(None) from None
    except OSError as exc:
        raise StartupError(
            f"cannot reach PostgreSQL ({exc}); check KHUYENCONG_DATABASE_URL"
        ) from None
    try:
        if migrate:
            applied = await apply_migrations(pool)
            log.info("database ready", migrations_applied=applied)
        else:
            pending = await pending_migrations(pool)
            if pending:
                raise SchemaBehind([m.version for m in pending])
        yield pool
    finally:
        await pool.close()


async def migrate(settings: Settings) -> list[str]:
    """Apply pending migrations (``khuyencong migrate``); return the versions applied now."""
    async with database_url(settings) as url:
        await ensure_database(url)
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            return await apply_migrations(pool)
        finally:
            await pool.close()
