"""The plan's pure rules: intake window, envelope arithmetic (property tests), checkpoints."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import Refusal
from domain.model import Level, Role
from domain.stages import Stage
from tests.support.builders import make_actor, make_dossier
from workflows import plan_rules
from workflows.plan_contract import (
    ItemObservation,
    ItemStatus,
    PlanCheckpoint,
    PlanCommitmentChange,
    PlanConfig,
    PlanDeAnFinished,
    PlanDecision,
    PlanDecisionItem,
    PlanDecisionRecord,
    PlanItem,
    PlanState,
    SendResult,
    Verdict,
    default_checkpoints,
    plan_id_for,
)

NOW = datetime(2019, 7, 1, tzinfo=UTC)


def config(envelope: int = 1_000, **kw: object) -> PlanConfig:
    data: dict[str, object] = dict(
        province="Bắc Giang",
        level=Level.DIA_PHUONG,
        year=2019,
        envelope=envelope,
        intake_closes_on=date(2018, 12, 31),
        checkpoints=default_checkpoints(2019),
    )
    data.update(kw)
    return PlanConfig.model_validate(data)


def state_with(supports: list[int], envelope: int) -> PlanState:
    state = plan_rules.initial_state(config(envelope))
    for n, support in enumerate(supports):
        state.items.append(
            PlanItem(
                code=f"I{n}",
                title="t",
                content_area="3",
                requested_support=support,
                counterpart_funds=0,
                registered_on=date(2018, 12, 1),
            )
        )
    return state


def decision(items: list[PlanDecisionItem], number: str = "1/QĐ-UBND") -> PlanDecision:
    return PlanDecision(
        decision_number=number,
        decision_date=date(2019, 3, 9),
        signer="Chủ tịch",
        actor=make_actor(Role.UBND_TINH),
        items=items,
    )


def test_the_plan_id_is_level_province_slug_and_year() -> None:
    assert (
        plan_id_for(Level.DIA_PHUONG, "tỉnh Bắc Giang", 2019)
        == "ke-hoach/dia_phuong/bac-giang/2019"
    )
    assert config().plan_id == "ke-hoach/dia_phuong/bac-giang/2019"


def test_the_intake_refuses_the_day_after_it_closes_and_names_the_closing_date() -> None:
    plan_rules.check_intake_open(config(), date(2018, 12, 31))
    with pytest.raises(Refusal) as refused:
        plan_rules.check_intake_open(config(), date(2019, 1, 1))
    assert refused.value.code == "IntakeClosed" and "31/12/2018" in refused.value.message


def test_a_dossier_of_another_province_level_or_year_does_not_belong_in_the_plan() -> None:
    plan = config()
    assert plan_rules.registration_problem(plan, make_dossier()) is None
    assert plan_rules.registration_problem(plan, make_dossier(province="Bắc Ninh"))
    assert plan_rules.registration_problem(
        plan, make_dossier(level=Level.QUOC_GIA, support_item="machinery")
    )


def test_national_intake_closes_before_20_june_of_the_year_before_by_default() -> None:
    national = PlanConfig.with_defaults("Bắc Giang", Level.QUOC_GIA, 2020, 10)
    assert national.intake_closes_on == date(2019, 6, 19)
    assert [c.on for c in national.checkpoints][-1] == date(2021, 1, 22)


def test_an_approval_that_would_overspend_is_refused_before_it_is_sent() -> None:
    state = state_with([600, 300, 200], envelope=1_000)
    orders, refused = plan_rules.screen_decision(
        state, decision([PlanDecisionItem(code=c) for c in ("I0", "I1", "I2")])
    )
    assert [o.code for o in orders] == ["I0", "I1"]
    assert [(r.code, r.error_type) for r in refused] == [("I2", "EnvelopeExceeded")]


def test_a_decision_naming_an_item_outside_the_plan_is_refused_whole() -> None:
    with pytest.raises(Refusal) as refused:
        plan_rules.check_decision(state_with([1], 10), decision([PlanDecisionItem(code="NOPE")]))
    assert refused.value.code == "NotInPlan"


def test_a_checkpoint_flags_approved_de_an_behind_the_expected_stage_or_overdue() -> None:
    state = state_with([100, 100, 100], envelope=1_000)
    for item in state.items:
        item.status, item.committed = ItemStatus.APPROVED, 100
    cp = PlanCheckpoint(key="mid", label="Giữa năm", on=date(2019, 6, 30), expect=Stage.IN_PROGRESS)
    obs = [
        ItemObservation(code="I0", stage=Stage.APPROVED, approved_support=100),
        ItemObservation(code="I1", stage=Stage.IN_PROGRESS, approved_support=100, overdue=True),
        ItemObservation(code="I2", stage=Stage.ACCEPTED, approved_support=100),
    ]
    record = plan_rules.checkpoint_record(state, cp, obs, [], NOW)
    assert [b.code for b in record.behind] == ["I0", "I1"]
    assert (record.done_count, record.done_bp) == (1, 3333)
    assert record.counts_by_stage == {"accepted": 1, "approved": 1, "in_progress": 1}


# --- properties of the envelope ----------------------------------------------------------------

supports = st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=8)
stages = st.sampled_from(list(Stage))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[int], int, list[tuple[Any, ...]]]:
    amounts = draw(supports)
    envelope = draw(st.integers(min_value=0, max_value=2_000))
    steps = draw(
        st.lists(
            st.one_of(
                st.tuples(
                    st.just("decide"),
                    st.lists(st.integers(0, len(amounts) - 1), unique=True, min_size=1),
                    st.lists(st.booleans(), min_size=8, max_size=8),  # does the đề án accept
                    st.lists(st.booleans(), min_size=8, max_size=8),  # approve or reject
                ),
                st.tuples(
                    st.just("observe"),
                    st.lists(
                        st.tuples(st.integers(0, len(amounts) - 1), stages, st.integers(0, 600)),
                        max_size=8,
                    ),
                ),
                st.tuples(  # an adjustment decision moves one đề án's support
                    st.just("adjust"), st.integers(0, len(amounts) - 1), st.integers(0, 900)
                ),
                st.tuples(  # a đề án signals that it settled or closed
                    st.just("finish"),
                    st.integers(0, len(amounts) - 1),
                    st.sampled_from([Stage.SETTLED, Stage.CLOSED]),
                    st.integers(0, 900),
                ),
            ),
            max_size=12,
        )
    )
    return amounts, envelope, steps


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_the_envelope_is_never_overspent_and_each_commitment_is_released_exactly_once(
    scenario: tuple[list[int], int, list[tuple[Any, ...]]],
) -> None:
    amounts, envelope, steps = scenario
    state = state_with(amounts, envelope)
    released: Counter[str] = Counter()
    released_amount = 0
    for n, step in enumerate(steps):
        if step[0] == "decide":
            _, picks, accepts, approves = step
            items = [
                PlanDecisionItem(
                    code=f"I{i}",
                    verdict=Verdict.APPROVE if approves[k % 8] else Verdict.REJECT,
                )
                for k, i in enumerate(picks)
            ]
            d = decision(items, number=f"{n + 1}/QĐ-UBND")
            try:
                plan_rules.check_decision(state, d)
            except Refusal:
                continue
            # The workflow's rounds: send, then screen again what the refusals freed.
            orders, refused = plan_rules.screen_decision(state, d)
            sent: list[SendResult] = []
            while orders:
                sent += [
                    SendResult(
                        code=o.code,
                        verdict=o.verdict,
                        ok=accepts[int(o.code[1:]) % 8],
                        approved_support=o.approved_support,
                        error_type=None if accepts[int(o.code[1:]) % 8] else "WrongStage",
                    )
                    for o in orders
                ]
                orders, refused = plan_rules.screen_decision(state, d, sent)
            results = [*plan_rules.results_of(sent), *refused]
            assert sorted(r.code for r in results) == sorted(i.code for i in items)
            state = plan_rules.apply_decision(state, d, results)
        elif step[0] == "adjust":
            _, i, new_support = step
            change = PlanCommitmentChange(
                code=f"I{i}",
                decision_number=f"{n + 1}/QĐ-ĐC",
                decision_date=date(2019, 6, 1),
                new_support=new_support,
            )
            try:
                plan_rules.check_commitment_change(state, change)
            except Refusal as refusal:
                assert refusal.code in ("NotInPlan", "CommitmentClosed", "EnvelopeExceeded")
                continue
            state = plan_rules.apply_commitment_change(state, change)
            item = state.item(f"I{i}")
            assert item is not None and item.committed == new_support
        elif step[0] == "finish":
            _, i, stage, final = step
            item = state.item(f"I{i}")
            notice = PlanDeAnFinished(
                code=f"I{i}", stage=stage, final_support=min(final, item.committed if item else 0)
            )
            state, releases = plan_rules.release_on_close(state, notice)
            for r in releases:
                released[r.code] += 1
                released_amount += r.amount
                assert 0 <= r.amount <= r.committed
        else:
            observations = [
                ItemObservation(
                    code=f"I{i}",
                    stage=stage,
                    final_support=min(final, amounts[i]) if stage is Stage.SETTLED else None,
                )
                for i, stage, final in step[1]
            ]
            state, releases = plan_rules.observe(state, observations)
            for r in releases:
                released[r.code] += 1
                released_amount += r.amount
                assert 0 <= r.amount <= r.committed
        assert 0 <= plan_rules.committed(state) <= envelope
        assert all(count == 1 for count in released.values())
        assert released_amount == plan_rules.released_total(state)


def test_a_decision_number_used_before_is_refused_so_each_paper_is_recorded_once() -> None:
    state = state_with([100, 900], envelope=1_000)
    state.decisions.append(
        PlanDecisionRecord(
            number="1/QĐ-UBND",
            date=date(2019, 3, 9),
            signer="Chủ tịch",
            official_id="u",
            approved=1,
            refused=1,
            rejected=0,
        )
    )
    with pytest.raises(Refusal) as refusal:
        plan_rules.check_decision(state, decision([PlanDecisionItem(code="I1")]))
    assert (refusal.value.code, refusal.value.field) == ("AlreadyDecided", "decision_number")
    plan_rules.check_decision(state, decision([PlanDecisionItem(code="I1")], number="2/QĐ-UBND"))


def test_a_refused_approval_frees_its_reservation_for_the_items_the_plan_refused_before_it() -> (
    None
):
    state = state_with([600, 300, 300], envelope=1_000)
    d = decision([PlanDecisionItem(code=c) for c in ("I0", "I1", "I2")])
    orders, refused = plan_rules.screen_decision(state, d)
    assert [o.code for o in orders] == ["I0", "I1"] and [r.code for r in refused] == ["I2"]
    answers = [
        SendResult(code="I0", verdict=Verdict.APPROVE, ok=False, error_type="WrongStage"),
        SendResult(code="I1", verdict=Verdict.APPROVE, ok=True, approved_support=300),
    ]
    again, still = plan_rules.screen_decision(state, d, answers)
    assert [(o.code, o.approved_support) for o in again] == [("I2", 300)] and still == []


def approved(supports: list[int], envelope: int) -> PlanState:
    state = state_with(supports, envelope)
    for item in state.items:
        item.status = ItemStatus.APPROVED
        item.committed = item.requested_support
        item.linked = True
    return state


def test_a_support_raise_must_fit_in_what_the_envelope_has_left_and_cites_the_rule() -> None:
    state = approved([400, 500], envelope=1_000)  # 100 left
    change = PlanCommitmentChange(
        code="I0", decision_number="7/QĐ-UBND", decision_date=date(2019, 6, 1), new_support=520
    )
    with pytest.raises(Refusal) as refusal:
        plan_rules.check_commitment_change(state, change)
    assert (refusal.value.code, refusal.value.field) == ("EnvelopeExceeded", "new_support")
    assert "Thông tư 36/2013/TT-BCT Điều 6" in (refusal.value.legal_basis or "")
    assert "100 đ" in refusal.value.message
    fits = change.model_copy(update={"new_support": 500})
    plan_rules.check_commitment_change(state, fits)
    after = plan_rules.apply_commitment_change(state, fits)
    assert plan_rules.committed(after) == 1_000
    assert plan_rules.apply_commitment_change(after, fits) == after  # the same decision, once
    plan_rules.check_commitment_change(after, fits)  # a repeat is answered, not refused


def test_a_de_an_that_finished_gives_back_what_it_did_not_use_once() -> None:
    state = approved([400, 500], envelope=1_000)
    notice = PlanDeAnFinished(code="I1", stage=Stage.SETTLED, final_support=350)
    after, releases = plan_rules.release_on_close(state, notice)
    assert [(r.code, r.amount) for r in releases] == [("I1", 150)]
    assert plan_rules.committed(after) == 750
    again, none = plan_rules.release_on_close(after, notice)
    assert none == [] and again == after
    closed = PlanCommitmentChange(
        code="I1", decision_number="8/QĐ-UBND", decision_date=date(2019, 6, 1), new_support=600
    )
    with pytest.raises(Refusal) as refusal:
        plan_rules.check_commitment_change(after, closed)
    assert refusal.value.code == "CommitmentClosed"


def test_de_an_approved_before_they_knew_their_plan_are_resynced_at_checkpoints() -> None:
    state = approved([400, 500], envelope=1_000)
    state.items[0].linked = False  # approved by a decision recorded before the link
    seen = [
        ItemObservation(code="I0", stage=Stage.IN_PROGRESS, approved_support=450),
        ItemObservation(code="I1", stage=Stage.IN_PROGRESS, approved_support=300),
    ]
    after, changed = plan_rules.resync_unlinked(state, seen)
    assert changed == {"I0": 450}  # I1 is linked: the plan is its truth
    assert plan_rules.committed(after) == 950
    assert plan_rules.resync_unlinked(after, seen)[1] == {}


def test_after_its_last_checkpoint_the_plan_refuses_changes() -> None:
    state = approved([400], envelope=1_000)
    plan_rules.check_plan_open(state, closing=False)
    with pytest.raises(Refusal) as refusal:
        plan_rules.check_plan_open(state, closing=True)
    assert refusal.value.code == "PlanClosed"


def test_only_the_approver_of_the_plans_level_and_province_signs_its_decision() -> None:
    state = state_with([100], envelope=1_000)
    with pytest.raises(Refusal) as wrong_role:
        plan_rules.check_decision(
            state,
            decision([PlanDecisionItem(code="I0")]).model_copy(
                update={"actor": make_actor(Role.SO_CONG_THUONG)}
            ),
        )
    assert (wrong_role.value.code, wrong_role.value.field) == ("WrongAuthority", "actor.role")
    assert "Thông tư 46/2012/TT-BCT" in (wrong_role.value.legal_basis or "")
    elsewhere = make_actor(Role.UBND_TINH).model_copy(update={"province": "Bắc Ninh"})
    with pytest.raises(Refusal) as wrong_place:
        plan_rules.check_decision(
            state, decision([PlanDecisionItem(code="I0")]).model_copy(update={"actor": elsewhere})
        )
    assert wrong_place.value.code == "WrongJurisdiction"


def test_a_decision_dated_in_the_future_is_refused_before_its_number_is_used() -> None:
    d = decision([PlanDecisionItem(code="I0")])
    plan_rules.check_decision_date(d, d.decision_date)
    with pytest.raises(Refusal) as future:
        plan_rules.check_decision_date(d, date(2019, 3, 8))
    assert (future.value.code, future.value.field) == ("InvalidField", "decision_date")
