"""Import a plan from the spreadsheet a centre keeps: XLSX or CSV, one row per đề án, Vietnamese
headers (template: ``khuyencong/plans/template.csv``; ``khuyencong plan template FILE.xlsx``).

Every row is validated first (the dossier's own rules, the rule pack's support items, codes
unique in the file, and that the đề án belongs to the plan's province, level and year). On any
error :class:`PlanImportInvalid` lists each one with its row, column and reason, and nothing
is imported. Importing the same file twice creates nothing twice: đề án workflow IDs are
business IDs, and the plan's ``register`` update ID is derived from the file's content.

Columns (header → meaning; ``*`` required):

======================================  =====================================================
``Mã đề án`` *                          code, e.g. BG-2027-DP-01 (capitals, digits, ``-``)
``Tên đề án`` *                         title
``Cấp`` *                               ``Địa phương`` / ``Quốc gia`` (or dia_phuong, quoc_gia)
``Tỉnh`` *                              province
``Huyện``, ``Xã``                       district, commune
``Nội dung`` *                          content area 1–11 (``3`` or ``3. Mô hình ...``)
``Hạng mục hỗ trợ`` *                   support item of the rule pack (machinery, training, ...)
``Đơn vị thụ hưởng`` *                  beneficiary name
``Loại hình`` *                         Doanh nghiệp / Hợp tác xã / Tổ hợp tác / Hộ kinh doanh ...
``Mã số thuế`` *                        tax code (10, 10-3 or 12 digits)
``Đơn vị thực hiện`` *                  implementing unit
``Năm kế hoạch`` *                      plan year
``Ngày bắt đầu``, ``Ngày kết thúc`` *   schedule, dd/mm/yyyy (or a date cell)
``Kinh phí đề nghị hỗ trợ`` *           requested support, whole đồng (``150.000.000``)
``Vốn đối ứng`` *                       counterpart funds, whole đồng
``Đề án nhóm``                          có / không
``Hạng mục chi N``, ``Chi phí N`` *     cost lines N = 1, 2, ... (at least line 1)
``Được hỗ trợ N``                       có / không (default có)
``Mã cán bộ đăng ký`` *                 the centre's official who registers
``Cán bộ đăng ký`` *                    their full name
``Ngày đăng ký``                        dd/mm/yyyy (default: the day of import)
======================================  =====================================================
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from domain.deadlines import vn_date
from domain.model import BeneficiaryType, Role
from domain.rules import RulePack, province_key
from khuyencong.dossier_file import EntriesInvalid, RowError, validate_rows
from khuyencong.settings import StartupError
from workflows.plan_contract import PlanConfig, PlanRegistration

Path_ = tuple[str | int, ...]

COLUMNS: dict[str, Path_] = {
    "Mã đề án": ("dossier", "code"),
    "Tên đề án": ("dossier", "title"),
    "Cấp": ("dossier", "level"),
    "Tỉnh": ("dossier", "province"),
    "Huyện": ("dossier", "district"),
    "Xã": ("dossier", "commune"),
    "Nội dung": ("dossier", "content_area"),
    "Hạng mục hỗ trợ": ("dossier", "support_item"),
    "Đơn vị thụ hưởng": ("dossier", "beneficiary", "name"),
    "Loại hình": ("dossier", "beneficiary", "type"),
    "Mã số thuế": ("dossier", "beneficiary", "tax_code"),
    "Đơn vị thực hiện": ("dossier", "implementing_unit"),
    "Năm kế hoạch": ("dossier", "plan_year"),
    "Ngày bắt đầu": ("dossier", "schedule", "start"),
    "Ngày kết thúc": ("dossier", "schedule", "end"),
    "Kinh phí đề nghị hỗ trợ": ("dossier", "requested_support"),
    "Vốn đối ứng": ("dossier", "counterpart_funds"),
    "Đề án nhóm": ("dossier", "group_project"),
    "Mã cán bộ đăng ký": ("registered_by", "official_id"),
    "Cán bộ đăng ký": ("registered_by", "full_name"),
    "Ngày đăng ký": ("registered_on",),
}
OPTIONAL = {"Huyện", "Xã", "Đề án nhóm", "Ngày đăng ký"}
REQUIRED = [c for c in COLUMNS if c not in OPTIONAL]
COST = re.compile(r"^(Hạng mục chi|Chi phí|Được hỗ trợ) (\d+)$")
COST_PARTS = {"Hạng mục chi": "description", "Chi phí": "amount", "Được hỗ trợ": "eligible"}
DATE_FIELDS = {"Ngày bắt đầu", "Ngày kết thúc", "Ngày đăng ký"}


def fold(text: str) -> str:
    """Lower case, no accents, single spaces: how headers and words are compared."""
    text = unicodedata.normalize("NFD", str(text).strip().lower()).replace("đ", "d")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return " ".join(text.split())


_HEADER_BY_FOLD = {fold(name): name for name in COLUMNS}
LEVEL_WORDS = {
    "dia phuong": "dia_phuong",
    "dia_phuong": "dia_phuong",
    "tinh": "dia_phuong",
    "khuyen cong dia phuong": "dia_phuong",
    "dp": "dia_phuong",
    "quoc gia": "quoc_gia",
    "quoc_gia": "quoc_gia",
    "khuyen cong quoc gia": "quoc_gia",
    "qg": "quoc_gia",
}
BENEFICIARY_WORDS = {
    **{fold(t.label): t.value for t in BeneficiaryType},
    **{t.value: t.value for t in BeneficiaryType},
    "doanh nghiep": "doanh_nghiep",
    "dn": "doanh_nghiep",
    "htx": "hop_tac_xa",
    "hop tac xa": "hop_tac_xa",
    "tht": "to_hop_tac",
    "to hop tac": "to_hop_tac",
    "hkd": "ho_kinh_doanh",
    "ho kinh doanh": "ho_kinh_doanh",
}
YES = {"co", "x", "true", "1", "yes"}
NO = {"khong", "false", "0", "no"}


@dataclass(frozen=True)
class ImportError_:
    row: int | None
    column: str
    message: str

    def __str__(self) -> str:
        where = "tệp" if self.row is None else f"dòng {self.row}"
        return (
            f"{where}, cột «{self.column}»: {self.message}"
            if self.column
            else f"{where}: {self.message}"
        )


class PlanImportInvalid(StartupError):
    """The spreadsheet has errors; nothing was imported."""

    OUTCOME = "không nhập đề án nào"

    def __init__(self, errors: Sequence[ImportError_]) -> None:
        self.errors = list(errors)
        lines = "\n".join(f"  {e}" for e in self.errors)
        super().__init__(f"{len(self.errors)} lỗi; {self.OUTCOME}:\n{lines}")


@dataclass(frozen=True)
class Sheet:
    header: list[str]
    rows: list[tuple[int, list[Any]]]
    digest: str


# --- reading ---------------------------------------------------------------------------------


def read_sheet(path: Path) -> Sheet:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanImportInvalid([ImportError_(None, "", f"không đọc được {path}: {exc}")]) from None
    digest = hashlib.sha256(data).hexdigest()[:20]
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(data, digest)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlanImportInvalid(
            [ImportError_(None, "", "tệp CSV phải mã hoá UTF-8 (Excel: Lưu dạng CSV UTF-8)")]
        ) from None
    return read_csv_text(text, digest)


def read_csv_text(text: str, digest: str | None = None) -> Sheet:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines = list(reader)
    if not lines:
        raise PlanImportInvalid([ImportError_(None, "", "tệp trống")])
    rows = [(n, cells) for n, cells in enumerate(lines[1:], start=2)]
    return Sheet(
        header=[h.strip() for h in lines[0]],
        rows=rows,
        digest=digest or hashlib.sha256(text.encode("utf-8")).hexdigest()[:20],
    )


def _read_xlsx(data: bytes, digest: str) -> Sheet:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # not a workbook
        raise PlanImportInvalid(
            [ImportError_(None, "", f"không mở được tệp XLSX: {exc}")]
        ) from None
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    book.close()
    if not values:
        raise PlanImportInvalid([ImportError_(None, "", "bảng tính trống")])
    header = ["" if v is None else str(v).strip() for v in values[0]]
    rows = [(n, list(cells)) for n, cells in enumerate(values[1:], start=2)]
    return Sheet(header=header, rows=rows, digest=digest)


# --- validating ------------------------------------------------------------------------------


def check_header(header: Sequence[str]) -> tuple[dict[int, str], list[ImportError_]]:
    """Map column positions to canonical names; unknown, duplicate and missing columns."""
    errors: list[ImportError_] = []
    positions: dict[int, str] = {}
    seen: set[str] = set()
    for i, raw in enumerate(header):
        if not raw:
            continue
        name = _HEADER_BY_FOLD.get(fold(raw))
        if name is None:
            match = COST.match(raw.strip())
            folded = {fold(k): k for k in COST_PARTS}
            m2 = re.match(r"^(.*) (\d+)$", fold(raw))
            if match:
                name = raw.strip()
            elif m2 and m2[1] in folded:
                name = f"{folded[m2[1]]} {m2[2]}"
        if name is None:
            errors.append(ImportError_(1, raw, "cột không có trong mẫu (xem template.csv)"))
            continue
        if name in seen:
            errors.append(ImportError_(1, raw, "cột bị lặp"))
            continue
        seen.add(name)
        positions[i] = name
    for name in [*REQUIRED, "Hạng mục chi 1", "Chi phí 1"]:
        if name not in seen:
            errors.append(ImportError_(1, name, "thiếu cột bắt buộc"))
    return positions, errors


def _text(value: Any, column: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        return None
    if column in DATE_FIELDS:
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if m:
            return f"{int(m[3]):04d}-{int(m[2]):02d}-{int(m[1]):02d}"
    if column == "Cấp":
        return LEVEL_WORDS.get(fold(text), text)
    if column == "Loại hình":
        return BENEFICIARY_WORDS.get(fold(text), text)
    if column == "Nội dung":
        m = re.match(r"^\s*(\d{1,2})\b", text)
        return m[1] if m else text
    if column == "Đề án nhóm" or column.startswith("Được hỗ trợ"):
        f = fold(text)
        return "true" if f in YES else "false" if f in NO else text
    return text


def row_to_entry(cells: dict[str, str]) -> tuple[dict[str, Any], dict[Path_, str]]:
    """Canonical cells → nested :class:`PlanRegistration` data, and paths → columns."""
    nested: dict[str, Any] = {}
    columns: dict[Path_, str] = {path: name for name, path in COLUMNS.items()}
    costs: dict[int, dict[str, str]] = {}
    for name, value in cells.items():
        m = COST.match(name)
        if m:
            costs.setdefault(int(m[2]), {})[COST_PARTS[m[1]]] = value
            continue
        target = nested
        path = COLUMNS[name]
        for key in path[:-1]:
            target = target.setdefault(str(key), {})
        target[str(path[-1])] = value
    lines = []
    for position, number in enumerate(sorted(costs)):
        lines.append(costs[number])
        for part, label in (
            ("description", "Hạng mục chi"),
            ("amount", "Chi phí"),
            ("eligible", "Được hỗ trợ"),
        ):
            columns[("dossier", "cost_lines", position, part)] = f"{label} {number}"
        columns[("dossier", "cost_lines", position)] = f"Hạng mục chi {number}"
    if lines:
        nested.setdefault("dossier", {})["cost_lines"] = lines
    columns[("dossier", "cost_lines")] = "Chi phí 1"
    columns[("dossier",)] = "(đề án)"
    # The registering official belongs to the implementing unit of the đề án's province.
    dossier = nested.get("dossier", {})
    official = nested.setdefault("registered_by", {})
    official.setdefault("role", Role.TRUNG_TAM.value)
    official.setdefault("organisation", dossier.get("implementing_unit") or "Trung tâm Khuyến công")
    official.setdefault("province", dossier.get("province"))
    columns[("registered_by",)] = "Cán bộ đăng ký"
    return nested, columns


def validate_sheet(
    sheet: Sheet,
    plan: PlanConfig | None = None,
    *,
    rule_packs: Sequence[RulePack] | None = None,
) -> list[PlanRegistration]:
    """Every row checked; the entries, or :class:`PlanImportInvalid` with every error."""
    positions, errors = check_header(sheet.header)
    if errors:
        raise PlanImportInvalid(errors)
    rows: list[tuple[int, Any]] = []
    column_maps: dict[int, dict[Path_, str]] = {}
    for number, values in sheet.rows:
        cells = {}
        for i, name in positions.items():
            text = _text(values[i] if i < len(values) else None, name)
            if text is not None:
                cells[name] = text
        if not cells:
            continue  # blank row
        nested, columns = row_to_entry(cells)
        rows.append((number, nested))
        column_maps[number] = columns
    if not rows:
        raise PlanImportInvalid([ImportError_(None, "", "không có dòng đề án nào")])
    problems: list[ImportError_] = []
    if plan is not None:
        for number, data in rows:
            problems += _plan_problems(number, data, plan)
    try:
        entries = validate_rows(rows, rule_packs=rule_packs, column_maps=column_maps)
    except EntriesInvalid as invalid:
        problems += [_from_row_error(e) for e in invalid.errors]
        entries = []
    today = vn_date(datetime.now(UTC))
    for (number, _), entry in zip(rows, entries, strict=False):
        if entry.registered_on is not None and entry.registered_on > today:
            problems.append(
                ImportError_(
                    number,
                    "Ngày đăng ký",
                    f"{entry.registered_on:%d/%m/%Y} ở tương lai (hôm nay {today:%d/%m/%Y}); "
                    "để trống là ngày nhập",
                )
            )
    if problems:
        raise PlanImportInvalid(sorted(problems, key=lambda e: (e.row or 0, e.column)))
    return [
        PlanRegistration(
            dossier=e.dossier, registered_by=e.registered_by, registered_on=e.registered_on
        )
        for e in entries
    ]


def _plan_problems(row: int, data: dict[str, Any], plan: PlanConfig) -> list[ImportError_]:
    """The đề án must belong to the plan: its province, level and year."""
    dossier = data.get("dossier", {})
    out = []
    level = dossier.get("level")
    if level is not None and level != plan.level.value:
        out.append(ImportError_(row, "Cấp", f"kế hoạch cấp {plan.level.label}, dòng ghi «{level}»"))
    province = dossier.get("province")
    if province is not None and province_key(province) != province_key(plan.province):
        out.append(ImportError_(row, "Tỉnh", f"kế hoạch của tỉnh {plan.province}"))
    year = dossier.get("plan_year")
    if year is not None and year != str(plan.year):
        out.append(ImportError_(row, "Năm kế hoạch", f"kế hoạch năm {plan.year}, dòng ghi {year}"))
    return out


def _from_row_error(error: RowError) -> ImportError_:
    return ImportError_(error.row, error.field, error.message)


def load_plan_file(
    path: Path, plan: PlanConfig | None = None, *, rule_packs: Sequence[RulePack] | None = None
) -> tuple[list[PlanRegistration], str]:
    """Read and validate ``path``; the entries and the file's digest (the import's identity)."""
    sheet = read_sheet(path)
    return validate_sheet(sheet, plan, rule_packs=rule_packs), sheet.digest


# --- writing the template --------------------------------------------------------------------

TEMPLATE_HEADER = [
    *[c for c in COLUMNS if c not in ("Mã cán bộ đăng ký", "Cán bộ đăng ký", "Ngày đăng ký")],
    "Hạng mục chi 1",
    "Chi phí 1",
    "Được hỗ trợ 1",
    "Hạng mục chi 2",
    "Chi phí 2",
    "Được hỗ trợ 2",
    "Mã cán bộ đăng ký",
    "Cán bộ đăng ký",
    "Ngày đăng ký",
]


def entries_to_rows(entries: Iterable[PlanRegistration]) -> list[list[str]]:
    """Entries as template rows (the generator and the tests write spreadsheets with it)."""
    out = []
    for e in entries:
        d = e.dossier
        lines = list(d.cost_lines)[:2]
        cost_cells: list[str] = []
        for n in range(2):
            if n < len(lines):
                line = lines[n]
                cost_cells += [
                    line.description,
                    f"{line.amount:,}".replace(",", "."),
                    "có" if line.eligible else "không",
                ]
            else:
                cost_cells += ["", "", ""]
        out.append(
            [
                d.code,
                d.title,
                d.level.label.removeprefix("Khuyến công ").capitalize(),
                d.province,
                d.district or "",
                d.commune or "",
                d.content_area.value,
                d.support_item,
                d.beneficiary.name,
                d.beneficiary.type.label,
                d.beneficiary.tax_code,
                d.implementing_unit,
                str(d.plan_year),
                f"{d.schedule.start:%d/%m/%Y}",
                f"{d.schedule.end:%d/%m/%Y}",
                f"{d.requested_support:,}".replace(",", "."),
                f"{d.counterpart_funds:,}".replace(",", "."),
                "có" if d.group_project else "không",
                *cost_cells,
                e.registered_by.official_id,
                e.registered_by.full_name,
                f"{e.registered_on:%d/%m/%Y}" if e.registered_on else "",
            ]
        )
    return out


def write_csv(
    path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = TEMPLATE_HEADER
) -> None:
    with Path(path).open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def write_xlsx(
    path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = TEMPLATE_HEADER
) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.styles import Font  # type: ignore[import-untyped, unused-ignore]

    book = Workbook()
    sheet = book.active
    sheet.title = "Kế hoạch"
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    book.save(path)


# --- who registers ---------------------------------------------------------------------------

REGISTRAR_COLUMN = "Mã cán bộ đăng ký"


async def check_registrars(
    admin: Any, entries: Sequence[PlanRegistration]
) -> list[PlanRegistration]:
    """Every row's registrar must be an active Trung tâm official of the officials register
    (``khuyencong officials add``); the registrations then carry the register's name, role
    and unit. Raises :class:`PlanImportInvalid` naming each unknown, inactive or wrong official
    and the đề án they would register; nothing is imported."""
    from domain.model import Role
    from khuyencong.admin.errors import NotFound

    codes: dict[str, list[str]] = {}
    for entry in entries:
        codes.setdefault(entry.registered_by.official_id, []).append(entry.dossier.code)
    actors = {}
    errors: list[ImportError_] = []
    for official_id, registered in codes.items():
        which = f"(đề án {', '.join(registered[:5])}{', …' if len(registered) > 5 else ''})"
        try:
            official = await admin.get_official(official_id)
        except NotFound:
            errors.append(ImportError_(None, REGISTRAR_COLUMN, f"{official_id} không có trong "
                                       f"danh sách cán bộ (khuyencong officials add) {which}"))  # fmt: skip
            continue
        if not official.active:
            errors.append(ImportError_(None, REGISTRAR_COLUMN,
                                       f"{official_id} đã bị vô hiệu hoá {which}"))  # fmt: skip
        elif official.role is not Role.TRUNG_TAM:
            errors.append(ImportError_(None, REGISTRAR_COLUMN, f"{official_id} là "
                                       f"{official.role_label}, không phải Trung tâm Khuyến công "
                                       f"(đơn vị đăng ký đề án) {which}"))  # fmt: skip
        else:
            actors[official_id] = official.as_actor()
    if errors:
        raise PlanImportInvalid(errors)
    return [
        e.model_copy(update={"registered_by": actors[e.registered_by.official_id]}) for e in entries
    ]
