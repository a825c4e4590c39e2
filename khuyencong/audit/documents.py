"""Evidence documents: the store that keeps their files by SHA-256, and attaching one to a step.

**The store.** :class:`DocumentStore` is what the rest needs: ``put`` (idempotent: the name
of a file is its hash), ``get`` (the bytes, checked against the hash) and ``has``.
:class:`FolderStore` keeps ``<root>/<first two hex digits>/<sha256>``, written to a temporary
file and renamed, read only-by-owner. The folder is ``KHUYENCONG_DOCUMENT_STORE_DIR``
(default ``<data_dir>/documents``); back it up with the database. An S3-compatible store is
not shipped (it needs a client library this project does not carry): implement the three
methods of :class:`DocumentStore` over such a client and return it from :func:`store_for`.

**Attaching.** :func:`attach` checks the file (size, type by its first bytes, the name's
extension: :mod:`domain.evidence`), finds the step (the last step of an action, or a step by
its key), checks that the kind fits that step and that the official may act on the đề án's
province, stores the file, then records a ``de_an_document`` row (:mod:`db.documents`), which
the chain's trigger links into the đề án's chain: from then on the file's SHA-256 is part of the
tamper-evident record. Attaching the same file to the same step as the same kind again records
nothing new.
"""

from __future__ import annotations

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
from khuyencong.settings import Settings

DOCUMENT_REFUSED = "DocumentRefused"
"""Type of a refused document (exit 3 in the CLI)."""


class DocumentMissing(LookupError):
    """The store has no file of that hash."""


class DocumentCorrupt(ValueError):
    """The store's file no longer has the hash it is kept under."""


class DocumentStore(Protocol):
    def put(self, sha256: str, data: bytes) -> None: ...

    def get(self, sha256: str) -> bytes: ...

    def has(self, sha256: str) -> bool: ...


class FolderStore:
    """Files named by their SHA-256 in a folder (two-digit fan-out)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256

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


def store_for(settings: Settings) -> DocumentStore:
    """The configured document store (a folder)."""
    return FolderStore(settings.documents_dir)


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
        store.put(sha256, data)  # first: a recorded hash always has its file
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
