"""Which decider decides which action, and which rule changes are at stake for it.

``decide(state, action, command, now)`` is what the workflow's validators and handlers call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.stages import Action, Stage
from workflows.de_an_contract import DeAnAdjust, DeAnCommand, DeAnState
from workflows.de_an_decisions.appraisal import decide_appraise
from workflows.de_an_decisions.common import (
    ADJUST_DETAILS_PATCH,
    CURRENT_RULES,
    RESOLVE_SETTLED_PATCH,
    STOP_LAPSES_PATCH,
    Outcome,
    RuleSwitches,
    check_active,
)
from workflows.de_an_decisions.decision import decide_approve, decide_reject
from workflows.de_an_decisions.implementation import (
    SITE_OR_TIMING,
    decide_adjust,
    decide_confirm_progress,
    decide_pay_advance,
    decide_record_visit,
    decide_report_progress,
    decide_request_advance,
    decide_resolve_findings,
    decide_sign_contract,
    decide_stop,
)
from workflows.de_an_decisions.registration import decide_resubmit
from workflows.de_an_decisions.settlement import (
    decide_accept,
    decide_pay_settlement,
    decide_record_refund,
    decide_settle,
    decide_submit_settlement_dossier,
)

DECIDERS: dict[Action, Callable[[DeAnState, Any, datetime], Outcome]] = {
    Action.RESUBMIT: decide_resubmit,
    Action.APPRAISE: decide_appraise,
    Action.APPROVE: decide_approve,
    Action.REJECT: decide_reject,
    Action.SIGN_CONTRACT: decide_sign_contract,
    Action.REPORT_PROGRESS: decide_report_progress,
    Action.CONFIRM_PROGRESS: decide_confirm_progress,
    Action.RECORD_VISIT: decide_record_visit,
    Action.RESOLVE_FINDINGS: decide_resolve_findings,
    Action.REQUEST_ADVANCE: decide_request_advance,
    Action.PAY_ADVANCE: decide_pay_advance,
    Action.ADJUST: decide_adjust,
    Action.STOP: decide_stop,
    Action.ACCEPT: decide_accept,
    Action.SUBMIT_SETTLEMENT_DOSSIER: decide_submit_settlement_dossier,
    Action.SETTLE: decide_settle,
    Action.PAY_SETTLEMENT: decide_pay_settlement,
    Action.RECORD_REFUND: decide_record_refund,
}


SWITCHED: dict[Action, Callable[[DeAnState, Any, datetime, RuleSwitches], Outcome]] = {
    Action.REQUEST_ADVANCE: decide_request_advance,
    Action.PAY_ADVANCE: decide_pay_advance,
    Action.ADJUST: decide_adjust,
    Action.STOP: decide_stop,
    Action.SETTLE: decide_settle,
    Action.RESOLVE_FINDINGS: decide_resolve_findings,
}
"""The deciders whose rules changed behind a patch (:class:`RuleSwitches`)."""


def decide(
    state: DeAnState,
    action: Action,
    command: DeAnCommand,
    now: datetime,
    switches: RuleSwitches = CURRENT_RULES,
) -> Outcome:
    check_active(state, command.actor)
    switched = SWITCHED.get(action)
    if switched is not None:
        return switched(state, command, now, switches)
    return DECIDERS[action](state, command, now)


def patches_at_stake(state: DeAnState, action: Action, command: DeAnCommand) -> set[str]:
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
    if isinstance(command, DeAnAdjust) and command.kind in SITE_OR_TIMING:
        at_stake.add(ADJUST_DETAILS_PATCH)
    if action is Action.RESOLVE_FINDINGS and state.stage is Stage.SETTLED:
        # A handler used to refuse this (WrongStage, no command); one recorded before the
        # change (accepted by a validator while a settlement was in flight, before the busy
        # guard) must refuse it again on replay rather than schedule the step's activity.
        at_stake.add(RESOLVE_SETTLED_PATCH)
    return at_stake


def switches_for(patched: dict[str, bool]) -> RuleSwitches:
    """The rules a handler decides by, from the answers of ``workflow.patched`` (a patch not
    asked is not at stake: the current rule decides as the old one would)."""
    return RuleSwitches(
        stop_lapses_advances=patched.get(STOP_LAPSES_PATCH, True),
        adjust_needs_details=patched.get(ADJUST_DETAILS_PATCH, True),
        resolve_after_settlement=patched.get(RESOLVE_SETTLED_PATCH, True),
    )
