"""Inputs of the admin commands: JSON/YAML files, option values, client-side validation.

Every action's payload is validated with the same pydantic contract model the workflow
decodes (:mod:`workflows.de_an_contract`) before anything is sent: decision numbers, dates,
amounts (whole đồng; ``150.000.000`` reads as 150000000), months and enums. Dates may be
written ``YYYY-MM-DD`` or ``DD/MM/YYYY``; a date in the future is refused here already.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from domain.deadlines import vn_date
from domain.strict import validate_typed
from khuyencong.admin.errors import BadInput

M = TypeVar("M", bound=BaseModel)

_VN_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")

FIELD_HELP: dict[str, str] = {
    "note": "Ghi chú (note)",
    "verdict": "Kết luận thẩm định",
    "appraised_on": "Ngày thẩm định",
    "minutes_number": "Số biên bản",
    "by_council": "Qua hội đồng thẩm định",
    "council": "Thành viên hội đồng thẩm định và bản kê khai lợi ích (full_name, organisation, "
    "position, tax_code, interest_declared, tied_to_beneficiary)",
    "reason": "Lý do",
    "decision_number": "Số quyết định, ví dụ 427/QĐ-UBND",
    "decision_date": "Ngày quyết định",
    "signer": "Người ký quyết định",
    "approved_support": "Kinh phí hỗ trợ phê duyệt (đồng)",
    "contract_number": "Số hợp đồng, ví dụ 15/2019/HĐ-KC",
    "signed_on": "Ngày ký hợp đồng",
    "contracted_support": "Kinh phí hỗ trợ theo hợp đồng (đồng)",
    "via_bidding": "Qua đấu thầu",
    "month": "Tháng báo cáo (YYYY-MM)",
    "investment_done_bp": "Khối lượng đầu tư đã thực hiện, phần vạn (7500 = 75 %)",
    "spent_cost": "Chi phí đã chi (đồng)",
    "reported_on": "Ngày báo cáo",
    "confirmed_on": "Ngày xác nhận",
    "visited_on": "Ngày kiểm tra",
    "findings": "Kiến nghị, tồn tại (lặp lại cho nhiều kiến nghị)",
    "hold_payments": "Tạm dừng chi trả đến khi khắc phục",
    "resolved_on": "Ngày khắc phục xong",
    "amount": "Số tiền (đồng)",
    "requested_on": "Ngày đề nghị",
    "request_no": "Lần đề nghị tạm ứng (1, 2, ...)",
    "paid_on": "Ngày chi",
    "voucher_number": "Số chứng từ",
    "kind": "Loại điều chỉnh",
    "description": "Nội dung điều chỉnh",
    "new_support": "Mức hỗ trợ mới (đồng), khi tăng hoặc giảm kinh phí",
    "force_majeure": "Bất khả kháng",
    "accepted_on": "Ngày nghiệm thu",
    "accepted_cost": "Chi phí hợp lệ được nghiệm thu (đồng)",
    "accepted_volume_bp": "Khối lượng hoàn thành, phần vạn (10000 = 100 %)",
    "submitted_on": "Ngày nộp hồ sơ quyết toán",
    "settlement_number": "Số biên bản quyết toán",
    "settled_on": "Ngày quyết toán",
    "disallowed_cost": "Chi phí không được quyết toán (đồng)",
    "refunded_on": "Ngày nộp trả",
    "dossier": "Tệp hồ sơ đề án (JSON hoặc YAML)",
}


PLANNED_DATES = frozenset({"new_start", "new_end"})
"""Dates of a schedule (change_timing), which may lie ahead; every other date is a paper's."""


def read_data_file(path: Path) -> Any:
    """A JSON or YAML file (by suffix; otherwise JSON, then YAML)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"không đọc được tệp {path}: {exc}") from None
    import yaml  # only for a file of inputs: not every command needs the parser

    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix in {".yaml", ".yml"}:
            return yaml.safe_load(text)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise BadInput(f"tệp {path} không phải JSON/YAML hợp lệ: {exc}") from None


def read_mapping(path: Path) -> dict[str, Any]:
    data = read_data_file(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInput(f"tệp {path} phải là một đối tượng (các trường: giá trị)")
    return data


def read_list(path: Path) -> list[Any]:
    data = read_data_file(path)
    if not isinstance(data, list):
        raise BadInput(f"tệp {path} phải là một danh sách")
    return data


def _of_models(annotation: Any) -> bool:
    """A ``list[SomeModel]`` (given as a file), not a list of words."""
    args = typing.get_args(annotation)
    return bool(args) and isinstance(args[0], type) and issubclass(args[0], BaseModel)


def normalise_date(value: Any) -> Any:
    """``09/03/2021`` → ``2021-03-09``; anything else unchanged (pydantic judges it)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        match = _VN_DATE.match(value)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return f"{year:04d}-{month:02d}-{day:02d}"
    return value


def _plain(annotation: Any) -> Any:
    """``X | None`` → ``X``; ``Annotated[X, ...]`` → ``X``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _plain(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _plain(args[0])
    return annotation


def is_date_field(info: FieldInfo) -> bool:
    return _plain(info.annotation) is date


def validate_model(
    model: type[M], data: Mapping[str, Any], *, what: str, today: date | None = None
) -> M:
    """``model`` from ``data`` (dates in either form), refusing unknown fields at every depth
    and future dates. Raises :class:`BadInput` naming every field at fault."""
    prepared = dict(data)
    for name, info in model.model_fields.items():
        if name in prepared and is_date_field(info):
            prepared[name] = normalise_date(prepared[name])
    try:
        value = validate_typed(model, prepared)
    except ValidationError as exc:
        raise BadInput.from_validation(exc, what) from None
    today = today or vn_date(datetime.now().astimezone())
    future = [
        (name, f"ngày {getattr(value, name):%d/%m/%Y} ở tương lai")
        for name, info in model.model_fields.items()
        if is_date_field(info)
        and name not in PLANNED_DATES
        and isinstance(getattr(value, name), date)
        and getattr(value, name) > today
    ]
    if future:
        raise BadInput(f"{what} không hợp lệ", future)
    return value


# --- options generated from a contract model --------------------------------------------------


@dataclass(frozen=True)
class FieldOption:
    """One CLI option standing for one field of a payload model."""

    field: str
    param: str
    kind: str  # text | flag | many | file | list-file
    decls: tuple[str, ...]
    help: str

    @property
    def annotation(self) -> Any:
        return {
            "text": str | None,
            "flag": bool | None,
            "many": list[str] | None,
            "file": Path | None,
            "list-file": Path | None,
        }[self.kind]

    def value(self, raw: Any) -> Any:
        """The option's value as the payload field (None: not given)."""
        if raw is None:
            return None
        if self.kind == "many":
            return list(raw) if raw else None
        if self.kind == "file":
            return read_mapping(Path(raw))
        if self.kind == "list-file":
            return read_list(Path(raw))
        return raw


def field_options(model: type[BaseModel], *, skip: frozenset[str]) -> list[FieldOption]:
    options: list[FieldOption] = []
    # The payload's own fields first, the note shared by every action last.
    names = sorted(model.model_fields, key=lambda n: n == "note")
    for name in names:
        info = model.model_fields[name]
        if name in skip:
            continue
        plain = _plain(info.annotation)
        dashed = name.replace("_", "-")
        help_text = FIELD_HELP.get(name) or (info.description or name)
        if isinstance(plain, type) and issubclass(plain, Enum):
            help_text += ": " + " | ".join(str(m.value) for m in plain)
        if plain is date:
            help_text += " (YYYY-MM-DD hoặc DD/MM/YYYY)"
        if plain is bool:
            options.append(
                FieldOption(name, name, "flag", (f"--{dashed}/--no-{dashed}",), help_text)
            )
        elif typing.get_origin(plain) is list and _of_models(plain):
            help_text += " (tệp JSON/YAML: danh sách)"
            options.append(FieldOption(name, name, "list-file", (f"--{dashed}",), help_text))
        elif typing.get_origin(plain) is list:
            singular = dashed[:-1] if dashed.endswith("s") else dashed
            options.append(FieldOption(name, name, "many", (f"--{singular}",), help_text))
        elif isinstance(plain, type) and issubclass(plain, BaseModel):
            options.append(FieldOption(name, name, "file", (f"--{dashed}",), help_text))
        else:
            options.append(FieldOption(name, name, "text", (f"--{dashed}",), help_text))
    return options
