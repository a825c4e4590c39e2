"""The chain recomputed in Python: the canonical text is the one PostgreSQL prints for a jsonb
object, and the first broken link is named for what went wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import asyncpg

from khuyencong.audit.chain import (
    EVENT_TABLE,
    GENESIS,
    Head,
    Link,
    jsonb_object_text,
    link_hash,
    sha256_hex,
    time_text,
    verify_chain,
    verify_links,
)

EVERY_AWKWARD_CHARACTER = "".join(chr(c) for c in range(1, 0x20)) + '"\\/ \x7f é ✓ 𝄞 Bắc Giang'


async def test_strings_and_key_order_are_printed_as_postgresql_prints_jsonb(
    audit_pool: asyncpg.Pool,
) -> None:
    values = {
        "zz": EVERY_AWKWARD_CHARACTER,
        "a": 1,
        "bb": None,
        "ccc": True,
        "long_key_name": -42,
        "é": "khoá có dấu",
        "ab": "",
    }
    printed = await audit_pool.fetchval(
        "SELECT jsonb_build_object('zz', $1::text, 'a', 1, 'bb', NULL::text, 'ccc', true, "
        "'long_key_name', -42, 'é', 'khoá có dấu'::text, 'ab', ''::text)::text",
        EVERY_AWKWARD_CHARACTER,
    )
    assert jsonb_object_text(values) == printed


async def test_times_are_printed_in_utc_with_microseconds_as_the_migration_prints_them(
    audit_pool: asyncpg.Pool,
) -> None:
    at = datetime(2019, 3, 9, 23, 30, 0, 120, tzinfo=timezone(timedelta(hours=7)))
    assert time_text(at) == "2019-03-09T16:30:00.000120Z"
    assert await audit_pool.fetchval("SELECT audit_time($1)", at) == time_text(at)


def chain_of(count: int) -> list[Link]:
    links: list[Link] = []
    previous = day_previous = GENESIS
    for seq in range(1, count + 1):
        canonical = jsonb_object_text({"chain_seq": seq, "de_an_id": "X"})
        content = sha256_hex(canonical)
        link = Link(
            table=EVENT_TABLE,
            row_id=seq,
            de_an_id="X",
            idempotency_key=f"X:step:{seq}",
            canonical=canonical,
            chain_seq=seq,
            content_hash=content,
            prev_hash=previous,
            chain_hash=link_hash(previous, content),
            chain_day=date(2026, 12, 2),
            day_seq=seq,
            day_prev_hash=day_previous,
            day_hash=link_hash(day_previous, content),
        )
        previous, day_previous = link.chain_hash, link.day_hash
        links.append(link)
    return links


def test_a_whole_chain_verifies_with_its_head_and_its_day() -> None:
    links = chain_of(3)
    report = verify_links(
        links,
        {"X": Head(3, links[-1].chain_hash)},
        {date(2026, 12, 2): Head(3, links[-1].day_hash)},
    )
    assert report.ok and (report.links, report.de_an, report.days) == (3, 1, 1)
    assert report.day_heads == {"2026-12-02": links[-1].day_hash}
    assert verify_chain("X", list(reversed(links))) is None  # read in any order


def test_a_link_whose_hash_was_rewritten_is_named_as_edited() -> None:
    links = chain_of(3)
    links[1] = Link(**{**links[1].__dict__, "chain_hash": "f" * 64})
    found = verify_chain("X", links)
    assert found is not None and (found.kind, found.position) == ("edited", 2)


def test_a_head_that_does_not_match_the_last_link_is_named() -> None:
    links = chain_of(2)
    found = verify_chain("X", links, Head(2, "0" * 64))
    assert found is not None and found.kind == "head"
    assert "không khớp" in str(found)


def test_a_link_that_repeats_a_position_is_named_as_out_of_order() -> None:
    links = chain_of(2)
    copy = Link(**{**links[1].__dict__, "row_id": 99})
    found = verify_chain("X", [*links, copy])
    assert found is not None and (found.kind, found.position) == ("order", 2)


def test_a_utc_time_is_printed_with_a_z() -> None:
    assert time_text(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"
