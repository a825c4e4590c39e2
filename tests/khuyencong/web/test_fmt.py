"""Dates as dd/mm/yyyy (in Vietnam's time zone), money as ``150.000.000 đ``."""

from __future__ import annotations

from datetime import UTC, date, datetime

from khuyencong.web.fmt import money, parse_money, vn_date, vn_datetime


def test_money_is_written_in_whole_dong_with_dots_between_thousands() -> None:
    assert money(150_000_000) == "150.000.000 đ"
    assert money(0) == "0 đ"
    assert money(-2_500) == "-2.500 đ"
    assert money(None) == "—"


def test_dates_are_day_month_year_and_instants_are_shown_in_vietnam() -> None:
    assert vn_date(date(2019, 2, 20)) == "20/02/2019"
    late_evening_utc = datetime(2019, 2, 19, 20, 30, tzinfo=UTC)
    assert vn_date(late_evening_utc) == "20/02/2019"
    assert vn_datetime(late_evening_utc) == "20/02/2019 03:30"


def test_an_amount_typed_with_dots_spaces_or_the_currency_reads_as_digits() -> None:
    assert parse_money("150.000.000") == "150000000"
    assert parse_money("150 000 000 đ") == "150000000"
    assert parse_money("một trăm") == "một trăm"  # left for the contract model to refuse
