"""Working days on the Vietnamese calendar: weekends, Tết and Hùng Kings' day by their lunar
dates (data per year), compensatory days and a year's official swaps."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from domain.workdays import WEEKENDS_ONLY, CalendarYear, DayKind, DayOff, WorkedDay
from khuyencong.places import SHIPPED_CALENDAR


def test_tet_and_hung_kings_day_are_days_off_every_year_2014_to_2030() -> None:
    for year in range(2014, 2031):
        assert SHIPPED_CALENDAR.knows(year)
        names = [d.name for d in SHIPPED_CALENDAR.days_off(year)]
        assert sum("Tết Nguyên đán" in n and "Nghỉ bù" not in n for n in names) == 5
        assert any("Hùng Vương" in n for n in names)


def test_lunar_dates_are_the_vietnamese_ones() -> None:
    # Tết 2030 falls on 2/2 in Vietnam (UTC+7), 3/2 in China; Hùng Kings' day 2025 on 7/4.
    tet, hung_kings = (SHIPPED_CALENDAR.day_off(d) for d in (date(2030, 2, 2), date(2025, 4, 7)))
    assert tet is not None and "mùng 1" in tet.name
    assert hung_kings is not None and "Hùng Vương" in hung_kings.name


def test_five_working_days_skip_tet_and_the_weekend() -> None:
    # Tết 2014: 30/1 to 3/2, then two compensatory days (1/2 and 2/2 were a weekend).
    assert SHIPPED_CALENDAR.add_working_days(date(2014, 1, 29), 3) == date(2014, 2, 10)
    assert SHIPPED_CALENDAR.add_days(date(2014, 1, 29), 3, DayKind.CALENDAR) == date(2014, 2, 1)


def test_a_years_decision_adds_days_off_and_saturdays_worked_in_exchange() -> None:
    decision = CalendarYear(
        year=2026,
        source="Thông báo nghỉ Tết 2026 (ví dụ)",
        days_off=[DayOff(day=date(2026, 2, 23), name="Nghỉ hoán đổi")],
        work_days=[WorkedDay(day=date(2026, 3, 7), basis="làm bù")],
    )
    calendar = SHIPPED_CALENDAR.merged([decision])
    assert not calendar.is_working_day(date(2026, 2, 23))
    assert calendar.is_working_day(date(2026, 3, 7))  # a Saturday worked in exchange
    assert SHIPPED_CALENDAR.is_working_day(date(2026, 2, 23))


def test_a_worked_day_must_be_a_weekend_day_of_its_year() -> None:
    with pytest.raises(ValidationError, match="không phải thứ Bảy"):
        CalendarYear(year=2026, work_days=[WorkedDay(day=date(2026, 3, 9))])
    with pytest.raises(ValidationError, match="không thuộc năm"):
        CalendarYear(year=2026, days_off=[DayOff(day=date(2027, 1, 1), name="x")])


def test_without_holiday_data_only_weekends_are_skipped() -> None:
    assert WEEKENDS_ONLY.add_working_days(date(2031, 1, 30), 2) == date(2031, 2, 3)
    assert not WEEKENDS_ONLY.knows(2031)
