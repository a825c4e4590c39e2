"""Deadlines in working days ("ngày làm việc") on the holiday calendar; calendar days stay
calendar days; every deadline says how it is counted and its legal basis."""

from __future__ import annotations

from datetime import date

import pytest

from domain.deadlines import (
    progress_report_deadline,
    settlement_deadline,
    settlement_dossier_deadline,
)
from domain.rules import DeadlineRules, load_packs
from domain.workdays import DayKind
from khuyencong.places import SHIPPED_CALENDAR

RULES = {p.id: p for p in load_packs()}["quoc-gia-tt-28-2018"].deadlines


def _rules(**overrides: object) -> DeadlineRules:
    return RULES.model_copy(update=overrides)


def test_a_settlement_dossier_in_working_days_skips_tet_and_weekends() -> None:
    # Accepted on Friday 24/1/2020 (Tết 2020: 24/1 to 29/1): 15 working days later is 20/2.
    rules = _rules(settlement_dossier_days=15, settlement_dossier_day_kind=DayKind.WORKING)
    deadline = settlement_dossier_deadline(date(2020, 1, 23), rules, SHIPPED_CALENDAR)
    assert deadline.due_date == date(2020, 2, 20)
    assert deadline.counting == "15 ngày làm việc"


def test_calendar_days_stay_calendar_days_over_tet() -> None:
    rules = _rules(settlement_dossier_days=15)
    deadline = settlement_dossier_deadline(date(2020, 1, 23), rules, SHIPPED_CALENDAR)
    assert deadline.due_date == date(2020, 2, 7)
    assert deadline.counting == "15 ngày"
    assert deadline == settlement_dossier_deadline(date(2020, 1, 23), rules)


def test_working_days_without_the_calendar_are_an_error_not_a_guess() -> None:
    rules = _rules(settlement_dossier_day_kind=DayKind.WORKING)
    with pytest.raises(ValueError, match="calendar"):
        settlement_dossier_deadline(date(2020, 1, 23), rules)


def test_every_deadline_says_how_it_is_counted_and_its_legal_basis() -> None:
    for deadline in (
        progress_report_deadline("2019-05", RULES),
        settlement_deadline(2019, RULES),
        settlement_dossier_deadline(date(2019, 11, 20), RULES),
    ):
        assert deadline.counting
        assert deadline.citation and deadline.citation in deadline.explain()
        assert deadline.counting in deadline.explain()
    assert settlement_deadline(2019, RULES).counting == "ngày cố định"


def test_a_pack_stored_before_the_day_kind_existed_counts_calendar_days() -> None:
    stored = RULES.model_dump(mode="json")
    stored.pop("settlement_dossier_day_kind")
    assert DeadlineRules.model_validate(stored).settlement_dossier_day_kind is DayKind.CALENDAR
