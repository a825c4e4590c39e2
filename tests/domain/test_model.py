"""The đề án as data: dossier validation, officials, labels and workflow IDs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.model import (
    CENTRAL_ROLES,
    Actor,
    Beneficiary,
    BeneficiaryType,
    ContentArea,
    CostLine,
    DeAnDossier,
    Level,
    Role,
    Schedule,
    workflow_id_for,
)
from domain.money import MAX_DONG
from domain.strict import UNKNOWN_FIELD, validate_typed
from tests.support.builders import make_actor, make_dossier, make_dossier_data


def _beneficiary(tax_code: str) -> Beneficiary:
    return Beneficiary(name="HTX Gạch Hiệp Hòa", type=BeneficiaryType.HOP_TAC_XA, tax_code=tax_code)


# --- the valid baseline -------------------------------------------------------------------


def test_a_complete_dossier_is_accepted_and_adds_up_its_costs() -> None:
    d = make_dossier()
    assert d.total_cost == 800_000_000
    assert d.eligible_cost == 600_000_000
    assert d.level is Level.DIA_PHUONG
    assert d.content_area is ContentArea.MO_HINH_MAY_MOC


def test_ineligible_cost_lines_count_in_the_total_but_not_in_the_eligible_cost() -> None:
    d = make_dossier(
        cost_lines=[
            {"description": "Máy", "amount": 100},
            {"description": "Đất", "amount": 40, "eligible": False},
            {"description": "Lắp đặt", "amount": 60},
        ],
        requested_support=50,
        counterpart_funds=150,
    )
    assert d.total_cost == 200
    assert d.eligible_cost == 160


def test_the_workflow_id_is_the_business_id_of_the_de_an() -> None:
    assert workflow_id_for("BG-2019-DP-01") == "de-an/BG-2019-DP-01"
    assert make_dossier(code="QG-2018-07").workflow_id == "de-an/QG-2018-07"


def test_a_dossier_is_immutable() -> None:
    d = make_dossier()
    with pytest.raises(ValidationError):
        d.requested_support = 1  # type: ignore[misc]


def test_a_dossier_carried_by_temporal_ignores_a_field_it_does_not_know() -> None:
    carried = DeAnDossier.model_validate(make_dossier_data() | {"added_by_a_newer_worker": 1})
    assert carried == make_dossier()


def test_a_typed_dossier_refuses_a_misspelt_field_naming_it_in_vietnamese() -> None:
    data = make_dossier_data()
    data["cost_lines"][0]["amout"] = data["cost_lines"][0].pop("amount")
    with pytest.raises(ValidationError) as refused:
        validate_typed(DeAnDossier, data)
    unknown = [e for e in refused.value.errors() if e["type"] == UNKNOWN_FIELD]
    assert [e["loc"] for e in unknown] == [("cost_lines", 0, "amout")]
    assert unknown[0]["msg"].startswith("trường «amout» không có trong mẫu")


def test_a_dossier_needs_at_least_one_cost_line() -> None:
    with pytest.raises(ValidationError, match="cost_lines"):
        make_dossier(cost_lines=[], requested_support=0, counterpart_funds=0)


def test_a_cost_line_refuses_a_float_amount() -> None:
    with pytest.raises(ValidationError, match="số thực"):
        CostLine(description="Máy", amount=1_000_000.0)


def test_a_cost_line_accepts_a_vietnamese_formatted_amount() -> None:
    assert CostLine(description="Máy", amount="1.500.000").amount == 1_500_000


def test_a_dossier_refuses_a_float_requested_support() -> None:
    with pytest.raises(ValidationError, match="số thực"):
        make_dossier(requested_support=200_000_000.0)


@pytest.mark.parametrize(("year", "ok"), [(2011, False), (2012, True), (2100, True), (2101, False)])
def test_the_plan_year_is_between_2012_and_2100(year: int, ok: bool) -> None:
    schedule = {"start": date(year, 3, 1), "end": date(year, 11, 30)}
    if ok:
        assert make_dossier(plan_year=year, schedule=schedule).plan_year == year
    else:
        with pytest.raises(ValidationError, match="plan_year"):
            make_dossier(plan_year=year, schedule=schedule)


# --- code shape ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["BG-2019-DP-01", "QG-2018-07", "ABC", "A" * 41, "2019-01"])
def test_a_code_of_upper_case_letters_digits_and_dashes_is_accepted(code: str) -> None:
    assert make_dossier(code=code).code == code


@pytest.mark.parametrize(
    "code",
    ["", "AB", "A" * 42, "bg-2019-dp-01", "-BG-2019", "BG 2019", "BG_2019", "BG/2019", "BẮC-2019"],
)
def test_a_code_of_another_shape_is_refused(code: str) -> None:
    with pytest.raises(ValidationError, match="mã đề án"):
        make_dossier(code=code)


def test_a_code_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ValidationError):
        make_dossier(code="BG-2019-DP-01\n")


# --- tax code -----------------------------------------------------------------------------


@pytest.mark.parametrize("tax_code", ["0101234567", "0101234567-001", "012345678901"])
def test_a_tax_code_of_10_or_10_3_or_12_digits_is_accepted(tax_code: str) -> None:
    assert _beneficiary(tax_code).tax_code == tax_code


@pytest.mark.parametrize(
    "tax_code",
    [
        "",
        "010123456",
        "01012345678",
        "0101234567001",
        "01012345678901",
        "0101234567-01",
        "0101234567-0001",
        "012345678901-001",
        "0101 234567",
        "abcdefghij",
        " 0101234567",
    ],
)
def test_a_tax_code_of_another_shape_is_refused(tax_code: str) -> None:
    with pytest.raises(ValidationError, match="mã số thuế"):
        _beneficiary(tax_code)


def test_a_tax_code_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ValidationError):
        _beneficiary("0101234567\n")


def test_a_tax_code_in_non_ascii_digits_is_refused() -> None:
    with pytest.raises(ValidationError):
        _beneficiary("０１０１２３４５６７")


def test_a_beneficiary_type_outside_the_list_is_refused() -> None:
    with pytest.raises(ValidationError):
        Beneficiary(name="Công ty", type="cong_ty_lon", tax_code="0101234567")


# --- money adds up ------------------------------------------------------------------------


def test_requested_support_equal_to_the_eligible_cost_is_accepted() -> None:
    d = make_dossier(requested_support=600_000_000, counterpart_funds=200_000_000)
    assert d.requested_support == d.eligible_cost


def test_requested_support_above_the_eligible_cost_is_refused() -> None:
    with pytest.raises(ValidationError, match="requested_support"):
        make_dossier(requested_support=600_000_001, counterpart_funds=600_000_000)


def test_ineligible_costs_cannot_be_claimed_as_support() -> None:
    # total 800 triệu covers the request, but only 600 triệu is eligible
    with pytest.raises(ValidationError, match="requested_support"):
        make_dossier(requested_support=700_000_000, counterpart_funds=100_000_000)


def test_counterpart_funds_exactly_covering_the_rest_are_accepted() -> None:
    d = make_dossier(requested_support=200_000_000, counterpart_funds=600_000_000)
    assert d.requested_support + d.counterpart_funds == d.total_cost


def test_counterpart_funds_one_dong_short_are_refused() -> None:
    with pytest.raises(ValidationError, match="counterpart_funds"):
        make_dossier(requested_support=200_000_000, counterpart_funds=599_999_999)


def test_counterpart_funds_above_the_rest_are_accepted() -> None:
    assert make_dossier(counterpart_funds=900_000_000).counterpart_funds == 900_000_000


@given(
    eligible=st.integers(min_value=0, max_value=MAX_DONG // 4),
    ineligible=st.integers(min_value=0, max_value=MAX_DONG // 4),
    support_share=st.integers(min_value=0, max_value=10_000),
    extra=st.integers(min_value=0, max_value=10**9),
)
def test_any_request_within_the_eligible_cost_with_enough_counterpart_is_accepted(
    eligible: int, ineligible: int, support_share: int, extra: int
) -> None:
    support = eligible * support_share // 10_000
    d = make_dossier(
        cost_lines=[
            {"description": "Được hỗ trợ", "amount": eligible},
            {"description": "Không hỗ trợ", "amount": ineligible, "eligible": False},
        ],
        requested_support=support,
        counterpart_funds=eligible + ineligible - support + extra,
    )
    assert d.total_cost == eligible + ineligible
    assert d.eligible_cost == eligible


@given(
    eligible=st.integers(min_value=0, max_value=10**12),
    over=st.integers(min_value=1, max_value=10**9),
)
def test_any_request_above_the_eligible_cost_is_refused(eligible: int, over: int) -> None:
    with pytest.raises(ValidationError, match="requested_support"):
        make_dossier(
            cost_lines=[{"description": "Máy", "amount": eligible}],
            requested_support=eligible + over,
            counterpart_funds=0,
        )


@given(
    support=st.integers(min_value=0, max_value=MAX_DONG // 2),
    rest=st.integers(min_value=1, max_value=MAX_DONG // 2),
    data=st.data(),
)
def test_any_counterpart_short_of_the_rest_is_refused(
    support: int, rest: int, data: st.DataObject
) -> None:
    short = data.draw(st.integers(min_value=1, max_value=rest), label="short")
    with pytest.raises(ValidationError, match="counterpart_funds"):
        make_dossier(
            cost_lines=[{"description": "Máy", "amount": support + rest}],
            requested_support=support,
            counterpart_funds=rest - short,
        )


# --- schedule -----------------------------------------------------------------------------


def test_a_schedule_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValidationError, match="end"):
        Schedule(start=date(2019, 6, 1), end=date(2019, 5, 31))


def test_a_one_day_schedule_is_accepted() -> None:
    assert Schedule(start=date(2019, 6, 1), end=date(2019, 6, 1)).end == date(2019, 6, 1)


def test_a_schedule_covering_the_whole_plan_year_is_accepted() -> None:
    d = make_dossier(schedule={"start": date(2019, 1, 1), "end": date(2019, 12, 31)})
    assert d.schedule.start.year == d.plan_year == d.schedule.end.year


def test_a_schedule_that_ends_before_the_plan_year_is_refused() -> None:
    with pytest.raises(ValidationError, match="schedule"):
        make_dossier(schedule={"start": date(2018, 3, 1), "end": date(2018, 12, 31)})


def test_a_schedule_that_starts_two_years_after_the_plan_year_is_refused() -> None:
    with pytest.raises(ValidationError, match="schedule"):
        make_dossier(schedule={"start": date(2021, 1, 1), "end": date(2021, 6, 30)})


def test_a_schedule_wholly_in_the_year_after_the_plan_year_is_refused() -> None:
    with pytest.raises(ValidationError, match="schedule"):
        make_dossier(schedule={"start": date(2020, 2, 1), "end": date(2020, 6, 30)})


# --- officials ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(CENTRAL_ROLES))
def test_a_ministry_role_with_a_province_is_refused(role: Role) -> None:
    with pytest.raises(ValidationError, match="không gắn với tỉnh"):
        make_actor(role, province="Bắc Giang")


@pytest.mark.parametrize("role", sorted(CENTRAL_ROLES))
def test_a_ministry_role_without_a_province_is_accepted(role: Role) -> None:
    assert make_actor(role, province=None).province is None


def test_the_central_roles_are_the_cuc_and_the_minister() -> None:
    assert frozenset({Role.CUC, Role.BO_TRUONG}) == CENTRAL_ROLES


@pytest.mark.parametrize("role", [Role.SO_CONG_THUONG, Role.UBND_TINH, Role.TRUNG_TAM])
@pytest.mark.parametrize("province", [None, ""])
def test_a_provincial_role_without_a_province_is_refused(role: Role, province: str | None) -> None:
    with pytest.raises(ValidationError, match="phải ghi tỉnh"):
        make_actor(role, province=province)


@pytest.mark.parametrize("role", [Role.SO_CONG_THUONG, Role.UBND_TINH, Role.TRUNG_TAM])
def test_a_provincial_role_with_a_province_is_accepted(role: Role) -> None:
    assert make_actor(role, province="Bắc Ninh").province == "Bắc Ninh"


@pytest.mark.parametrize("province", [None, "Bắc Giang"])
def test_finance_may_be_central_or_provincial(province: str | None) -> None:
    assert make_actor(Role.TAI_CHINH, province=province).province == province


@pytest.mark.parametrize(
    ("field", "value"), [("official_id", ""), ("full_name", ""), ("organisation", "")]
)
def test_an_actor_needs_an_id_a_name_and_an_organisation(field: str, value: str) -> None:
    data: dict[str, Any] = {
        "official_id": "so-01",
        "full_name": "Trần Thị B",
        "role": "so_cong_thuong",
        "organisation": "Sở Công Thương Bắc Giang",
        "province": "Bắc Giang",
        field: value,
    }
    with pytest.raises(ValidationError, match=field):
        Actor.model_validate(data)


def test_an_actor_describes_itself_by_name_and_organisation() -> None:
    a = Actor(
        official_id="so-01",
        full_name="Trần Thị B",
        role=Role.SO_CONG_THUONG,
        organisation="Sở Công Thương Bắc Giang",
        province="Bắc Giang",
    )
    assert a.describe() == "Trần Thị B (Sở Công Thương Bắc Giang)"


# --- labels -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "member",
    [*Level, *ContentArea, *BeneficiaryType, *Role],
    ids=lambda m: f"{type(m).__name__}.{m}",
)
def test_every_enumerated_value_has_a_vietnamese_label(member: Any) -> None:
    assert member.label.strip()
    assert any(ord(ch) > 127 for ch in member.label)


def test_there_are_nine_content_areas_plus_two_from_decree_235_of_2025() -> None:
    assert [a.value for a in ContentArea] == [str(n) for n in range(1, 12)]
    assert "235/2025" in ContentArea.CHUYEN_DOI_SO.label
    assert "235/2025" in ContentArea.SAN_XUAT_BEN_VUNG.label


def test_the_level_labels_name_national_and_local_funds() -> None:
    assert Level.QUOC_GIA.label == "Khuyến công quốc gia"
    assert Level.DIA_PHUONG.label == "Khuyến công địa phương"


def test_a_dossier_parses_from_json_with_enum_values() -> None:
    d = DeAnDossier.model_validate_json(make_dossier().model_dump_json())
    assert d == make_dossier()
    assert make_dossier_data()["code"] == d.code
