"""Every decider starts with the shared checks (``begin``), in the order they always ran:
stage, then role and jurisdiction, then the rules of the action, the date of its paper where
the action checks it after them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.authority import AdjustmentKind
from domain.errors import Refusal, RefusalCode
from domain.rules import load_packs
from domain.stages import Action, Stage
from tests.support.builders import SO, TRUNG_TAM, UBND, dossier_on
from workflows import de_an_decisions as decisions
from workflows.de_an_actions import decide
from workflows.de_an_contract import DeAnAdjust, DeAnAppraise, DeAnReject, DeAnState

TODAY = date(2019, 6, 10)
NOW = datetime(2019, 6, 10, 3, 0, tzinfo=UTC)
FUTURE = date(2019, 7, 1)


def registered() -> DeAnState:
    state = decisions.initial_state(dossier_on(TODAY), TRUNG_TAM, date(2019, 1, 15), load_packs())
    return decisions.decide_register(state, NOW).state


def refusal_of(action: Action, command: object, state: DeAnState) -> Refusal:
    with pytest.raises(Refusal) as refused:
        decide(state, action, command, NOW)  # type: ignore[arg-type]
    return refused.value


def test_an_appraisal_by_its_registering_official_is_refused_for_four_eyes_before_its_date() -> (
    None
):
    command = DeAnAppraise(
        actor=TRUNG_TAM.model_copy(update={"role": SO.role, "organisation": SO.organisation}),
        verdict="pass",
        appraised_on=FUTURE,
        minutes_number="T-1",
    )

    assert refusal_of(Action.APPRAISE, command, registered()).code == RefusalCode.FOUR_EYES


def test_a_rejection_in_the_wrong_stage_is_refused_for_the_stage_before_the_role() -> None:
    command = DeAnReject(actor=SO, decision_number="1/QĐ-UBND", decision_date=TODAY, reason="x")

    assert refusal_of(Action.REJECT, command, registered()).code == RefusalCode.WRONG_STAGE


def test_an_adjustment_is_judged_by_the_authority_of_its_kind() -> None:
    state = registered().model_copy(update={"stage": Stage.IN_PROGRESS})
    command = DeAnAdjust(
        actor=SO,
        kind=AdjustmentKind.EXTEND_NEXT_YEAR,
        decision_number="2/QĐ-UBND",
        decision_date=FUTURE,
        description="Gia hạn",
    )

    assert refusal_of(Action.ADJUST, command, state).code == RefusalCode.WRONG_AUTHORITY
    by_ubnd = command.model_copy(update={"actor": UBND})
    assert refusal_of(Action.ADJUST, by_ubnd, state).code == RefusalCode.INVALID_FIELD  # date
