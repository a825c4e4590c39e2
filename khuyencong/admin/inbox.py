"""What waits for an official: pure rules over one open đề án of the read model.

An action waits for an official when, at the đề án's current stage,

1. the lifecycle allows it (:func:`domain.stages.allowed_actions`);
2. the official's role may take it (:func:`domain.authority.roles_for`, and for an adjustment
   any kind's deciders, :func:`domain.authority.adjustment_deciders`) and the đề án is in
   their jurisdiction (:func:`domain.authority.check_jurisdiction`);
3. what the read model knows makes it possible now (an advance to pay needs an open request;
   a report to confirm needs an unconfirmed report; ...);
4. four-eyes does not exclude the official (they did not register or appraise what they
   would approve, nor approve, request or settle what they would pay);
5. it is *due*: the step the lifecycle expects next. Discretionary actions (adjust, stop,
   monitoring visit, advance request) are possible at any time but never "wait"; ``--all``
   lists them too.

Points 2 to 5 are each action's inbox entry and authority in the catalogue
(:class:`workflows.de_an_actions.InboxEntry`); this module applies them. The workflow stays
the judge: this only decides what to show.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.authority import check_jurisdiction
from domain.errors import Refusal
from domain.model import Actor, DeAnDossier, Level, Role
from domain.stages import Action, Stage, allowed_actions
from khuyencong.places import SHIPPED_UNITS
from workflows.de_an_actions import CATALOGUE, definition

_NONE: frozenset[str] = frozenset()
_LEVELS = {level.value: level for level in Level}
_STAGES = {stage.value: stage for stage in Stage}

DISCRETIONARY = frozenset(d.action for d in CATALOGUE if d.inbox.discretionary)
"""Possible at any time in their stages, never waiting for anyone."""


@dataclass(frozen=True)
class OpenDeAn:
    """What the inbox knows of one open đề án (a row of the ``de_an_inbox`` view)."""

    code: str
    level: Level
    province: str
    stage: Stage
    group_project: bool = False
    registered_by: frozenset[str] = field(default_factory=frozenset)
    appraised_by: frozenset[str] = field(default_factory=frozenset)
    approved_by: frozenset[str] = field(default_factory=frozenset)
    settled_by: frozenset[str] = field(default_factory=frozenset)
    last_requested_by: str | None = None
    open_requests: int = 0
    settlement_dossier_submitted: bool = False
    unconfirmed_reports: bool = False
    reported_months: frozenset[str] = field(default_factory=frozenset)
    open_findings: bool = False
    payments_on_hold: bool = False
    refund_owed: int = 0
    stopped: bool = False
    registered_on: date | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> OpenDeAn:
        def ids(name: str) -> frozenset[str]:
            found = row[name]
            return frozenset(found) if found else _NONE

        # Called for every open đề án of an inbox: enum members by dictionary, not by call.
        return cls(
            code=row["code"],
            level=_LEVELS[row["level"]],
            province=row["province"],
            stage=_STAGES[row["stage"]],
            group_project=bool(row["group_project"]),
            registered_by=ids("registered_by"),
            appraised_by=ids("appraised_by"),
            approved_by=ids("approved_by"),
            settled_by=ids("settled_by"),
            last_requested_by=row["last_requested_by"],
            open_requests=int(row["open_requests"]),
            settlement_dossier_submitted=bool(row["settlement_dossier_submitted"]),
            unconfirmed_reports=bool(row["unconfirmed_reports"]),
            reported_months=ids("reported_months"),
            open_findings=bool(row["open_findings"]),
            payments_on_hold=bool(row.get("payments_on_hold", False)),
            refund_owed=int(row["refund_owed"]),
            stopped=bool(row.get("stopped", False)),
            registered_on=row.get("registered_on"),
        )

    def jurisdiction(self) -> DeAnDossier:
        """The dossier fields the authority rules read (level, province, group project)."""
        return _jurisdiction(self.level, self.province, self.group_project)


@functools.lru_cache(maxsize=4096)
def _jurisdiction(level: Level, province: str, group_project: bool) -> DeAnDossier:
    # Built once per (level, province, group project): the inbox asks it of every open đề án
    # for each action its stage allows (10,000 đề án: most of the inbox's time, uncached).
    fields: dict[str, Any] = {
        "level": level,
        "province": province,
        "group_project": group_project,
    }
    return DeAnDossier.model_construct(**fields)


def roles_allowed(action: Action, item: OpenDeAn) -> frozenset[Role]:
    """Who may take ``action`` on ``item`` in its stage (an adjustment: of any kind)."""
    return definition(action).roles(item.jurisdiction(), item.stage)


def possible(action: Action, item: OpenDeAn) -> bool:
    """Whether what the read model knows lets the action happen now."""
    return definition(action).inbox.possible(item)


def due(action: Action, item: OpenDeAn, today: date) -> bool:
    """Whether the lifecycle expects the action now (rather than merely allowing it)."""
    entry = definition(action).inbox
    return not entry.discretionary and entry.due(item, today)


def four_eyes_excludes(action: Action, item: OpenDeAn, official_id: str) -> bool:
    """The same exclusions the workflow applies (workflows.de_an_decisions)."""
    return official_id in definition(action).inbox.excluded(item)


def waiting_actions(
    item: OpenDeAn, actor: Actor, today: date, *, include_optional: bool = False
) -> list[Action]:
    """The actions of ``item`` that wait for ``actor`` (all it may take, with
    ``include_optional``), in lifecycle order."""
    return InboxRules(actor, today, include_optional=include_optional).waiting(item)


class InboxRules:
    """:func:`waiting_actions` for one official and one day over many đề án: the same rules,
    with what depends only on the đề án's jurisdiction (level, province, group project,
    registration date) and stage worked out once per distinct value rather than per đề án.
    The facts of each đề án (possible, due, four-eyes) are still read per đề án."""

    def __init__(self, actor: Actor, today: date, *, include_optional: bool = False) -> None:
        self.actor = actor
        self.today = today
        self.include_optional = include_optional
        self._in_jurisdiction: dict[tuple[Level, str, bool, date | None], bool] = {}
        self._candidates: dict[tuple[Stage, Level, str, bool], tuple[Action, ...]] = {}

    def in_jurisdiction(self, item: OpenDeAn) -> bool:
        key = (item.level, item.province, item.group_project, item.registered_on)
        known = self._in_jurisdiction.get(key)
        if known is None:
            try:
                # As the workflow judges it: the province that answers today for the one the
                # đề án was registered in (unit-successor-jurisdiction-v1).
                place: dict[str, Any] = {}
                if item.registered_on is not None:
                    place = {
                        "units": SHIPPED_UNITS,
                        "registered_on": item.registered_on,
                        "on": self.today,
                    }
                check_jurisdiction(self.actor, item.jurisdiction(), **place)
                known = True
            except Refusal:
                known = False
            self._in_jurisdiction[key] = known
        return known

    def candidates(self, item: OpenDeAn) -> tuple[Action, ...]:
        """The actions the stage allows and the official's role may take, in lifecycle
        order (without repeats)."""
        key = (item.stage, item.level, item.province, item.group_project)
        known = self._candidates.get(key)
        if known is None:
            found: list[Action] = []
            for action in allowed_actions(item.stage):
                if self.actor.role in roles_allowed(action, item) and action not in found:
                    found.append(action)
            known = self._candidates[key] = tuple(found)
        return known

    def waiting(self, item: OpenDeAn) -> list[Action]:
        if item.stage.terminal:
            return []
        candidates = self.candidates(item)
        if not candidates or not self.in_jurisdiction(item):
            return []
        found: list[Action] = []
        for action in candidates:
            if not possible(action, item):
                continue
            if not self.include_optional and not due(action, item, self.today):
                continue
            if four_eyes_excludes(action, item, self.actor.official_id):
                continue
            found.append(action)
        return found


def acting_stages(role: Role) -> frozenset[tuple[Level, Stage]]:
    """The (level, stage) pairs in which an official of ``role`` may take some action (with
    ``--all``, discretionary ones included): derived from the catalogue's authority and the
    lifecycle. The inbox asks the read model for these only; an open đề án at any other pair
    waits for nobody of that role (tests/khuyencong/admin/test_inbox.py holds it to
    :func:`waiting_actions` for every role, level, stage and group project)."""
    # Not cached: an action registered later (workflows.actions) adds rows to the lifecycle.
    pairs: set[tuple[Level, Stage]] = set()
    for level in Level:
        for stage in Stage:
            if stage.terminal:
                continue
            for group_project in (False, True):
                dossier = _jurisdiction(level, "", group_project)
                if any(
                    role in definition(action).roles(dossier, stage)
                    for action in allowed_actions(stage)
                ):
                    pairs.add((level, stage))
    return frozenset(pairs)


def cli_command(action: Action, code: str) -> str:
    return f"khuyencong de-an {definition(action).cli_name} {code}"
