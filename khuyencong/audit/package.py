"""The evidence package of a đề án (``khuyencong de-an evidence``) and its offline check
(``khuyencong audit verify-package``).

One ZIP:

- ``documents/<chain_seq>-<kind>-<sha256[:12]><ext>``: every document attached to the đề án,
  as the store keeps it;
- ``manifest.json``: the đề án, every link of its chain (the canonical content of each row,
  its content hash, the previous link's hash and its own; :mod:`khuyencong.audit.chain`), the
  chain's head, each day it has links on as a list of the day's links (hashes only: other
  đề án's content stays out) and that day's head, each document's path, SHA-256 and size,
  and the SHA-256 of the summary;
- ``summary.html``: the đề án's life and money, readable in a browser.

:func:`verify_package` needs nothing but the file: it recomputes every content hash from the
canonical content, every link of the đề án's chain and of its days, checks each document's
bytes against its hash and against the chain's record of it, and names everything wrong. What
it cannot tell alone: whether the chain is the one the database holds (compare the chain's
head and the day heads with ``khuyencong audit verify`` or with heads published earlier).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from db import audit as audit_db
from domain.evidence import FILE_TYPES, DocumentKind
from domain.money import format_dong
from domain.stages import Action, Stage
from khuyencong.audit.chain import (
    DOCUMENT_TABLE,
    EVENT_TABLE,
    GENESIS,
    Head,
    Link,
    link_hash,
    sha256_hex,
    verify_chain,
)
from khuyencong.audit.documents import DocumentStore
from khuyencong.audit.verify import chain_of, links_of_rows

FORMAT = "khuyencong-evidence/1"
MANIFEST = "manifest.json"
SUMMARY = "summary.html"

MONEY_COLUMNS = (
    ("requested_support", "Kinh phí đề nghị hỗ trợ"),
    ("approved_support", "Kinh phí được duyệt"),
    ("contracted_support", "Kinh phí theo hợp đồng"),
    ("advanced", "Đã tạm ứng"),
    ("paid", "Đã chi (tạm ứng và thanh toán)"),
    ("refund_owed", "Phải nộp lại"),
    ("refunded", "Đã nộp lại"),
)


class PackageError(LookupError):
    """The đề án cannot be packaged (unknown, or a document missing from the store)."""


def _extension(media_type: str) -> str:
    for file_type in FILE_TYPES:
        if file_type.media_type == media_type:
            return file_type.extensions[0]
    return ".bin"


def _day(value: Any) -> str:
    return value.strftime("%d/%m/%Y") if isinstance(value, date) else ""


async def build_package(conn: Any, store: DocumentStore, code: str) -> bytes:
    """The ZIP of đề án ``code`` (see the module)."""
    row = await conn.fetchrow("SELECT * FROM de_an WHERE de_an_id = $1", code)
    if row is None:
        raise PackageError(f"không có đề án {code}")
    links = sorted(await chain_of(conn, code), key=lambda k: k.chain_seq)
    heads = await audit_db.heads(
        conn,
        [
            audit_db.de_an_scope(code),
            *(audit_db.day_scope(d) for d in {k.chain_day for k in links}),
        ],
    )
    days = sorted({k.chain_day for k in links})
    day_links = links_of_rows(*await audit_db.links_on(conn, days)) if days else []
    events = {r["idempotency_key"]: r for r in (await audit_db.links_of(conn, code))[0]}
    documents = [dict(r) for r in (await audit_db.links_of(conn, code))[1]]

    buffer = io.BytesIO()
    listed: list[dict[str, Any]] = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for doc in sorted(documents, key=lambda d: d["chain_seq"]):
            try:
                data = await asyncio.to_thread(store.get, doc["sha256"])
            except (LookupError, ValueError) as exc:
                raise PackageError(str(exc)) from exc
            path = (
                f"documents/{doc['chain_seq']:04d}-{doc['kind']}-{doc['sha256'][:12]}"
                f"{_extension(doc['media_type'])}"
            )
            zf.writestr(path, data)
            listed.append(
                {
                    "path": path,
                    "sha256": doc["sha256"],
                    "size_bytes": len(data),
                    "kind": doc["kind"],
                    "media_type": doc["media_type"],
                    "file_name": doc["file_name"],
                    "step_key": doc["step_key"],
                    "chain_seq": doc["chain_seq"],
                }
            )
        summary = render_summary(dict(row), links, events, documents, heads).encode("utf-8")
        zf.writestr(SUMMARY, summary)
        head = heads.get(audit_db.de_an_scope(code), (0, GENESIS))
        manifest = {
            "format": FORMAT,
            "generated_at": datetime.now(UTC).isoformat(),
            "de_an": {
                "de_an_id": code,
                "title": row["title"],
                "province": row["province"],
                "stage": row["stage"],
                "plan_year": row["plan_year"],
            },
            "chain": [link.manifest() for link in links],
            "head": {"length": head[0], "hash": head[1]},
            "days": {
                day.isoformat(): {
                    "links": [
                        {
                            "day_seq": k.day_seq,
                            "content_hash": k.content_hash,
                            "day_prev_hash": k.day_prev_hash,
                            "day_hash": k.day_hash,
                        }
                        for k in sorted(
                            (k for k in day_links if k.chain_day == day), key=lambda k: k.day_seq
                        )
                    ],
                    "head": dict(
                        zip(
                            ("length", "hash"),
                            heads.get(audit_db.day_scope(day), (0, GENESIS)),
                            strict=True,
                        )
                    ),
                }
                for day in days
            },
            "documents": listed,
            "summary": {"path": SUMMARY, "sha256": hashlib.sha256(summary).hexdigest()},
        }
        zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
    return buffer.getvalue()


def render_summary(
    row: dict[str, Any],
    links: list[Link],
    events: dict[str, Any],
    documents: list[dict[str, Any]],
    heads: dict[str, tuple[int, str]],
) -> str:
    """The readable summary: the đề án, its money, every step and document, the chain's head."""
    e = html.escape
    try:
        stage = Stage(row["stage"]).label
    except (ValueError, AttributeError):
        stage = str(row["stage"])
    docs_by_step: dict[str, list[dict[str, Any]]] = {}
    for doc in documents:
        docs_by_step.setdefault(doc["step_key"], []).append(doc)
    rows: list[str] = []
    for link in links:
        if link.table != EVENT_TABLE:
            continue
        ev = events[link.idempotency_key]
        try:
            label = Action(ev["action"]).label
        except ValueError:
            label = ev["action"]
        who = ev["actor_name"] or "hệ thống"
        papers = "".join(
            f"<li>{e(DocumentKind(d['kind']).label)}: {e(d['file_name'])} "
            f"<code>{e(d['sha256'])}</code></li>"
            for d in docs_by_step.get(link.idempotency_key, [])
        )
        rows.append(
            "<tr>"
            f"<td>{link.chain_seq}</td><td>{_day(ev['business_date'])}</td><td>{e(label)}</td>"
            f"<td>{e(who)}</td><td>{e(ev['decision_number'] or '')}</td>"
            f"<td>{e(ev['summary'])}{f'<ul>{papers}</ul>' if papers else ''}</td>"
            f"<td><code>{e(link.chain_hash[:16])}…</code></td>"
            "</tr>"
        )
    money = "".join(
        f"<tr><th>{e(label)}</th><td>{e(format_dong(int(row[column] or 0)))}</td></tr>"
        for column, label in MONEY_COLUMNS
    )
    head = heads.get(audit_db.de_an_scope(row["de_an_id"]), (0, GENESIS))
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>Hồ sơ đề án {e(row["de_an_id"])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:4px 8px;vertical-align:top;text-align:left}}
code{{font-size:85%}}</style></head>
<body>
<h1>Đề án khuyến công {e(row["de_an_id"])}</h1>
<p><b>{e(row["title"])}</b></p>
<p>Đơn vị thụ hưởng: {e(row["beneficiary_name"])} — {e(row["province"])} — kế hoạch năm
{row["plan_year"]} — cấp {e(row["level"])}. Trạng thái: <b>{e(stage)}</b>.</p>
<h2>Kinh phí</h2>
<table>{money}</table>
<h2>Diễn biến ({len(rows)} bước, {len(documents)} tài liệu)</h2>
<table><tr><th>#</th><th>Ngày</th><th>Bước</th><th>Người thực hiện</th><th>Số văn bản</th>
<th>Nội dung, tài liệu</th><th>Mã băm chuỗi</th></tr>
{"".join(rows)}
</table>
<h2>Chuỗi băm</h2>
<p>{head[0]} mắt xích; đầu chuỗi <code>{e(head[1])}</code>. Kiểm tra gói:
<code>khuyencong audit verify-package &lt;tệp.zip&gt;</code>.</p>
</body></html>
"""


# --- offline check ------------------------------------------------------------------------------


@dataclass
class PackageCheck:
    de_an_id: str = ""
    links: int = 0
    documents: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _link_of(entry: dict[str, Any], de_an_id: str) -> Link:
    return Link(
        table=str(entry["table"]),
        row_id=int(entry["chain_seq"]),
        de_an_id=de_an_id,
        idempotency_key=str(entry["idempotency_key"]),
        canonical=str(entry["canonical"]),
        chain_seq=int(entry["chain_seq"]),
        content_hash=str(entry["content_hash"]),
        prev_hash=str(entry["prev_hash"]),
        chain_hash=str(entry["chain_hash"]),
        chain_day=date.fromisoformat(entry["chain_day"]),
        day_seq=int(entry["day_seq"]),
        day_prev_hash=str(entry["day_prev_hash"]),
        day_hash=str(entry["day_hash"]),
    )


def verify_package(path: Path | str) -> PackageCheck:
    """Check a package offline; every problem found, in words (see the module)."""
    check = PackageCheck()
    problems = check.problems
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        problems.append(f"không mở được tệp ZIP: {exc}")
        return check
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names:
            problems.append(f"thiếu {MANIFEST}")
            return check
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{MANIFEST} không đọc được: {exc}")
            return check
        if manifest.get("format") != FORMAT:
            problems.append(f"{MANIFEST}: định dạng {manifest.get('format')!r}, cần {FORMAT!r}")
            return check
        try:
            _check_manifest(zf, names, manifest, check)
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{MANIFEST} thiếu hoặc sai trường: {exc!r}")
    return check


def _check_manifest(
    zf: zipfile.ZipFile, names: set[str], manifest: dict[str, Any], check: PackageCheck
) -> None:
    problems = check.problems
    de_an_id = str(manifest["de_an"]["de_an_id"])
    check.de_an_id = de_an_id
    links = [_link_of(entry, de_an_id) for entry in manifest["chain"]]
    check.links = len(links)

    # Each link's content is what it says: this đề án's row at this position.
    recorded_files: dict[str, str] = {}  # sha256 -> idempotency key of its document row
    steps: set[str] = set()  # the steps seen so far, in chain order
    for link in sorted(links, key=lambda k: k.chain_seq):
        try:
            content = json.loads(link.canonical)
        except ValueError:
            problems.append(f"mắt xích {link.chain_seq}: nội dung không phải JSON")
            continue
        if content.get("de_an_id") != de_an_id or content.get("chain_seq") != link.chain_seq:
            problems.append(
                f"mắt xích {link.chain_seq}: nội dung là của {content.get('de_an_id')} "
                f"vị trí {content.get('chain_seq')}, không phải của đề án {de_an_id}"
            )
        if content.get("table") != link.table:
            problems.append(f"mắt xích {link.chain_seq}: bảng {link.table} khác nội dung")
        if link.table == DOCUMENT_TABLE and isinstance(content.get("sha256"), str):
            recorded_files[content["sha256"]] = link.idempotency_key
            if content.get("step_key") not in steps:
                problems.append(
                    f"mắt xích {link.chain_seq}: tài liệu gắn với bước {content.get('step_key')}"
                    " không có trong chuỗi trước nó"
                )
        elif link.table == EVENT_TABLE:
            steps.add(link.idempotency_key)

    head = manifest["head"]
    found = verify_chain(f"đề án {de_an_id}", links, Head(int(head["length"]), str(head["hash"])))
    if found is not None:
        problems.append(str(found))

    # The days: each of the đề án's links sits in its day's chain, which links up to its head.
    for link in links:
        day = manifest["days"].get(link.chain_day.isoformat())
        entries = {int(x["day_seq"]): x for x in (day or {}).get("links", [])}
        entry = entries.get(link.day_seq)
        if entry is None or entry["content_hash"] != link.content_hash:
            problems.append(
                f"mắt xích {link.chain_seq} không có trong chuỗi ngày "
                f"{link.chain_day.isoformat()} ở vị trí {link.day_seq}"
            )
    for day_name, day in sorted(manifest["days"].items()):
        previous, expected = GENESIS, 1
        for entry in sorted(day["links"], key=lambda x: int(x["day_seq"])):
            if int(entry["day_seq"]) != expected or entry["day_prev_hash"] != previous:
                problems.append(f"chuỗi ngày {day_name} đứt ở vị trí {expected}")
                break
            if link_hash(entry["day_prev_hash"], entry["content_hash"]) != entry["day_hash"]:
                problems.append(f"chuỗi ngày {day_name}: mắt xích {expected} sai mã băm")
                break
            previous, expected = entry["day_hash"], expected + 1
        else:
            if int(day["head"]["length"]) != expected - 1 or day["head"]["hash"] != previous:
                problems.append(f"chuỗi ngày {day_name}: đầu chuỗi không khớp mắt xích cuối")

    # The documents: each file is there, has its hash, and is the one the chain recorded.
    listed = {str(d["path"]) for d in manifest["documents"]}
    for doc in manifest["documents"]:
        doc_path = str(doc["path"])
        if doc_path not in names:
            problems.append(f"thiếu tài liệu {doc_path}")
            continue
        data = zf.read(doc_path)
        digest = hashlib.sha256(data).hexdigest()
        if digest != doc["sha256"] or len(data) != int(doc["size_bytes"]):
            problems.append(
                f"tài liệu {doc_path} đã bị thay đổi: SHA-256 {digest}, danh mục ghi {doc['sha256']}"
            )
        elif digest not in recorded_files:
            problems.append(f"tài liệu {doc_path} không được chuỗi băm của đề án ghi nhận")
        check.documents += 1
    for sha256, key in sorted(recorded_files.items()):
        if not any(d["sha256"] == sha256 for d in manifest["documents"]):
            problems.append(f"chuỗi ghi tài liệu {sha256} ({key}) nhưng gói không có tệp đó")

    summary = manifest["summary"]
    if summary["path"] not in names:
        problems.append(f"thiếu {summary['path']}")
    elif sha256_hex_bytes(zf.read(summary["path"])) != summary["sha256"]:
        problems.append(f"{summary['path']} đã bị thay đổi")
    for extra in sorted(names - listed - {MANIFEST, summary["path"]}):
        if not extra.endswith("/"):
            problems.append(f"tệp lạ trong gói, không có trong danh mục: {extra}")


def sha256_hex_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


__all__ = ["PackageCheck", "PackageError", "build_package", "sha256_hex", "verify_package"]
