"""The places and calendar tables (migration 0010): units and days off loaded from files,
read back as the domain's values; loading twice adds nothing."""

from __future__ import annotations

from datetime import date

import asyncpg

from db.places import add_days, add_units, read_days, read_units
from domain.places import AdminUnit, UnitKind
from domain.workdays import CalendarYear, DayOff, WorkedDay
from khuyencong.places import SHIPPED_CALENDAR, SHIPPED_UNITS
from tests.support.builders import unique_code


def province(code: str, **fields: object) -> AdminUnit:
    data: dict[str, object] = {
        "code": code,
        "name": f"Tỉnh {code}",
        "kind": UnitKind.PROVINCE,
        "valid_from": date(1991, 10, 1),
    }
    return AdminUnit.model_validate({**data, **fields})


async def test_units_loaded_twice_are_stored_once_and_read_back_as_they_were(
    db_pool: asyncpg.Pool,
) -> None:
    code = unique_code("p").lower()
    unit = province(code, basis="Nghị quyết thử")
    async with db_pool.acquire() as conn:
        assert await add_units(conn, [unit], "tệp thử") == []
        assert await add_units(conn, [unit], "tệp thử") == []
        stored = [u for u in await read_units(conn) if u.code == code]
    assert stored == [unit]
    assert SHIPPED_UNITS.merged(stored).get(code) == unit


async def test_a_unit_loaded_again_with_other_content_is_kept_and_reported(
    db_pool: asyncpg.Pool,
) -> None:
    code = unique_code("p").lower()
    async with db_pool.acquire() as conn:
        await add_units(conn, [province(code)], "tệp 1")
        changed = province(code, name="Tên khác")
        assert await add_units(conn, [changed], "tệp 2") == [changed]
        assert [u.name for u in await read_units(conn) if u.code == code] == [f"Tỉnh {code}"]


async def test_a_years_days_off_decision_is_added_to_the_shipped_holidays(
    db_pool: asyncpg.Pool,
) -> None:
    decision = CalendarYear(
        year=2029,
        source="Thông báo thử",
        days_off=[DayOff(day=date(2029, 2, 12), name="Nghỉ hoán đổi", basis="Thông báo thử")],
        work_days=[WorkedDay(day=date(2029, 2, 24), basis="Thông báo thử")],
    )
    async with db_pool.acquire() as conn:
        await add_days(conn, decision)
        await add_days(conn, decision)
        years = {y.year: y for y in await read_days(conn)}
    assert years[2029].days_off == decision.days_off
    assert years[2029].work_days == decision.work_days
    calendar = SHIPPED_CALENDAR.merged(years.values())
    assert not calendar.is_working_day(date(2029, 2, 12))
    assert calendar.is_working_day(date(2029, 2, 24))
