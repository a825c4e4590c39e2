"""Reports the province files upward, from PostgreSQL, for any range of years.

- number of đề án and money (requested, approved, advanced, paid, refunded) by level,
  province, district, content area, beneficiary type and stage: **one** aggregate query with
  ``GROUPING SETS`` over the covering index ``de_an_report_idx`` (index-only, no heap);
- counterpart funds attracted per đồng of approved support, by level (``plan_item``);
- completion against the plans' checkpoints (``plan_checkpoint``).

Printed as tables (rich), exported as CSV (UTF-8 with BOM, for Excel) and XLSX, all with
Vietnamese headers.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from domain.model import BeneficiaryType, ContentArea, Level
from domain.money import format_dong
from domain.places import UnitKind, UnitRegistry
from domain.stages import Stage
from domain.text import nfc

DIMENSIONS: dict[str, str] = {
    "level": "Cấp",
    "province": "Tỉnh",
    "district": "Huyện",
    "content_area": "Nội dung",
    "beneficiary_type": "Loại hình thụ hưởng",
    "stage": "Giai đoạn",
}
MONEY: dict[str, str] = {
    "requested": "Kinh phí đề nghị (đ)",
    "approved": "Kinh phí phê duyệt (đ)",
    "advanced": "Đã tạm ứng (đ)",
    "paid": "Đã chi (đ)",
    "refunded": "Đã thu hồi (đ)",
}

_GROUPS = ", ".join(f"(d.{name})" for name in DIMENSIONS)
_GROUPING = ", ".join(f"d.{name}" for name in DIMENSIONS)

SUMMARY_SQL = f"""
SELECT GROUPING({_GROUPING}) AS grouping_id,
       {_GROUPING},
       count(*)                    AS de_an,
       sum(d.requested_support)    AS requested,
       sum(d.approved_support)     AS approved,
       sum(d.advanced)             AS advanced,
       sum(d.paid)                 AS paid,
       sum(d.refunded)             AS refunded
FROM de_an d
WHERE d.plan_year BETWEEN $1 AND $2 {{filters}}
GROUP BY GROUPING SETS ({_GROUPS}, ())
"""

COUNTERPART_SQL = """
SELECT d.level,
       count(*)                  AS de_an,
       sum(p.counterpart_funds)  AS counterpart,
       sum(d.approved_support)   AS approved
FROM de_an d
JOIN plan_item p ON p.de_an_id = d.de_an_id
WHERE d.plan_year BETWEEN $1 AND $2 AND d.approved_support > 0 {filters}
GROUP BY d.level
ORDER BY d.level
"""

CHECKPOINT_SQL = """
SELECT p.plan_id, p.province, p.level, p.year, c.key, c.label, c.on_date, c.approved_count,
       c.done_count, c.done_bp, c.behind_count, c.envelope, c.committed, c.paid
FROM plan_checkpoint c
JOIN plan p ON p.plan_id = c.plan_id
WHERE p.year BETWEEN $1 AND $2 {filters}
ORDER BY p.year, p.plan_id, c.on_date
"""


class Units(StrEnum):
    """Which administrative units a report groups by: as the đề án were registered (``then``:
    Bắc Giang's 10 districts for 2014–2018) or as they answer for them now (``now``: Bắc Ninh,
    no district level since 1/7/2025)."""

    THEN = "then"
    NOW = "now"


ABOLISHED = "(không còn đơn vị cấp này)"
"""The key of the group of units that ended without a successor (the districts after
1/7/2025) in a ``--units now`` report."""


@dataclass(frozen=True)
class Group:
    key: str | None
    de_an: int
    requested: int
    approved: int
    advanced: int
    paid: int
    refunded: int


@dataclass(frozen=True)
class Counterpart:
    level: str
    de_an: int
    counterpart: int
    approved: int

    @property
    def per_dong(self) -> float:
        """Counterpart đồng per đồng of support (a ratio for people, not money)."""
        return self.counterpart / self.approved if self.approved else 0.0


@dataclass(frozen=True)
class CheckpointLine:
    plan_id: str
    province: str
    level: str
    year: int
    key: str
    label: str
    on: date
    approved_count: int
    done_count: int
    done_bp: int
    behind_count: int
    envelope: int
    committed: int
    paid: int


@dataclass
class Report:
    first_year: int
    last_year: int
    province: str | None = None
    level: str | None = None
    units: Units = Units.THEN
    units_on: date | None = None
    total: Group | None = None
    groups: dict[str, list[Group]] = field(default_factory=dict)
    counterpart: list[Counterpart] = field(default_factory=list)
    checkpoints: list[CheckpointLine] = field(default_factory=list)

    def by(self, dimension: str) -> dict[str | None, Group]:
        return {g.key: g for g in self.groups.get(dimension, [])}


def _filters(
    province: str | list[str] | None, level: str | None, start: int = 3, alias: str = "d"
) -> tuple[str, list[Any]]:
    sql = ""
    args: list[Any] = []
    if isinstance(province, list):
        args.append([nfc(p) for p in province])
        sql += f" AND {alias}.province = ANY(${start + len(args) - 1}::text[])"
    elif province is not None:
        args.append(nfc(province))  # stored in NFC (domain.text), whichever way it is typed
        sql += f" AND {alias}.province = ${start + len(args) - 1}"
    if level is not None:
        args.append(level)
        sql += f" AND {alias}.level = ${start + len(args) - 1}"
    return sql, args


async def build_report(
    pool: Any,
    first_year: int,
    last_year: int,
    *,
    province: str | None = None,
    level: str | None = None,
    units: Units = Units.THEN,
    registry: UnitRegistry | None = None,
    on: date | None = None,
) -> Report:
    """The report of ``first_year``–``last_year``. ``units`` NOW (with ``registry`` and the
    day ``on``) groups by the units answering on ``on`` and reads ``province`` as a province
    of that day (its predecessors' đề án included)."""
    now = units is Units.NOW
    if now and (registry is None or on is None):
        raise ValueError("a report by today's units needs the units registry and the day")
    report = Report(first_year, last_year, province, level, units, on if now else None)
    provinces: str | list[str] | None = province
    if now and province is not None:
        assert registry is not None and on is not None
        provinces = [province, *registry.predecessors(province, on)]
    filters, args = _filters(provinces, level)
    rows = await pool.fetch(SUMMARY_SQL.format(filters=filters), first_year, last_year, *args)
    all_bits = (1 << len(DIMENSIONS)) - 1
    names = list(DIMENSIONS)
    for row in rows:
        money = {k: int(row[k] or 0) for k in MONEY}
        if row["grouping_id"] == all_bits:
            report.total = Group(None, int(row["de_an"]), **money)
            continue
        # GROUPING(a, b, ...) sets bit (n-1-i) when column i is *not* grouped.
        for i, name in enumerate(names):
            if not row["grouping_id"] & (1 << (len(names) - 1 - i)):
                report.groups.setdefault(name, []).append(
                    Group(row[name], int(row["de_an"]), **money)
                )
    if now:
        assert registry is not None and on is not None
        _regroup_by_units_now(report, registry, on)
    for groups in report.groups.values():
        groups.sort(key=lambda g: (-g.de_an, g.key or ""))
    if report.total is None:
        report.total = Group(None, 0, 0, 0, 0, 0, 0)
    rows = await pool.fetch(COUNTERPART_SQL.format(filters=filters), first_year, last_year, *args)
    report.counterpart = [
        Counterpart(
            r["level"], int(r["de_an"]), int(r["counterpart"] or 0), int(r["approved"] or 0)
        )
        for r in rows
    ]
    cp_filters, cp_args = _filters(provinces, level, alias="p")
    rows = await pool.fetch(
        CHECKPOINT_SQL.format(filters=cp_filters), first_year, last_year, *cp_args
    )
    report.checkpoints = [
        CheckpointLine(
            plan_id=r["plan_id"],
            province=r["province"],
            level=r["level"],
            year=r["year"],
            key=r["key"],
            label=r["label"],
            on=r["on_date"],
            approved_count=r["approved_count"],
            done_count=r["done_count"],
            done_bp=r["done_bp"],
            behind_count=r["behind_count"],
            envelope=r["envelope"],
            committed=r["committed"],
            paid=r["paid"],
        )
        for r in rows
    ]
    return report


def _regroup_by_units_now(report: Report, registry: UnitRegistry, on: date) -> None:
    """Province and district groups as the units answering on ``on``: each name is the unit
    in force at the end of the report's period, followed to its successor; groups that land
    on the same unit add up (counts and money are sums)."""
    then = date(report.last_year, 12, 31)
    by_district = _district_provinces(report, registry, then)
    for dimension, kind in (("province", UnitKind.PROVINCE), ("district", UnitKind.DISTRICT)):
        merged: dict[str | None, Group] = {}
        for group in report.groups.get(dimension, []):
            key = group.key
            if key is not None:
                province = key if kind is UnitKind.PROVINCE else by_district.get(key)
                if province is not None:
                    key = registry.as_of(kind, key, on, province=province, registered_on=then)
                    key = ABOLISHED if key is None else key
            seen = merged.get(key)
            merged[key] = replace(group, key=key) if seen is None else _add(seen, group)
        if dimension in report.groups:
            report.groups[dimension] = list(merged.values())


def _district_provinces(report: Report, registry: UnitRegistry, then: date) -> dict[str, str]:
    """The province of each district name in the report (by the units in force ``then``)."""
    provinces = [g.key for g in report.groups.get("province", []) if g.key is not None]
    found: dict[str, str] = {}
    for name in provinces:
        unit = registry.find(name, UnitKind.PROVINCE, then)
        if unit is None:
            continue
        for child in registry.children(unit.code):
            if child.kind is UnitKind.DISTRICT:
                found.setdefault(child.name, name)
    return found


def _add(a: Group, b: Group) -> Group:
    return Group(
        a.key,
        a.de_an + b.de_an,
        a.requested + b.requested,
        a.approved + b.approved,
        a.advanced + b.advanced,
        a.paid + b.paid,
        a.refunded + b.refunded,
    )


# --- labels ----------------------------------------------------------------------------------


def label(dimension: str, key: str | None) -> str:
    if key is None:
        return "(không ghi)"
    try:
        if dimension == "level":
            return Level(key).label
        if dimension == "content_area":
            return f"{key}. {ContentArea(key).label}"
        if dimension == "beneficiary_type":
            return BeneficiaryType(key).label
        if dimension == "stage":
            return Stage(key).label
    except ValueError:
        pass
    return key


def group_table(report: Report, dimension: str) -> tuple[list[str], list[list[Any]]]:
    header = [DIMENSIONS[dimension], "Số đề án", *MONEY.values()]
    rows = [
        [label(dimension, g.key), g.de_an, g.requested, g.approved, g.advanced, g.paid, g.refunded]
        for g in report.groups.get(dimension, [])
    ]
    if report.total is not None:
        t = report.total
        rows.append(["Tổng cộng", t.de_an, t.requested, t.approved, t.advanced, t.paid, t.refunded])
    return header, rows


def counterpart_table(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = [
        "Cấp",
        "Số đề án",
        "Vốn đối ứng (đ)",
        "Kinh phí phê duyệt (đ)",
        "Đối ứng / 1 đồng hỗ trợ",
    ]
    rows = [
        [label("level", c.level), c.de_an, c.counterpart, c.approved, round(c.per_dong, 2)]
        for c in report.counterpart
    ]
    return header, rows


def checkpoint_table(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = [
        "Kế hoạch",
        "Năm",
        "Mốc",
        "Ngày",
        "Đề án phê duyệt",
        "Đã hoàn thành",
        "Tỷ lệ (%)",
        "Chậm tiến độ",
        "Kinh phí giao (đ)",
        "Đã cam kết (đ)",
        "Đã chi (đ)",
    ]
    rows = [
        [
            c.plan_id,
            c.year,
            c.label,
            c.on.strftime("%d/%m/%Y"),
            c.approved_count,
            c.done_count,
            c.done_bp / 100,
            c.behind_count,
            c.envelope,
            c.committed,
            c.paid,
        ]
        for c in report.checkpoints
    ]
    return header, rows


def tables(report: Report) -> list[tuple[str, list[str], list[list[Any]]]]:
    """Every table of the report: (title, header, rows)."""
    out = [(f"Theo {DIMENSIONS[d].lower()}", *group_table(report, d)) for d in DIMENSIONS]
    out.append(("Vốn đối ứng thu hút", *counterpart_table(report)))
    out.append(("Tiến độ theo mốc kế hoạch", *checkpoint_table(report)))
    return out


# --- output ----------------------------------------------------------------------------------


def print_report(report: Report, console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    scope = f"{report.first_year}–{report.last_year}"
    if report.province:
        scope += f", tỉnh {report.province}"
    if report.level:
        scope += f", {label('level', report.level)}"
    console.print(f"[bold]Báo cáo khuyến công {scope}[/bold]")
    console.print(units_caption(report))
    for title, header, rows in tables(report):
        table = Table(title=title, title_justify="left")
        for n, name in enumerate(header):
            table.add_column(name, justify="left" if n == 0 else "right")
        for row in rows:
            table.add_row(*[_show(v) for v in row])
        console.print(table)


def units_caption(report: Report) -> str:
    if report.units is Units.NOW and report.units_on is not None:
        return f"Đơn vị hành chính: như hiện nay (ngày {report.units_on:%d/%m/%Y})"
    return "Đơn vị hành chính: như khi đăng ký đề án"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, int):
        return format_dong(value).removesuffix(" đ")
    return str(value)


def export_csv(report: Report, path: Path) -> None:
    """One CSV: a ``Bảng`` column names the table each row belongs to."""
    with Path(path).open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        for title, header, rows in tables(report):
            writer.writerow(["Bảng", *header])
            for row in rows:
                writer.writerow([title, *row])
            writer.writerow([])


def export_xlsx(report: Report, path: Path) -> None:
    """One sheet per table, numbers as numbers (đồng formatted with thousands separators)."""
    from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.styles import Font  # type: ignore[import-untyped, unused-ignore]

    book = Workbook()
    book.remove(book.active)
    for title, header, rows in tables(report):
        sheet = book.create_sheet(_sheet_name(title))
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, int):
                    cell.number_format = "#,##0"
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(width + 2, 60)
    book.save(path)


def _sheet_name(title: str) -> str:
    return title[:31]


def export(report: Report, path: Path) -> None:
    if Path(path).suffix.lower() == ".xlsx":
        export_xlsx(report, path)
    else:
        export_csv(report, path)
