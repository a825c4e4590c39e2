"""Deadlines on the Vietnamese calendar: due dates, the instant they are missed, report months."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.deadlines import (
    VN_TZ,
    Deadline,
    DeadlineKind,
    month_key,
    parse_month,
    progress_report_deadline,
    report_months,
    settlement_deadline,
    settlement_dossier_deadline,
    vn_date,
)
from domain.rules import DeadlineRules, load_packs

RULES = {p.id: p for p in load_packs()}["quoc-gia-tt-28-2018"].deadlines


def _rules(**overrides: object) -> DeadlineRules:
    return RULES.model_copy(update=overrides)


# --- progress reports ---------------------------------------------------------------------


def test_the_may_2019_progress_report_is_due_on_the_24th() -> None:
    deadline = progress_report_deadline("2019-05", RULES)
    assert deadline.kind is DeadlineKind.PROGRESS_REPORT
    assert deadline.ref == "2019-05"
    assert deadline.due_date == date(2019, 5, 24)
    assert deadline.citation == RULES.progress_report_citation


def test_the_may_2019_progress_report_is_missed_at_midnight_of_the_25th_in_vietnam() -> None:
    missed = progress_report_deadline("2019-05", RULES).missed_at
    assert missed == datetime(2019, 5, 25, 0, 0, tzinfo=VN_TZ)
    assert missed == datetime(2019, 5, 24, 17, 0, tzinfo=UTC)
    assert missed.utcoffset() == timedelta(hours=7)


def test_a_province_may_set_another_report_day() -> None:
    assert progress_report_deadline("2019-05", _rules(progress_report_day=10)).due_date == date(
        2019, 5, 9
    )


def test_a_report_day_of_1_falls_due_on_the_last_day_of_the_month_before() -> None:
    assert progress_report_deadline("2020-03", _rules(progress_report_day=1)).due_date == date(
        2020, 2, 29
    )


# --- settlement ---------------------------------------------------------------------------


def test_the_settlement_dossier_is_due_15_days_after_acceptance() -> None:
    deadline = settlement_dossier_deadline(date(2019, 11, 20), RULES)
    assert deadline.kind is DeadlineKind.SETTLEMENT_DOSSIER
    assert deadline.ref == "2019-11-20"
    assert deadline.due_date == date(2019, 12, 5)
    assert deadline.citation == RULES.settlement_dossier_citation


def test_a_settlement_dossier_due_date_may_fall_in_the_next_year() -> None:
    assert settlement_dossier_deadline(date(2019, 12, 20), RULES).due_date == date(2020, 1, 4)


def test_settlement_of_2019_is_due_on_22_january_2020() -> None:
    deadline = settlement_deadline(2019, RULES)
    assert deadline.kind is DeadlineKind.SETTLEMENT
    assert deadline.ref == "2019"
    assert deadline.due_date == date(2020, 1, 22)
    assert deadline.citation == RULES.settlement_citation


def test_settlement_of_2019_is_missed_at_midnight_of_23_january_2020_in_vietnam() -> None:
    assert settlement_deadline(2019, RULES).missed_at == datetime(2020, 1, 23, 0, 0, tzinfo=VN_TZ)


def test_a_deadline_has_a_stable_key_and_a_vietnamese_description() -> None:
    deadline = settlement_deadline(2019, RULES)
    assert deadline.key == "settlement:2019"
    assert deadline.describe() == "Hạn quyết toán 2019: 22/01/2020"
    assert progress_report_deadline("2019-05", RULES).key == "progress_report:2019-05"


@pytest.mark.parametrize("kind", list(DeadlineKind))
def test_every_deadline_kind_has_a_vietnamese_label(kind: DeadlineKind) -> None:
    assert kind.label.startswith("Hạn ")


def test_a_deadline_is_immutable() -> None:
    deadline = settlement_deadline(2019, RULES)
    with pytest.raises(ValidationError, match="frozen"):
        deadline.due_date = date(2030, 1, 1)  # type: ignore[misc]


# --- months -------------------------------------------------------------------------------


def test_report_months_run_across_a_year_boundary() -> None:
    assert report_months(date(2019, 11, 15), date(2020, 2, 3)) == [
        "2019-11",
        "2019-12",
        "2020-01",
        "2020-02",
    ]


def test_a_schedule_inside_one_month_owes_one_report() -> None:
    assert report_months(date(2019, 5, 1), date(2019, 5, 31)) == ["2019-05"]


def test_report_months_include_the_month_of_the_last_day_even_on_its_first() -> None:
    assert report_months(date(2019, 1, 31), date(2019, 3, 1)) == ["2019-01", "2019-02", "2019-03"]


def test_no_report_is_owed_when_the_end_is_before_the_start() -> None:
    assert report_months(date(2019, 6, 1), date(2019, 5, 31)) == []


def test_month_keys_are_zero_padded_and_parse_back() -> None:
    assert month_key(date(2019, 5, 24)) == "2019-05"
    assert parse_month("2019-05") == date(2019, 5, 1)
    assert parse_month("2020-12") == date(2020, 12, 1)


days = st.dates(min_value=date(2012, 1, 1), max_value=date(2100, 12, 31))


@given(days, days)
def test_report_months_are_consecutive_and_span_first_to_last(a: date, b: date) -> None:
    first, last = sorted((a, b))
    months = report_months(first, last)
    assert months[0] == month_key(first)
    assert months[-1] == month_key(last)
    assert len(months) == (last.year - first.year) * 12 + last.month - first.month + 1
    for earlier, later in pairwise(months):
        step = parse_month(earlier) + timedelta(days=31)
        assert later == month_key(step.replace(day=1))


@given(days)
def test_a_month_key_round_trips(day: date) -> None:
    assert parse_month(month_key(day)) == day.replace(day=1)


@given(days, st.integers(min_value=2, max_value=28))
def test_a_progress_report_is_due_inside_its_own_month(day: date, report_day: int) -> None:
    deadline = progress_report_deadline(month_key(day), _rules(progress_report_day=report_day))
    assert month_key(deadline.due_date) == month_key(day)
    assert deadline.due_date.day == report_day - 1


@given(days, st.integers(min_value=1, max_value=365))
def test_a_settlement_dossier_is_due_exactly_the_configured_days_later(
    accepted: date, days_after: int
) -> None:
    deadline = settlement_dossier_deadline(accepted, _rules(settlement_dossier_days=days_after))
    assert (deadline.due_date - accepted).days == days_after


@given(st.integers(min_value=2012, max_value=2100))
def test_settlement_is_always_due_in_the_next_year(year: int) -> None:
    assert settlement_deadline(year, RULES).due_date == date(year + 1, 1, 22)


# --- the Vietnamese calendar --------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (datetime(2019, 5, 24, 16, 59, 59, 999_999, tzinfo=UTC), date(2019, 5, 24)),
        (datetime(2019, 5, 24, 17, 0, tzinfo=UTC), date(2019, 5, 25)),
        (datetime(2019, 12, 31, 16, 59, tzinfo=UTC), date(2019, 12, 31)),
        (datetime(2019, 12, 31, 17, 0, tzinfo=UTC), date(2020, 1, 1)),
        (datetime(2020, 1, 1, 0, 30, tzinfo=VN_TZ), date(2020, 1, 1)),
        (datetime(2020, 2, 28, 20, 0, tzinfo=UTC), date(2020, 2, 29)),
    ],
)
def test_vn_date_is_the_calendar_day_in_vietnam(instant: datetime, day: date) -> None:
    assert vn_date(instant) == day


def test_vietnam_is_utc_plus_7_all_year() -> None:
    for month in (1, 7):
        assert datetime(2019, month, 1, tzinfo=VN_TZ).utcoffset() == timedelta(hours=7)


@given(days)
def test_a_deadline_is_missed_only_after_its_due_date_ends_in_vietnam(due: date) -> None:
    deadline = Deadline(kind=DeadlineKind.SETTLEMENT, ref="x", due_date=due, citation="c")
    missed = deadline.missed_at
    last_moment = datetime.combine(due, time.max, tzinfo=VN_TZ)
    assert missed > last_moment
    assert missed - last_moment == timedelta(microseconds=1)
    assert vn_date(missed) == due + timedelta(days=1)
    assert vn_date(missed - timedelta(microseconds=1)) == due


@given(
    st.datetimes(
        min_value=datetime(2012, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_vn_date_is_seven_hours_ahead_of_utc(instant: datetime) -> None:
    assert vn_date(instant) == (instant + timedelta(hours=7)).date()
