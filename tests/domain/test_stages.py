"""The state machine of a đề án: stages, actions, transitions and appraisal routing."""

from __future__ import annotations

from collections import deque

import pytest

from domain.model import Level
from domain.stages import (
    ACTION_LABELS,
    STAGE_LABELS,
    TRANSITIONS,
    Action,
    Stage,
    allowed_actions,
    next_stage_after_appraisal,
)

VERDICTS = ("pass", "return", "fail")


def _successors(stage: Stage) -> set[Stage]:
    """Every stage one step away, including the level- and verdict-dependent appraisal."""
    nxt = {TRANSITIONS[(stage, a)] for a in allowed_actions(stage)}
    if Action.APPRAISE in allowed_actions(stage):
        nxt |= {next_stage_after_appraisal(stage, lv, v) for lv in Level for v in VERDICTS}
    return nxt


def _reachable(start: Stage) -> set[Stage]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in _successors(queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


# --- labels -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_has_a_vietnamese_label(stage: Stage) -> None:
    assert stage.label == STAGE_LABELS[stage]
    assert stage.label.strip()
    assert any(ord(ch) > 127 for ch in stage.label)


@pytest.mark.parametrize("action", list(Action))
def test_every_action_has_a_vietnamese_label(action: Action) -> None:
    assert action.label == ACTION_LABELS[action]
    assert action.label.strip()
    assert any(ord(ch) > 127 for ch in action.label)


def test_the_label_tables_name_exactly_the_stages_and_actions() -> None:
    assert set(STAGE_LABELS) == set(Stage)
    assert set(ACTION_LABELS) == set(Action)


def test_stage_labels_are_distinct() -> None:
    assert len(set(STAGE_LABELS.values())) == len(Stage)


# --- the transition table -----------------------------------------------------------------


@pytest.mark.parametrize(("key", "target"), list(TRANSITIONS.items()), ids=str)
def test_every_transition_goes_from_a_stage_by_an_action_to_a_stage(
    key: tuple[Stage, Action], target: Stage
) -> None:
    stage, action = key
    assert isinstance(stage, Stage)
    assert isinstance(action, Action)
    assert isinstance(target, Stage)


def test_only_rejected_and_closed_are_terminal() -> None:
    assert {s for s in Stage if s.terminal} == {Stage.REJECTED, Stage.CLOSED}


@pytest.mark.parametrize("stage", [s for s in Stage if s.terminal])
def test_a_terminal_stage_allows_no_action(stage: Stage) -> None:
    assert allowed_actions(stage) == []
    assert not any(s == stage for (s, _a) in TRANSITIONS)


@pytest.mark.parametrize("stage", [s for s in Stage if not s.terminal])
def test_every_open_stage_allows_some_action(stage: Stage) -> None:
    assert allowed_actions(stage)


@pytest.mark.parametrize(
    ("stage", "actions"),
    [
        (Stage.REGISTERED, {Action.APPRAISE}),
        (Stage.RETURNED, {Action.RESUBMIT}),
        (Stage.BASE_APPRAISED, {Action.APPRAISE}),
        (Stage.APPRAISED, {Action.APPROVE, Action.REJECT}),
        (Stage.APPROVED, {Action.SIGN_CONTRACT, Action.ADJUST, Action.STOP}),
        (
            Stage.IN_PROGRESS,
            {
                Action.REPORT_PROGRESS,
                Action.CONFIRM_PROGRESS,
                Action.RECORD_VISIT,
                Action.RESOLVE_FINDINGS,
                Action.REQUEST_ADVANCE,
                Action.PAY_ADVANCE,
                Action.ADJUST,
                Action.STOP,
                Action.ACCEPT,
            },
        ),
        (Stage.STOPPED, {Action.RECORD_VISIT, Action.RESOLVE_FINDINGS, Action.ACCEPT}),
        (
            Stage.ACCEPTED,
            {
                Action.RECORD_VISIT,
                Action.RESOLVE_FINDINGS,
                Action.REQUEST_ADVANCE,
                Action.PAY_ADVANCE,
                Action.SUBMIT_SETTLEMENT_DOSSIER,
                Action.SETTLE,
            },
        ),
        # findings holding the payout are resolved once settled (the hold stops paying, not
        # settling: TT 36/2013 Điều 18), else a settled đề án on hold could never close
        (Stage.SETTLED, {Action.RESOLVE_FINDINGS, Action.PAY_SETTLEMENT, Action.RECORD_REFUND}),
    ],
)
def test_allowed_actions_per_stage(stage: Stage, actions: set[Action]) -> None:
    allowed = allowed_actions(stage)
    assert set(allowed) == actions
    assert len(allowed) == len(set(allowed))


@pytest.mark.parametrize(
    ("stage", "action", "target"),
    [
        (Stage.RETURNED, Action.RESUBMIT, Stage.REGISTERED),
        (Stage.APPRAISED, Action.APPROVE, Stage.APPROVED),
        (Stage.APPRAISED, Action.REJECT, Stage.REJECTED),
        (Stage.APPROVED, Action.SIGN_CONTRACT, Stage.IN_PROGRESS),
        (Stage.APPROVED, Action.STOP, Stage.CLOSED),  # nothing contracted, nothing to settle
        (Stage.IN_PROGRESS, Action.STOP, Stage.STOPPED),
        (Stage.IN_PROGRESS, Action.ACCEPT, Stage.ACCEPTED),
        (Stage.STOPPED, Action.ACCEPT, Stage.ACCEPTED),
        (Stage.ACCEPTED, Action.SETTLE, Stage.SETTLED),
        (Stage.SETTLED, Action.PAY_SETTLEMENT, Stage.CLOSED),
        (Stage.SETTLED, Action.RECORD_REFUND, Stage.CLOSED),
    ],
)
def test_the_moving_transitions_follow_the_lifecycle(
    stage: Stage, action: Action, target: Stage
) -> None:
    assert TRANSITIONS[(stage, action)] is target


@pytest.mark.parametrize(
    "action",
    [
        Action.REPORT_PROGRESS,
        Action.CONFIRM_PROGRESS,
        Action.RECORD_VISIT,
        Action.REQUEST_ADVANCE,
        Action.PAY_ADVANCE,
        Action.ADJUST,
    ],
)
def test_reports_visits_advances_and_adjustments_keep_a_running_de_an_in_progress(
    action: Action,
) -> None:
    assert TRANSITIONS[(Stage.IN_PROGRESS, action)] is Stage.IN_PROGRESS


@pytest.mark.parametrize(
    ("stage", "action"),
    [
        (Stage.REGISTERED, Action.APPROVE),
        (Stage.APPRAISED, Action.SIGN_CONTRACT),
        (Stage.APPROVED, Action.REQUEST_ADVANCE),
        (Stage.APPROVED, Action.ACCEPT),
        (Stage.IN_PROGRESS, Action.SETTLE),
        (Stage.STOPPED, Action.ADJUST),
        (Stage.ACCEPTED, Action.STOP),
        (Stage.SETTLED, Action.SETTLE),
        (Stage.CLOSED, Action.RECORD_REFUND),
    ],
)
def test_an_action_out_of_order_is_not_a_transition(stage: Stage, action: Action) -> None:
    assert (stage, action) not in TRANSITIONS
    assert action not in allowed_actions(stage)


def test_every_stage_is_reachable_from_registration() -> None:
    assert _reachable(Stage.REGISTERED) == set(Stage)


@pytest.mark.parametrize("stage", [s for s in Stage if not s.terminal])
def test_every_open_stage_can_still_end(stage: Stage) -> None:
    assert _reachable(stage) & {Stage.CLOSED, Stage.REJECTED}


@pytest.mark.parametrize(
    "stage", [s for s in Stage if s not in {Stage.RETURNED, Stage.REGISTERED, Stage.BASE_APPRAISED}]
)
def test_nothing_after_appraisal_leads_back_to_registration(stage: Stage) -> None:
    assert Stage.REGISTERED not in _reachable(stage)


# --- appraisal routing --------------------------------------------------------------------


def test_a_national_de_an_is_appraised_first_by_the_so_then_by_the_ministry() -> None:
    first = next_stage_after_appraisal(Stage.REGISTERED, Level.QUOC_GIA, "pass")
    assert first is Stage.BASE_APPRAISED
    assert next_stage_after_appraisal(first, Level.QUOC_GIA, "pass") is Stage.APPRAISED


def test_a_provincial_de_an_is_appraised_once() -> None:
    assert next_stage_after_appraisal(Stage.REGISTERED, Level.DIA_PHUONG, "pass") is Stage.APPRAISED


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("stage", [Stage.REGISTERED, Stage.BASE_APPRAISED])
def test_an_appraisal_returning_the_dossier_sends_it_back_for_supplement(
    level: Level, stage: Stage
) -> None:
    assert next_stage_after_appraisal(stage, level, "return") is Stage.RETURNED


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("stage", [Stage.REGISTERED, Stage.BASE_APPRAISED])
def test_a_failed_appraisal_rejects_the_de_an(level: Level, stage: Stage) -> None:
    assert next_stage_after_appraisal(stage, level, "fail") is Stage.REJECTED


def test_the_table_entry_for_appraisal_is_the_provincial_pass() -> None:
    assert TRANSITIONS[(Stage.REGISTERED, Action.APPRAISE)] is next_stage_after_appraisal(
        Stage.REGISTERED, Level.DIA_PHUONG, "pass"
    )
    assert TRANSITIONS[(Stage.BASE_APPRAISED, Action.APPRAISE)] is next_stage_after_appraisal(
        Stage.BASE_APPRAISED, Level.QUOC_GIA, "pass"
    )


def test_a_resubmitted_dossier_is_appraised_again_from_the_start() -> None:
    back = next_stage_after_appraisal(Stage.BASE_APPRAISED, Level.QUOC_GIA, "return")
    again = TRANSITIONS[(back, Action.RESUBMIT)]
    assert again is Stage.REGISTERED
    assert next_stage_after_appraisal(again, Level.QUOC_GIA, "pass") is Stage.BASE_APPRAISED
