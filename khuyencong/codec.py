"""Payload encryption: AES-256-GCM over every payload Temporal stores for us.

Dossiers carry beneficiaries' tax codes (a household business's is a personal ID number),
officials' names, bank vouchers. Temporal keeps every workflow input, update, activity
argument, result, query answer, memo and summary as a *payload* in its database and shows it
in the UI and the CLI. With this codec the server only ever holds ciphertext; workers and
clients with the key, and the codec server (:mod:`khuyencong.codec_server`) for authorised UI
and CLI users, see the clear text. Search attributes never go through a codec: they hold
nothing secret (:mod:`khuyencong.search_attributes`).

Format of an encrypted payload::

    metadata  encoding          = binary/encrypted
              encryption-cipher = AES256-GCM
              encryption-key-id = k2
    data      nonce (12 random bytes) || AES-GCM(key, nonce, inner payload proto,
                                                 aad = "khuyencong:" + key id)

**Keys** come from ``KHUYENCONG_CODEC_KEYS`` (or the file named by
``KHUYENCONG_CODEC_KEYS_FILE``): a comma-separated list ``id:base64key``, 32-byte keys, the
first one current::

    KHUYENCONG_CODEC_KEYS="k2:q0Sx...=,k1:7bTf...="

``khuyencong codec-key k3`` prints a fresh one. **Rotation**: put the new key first and keep
the old ones after it. New payloads are encrypted with the first key; each payload names its
key, so histories written under older keys still decode, as long as those keys are listed.
Retire a key only when no history that uses it is kept any more (closed workflows past the
namespace's retention, and no recorded history under ``tests/histories`` needs it).
Every worker, starter, admin tool and the codec server must have the same list; roll the new
list out everywhere *before* any process encrypts with the new key (deploy it second in the
list first, then swap the order).

Payloads without the ``binary/encrypted`` encoding pass through decoding untouched: histories
written before encryption was switched on keep replaying, and a plain JSON input typed in the
Temporal CLI still reaches the workflow.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from khuyencong.settings import Settings, SettingsError, StartupError

ENCODING = b"binary/encrypted"
CIPHER = b"AES256-GCM"
KEY_ID = "encryption-key-id"
KEYS_ENV = "KHUYENCONG_CODEC_KEYS"
KEYS_FILE_ENV = "KHUYENCONG_CODEC_KEYS_FILE"
DEV_KEYS_FILE = "codec-keys"
"""The file of the keys ``khuyencong dev`` generates in its data folder."""
NONCE_BYTES = 12
KEY_BYTES = 32


class CodecKeyError(SettingsError):
    """The codec keys are malformed."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__([(variable, message)])


class UnknownKey(ValueError):
    """A payload was encrypted with a key this process does not have."""


@dataclass(frozen=True)
class CodecKeys:
    """Named AES-256 keys; the first encrypts, all decrypt."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("at least one key is needed")

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]

    def get(self, key_id: str) -> bytes | None:
        return next((key for kid, key in self.keys if kid == key_id), None)

    @classmethod
    def parse(cls, text: str, variable: str = KEYS_ENV) -> CodecKeys:
        """``k2:base64,k1:base64`` (whitespace and newlines allowed between entries)."""
        return cls(tuple(parse_key_list(text, variable, KEY_BYTES, "AES-256", CodecKeyError)))

    @classmethod
    def from_settings(cls, settings: Settings) -> CodecKeys | None:
        """``KHUYENCONG_CODEC_KEYS``, else the file ``KHUYENCONG_CODEC_KEYS_FILE``; None when
        neither is set (payloads then stay in clear)."""
        inline = settings.codec_keys
        return cls.read(
            None if inline is None else inline.get_secret_value(), settings.codec_keys_file
        )

    @classmethod
    def read(cls, inline: str | None, path: Path | None) -> CodecKeys | None:
        """The keys given inline, else read from ``path``; None when neither is given."""
        if inline and inline.strip():
            return cls.parse(inline.strip(), KEYS_ENV)
        if path is not None:
            return cls.from_file(Path(path), KEYS_FILE_ENV)
        return None

    @classmethod
    def from_file(cls, path: Path, variable: str = KEYS_FILE_ENV) -> CodecKeys:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CodecKeyError(variable, f"cannot read {path}: {exc.strerror}") from None
        return cls.parse(text, variable)

    def render(self) -> str:
        return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in self.keys)


def new_key(key_id: str) -> str:
    """A fresh ``id:base64key`` entry for ``KHUYENCONG_CODEC_KEYS``."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM with key IDs (see the module docstring). Synchronous core
    (:meth:`encode_payload`, :meth:`decode_payload`) shared with the codec server."""

    def __init__(self, keys: CodecKeys) -> None:
        self._keys = keys
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys}

    @property
    def keys(self) -> CodecKeys:
        return self._keys

    def encode_payload(self, payload: Payload) -> Payload:
        if is_encrypted(payload):
            return payload  # already encrypted (never twice)
        key_id = self._keys.current_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), _aad(key_id))
        return Payload(
            metadata={
                "encoding": ENCODING,
                "encryption-cipher": CIPHER,
                KEY_ID: key_id.encode(),
            },
            data=nonce + sealed,
        )

    def decode_payload(self, payload: Payload) -> Payload:
        if not is_encrypted(payload):
            return payload  # written in clear (before encryption, or typed in the CLI)
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownKey(
                f"payload encrypted with key {key_id!r}, which is not among the configured "
                f"keys ({', '.join(self._keys.ids)}); add it to {KEYS_ENV}"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            clear = cipher.decrypt(nonce, sealed, _aad(key_id))
        except InvalidTag:
            raise ValueError(
                f"payload under key {key_id!r} failed authentication (altered, or another "
                "key with the same id)"
            ) from None
        return Payload.FromString(clear)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encode_payload(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_payload(p) for p in payloads]


class MissingKeys(StartupError):
    """An encrypted payload reached a process that has no codec keys at all."""


class ClearCodec(PayloadCodec):
    """The codec of a process without keys: writes in clear, reads clear payloads, and names
    the missing setting when it meets an encrypted one (instead of the converter's bare
    ``Unknown payload encoding binary/encrypted``)."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        for payload in payloads:
            if is_encrypted(payload):
                key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
                raise MissingKeys(
                    f"dữ liệu được mã hoá (khoá {key_id!r}) nhưng tiến trình này không có khoá: "
                    f"đặt {KEYS_FILE_ENV} hoặc {KEYS_ENV} như worker (khuyencong dev in ra các "
                    "dòng export cần dùng)"
                )
        return list(payloads)


def parse_key_list(
    text: str,
    variable: str,
    size: int,
    algorithm: str,
    error: Callable[[str, str], SettingsError],
) -> list[tuple[str, bytes]]:
    """``k2:base64,k1:base64`` (whitespace and newlines allowed between entries): the
    ``(key id, key)`` pairs, each key ``size`` bytes; ``error(variable, message)`` names what is
    wrong. The codec keys and the identity keys are both written this way."""
    entries = [e.strip() for e in text.replace("\n", ",").split(",") if e.strip()]
    if not entries:
        raise error(variable, "no key given; expected id:base64key[,id:base64key…]")
    parsed: list[tuple[str, bytes]] = []
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or not key_id.replace("-", "").replace("_", "").isalnum():
            raise error(
                variable, f"entry {position} must be id:base64key (id: letters, digits, -, _)"
            )
        key = b64decode_any(encoded.strip())
        if key is None:
            raise error(variable, f"key {key_id!r} is not valid base64")
        if len(key) != size:
            raise error(variable, f"key {key_id!r} has {len(key)} bytes; {algorithm} needs {size}")
        if any(kid == key_id for kid, _ in parsed):
            raise error(variable, f"key id {key_id!r} appears twice")
        parsed.append((key_id, key))
    return parsed


def b64decode_any(text: str) -> bytes | None:
    """Standard or URL-safe base64, padding optional."""
    padded = text + "=" * (-len(text) % 4)
    altchars = b"-_" if any(c in text for c in "-_") else None
    try:
        return base64.b64decode(padded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


def _aad(key_id: str) -> bytes:
    return b"khuyencong:" + key_id.encode()


def codec_from_settings(settings: Settings) -> EncryptionCodec | None:
    keys = CodecKeys.from_settings(settings)
    return None if keys is None else EncryptionCodec(keys)
