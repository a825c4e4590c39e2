"""Documents attached to steps: checked, stored by their hash, chained after the steps; a
document that does not fit is refused naming the field, the rule and the legal basis."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import asyncpg
import pytest

from domain.evidence import DocumentKind
from khuyencong.admin.errors import ActionRefused, NotFound
from khuyencong.audit.documents import DocumentCorrupt, DocumentMissing, FolderStore, attach
from khuyencong.audit.verify import verify_de_an
from tests.khuyencong.audit.conftest import life_steps, write_life
from tests.khuyencong.audit.test_package import MAX, PDF
from tests.support.builders import SO, SO_BAC_NINH


async def test_a_document_is_stored_by_its_hash_and_chained_after_the_steps(
    audit_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    store = FolderStore(tmp_path)
    code = await write_life(audit_pool, life_steps(count=2))

    first = await attach(
        audit_pool, store, code=code, step="resolve_findings",
        kind=DocumentKind.PROGRESS_REPORT, file_name="bao-cao.pdf", data=PDF, actor=SO,
        max_bytes=MAX,
    )  # fmt: skip
    again = await attach(
        audit_pool, store, code=code, step="resolve_findings",
        kind=DocumentKind.PROGRESS_REPORT, file_name="bao-cao.pdf", data=PDF, actor=SO,
        max_bytes=MAX,
    )  # fmt: skip

    sha = hashlib.sha256(PDF).hexdigest()
    assert (first.new, again.new) == (True, False)
    assert first.row["sha256"] == sha and first.row["chain_seq"] == 3
    assert first.row["step_key"].endswith(":resolve_findings:2")
    assert store.get(sha) == PDF and (tmp_path / sha[:2] / sha).is_file()
    async with audit_pool.acquire() as conn:
        assert (await verify_de_an(conn, code)).ok


async def test_a_document_that_does_not_fit_is_refused_naming_the_rule(
    audit_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    store = FolderStore(tmp_path)
    code = await write_life(audit_pool, life_steps(count=2))

    async def try_(**kw: object) -> ActionRefused:
        args: dict[str, object] = {
            "code": code, "step": "resolve_findings", "kind": DocumentKind.PROGRESS_REPORT,
            "file_name": "bao-cao.pdf", "data": PDF, "actor": SO, "max_bytes": MAX,
        }  # fmt: skip
        with pytest.raises(ActionRefused) as refused:
            await attach(audit_pool, store, **{**args, **kw})  # type: ignore[arg-type]
        return refused.value

    assert (await try_(kind=DocumentKind.CONTRACT)).info.field == "kind"
    wrong_type = await try_(file_name="bao-cao.docx", data=b"PK\x03\x04 word")
    assert wrong_type.info.field == "file" and "không phải PDF" in wrong_type.info.message
    assert "Thông tư 28/2018/TT-BTC" in (wrong_type.info.legal_basis or "")
    assert "không khớp nội dung" in (await try_(file_name="bao-cao.png")).info.message
    assert "vượt giới hạn" in (await try_(max_bytes=10)).info.message
    assert (await try_(actor=SO_BAC_NINH)).type == "WrongJurisdiction"
    with pytest.raises(NotFound):
        await attach(
            audit_pool, store, code=code, step="sign_contract", kind=DocumentKind.CONTRACT,
            file_name="hd.pdf", data=PDF, actor=SO, max_bytes=MAX,
        )  # fmt: skip
    assert not list(tmp_path.iterdir())  # nothing refused was stored


def test_the_folder_store_gives_back_only_what_it_was_given(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    sha = hashlib.sha256(PDF).hexdigest()
    with pytest.raises(ValueError):
        store.put("0" * 64, PDF)  # not the data's hash
    with pytest.raises(DocumentMissing):
        store.get(sha)
    store.put(sha, PDF)
    store.put(sha, PDF)  # idempotent
    assert store.has(sha) and store.get(sha) == PDF
    path = store.path(sha)
    os.chmod(path, 0o600)
    path.write_bytes(PDF + b"changed")
    with pytest.raises(DocumentCorrupt):
        store.get(sha)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
