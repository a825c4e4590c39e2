"""The national khuyến công agency's name in force on a date."""

from __future__ import annotations

from datetime import date

from domain.agencies import agency_in_force, agency_name


def test_the_agency_is_named_as_it_was_called_on_the_date() -> None:
    assert agency_name(date(2016, 5, 1)) == "Cục Công nghiệp địa phương"
    assert agency_name(date(2019, 3, 9)) == "Cục Công Thương địa phương"
    assert agency_name(date(2026, 1, 1)) == ("Cục Đổi mới sáng tạo, Chuyển đổi xanh và Khuyến công")


def test_a_rename_takes_effect_on_its_effective_date() -> None:
    assert agency_name(date(2017, 8, 17)) == "Cục Công nghiệp địa phương"
    assert agency_name(date(2017, 8, 18)) == "Cục Công Thương địa phương"
    assert agency_name(date(2025, 2, 28)) == "Cục Công Thương địa phương"
    assert "40/2025/NĐ-CP" in agency_in_force(date(2025, 3, 1)).basis
