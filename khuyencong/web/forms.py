"""One form per official action, generated from its command model in the catalogue
(:data:`workflows.de_an_actions.CATALOGUE`): each field of the model (the acting official
aside, who is the logged-in one) becomes a form field with its Vietnamese label
(:data:`khuyencong.admin.inputs.FIELD_HELP`, as the CLI's options) and help.

The submitted form is turned back into the model's data (dates ``dd/mm/yyyy``, amounts
``150.000.000``) and validated with the same contract model the workflow decodes
(:func:`khuyencong.admin.inputs.validate_model`); nothing here judges the action.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum
from typing import Any

import yaml
from pydantic import BaseModel

from khuyencong.admin.inputs import FIELD_HELP, _plain
from khuyencong.web.fmt import parse_money
from workflows.de_an_actions import ActionDefinition

EXTRA_LABELS: dict[str, str] = {
    "plan_id": "Kế hoạch (mã kế hoạch khuyến công), nếu quyết định thuộc một kế hoạch",
    "new_address": "Địa chỉ mới (thay đổi địa điểm)",
    "new_commune": "Xã, phường mới",
    "new_district": "Huyện mới",
    "new_start": "Ngày bắt đầu mới (thay đổi thời gian)",
    "new_end": "Ngày kết thúc mới (thay đổi thời gian)",
}


@dataclass(frozen=True)
class FormField:
    """One field of an action's form."""

    name: str
    label: str
    kind: str  # text | textarea | date | money | number | checkbox | select | lines | data
    required: bool
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    value: str = ""
    errors: tuple[str, ...] = ()

    @property
    def input_id(self) -> str:
        return f"f-{self.name}"


@dataclass
class ActionForm:
    definition: ActionDefinition[Any]
    fields: list[FormField]
    errors: list[str] = field(default_factory=list)
    """Messages that name no field of the form."""

    def field(self, name: str) -> FormField:
        return next(f for f in self.fields if f.name == name)


def _label(plain: Any) -> str | None:
    return getattr(plain, "label", None)


def _is_money(name: str) -> bool:
    return "(đồng)" in FIELD_HELP.get(name, "")


def form_fields(definition: ActionDefinition[Any]) -> list[FormField]:
    """The empty form of ``definition``: the model's own fields first, the note last."""
    model: type[BaseModel] = definition.command
    names = sorted((n for n in model.model_fields if n != "actor"), key=lambda n: n == "note")
    found: list[FormField] = []
    for name in names:
        info = model.model_fields[name]
        plain = _plain(info.annotation)
        label = FIELD_HELP.get(name) or EXTRA_LABELS.get(name) or name
        required = info.is_required()
        if isinstance(plain, type) and issubclass(plain, Enum):
            choices = tuple((str(m.value), _label(m) or str(m.value)) for m in plain)
            found.append(FormField(name, label, "select", required, choices=choices))
        elif plain is bool:
            found.append(FormField(name, label, "checkbox", False))
        elif plain is date:
            found.append(FormField(name, label, "date", required, help="dd/mm/yyyy"))
        elif typing.get_origin(plain) is list:
            found.append(FormField(name, label, "lines", required, help="Mỗi dòng một mục"))
        elif isinstance(plain, type) and issubclass(plain, BaseModel):
            found.append(FormField(name, label, "data", required, help="JSON hoặc YAML"))
        elif _is_money(name):
            label = label.replace(" (đồng)", "")
            found.append(FormField(name, label, "money", required, help="Đồng, ví dụ 150.000.000"))
        elif plain is int:
            found.append(FormField(name, label, "number", required))
        elif name in {"note", "reason", "description"}:
            found.append(FormField(name, label, "textarea", required))
        else:
            found.append(FormField(name, label, "text", required))
    return found


def build_form(
    definition: ActionDefinition[Any],
    values: Mapping[str, str] | None = None,
    problems: Sequence[tuple[str, str]] = (),
) -> ActionForm:
    """The form with what was typed and the problems: each on the field it names (``field``
    or ``field.sub``), the others above the form."""
    values = values or {}
    fields = form_fields(definition)
    names = {f.name for f in fields}
    by_field: dict[str, list[str]] = {}
    loose: list[str] = []
    for where, message in problems:
        head = (where or "").split(".", 1)[0]
        if head in names:
            by_field.setdefault(head, []).append(message)
        else:
            loose.append(message)
    filled = [
        replace(f, value=values.get(f.name, f.value), errors=tuple(by_field.get(f.name, ())))
        for f in fields
    ]
    return ActionForm(definition, filled, loose)


def form_data(definition: ActionDefinition[Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted form as the command model's data (empty optional fields left out)."""
    data: dict[str, Any] = {}
    for f in form_fields(definition):
        raw = form.get(f.name)
        text = "" if raw is None else str(raw)
        if f.kind == "checkbox":
            data[f.name] = text in {"on", "true", "1", "yes"}
            continue
        if not text.strip():
            continue
        if f.kind == "money":
            data[f.name] = parse_money(text)
        elif f.kind == "number":
            stripped = text.strip()
            data[f.name] = int(stripped) if stripped.lstrip("-").isdigit() else stripped
        elif f.kind == "lines":
            data[f.name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif f.kind == "data":
            try:
                data[f.name] = yaml.safe_load(text)
            except yaml.YAMLError:
                data[f.name] = text
        else:
            data[f.name] = text.strip()
    return data


def money_digits(value: Any) -> Any:
    """``"150000000"`` → ``150000000`` (the contract models take whole đồng as int)."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def typed_data(definition: ActionDefinition[Any], form: Mapping[str, Any]) -> dict[str, Any]:
    data = form_data(definition, form)
    for f in form_fields(definition):
        if f.kind == "money" and f.name in data:
            data[f.name] = money_digits(data[f.name])
    return data
