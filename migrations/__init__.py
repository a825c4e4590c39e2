"""Versioned SQL migrations: ``NNNN_name.sql`` files shipped as package data.

:func:`apply_migrations` applies the files not yet recorded in ``schema_migrations``, in
version order, each in its own transaction. A session advisory lock serialises workers that
start together; an applied file whose checksum changed is refused (write a new migration
instead of editing an old one).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)

FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

ADVISORY_LOCK_KEY = 0x6B63_6D69_6772  # "kcmigr": one lock per database for all migrators

CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text        PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""

SELECT_APPLIED = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"

INSERT_APPLIED = """
INSERT INTO schema_migrations (version, name, checksum, applied_at)
VALUES ($1, $2, $3, now())
"""


class MigrationError(RuntimeError):
    """The migrations cannot be applied as they are."""


class MigrationChecksumError(MigrationError):
    """An applied migration file was edited afterwards."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    filename: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def migration_files() -> list[Migration]:
    """The migrations shipped with this package, in version order."""
    found: dict[str, Migration] = {}
    for entry in resources.files(__name__).iterdir():
        match = FILE_NAME.match(entry.name)
        if not entry.is_file() or match is None:
            continue
        version = match["version"]
        if version in found:
            raise MigrationError(
                f"two migrations have version {version}: {found[version].filename} and {entry.name}"
            )
        found[version] = Migration(
            version=version,
            name=match["name"],
            filename=entry.name,
            sql=entry.read_text(encoding="utf-8"),
        )
    return [found[v] for v in sorted(found)]


async def apply_migrations(
    conn_or_pool: Any, *, files: Sequence[Migration] | None = None
) -> list[str]:
    """Apply pending migrations; return the versions applied now (empty when up to date).

    ``conn_or_pool`` is an ``asyncpg.Connection`` or an ``asyncpg.Pool``. Safe to call from
    several processes at once: the second waits for the first and then finds nothing to do.
    ``files`` defaults to :func:`migration_files` (tests pass their own).
    """
    migrations = list(migration_files() if files is None else files)
    if isinstance(conn_or_pool, asyncpg.Pool):
        async with conn_or_pool.acquire() as conn:
            return await _apply(conn, migrations)
    return await _apply(conn_or_pool, migrations)


async def pending_migrations(
    conn_or_pool: Any, *, files: Sequence[Migration] | None = None
) -> list[Migration]:
    """The migrations not yet applied (all of them on an empty database), without applying
    anything; raises :class:`MigrationChecksumError` as :func:`apply_migrations` would."""
    migrations = list(migration_files() if files is None else files)
    if isinstance(conn_or_pool, asyncpg.Pool):
        async with conn_or_pool.acquire() as conn:
            return await _pending(conn, migrations)
    return await _pending(conn_or_pool, migrations)


async def _pending(conn: Any, files: list[Migration]) -> list[Migration]:
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return files
    applied = {row["version"]: row for row in await conn.fetch(SELECT_APPLIED)}
    _check_applied(files, applied)
    return [m for m in files if m.version not in applied]


async def _apply(conn: Any, files: list[Migration]) -> list[str]:
    await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    try:
        # Only when missing: a role that may not create tables (the application's,
        # khuyencong_writer of 0009) finds a current schema without trying DDL.
        if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            await conn.execute(CREATE_SCHEMA_MIGRATIONS)
        applied = {row["version"]: row for row in await conn.fetch(SELECT_APPLIED)}
        _check_applied(files, applied)
        done: list[str] = []
        for migration in files:
            if migration.version in applied:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    INSERT_APPLIED, migration.version, migration.name, migration.checksum
                )
            log.info("migration applied", version=migration.version, name=migration.name)
            done.append(migration.version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)


def _check_applied(files: list[Migration], applied: dict[str, Any]) -> None:
    known = {m.version: m for m in files}
    for version, row in applied.items():
        migration = known.get(version)
        if migration is None:
            log.warning(
                "database has a migration this code does not know",
                version=version,
                name=row["name"],
            )
            continue
        if row["checksum"] != migration.checksum:
            raise MigrationChecksumError(
                f"migration {migration.filename} was changed after it was applied "
                f"(checksum in database {row['checksum'][:12]}…, file {migration.checksum[:12]}…). "
                "Restore the file and put the change in a new migration."
            )
