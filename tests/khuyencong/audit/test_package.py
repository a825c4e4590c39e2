"""The evidence package and its offline check: a package as written verifies; a changed
document, a changed manifest or a file slipped in does not."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import asyncpg

from domain.evidence import DocumentKind
from khuyencong.audit.documents import FolderStore, attach
from khuyencong.audit.package import build_package, verify_package
from khuyencong.audit.verify import verify_de_an
from tests.khuyencong.audit.conftest import as_superuser, life_steps, run_cli, write_life
from tests.support.builders import SO

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MAX = 1024 * 1024


async def attached_life(pool: asyncpg.Pool, store: FolderStore) -> str:
    code = await write_life(pool, life_steps(count=3))
    for kind, name, data in [
        (DocumentKind.PROGRESS_REPORT, "bao-cao.pdf", PDF),
        (DocumentKind.PROGRESS_REPORT, "anh-hien-truong.png", PNG),
    ]:
        await attach(
            pool, store, code=code, step="resolve_findings", kind=kind, file_name=name,
            data=data, actor=SO, max_bytes=MAX,
        )  # fmt: skip
    return code


async def test_the_evidence_package_verifies_offline(
    audit_pool: asyncpg.Pool, audit_url: str, tmp_path: Path
) -> None:
    store = FolderStore(tmp_path / "store")
    code = await attached_life(audit_pool, store)
    out = tmp_path / "ho-so.zip"

    written = await run_cli(
        audit_url, "de-an", "evidence", code, "--out", str(out),
        env={"KHUYENCONG_DOCUMENT_STORE_DIR": str(tmp_path / "store")},
    )  # fmt: skip
    assert written.exit_code == 0, str(written)

    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        summary = zf.read("summary.html").decode()
    assert {"manifest.json", "summary.html"} <= names
    assert len([n for n in names if n.startswith("documents/")]) == 2
    assert [link["chain_seq"] for link in manifest["chain"]] == [1, 2, 3, 4, 5]
    assert manifest["head"]["length"] == 5
    assert code in summary and "Báo cáo tiến độ" in summary and "Kinh phí" in summary
    checked = verify_package(out)
    assert checked.ok, checked.problems
    assert (checked.links, checked.documents) == (5, 2)
    run = await run_cli(audit_url, "audit", "verify-package", str(out))
    assert run.exit_code == 0 and "nguyên vẹn" in run.stdout


def rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of a package with some members replaced (bytes), removed (None) or added."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for name in zin.namelist():
            if name in change:
                continue
            zout.writestr(name, zin.read(name))
        for name, data in change.items():
            if data is not None:
                zout.writestr(name, data)
    return target


async def test_a_changed_package_is_refused_naming_what_is_wrong(
    audit_pool: asyncpg.Pool, audit_url: str, tmp_path: Path
) -> None:
    store = FolderStore(tmp_path / "store")
    code = await attached_life(audit_pool, store)
    async with audit_pool.acquire() as conn:
        package = tmp_path / "ok.zip"
        package.write_bytes(await build_package(conn, store, code))
    with zipfile.ZipFile(package) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    document = manifest["documents"][0]["path"]

    swapped = rewrite(package, tmp_path / "a.zip", {document: PDF + b"% changed\n"})
    problems = verify_package(swapped).problems
    assert any(document in p and "đã bị thay đổi" in p for p in problems)

    edited = json.loads(json.dumps(manifest))
    edited["chain"][1]["canonical"] = edited["chain"][1]["canonical"].replace("lần 2", "lần 9")
    changed = rewrite(package, tmp_path / "b.zip", {"manifest.json": json.dumps(edited).encode()})
    problems = verify_package(changed).problems
    assert any("mắt xích 2" in p and "bị sửa" in p for p in problems)

    dropped = json.loads(json.dumps(manifest))
    del dropped["chain"][1]
    gap = rewrite(package, tmp_path / "c.zip", {"manifest.json": json.dumps(dropped).encode()})
    assert any("bị xoá" in p for p in verify_package(gap).problems)

    extra = rewrite(package, tmp_path / "d.zip", {"documents/them.pdf": PDF})
    assert any("documents/them.pdf" in p for p in verify_package(extra).problems)

    run = await run_cli(audit_url, "audit", "verify-package", str(swapped))
    assert run.exit_code == 1 and document in run.stderr

    bad = tmp_path / "e.zip"
    bad.write_bytes(b"not a zip")
    assert "ZIP" in verify_package(bad).problems[0]


async def test_a_document_row_changed_in_the_database_breaks_the_chain(
    audit_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    code = await attached_life(audit_pool, FolderStore(tmp_path))
    await as_superuser(
        audit_pool,
        "de_an_document",
        "UPDATE de_an_document SET sha256 = repeat('a', 64) WHERE de_an_id = $1 AND chain_seq = 4",
        code,
    )

    async with audit_pool.acquire() as conn:
        report = await verify_de_an(conn, code)
    assert (report.breaks[0].kind, report.breaks[0].position) == ("edited", 4)
    assert "de_an_document" in report.breaks[0].where
