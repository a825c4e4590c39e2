"""``khuyencong audit verify``: the chains of PostgreSQL recomputed, the first broken link named.

For one đề án (``--de-an CODE``): its chain, and the chains of every day it has a link on
(all đề án of those days: a đề án's chain rewritten whole, hashes and all, still breaks its
days' chains). For ``--all``: every đề án's chain and every day's. The heads in
``audit_chain_head`` are checked against the last links, so the last rows of a chain cannot
vanish unseen either.

What it cannot see: someone who rewrites a whole day's chain and its head together. Publish
the day heads (printed at the end of ``--all``) somewhere they cannot reach to anchor them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from db import audit as audit_db
from khuyencong.audit.chain import (
    DOCUMENT_TABLE,
    EVENT_TABLE,
    GENESIS,
    Break,
    ChainReport,
    Head,
    Link,
    verify_chain,
)


def links_of_rows(events: list[Any], documents: list[Any]) -> list[Link]:
    return [Link.of_row(EVENT_TABLE, r) for r in events] + [
        Link.of_row(DOCUMENT_TABLE, r) for r in documents
    ]


def _head(heads: dict[str, tuple[int, str]], scope: str) -> Head:
    """The head recorded for ``scope``; a chain without one should have no links."""
    length, head_hash = heads.get(scope, (0, GENESIS))
    return Head(length, head_hash)


async def chain_of(conn: Any, de_an_id: str) -> list[Link]:
    """The links of one đề án (steps and documents) as stored."""
    return links_of_rows(*await audit_db.links_of(conn, de_an_id))


async def verify_de_an(conn: Any, de_an_id: str) -> ChainReport:
    """One đề án's chain and the chains of the days it has links on."""
    links = await chain_of(conn, de_an_id)
    days = sorted({link.chain_day for link in links})
    heads = await audit_db.heads(
        conn, [audit_db.de_an_scope(de_an_id), *(audit_db.day_scope(d) for d in days)]
    )
    report = ChainReport(links=len(links), de_an=1)
    found = verify_chain(f"đề án {de_an_id}", links, _head(heads, audit_db.de_an_scope(de_an_id)))
    if found is not None:
        report.breaks.append(found)
    day_links = links_of_rows(*await audit_db.links_on(conn, days)) if days else []
    _verify_days(report, day_links, heads, days)
    return report


async def verify_all(conn: Any) -> ChainReport:
    """Every đề án's chain and every day's, against every head."""
    links = links_of_rows(*await audit_db.all_links(conn))
    heads = await audit_db.heads(conn)
    report = ChainReport(links=len(links))
    by_de_an: dict[str, list[Link]] = {}
    for link in links:
        by_de_an.setdefault(link.de_an_id, []).append(link)
    # A đề án whose every row was deleted still has its head.
    for scope in heads:
        if scope.startswith(audit_db.DE_AN_SCOPE):
            by_de_an.setdefault(scope[len(audit_db.DE_AN_SCOPE) :], [])
    for de_an_id in sorted(by_de_an):
        report.de_an += 1
        found = verify_chain(
            f"đề án {de_an_id}", by_de_an[de_an_id], _head(heads, audit_db.de_an_scope(de_an_id))
        )
        if found is not None:
            report.breaks.append(found)
    days = {link.chain_day for link in links} | {
        date.fromisoformat(scope[len(audit_db.DAY_SCOPE) :])
        for scope in heads
        if scope.startswith(audit_db.DAY_SCOPE)
    }
    _verify_days(report, links, heads, sorted(days))
    return report


def _verify_days(
    report: ChainReport, links: list[Link], heads: dict[str, tuple[int, str]], days: list[date]
) -> None:
    by_day: dict[date, list[Link]] = {d: [] for d in days}
    for link in links:
        by_day.setdefault(link.chain_day, []).append(link)
    for day in sorted(by_day):
        report.days += 1
        scope = audit_db.day_scope(day)
        found: Break | None = verify_chain(
            f"ngày {day.isoformat()}", by_day[day], _head(heads, scope), by_day=True
        )
        if found is not None:
            report.breaks.append(found)
        elif by_day[day]:
            report.day_heads[day.isoformat()] = max(by_day[day], key=lambda k: k.day_seq).day_hash
