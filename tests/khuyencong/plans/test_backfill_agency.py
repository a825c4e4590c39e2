"""The history's ministry officials belong to the agency as it was called that year."""

from __future__ import annotations

from datetime import date

from khuyencong.plans.backfill import history_officials


def test_the_agency_is_named_as_it_was_in_the_year_of_the_de_an() -> None:
    def cuc(on: date) -> str:
        return history_officials("Bắc Giang", on=on)["cuc"].organisation

    assert cuc(date(2016, 1, 1)).startswith("Cục Công nghiệp địa phương")
    assert cuc(date(2018, 1, 1)).startswith("Cục Công Thương địa phương")
    assert "Cục Công nghiệp địa phương" in history_officials("Bắc Giang")["ke_toan_tw"].organisation
