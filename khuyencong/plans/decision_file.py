"""The list of a plan decision from a spreadsheet: the annex a decision carries (danh mục đề án
được phê duyệt), one row per đề án with its verdict, the support granted and, for a đề án not
approved, why.

``khuyencong plan decision-sheet PLAN_ID FILE`` writes the sheet of the đề án still waiting,
filled with "Phê duyệt" and the requested support; the office edits it and sends it with
``khuyencong plan decide PLAN_ID --items FILE ...``. Every row is checked first (and every code
against the plan); on any error each one is listed with its row, column and reason and
nothing is sent.

==========================  ==============================================================
``Mã đề án`` *              the đề án's code
``Quyết định`` *            ``Phê duyệt`` / ``Không phê duyệt`` (or approve / reject)
``Kinh phí phê duyệt``      whole đồng (``150.000.000``); blank: the requested support
``Lý do``                   required when not approved
``Tên đề án``               ignored (for the reader of the sheet)
==========================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain.money import Dong, format_dong, group_thousands
from khuyencong.plans.importer import ImportError_, PlanImportInvalid, fold, read_sheet
from workflows.plan_contract import ItemStatus, PlanDecisionItem, PlanState, Verdict

CODE = "Mã đề án"
VERDICT = "Quyết định"
SUPPORT = "Kinh phí phê duyệt"
REASON = "Lý do"
TITLE = "Tên đề án"
HEADER = [CODE, TITLE, VERDICT, SUPPORT, REASON]
REQUIRED = (CODE, VERDICT)

VERDICT_WORDS = {
    "phe duyet": Verdict.APPROVE,
    "approve": Verdict.APPROVE,
    "co": Verdict.APPROVE,
    "khong phe duyet": Verdict.REJECT,
    "reject": Verdict.REJECT,
    "khong": Verdict.REJECT,
}
_DONG: TypeAdapter[int] = TypeAdapter(Dong)
_BY_FOLD = {fold(name): name for name in HEADER}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class DecisionListInvalid(PlanImportInvalid):
    """The decision's list has errors; nothing was sent."""

    OUTCOME = "không gửi quyết định"


def load_decision_items(path: Path) -> list[tuple[int, PlanDecisionItem]]:
    """The rows of the sheet as decision items, with their row numbers; raises
    :class:`DecisionListInvalid` listing every error (nothing is half-read)."""
    try:
        sheet = read_sheet(path)
    except PlanImportInvalid as exc:
        raise DecisionListInvalid(exc.errors) from None
    errors: list[ImportError_] = []
    positions: dict[int, str] = {}
    for i, raw in enumerate(sheet.header):
        if not raw:
            continue
        name = _BY_FOLD.get(fold(raw))
        if name is None:
            errors.append(ImportError_(1, raw, f"cột không có trong mẫu ({', '.join(HEADER)})"))
        elif name in positions.values():
            errors.append(ImportError_(1, raw, "cột bị lặp"))
        else:
            positions[i] = name
    for name in REQUIRED:
        if name not in positions.values():
            errors.append(ImportError_(1, name, "thiếu cột bắt buộc"))
    if errors:
        raise DecisionListInvalid(errors)

    items: list[tuple[int, PlanDecisionItem]] = []
    seen: dict[str, int] = {}
    for row, values in sheet.rows:
        cells = {positions[i]: _cell(v) for i, v in enumerate(values) if i in positions}
        if not any(cells.values()):
            continue  # blank line
        item, problems = _row(row, cells)
        errors += problems
        code = cells.get(CODE, "")
        if code in seen:
            errors.append(ImportError_(row, CODE, f"trùng với dòng {seen[code]}"))
            continue
        if code:
            seen[code] = row
        if item is not None:
            items.append((row, item))
    if not items and not errors:
        errors.append(ImportError_(None, "", "không có đề án nào trong danh mục"))
    if errors:
        raise DecisionListInvalid(errors)
    return items


def _row(row: int, cells: dict[str, str]) -> tuple[PlanDecisionItem | None, list[ImportError_]]:
    errors: list[ImportError_] = []
    code = cells.get(CODE, "")
    if not code:
        errors.append(ImportError_(row, CODE, "bắt buộc"))
    verdict = VERDICT_WORDS.get(fold(cells.get(VERDICT, "")))
    if verdict is None:
        errors.append(ImportError_(row, VERDICT, "ghi «Phê duyệt» hoặc «Không phê duyệt»"))
    support: int | None = None
    if cells.get(SUPPORT):
        try:
            support = _DONG.validate_python(cells[SUPPORT])
        except ValidationError as exc:
            errors.append(ImportError_(row, SUPPORT, exc.errors()[0]["msg"]))
    reason = cells.get(REASON, "")
    if verdict is Verdict.REJECT:
        if support is not None:
            errors.append(
                ImportError_(row, SUPPORT, "đề án không phê duyệt thì không ghi kinh phí")
            )
        if not reason:
            errors.append(ImportError_(row, REASON, "bắt buộc khi không phê duyệt"))
    if errors or verdict is None:
        return None, errors
    try:
        item = PlanDecisionItem(code=code, verdict=verdict, approved_support=support, reason=reason)
    except ValidationError as exc:
        first = exc.errors()[0]
        return None, [ImportError_(row, CODE, str(first["msg"]))]
    return item, []


def check_against_plan(
    items: Sequence[tuple[int, PlanDecisionItem]], state: PlanState, decision_number: str
) -> None:
    """Every code must be a đề án of the plan still waiting for a decision (or refused). Items
    decided by this same decision pass: sending it again is a retry, answered as it was."""
    errors: list[ImportError_] = []
    for row, item in items:
        found = state.item(item.code)
        if found is None:
            errors.append(ImportError_(row, CODE, f"không có trong kế hoạch {state.plan_id}"))
        elif found.decision_number == decision_number:
            continue
        elif found.status not in (ItemStatus.REGISTERED, ItemStatus.REFUSED):
            errors.append(
                ImportError_(
                    row, CODE, f"đã có quyết định {found.decision_number} ({found.status.label})"
                )
            )
        elif item.approved_support is not None and item.approved_support > found.requested_support:
            errors.append(
                ImportError_(
                    row,
                    SUPPORT,
                    f"cao hơn kinh phí đề nghị hỗ trợ của đề án "
                    f"({format_dong(found.requested_support)})",
                )
            )
    if errors:
        raise DecisionListInvalid(errors)


def waiting_rows(state: PlanState) -> list[list[str]]:
    """The sheet an office fills in: every đề án waiting, approved at its requested support."""
    return [
        [item.code, item.title, "Phê duyệt", group_thousands(item.requested_support), ""]
        for item in state.items
        if item.status in (ItemStatus.REGISTERED, ItemStatus.REFUSED)
    ]
