"""Repository of the places and calendar data loaded from files: ``admin_unit`` and
``calendar_day`` (migration 0010). Written only by the statements below (the ``units load``
and ``calendar add-days-off`` commands); the same file loaded twice adds nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.places import AdminUnit, UnitKind
from domain.workdays import CalendarYear, DayOff, WorkedDay

INSERT_UNIT = """
INSERT INTO admin_unit (code, name, kind, parent, valid_from, valid_to, successor, basis, source)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (code) DO NOTHING
"""

SELECT_UNITS = """
SELECT code, name, kind, parent, valid_from, valid_to, successor, basis
FROM admin_unit ORDER BY kind, code
"""

INSERT_DAY = """
INSERT INTO calendar_day (day, kind, name, basis, source)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (day) DO NOTHING
"""

SELECT_DAYS = "SELECT day, kind, name, basis FROM calendar_day ORDER BY day"


def unit_row(unit: AdminUnit, source: str) -> tuple[Any, ...]:
    return (
        unit.code,
        unit.name,
        unit.kind.value,
        unit.parent,
        unit.valid_from,
        unit.valid_to,
        unit.successor,
        unit.basis,
        source,
    )


async def add_units(conn: Any, units: Sequence[AdminUnit], source: str) -> list[AdminUnit]:
    """Insert the units not stored yet (by code); returns those stored differently before
    (a corrected unit takes a new code, its predecessor names it as successor)."""
    await conn.executemany(INSERT_UNIT, [unit_row(u, source) for u in units])
    stored = {u.code: u for u in await read_units(conn)}
    return [u for u in units if stored.get(u.code) not in (None, u)]


async def read_units(conn: Any) -> list[AdminUnit]:
    return [
        AdminUnit(
            code=r["code"],
            name=r["name"],
            kind=UnitKind(r["kind"]),
            parent=r["parent"],
            valid_from=r["valid_from"],
            valid_to=r["valid_to"],
            successor=r["successor"],
            basis=r["basis"],
        )
        for r in await conn.fetch(SELECT_UNITS)
    ]


async def add_days(conn: Any, year: CalendarYear) -> None:
    rows = [(d.day, "off", d.name, d.basis, year.source) for d in year.days_off]
    rows += [(w.day, "worked", "", w.basis, year.source) for w in year.work_days]
    await conn.executemany(INSERT_DAY, rows)


async def read_days(conn: Any) -> list[CalendarYear]:
    """The stored days, one :class:`CalendarYear` per year."""
    years: dict[int, tuple[list[DayOff], list[WorkedDay]]] = {}
    for r in await conn.fetch(SELECT_DAYS):
        off, worked = years.setdefault(r["day"].year, ([], []))
        if r["kind"] == "off":
            off.append(DayOff(day=r["day"], name=r["name"] or "Ngày nghỉ", basis=r["basis"]))
        else:
            worked.append(WorkedDay(day=r["day"], basis=r["basis"]))
    return [
        CalendarYear(year=y, days_off=off, work_days=worked)
        for y, (off, worked) in sorted(years.items())
    ]
