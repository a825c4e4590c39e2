"""Where numbers and text enter: ceilings with a Vietnamese refusal naming the field, and
Vietnamese text stored in NFC whichever way it was typed."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from domain.limits import MAX_ADVANCE_REQUESTS, MAX_COST_LINES
from domain.model import Actor, DeAnDossier, Level, Role
from domain.money import MAX_DONG
from khuyencong.admin.errors import BadInput
from khuyencong.admin.inputs import validate_model
from khuyencong.admin.models import DeAnFilter, OfficialIn
from khuyencong.plans.importer import (
    TEMPLATE_HEADER,
    PlanImportInvalid,
    entries_to_rows,
    read_csv_text,
    validate_sheet,
)
from tests.support.builders import make_actor, make_dossier, make_dossier_data, unique_code
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnPayAdvance,
    DeAnRecordVisit,
    DeAnReportProgress,
    DeAnSettle,
)
from workflows.plan_contract import PlanConfig, PlanRegistration

TOO_BIG = [10**30, 2**63 - 1, MAX_DONG + 1]
TODAY = date(2019, 6, 3)
SO = {"official_id": "so-1", "full_name": "Trần Thị Bình", "role": "so_cong_thuong",
      "organisation": "Sở Công Thương tỉnh Bắc Giang", "province": "Bắc Giang"}  # fmt: skip

COMMANDS: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "accepted_cost": (DeAnAccept, {"actor": SO, "minutes_number": "NT-01",
                                   "accepted_on": TODAY, "accepted_volume_bp": 10_000}),
    "spent_cost": (DeAnReportProgress, {"actor": SO, "month": "2019-05",
                                        "investment_done_bp": 5_000, "reported_on": TODAY}),
    "disallowed_cost": (DeAnSettle, {"actor": SO, "settlement_number": "QT-01",
                                     "settled_on": TODAY}),
}  # fmt: skip


class Registration(BaseModel):
    dossier: DeAnDossier


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def problems(error: BadInput) -> dict[str, str]:
    return dict(error.problems)


# --- money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", TOO_BIG, ids=["10^30", "2^63-1", "ceiling+1"])
def test_a_requested_support_above_the_ceiling_is_refused_naming_the_field(value: int) -> None:
    data = make_dossier_data(
        cost_lines=[{"description": "Máy", "amount": MAX_DONG}],
        requested_support=value,
        counterpart_funds=0,
    )
    with pytest.raises(BadInput) as raised:
        validate_model(Registration, {"dossier": data}, what="hồ sơ đề án", today=TODAY)
    message = problems(raised.value)["dossier.requested_support"]
    assert message.startswith("số tiền ")
    assert "vượt mức trần 1.000.000.000.000 đ (1.000 tỷ đồng)" in message


def test_a_requested_support_at_the_ceiling_is_accepted() -> None:
    d = make_dossier(
        cost_lines=[{"description": "Hạ tầng cụm công nghiệp", "amount": MAX_DONG}],
        requested_support=MAX_DONG,
        counterpart_funds=0,
    )
    assert d.requested_support == MAX_DONG == 1_000_000_000_000


@pytest.mark.parametrize("value", TOO_BIG, ids=["10^30", "2^63-1", "ceiling+1"])
@pytest.mark.parametrize("field", sorted(COMMANDS))
def test_an_amount_of_an_action_above_the_ceiling_is_refused_naming_the_field(
    field: str, value: int
) -> None:
    model, data = COMMANDS[field]
    with pytest.raises(BadInput) as raised:
        validate_model(model, {**data, field: value}, what="dữ liệu thao tác", today=TODAY)
    assert "vượt mức trần" in problems(raised.value)[field]


@pytest.mark.parametrize("field", sorted(COMMANDS))
def test_an_amount_of_an_action_at_the_ceiling_is_accepted(field: str) -> None:
    model, data = COMMANDS[field]
    assert getattr(model.model_validate({**data, field: MAX_DONG}), field) == MAX_DONG


@pytest.mark.parametrize("value", [10**30, 2**63 - 1, MAX_ADVANCE_REQUESTS + 1])
def test_an_advance_request_number_above_its_ceiling_is_refused_naming_the_rule(
    value: int,
) -> None:
    data = {"actor": {**SO, "role": "tai_chinh"}, "paid_on": TODAY, "voucher_number": "A1"}
    with pytest.raises(BadInput) as raised:
        validate_model(DeAnPayAdvance, {**data, "request_no": value}, what="x", today=TODAY)
    message = problems(raised.value)["request_no"]
    assert f"vượt mức trần {MAX_ADVANCE_REQUESTS}" in message
    assert "lần đề nghị tạm ứng" in message
    ok = DeAnPayAdvance.model_validate({**data, "request_no": MAX_ADVANCE_REQUESTS})
    assert ok.request_no == MAX_ADVANCE_REQUESTS


def test_a_cost_estimate_of_too_many_lines_is_refused() -> None:
    lines = [{"description": f"Dòng {i}", "amount": 1} for i in range(MAX_COST_LINES + 1)]
    with pytest.raises(ValidationError, match="dòng dự toán vượt mức trần"):
        make_dossier(cost_lines=lines, requested_support=0, counterpart_funds=MAX_COST_LINES + 1)


def test_a_plan_envelope_above_the_ceiling_is_refused() -> None:
    with pytest.raises(ValidationError, match="vượt mức trần") as raised:
        PlanConfig.with_defaults("Bắc Giang", Level.DIA_PHUONG, 2019, 10**30)
    assert raised.value.errors()[0]["loc"] == ("envelope",)


def test_a_spreadsheet_amount_of_10_to_the_30_is_reported_with_its_row_and_column() -> None:
    (row,) = entries_to_rows(
        [
            PlanRegistration(
                dossier=make_dossier(code=unique_code()),
                registered_by=make_actor(Role.TRUNG_TAM),
                registered_on=date(2018, 12, 10),
            )
        ]
    )
    row[TEMPLATE_HEADER.index("Kinh phí đề nghị hỗ trợ")] = str(10**30)
    text = ",".join(TEMPLATE_HEADER) + "\n" + ",".join(f'"{c}"' for c in row) + "\n"
    with pytest.raises(PlanImportInvalid) as invalid:
        validate_sheet(read_csv_text(text))
    (error,) = [e for e in invalid.value.errors if e.column == "Kinh phí đề nghị hỗ trợ"]
    assert error.row == 2 and "vượt mức trần" in error.message


# --- text ----------------------------------------------------------------------------------------


def test_a_dossier_typed_in_nfd_is_kept_in_nfc() -> None:
    d = make_dossier(
        title=nfd("Hỗ trợ máy ép gạch"),
        district=nfd("Yên Dũng"),
        commune=nfd("Xã Tư Mại"),
        beneficiary={"name": nfd("HTX Tiến Phong"), "type": "hop_tac_xa", "tax_code": "2400123456"},
    )
    assert d.district == "Yên Dũng" and d.district != nfd("Yên Dũng")
    assert d.title == "Hỗ trợ máy ép gạch"
    assert d.commune == "Xã Tư Mại"
    assert d.beneficiary.name == "HTX Tiến Phong"


def test_an_official_and_an_action_typed_in_nfd_are_kept_in_nfc() -> None:
    a = Actor.model_validate(
        {**SO, "full_name": nfd("Trần Thị Bình"), "province": nfd("Bắc Giang")}
    )
    assert (a.full_name, a.province) == ("Trần Thị Bình", "Bắc Giang")
    visit = DeAnRecordVisit.model_validate(
        {"actor": SO, "visited_on": TODAY, "minutes_number": nfd("BB-Đội 1"),
         "findings": [nfd("Thiếu sổ sách kế toán")], "note": nfd("Đã nhắc")}
    )  # fmt: skip
    assert visit.findings == ["Thiếu sổ sách kế toán"] and visit.note == "Đã nhắc"
    official = OfficialIn(
        id="so-2", full_name=nfd("Đỗ Văn Giang"), role=Role.SO_CONG_THUONG,
        organisation=nfd("Sở Công Thương"), province=nfd("Bắc Giang"),
    )  # fmt: skip
    assert official.full_name == "Đỗ Văn Giang" and official.province == "Bắc Giang"


def test_search_filters_are_normalised_to_nfc() -> None:
    f = DeAnFilter(district=nfd("Yên Dũng"), province=nfd("Bắc Giang"), text=nfd("gạch"))
    assert (f.district, f.province, f.text) == ("Yên Dũng", "Bắc Giang", "gạch")


def test_lengths_count_nfc_characters() -> None:
    title = nfd("ệ" * 500)  # 1 000 code points in NFD, 500 characters
    assert make_dossier(title=title).title == "ệ" * 500


def test_a_nul_character_is_refused_naming_the_field() -> None:
    with pytest.raises(BadInput) as raised:
        validate_model(
            Registration, {"dossier": make_dossier_data(title="Máy\x00ép")}, what="x", today=TODAY
        )
    assert "NUL" in problems(raised.value)["dossier.title"]


@pytest.mark.parametrize(("field", "value"), [("year", 10**30), ("page", 2**63 - 1)])
def test_a_search_with_an_out_of_range_number_is_refused_before_the_query(
    field: str, value: int
) -> None:
    with pytest.raises(BadInput) as raised:
        validate_model(DeAnFilter, {field: value}, what="điều kiện tìm", today=TODAY)
    assert field in problems(raised.value)
