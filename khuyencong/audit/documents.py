"""Evidence documents: the store that keeps their files by SHA-256, and attaching one to a step.

**The store.** :class:`DocumentStore` is what the rest needs: ``put`` (idempotent: the name
of a file is its hash), ``get`` (the bytes, checked against the hash) and ``has``.
:class:`FolderStore` keeps ``<root>/<first two hex digits>/<sha256>``, written to a temporary
file and renamed, read only-by-owner. The folder is ``KHUYENCONG_DOCUMENT_STORE_DIR``
(default ``<data_dir>/documents``); back it up with the database. :class:`S3Store` keeps
the same files as objects ``<prefix>/<first two hex digits>/<sha256>`` of a bucket in any
S3-compatible store (AWS S3, MinIO, Ceph RGW, Garage), through the small signed client of
:mod:`khuyencong.audit.s3` (no S3 library): ``KHUYENCONG_DOCUMENT_STORE_URL=s3://bucket/prefix``
with ``KHUYENCONG_S3_ENDPOINT``, ``_REGION``, ``_ACCESS_KEY_ID`` and ``_SECRET_ACCESS_KEY``
(or ``_FILE``). The bucket must exist; the key needs ``s3:GetObject``, ``s3:PutObject`` and
``s3:ListBucket`` (without which a missing object answers 403, not 404). Uploads carry
``Content-MD5`` and ``x-amz-content-sha256``, so the store refuses a body damaged on the way;
downloads are checked against the hash. A store that cannot be reached, or refuses the credentials, raises
:class:`DocumentStoreUnavailable` (a :class:`StartupError`: the CLI prints it, exit 2).
:func:`store_for` returns the store the settings name. The methods block: async code calls
them through ``asyncio.to_thread``.

**Attaching.** :func:`attach` checks the file (size, type by its first bytes, the name's
extension: :mod:`domain.evidence`), finds the step (the last step of an action, or a step by
its key), checks that the kind fits that step and that the official may act on the đề án's
province, stores the file, then records a ``de_an_document`` row (:mod:`db.documents`), which
the chain's trigger links into the đề án's chain: from then on the file's SHA-256 is part of the
tamper-evident record. Attaching the same file to the same step as the same kind again records
nothing new.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from db.documents import DocumentRow, insert_document
from domain.errors import RefusalCode
from domain.evidence import (
    BASIS_DOSSIER,
    DocumentKind,
    DocumentRefused,
    check_file,
    check_kind_fits,
)
from domain.model import Actor
from domain.rules import province_key
from domain.stages import Action
from khuyencong.admin.errors import ActionRefused, NotFound
from khuyencong.audit.s3 import S3Client
from khuyencong.settings import Settings, StartupError

DOCUMENT_REFUSED = "DocumentRefused"
"""Type of a refused document (exit 3 in the CLI)."""


class DocumentMissing(LookupError):
    """The store has no file of that hash."""


class DocumentCorrupt(ValueError):
    """The store's file no longer has the hash it is kept under."""


class DocumentStoreUnavailable(StartupError):
    """The document store cannot be reached or refuses the request (credentials, bucket)."""


class DocumentStore(Protocol):
    def put(self, sha256: str, data: bytes) -> None: ...

    def get(self, sha256: str) -> bytes: ...

    def has(self, sha256: str) -> bool: ...


def _check_sha256(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    return sha256


class FolderStore:
    """Files named by their SHA-256 in a folder (two-digit fan-out)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / _check_sha256(sha256)[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, sha256: str, data: bytes) -> None:
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError("the data do not have the hash they are stored under")
        target = self.path(sha256)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o400)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, sha256: str) -> bytes:
        path = self.path(sha256)
        if not path.is_file():
            raise DocumentMissing(f"kho tài liệu không có tệp {sha256} ({path})")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise DocumentCorrupt(f"tệp {path} không còn đúng mã băm {sha256}: đã bị sửa")
        return data


CREDENTIALS = "KHUYENCONG_S3_ACCESS_KEY_ID, KHUYENCONG_S3_SECRET_ACCESS_KEY"


class S3Store:
    """Files named by their SHA-256 as objects of a bucket of an S3-compatible store."""

    def __init__(self, client: S3Client, prefix: str = "") -> None:
        self.client = client
        self.prefix = prefix.strip("/")

    def key(self, sha256: str) -> str:
        _check_sha256(sha256)
        name = f"{sha256[:2]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def _where(self, sha256: str) -> str:
        return f"s3://{self.client.bucket}/{self.key(sha256)}"

    def _send(
        self, method: str, sha256: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        try:
            response = self.client.request(method, self.key(sha256), body, headers)
        except OSError as exc:
            raise DocumentStoreUnavailable(
                f"kho tài liệu S3 {self.client.endpoint} không trả lời ({exc}); "
                "kiểm tra KHUYENCONG_S3_ENDPOINT"
            ) from exc
        if response.status in {401, 403}:
            error = self.client.error_of(response)
            raise DocumentStoreUnavailable(
                f"kho tài liệu S3 từ chối {method} {self._where(sha256)} ({error}); "
                f"kiểm tra {CREDENTIALS}, KHUYENCONG_S3_REGION và quyền trên bucket"
            )
        if response.status == 404 and method != "HEAD":  # HEAD answers have no body
            error = self.client.error_of(response)
            if error.code == "NoSuchBucket" or method == "PUT":
                raise DocumentStoreUnavailable(
                    f"kho tài liệu S3 không có bucket {self.client.bucket!r} ({error}); "
                    "tạo nó, hoặc sửa KHUYENCONG_DOCUMENT_STORE_URL"
                )
        elif not 200 <= response.status < 300 and response.status != 404:
            error = self.client.error_of(response)
            hint = ""
            if response.status in {301, 307} or error.code == "AuthorizationHeaderMalformed":
                hint = "; kiểm tra KHUYENCONG_S3_REGION và KHUYENCONG_S3_ENDPOINT"
            raise DocumentStoreUnavailable(
                f"kho tài liệu S3: {method} {self._where(sha256)} thất bại ({error}){hint}"
            )
        return response.status, response.body

    def has(self, sha256: str) -> bool:
        status, _ = self._send("HEAD", sha256)
        return status != 404

    def put(self, sha256: str, data: bytes) -> None:
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError("the data do not have the hash they are stored under")
        if self.has(sha256):
            return
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        self._send(
            "PUT", sha256, data, {"Content-MD5": md5, "Content-Type": "application/octet-stream"}
        )

    def get(self, sha256: str) -> bytes:
        status, data = self._send("GET", sha256)
        if status == 404:
            raise DocumentMissing(f"kho tài liệu không có tệp {sha256} ({self._where(sha256)})")
        if hashlib.sha256(data).hexdigest() != sha256:
            raise DocumentCorrupt(
                f"tệp {self._where(sha256)} không còn đúng mã băm {sha256}: đã bị sửa"
            )
        return data


def store_for(settings: Settings) -> DocumentStore:
    """The configured document store: S3-compatible when ``document_store_url`` is set, else
    the folder. Reads the secret access key's file, if that is how it is given."""
    bucket = settings.document_store_bucket
    if bucket is None:
        return FolderStore(settings.documents_dir)
    if settings.s3_secret_access_key_file is not None:
        try:
            secret = settings.s3_secret_access_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise DocumentStoreUnavailable(
                f"KHUYENCONG_S3_SECRET_ACCESS_KEY_FILE: cannot read it ({exc.strerror})"
            ) from None
    else:
        assert settings.s3_secret_access_key is not None  # the settings check it
        secret = settings.s3_secret_access_key.get_secret_value()
    assert settings.s3_access_key_id is not None
    client = S3Client(
        endpoint=settings.s3_endpoint_url,
        bucket=bucket,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret,
        timeout=settings.s3_timeout_seconds,
    )
    return S3Store(client, settings.document_store_prefix)


@dataclass(frozen=True)
class Attached:
    """A document recorded on a step: new, or found recorded already."""

    new: bool
    row: dict[str, Any]


FIND_STEP_BY_KEY = """
SELECT idempotency_key, action FROM de_an_event WHERE de_an_id = $1 AND idempotency_key = $2
"""
FIND_LAST_STEP = """
SELECT idempotency_key, action FROM de_an_event WHERE de_an_id = $1 AND action = $2
ORDER BY chain_seq DESC LIMIT 1
"""
SELECT_PROVINCE = "SELECT province FROM de_an WHERE de_an_id = $1"


def refused(message: str, field: str, code: str = DOCUMENT_REFUSED) -> ActionRefused:
    return ActionRefused.of(code, message, field, BASIS_DOSSIER)


async def attach(
    pool: Any,
    store: DocumentStore,
    *,
    code: str,
    step: str,
    kind: DocumentKind,
    file_name: str,
    data: bytes,
    actor: Actor,
    max_bytes: int,
    note: str = "",
    at: datetime | None = None,
) -> Attached:
    """Check, store and record a document of ``kind`` on the đề án's step ``step`` (an action,
    meaning its last step, or a step's idempotency key). Refusals: :class:`ActionRefused`
    (``DocumentRefused``, ``WrongJurisdiction``); an unknown đề án or step: :class:`NotFound`."""
    try:
        file_type = check_file(file_name, data, max_bytes)
    except DocumentRefused as exc:
        raise refused(str(exc), exc.field) from None
    async with pool.acquire() as conn:
        province = await conn.fetchval(SELECT_PROVINCE, code)
        if province is None:
            raise NotFound(f"không có đề án {code}")
        if actor.province is not None and province_key(actor.province) != province_key(province):
            raise refused(
                f"actor: {actor.full_name} ({actor.official_id}) thuộc {actor.province}, "
                f"không có thẩm quyền với đề án {code} của {province}",
                "actor",
                RefusalCode.WRONG_JURISDICTION,
            )
        if ":" in step:
            found = await conn.fetchrow(FIND_STEP_BY_KEY, code, step)
        else:
            try:
                action = Action(step)
            except ValueError:
                raise refused(
                    f"step: {step!r} không phải bước nào (một thao tác như approve, "
                    "sign_contract, pay_advance, hoặc khoá của bước)",
                    "step",
                ) from None
            found = await conn.fetchrow(FIND_LAST_STEP, code, action.value)
        if found is None:
            raise NotFound(f"đề án {code} chưa có bước {step}")
        action = Action(found["action"])
        try:
            check_kind_fits(kind, action)
        except DocumentRefused as exc:
            raise refused(str(exc), exc.field) from None
        sha256 = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(
            store.put, sha256, data
        )  # first: a recorded hash always has its file
        row = DocumentRow(
            de_an_id=code,
            step_key=found["idempotency_key"],
            step_action=action.value,
            kind=kind.value,
            file_name=Path(file_name).name,
            media_type=file_type.media_type,
            size_bytes=len(data),
            sha256=sha256,
            actor_official_id=actor.official_id,
            actor_name=actor.full_name,
            actor_role=actor.role.value,
            actor_province=actor.province,
            occurred_at=at or datetime.now(UTC),
            note=note,
        )
        async with conn.transaction():
            new, stored = await insert_document(conn, row)
    return Attached(new, dict(stored))
