"""What each official action does to a đề án, as pure functions.

``decide(state, command, now)`` checks stage, authority, jurisdiction, four-eyes and the
rules, then returns an :class:`Outcome`: the new state (a copy; the input is never touched),
the :class:`~workflows.de_an_contract.DeAnStep` the activities persist, and a sentence for the
official. A broken rule raises :class:`~domain.errors.Refusal`.

The workflow calls the same function twice: in the update's validator (the outcome is thrown
away, so a refusal leaves no trace in history) and again in the handler under its lock, where
the state may have moved on while another handler awaited an activity.

No Temporal and no asyncpg here, so every rule is unit-tested directly.

One module per phase, every public name re-exported here (``decisions.decide_settle``):

- ``common``: :class:`Outcome`, :class:`RuleSwitches` and the patch IDs, :func:`refuse`,
  :func:`begin` (stage, authority, date), :func:`finish` (stamp the state, build the step),
  the rule pack and the read-model snapshot;
- ``registration``, ``appraisal``, ``decision`` (approve, reject), ``implementation``
  (contract, progress, visits, findings, advances, adjustments, stop), ``settlement``
  (acceptance, settlement dossier, settlement, payout, refund), ``deadlines``, ``plan``;
- ``dispatch``: which rule changes are at stake (:func:`patches_at_stake`,
  :func:`switches_for`). Which decider judges which action is the action catalogue's to say
  (:func:`workflows.de_an_actions.decide`).
"""

from __future__ import annotations

from workflows.de_an_decisions.appraisal import ROUND_LABELS, appraisal_round, decide_appraise
from workflows.de_an_decisions.common import (
    ADJUST_DETAILS_PATCH,
    BASIS_ADJUST_DETAILS,
    BASIS_ADVANCE,
    BASIS_HOLD,
    BASIS_PAID,
    BASIS_SETTLEMENT,
    BASIS_STOPPED_MONEY,
    CURRENT_RULES,
    CUT_LAPSES_PATCH,
    RESOLVE_SETTLED_PATCH,
    STOP_LAPSES_PATCH,
    TRANSITIONS_BEFORE_RESOLVE_SETTLED,
    UNIT_SUCCESSOR_PATCH,
    Outcome,
    RuleSwitches,
    act_day,
    begin,
    check_active,
    check_business_date,
    check_cap,
    check_counterpart,
    check_not_duplicate,
    check_stage,
    deciding_under,
    finish,
    fixed_pack,
    item_rule,
    pack_for_approval,
    refuse,
    snapshot,
    step_key,
    succession_on,
)
from workflows.de_an_decisions.deadlines import (
    before_entry,
    deadline_summary,
    decide_deadline_missed,
    due_deadlines,
    open_deadlines,
    past_deadlines,
    pending_deadlines,
)
from workflows.de_an_decisions.decision import decide_approve, decide_reject
from workflows.de_an_decisions.dispatch import (
    patches_at_stake,
    switches_for,
)
from workflows.de_an_decisions.implementation import (
    SITE_OR_TIMING,
    advance_lapsed,
    advance_limit,
    check_adjust_details,
    check_advance_allowed,
    check_payer,
    committed_advances,
    decide_adjust,
    decide_confirm_progress,
    decide_pay_advance,
    decide_record_visit,
    decide_report_progress,
    decide_request_advance,
    decide_resolve_findings,
    decide_sign_contract,
    decide_stop,
    describe_lapses,
    lapses_for_cut,
    open_advance_requests,
    pays_past_ceiling,
)
from workflows.de_an_decisions.plan import (
    PLAN_FINAL_STAGES,
    PLAN_UNAVAILABLE,
    decision_refusal,
    plan_commitment_change,
    plan_finished_notice,
    plan_refusal,
)
from workflows.de_an_decisions.registration import (
    check_registration,
    continued_input,
    decide_register,
    decide_resubmit,
    initial_state,
    resumed_state,
)
from workflows.de_an_decisions.settlement import (
    decide_accept,
    decide_pay_settlement,
    decide_record_refund,
    decide_settle,
    decide_submit_settlement_dossier,
)

__all__ = [
    "ADJUST_DETAILS_PATCH",
    "BASIS_ADJUST_DETAILS",
    "BASIS_ADVANCE",
    "BASIS_HOLD",
    "BASIS_PAID",
    "BASIS_SETTLEMENT",
    "BASIS_STOPPED_MONEY",
    "CURRENT_RULES",
    "CUT_LAPSES_PATCH",
    "PLAN_FINAL_STAGES",
    "PLAN_UNAVAILABLE",
    "RESOLVE_SETTLED_PATCH",
    "ROUND_LABELS",
    "SITE_OR_TIMING",
    "STOP_LAPSES_PATCH",
    "TRANSITIONS_BEFORE_RESOLVE_SETTLED",
    "UNIT_SUCCESSOR_PATCH",
    "Outcome",
    "RuleSwitches",
    "act_day",
    "advance_lapsed",
    "advance_limit",
    "appraisal_round",
    "before_entry",
    "begin",
    "check_active",
    "check_adjust_details",
    "check_advance_allowed",
    "check_business_date",
    "check_cap",
    "check_counterpart",
    "check_not_duplicate",
    "check_payer",
    "check_registration",
    "check_stage",
    "committed_advances",
    "continued_input",
    "deadline_summary",
    "decide_accept",
    "decide_adjust",
    "decide_appraise",
    "decide_approve",
    "decide_confirm_progress",
    "decide_deadline_missed",
    "decide_pay_advance",
    "decide_pay_settlement",
    "decide_record_refund",
    "decide_record_visit",
    "decide_register",
    "decide_reject",
    "decide_report_progress",
    "decide_request_advance",
    "decide_resolve_findings",
    "decide_resubmit",
    "decide_settle",
    "decide_sign_contract",
    "decide_stop",
    "decide_submit_settlement_dossier",
    "deciding_under",
    "decision_refusal",
    "describe_lapses",
    "due_deadlines",
    "finish",
    "fixed_pack",
    "initial_state",
    "item_rule",
    "lapses_for_cut",
    "open_advance_requests",
    "open_deadlines",
    "pack_for_approval",
    "past_deadlines",
    "patches_at_stake",
    "pays_past_ceiling",
    "pending_deadlines",
    "plan_commitment_change",
    "plan_finished_notice",
    "plan_refusal",
    "refuse",
    "resumed_state",
    "snapshot",
    "step_key",
    "succession_on",
    "switches_for",
]
