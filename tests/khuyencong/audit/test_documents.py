"""Documents attached to steps: checked, stored by their hash, chained after the steps; a
document that does not fit is refused naming the field, the rule and the legal basis."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import asyncpg
import pytest

from domain.evidence import DocumentKind
from khuyencong.admin.errors import ActionRefused, NotFound
from khuyencong.audit.documents import (
    DocumentCorrupt,
    DocumentMissing,
    DocumentStoreUnavailable,
    FolderStore,
    S3Store,
    attach,
    store_for,
)
from khuyencong.audit.verify import verify_de_an
from khuyencong.settings import Settings
from tests.khuyencong.audit.conftest import life_steps, write_life
from tests.khuyencong.audit.test_package import MAX, PDF
from tests.support.builders import SO, SO_BAC_NINH
from tests.support.s3 import S3Server


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


def test_the_s3_store_gives_back_only_what_it_was_given(s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()
    store = S3Store(s3_server.client(bucket), "kc/documents/")
    sha = hashlib.sha256(PDF).hexdigest()
    assert store.key(sha) == f"kc/documents/{sha[:2]}/{sha}"
    with pytest.raises(ValueError):
        store.put("0" * 64, PDF)  # not the data's hash
    assert not store.has(sha)
    with pytest.raises(DocumentMissing):
        store.get(sha)

    store.put(sha, PDF)
    store.put(sha, PDF)  # idempotent
    assert store.has(sha) and store.get(sha) == PDF

    # Someone with write access to the bucket replaces the object: the hash tells, and a put
    # of the right file finds the object there and leaves it (like the folder: the damage
    # stays for the inspection to see).
    s3_server.client(bucket).checked("PUT", store.key(sha), PDF + b"changed")
    store.put(sha, PDF)
    with pytest.raises(DocumentCorrupt, match=f"s3://{bucket}/kc/documents/"):
        store.get(sha)
    with pytest.raises(ValueError):
        store.key("../../etc/passwd")


def test_an_s3_store_that_refuses_or_cannot_be_reached_says_which_setting_to_check(
    s3_server: S3Server,
) -> None:
    bucket = s3_server.new_bucket()
    sha = hashlib.sha256(PDF).hexdigest()

    wrong_secret = S3Store(s3_server.client(bucket, secret="not-the-secret"))
    for call in (lambda: wrong_secret.put(sha, PDF), lambda: wrong_secret.get(sha)):
        with pytest.raises(DocumentStoreUnavailable) as refused:
            call()
        assert "KHUYENCONG_S3_SECRET_ACCESS_KEY" in str(refused.value)
    assert "SignatureDoesNotMatch" in str(refused.value)

    no_bucket = S3Store(s3_server.client("kc-no-such-bucket"))
    with pytest.raises(DocumentStoreUnavailable, match="KHUYENCONG_DOCUMENT_STORE_URL"):
        no_bucket.put(sha, PDF)

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings = Settings.from_env(
        {**s3_server.env(bucket), "KHUYENCONG_S3_ENDPOINT": f"http://127.0.0.1:{port}"}
    )
    with pytest.raises(DocumentStoreUnavailable, match="KHUYENCONG_S3_ENDPOINT"):
        store_for(settings).has(sha)


def test_the_settings_choose_the_store(s3_server: S3Server, tmp_path: Path) -> None:
    folder = store_for(Settings.from_env({"KHUYENCONG_DATA_DIR": str(tmp_path)}))
    assert isinstance(folder, FolderStore) and folder.root == tmp_path / "documents"

    bucket = s3_server.new_bucket()
    secret = tmp_path / "s3-secret"
    secret.write_text(s3_server.secret_access_key + "\n")
    env = {**s3_server.env(bucket, "bg"), "KHUYENCONG_S3_SECRET_ACCESS_KEY": "",
           "KHUYENCONG_S3_SECRET_ACCESS_KEY_FILE": str(secret)}  # fmt: skip
    store = store_for(Settings.from_env(env))
    assert isinstance(store, S3Store) and store.prefix == "bg"
    sha = hashlib.sha256(PDF).hexdigest()
    store.put(sha, PDF)
    assert store.get(sha) == PDF
