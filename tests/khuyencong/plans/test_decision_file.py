"""The decision's list from a spreadsheet: every row checked first, every error named by row
and column, nothing half-read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from domain.model import Level
from khuyencong.plans.decision_file import (
    HEADER,
    check_against_plan,
    load_decision_items,
    waiting_rows,
)
from khuyencong.plans.importer import PlanImportInvalid, write_csv, write_xlsx
from workflows.plan_contract import ItemStatus, PlanConfig, PlanItem, PlanState, Verdict


def sheet(tmp_path: Path, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    path = tmp_path / "danh-muc.csv"
    write_csv(path, [[("" if v is None else str(v)) for v in row] for row in rows], header)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(PlanImportInvalid) as invalid:
        load_decision_items(path)
    return [str(e) for e in invalid.value.errors]


def test_a_list_gives_a_verdict_support_and_reason_per_de_an(tmp_path: Path) -> None:
    path = sheet(
        tmp_path,
        [
            ["BG-1", "Máy ép gạch", "Phê duyệt", "150.000.000", ""],
            ["BG-2", "Đào tạo nghề", "phe duyet", "", ""],
            ["BG-3", "Trùng lặp", "Không phê duyệt", "", "Trùng nội dung"],
            ["", "", "", "", ""],  # a blank line is skipped
        ],
    )
    items = load_decision_items(path)
    assert [(row, i.code, i.verdict, i.approved_support, i.reason) for row, i in items] == [
        (2, "BG-1", Verdict.APPROVE, 150_000_000, ""),
        (3, "BG-2", Verdict.APPROVE, None, ""),
        (4, "BG-3", Verdict.REJECT, None, "Trùng nội dung"),
    ]


def test_every_bad_row_is_named_by_row_and_column_at_once(tmp_path: Path) -> None:
    path = sheet(
        tmp_path,
        [
            ["BG-1", "", "Duyệt", "", ""],
            ["BG-2", "", "Phê duyệt", "1,5 tỷ", ""],
            ["BG-3", "", "Không phê duyệt", "10.000.000", ""],
            ["BG-2", "", "Phê duyệt", "", ""],
            ["", "", "Phê duyệt", "", ""],
        ],
    )
    assert errors_of(path) == [
        "dòng 2, cột «Quyết định»: ghi «Phê duyệt» hoặc «Không phê duyệt»",
        "dòng 3, cột «Kinh phí phê duyệt»: Value error, số tiền phải là số nguyên đồng, chỉ gồm "
        "chữ số, có thể nhóm nghìn bằng dấu chấm (1.000.000); không có phần thập phân",
        "dòng 4, cột «Kinh phí phê duyệt»: đề án không phê duyệt thì không ghi kinh phí",
        "dòng 4, cột «Lý do»: bắt buộc khi không phê duyệt",
        "dòng 5, cột «Mã đề án»: trùng với dòng 3",
        "dòng 6, cột «Mã đề án»: bắt buộc",
    ]


def test_a_sheet_with_an_unknown_or_missing_column_is_refused_before_any_row(
    tmp_path: Path,
) -> None:
    path = sheet(tmp_path, [["BG-1", "x"]], header=["Mã đề án", "Ghi chú"])
    assert errors_of(path) == [
        "dòng 1, cột «Ghi chú»: cột không có trong mẫu (Mã đề án, Tên đề án, Quyết định, "
        "Kinh phí phê duyệt, Lý do)",
        "dòng 1, cột «Quyết định»: thiếu cột bắt buộc",
    ]


def test_an_xlsx_list_reads_number_cells_as_whole_dong(tmp_path: Path) -> None:
    path = tmp_path / "danh-muc.xlsx"
    write_xlsx(path, [["BG-1", "", "Phê duyệt", 150000000.0, ""]], HEADER)  # type: ignore[list-item]
    [(row, item)] = load_decision_items(path)
    assert (row, item.approved_support) == (2, 150_000_000)


def plan_with(*items: PlanItem) -> PlanState:
    config = PlanConfig.with_defaults("Bắc Giang", Level.DIA_PHUONG, 2027, 1_000_000_000)
    return PlanState(plan_id=config.plan_id, config=config, items=list(items))


def item(code: str, status: ItemStatus = ItemStatus.REGISTERED) -> PlanItem:
    return PlanItem(
        code=code,
        title=f"Đề án {code}",
        content_area="3",
        requested_support=150_000_000,
        counterpart_funds=650_000_000,
        registered_on=date(2026, 12, 1),
        status=status,
        decision_number="1/QĐ-UBND" if status is ItemStatus.APPROVED else None,
    )


def test_codes_outside_the_plan_decided_before_or_over_the_request_are_refused(
    tmp_path: Path,
) -> None:
    state = plan_with(item("BG-1"), item("BG-2", ItemStatus.APPROVED), item("BG-3"))
    path = sheet(
        tmp_path,
        [
            ["BG-1", "", "Phê duyệt", "", ""],
            ["BG-2", "", "Phê duyệt", "", ""],
            ["BG-9", "", "Phê duyệt", "", ""],
            ["BG-3", "", "Phê duyệt", "160.000.000", ""],
        ],
    )
    with pytest.raises(PlanImportInvalid) as invalid:
        check_against_plan(load_decision_items(path), state, "9/QĐ-UBND")
    assert [str(e) for e in invalid.value.errors] == [
        "dòng 3, cột «Mã đề án»: đã có quyết định 1/QĐ-UBND (Được phê duyệt)",
        f"dòng 4, cột «Mã đề án»: không có trong kế hoạch {state.plan_id}",
        "dòng 5, cột «Kinh phí phê duyệt»: cao hơn kinh phí đề nghị hỗ trợ của đề án "
        "(150.000.000 đ)",
    ]


def test_the_sheet_to_fill_lists_the_de_an_waiting_at_their_requested_support() -> None:
    state = plan_with(item("BG-1"), item("BG-2", ItemStatus.APPROVED), item("BG-3"))
    assert waiting_rows(state) == [
        ["BG-1", "Đề án BG-1", "Phê duyệt", "150.000.000", ""],
        ["BG-3", "Đề án BG-3", "Phê duyệt", "150.000.000", ""],
    ]


def test_sending_the_same_decision_again_is_a_retry_not_an_error(tmp_path: Path) -> None:
    state = plan_with(item("BG-1", ItemStatus.APPROVED))
    path = sheet(tmp_path, [["BG-1", "", "Phê duyệt", "", ""]])
    check_against_plan(load_decision_items(path), state, "1/QĐ-UBND")  # decided by this paper
    with pytest.raises(PlanImportInvalid) as invalid:
        check_against_plan(load_decision_items(path), state, "2/QĐ-UBND")
    assert "không gửi quyết định" in str(invalid.value)
