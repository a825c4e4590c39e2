"""Spreadsheet import: Vietnamese headers, every row validated, all or nothing, idempotent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from domain.model import Level, Role
from domain.rules import load_packs
from khuyencong.plans.importer import (
    TEMPLATE_HEADER,
    PlanImportInvalid,
    entries_to_rows,
    load_plan_file,
    read_csv_text,
    validate_sheet,
    write_csv,
    write_xlsx,
)
from tests.support.builders import make_actor, make_dossier, unique_code
from workflows.plan_contract import PlanConfig, PlanRegistration

TEMPLATE = Path(__file__).resolve().parents[3] / "khuyencong" / "plans" / "template.csv"
PLAN = PlanConfig.with_defaults("Bắc Giang", Level.DIA_PHUONG, 2019, 5_000_000_000)


def entry(**overrides: object) -> PlanRegistration:
    return PlanRegistration(
        dossier=make_dossier(code=unique_code(), **overrides),
        registered_by=make_actor(Role.TRUNG_TAM),
        registered_on=date(2018, 12, 10),
    )


def csv_of(rows: list[list[str]], header: list[str] = TEMPLATE_HEADER) -> str:
    lines = [",".join(header)] + [",".join(f'"{c}"' for c in row) for row in rows]
    return "\n".join(lines) + "\n"


def test_the_shipped_template_is_a_valid_plan_of_one_de_an() -> None:
    entries, digest = load_plan_file(TEMPLATE, rule_packs=load_packs())
    assert [e.dossier.code for e in entries] == ["BG-2027-DP-01"]
    assert entries[0].registered_by.role is Role.TRUNG_TAM and len(digest) == 20


def test_a_csv_written_from_entries_reads_back_the_same_dossiers(tmp_path: Path) -> None:
    entries = [entry(), entry(district="Yên Thế")]
    write_csv(tmp_path / "plan.csv", entries_to_rows(entries))
    back, _ = load_plan_file(tmp_path / "plan.csv", PLAN)
    assert [e.dossier for e in back] == [e.dossier for e in entries]


def test_an_xlsx_written_from_entries_reads_back_the_same_dossiers(tmp_path: Path) -> None:
    entries = [entry(), entry(district="Hiệp Hòa")]
    write_xlsx(tmp_path / "plan.xlsx", entries_to_rows(entries))
    back, _ = load_plan_file(tmp_path / "plan.xlsx", PLAN)
    assert [e.dossier for e in back] == [e.dossier for e in entries]


def test_every_bad_row_is_reported_with_its_row_column_and_reason_and_nothing_is_returned() -> None:
    good, bad_money, bad_tax = entries_to_rows([entry(), entry(), entry()])
    bad_money[TEMPLATE_HEADER.index("Kinh phí đề nghị hỗ trợ")] = "150,5"
    bad_tax[TEMPLATE_HEADER.index("Mã số thuế")] = "12AB"
    with pytest.raises(PlanImportInvalid) as invalid:
        validate_sheet(read_csv_text(csv_of([good, bad_money, bad_tax])), PLAN)
    where = [(e.row, e.column) for e in invalid.value.errors]
    assert where == [(3, "Kinh phí đề nghị hỗ trợ"), (4, "Mã số thuế")]
    assert "không nhập đề án nào" in str(invalid.value)
    assert "dòng 4, cột «Mã số thuế»: mã số thuế" in str(invalid.value)


def test_unknown_and_missing_headers_are_refused_before_any_row_is_read() -> None:
    header = [h for h in TEMPLATE_HEADER if h != "Vốn đối ứng"] + ["Ghi chú lạ"]
    with pytest.raises(PlanImportInvalid) as invalid:
        validate_sheet(read_csv_text(csv_of([], header)))
    assert {(e.row, e.column, e.message) for e in invalid.value.errors} == {
        (1, "Ghi chú lạ", "cột không có trong mẫu (xem template.csv)"),
        (1, "Vốn đối ứng", "thiếu cột bắt buộc"),
    }


def test_headers_are_matched_without_case_or_accents() -> None:
    rows = entries_to_rows([entry()])
    header = [h.upper() if n % 2 else h for n, h in enumerate(TEMPLATE_HEADER)]
    header[0] = "ma de an"
    assert len(validate_sheet(read_csv_text(csv_of(rows, header)))) == 1


def test_a_code_twice_in_the_file_is_an_error_on_the_second_row() -> None:
    one = entry()
    with pytest.raises(PlanImportInvalid) as invalid:
        validate_sheet(read_csv_text(csv_of(entries_to_rows([one, one]))))
    [error] = invalid.value.errors
    assert (error.row, error.column) == (3, "Mã đề án") and "đã có ở row 2" in error.message


def test_rows_of_another_province_or_year_do_not_belong_in_the_plan() -> None:
    other = entry(
        plan_year=2020,
        schedule={"start": date(2020, 3, 1), "end": date(2020, 11, 30)},
    )
    with pytest.raises(PlanImportInvalid) as invalid:
        validate_sheet(read_csv_text(csv_of(entries_to_rows([entry(), other]))), PLAN)
    assert [(e.row, e.column) for e in invalid.value.errors] == [(3, "Năm kế hoạch")]


def test_a_support_item_unknown_to_the_rule_pack_is_named_in_its_column() -> None:
    rows = entries_to_rows([entry()])
    rows[0][TEMPLATE_HEADER.index("Hạng mục hỗ trợ")] = "spaceship"
    with pytest.raises(PlanImportInvalid) as invalid:
        validate_sheet(read_csv_text(csv_of(rows)), PLAN, rule_packs=load_packs())
    assert [(e.row, e.column) for e in invalid.value.errors] == [(2, "Hạng mục hỗ trợ")]


def test_a_registration_dated_in_the_future_is_named_and_a_blank_one_means_today() -> None:
    later, blank = entries_to_rows([entry(), entry()])
    later[TEMPLATE_HEADER.index("Ngày đăng ký")] = "31/12/2999"
    blank[TEMPLATE_HEADER.index("Ngày đăng ký")] = ""
    with pytest.raises(PlanImportInvalid) as invalid:
        validate_sheet(read_csv_text(csv_of([later, blank])), PLAN)
    assert [(e.row, e.column) for e in invalid.value.errors] == [(2, "Ngày đăng ký")]
    assert "31/12/2999 ở tương lai" in str(invalid.value)
    (today_entry,) = validate_sheet(read_csv_text(csv_of([blank])), PLAN)
    assert today_entry.registered_on is None  # the plan registers it on the day of import
