"""Deadlines on the Vietnamese calendar (UTC+7, no daylight saving).

A deadline has a last allowed day (``due_date``) and the instant it is missed (``missed_at``:
00:00 in Vietnam on the day after). The periods come from the rule pack, never from code.

Every deadline says how it is counted (:attr:`Deadline.counting`): a fixed day (the 25th of
the month, 22 January of the next year), a period in calendar days ("ngày") or a period in
working days ("ngày làm việc", on the holiday calendar of :mod:`domain.workdays`), and its
legal basis (``citation``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.rules import DeadlineRules
from domain.workdays import DayKind, HolidayCalendar

VN_TZ = timezone(timedelta(hours=7), "ICT")


class DeadlineKind(StrEnum):
    PROGRESS_REPORT = "progress_report"
    SETTLEMENT_DOSSIER = "settlement_dossier"
    SETTLEMENT = "settlement"

    @property
    def label(self) -> str:
        return {
            "progress_report": "Hạn báo cáo tiến độ tháng",
            "settlement_dossier": "Hạn nộp hồ sơ quyết toán",
            "settlement": "Hạn quyết toán",
        }[self]


class Deadline(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: DeadlineKind
    ref: str
    due_date: date
    citation: str
    day_kind: DayKind | None = Field(
        default=None, description="A period counted in these days; None: a fixed day"
    )
    period_days: int | None = Field(default=None, description="The period's length")

    @property
    def counting(self) -> str:
        """How the deadline is counted, in words: a fixed day or a period of which days."""
        if self.day_kind is None or self.period_days is None:
            return "ngày cố định"
        return f"{self.period_days} {self.day_kind.label}"

    def explain(self) -> str:
        """The deadline, how it is counted and its legal basis."""
        return f"{self.describe()} ({self.counting}; căn cứ: {self.citation})"

    @property
    def missed_at(self) -> datetime:
        return datetime.combine(self.due_date + timedelta(days=1), time(0), tzinfo=VN_TZ)

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.ref}"

    def describe(self) -> str:
        return f"{self.kind.label} {self.ref}: {self.due_date.strftime('%d/%m/%Y')}"


def vn_date(at: datetime) -> date:
    """The calendar day in Vietnam at instant ``at`` (which must carry its time zone)."""
    if at.tzinfo is None:
        raise ValueError("vn_date needs an aware datetime: a naive one has no instant")
    return at.astimezone(VN_TZ).date()


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(key: str) -> date:
    year, month = key.split("-")
    return date(int(year), int(month), 1)


def progress_report_deadline(month: str, rules: DeadlineRules) -> Deadline:
    """The report for ``month`` is due before day ``progress_report_day`` of that month."""
    first = parse_month(month)
    return Deadline(
        kind=DeadlineKind.PROGRESS_REPORT,
        ref=month,
        due_date=first.replace(day=rules.progress_report_day) - timedelta(days=1),
        citation=rules.progress_report_citation,
    )


def report_months(first_day: date, last_day: date) -> list[str]:
    """Months whose report is owed: from ``first_day``'s month to ``last_day``'s, inclusive."""
    months: list[str] = []
    cursor = first_day.replace(day=1)
    while cursor <= last_day:
        months.append(month_key(cursor))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return months


def settlement_dossier_deadline(
    accepted_on: date, rules: DeadlineRules, calendar: HolidayCalendar | None = None
) -> Deadline:
    """``settlement_dossier_days`` after the acceptance, in calendar days or, when the pack
    says so, in working days on ``calendar`` (which it then needs)."""
    kind = rules.settlement_dossier_day_kind
    if kind is DayKind.WORKING and calendar is None:
        raise ValueError("a deadline in working days needs the holiday calendar")
    days = rules.settlement_dossier_days
    due = (
        calendar.add_days(accepted_on, days, kind)
        if calendar is not None
        else accepted_on + timedelta(days=days)
    )
    return Deadline(
        kind=DeadlineKind.SETTLEMENT_DOSSIER,
        ref=accepted_on.isoformat(),
        due_date=due,
        citation=rules.settlement_dossier_citation,
        day_kind=kind,
        period_days=days,
    )


def settlement_deadline(budget_year: int, rules: DeadlineRules) -> Deadline:
    """Settlement of budget year N is due by ``settlement_day/settlement_month`` of N + 1."""
    return Deadline(
        kind=DeadlineKind.SETTLEMENT,
        ref=str(budget_year),
        due_date=date(budget_year + 1, rules.settlement_month, rules.settlement_day),
        citation=rules.settlement_citation,
    )
