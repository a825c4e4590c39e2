"""Which rule changes are at stake for an action. Which decider judges which action is the
action catalogue's to say (:func:`workflows.de_an_actions.decide`)."""

from __future__ import annotations

from datetime import datetime

from domain.authority import AdjustmentKind
from domain.stages import Action, Stage
from workflows.de_an_contract import DeAnAdjust, DeAnCommand, DeAnPayAdvance, DeAnState
from workflows.de_an_decisions.common import (
    ADJUST_DETAILS_PATCH,
    CUT_LAPSES_PATCH,
    RESOLVE_SETTLED_PATCH,
    STOP_LAPSES_PATCH,
    UNIT_SUCCESSOR_PATCH,
    RuleSwitches,
    act_day,
    succession_on,
)
from workflows.de_an_decisions.implementation import (
    SITE_OR_TIMING,
    pays_past_ceiling,
)


def patches_at_stake(
    state: DeAnState, action: Action, command: DeAnCommand, now: datetime | None = None
) -> set[str]:
    """Which rule changes (by patch ID) could decide this step differently from the rules it
    was recorded under: the workflow asks ``workflow.patched`` for these only, so a history
    that never met a changed rule carries no marker and replays as it was."""
    at_stake: set[str] = set()
    if state.stopped and action in (
        Action.REQUEST_ADVANCE,
        Action.PAY_ADVANCE,
        Action.SETTLE,
    ):
        at_stake.add(STOP_LAPSES_PATCH)
    if action is Action.STOP and any(a.paid_on is None for a in state.advances):
        at_stake.add(STOP_LAPSES_PATCH)
    if (
        isinstance(command, DeAnAdjust)
        and command.kind is AdjustmentKind.DECREASE_SUPPORT
        and any(a.paid_on is None and a.lapsed_on is None for a in state.advances)
    ):
        at_stake.add(CUT_LAPSES_PATCH)
    if isinstance(command, DeAnPayAdvance) and pays_past_ceiling(state, command.request_no):
        at_stake.add(CUT_LAPSES_PATCH)
    if isinstance(command, DeAnAdjust) and command.kind in SITE_OR_TIMING:
        at_stake.add(ADJUST_DETAILS_PATCH)
    if action is Action.RESOLVE_FINDINGS and state.stage is Stage.SETTLED:
        # A handler used to refuse this (WrongStage, no command); one recorded before the
        # change (accepted by a validator while a settlement was in flight, before the busy
        # guard) must refuse it again on replay rather than schedule the step's activity.
        at_stake.add(RESOLVE_SETTLED_PATCH)
    if now is not None and succession_on(state, act_day(command, now)) is not None:
        # The province the đề án was registered in had been succeeded on the act's date:
        # its name alone decided jurisdiction before the change.
        at_stake.add(UNIT_SUCCESSOR_PATCH)
    return at_stake


def switches_for(patched: dict[str, bool]) -> RuleSwitches:
    """The rules a handler decides by, from the answers of ``workflow.patched`` (a patch not
    asked is not at stake: the current rule decides as the old one would)."""
    return RuleSwitches(
        stop_lapses_advances=patched.get(STOP_LAPSES_PATCH, True),
        cut_lapses_advances=patched.get(CUT_LAPSES_PATCH, True),
        adjust_needs_details=patched.get(ADJUST_DETAILS_PATCH, True),
        resolve_after_settlement=patched.get(RESOLVE_SETTLED_PATCH, True),
        unit_successor_jurisdiction=patched.get(UNIT_SUCCESSOR_PATCH, True),
    )
