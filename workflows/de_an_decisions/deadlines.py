"""The deadlines a đề án watches (from its rule pack) and the step of a missed one."""

from __future__ import annotations

from datetime import date, datetime

from domain.deadlines import (
    Deadline,
    DeadlineKind,
    parse_month,
    progress_report_deadline,
    report_months,
    settlement_deadline,
    settlement_dossier_deadline,
)
from domain.stages import Action, Stage
from khuyencong.places import SHIPPED_CALENDAR
from workflows.de_an_contract import DeAnState
from workflows.de_an_decisions.common import Outcome, finish, fixed_pack, fork, step_key


def open_deadlines(state: DeAnState) -> list[Deadline]:
    """Every deadline still open (not met, not yet recorded as missed), earliest first, those
    that had passed before the đề án entered the engine included."""
    if state.rule_pack_id is None or state.stage.terminal:
        return []
    rules = state.deadline_rules or fixed_pack(state).deadlines  # a state from before it
    found: list[Deadline] = []
    if state.stage is Stage.IN_PROGRESS and state.contract_signed_on is not None:
        reported = {p.month for p in state.progress}
        year_end = date(state.budget_year, 12, 31)
        for month in report_months(state.contract_signed_on, year_end):
            deadline = progress_report_deadline(month, rules)
            if deadline.due_date >= state.contract_signed_on and month not in reported:
                found.append(deadline)
    if state.stage is Stage.ACCEPTED and state.accepted_on and not state.settlement_dossier_on:
        found.append(settlement_dossier_deadline(state.accepted_on, rules, SHIPPED_CALENDAR))
    if state.stage in (Stage.IN_PROGRESS, Stage.STOPPED, Stage.ACCEPTED):
        found.append(settlement_deadline(state.budget_year, rules))
    missed = set(state.missed_deadlines)
    return sorted((d for d in found if d.key not in missed), key=lambda d: d.missed_at)


def before_entry(state: DeAnState, deadline: Deadline) -> bool:
    """The deadline had passed before the đề án entered the engine (a step typed in after the
    fact): no timer could have watched it."""
    return state.entered_at is not None and deadline.missed_at <= state.entered_at


def past_deadlines(state: DeAnState) -> list[Deadline]:
    """Open deadlines that had passed before the đề án entered the engine; recorded as missed
    at once (``past-deadlines-v1``) unless the state says the record is a complete paper
    year (``flag_past_deadlines`` off: the backfill)."""
    if not state.flag_past_deadlines:
        return []
    return [d for d in open_deadlines(state) if before_entry(state, d)]


def pending_deadlines(state: DeAnState, *, past: bool = False) -> list[Deadline]:
    """Deadlines the workflow watches, earliest first: the open ones that fell after the đề án
    entered the engine and, with ``past``, also those that had passed before (see
    :func:`past_deadlines`; the workflow passes ``past`` once the patch is in force)."""
    flag_past = past and state.flag_past_deadlines
    return [d for d in open_deadlines(state) if flag_past or not before_entry(state, d)]


def deadline_summary(deadline: Deadline) -> str:
    """A deadline as the event history and the UI show it (the timer's summary):
    «Hạn nộp hồ sơ quyết toán: 15/12/2019», «Hạn báo cáo tiến độ tháng 06/2019: 24/06/2019»."""
    due = f"{deadline.due_date:%d/%m/%Y}"
    if deadline.kind is DeadlineKind.PROGRESS_REPORT:
        return f"{deadline.kind.label} {parse_month(deadline.ref):%m/%Y}: {due}"
    if deadline.kind is DeadlineKind.SETTLEMENT:
        return f"{deadline.kind.label} kinh phí năm {deadline.ref}: {due}"
    return f"{deadline.kind.label}: {due}"


def due_deadlines(state: DeAnState, now: datetime, *, past: bool = False) -> list[Deadline]:
    return [d for d in pending_deadlines(state, past=past) if d.missed_at <= now]


def decide_deadline_missed(state: DeAnState, deadline: Deadline, now: datetime) -> Outcome:
    after = fork(state)
    after.missed_deadlines.append(deadline.key)
    late = " — đã quá hạn khi được nhập vào hệ thống" if before_entry(state, deadline) else ""
    return finish(
        state,
        after,
        action=Action.DEADLINE_MISSED,
        key=step_key(state, "deadline", deadline.kind.value, deadline.ref),
        now=now,
        business_date=deadline.due_date,
        summary=f"Quá hạn: {deadline.describe()} ({deadline.citation}){late}",
        actor=None,
        deadline=deadline,
    )
