"""Proven identity: short-lived signed statements of who acts, checked by the worker.

The admin tool authenticates an official (password, :mod:`khuyencong.admin.credentials`) and
attaches to each update it sends a **statement** in the Temporal header
:data:`HEADER` (``khuyencong_identity``)::

    kc1.<kid>.<claims: base64url JSON>.<Ed25519 signature: base64url>

    claims  sub   official ID            wf   workflow ID (de-an/BG-2019-DP-01)
            role  role in the register   upd  update name (appraise), or ``register``
            prov  province or null       uid  update ID (empty for ``register``)
            iat   issued at (epoch s)    exp  expiry (epoch s), at most 15 min after iat

The signature covers ``kc1.<kid>.<claims>``. The worker's interceptor
(:mod:`khuyencong.identity_interceptors`) verifies it in the update's validator, before the
workflow's own rules: known key, valid signature, not expired, bound to this workflow, this
update and this update ID, the payload's ``actor`` is the statement's subject with the same
role and province, and the subject is an active official of the register snapshot the worker
keeps in memory (:class:`OfficialsRegister`). A refusal is a :class:`~domain.errors.Refusal`
with one of the codes below; it leaves no history.

**Registration** (the start of a ``DeAnWorkflow``) is proven too: the start carries a statement
with ``upd`` :data:`REGISTER` and an empty ``uid``, bound to the workflow ID. Validators do not
exist for a start, so the workflow asks a local activity (``verify_registration``,
:mod:`activities.identity`) to run :func:`verify_registration`: the checks above for the
input's ``registered_by``, and that the register holds that official as an active Trung tâm
of the dossier's province. Its verdict is recorded in the history (the local activity's marker);
a refusal fails the workflow before anything is written to PostgreSQL.

**Keys** (Ed25519, ``id:base64``, like the codec keys of :mod:`khuyencong.codec`):

- ``KHUYENCONG_IDENTITY_SIGNING_KEY`` (or ``_FILE``): the one active signing key, a 32-byte
  private seed. The admin tool needs it; a worker needs it only to relay a plan's decision to
  its đề án (the plan verified the decision's statement first) and to start the đề án of a
  plan's import (``start_plan_de_an``, for the registrars the import found in the register).
- ``KHUYENCONG_IDENTITY_VERIFY_KEYS`` (or ``_FILE``): the public keys workers accept, 32 bytes
  each, comma-separated. The signing key's own public key is always accepted.

Rotation: add the new public key to every worker's verify list, then switch the admin tools to
the new signing key, then (after the statements' lifetime, 5 minutes) drop the old public key.
``khuyencong identity-key k2`` prints a fresh pair.

This module is pure (no I/O, no clock of its own: callers pass ``now``), so the workflow
sandbox can use it passed through.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from domain.errors import Refusal, RefusalCode
from domain.rules import province_key
from khuyencong.codec import b64decode_any, parse_key_list
from khuyencong.settings import Settings, SettingsError, env_name

HEADER = "khuyencong_identity"
"""Temporal header of the statement (an identifier, as ``temporal ... --headers`` needs)."""

VERSION = "kc1"
DEFAULT_TTL_SECONDS = 300
MAX_TTL_SECONDS = 900
"""A statement longer-lived than this is refused, whatever its signer says."""
CLOCK_SKEW_SECONDS = 60
"""A statement issued up to this far in the workflow's future is accepted (clock skew)."""
KEY_BYTES = 32

SIGNING_KEY_SETTING = "identity_signing_key"
VERIFY_KEYS_SETTING = "identity_verify_keys"

FIELD = "actor.official_id"

REGISTER = "register"
"""The ``upd`` claim of a statement for the start (registration) of a đề án; its ``uid`` is
empty."""
REGISTRATION_FIELD = "registered_by.official_id"
TRUNG_TAM_ROLE = "trung_tam"


class IdentityKeyError(SettingsError):
    def __init__(self, variable: str, message: str) -> None:
        super().__init__([(variable, message)])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _entries(text: str, variable: str) -> list[tuple[str, bytes]]:
    return parse_key_list(text, variable, KEY_BYTES, "Ed25519", IdentityKeyError)


@dataclass(frozen=True)
class SigningKey:
    """The one active signing key (an Ed25519 private seed) and its id."""

    kid: str
    seed: bytes

    def __repr__(self) -> str:  # never print the key
        return f"SigningKey(kid={self.kid!r})"

    @classmethod
    def parse(cls, text: str, variable: str = env_name(SIGNING_KEY_SETTING)) -> SigningKey:
        entries = _entries(text, variable)
        if len(entries) != 1:
            raise IdentityKeyError(variable, "exactly one signing key (id:base64seed)")
        kid, seed = entries[0]
        return cls(kid, seed)

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes_raw()

    def render(self) -> str:
        return f"{self.kid}:{base64.b64encode(self.seed).decode()}"

    def render_public(self) -> str:
        return f"{self.kid}:{base64.b64encode(self.public_bytes).decode()}"


@dataclass(frozen=True)
class VerifyKeys:
    """Public keys a verifier accepts, by id."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, text: str, variable: str = env_name(VERIFY_KEYS_SETTING)) -> VerifyKeys:
        return cls(tuple(_entries(text, variable)))

    @property
    def ids(self) -> list[str]:
        return [kid for kid, _ in self.keys]

    def get(self, kid: str) -> Ed25519PublicKey | None:
        raw = next((key for k, key in self.keys if k == kid), None)
        return None if raw is None else Ed25519PublicKey.from_public_bytes(raw)

    def with_key(self, kid: str, public: bytes) -> VerifyKeys:
        if any(k == kid for k, _ in self.keys):
            return self
        return VerifyKeys((*self.keys, (kid, public)))

    def render(self) -> str:
        return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in self.keys)


def new_signing_key(kid: str) -> SigningKey:
    return SigningKey(kid, secrets.token_bytes(KEY_BYTES))


@dataclass(frozen=True)
class IdentityKeys:
    """What a process has: the signing key (admin tools, workers that relay plan decisions)
    and the keys it accepts (workers)."""

    signing: SigningKey | None
    verify: VerifyKeys

    @classmethod
    def from_settings(cls, settings: Settings) -> IdentityKeys:
        signing: SigningKey | None = None
        if settings.identity_signing_key is not None:
            signing = SigningKey.parse(settings.identity_signing_key.get_secret_value())
        elif settings.identity_signing_key_file is not None:
            variable = env_name("identity_signing_key_file")
            signing = SigningKey.parse(
                _read(settings.identity_signing_key_file, variable), variable
            )
        verify = VerifyKeys(())
        if settings.identity_verify_keys is not None:
            verify = VerifyKeys.parse(settings.identity_verify_keys)
        elif settings.identity_verify_keys_file is not None:
            variable = env_name("identity_verify_keys_file")
            verify = VerifyKeys.parse(_read(settings.identity_verify_keys_file, variable), variable)
        if signing is not None:
            verify = verify.with_key(signing.kid, signing.public_bytes)
        return cls(signing, verify)

    @property
    def configured(self) -> bool:
        return bool(self.verify.keys)


def _read(path: Path, variable: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IdentityKeyError(variable, f"cannot read {path}: {exc.strerror}") from None


# --- statements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claims:
    sub: str
    role: str
    prov: str | None
    wf: str
    upd: str
    uid: str
    iat: int
    exp: int

    def as_json(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "role": self.role,
            "prov": self.prov,
            "wf": self.wf,
            "upd": self.upd,
            "uid": self.uid,
            "iat": self.iat,
            "exp": self.exp,
        }


def sign(
    key: SigningKey,
    *,
    official_id: str,
    role: str,
    province: str | None,
    workflow_id: str,
    update: str,
    update_id: str,
    now: datetime,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> str:
    """A statement for one update of one workflow, valid ``ttl_seconds`` from ``now``."""
    issued = int(now.timestamp())
    claims = Claims(
        sub=official_id,
        role=role,
        prov=province,
        wf=workflow_id,
        upd=update,
        uid=update_id,
        iat=issued,
        exp=issued + min(ttl_seconds, MAX_TTL_SECONDS),
    )
    body = _b64url(
        json.dumps(claims.as_json(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    )
    signed = f"{VERSION}.{key.kid}.{body}"
    signature = key.private_key.sign(signed.encode("ascii"))
    return f"{signed}.{_b64url(signature)}"


def _not_proven(message: str) -> Refusal:
    return Refusal(
        RefusalCode.IDENTITY_NOT_PROVEN,
        f"chưa chứng minh được danh tính cán bộ: {message}",
        FIELD,
    )


def read_statement(token: str, keys: VerifyKeys) -> Claims:
    """The claims of a statement whose signature checks; raises :class:`Refusal`
    (``IdentityNotProven``) otherwise. Expiry and bindings are :func:`verify`'s."""
    parts = token.strip().split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        raise _not_proven(f"tiêu đề {HEADER} không phải chứng nhận {VERSION}")
    _, kid, body, signature_text = parts
    public = keys.get(kid)
    if public is None:
        raise _not_proven(f"khoá ký «{kid}» không được worker chấp nhận")
    signature = b64decode_any(signature_text)
    if signature is None:
        raise _not_proven("chữ ký không đọc được")
    try:
        public.verify(signature, f"{VERSION}.{kid}.{body}".encode("ascii"))
    except (InvalidSignature, UnicodeEncodeError):
        raise _not_proven("chữ ký không hợp lệ") from None
    raw = b64decode_any(body)
    try:
        data: Any = json.loads(raw.decode("utf-8")) if raw is not None else {}
        return Claims(
            sub=str(data["sub"]),
            role=str(data["role"]),
            prov=None if data["prov"] is None else str(data["prov"]),
            wf=str(data["wf"]),
            upd=str(data["upd"]),
            uid=str(data["uid"]),
            iat=int(data["iat"]),
            exp=int(data["exp"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _not_proven("nội dung chứng nhận không đọc được") from None


# --- the register snapshot ---------------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredOfficial:
    official_id: str
    role: str
    province: str | None
    active: bool


class OfficialsRegister:
    """The worker's in-memory copy of the officials register, replaced whole by a refresh
    (worker.py) and read by the identity interceptor inside the workflow sandbox (no I/O
    there). Reads and replacements are safe across threads (one reference swap)."""

    def __init__(self, officials: Iterable[RegisteredOfficial] = ()) -> None:
        self._lock = threading.Lock()
        self._officials: Mapping[str, RegisteredOfficial] = {o.official_id: o for o in officials}
        self.loaded = False
        self.version = 0

    def replace(self, officials: Iterable[RegisteredOfficial]) -> None:
        fresh = {o.official_id: o for o in officials}
        with self._lock:
            self._officials = fresh
            self.loaded = True
            self.version += 1

    def get(self, official_id: str) -> RegisteredOfficial | None:
        return self._officials.get(official_id)

    def __len__(self) -> int:
        return len(self._officials)


# --- verification ------------------------------------------------------------------------------


def _same_province(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return province_key(a) == province_key(b)


def _actor_fields(arg: Any) -> tuple[str, str, str | None] | None:
    """``(official_id, role, province)`` of the ``actor`` in an update's payload (a model or
    a mapping); None when the payload names no actor."""
    actor = arg.get("actor") if isinstance(arg, Mapping) else getattr(arg, "actor", None)
    if actor is None:
        return None
    if isinstance(actor, Mapping):
        official_id, role, province = (
            actor.get("official_id"),
            actor.get("role"),
            actor.get("province"),
        )
    else:
        official_id = getattr(actor, "official_id", None)
        role = getattr(actor, "role", None)
        province = getattr(actor, "province", None)
    role = getattr(role, "value", role)
    if official_id is None or role is None:
        return None
    return str(official_id), str(role), None if province is None else str(province)


def actor_of(args: Any) -> tuple[str, str, str | None] | None:
    """The acting official named by an update's first argument, if any."""
    if not args:
        return None
    return _actor_fields(args[0])


def verify(
    token: str | None,
    *,
    keys: VerifyKeys,
    register: OfficialsRegister,
    now: datetime,
    workflow_id: str,
    update: str,
    update_id: str,
    actor: tuple[str, str, str | None],
    field: str = FIELD,
) -> Claims:
    """Check a statement against the update it came with; raises :class:`Refusal`."""
    try:
        return _verify(
            token,
            keys=keys,
            register=register,
            now=now,
            workflow_id=workflow_id,
            update=update,
            update_id=update_id,
            actor=actor,
        )
    except Refusal as refusal:
        if field == FIELD or refusal.field is None or not refusal.field.startswith("actor."):
            raise
        moved = field.split(".", 1)[0] + refusal.field.removeprefix("actor")
        raise Refusal(refusal.code, refusal.message, moved) from None


def _verify(
    token: str | None,
    *,
    keys: VerifyKeys,
    register: OfficialsRegister,
    now: datetime,
    workflow_id: str,
    update: str,
    update_id: str,
    actor: tuple[str, str, str | None],
) -> Claims:
    if not token:
        raise _not_proven(
            f"thiếu tiêu đề {HEADER} (gửi qua khuyencong với --as, hoặc lấy bằng "
            "`khuyencong token`)"
        )
    claims = read_statement(token, keys)
    at = int(now.timestamp())
    if claims.exp - claims.iat > MAX_TTL_SECONDS or claims.exp <= claims.iat:
        raise Refusal(
            RefusalCode.IDENTITY_EXPIRED,
            f"chứng nhận danh tính có thời hạn quá dài (tối đa {MAX_TTL_SECONDS // 60} phút)",
            FIELD,
        )
    if at >= claims.exp:
        raise Refusal(
            RefusalCode.IDENTITY_EXPIRED,
            f"chứng nhận danh tính của {claims.sub} đã hết hạn "
            f"({at - claims.exp} giây trước); đăng nhập lại và gửi lại",
            FIELD,
        )
    if claims.iat > at + CLOCK_SKEW_SECONDS:
        raise Refusal(
            RefusalCode.IDENTITY_EXPIRED,
            f"chứng nhận danh tính của {claims.sub} ghi thời điểm cấp ở tương lai",
            FIELD,
        )
    for claimed, actual, what in (
        (claims.wf, workflow_id, "đề án (workflow)"),
        (claims.upd, update, "thao tác (update)"),
        (claims.uid, update_id, "mã cập nhật (update ID)"),
    ):
        if claimed != actual:
            raise Refusal(
                RefusalCode.IDENTITY_MISMATCH,
                f"chứng nhận danh tính cấp cho {what} «{claimed}», không phải «{actual}»",
                FIELD,
            )
    official_id, role, province = actor
    if official_id != claims.sub:
        raise Refusal(
            RefusalCode.IDENTITY_MISMATCH,
            f"chứng nhận danh tính là của {claims.sub}, nhưng thao tác ghi người thực hiện "
            f"{official_id}",
            FIELD,
        )
    if role != claims.role:
        raise Refusal(
            RefusalCode.IDENTITY_MISMATCH,
            f"vai trò trong thao tác ({role}) khác vai trò được chứng nhận ({claims.role})",
            "actor.role",
        )
    if not _same_province(province, claims.prov):
        raise Refusal(
            RefusalCode.IDENTITY_MISMATCH,
            f"tỉnh trong thao tác ({province or 'không có'}) khác tỉnh được chứng nhận "
            f"({claims.prov or 'không có'})",
            "actor.province",
        )
    registered = register.get(claims.sub)
    if registered is None:
        raise Refusal(
            RefusalCode.OFFICIAL_UNKNOWN,
            f"{claims.sub} không có trong danh sách cán bộ",
            FIELD,
        )
    if not registered.active:
        raise Refusal(
            RefusalCode.INACTIVE_OFFICIAL,
            f"{claims.sub} đã bị vô hiệu hoá trong danh sách cán bộ, không được thao tác",
            FIELD,
        )
    if registered.role != claims.role:
        raise Refusal(
            RefusalCode.IDENTITY_MISMATCH,
            f"{claims.sub} có vai trò {registered.role} trong danh sách cán bộ, không phải "
            f"{claims.role}",
            "actor.role",
        )
    if not _same_province(registered.province, claims.prov):
        raise Refusal(
            RefusalCode.IDENTITY_MISMATCH,
            f"{claims.sub} thuộc tỉnh {registered.province or 'không có'} trong danh sách cán "
            f"bộ, không phải {claims.prov or 'không có'}",
            "actor.province",
        )
    return claims


def verify_registration(
    token: str | None,
    *,
    keys: VerifyKeys,
    register: OfficialsRegister,
    now: datetime,
    workflow_id: str,
    registered_by: tuple[str, str, str | None],
    province: str,
) -> Claims:
    """Check the statement a ``DeAnWorkflow`` was started with (its registration): a valid
    statement for :data:`REGISTER` of this workflow, whose subject is ``registered_by`` (with
    its role and province), an active official of the register who is a Trung tâm of the
    dossier's ``province``. Raises :class:`Refusal`."""
    claims = verify(
        token,
        keys=keys,
        register=register,
        now=now,
        workflow_id=workflow_id,
        update=REGISTER,
        update_id="",
        actor=registered_by,
        field=REGISTRATION_FIELD,
    )
    registered = register.get(claims.sub)
    assert registered is not None  # verify() refused an unknown official
    if registered.role != TRUNG_TAM_ROLE:
        raise Refusal(
            RefusalCode.WRONG_AUTHORITY,
            f"{claims.sub} có vai trò {registered.role} trong danh sách cán bộ; chỉ Trung tâm "
            "Khuyến công (trung_tam) được đăng ký đề án",
            "registered_by.role",
        )
    if not _same_province(registered.province, province):
        raise Refusal(
            RefusalCode.WRONG_JURISDICTION,
            f"{claims.sub} là cán bộ Trung tâm của tỉnh {registered.province or 'không có'}, "
            f"không đăng ký được đề án của tỉnh {province}",
            "registered_by.province",
        )
    return claims


def statement_from_payload(payload: Any) -> str | None:
    """The statement in a header payload: a JSON string (``json/plain``, what the SDK and
    ``temporal --headers`` write). None when unreadable."""
    metadata = getattr(payload, "metadata", None)
    data = getattr(payload, "data", None)
    if metadata is None or data is None:
        return None
    if metadata.get("encoding") != b"json/plain":
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, str) else None
