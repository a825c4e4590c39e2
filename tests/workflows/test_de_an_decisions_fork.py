"""Deciders copy the state on write (:func:`workflows.de_an_decisions.fork`), not deeply: the
state they are given is never touched, and every outcome (state and step) is the one a deep
copy gave, on every path of the chaos suite, refusals included."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.errors import Refusal
from domain.model import Actor
from domain.rules import load_packs, packs_for
from domain.stages import Action
from khuyencong.admin.client import COMMANDS
from khuyencong.chaos.officials import ROSTER
from khuyencong.chaos.paths import PATHS, LifePath
from workflows import de_an_decisions as rules
from workflows.de_an_actions import decide
from workflows.de_an_contract import DeAnState
from workflows.de_an_decisions import (
    appraisal,
    common,
    deadlines,
    decision,
    implementation,
    registration,
    settlement,
)

DAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
PACKS = load_packs()
DECIDER_MODULES = (appraisal, deadlines, decision, implementation, registration, settlement)


def actor(key: str) -> Actor:
    role, province, name, organisation = ROSTER[key]
    return Actor(
        official_id=key, full_name=name, role=role, organisation=organisation, province=province
    )


def walk(path: LifePath) -> Iterator[tuple[DeAnState, Any]]:
    """Every decision of ``path`` on the pure rules: the state it was given and its outcome
    (or refusal); then every deadline of the state it ends in, missed."""
    dossier = path.dossier("T-1", DAY)
    packs = packs_for(PACKS, dossier.level, dossier.province)
    state = rules.initial_state(dossier, actor("tt"), DAY, packs)
    outcome = rules.decide_register(state, NOW)
    yield state, outcome
    state = outcome.state
    for step in path.steps:
        payload = step.payload(DAY)
        if payload.get("dossier") == "@dossier":  # a resubmission (khuyencong.chaos.clerk)
            payload["dossier"] = dossier.model_copy(update={"title": f"{dossier.title} (bổ sung)"})
        command = COMMANDS[step.action].model_validate({**payload, "actor": actor(step.who)})
        try:
            outcome = decide(state, step.action, command, NOW)
        except Refusal as refusal:
            yield state, refusal
            continue
        yield state, outcome
        state = outcome.state
    for deadline in rules.pending_deadlines(state):
        outcome = rules.decide_deadline_missed(state, deadline, NOW)
        yield state, outcome
        state = outcome.state


def results(path: LifePath) -> list[Any]:
    """What each decision of ``path`` gave, as data; each given state checked untouched."""
    found: list[Any] = []
    for given, outcome in _checked(walk(path)):
        assert given is not None
        if isinstance(outcome, Refusal):
            found.append(("refused", outcome.code, str(outcome)))
        else:
            found.append((outcome.state.model_dump(), outcome.step.model_dump(), outcome.message))
    return found


def _checked(
    decisions: Iterator[tuple[DeAnState, Any]],
) -> Iterator[tuple[DeAnState, Any]]:
    previous: tuple[DeAnState, dict[str, Any]] | None = None
    for given, outcome in decisions:
        if previous is not None:
            state, before = previous
            assert state.model_dump() == before, "a decider changed the state it was given"
        yield given, outcome
        previous = (given, given.model_dump())
        # The next decision runs when the generator resumes: check after it too.
    if previous is not None:
        state, before = previous
        assert state.model_dump() == before


def deep_fork(state: DeAnState) -> DeAnState:
    return state.model_copy(deep=True)


@pytest.fixture
def with_fork(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[Callable[[DeAnState], DeAnState]], None]:
    def use(fork: Callable[[DeAnState], DeAnState]) -> None:
        for module in DECIDER_MODULES:
            monkeypatch.setattr(module, "fork", fork)

    return use


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_every_decision_of_a_path_leaves_its_state_untouched_and_decides_as_a_deep_copy_did(
    path: LifePath, with_fork: Callable[[Callable[[DeAnState], DeAnState]], None]
) -> None:
    copied_on_write = results(path)
    with_fork(deep_fork)
    deep = results(path)
    assert copied_on_write == deep
    assert any(not isinstance(r[0], str) for r in copied_on_write)


def test_a_fork_shares_what_deciders_never_change_and_copies_what_they_do() -> None:
    state = next(iter(walk(PATHS[0])))[1].state
    after = common.fork(state)
    assert after == state
    assert after.dossier is state.dossier
    assert after.rule_packs is not state.rule_packs
    assert all(a is b for a, b in zip(after.rule_packs, state.rule_packs, strict=True))
    assert after.timeline is not state.timeline and after.timeline == state.timeline
    assert after.model_fields_set == state.model_fields_set
    assert copy.deepcopy(state) == state


def test_paying_an_advance_marks_the_copy_paid_not_the_request_in_the_given_state() -> None:
    path = next(p for p in PATHS if any(s.action is Action.PAY_ADVANCE for s in p.steps))
    for given, outcome in walk(path):
        if not isinstance(outcome, Refusal) and outcome.step.action is Action.PAY_ADVANCE:
            assert any(a.paid_on is None for a in given.advances)
            assert given.advances[0] is not outcome.state.advances[0]
            return
    pytest.fail("no advance paid on the path")
