"""What one official action is: :class:`ActionDefinition`, and the pieces it is made of (its
decider's signature, where its senders are read, its inbox entry).

The catalogue of the lifecycle's actions is :mod:`workflows.de_an_actions`; an action added
later is a module of :mod:`workflows.actions` with its own definition, which names everything
about it: the stages that allow it (:attr:`ActionDefinition.moves`), who may send it
(:attr:`ActionDefinition.senders`) and its detail row (:attr:`ActionDefinition.row`). Pure:
no Temporal and no asyncpg (the workflow imports it into its sandbox).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from domain.authority import AdjustmentKind, adjustment_deciders, appraisers, roles_for
from domain.model import DeAnDossier, Level, Role
from domain.stages import Action, Stage
from workflows.de_an_contract import DeAnCommand, DeAnState
from workflows.de_an_decisions import CURRENT_RULES, Outcome, RuleSwitches
from workflows.de_an_rows import Row

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
    moves: Mapping[Stage, Stage] = field(default_factory=dict, compare=False)
    """The stages that allow it and the stage each leads to, added to
    :data:`domain.stages.TRANSITIONS` when the definition is registered. Empty for the
    lifecycle's own actions, whose rows are written in that table."""
    sent_by: Mapping[Level, frozenset[Role]] = field(default_factory=dict, compare=False)
    """Who may send it at each level, added to :data:`domain.authority.MATRIX` when the
    definition is registered. Empty for the lifecycle's own actions (written there)."""
    row: type[Row] | None = None
    """The model of the detail row its step writes (its decider puts one in ``DeAnStep.row``);
    None: its step writes only its event. The lifecycle's own actions are listed in
    ``db.steps.ROW_TYPES``; an :class:`~workflows.de_an_rows.InsertedRow` is written by the
    generic insert, so a new action needs no SQL of its own."""

    def __post_init__(self) -> None:
        if self.name != self.action.value:
            raise ValueError(f"update {self.name!r} is not the action {self.action.value!r}")
        takes_switches = "switches" in inspect.signature(self.decider).parameters
        if takes_switches is not self.switched:
            raise ValueError(f"{self.name}: switched={self.switched} but its decider disagrees")
        if self.row is not None and self.row.model_fields["table"].default not in self.writes:
            raise ValueError(f"{self.name}: writes {self.writes} but its row is another table")

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


DISCRETIONARY = InboxEntry(discretionary=True)
