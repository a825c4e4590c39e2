"""The catalogue of official actions: one :class:`ActionDefinition` per update of ``DeAnWorkflow``.

Everything the code base knows about an action that is not a rule lives here, once: its update
name, its command model, the decider that judges it, who may send it (read from
:mod:`domain.authority`, never restated), the rows its step writes, its inbox entry, the
reference its update ID carries and its help text. From :data:`CATALOGUE` are derived:

- the workflow's update handlers and their validators (:func:`workflows.de_an.with_action_updates`);
- :func:`decide`, the dispatch the validators and handlers share;
- the admin client's one path, ``AdminClient.act(code, command)`` (the action is looked up from
  the command's type: :func:`for_command`), and its update IDs;
- the ``khuyencong de-an <action>`` commands, the role × action matrix (``docs/officials.md``)
  and the inbox (:mod:`khuyencong.admin`).

The catalogue is the lifecycle's own actions (:data:`LIFECYCLE`, whose stages and senders are
written in :mod:`domain.stages` and :mod:`domain.authority`), then every action of
:mod:`workflows.actions`, one module each, found by :func:`discover` and registered
(:func:`register` adds the stages and senders its definition names to the domain's tables).
What an action is lives in :mod:`workflows.action_definition` (re-exported here).

``tests/workflows/test_de_an_actions.py`` fails when an action lacks any of these. Pure: no
Temporal and no asyncpg (the workflow imports it passed through its sandbox: discovery and
registration run once per worker process).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from datetime import date, datetime
from types import ModuleType
from typing import Any

import workflows.actions
from domain.authority import add_senders
from domain.deadlines import month_key
from domain.stages import Action, Stage, add_transitions
from workflows import de_an_decisions as rules
from workflows.action_definition import (
    DISCRETIONARY,
    ActionDefinition,
    Authority,
    Decider,
    InboxEntry,
    InboxFacts,
    SwitchedDecider,
)
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnAdjust,
    DeAnAppraise,
    DeAnApprove,
    DeAnCommand,
    DeAnConfirmProgress,
    DeAnPayAdvance,
    DeAnPaySettlement,
    DeAnRecordRefund,
    DeAnRecordVisit,
    DeAnReject,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnResolveFindings,
    DeAnResubmit,
    DeAnSettle,
    DeAnSignContract,
    DeAnState,
    DeAnStop,
    DeAnSubmitSettlementDossier,
)
from workflows.de_an_decisions import CURRENT_RULES, Outcome, RuleSwitches

# --- the inbox's facts, named ------------------------------------------------------------------


def _payable(facts: InboxFacts) -> bool:
    return not facts.payments_on_hold  # held by a visit's findings until they are resolved


def _advance_payable(facts: InboxFacts) -> bool:
    # Requests unpaid at the stop lapsed; only the settlement pays after it.
    return _payable(facts) and not facts.stopped and facts.open_requests > 0


def _advance_requestable(facts: InboxFacts) -> bool:
    return not facts.stopped and facts.open_requests == 0


def _report_due(facts: InboxFacts, today: date) -> bool:
    return month_key(today) not in facts.reported_months


def _settlement_due(facts: InboxFacts, _: date) -> bool:
    return facts.settlement_dossier_submitted


# --- the catalogue --------------------------------------------------------------------------

_S, _A = Stage, Action

LIFECYCLE: tuple[ActionDefinition[Any], ...] = (
    ActionDefinition(
        name="resubmit",
        action=_A.RESUBMIT,
        command=DeAnResubmit,
        decider=rules.decide_resubmit,
        label_en="Resubmit the supplemented dossier",
        writes=(),
        answers=_S.RETURNED,
    ),
    ActionDefinition(
        name="appraise",
        action=_A.APPRAISE,
        command=DeAnAppraise,
        decider=rules.decide_appraise,
        label_en="Appraise",
        writes=("appraisal",),
        authority=Authority.BY_STAGE,
        inbox=InboxEntry(excluded=lambda f: f.registered_by),
        update_ref="minutes_number",
    ),
    ActionDefinition(
        name="approve",
        action=_A.APPROVE,
        command=DeAnApprove,
        decider=rules.decide_approve,
        label_en="Approve",
        writes=("decision", "decision_register"),
        inbox=InboxEntry(excluded=lambda f: f.registered_by | f.appraised_by),
        update_ref="decision_number",
    ),
    ActionDefinition(
        name="reject",
        action=_A.REJECT,
        command=DeAnReject,
        decider=rules.decide_reject,
        label_en="Reject (not selected)",
        writes=("decision", "decision_register"),
        update_ref="decision_number",
    ),
    ActionDefinition(
        name="sign_contract",
        action=_A.SIGN_CONTRACT,
        command=DeAnSignContract,
        decider=rules.decide_sign_contract,
        label_en="Sign the contract",
        writes=("contract",),
        update_ref="contract_number",
    ),
    ActionDefinition(
        name="report_progress",
        action=_A.REPORT_PROGRESS,
        command=DeAnReportProgress,
        decider=rules.decide_report_progress,
        label_en="Report monthly progress",
        writes=("progress_report",),
        inbox=InboxEntry(due=_report_due),
        update_ref="month",
    ),
    ActionDefinition(
        name="confirm_progress",
        action=_A.CONFIRM_PROGRESS,
        command=DeAnConfirmProgress,
        decider=rules.decide_confirm_progress,
        label_en="Confirm a progress report",
        writes=("progress_report",),
        inbox=InboxEntry(possible=lambda f: f.unconfirmed_reports),
        update_ref="month",
    ),
    ActionDefinition(
        name="record_visit",
        action=_A.RECORD_VISIT,
        command=DeAnRecordVisit,
        decider=rules.decide_record_visit,
        label_en="Record a monitoring visit",
        writes=("monitoring_visit",),
        inbox=DISCRETIONARY,
        update_ref="minutes_number",
    ),
    ActionDefinition(
        name="resolve_findings",
        action=_A.RESOLVE_FINDINGS,
        command=DeAnResolveFindings,
        decider=rules.decide_resolve_findings,
        switched=True,
        label_en="Resolve the visit's findings",
        writes=(),
        inbox=InboxEntry(possible=lambda f: f.open_findings),
        answers=_A.RECORD_VISIT,
    ),
    ActionDefinition(
        name="request_advance",
        action=_A.REQUEST_ADVANCE,
        command=DeAnRequestAdvance,
        decider=rules.decide_request_advance,
        switched=True,
        label_en="Request an advance",
        writes=("advance_request",),
        inbox=InboxEntry(discretionary=True, possible=_advance_requestable),
        # No paper: the same request (date, amount, official) sent again is the same request.
    ),
    ActionDefinition(
        name="pay_advance",
        action=_A.PAY_ADVANCE,
        command=DeAnPayAdvance,
        decider=rules.decide_pay_advance,
        switched=True,
        label_en="Pay an advance",
        writes=("payment",),
        inbox=InboxEntry(
            possible=_advance_payable,
            excluded=lambda f: f.approved_by | {f.last_requested_by or ""},
        ),
        update_ref="request_no",
    ),
    ActionDefinition(
        name="adjust",
        action=_A.ADJUST,
        command=DeAnAdjust,
        decider=rules.decide_adjust,
        switched=True,
        label_en="Adjust",
        writes=("decision", "decision_register"),
        authority=Authority.BY_KIND,
        inbox=DISCRETIONARY,
        update_ref="decision_number",
        help="change_site ghi địa điểm mới (--new-address, --new-commune, --new-district); "
        "change_timing ghi ngày mới trong năm kế hoạch (--new-start, --new-end).",
    ),
    ActionDefinition(
        name="stop",
        action=_A.STOP,
        command=DeAnStop,
        decider=rules.decide_stop,
        switched=True,
        label_en="Stop",
        writes=("decision", "decision_register"),
        inbox=DISCRETIONARY,
        update_ref="decision_number",
    ),
    ActionDefinition(
        name="accept",
        action=_A.ACCEPT,
        command=DeAnAccept,
        decider=rules.decide_accept,
        label_en="Base acceptance",
        writes=("acceptance",),
        update_ref="minutes_number",
    ),
    ActionDefinition(
        name="submit_settlement_dossier",
        action=_A.SUBMIT_SETTLEMENT_DOSSIER,
        command=DeAnSubmitSettlementDossier,
        decider=rules.decide_submit_settlement_dossier,
        label_en="Submit the settlement dossier",
        writes=(),
        inbox=InboxEntry(possible=lambda f: not f.settlement_dossier_submitted),
        update_ref="submitted_on",
    ),
    ActionDefinition(
        name="settle",
        action=_A.SETTLE,
        command=DeAnSettle,
        decider=rules.decide_settle,
        switched=True,
        label_en="Settle",
        writes=("settlement",),
        inbox=InboxEntry(due=_settlement_due),
        update_ref="settlement_number",
    ),
    ActionDefinition(
        name="pay_settlement",
        action=_A.PAY_SETTLEMENT,
        command=DeAnPaySettlement,
        decider=rules.decide_pay_settlement,
        label_en="Pay the settlement",
        writes=("payment",),
        inbox=InboxEntry(
            possible=lambda f: _payable(f) and f.refund_owed == 0,
            excluded=lambda f: f.approved_by | f.settled_by,
        ),
        update_ref="voucher_number",
    ),
    ActionDefinition(
        name="record_refund",
        action=_A.RECORD_REFUND,
        command=DeAnRecordRefund,
        decider=rules.decide_record_refund,
        label_en="Record a refund",
        writes=("payment",),
        inbox=InboxEntry(possible=lambda f: f.refund_owed > 0),  # refunds are never held
        update_ref="voucher_number",
    ),
)
"""The lifecycle's own official actions, in lifecycle order (the order of
:class:`domain.stages.Action`); their stages and senders are written in :mod:`domain.stages`
and :mod:`domain.authority`."""


def register(definition: ActionDefinition[Any]) -> ActionDefinition[Any]:
    """Add what ``definition`` says of its action to the domain's tables: the stages that
    allow it (:func:`domain.stages.add_transitions`) and who may send it
    (:func:`domain.authority.add_senders`). Idempotent."""
    add_transitions(definition.action, definition.moves)
    add_senders(definition.action, definition.sent_by)
    return definition


def discover(package: ModuleType = workflows.actions) -> tuple[ActionDefinition[Any], ...]:
    """The definition (``DEFINITION``) of every module of ``package`` (:mod:`workflows.actions`:
    one module per action added after the lifecycle's), in the modules' name order,
    registered (:func:`register`). Deterministic: the same modules give the same tuple."""
    found: list[ActionDefinition[Any]] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        defined = getattr(module, "DEFINITION", None)
        if not isinstance(defined, ActionDefinition):
            raise TypeError(f"{module.__name__} has no DEFINITION (an ActionDefinition)")
        found.append(register(defined))
    return tuple(found)


CATALOGUE: tuple[ActionDefinition[Any], ...] = (*LIFECYCLE, *discover())
"""Every official action: the lifecycle's, then those of :mod:`workflows.actions`."""

NOT_UPDATES = frozenset({Action.REGISTER, Action.DEADLINE_MISSED})
"""Actions that are not updates: the registration is the workflow's start, a missed deadline
is the workflow's own timer."""

BY_ACTION: Mapping[Action, ActionDefinition[Any]] = {d.action: d for d in CATALOGUE}
BY_COMMAND: Mapping[type[DeAnCommand], ActionDefinition[Any]] = {d.command: d for d in CATALOGUE}
if len(BY_ACTION) != len(CATALOGUE) or len(BY_COMMAND) != len(CATALOGUE):
    raise TypeError("two definitions of one action, or one command model for two actions")

__all__ = [
    "BY_ACTION",
    "BY_COMMAND",
    "CATALOGUE",
    "DISCRETIONARY",
    "LIFECYCLE",
    "NOT_UPDATES",
    "ActionDefinition",
    "Authority",
    "Decider",
    "InboxEntry",
    "InboxFacts",
    "SwitchedDecider",
    "decide",
    "definition",
    "discover",
    "for_command",
    "register",
    "updates_doc",
]


def definition(action: Action) -> ActionDefinition[Any]:
    """The definition of ``action``; KeyError for the actions that are not updates."""
    return BY_ACTION[action]


def for_command(command: DeAnCommand) -> ActionDefinition[Any]:
    """The action a command is sent as (its model's type names it)."""
    found = BY_COMMAND.get(type(command))
    if found is None:
        raise TypeError(f"{type(command).__name__} is not the command of an official action")
    return found


def decide(
    state: DeAnState,
    action: Action,
    command: DeAnCommand,
    now: datetime,
    switches: RuleSwitches = CURRENT_RULES,
) -> Outcome:
    """Judge ``command`` as ``action`` on ``state``: the deactivated-official check, then the
    action's decider (with ``switches`` when its rules changed behind a patch)."""
    rules.check_active(state, command.actor)
    definition = BY_ACTION[action]
    return rules.deciding_under(switches, lambda: definition.decide(state, command, now, switches))


def updates_doc(indent: str = "    ") -> str:
    """The update list of ``DeAnWorkflow``'s docstring: each update and who sends it."""
    return f"\n{indent}".join(f"- ``{d.name}``: {d.senders()}" for d in CATALOGUE)
