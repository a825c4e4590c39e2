"""The successor-jurisdiction rule as pure decisions: when the patch is at stake, and how a
step is decided under the old rule and the new one."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.errors import Refusal, RefusalCode
from domain.rules import load_packs
from domain.stages import Action
from tests.support.builders import SO, SO_BAC_NINH, TRUNG_TAM, dossier_on
from tests.support.lifecycle import appraisal
from workflows import de_an_decisions as rules
from workflows.de_an_actions import decide
from workflows.de_an_contract import DeAnState
from workflows.de_an_decisions import RuleSwitches
from workflows.de_an_decisions.common import act_day

PACKS = load_packs()
AFTER = datetime(2026, 3, 2, 3, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def registered(on: date) -> DeAnState:
    state = rules.initial_state(dossier_on(TODAY), TRUNG_TAM, on, PACKS)
    return rules.decide_register(state, datetime(2025, 1, 2, 3, tzinfo=UTC)).state


def test_the_patch_is_at_stake_only_when_the_province_had_been_succeeded_on_the_acts_date() -> None:
    state = registered(date(2025, 3, 1))
    patch = rules.UNIT_SUCCESSOR_PATCH
    assert patch in rules.patches_at_stake(state, Action.APPRAISE, appraisal(SO, TODAY), AFTER)
    before = appraisal(SO, date(2025, 6, 30))
    assert patch not in rules.patches_at_stake(state, Action.APPRAISE, before, AFTER)
    assert patch not in rules.patches_at_stake(state, Action.APPRAISE, appraisal(SO, TODAY))
    # Registered (by the clock) after Bắc Giang had ended: its name alone decides.
    late = registered(date(2026, 1, 5))
    assert patch not in rules.patches_at_stake(late, Action.APPRAISE, appraisal(SO, TODAY), AFTER)


def test_the_act_is_judged_on_its_papers_date_else_on_the_workflows_day() -> None:
    assert act_day(appraisal(SO, date(2025, 6, 20)), AFTER) == date(2025, 6, 20)
    assert act_day(object(), AFTER) == TODAY


def test_under_the_old_rule_the_name_decides_under_the_new_the_successor() -> None:
    state = registered(date(2025, 3, 1))
    old = RuleSwitches(unit_successor_jurisdiction=False)

    decide(state, Action.APPRAISE, appraisal(SO, TODAY), AFTER, old)
    with pytest.raises(Refusal) as caught:
        decide(state, Action.APPRAISE, appraisal(SO, TODAY), AFTER)
    assert caught.value.code == RefusalCode.WRONG_JURISDICTION

    with pytest.raises(Refusal):
        decide(state, Action.APPRAISE, appraisal(SO_BAC_NINH, TODAY), AFTER, old)
    outcome = decide(state, Action.APPRAISE, appraisal(SO_BAC_NINH, TODAY), AFTER)
    assert outcome.state.answering_province == "Bắc Ninh"
    assert outcome.step.details["jurisdiction_transfer"]["to_name"] == "Bắc Ninh"
    assert rules.switches_for({rules.UNIT_SUCCESSOR_PATCH: False}) == old
