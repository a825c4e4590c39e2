"""Officials' passwords: how they are hashed and checked (the rows of ``official_credentials``
are written and read by :mod:`db.officials`).

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
from typing import Any

from db.officials import load_credential, store_credential

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


class WeakPassword(ValueError):
    """The password is too short or too long."""


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
    await store_credential(
        pool, official_id, (SCRYPT_N, SCRYPT_R, SCRYPT_P), salt, digest, set_by=set_by[:200]
    )


async def check_password(pool: Any, official_id: str, password: str) -> bool:
    """Whether ``password`` is ``official_id``'s. False when none was set."""
    credential = await load_credential(pool, official_id)
    if credential is None:
        await asyncio.to_thread(_scrypt, password, bytes(SALT_BYTES), SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return False
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
    return await load_credential(pool, official_id) is not None
