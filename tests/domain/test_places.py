"""Administrative units with effective dates: Bắc Giang and Bắc Ninh before and after the
merger of 1/7/2025, successors, names as they were or as they are now."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from domain.places import AdminUnit, UnitKind, UnitRegistry, UnitsFile, registry_from, unit_key
from khuyencong.places import SHIPPED_UNITS

BEFORE, AFTER = date(2025, 6, 30), date(2025, 7, 1)
BAC_GIANG_DISTRICTS = {
    "TP Bắc Giang",
    "Hiệp Hòa",
    "Lạng Giang",
    "Lục Nam",
    "Lục Ngạn",
    "Sơn Động",
    "Tân Yên",
    "Việt Yên",
    "Yên Dũng",
    "Yên Thế",
}


def test_bac_giang_has_its_ten_districts_until_30_june_2025_and_none_after() -> None:
    bac_giang = SHIPPED_UNITS.find("Bắc Giang", UnitKind.PROVINCE, BEFORE)
    assert bac_giang is not None
    assert {u.name for u in SHIPPED_UNITS.children(bac_giang.code, date(2016, 1, 1))} >= (
        BAC_GIANG_DISTRICTS
    )
    districts = [
        u for u in SHIPPED_UNITS.children(bac_giang.code, BEFORE) if u.kind is UnitKind.DISTRICT
    ]
    assert {u.name for u in districts} == BAC_GIANG_DISTRICTS
    assert SHIPPED_UNITS.children(bac_giang.code, AFTER) == []


def test_bac_giang_is_succeeded_by_bac_ninh_from_1_july_2025() -> None:
    succession = SHIPPED_UNITS.successor_province("Bắc Giang", date(2024, 12, 1), AFTER)
    assert succession is not None
    assert (succession.from_name, succession.to_name, succession.since) == (
        "Bắc Giang",
        "Bắc Ninh",
        AFTER,
    )
    assert "202/2025/QH15" in succession.basis
    assert SHIPPED_UNITS.successor_province("Bắc Giang", date(2024, 12, 1), BEFORE) is None


def test_bac_ninh_stays_bac_ninh_across_the_merger() -> None:
    assert SHIPPED_UNITS.successor_province("Bắc Ninh", date(2024, 12, 1), AFTER) is None
    assert SHIPPED_UNITS.responsible_province("Bắc Ninh", date(2024, 12, 1), AFTER) == "Bắc Ninh"


def test_a_province_unknown_on_the_registration_date_is_judged_by_its_name() -> None:
    # Registered (by the workflow's clock) after Bắc Giang had ended: the registry cannot say
    # which unit it was, so nothing is inferred.
    assert SHIPPED_UNITS.registered_province("Bắc Giang", date(2026, 1, 5)) is None
    assert SHIPPED_UNITS.responsible_province("Bắc Giang", date(2026, 1, 5), AFTER) == "Bắc Giang"
    assert SHIPPED_UNITS.responsible_province("Hà Giang", date(2020, 1, 5), AFTER) == "Hà Giang"


def test_a_dissolved_province_is_still_found_by_its_name() -> None:
    assert SHIPPED_UNITS.dissolved("Bắc Giang", AFTER)
    assert not SHIPPED_UNITS.dissolved("Bắc Giang", BEFORE)
    assert not SHIPPED_UNITS.dissolved("Bắc Ninh", AFTER)


def test_units_as_they_are_now_a_district_is_gone_a_province_succeeded() -> None:
    registered = date(2016, 3, 1)
    now = date(2026, 1, 1)

    def as_of(kind: UnitKind, name: str) -> str | None:
        return SHIPPED_UNITS.as_of(kind, name, now, province="Bắc Giang", registered_on=registered)

    assert as_of(UnitKind.PROVINCE, "Bắc Giang") == "Bắc Ninh"
    assert as_of(UnitKind.DISTRICT, "Hiệp Hòa") is None
    assert as_of(UnitKind.COMMUNE, "Xã Vân Hà") is None  # its successor is not in the file
    then = SHIPPED_UNITS.as_of(
        UnitKind.DISTRICT, "Hiệp Hòa", registered, province="Bắc Giang", registered_on=registered
    )
    assert then == "Hiệp Hòa"


def test_names_match_without_case_accents_or_the_type_word() -> None:
    assert unit_key("Tỉnh Bắc Giang") == unit_key("bac giang") == "bac giang"
    assert unit_key("Xã Vân Hà") == unit_key("VÂN HÀ")
    assert unit_key("TP Bắc Giang") == "bac giang"


def _unit(code: str, **fields: object) -> AdminUnit:
    data: dict[str, object] = {
        "code": code,
        "name": code.title(),
        "kind": "province",
        "valid_from": "2000-01-01",
    }
    return AdminUnit.model_validate({**data, **fields})


def test_a_successor_must_exist_and_be_in_force_the_day_after() -> None:
    with pytest.raises(ValueError, match="không có trong danh mục"):
        UnitRegistry([_unit("a", valid_to="2020-12-31", successor="b")])
    with pytest.raises(ValueError, match="chưa có hiệu lực"):
        UnitRegistry(
            [
                _unit("a", valid_to="2020-12-31", successor="b"),
                _unit("b", valid_from="2021-02-01"),
            ]
        )


def test_a_unit_in_force_has_no_successor_and_a_province_no_parent() -> None:
    with pytest.raises(ValidationError, match="không có đơn vị kế thừa"):
        _unit("a", successor="b")
    with pytest.raises(ValidationError, match="tỉnh không có cấp trên"):
        _unit("a", parent="b")


def test_successors_are_followed_through_several_changes() -> None:
    registry = registry_from(
        UnitsFile(
            units=[
                _unit("a", name="Alpha", valid_to="2010-12-31", successor="b"),
                _unit(
                    "b", name="Beta", valid_from="2011-01-01", valid_to="2020-12-31", successor="c"
                ),
                _unit("c", name="Gamma", valid_from="2021-01-01"),
            ]
        )
    )
    assert registry.responsible_province("Alpha", date(2005, 1, 1), date(2022, 1, 1)) == "Gamma"
    assert registry.responsible_province("Alpha", date(2005, 1, 1), date(2015, 1, 1)) == "Beta"


def test_a_province_file_extends_the_shipped_units() -> None:
    extra = _unit("ha-giang", name="Hà Giang", valid_from="1991-10-01")
    merged = SHIPPED_UNITS.merged([extra])
    assert merged.find("Hà Giang", UnitKind.PROVINCE, date(2020, 1, 1)) == extra
    assert len(merged) == len(SHIPPED_UNITS) + 1


def test_after_the_merger_bac_ninh_answers_for_bac_giang_too() -> None:
    assert SHIPPED_UNITS.predecessors("Bắc Ninh", AFTER) == ["Bắc Giang"]
    assert SHIPPED_UNITS.predecessors("Bắc Ninh", BEFORE) == []
    assert SHIPPED_UNITS.predecessors("Bắc Giang", AFTER) == []
