"""Officials' passwords: the one module that writes ``official_credentials``.

An administrator sets a password (``khuyencong officials set-password ID``, read from a prompt
or ``--password-stdin``); the admin tool checks it (:func:`check_password`) before it signs
statements for that official (:mod:`khuyencong.identity`). Passwords are hashed with scrypt
(stdlib ``hashlib.scrypt``, N=2^14, r=8, p=1, 16-byte salt, 32-byte hash) and compared in
constant time. Neither the password nor the hash is ever logged or printed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

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


class WeakPassword(ValueError):
    """The password is too short or too long."""


def _row(row: Mapping[str, Any]) -> CredentialRow:
    return CredentialRow.model_validate(
        {**dict(row), "salt": bytes(row["salt"]), "hash": bytes(row["hash"])}
    )


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=HASH_BYTES
    )


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"mật khẩu dài quá {MAX_PASSWORD_LENGTH} ký tự")


async def set_password(pool: Any, official_id: str, password: str, *, set_by: str = "") -> None:
    """Hash and store ``password`` for ``official_id`` (replacing any earlier one)."""
    check_strength(password)
    salt = secrets.token_bytes(SALT_BYTES)
    digest = await asyncio.to_thread(_scrypt, password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    await pool.fetchrow(
        UPSERT_CREDENTIAL, official_id, SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, digest, set_by[:200]
    )


async def check_password(pool: Any, official_id: str, password: str) -> bool:
    """Whether ``password`` is ``official_id``'s. False when none was set."""
    row = await pool.fetchrow(SELECT_CREDENTIAL, official_id)
    if row is None:
        await asyncio.to_thread(_scrypt, password, bytes(SALT_BYTES), SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return False
    credential = _row(row)
    digest = await asyncio.to_thread(
        _scrypt,
        password,
        credential.salt,
        credential.cost_n,
        credential.block_r,
        credential.parallel_p,
    )
    return hmac.compare_digest(digest, credential.hash)


async def has_password(pool: Any, official_id: str) -> bool:
    return await pool.fetchrow(SELECT_CREDENTIAL, official_id) is not None
