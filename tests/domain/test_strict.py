"""Typed files refuse unknown fields at every depth, naming them; Temporal-carried models
ignore them (a field added by a newer worker must not break an older one)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from domain.strict import UNKNOWN_FIELD, validate_typed
from khuyencong.admin.errors import BadInput
from khuyencong.admin.inputs import validate_model
from workflows.de_an_contract import DeAnInput, DeAnSettle, DeAnState
from workflows.plan_contract import PlanDecision

TODAY = date(2019, 6, 3)
SO = {"official_id": "so-1", "full_name": "Trần Thị Bình", "role": "so_cong_thuong",
      "organisation": "Sở Công Thương tỉnh Bắc Giang", "province": "Bắc Giang"}  # fmt: skip
SETTLE: dict[str, Any] = {"actor": SO, "settlement_number": "QT-01", "settled_on": TODAY}


def test_a_command_carried_by_temporal_ignores_a_field_a_newer_worker_added() -> None:
    carried = DeAnSettle.model_validate(SETTLE | {"added_by_a_newer_worker": True})
    assert carried == DeAnSettle.model_validate(SETTLE)


def test_an_actor_nested_in_a_command_ignores_a_field_a_newer_worker_added() -> None:
    carried = DeAnSettle.model_validate(SETTLE | {"actor": SO | {"badge": "A-1"}})
    assert carried.actor.official_id == "so-1"


def test_a_typed_command_refuses_a_misspelt_nested_field_naming_its_path() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_typed(DeAnSettle, SETTLE | {"actor": SO | {"ful_name": "x"}})
    [error] = refused.value.errors()
    assert error["type"] == UNKNOWN_FIELD
    assert error["loc"] == ("actor", "ful_name")
    assert error["msg"] == (
        "trường «ful_name» không có trong mẫu, kiểm tra lại tên trường (unknown field)"
    )


def test_other_errors_keep_their_type_and_message_beside_an_unknown_field() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_typed(DeAnSettle, {"actor": SO, "settlement_numbr": "QT-01", "settled_on": TODAY})
    kinds = {e["loc"]: e["type"] for e in refused.value.errors()}
    assert kinds == {("settlement_number",): "missing", ("settlement_numbr",): UNKNOWN_FIELD}


def test_a_typed_file_without_unknown_fields_reads_as_the_model_would() -> None:
    assert validate_typed(DeAnSettle, SETTLE) == DeAnSettle.model_validate(SETTLE)


def test_an_action_file_with_a_misspelt_field_is_refused_in_vietnamese_naming_it() -> None:
    with pytest.raises(BadInput) as raised:
        validate_model(
            DeAnSettle, SETTLE | {"disalowed_cost": 5}, what="dữ liệu thao tác", today=TODAY
        )
    assert dict(raised.value.problems) == {
        "disalowed_cost": "trường «disalowed_cost» không có trong mẫu, kiểm tra lại tên trường "
        "(unknown field)"
    }
    assert str(raised.value).startswith("dữ liệu thao tác không hợp lệ")


@pytest.mark.parametrize("model", [DeAnInput, DeAnState, PlanDecision])
def test_models_carried_by_temporal_ignore_unknown_fields(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra") == "ignore"
