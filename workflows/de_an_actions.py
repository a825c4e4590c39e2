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

``tests/workflows/test_de_an_actions.py`` fails when an action lacks any of these. Pure: no
Temporal and no asyncpg (the workflow imports it into its sandbox).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from domain.authority import AdjustmentKind, adjustment_deciders, appraisers, roles_for
from domain.deadlines import month_key
from domain.model import DeAnDossier, Level, Role
from domain.stages import Action, Stage
from workflows import de_an_decisions as rules
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

C = TypeVar("C", bound=DeAnCommand)
C_contra = TypeVar("C_contra", bound=DeAnCommand, contravariant=True)


class Decider(Protocol[C_contra]):
    """``decide_*(state, command, now)``: a rule of :mod:`workflows.de_an_decisions`."""

    def __call__(self, state: DeAnState, cmd: C_contra, now: datetime, /) -> Outcome: ...


class SwitchedDecider(Protocol[C_contra]):
    """A decider whose rules changed behind a workflow patch: it also takes the
    :class:`~workflows.de_an_decisions.RuleSwitches` a replayed step was decided by."""

    def __call__(
        self, state: DeAnState, cmd: C_contra, now: datetime, switches: RuleSwitches, /
    ) -> Outcome: ...


class Authority(StrEnum):
    """Where :mod:`domain.authority` says who may send an action."""

    BY_LEVEL = "by_level"
    """``MATRIX[(action, level)]`` (:func:`domain.authority.roles_for`)."""
    BY_STAGE = "by_stage"
    """The appraisal round: :func:`domain.authority.appraisers` (Sở, then Cục for national)."""
    BY_KIND = "by_kind"
    """The kind of adjustment: :func:`domain.authority.adjustment_deciders` (TT 36 Điều 11)."""


class InboxFacts(Protocol):
    """What the inbox knows of an open đề án (``khuyencong.admin.inbox.OpenDeAn``, a row of
    the ``de_an_inbox`` view): the facts the inbox rules below read."""

    @property
    def registered_by(self) -> frozenset[str]: ...
    @property
    def appraised_by(self) -> frozenset[str]: ...
    @property
    def approved_by(self) -> frozenset[str]: ...
    @property
    def settled_by(self) -> frozenset[str]: ...
    @property
    def last_requested_by(self) -> str | None: ...
    @property
    def open_requests(self) -> int: ...
    @property
    def settlement_dossier_submitted(self) -> bool: ...
    @property
    def unconfirmed_reports(self) -> bool: ...
    @property
    def reported_months(self) -> frozenset[str]: ...
    @property
    def open_findings(self) -> bool: ...
    @property
    def payments_on_hold(self) -> bool: ...
    @property
    def refund_owed(self) -> int: ...
    @property
    def stopped(self) -> bool: ...


def _always(_: InboxFacts) -> bool:
    return True


def _due_now(_: InboxFacts, __: date) -> bool:
    return True


def _nobody(_: InboxFacts) -> frozenset[str]:
    return frozenset()


@dataclass(frozen=True)
class InboxEntry:
    """How the inbox (:mod:`khuyencong.admin.inbox`) shows an action its stage allows, to an
    official its authority allows. The workflow stays the judge: this only decides what to
    show."""

    discretionary: bool = False
    """Possible at any time in its stages but never *waiting* for anyone (``inbox --all``)."""
    possible: Callable[[InboxFacts], bool] = _always
    """Whether what the read model knows lets the action happen now."""
    due: Callable[[InboxFacts, date], bool] = _due_now
    """Whether the lifecycle expects it now (not asked of a discretionary action)."""
    excluded: Callable[[InboxFacts], frozenset[str]] = _nobody
    """Officials four-eyes excludes (the same exclusions the decider applies)."""


@dataclass(frozen=True)
class ActionDefinition(Generic[C]):
    """One official action, sent to ``DeAnWorkflow`` as the update :attr:`name`."""

    name: str
    """The update's name, as recorded in every history: never change it."""
    action: Action
    command: type[C]
    """The update's one argument (:mod:`workflows.de_an_contract`)."""
    decider: Decider[C]
    """The rule (:mod:`workflows.de_an_decisions`); it checks stage, authority and the rest."""
    label_en: str
    """English label (the Vietnamese one is :attr:`domain.stages.Action.label`)."""
    writes: tuple[str, ...]
    """Tables its step writes besides ``de_an`` (read model) and ``de_an_event`` (descriptive;
    ``db/de_an.py`` writes them, :mod:`db.steps` says which)."""
    switched: bool = False
    """Its rules changed behind a patch: the decider takes :class:`RuleSwitches`."""
    authority: Authority = Authority.BY_LEVEL
    inbox: InboxEntry = field(default_factory=InboxEntry)
    update_ref: str | None = None
    """The payload field naming the paper behind it (decision, minutes, voucher, month): the
    reference in its update ID (``khuyencong.admin.client.update_id_for``)."""
    answers: Stage | Action | None = None
    """For an action without a paper of its own: the k-th of it answers the k-th entry into
    this stage, or the k-th step of this action (read from the event log); that count is its
    update ID's reference, so the same action sent again after a lost answer keeps its ID."""
    help: str = ""
    """More for ``khuyencong de-an <command> --help`` than its label and who may send it."""

    def __post_init__(self) -> None:
        if self.name != self.action.value:
            raise ValueError(f"update {self.name!r} is not the action {self.action.value!r}")
        takes_switches = "switches" in inspect.signature(self.decider).parameters
        if takes_switches is not self.switched:
            raise ValueError(f"{self.name}: switched={self.switched} but its decider disagrees")

    @property
    def label(self) -> str:
        return self.action.label

    @property
    def cli_name(self) -> str:
        """``khuyencong de-an <cli_name>``."""
        return self.name.replace("_", "-")

    def decide(
        self,
        state: DeAnState,
        command: DeAnCommand,
        now: datetime,
        switches: RuleSwitches = CURRENT_RULES,
    ) -> Outcome:
        if not isinstance(command, self.command):
            raise TypeError(f"{self.name} takes {self.command.__name__}, not {type(command)}")
        if self.switched:
            switched: SwitchedDecider[C] = self.decider  # type: ignore[assignment]
            return switched(state, command, now, switches)
        return self.decider(state, command, now)

    def roles(self, dossier: DeAnDossier, stage: Stage | None = None) -> frozenset[Role]:
        """Who may send it on ``dossier`` (level, group project) in ``stage``; ``None``: in
        any stage (both appraisal rounds) and for any kind of adjustment."""
        if self.authority is Authority.BY_KIND:
            found: frozenset[Role] = frozenset()
            for kind in AdjustmentKind:
                found |= adjustment_deciders(kind, dossier)
            return found
        if self.authority is Authority.BY_STAGE and stage is None:
            return appraisers(Stage.REGISTERED, dossier.level) | appraisers(
                Stage.BASE_APPRAISED, dossier.level
            )
        return roles_for(self.action, dossier, stage or Stage.REGISTERED)

    def roles_by_level(self, level: Level, *, group_project: bool = False) -> frozenset[Role]:
        fields: dict[str, Any] = {"level": level, "province": "", "group_project": group_project}
        return self.roles(DeAnDossier.model_construct(**fields))

    def senders(self) -> str:
        """Who sends it, per level (for the workflow's docstring)."""

        def names(level: Level) -> str:
            chosen = self.roles_by_level(level)
            return ", ".join(r.value for r in Role if r in chosen) or "—"

        return f"quốc gia {names(Level.QUOC_GIA)}; địa phương {names(Level.DIA_PHUONG)}"


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


DISCRETIONARY = InboxEntry(discretionary=True)

# --- the catalogue --------------------------------------------------------------------------

_S, _A = Stage, Action

CATALOGUE: tuple[ActionDefinition[Any], ...] = (
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
"""Every official action, in lifecycle order (the order of :class:`domain.stages.Action`)."""

NOT_UPDATES = frozenset({Action.REGISTER, Action.DEADLINE_MISSED})
"""Actions that are not updates: the registration is the workflow's start, a missed deadline
is the workflow's own timer."""

BY_ACTION: Mapping[Action, ActionDefinition[Any]] = {d.action: d for d in CATALOGUE}
BY_COMMAND: Mapping[type[DeAnCommand], ActionDefinition[Any]] = {d.command: d for d in CATALOGUE}


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
