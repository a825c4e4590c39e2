"""Working days on the Vietnamese calendar: weekends, public holidays, official day-off swaps.

A period in law is either calendar days ("ngày") or working days ("ngày làm việc"). Calendar
days count every day; working days skip Saturdays, Sundays and the days off of that year:
the public holidays of Bộ luật Lao động (2012 Điều 115; 2019 Điều 112: Tết Dương lịch,
5 days of Tết Nguyên đán, Giỗ Tổ Hùng Vương 10/3 âm lịch, 30/4, 1/5, Quốc khánh 2/9 and
from 2021 a day next to it), the compensatory days when one falls on a weekend, and each
year's official decision on days off and the Saturdays worked in exchange (ngày làm bù).

Lunar dates are *data*, precomputed per year (``domain/data/holidays_vn.json``, read by
:mod:`khuyencong.places`; a year's official decision is added with ``khuyencong calendar
add-days-off``). Nothing here computes a lunar date or reads a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.text import Text


class DayKind(StrEnum):
    """How a period counts its days."""

    CALENDAR = "calendar"
    WORKING = "working"

    @property
    def label(self) -> str:
        return {"calendar": "ngày", "working": "ngày làm việc"}[self]


class DayOff(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    name: Text = Field(min_length=1, max_length=200)
    basis: Text = Field(default="", max_length=300)


class WorkedDay(BaseModel):
    """A Saturday or Sunday worked in exchange for a day off (ngày làm bù)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    basis: Text = Field(default="", max_length=300)


class CalendarYear(BaseModel):
    """One year's days off (and days worked in exchange), from the law or a decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int = Field(ge=1990, le=2100)
    source: Text = Field(default="", max_length=2000)
    days_off: list[DayOff] = Field(default_factory=list, max_length=100)
    work_days: list[WorkedDay] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _in_year(self) -> CalendarYear:
        for day in [d.day for d in self.days_off] + [w.day for w in self.work_days]:
            if day.year != self.year:
                raise ValueError(f"ngày {day:%d/%m/%Y} không thuộc năm {self.year}")
        for worked in self.work_days:
            if worked.day.weekday() < 5:
                raise ValueError(f"ngày làm bù {worked.day:%d/%m/%Y} không phải thứ Bảy, Chủ nhật")
        return self


class CalendarFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Text = Field(default="", max_length=2000)
    years: list[CalendarYear] = Field(min_length=1, max_length=200)


class HolidayCalendar:
    """Days off and days worked in exchange, by year. Later data adds to earlier: a year's
    official decision adds its days off and its days worked to the statutory holidays."""

    def __init__(self, years: Iterable[CalendarYear] = ()) -> None:
        self._off: dict[date, DayOff] = {}
        self._worked: dict[date, WorkedDay] = {}
        self._years: set[int] = set()
        for year in years:
            self._years.add(year.year)
            for off in year.days_off:
                self._off.setdefault(off.day, off)
            for worked in year.work_days:
                self._worked[worked.day] = worked
                self._off.pop(worked.day, None)

    def merged(self, years: Iterable[CalendarYear]) -> HolidayCalendar:
        out = HolidayCalendar()
        out._off, out._worked, out._years = dict(self._off), dict(self._worked), set(self._years)
        for year in years:
            out._years.add(year.year)
            for off in year.days_off:
                out._off[off.day] = off
                out._worked.pop(off.day, None)
            for worked in year.work_days:
                out._worked[worked.day] = worked
                out._off.pop(worked.day, None)
        return out

    def knows(self, year: int) -> bool:
        """Whether ``year``'s holidays are in the calendar (otherwise only weekends count)."""
        return year in self._years

    def day_off(self, day: date) -> DayOff | None:
        return self._off.get(day)

    def days_off(self, year: int) -> list[DayOff]:
        return sorted((d for d in self._off.values() if d.day.year == year), key=lambda d: d.day)

    def is_working_day(self, day: date) -> bool:
        if day in self._worked:
            return True
        return day.weekday() < 5 and day not in self._off

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
        if days < 0:
            raise ValueError("số ngày làm việc phải không âm")
        cursor, left = start, days
        while left > 0:
            cursor += timedelta(days=1)
            if self.is_working_day(cursor):
                left -= 1
        return cursor

    def add_days(self, start: date, days: int, kind: DayKind) -> date:
        """``start`` plus a period of ``days`` of ``kind``."""
        if kind is DayKind.WORKING:
            return self.add_working_days(start, days)
        return start + timedelta(days=days)


WEEKENDS_ONLY = HolidayCalendar()
"""A calendar that knows no holiday (weekends only): for tests and unknown years."""
