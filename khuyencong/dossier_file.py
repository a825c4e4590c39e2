"""Registration files: the đề án an implementing unit (or a province's plan) sends, as JSON or
CSV, read and validated all-or-nothing before anything is started.

**JSON**: a list of objects ``{"dossier": {...DeAnDossier...}, "registered_by": {...Actor...}}``,
optionally with ``"registered_on": "YYYY-MM-DD"`` (default: the day the workflow starts).
See ``khuyencong/demo/bac_giang_2019.json``.

**CSV** (UTF-8, with or without BOM; ``,`` or ``;`` separated), one đề án per line, columns:

- dossier: ``code``, ``title``, ``level`` (``quoc_gia`` | ``dia_phuong``), ``province``,
  ``district``, ``commune``, ``content_area`` (``1``–``11``), ``support_item`` (a rule-pack
  key, e.g. ``machinery``), ``implementing_unit``, ``plan_year``, ``schedule_start``,
  ``schedule_end`` (``YYYY-MM-DD``), ``requested_support``, ``counterpart_funds`` (whole đồng;
  ``150.000.000`` is read as 150000000), ``group_project`` (true/false, có/không)
- beneficiary: ``beneficiary_name``, ``beneficiary_type`` (``doanh_nghiep``, ``hop_tac_xa``,
  ``to_hop_tac``, ``ho_kinh_doanh``, ...), ``beneficiary_tax_code``
- cost lines, numbered from 1 (as many as needed): ``cost_1_description``, ``cost_1_amount``,
  ``cost_1_eligible`` (default true), ``cost_2_description``, ...
- registering official: ``registered_by_official_id``, ``registered_by_full_name``,
  ``registered_by_role``, ``registered_by_organisation``, ``registered_by_province``
- ``registered_on`` (optional)

Empty cells count as absent. Every row is validated before anything starts: when any row is
bad, each error is given with its row and field (CSV rows are file line numbers, JSON rows
the position in the list, from 1) and nothing is started. Starting is
:mod:`khuyencong.registration`'s.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.model import DeAnDossier, Level
from domain.rules import RulePack, load_packs, packs_for
from domain.strict import validate_typed
from khuyencong.registration import RegistrationEntry
from khuyencong.settings import Settings, StartupError


@dataclass(frozen=True)
class RowError:
    """A problem in one row (``row`` None: the file as a whole)."""

    row: int | None
    field: str
    message: str
    code: str | None = None

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        if self.code:
            where += f" ({self.code})"
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class EntriesInvalid(StartupError):
    """The file has errors; nothing was started."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        lines = "\n".join(f"  {e}" for e in self.errors)
        rows = {e.row for e in self.errors if e.row is not None}
        where = f" in {len(rows)} row(s)" if rows else ""
        super().__init__(f"{len(self.errors)} error(s){where}; nothing was started:\n{lines}")


# --- reading -----------------------------------------------------------------------------


def load_entries(
    path: Path, *, rule_packs: Sequence[RulePack] | None = None
) -> list[RegistrationEntry]:
    """Read and validate a ``.json`` or ``.csv`` file. Raises :class:`EntriesInvalid`."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EntriesInvalid([RowError(None, "", f"cannot read {path}: {exc}")]) from None
    if Path(path).suffix.lower() == ".csv":
        return parse_csv(text, rule_packs=rule_packs)
    return parse_json(text, rule_packs=rule_packs)


def parse_json(
    text: str, *, rule_packs: Sequence[RulePack] | None = None
) -> list[RegistrationEntry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EntriesInvalid(
            [RowError(None, "", f"not valid JSON (line {exc.lineno}): {exc.msg}")]
        ) from None
    if not isinstance(data, list):
        raise EntriesInvalid([RowError(None, "", "expected a JSON list of đề án objects")])
    return validate_rows(list(enumerate(data, start=1)), rule_packs=rule_packs)


_COST = re.compile(r"^cost_(\d+)_(description|amount|eligible)$")

CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("dossier", "code"),
    "title": ("dossier", "title"),
    "level": ("dossier", "level"),
    "province": ("dossier", "province"),
    "district": ("dossier", "district"),
    "commune": ("dossier", "commune"),
    "content_area": ("dossier", "content_area"),
    "support_item": ("dossier", "support_item"),
    "beneficiary_name": ("dossier", "beneficiary", "name"),
    "beneficiary_type": ("dossier", "beneficiary", "type"),
    "beneficiary_tax_code": ("dossier", "beneficiary", "tax_code"),
    "implementing_unit": ("dossier", "implementing_unit"),
    "plan_year": ("dossier", "plan_year"),
    "schedule_start": ("dossier", "schedule", "start"),
    "schedule_end": ("dossier", "schedule", "end"),
    "requested_support": ("dossier", "requested_support"),
    "counterpart_funds": ("dossier", "counterpart_funds"),
    "group_project": ("dossier", "group_project"),
    "registered_by_official_id": ("registered_by", "official_id"),
    "registered_by_full_name": ("registered_by", "full_name"),
    "registered_by_role": ("registered_by", "role"),
    "registered_by_organisation": ("registered_by", "organisation"),
    "registered_by_province": ("registered_by", "province"),
    "registered_on": ("registered_on",),
}
"""Flat CSV column → path in :class:`RegistrationEntry` (cost lines: ``cost_N_*``)."""

_PATH_TO_COLUMN: dict[tuple[str | int, ...], str] = {path: col for col, path in CSV_COLUMNS.items()}
_BOOLEAN_WORDS = {"có": "true", "co": "true", "x": "true", "không": "false", "khong": "false"}


def parse_csv(
    text: str, *, rule_packs: Sequence[RulePack] | None = None
) -> list[RegistrationEntry]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip() for name in (reader.fieldnames or [])]
    unknown = [n for n in header if n and n not in CSV_COLUMNS and not _COST.match(n)]
    if not header:
        raise EntriesInvalid([RowError(None, "", "the CSV file is empty")])
    if unknown:
        raise EntriesInvalid(
            [
                RowError(1, name, "unknown column (see khuyencong/dossier_file.py for the columns)")
                for name in unknown
            ]
        )
    rows: list[tuple[int, Any]] = []
    column_maps: dict[int, dict[tuple[str | int, ...], str]] = {}
    for record in reader:
        line = reader.line_num
        cells = {
            (k or "").strip(): v.strip()
            for k, v in record.items()
            if k is not None and isinstance(v, str) and v.strip() != ""
        }
        if not cells:
            continue  # blank line
        nested, columns = _unflatten(cells)
        rows.append((line, nested))
        column_maps[line] = columns
    if not rows:
        raise EntriesInvalid([RowError(None, "", "the CSV file has a header but no rows")])
    return validate_rows(rows, rule_packs=rule_packs, column_maps=column_maps)


def _unflatten(cells: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str | int, ...], str]]:
    """Flat cells → nested entry, and the map from pydantic error paths back to columns."""
    nested: dict[str, Any] = {}
    columns: dict[tuple[str | int, ...], str] = {}
    costs: dict[int, dict[str, str]] = {}
    for column, value in cells.items():
        match = _COST.match(column)
        if match:
            costs.setdefault(int(match[1]), {})[match[2]] = _boolean(value, match[2] == "eligible")
            continue
        path = CSV_COLUMNS[column]
        target = nested
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = _boolean(value, column == "group_project")
    if costs:
        lines = []
        for position, number in enumerate(sorted(costs)):
            lines.append(costs[number])
            for part in ("description", "amount", "eligible"):
                columns[("dossier", "cost_lines", position, part)] = f"cost_{number}_{part}"
            columns[("dossier", "cost_lines", position)] = f"cost_{number}_*"
        nested.setdefault("dossier", {})["cost_lines"] = lines
    return nested, columns


def _boolean(value: str, is_boolean: bool) -> str:
    return _BOOLEAN_WORDS.get(value.lower(), value) if is_boolean else value


def validate_rows(
    rows: Iterable[tuple[int, Any]],
    *,
    rule_packs: Sequence[RulePack] | None = None,
    column_maps: Mapping[int, Mapping[tuple[str | int, ...], str]] | None = None,
) -> list[RegistrationEntry]:
    """Validate every row; return the entries or raise :class:`EntriesInvalid` with all the
    errors. ``column_maps`` (CSV) names fields by their column instead of their path.

    Besides the models' own rules: codes must be unique in the file and, when
    ``rule_packs`` are given and a pack applies to the đề án's level and province, its
    ``support_item`` must be an item of such a pack.
    """
    entries: list[RegistrationEntry] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for row, data in rows:
        columns = (column_maps or {}).get(row)
        code = _code_of(data)
        if not isinstance(data, dict):
            errors.append(RowError(row, "", "expected an object with dossier and registered_by"))
            continue
        try:
            entry = validate_typed(RegistrationEntry, data)
        except ValidationError as exc:
            for error in exc.errors():
                errors.append(
                    RowError(row, _field_name(error["loc"], columns), _message(error), code)
                )
            continue
        code_field = _field_name(("dossier", "code"), columns)
        if entry.dossier.code in seen:
            errors.append(
                RowError(
                    row,
                    code_field,
                    f"mã đề án {entry.dossier.code} đã có ở row {seen[entry.dossier.code]}",
                    code,
                )
            )
            continue
        seen[entry.dossier.code] = row
        problem = _support_item_problem(entry.dossier, rule_packs)
        if problem:
            item_field = _field_name(("dossier", "support_item"), columns)
            errors.append(RowError(row, item_field, problem, code))
            continue
        entries.append(entry)
    if errors:
        raise EntriesInvalid(errors)
    return entries


def _code_of(data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("dossier"), dict):
        code = data["dossier"].get("code")
        return code if isinstance(code, str) else None
    return None


def _field_name(
    loc: Sequence[str | int], columns: Mapping[tuple[str | int, ...], str] | None
) -> str:
    """A pydantic error path as the user wrote it: dotted path (JSON) or column (CSV)."""
    loc = tuple(loc)
    if columns is not None:
        for size in range(len(loc), 0, -1):
            prefix = loc[:size]
            if prefix in columns:
                return columns[prefix]
            if prefix in _PATH_TO_COLUMN:
                return _PATH_TO_COLUMN[prefix]
    return ".".join(str(part) for part in loc) or "(row)"


def _message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        return "required"
    return message


def _support_item_problem(dossier: DeAnDossier, packs: Sequence[RulePack] | None) -> str | None:
    if not packs:
        return None
    applicable = packs_for(packs, dossier.level, dossier.province)
    if not applicable or any(dossier.support_item in p.items for p in applicable):
        return None
    known = sorted({key for p in applicable for key in p.items})
    where = "quốc gia" if dossier.level is Level.QUOC_GIA else f"tỉnh {dossier.province}"
    return (
        f"hạng mục «{dossier.support_item}» không có trong quy định khuyến công {where}; "
        f"các hạng mục: {', '.join(known)}"
    )


def entries_to_csv(entries: Sequence[RegistrationEntry]) -> str:
    """The CSV form of ``entries`` (a template for spreadsheets; :func:`parse_csv` reads it)."""
    most_lines = max((len(e.dossier.cost_lines) for e in entries), default=1)
    cost_columns = [
        f"cost_{n}_{part}"
        for n in range(1, most_lines + 1)
        for part in ("description", "amount", "eligible")
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *cost_columns])
    for entry in entries:
        data = entry.model_dump(mode="json")
        row = [_cell(_dig(data, path)) for path in CSV_COLUMNS.values()]
        for n in range(most_lines):
            line = data["dossier"]["cost_lines"][n] if n < len(entry.dossier.cost_lines) else {}
            row += [_cell(line.get(part)) for part in ("description", "amount", "eligible")]
        writer.writerow(row)
    return out.getvalue()


def _dig(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_file(path: Path, settings: Settings) -> list[RegistrationEntry]:
    """:func:`load_entries` with the rule packs ``settings`` name (support items checked)."""
    return load_entries(path, rule_packs=load_packs(settings.rule_pack_dirs))
