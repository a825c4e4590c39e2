"""khuyencong.dossier_file: reading registration files (JSON, CSV) all-or-nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from domain.rules import load_packs
from khuyencong.demo_data import demo_entries
from khuyencong.dossier_file import (
    EntriesInvalid,
    entries_to_csv,
    load_entries,
    parse_csv,
    parse_json,
)


def demo_rows() -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in demo_entries()]


def errors_of(excinfo: pytest.ExceptionInfo[EntriesInvalid]) -> list[tuple[int | None, str]]:
    return [(e.row, e.field) for e in excinfo.value.errors]


# --- JSON --------------------------------------------------------------------------------


def test_a_json_file_of_the_demo_reads_back_to_the_same_entries(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(demo_rows(), ensure_ascii=False), encoding="utf-8")
    assert load_entries(path) == demo_entries()


def test_registered_on_is_optional_in_a_row() -> None:
    row = demo_rows()[0]
    del row["registered_on"]
    [entry] = parse_json(json.dumps([row]))
    assert entry.registered_on is None
    assert entry.to_input().registered_on is None


def test_every_bad_row_is_reported_with_its_row_and_field_and_none_is_accepted() -> None:
    rows = demo_rows()[:4]
    rows[1]["dossier"]["beneficiary"]["tax_code"] = "12345"
    rows[3]["registered_by"]["role"] = "giam_doc"
    del rows[3]["dossier"]["title"]
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows, ensure_ascii=False))
    assert errors_of(caught) == [
        (2, "dossier.beneficiary.tax_code"),
        (4, "dossier.title"),
        (4, "registered_by.role"),
    ]
    first = caught.value.errors[0]
    assert first.code == "BG-2019-DP-02"
    assert "mã số thuế" in first.message
    text = str(caught.value)
    assert "nothing was started" in text
    assert "row 2 (BG-2019-DP-02), dossier.beneficiary.tax_code: mã số thuế" in text
    assert "row 4 (BG-2019-DP-04), dossier.title: required" in text


def test_a_misspelt_field_in_a_row_is_refused_naming_its_path() -> None:
    rows = demo_rows()[:2]
    rows[1]["dossier"]["beneficiary"]["tax_cod"] = rows[1]["dossier"]["beneficiary"].pop("tax_code")
    rows[1]["registerd_on"] = "2019-03-01"
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows, ensure_ascii=False))
    unknown = {e.field: e.message for e in caught.value.errors if "không có trong mẫu" in e.message}
    assert set(unknown) == {"dossier.beneficiary.tax_cod", "registerd_on"}
    assert unknown["registerd_on"].startswith("trường «registerd_on» không có trong mẫu")
    assert {e.row for e in caught.value.errors} == {2}


def test_a_dossier_whose_money_does_not_add_up_is_reported_on_the_dossier() -> None:
    rows = demo_rows()[:1]
    rows[0]["dossier"]["counterpart_funds"] = 0
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows, ensure_ascii=False))
    assert errors_of(caught) == [(1, "dossier")]
    assert "counterpart_funds" in caught.value.errors[0].message


def test_money_given_as_a_float_is_refused() -> None:
    rows = demo_rows()[:1]
    rows[0]["dossier"]["requested_support"] = 150000000.0
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows))
    assert errors_of(caught) == [(1, "dossier.requested_support")]


def test_a_code_used_twice_in_a_file_is_refused_on_the_second_row() -> None:
    rows = demo_rows()[:3]
    rows[2]["dossier"]["code"] = rows[0]["dossier"]["code"]
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows, ensure_ascii=False))
    assert errors_of(caught) == [(3, "dossier.code")]
    assert "row 1" in caught.value.errors[0].message


def test_a_support_item_unknown_to_the_rule_packs_is_refused() -> None:
    rows = demo_rows()[:2]
    rows[1]["dossier"]["support_item"] = "may_moc"
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows, ensure_ascii=False), rule_packs=load_packs())
    assert errors_of(caught) == [(2, "dossier.support_item")]
    assert "machinery" in caught.value.errors[0].message


def test_a_file_that_is_not_a_list_or_not_json_is_refused_as_a_whole(tmp_path: Path) -> None:
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(demo_rows()[0], ensure_ascii=False))
    assert errors_of(caught) == [(None, "")]
    broken = tmp_path / "broken.json"
    broken.write_text('[{"dossier": ', encoding="utf-8")
    with pytest.raises(EntriesInvalid, match="not valid JSON"):
        load_entries(broken)


def test_a_row_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps([demo_rows()[0], "BG-2019-DP-02"], ensure_ascii=False))
    assert errors_of(caught) == [(2, "")]


# --- CSV ---------------------------------------------------------------------------------


def test_the_csv_form_of_the_demo_reads_back_to_the_same_entries(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("\ufeff" + entries_to_csv(demo_entries()), encoding="utf-8")
    assert load_entries(path) == demo_entries()


def csv_text(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=";", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def demo_csv_rows(n: int) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(entries_to_csv(demo_entries()[:n])))
    return list(reader)


def test_csv_accepts_semicolons_dotted_amounts_and_vietnamese_yes_no() -> None:
    [row] = demo_csv_rows(1)
    row["requested_support"] = "150.000.000"
    row["group_project"] = "có"
    row["cost_3_eligible"] = "không"
    [entry] = parse_csv(csv_text([row]))
    assert entry.dossier.requested_support == 150_000_000
    assert entry.dossier.group_project is True
    assert entry.dossier.cost_lines[2].eligible is False


def test_csv_errors_name_the_file_line_and_the_column() -> None:
    rows = demo_csv_rows(3)
    rows[1]["beneficiary_tax_code"] = "abc"
    rows[2]["cost_2_amount"] = "hai trăm triệu"
    rows[2]["registered_by_province"] = ""
    with pytest.raises(EntriesInvalid) as caught:
        parse_csv(csv_text(rows))
    assert errors_of(caught) == [
        (3, "beneficiary_tax_code"),
        (4, "cost_2_amount"),
        (4, "registered_by"),
    ]
    assert "province" in caught.value.errors[2].message


def test_csv_cost_lines_may_skip_numbers_and_are_named_by_their_own_number() -> None:
    [row] = demo_csv_rows(1)
    renamed = {k.replace("cost_2_", "cost_7_"): v for k, v in row.items()}
    renamed["cost_7_description"] = ""
    with pytest.raises(EntriesInvalid) as caught:
        parse_csv(csv_text([renamed]))
    assert errors_of(caught) == [(2, "cost_7_description")]


def test_an_unknown_csv_column_is_refused_before_any_row() -> None:
    [row] = demo_csv_rows(1)
    row["ma_de_an"] = "x"
    with pytest.raises(EntriesInvalid) as caught:
        parse_csv(csv_text([row]))
    assert errors_of(caught) == [(1, "ma_de_an")]


def test_blank_csv_lines_are_skipped_and_an_empty_file_is_refused() -> None:
    [row] = demo_csv_rows(1)
    assert len(parse_csv(csv_text([row]) + "\n;;;\n")) == 1
    with pytest.raises(EntriesInvalid):
        parse_csv("")
    with pytest.raises(EntriesInvalid, match="no rows"):
        parse_csv(csv_text([row]).splitlines()[0] + "\n")
