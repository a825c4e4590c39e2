"""The chain of a đề án's record, recomputed: canonical content, hashes, the first broken link.

Migration 0009 links every row of ``de_an_event`` (a step) and ``de_an_document`` (a document
attached to a step) into two chains, built by a trigger in PostgreSQL:

- the chain of its đề án: ``chain_seq`` 1, 2, ... over both tables; ``prev_hash`` is the
  previous link's ``chain_hash`` (:data:`GENESIS` for the first);
- the chain of its day (``recorded_at`` in Vietnam's time zone) over all đề án: ``day_seq``,
  ``day_prev_hash``, ``day_hash``.

With ``content_hash = sha256(canonical content)``, ``chain_hash = sha256(prev_hash +
content_hash)`` and ``day_hash = sha256(day_prev_hash + content_hash)`` (hex, concatenated as
text). The canonical content is the row's columns as the text PostgreSQL prints for a
``jsonb`` object: keys ordered by length then bytes, ``", "`` and ``": "`` between them,
strings escaped as PostgreSQL escapes them. :func:`canonical_event` and
:func:`canonical_document` build it here from the columns, independently of the SQL
functions of the migration (``audit_canonical_event``, ``audit_canonical_document``), so a
changed SQL function is caught as well as a changed row. ``details`` (jsonb) is taken as
PostgreSQL prints it (``details::text``).

Pure: no database, no Temporal; the offline package verifier uses the same functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

GENESIS = "0" * 64
"""``prev_hash`` of the first link of every chain."""

EVENT_TABLE = "de_an_event"
DOCUMENT_TABLE = "de_an_document"


class RawJson(str):
    """JSON text put into the canonical content as it is (a jsonb column's own text)."""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link_hash(previous: str, content_hash: str) -> str:
    """The hash of a link: its predecessor's hash and its own content's."""
    return sha256_hex(previous + content_hash)


def json_string(text: str) -> str:
    """A string as PostgreSQL's JSON output escapes it (``escape_json``)."""
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, RawJson):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json_string(value)
    raise TypeError(f"no canonical form for {type(value).__name__}")


def jsonb_object_text(values: Mapping[str, Any]) -> str:
    """``jsonb_build_object(...)::text`` of flat values (text, integers, booleans, null,
    :class:`RawJson`)."""
    keys = sorted(values, key=lambda k: (len(k.encode("utf-8")), k.encode("utf-8")))
    if not keys:
        return "{}"
    return "{" + ", ".join(f"{json_string(k)}: {_value(values[k])}" for k in keys) + "}"


def time_text(at: datetime) -> str:
    """``audit_time``: UTC, microseconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day_text(day: date) -> str:
    return day.isoformat()


def canonical_event(row: Mapping[str, Any]) -> str:
    """The canonical content of a ``de_an_event`` row (its columns; ``details_text`` is
    ``details::text``)."""
    return jsonb_object_text(
        {
            "table": EVENT_TABLE,
            "v": 1,
            "de_an_id": row["de_an_id"],
            "chain_seq": row["chain_seq"],
            "idempotency_key": row["idempotency_key"],
            "seq": row["seq"],
            "action": row["action"],
            "stage_from": row["stage_from"],
            "stage_to": row["stage_to"],
            "actor_official_id": row["actor_official_id"],
            "actor_name": row["actor_name"],
            "actor_role": row["actor_role"],
            "actor_organisation": row["actor_organisation"],
            "actor_province": row["actor_province"],
            "occurred_at": time_text(row["occurred_at"]),
            "business_date": day_text(row["business_date"]),
            "decision_number": row["decision_number"],
            "summary": row["summary"],
            "details": RawJson(row["details_text"]),
            "recorded_at": time_text(row["recorded_at"]),
        }
    )


def canonical_document(row: Mapping[str, Any]) -> str:
    """The canonical content of a ``de_an_document`` row."""
    return jsonb_object_text(
        {
            "table": DOCUMENT_TABLE,
            "v": 1,
            "de_an_id": row["de_an_id"],
            "chain_seq": row["chain_seq"],
            "idempotency_key": row["idempotency_key"],
            "step_key": row["step_key"],
            "step_action": row["step_action"],
            "kind": row["kind"],
            "file_name": row["file_name"],
            "media_type": row["media_type"],
            "size_bytes": row["size_bytes"],
            "sha256": row["sha256"],
            "actor_official_id": row["actor_official_id"],
            "actor_name": row["actor_name"],
            "actor_role": row["actor_role"],
            "actor_province": row["actor_province"],
            "occurred_at": time_text(row["occurred_at"]),
            "note": row["note"],
            "recorded_at": time_text(row["recorded_at"]),
        }
    )


@dataclass(frozen=True)
class Link:
    """One row of the chain as stored, with the canonical content recomputed from it."""

    table: str
    row_id: int
    de_an_id: str
    idempotency_key: str
    canonical: str
    chain_seq: int
    content_hash: str
    prev_hash: str
    chain_hash: str
    chain_day: date
    day_seq: int
    day_prev_hash: str
    day_hash: str

    @classmethod
    def of_row(cls, table: str, row: Mapping[str, Any]) -> Link:
        canonical = canonical_event(row) if table == EVENT_TABLE else canonical_document(row)
        return cls(
            table=table,
            row_id=int(row["id"]),
            de_an_id=row["de_an_id"],
            idempotency_key=row["idempotency_key"],
            canonical=canonical,
            chain_seq=int(row["chain_seq"]),
            content_hash=row["content_hash"],
            prev_hash=row["prev_hash"],
            chain_hash=row["chain_hash"],
            chain_day=row["chain_day"],
            day_seq=int(row["day_seq"]),
            day_prev_hash=row["day_prev_hash"],
            day_hash=row["day_hash"],
        )

    def where(self) -> str:
        return f"{self.table} id {self.row_id} ({self.idempotency_key})"

    def manifest(self) -> dict[str, Any]:
        """The link as the evidence package's manifest lists it."""
        return {
            "table": self.table,
            "idempotency_key": self.idempotency_key,
            "chain_seq": self.chain_seq,
            "canonical": self.canonical,
            "content_hash": self.content_hash,
            "prev_hash": self.prev_hash,
            "chain_hash": self.chain_hash,
            "chain_day": self.chain_day.isoformat(),
            "day_seq": self.day_seq,
            "day_prev_hash": self.day_prev_hash,
            "day_hash": self.day_hash,
        }


@dataclass(frozen=True)
class Head:
    """What ``audit_chain_head`` says a chain ends with."""

    length: int
    head_hash: str


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain: which chain, where, what is wrong."""

    chain: str  # "đề án BG-2019-DP-90" or "ngày 2026-12-02"
    kind: str  # edited | missing | order | head
    position: int  # the chain_seq / day_seq where it breaks
    where: str  # the row, or the head
    message: str

    def __str__(self) -> str:
        return f"{self.chain}, mắt xích {self.position} ({self.where}): {self.message}"


@dataclass
class ChainReport:
    """What a verification found: links checked, chains, the first break of each."""

    links: int = 0
    de_an: int = 0
    days: int = 0
    breaks: list[Break] = field(default_factory=list)
    day_heads: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.breaks


def _position(link: Link, by_day: bool) -> int:
    return link.day_seq if by_day else link.chain_seq


def verify_chain(
    name: str, links: Sequence[Link], head: Head | None = None, *, by_day: bool = False
) -> Break | None:
    """The first broken link of one chain (a đề án's, or a day's with ``by_day``), or None.

    ``links`` are the rows of the chain in any order. Checked in order of position: the row's
    content still gives its ``content_hash`` (else it was edited), positions run 1, 2, ...
    without a gap (else a row was deleted) or a repeat, each ``prev_hash`` is the previous
    link's hash (else rows were reordered or replaced), each link's hash is recomputed; at the
    end, the head recorded in ``audit_chain_head`` is the last link (else the last rows were
    deleted)."""
    ordered = sorted(links, key=lambda k: (_position(k, by_day), k.table, k.row_id))
    previous = GENESIS
    expected = 1
    for link in ordered:
        position = _position(link, by_day)
        stored_prev = link.day_prev_hash if by_day else link.prev_hash
        stored_hash = link.day_hash if by_day else link.chain_hash

        def broken(kind: str, message: str, at: int = position, where: str = link.where()) -> Break:
            return Break(name, kind, at, where, message)

        if sha256_hex(link.canonical) != link.content_hash:
            return broken(
                "edited",
                "nội dung dòng không còn khớp content_hash đã ghi: dòng đã bị sửa",
            )
        if position > expected:
            missing = f"{expected}" if position == expected + 1 else f"{expected}–{position - 1}"
            return broken(
                "missing",
                f"thiếu mắt xích {missing} trước dòng này: dòng đã bị xoá",
                at=expected,
            )
        if position < expected:
            return broken("order", f"vị trí {position} lặp lại: thứ tự chuỗi bị thay đổi")
        if stored_prev != previous:
            return broken(
                "order",
                "prev_hash không phải hash của mắt xích trước: dòng bị xoá, chèn hoặc đổi thứ tự",
            )
        if link_hash(stored_prev, link.content_hash) != stored_hash:
            return broken("edited", "hash của mắt xích không khớp nội dung và mắt xích trước")
        previous = stored_hash
        expected += 1
    if head is not None:
        length = expected - 1
        if head.length != length or head.head_hash != previous:
            what = (
                f"đầu chuỗi ghi {head.length} mắt xích, còn lại {length}: những dòng cuối đã bị xoá"
                if head.length > length
                else "đầu chuỗi không khớp mắt xích cuối"
            )
            return Break(name, "head", length + 1, "audit_chain_head", what)
    return None


def verify_links(
    links: Iterable[Link],
    de_an_heads: Mapping[str, Head] | None = None,
    day_heads: Mapping[date, Head] | None = None,
    *,
    days: bool = True,
) -> ChainReport:
    """Verify every đề án chain among ``links`` and, with ``days``, every day chain (the
    links of a day must all be given). Heads, when given, are checked too."""
    report = ChainReport()
    by_de_an: dict[str, list[Link]] = {}
    by_day: dict[date, list[Link]] = {}
    for link in links:
        report.links += 1
        by_de_an.setdefault(link.de_an_id, []).append(link)
        by_day.setdefault(link.chain_day, []).append(link)
    for de_an_id in sorted(by_de_an):
        report.de_an += 1
        head = (de_an_heads or {}).get(de_an_id)
        found = verify_chain(f"đề án {de_an_id}", by_de_an[de_an_id], head)
        if found is not None:
            report.breaks.append(found)
    if days:
        for day in sorted(by_day):
            report.days += 1
            head = (day_heads or {}).get(day)
            found = verify_chain(f"ngày {day.isoformat()}", by_day[day], head, by_day=True)
            if found is not None:
                report.breaks.append(found)
            else:
                last = max(by_day[day], key=lambda k: k.day_seq)
                report.day_heads[day.isoformat()] = last.day_hash
    return report
