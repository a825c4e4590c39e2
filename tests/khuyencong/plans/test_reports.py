"""Reports from PostgreSQL over the Bắc Giang 2014–2018 history; CSV and XLSX exports."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import asyncpg
from openpyxl import load_workbook  # type: ignore[import-untyped]

from domain.model import Level
from domain.rules import load_packs
from khuyencong.plans.generator import (
    BAC_GIANG_DISTRICTS,
    INTERVIEW_CONTENT_AREAS,
    bac_giang_2014_2018,
    generate,
    load_history,
)
from khuyencong.plans.reports import build_report, export_csv, export_xlsx


def test_generated_de_an_stay_within_the_caps_of_the_rule_pack_in_force() -> None:
    packs = {p.id: p for p in load_packs()}
    for entry in generate(7, year=2019, level=Level.DIA_PHUONG, count=40):
        d = entry.dossier
        rule = packs["dia-phuong-bac-giang-vi-du"].items[d.support_item]
        assert 0 < d.requested_support <= rule.max_support(d.eligible_cost)
        assert d.requested_support + d.counterpart_funds == d.total_cost


def test_the_scenario_rebuilds_the_interview_166_de_an_in_10_districts_and_7_areas() -> None:
    entries = bac_giang_2014_2018()
    levels = Counter(e.dossier.level for e in entries)
    assert (len(entries), levels[Level.DIA_PHUONG], levels[Level.QUOC_GIA]) == (166, 150, 16)
    assert {e.dossier.district for e in entries} == set(BAC_GIANG_DISTRICTS)
    assert sorted({e.dossier.content_area.value for e in entries}) == INTERVIEW_CONTENT_AREAS
    assert bac_giang_2014_2018() == entries  # seeded: the same history every time


async def test_the_2014_2018_report_gives_exactly_the_totals_of_the_interview(
    db_pool: asyncpg.Pool,
) -> None:
    entries = bac_giang_2014_2018()
    await load_history(db_pool, entries)
    assert await load_history(db_pool, entries) == 0  # loading twice adds nothing

    report = await build_report(db_pool, 2014, 2018, province="Bắc Giang")
    assert report.total is not None and report.total.de_an == 166
    assert {k: g.de_an for k, g in report.by("level").items()} == {
        "dia_phuong": 150,
        "quoc_gia": 16,
    }
    assert set(report.by("district")) == set(BAC_GIANG_DISTRICTS)
    assert sorted(report.by("content_area"), key=str) == INTERVIEW_CONTENT_AREAS
    assert report.total.approved == sum(e.dossier.requested_support for e in entries)
    assert sum(g.de_an for g in report.groups["beneficiary_type"]) == 166
    assert {c.level: c.de_an for c in report.counterpart} == {"dia_phuong": 150, "quoc_gia": 16}
    assert all(c.per_dong > 0 for c in report.counterpart)
    by_year = await build_report(db_pool, 2018, 2018, province="Bắc Giang", level="quoc_gia")
    assert by_year.total is not None and by_year.total.de_an == 2


async def test_the_report_exports_to_csv_and_xlsx_with_vietnamese_headers(
    db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await load_history(db_pool, bac_giang_2014_2018())
    report = await build_report(db_pool, 2014, 2018, province="Bắc Giang")
    export_csv(report, tmp_path / "bao-cao.csv")
    export_xlsx(report, tmp_path / "bao-cao.xlsx")

    with (tmp_path / "bao-cao.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["Bảng", "Cấp", "Số đề án"]
    totals = [r for r in rows if r and r[0] == "Theo cấp" and r[1] == "Tổng cộng"]
    assert totals[0][2] == "166"

    book = load_workbook(tmp_path / "bao-cao.xlsx")
    assert "Theo huyện" in book.sheetnames and "Vốn đối ứng thu hút" in book.sheetnames
    sheet = book["Theo huyện"]
    assert [c.value for c in sheet[1]][:2] == ["Huyện", "Số đề án"]
    assert sheet.max_row == 1 + 10 + 1  # header, 10 districts, total
    assert sheet.cell(row=sheet.max_row, column=2).value == 166
