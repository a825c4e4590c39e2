"""Register đề án from a file: one ``DeAnWorkflow`` per đề án, idempotently.

Usage::

    khuyencong register plan.json        # or: python starter.py plan.json
    khuyencong register plan.csv

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
bad, each error is printed with its row and field (CSV rows are file line numbers, JSON rows
the position in the list, from 1) and nothing is started. Workflow IDs are
``de-an/<code>`` with ``REJECT_DUPLICATE``, so running the same file twice starts nothing
twice: the second run reports every đề án as already existing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.model import Actor, DeAnDossier, Level, Role, workflow_id_for
from domain.money import format_dong
from domain.rules import RulePack, load_packs, packs_for
from domain.strict import validate_typed
from khuyencong.client import connect
from khuyencong.identity_interceptors import vouching
from khuyencong.search_attributes import start_attributes, tax_code_hash_key
from khuyencong.settings import Settings, StartupError
from workflows.de_an_contract import DeAnInput

DE_AN_WORKFLOW = "DeAnWorkflow"
SUMMARY_MAX_BYTES = 380
"""The server keeps at most 400 bytes of a summary payload (a JSON string)."""


class RegistrationEntry(BaseModel):
    """One line of a registration file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dossier: DeAnDossier
    registered_by: Actor
    registered_on: date | None = None
    flag_past_deadlines: bool = Field(
        default=True,
        description="Record deadlines already past when they become known as missed; False "
        "only for a complete paper record (plan load-history --through-workflows)",
    )

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.dossier.code)

    def to_input(self) -> DeAnInput:
        return DeAnInput(
            dossier=self.dossier,
            registered_by=self.registered_by,
            registered_on=self.registered_on,
            flag_past_deadlines=self.flag_past_deadlines,
        )


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


@dataclass
class RegisterReport:
    started: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [*self.started, *self.existing]

    def describe(self) -> str:
        text = f"{len(self.started)} started, {len(self.existing)} already existing"
        return text + (f", {len(self.failed)} failed" if self.failed else "")


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
                RowError(1, name, "unknown column (see starter.py for the columns)")
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


DEMO_OFFICIALS: list[Actor] = [
    Actor(official_id="BG-TTKC-012", full_name="Nguyễn Thị Thu Hà", role=Role.TRUNG_TAM,
          organisation="Trung tâm Khuyến công và Xúc tiến thương mại tỉnh Bắc Giang",
          province="Bắc Giang"),
    Actor(official_id="BG-SCT-003", full_name="Trần Văn Minh", role=Role.SO_CONG_THUONG,
          organisation="Sở Công Thương tỉnh Bắc Giang", province="Bắc Giang"),
    Actor(official_id="BG-UBND-001", full_name="Lê Ánh Dương", role=Role.UBND_TINH,
          organisation="UBND tỉnh Bắc Giang", province="Bắc Giang"),
    Actor(official_id="BG-KT-007", full_name="Vũ Thị Hạnh", role=Role.TAI_CHINH,
          organisation="Phòng Kế hoạch – Tài chính, Sở Công Thương Bắc Giang",
          province="Bắc Giang"),
    Actor(official_id="CUC-KC-001", full_name="Phạm Quang Huy", role=Role.CUC,
          organisation="Cục Đổi mới sáng tạo, Chuyển đổi xanh và Khuyến công", province=None),
    Actor(official_id="BCT-BT-001", full_name="Bộ trưởng Bộ Công Thương", role=Role.BO_TRUONG,
          organisation="Văn phòng Bộ Công Thương", province=None),
]  # fmt: skip
"""The officials of the demo (the README's walkthrough and docs/ke-hoach.md act as them):
the dev stack puts them in the officials register, so the admin tool works at once."""


async def seed_demo_officials(pool: Any) -> None:
    """Put :data:`DEMO_OFFICIALS` in the officials register (one already there is kept)."""
    from khuyencong.admin import sql

    async with pool.acquire() as conn, conn.transaction():
        for o in DEMO_OFFICIALS:
            await conn.execute(
                sql.SEED_OFFICIAL, o.official_id, o.full_name, o.organisation, o.role.value,
                o.province,
            )  # fmt: skip


def demo_entries() -> list[RegistrationEntry]:
    """Bắc Giang's 2019 plan (25 đề án), shipped with the package."""
    text = (resources.files("khuyencong") / "demo" / "bac_giang_2019.json").read_text("utf-8")
    return parse_json(text)


# --- starting ----------------------------------------------------------------------------


def static_summary(dossier: DeAnDossier) -> str:
    """One line for the UI: ``BG-2019-DP-01 · <tên đề án> · hỗ trợ 150.000.000 đ``."""
    head = f"{dossier.code} · "
    tail = f" · đề nghị hỗ trợ {format_dong(dossier.requested_support)}"
    title = dossier.title
    budget = SUMMARY_MAX_BYTES - len((head + tail).encode("utf-8"))
    if len(title.encode("utf-8")) > budget:
        while len((title + "…").encode("utf-8")) > budget:
            title = title[:-1]
        title = title.rstrip() + "…"
    return head + title + tail


def mask_tax_code(tax_code: str) -> str:
    """``024072001583`` → ``••••••••1583``: a household business's tax code is a personal ID
    number; the UI shows its last four digits only (the full code is in the encrypted input)."""
    return "•" * (len(tax_code) - 4) + tax_code[-4:]


def static_details(entry: RegistrationEntry) -> str:
    """Markdown shown in the UI's User Metadata tab."""
    d = entry.dossier
    place = ", ".join(p for p in (d.commune, d.district, d.province) if p)
    return "\n".join(
        [
            f"**{d.code}** — {d.title}",
            "",
            f"- Cấp: {d.level.label}",
            f"- Nội dung: {d.content_area.value}. {d.content_area.label}",
            f"- Hạng mục hỗ trợ: `{d.support_item}`",
            f"- Đơn vị thụ hưởng: {d.beneficiary.name} ({d.beneficiary.type.label}, "
            f"MST {mask_tax_code(d.beneficiary.tax_code)})",
            f"- Địa điểm: {place}",
            f"- Đơn vị thực hiện: {d.implementing_unit}",
            f"- Năm kế hoạch: {d.plan_year}; tiến độ {d.schedule.start:%d/%m/%Y} – "
            f"{d.schedule.end:%d/%m/%Y}",
            f"- Tổng kinh phí: {format_dong(d.total_cost)}; đề nghị hỗ trợ "
            f"{format_dong(d.requested_support)}; vốn đối ứng {format_dong(d.counterpart_funds)}",
            f"- Đăng ký bởi: {entry.registered_by.describe()}",
        ]
    )


async def register_all(
    client: Client,
    task_queue: str,
    entries: Sequence[RegistrationEntry],
    *,
    concurrency: int = 8,
    hash_key: bytes | None = None,
) -> RegisterReport:
    """Start one ``DeAnWorkflow`` per entry; an ID that exists (running or closed) is
    counted as existing and left alone. Other failures are reported per đề án.

    Each start is signed for its entry's ``registered_by`` (:func:`vouching`) when ``client``
    has a signing key (:func:`khuyencong.client.connect` with
    ``KHUYENCONG_IDENTITY_SIGNING_KEY``): the caller of this function stands for the file's
    registrars (an operator holding the signing key, the worker relaying a plan's import, the
    dev stack's demo). The worker still refuses a registrar its register does not hold as an
    active Trung tâm of the dossier's province (``verify_registration``); a start without a
    statement fails its workflow as ``IdentityNotProven``. A refused code stays closed here
    (``REJECT_DUPLICATE``: a closed đề án is never started again by a bulk import); the admin
    tool's ``register`` starts it anew.

    Each starts with its search attributes (:mod:`khuyencong.search_attributes`), which must
    be registered on the namespace (``khuyencong search-attributes register``)."""
    semaphore = asyncio.Semaphore(concurrency)
    if hash_key is None:  # KcTaxCodeHash only with a key (KHUYENCONG_TAX_CODE_HASH_KEY)
        hash_key = tax_code_hash_key()

    async def start(entry: RegistrationEntry) -> tuple[str, str | None]:
        async with semaphore:
            try:
                with vouching(entry.registered_by.official_id):
                    await client.start_workflow(
                        DE_AN_WORKFLOW,
                        entry.to_input(),
                        id=entry.workflow_id,
                        task_queue=task_queue,
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                        static_summary=static_summary(entry.dossier),
                        static_details=static_details(entry),
                        search_attributes=start_attributes(entry.dossier, hash_key=hash_key),
                    )
            except WorkflowAlreadyStartedError:
                return "existing", None
            except Exception as exc:  # report, and let the other starts go on
                return "failed", f"{type(exc).__name__}: {exc}"
            return "started", None

    outcomes = await asyncio.gather(*(start(e) for e in entries))
    report = RegisterReport()
    for entry, (outcome, problem) in zip(entries, outcomes, strict=True):
        if outcome == "started":
            report.started.append(entry.workflow_id)
        elif outcome == "existing":
            report.existing.append(entry.workflow_id)
        else:
            report.failed.append((entry.workflow_id, problem or ""))
    return report


async def register_file(path: Path, settings: Settings) -> RegisterReport:
    """Validate ``path`` (every row, before connecting), then connect and start."""
    entries = load_file(path, settings)
    client = await connect(settings)
    return await register_all(client, settings.task_queue, entries)


def load_file(path: Path, settings: Settings) -> list[RegistrationEntry]:
    """:func:`load_entries` with the rule packs ``settings`` name (support items checked)."""
    return load_entries(path, rule_packs=load_packs(settings.rule_pack_dirs))


async def start_entries(entries: Sequence[RegistrationEntry], settings: Settings) -> RegisterReport:
    """Connect as ``settings`` say and :func:`register_all`."""
    try:
        client = await connect(settings)
        return await register_all(client, settings.task_queue, entries)
    finally:
        await asyncio.sleep(0.5)  # sdk-python #300: let the core shut down before exit


def print_report(report: RegisterReport, out: Any = None) -> None:
    out = out or sys.stdout
    for workflow_id in report.started:
        print(f"  started   {workflow_id}", file=out)
    for workflow_id in report.existing:
        print(f"  existing  {workflow_id}", file=out)
    for workflow_id, problem in report.failed:
        print(f"  FAILED    {workflow_id}: {problem}", file=out)
    print(report.describe(), file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """``python starter.py FILE``: 0 all started or existing, 1 some failed, 2 nothing
    started (bad file, bad settings, Temporal unreachable)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python starter.py FILE.json|FILE.csv", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        entries = load_file(Path(args[0]), settings)
        report = asyncio.run(start_entries(entries, settings))
    except StartupError as exc:
        print(exc, file=sys.stderr)
        return 2
    print_report(report)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
