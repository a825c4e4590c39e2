"""``khuyencong units ...`` and ``khuyencong calendar ...``: places and days off as data.

- ``units load FILE``: add a province's administrative units (JSON, the shape of
  ``domain/data/admin_units.json``: code, name, kind, parent, valid_from, valid_to, successor,
  basis) to PostgreSQL, checked against the shipped units (parents and successors must exist);
  the same file twice adds nothing;
- ``units list [--province NAME] [--on DATE]``: the units (shipped and loaded) in force on a
  day, or all with their periods;
- ``calendar add-days-off YEAR FILE``: a year's official decision on days off and the weekend
  days worked in exchange (``{"source": ..., "days_off": [{"day", "name", "basis"}],
  "work_days": [{"day", "basis"}]}``);
- ``calendar show YEAR``: the year's days off (statutory, compensatory, decided).

Registered on the main app by :func:`add_commands`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from domain.deadlines import vn_date
from domain.places import UnitKind, UnitRegistry
from domain.strict import validate_typed
from domain.workdays import CalendarYear, HolidayCalendar
from khuyencong.cli_runner import fail, load_settings, run
from khuyencong.places import SHIPPED_CALENDAR, SHIPPED_UNITS, read_units

units_app = typer.Typer(
    help="Administrative units with effective dates (provinces, districts, communes).",
    no_args_is_help=True,
)
calendar_app = typer.Typer(
    help="Working days: public holidays and each year's official days off.", no_args_is_help=True
)


def add_commands(app: typer.Typer) -> None:
    app.add_typer(units_app, name="units")
    app.add_typer(calendar_app, name="calendar")


def today() -> date:
    return vn_date(datetime.now().astimezone())


async def units_registry(pool: Any) -> UnitRegistry:
    """The shipped units and those loaded into PostgreSQL (a loaded unit replaces a shipped
    one of the same code)."""
    from db.places import read_units as stored

    async with pool.acquire() as conn:
        return SHIPPED_UNITS.merged(await stored(conn))


async def holiday_calendar(pool: Any) -> HolidayCalendar:
    """The shipped holidays and the days off decided and loaded since."""
    from db.places import read_days

    async with pool.acquire() as conn:
        return SHIPPED_CALENDAR.merged(await read_days(conn))


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    from khuyencong.admin.inputs import normalise_date

    try:
        return date.fromisoformat(str(normalise_date(value)))
    except ValueError:
        raise fail("--on: ngày phải có dạng YYYY-MM-DD hoặc DD/MM/YYYY") from None


@units_app.command("load")
def load_units(
    file: Annotated[Path, typer.Argument(help="JSON: {source, units: [...]}", exists=True)],
) -> None:
    """Add a province's administrative units from FILE (the same file twice adds nothing)."""
    from db.places import add_units
    from khuyencong.database import open_database

    try:
        parsed = read_units(file)
    except (ValidationError, ValueError) as exc:
        raise fail(f"{file}: {exc}") from None
    settings = load_settings()

    async def body() -> tuple[int, list[str]]:
        async with open_database(settings, migrate=False) as pool:
            registry = await units_registry(pool)
            try:
                registry.merged(parsed.units)  # parents and successors must exist
            except ValueError as exc:
                raise fail(f"{file}: {exc}") from None
            async with pool.acquire() as conn, conn.transaction():
                differing = await add_units(conn, parsed.units, parsed.source or str(file))
            return len(parsed.units), [u.code for u in differing]

    count, differing = run(body)
    typer.echo(f"đã nạp {count} đơn vị hành chính từ {file}")
    for code in differing:
        typer.secho(
            f"  {code}: đã có trong danh mục với nội dung khác, giữ bản đã nạp (đơn vị sửa đổi "
            "là một đơn vị mới, đơn vị cũ ghi nó là đơn vị kế thừa)",
            err=True,
            fg=typer.colors.YELLOW,
        )


@units_app.command("list")
def list_units(
    province: Annotated[str | None, typer.Option(help="Only this province.")] = None,
    on: Annotated[str | None, typer.Option(help="Only the units in force that day.")] = None,
) -> None:
    """The administrative units (shipped and loaded) with their periods and successors."""
    from khuyencong.database import open_database

    settings = load_settings()
    day = _parse_day(on)

    async def body() -> UnitRegistry:
        async with open_database(settings, migrate=False) as pool:
            return await units_registry(pool)

    registry = run(body)
    roots = [u for u in registry.units() if u.kind is UnitKind.PROVINCE]
    if province is not None:
        found = registry.find(province, UnitKind.PROVINCE, day)
        roots = [u for u in roots if found is not None and u.name == found.name]
    for root in roots:
        if day is not None and not root.in_force(day):
            continue
        _print_unit(registry, root, day, 0)


def _print_unit(registry: UnitRegistry, unit: Any, day: date | None, depth: int) -> None:
    successor = registry.get(unit.successor) if unit.successor else None
    after = f" → {successor.name}" if successor is not None else ""
    typer.echo(f"{'  ' * depth}{unit.describe()}{after}  [{unit.code}]")
    for child in registry.children(unit.code, day):
        _print_unit(registry, child, day, depth + 1)


@calendar_app.command("add-days-off")
def add_days_off(
    year: Annotated[int, typer.Argument(help="The year of the decision.")],
    file: Annotated[Path, typer.Argument(help="JSON: {source, days_off, work_days}", exists=True)],
) -> None:
    """Add a year's official days off (and weekend days worked in exchange) from FILE."""
    from db.places import add_days
    from khuyencong.database import open_database

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        decided = validate_typed(CalendarYear, {"year": year, **data})
    except (ValidationError, ValueError) as exc:
        raise fail(f"{file}: {exc}") from None
    settings = load_settings()

    async def body() -> None:
        async with open_database(settings, migrate=False) as pool:
            async with pool.acquire() as conn, conn.transaction():
                await add_days(conn, decided)

    run(body)
    typer.echo(
        f"năm {year}: đã nạp {len(decided.days_off)} ngày nghỉ, {len(decided.work_days)} ngày "
        "làm bù"
    )


@calendar_app.command("show")
def show_calendar(year: Annotated[int, typer.Argument(help="The year.")]) -> None:
    """The year's days off: public holidays, compensatory days, decided days off."""
    from khuyencong.database import open_database

    settings = load_settings()

    async def body() -> HolidayCalendar:
        async with open_database(settings, migrate=False) as pool:
            return await holiday_calendar(pool)

    calendar = run(body)
    if not calendar.knows(year):
        typer.echo(f"năm {year}: chưa có dữ liệu ngày nghỉ lễ (chỉ tính thứ Bảy, Chủ nhật)")
    for off in calendar.days_off(year):
        basis = f" — {off.basis}" if off.basis else ""
        typer.echo(f"{off.day:%d/%m/%Y} ({_weekday(off.day)}) {off.name}{basis}")


def _weekday(day: date) -> str:
    return ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"][
        day.weekday()
    ]
