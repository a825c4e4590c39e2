"""The pure rules of DeAnWorkflow, without a server: unit tests and hypothesis properties of
the money invariants (paid ≤ approved, advances ≤ ceiling, exact settlement)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import Refusal
from domain.model import Level
from domain.money import apply_rate, settlement_figures
from domain.rules import load_packs
from domain.stages import Action, Stage
from tests.support.builders import KE_TOAN_BG, SO, SO_2, TRUNG_TAM, UBND, dossier_on
from workflows import de_an_decisions as rules
from workflows.de_an_actions import decide
from workflows.de_an_contract import (
    TIMELINE_KEPT,
    DeAnAccept,
    DeAnAdjust,
    DeAnAppraise,
    DeAnApprove,
    DeAnConfirmProgress,
    DeAnInput,
    DeAnPayAdvance,
    DeAnPaySettlement,
    DeAnRecordRefund,
    DeAnRecordVisit,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnResolveFindings,
    DeAnSettle,
    DeAnSignContract,
    DeAnState,
)

TODAY = date(2019, 6, 10)
NOW = datetime(2019, 6, 10, 3, 0, tzinfo=UTC)
PACKS = load_packs()


def registered(**dossier: Any) -> DeAnState:
    state = rules.initial_state(dossier_on(TODAY, **dossier), TRUNG_TAM, date(2019, 1, 15), PACKS)
    return rules.decide_register(state, NOW).state


def contracted(
    support_item: str = "training",
    cost: int = 100_000_000,
    support: int = 100_000_000,
    **dossier: Any,
) -> DeAnState:
    state = registered(support_item=support_item, cost=cost, requested_support=support, **dossier)
    state = rules.decide_appraise(
        state, DeAnAppraise(actor=SO, verdict="pass", appraised_on=TODAY, minutes_number="T-1"), NOW
    ).state
    state = rules.decide_approve(
        state,
        DeAnApprove(
            actor=UBND,
            decision_number="427/QĐ-UBND",
            decision_date=TODAY,
            signer="Chủ tịch",
            approved_support=support,
        ),
        NOW,
    ).state
    return rules.decide_sign_contract(
        state,
        DeAnSignContract(
            actor=SO, contract_number="1/HĐ", signed_on=TODAY, contracted_support=support
        ),
        NOW,
    ).state


def test_deciding_never_touches_the_state_it_was_given() -> None:
    state = registered()
    frozen = state.model_copy(deep=True)
    rules.decide_appraise(
        state, DeAnAppraise(actor=SO, verdict="pass", appraised_on=TODAY, minutes_number="1"), NOW
    )
    assert state == frozen


def test_each_step_gets_the_next_sequence_number_and_a_business_key() -> None:
    state = registered()
    outcome = rules.decide_appraise(
        state,
        DeAnAppraise(actor=SO, verdict="pass", appraised_on=TODAY, minutes_number="BB-7"),
        NOW,
    )
    assert outcome.state.seq == state.seq + 1 == outcome.step.snapshot.seq
    assert outcome.step.key == f"{state.de_an_id}:appraise:tinh:BB-7"
    assert outcome.step.stage_from is Stage.REGISTERED and outcome.step.stage_to is Stage.APPRAISED


def test_the_state_keeps_the_last_steps_of_the_timeline_numbered_and_the_newest_last() -> None:
    state = contracted()
    for n in range(TIMELINE_KEPT + 5):
        visit = DeAnRecordVisit(actor=SO, visited_on=TODAY, minutes_number=f"KT-{n}")
        state = rules.decide_record_visit(state, visit, NOW).state
    assert len(state.timeline) == TIMELINE_KEPT
    assert [e.seq for e in state.timeline] == list(
        range(state.seq - TIMELINE_KEPT + 1, state.seq + 1)
    )
    assert all(e.action is Action.RECORD_VISIT for e in state.timeline)
    # Every step is still known by its key (duplicates are refused however old).
    assert len(state.step_keys) == state.seq


def test_a_run_continued_with_a_timeline_grown_before_the_bound_starts_with_its_last_steps() -> (
    None
):
    state = registered()
    entry = state.timeline[-1]
    state.timeline = [entry.model_copy(update={"summary": str(n)}) for n in range(50)]
    resumed = rules.resumed_state(
        DeAnInput(dossier=state.dossier, registered_by=state.registered_by, resume=state)
    )
    assert [e.summary for e in resumed.timeline] == [str(n) for n in range(30, 50)]


def test_the_approval_fixes_the_rule_pack_in_force_on_the_decision_date() -> None:
    from tests.support.builders import BO_TRUONG, CUC

    state = rules.initial_state(
        dossier_on(
            date(2018, 3, 1), level=Level.QUOC_GIA, cost=600_000_000, requested_support=250_000_000
        ),
        TRUNG_TAM,
        date(2018, 1, 15),
        PACKS,
    )
    appraised_on = date(2018, 4, 2)
    for actor, minutes in ((SO, "CS"), (CUC, "BO")):
        appraise = DeAnAppraise(
            actor=actor, verdict="pass", appraised_on=appraised_on, minutes_number=minutes
        )
        state = rules.decide_appraise(state, appraise, NOW).state

    def approve_on(day: date) -> DeAnState:
        command = DeAnApprove(
            actor=BO_TRUONG,
            decision_number="1/QĐ-BCT",
            decision_date=day,
            signer="Bộ trưởng",
            approved_support=250_000_000,
        )
        return rules.decide_approve(state, command, NOW).state

    # 250M is over the 2014 machinery cap (200M) but within the 2018 one (300M, from 11/5/2018)
    with pytest.raises(Refusal) as refusal:
        approve_on(date(2018, 5, 10))
    assert refusal.value.code == "SupportOverCap"
    assert "26/2014" in (refusal.value.legal_basis or "")
    assert approve_on(date(2018, 5, 11)).rule_pack_id == "quoc-gia-tt-28-2018"


@pytest.mark.parametrize(
    ("approved", "accepted", "disallowed", "rate", "cap", "advanced", "final", "payout", "refund"),
    [
        (200_000_000, 580_000_000, 0, 5000, 200_000_000, 140_000_000, 200_000_000, 60_000_000, 0),
        (200_000_000, 300_000_000, 0, 5000, 200_000_000, 0, 150_000_000, 150_000_000, 0),
        (100_000_000, 40_000_000, 0, 10000, None, 70_000_000, 40_000_000, 0, 30_000_000),
        (100_000_000, 50_000_000, 50_000_001, 10000, None, 0, 0, 0, 0),
        (300_000_000, 999_999_999, 0, 3000, 1_000_000_000, 0, 299_999_999, 299_999_999, 0),
        (300_000_001, 1_000_000_003, 0, 3000, None, 0, 300_000_000, 300_000_000, 0),
    ],
)
def test_settlement_is_min_of_approval_rate_and_cap_minus_advances(
    approved: int,
    accepted: int,
    disallowed: int,
    rate: int,
    cap: int | None,
    advanced: int,
    final: int,
    payout: int,
    refund: int,
) -> None:
    figures = settlement_figures(approved, accepted, disallowed, rate, cap, advanced)
    assert (figures.final_support, figures.payout, figures.refund_owed) == (final, payout, refund)


money = st.integers(min_value=0, max_value=10**13)


@given(
    approved=money,
    accepted=money,
    disallowed=money,
    rate=st.integers(0, 10_000),
    cap=st.none() | money,
    advanced=money,
)
def test_settlement_arithmetic_is_exact(
    approved: int, accepted: int, disallowed: int, rate: int, cap: int | None, advanced: int
) -> None:
    f = settlement_figures(approved, accepted, disallowed, rate, cap, advanced)
    eligible = max(0, accepted - disallowed)
    assert f.final_support <= approved
    assert f.final_support <= apply_rate(eligible, rate)
    assert cap is None or f.final_support <= cap
    assert f.final_support in {approved, apply_rate(eligible, rate), cap}
    assert advanced + f.payout - f.refund_owed == f.final_support
    assert min(f.payout, f.refund_owed) == 0
    assert all(isinstance(v, int) for v in (f.final_support, f.payout, f.refund_owed))


KINDS = ("request", "pay", "cut", "progress")
ACTION = st.one_of(
    st.tuples(st.sampled_from(["request", "pay", "cut"]), st.integers(1, 120_000_000)),
    st.tuples(st.just("progress"), st.integers(6_000, 10_000)),  # either side of 70 %
)
"""An action and its amount (đồng; basis points done for ``progress``, either side of the 70 %
that a machinery advance needs)."""


def _attempt(state: DeAnState, kind: str, amount: int, index: int) -> rules.Outcome:
    """One action of ``kind`` on ``state`` (``progress``: a report of ``amount`` basis points
    done and its confirmation, for this month); raises :class:`Refusal` as the decider does."""
    month = TODAY.month
    if kind == "request":
        return rules.decide_request_advance(
            state, DeAnRequestAdvance(actor=TRUNG_TAM, amount=amount, requested_on=TODAY), NOW
        )
    if kind == "pay":
        no = len(state.advances)
        return rules.decide_pay_advance(
            state,
            DeAnPayAdvance(
                actor=KE_TOAN_BG, request_no=max(no, 1), paid_on=TODAY, voucher_number="V"
            ),
            NOW,
        )
    if kind == "cut":
        return rules.decide_adjust(
            state,
            DeAnAdjust(
                actor=SO,
                kind="decrease_support",
                decision_number=f"{index + 1}/QĐ-SCT",
                decision_date=TODAY,
                description="giảm",
                new_support=amount,
            ),
            NOW,
        )
    reported = rules.decide_report_progress(
        state,
        DeAnReportProgress(
            actor=TRUNG_TAM,
            month=f"2019-{month:02d}",
            investment_done_bp=amount,
            spent_cost=0,
            reported_on=TODAY,
        ),
        NOW,
    ).state
    return rules.decide_confirm_progress(
        reported,
        DeAnConfirmProgress(actor=SO_2, month=f"2019-{month:02d}", confirmed_on=TODAY),
        NOW,
    )


def _assert_money_invariants(outcome: rules.Outcome) -> None:
    state = outcome.state
    limit, _ = rules.advance_limit(state)
    assert state.paid <= state.approved_support
    # Paid plus open requests fit under the ceiling; only advances paid before a cut may stand
    # above the new one (a cut refuses only to go below what was paid), with nothing open.
    assert rules.committed_advances(state) <= max(limit, state.advanced)
    if outcome.step.action is Action.PAY_ADVANCE:
        assert state.advanced <= limit
    assert (
        state.advanced <= apply_rate(state.contracted_support, 7000)
        or state.contracted_support < state.advanced <= state.approved_support
    )
    assert outcome.step.snapshot.paid == state.paid


def _machinery_contracted() -> DeAnState:
    """A 600M machinery đề án contracted at 200M; its beneficiary commits to fund all of it,
    so a cut of support is possible (otherwise CounterpartTooLow refuses every cut)."""
    return contracted(
        "machinery", cost=600_000_000, support=200_000_000, counterpart_funds=600_000_000
    )


def test_no_sequence_of_actions_pays_more_than_approved_or_advances_past_the_ceiling() -> None:
    """Random sequences: every accepted action keeps the money invariants, every refusal leaves
    the state as it was, and across the runs every kind of action is accepted some time (a
    decider that refused everything would fail here), including cuts while a request is open
    and cuts that lapse it."""
    accepted: Counter[str] = Counter()
    refused: Counter[str] = Counter()

    @settings(max_examples=100, deadline=None, derandomize=True)
    @given(st.lists(ACTION, max_size=20))
    def run(actions: list[tuple[str, int]]) -> None:
        state = _machinery_contracted()
        for index, (kind, amount) in enumerate(actions):
            before = state.model_copy(deep=True)
            try:
                outcome = _attempt(state, kind, amount, index)
            except Refusal:
                refused[kind] += 1
                assert state == before, f"a refused {kind} changed the state"
                continue
            accepted[kind] += 1
            if kind == "cut" and _open_request(state):
                accepted["cut with a request open"] += 1
            if "lapsed_advances" in outcome.step.details:
                accepted["cut lapsing a request"] += 1
            state = outcome.state
            _assert_money_invariants(outcome)

    run()
    assert set(KINDS) <= set(accepted), (accepted, refused)
    assert accepted["cut with a request open"] > 0, "no cut met an open request"
    assert accepted["cut lapsing a request"] > 0, "no cut lapsed a request"
    assert sum(refused.values()) > 0, "the sequences never reached a refusal"


def _open_request(state: DeAnState) -> bool:
    return any(a.paid_on is None and a.lapsed_on is None for a in state.advances)


def test_a_cut_below_an_open_advance_request_keeps_the_advance_within_the_new_ceiling() -> None:
    state = _machinery_contracted()
    for kind, amount in [("progress", 7001), ("request", 100_000_000), ("cut", 120_000_000)]:
        state = _attempt(state, kind, amount, 0).state
    with pytest.raises(Refusal) as refusal:
        _attempt(state, "pay", 1, 0)
    assert refusal.value.code == "AdvanceLapsed"
    assert state.advanced == 0 and rules.committed_advances(state) == 0


def _requested_100_tr() -> DeAnState:
    """The machinery đề án (200 tr contracted, advance ceiling 70 % = 140 tr), progress
    confirmed past 70 %, and an open request of 100 tr."""
    state = _machinery_contracted()
    for kind, amount in [("progress", 7001), ("request", 100_000_000)]:
        state = _attempt(state, kind, amount, 0).state
    return state


def _cut_to(new_support: int) -> DeAnAdjust:
    return DeAnAdjust(
        actor=SO,
        kind="decrease_support",
        decision_number="9/QĐ-SCT",
        decision_date=TODAY,
        description="giảm",
        new_support=new_support,
    )


def _pay(request_no: int) -> DeAnPayAdvance:
    return DeAnPayAdvance(
        actor=KE_TOAN_BG, request_no=request_no, paid_on=TODAY, voucher_number=f"V{request_no}"
    )


OLD_CUT_RULES = rules.RuleSwitches(cut_lapses_advances=False)


def test_a_cut_lapses_the_open_request_above_the_new_ceiling_and_says_so_in_its_step() -> None:
    outcome = decide(_requested_100_tr(), Action.ADJUST, _cut_to(120_000_000), NOW)
    request = outcome.state.advances[0]
    assert (request.paid_on, request.lapsed_on, request.lapse_ceiling) == (
        None,
        TODAY,
        84_000_000,
    )
    assert "9/QĐ-SCT" in (request.lapse_reason or "")
    assert "84.000.000 đ" in (request.lapse_reason or "")
    assert outcome.step.details["lapsed_advances"] == [{"request_no": 1, "amount": 100_000_000}]
    assert outcome.step.details["advance_ceiling"] == 84_000_000
    assert "lần 1 (100.000.000 đ)" in outcome.step.summary
    assert "còn được tạm ứng 84.000.000 đ" in outcome.step.summary
    assert outcome.state.timeline[-1].summary == outcome.step.summary
    assert rules.open_advance_requests(outcome.state, rules.CURRENT_RULES) == []


def test_a_cut_that_still_leaves_room_for_the_open_request_lapses_nothing() -> None:
    # 150 tr of support: a ceiling of 105 tr still holds the 100 tr requested
    outcome = decide(_requested_100_tr(), Action.ADJUST, _cut_to(150_000_000), NOW)
    assert outcome.state.advances[0].lapsed_on is None
    assert "lapsed_advances" not in outcome.step.details
    assert "hết hiệu lực" not in outcome.step.summary
    paid = decide(outcome.state, Action.PAY_ADVANCE, _pay(1), NOW).state
    assert paid.advanced == 100_000_000


def test_paying_a_request_lapsed_by_a_cut_is_refused_naming_the_decision_and_the_room() -> None:
    state = decide(_requested_100_tr(), Action.ADJUST, _cut_to(120_000_000), NOW).state
    with pytest.raises(Refusal) as refusal:
        decide(state, Action.PAY_ADVANCE, _pay(1), NOW)
    assert (refusal.value.code, refusal.value.field) == ("AdvanceLapsed", "request_no")
    assert str(refusal.value.message) == (
        "đề nghị tạm ứng lần 1 (100.000.000 đ) đã hết hiệu lực ngày 10/06/2019 (điều chỉnh "
        "giảm kinh phí theo Quyết định 9/QĐ-SCT, mức được tạm ứng còn 84.000.000 đ): vượt mức "
        "được tạm ứng 84.000.000 đ theo kinh phí đã điều chỉnh giảm; có thể đề nghị tạm ứng "
        "mới trong mức còn được tạm ứng 84.000.000 đ"
    )
    assert "36/2013" in (refusal.value.legal_basis or "")
    # the centre requests again within the room: 84 tr is paid, one đồng more is not requested
    over = DeAnRequestAdvance(actor=TRUNG_TAM, amount=84_000_001, requested_on=TODAY)
    with pytest.raises(Refusal) as too_much:
        decide(state, Action.REQUEST_ADVANCE, over, NOW)
    assert too_much.value.code == "AdvanceOverLimit"
    again = DeAnRequestAdvance(actor=TRUNG_TAM, amount=84_000_000, requested_on=TODAY)
    state = decide(state, Action.REQUEST_ADVANCE, again, NOW).state
    state = decide(state, Action.PAY_ADVANCE, _pay(2), NOW).state
    assert state.advanced == 84_000_000
    assert [a.no for a in state.advances if a.paid_on] == [2]


def test_a_cut_below_the_advances_already_paid_lapses_the_open_request_and_leaves_no_room() -> None:
    state = decide(_requested_100_tr(), Action.PAY_ADVANCE, _pay(1), NOW).state
    more = DeAnRequestAdvance(actor=TRUNG_TAM, amount=40_000_000, requested_on=TODAY)
    state = decide(state, Action.REQUEST_ADVANCE, more, NOW).state
    # 142 tr of support: a ceiling of 99,4 tr, below the 100 tr already paid
    outcome = decide(state, Action.ADJUST, _cut_to(142_000_000), NOW)
    assert [a.no for a in outcome.state.advances if a.lapsed_on] == [2]
    assert "không còn mức được tạm ứng" in outcome.step.summary
    with pytest.raises(Refusal) as refusal:
        decide(outcome.state, Action.PAY_ADVANCE, _pay(2), NOW)
    assert refusal.value.code == "AdvanceLapsed"
    assert "không còn mức được tạm ứng" in refusal.value.message


def test_under_the_old_rules_a_cut_lapses_nothing_and_the_open_request_is_paid() -> None:
    state = decide(_requested_100_tr(), Action.ADJUST, _cut_to(120_000_000), NOW, OLD_CUT_RULES)
    assert state.state.advances[0].lapsed_on is None
    assert "lapsed_advances" not in state.step.details
    paid = decide(state.state, Action.PAY_ADVANCE, _pay(1), NOW, OLD_CUT_RULES).state
    assert paid.advanced == 100_000_000  # as such a history was recorded: over the 84 tr


def test_no_advance_is_paid_above_the_current_ceiling_even_when_nothing_lapsed_it() -> None:
    # a cut recorded under the old rule left the 100 tr request open above 84 tr
    state = decide(
        _requested_100_tr(), Action.ADJUST, _cut_to(120_000_000), NOW, OLD_CUT_RULES
    ).state
    with pytest.raises(Refusal) as refusal:
        decide(state, Action.PAY_ADVANCE, _pay(1), NOW)
    assert (refusal.value.code, refusal.value.field) == ("AdvanceOverLimit", "request_no")
    assert "84.000.000 đ" in refusal.value.message
    assert "36/2013" in (refusal.value.legal_basis or "")


def test_the_cut_patch_is_asked_only_for_a_cut_with_an_open_request_or_a_pay_past_the_ceiling() -> (
    None
):
    requested = _requested_100_tr()
    cut = rules.CUT_LAPSES_PATCH
    assert rules.patches_at_stake(requested, Action.ADJUST, _cut_to(120_000_000)) == {cut}
    assert rules.patches_at_stake(requested, Action.PAY_ADVANCE, _pay(1)) == set()
    without_request = _machinery_contracted()
    assert rules.patches_at_stake(without_request, Action.ADJUST, _cut_to(120_000_000)) == set()
    old_cut = decide(requested, Action.ADJUST, _cut_to(120_000_000), NOW, OLD_CUT_RULES).state
    assert rules.patches_at_stake(old_cut, Action.PAY_ADVANCE, _pay(1)) == {cut}
    lapsed = decide(requested, Action.ADJUST, _cut_to(120_000_000), NOW).state
    assert rules.patches_at_stake(lapsed, Action.PAY_ADVANCE, _pay(1)) == set()
    assert not rules.switches_for({cut: False}).cut_lapses_advances


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_sequence_known_to_be_valid_is_accepted_at_every_step(data: st.DataObject) -> None:
    """Progress confirmed past the 70 % a machinery advance needs, then requests within what
    is left of the ceiling, each paid: every step must be accepted and keep the invariants."""
    state = _machinery_contracted()
    done_bp = data.draw(st.integers(7001, 10_000), label="progress_bp")
    outcome = _attempt(state, "progress", done_bp, 0)
    _assert_money_invariants(outcome)
    state = outcome.state
    for index in range(data.draw(st.integers(1, 4), label="rounds")):
        limit, _ = rules.advance_limit(state)
        room = min(
            limit - sum(a.amount for a in state.advances), state.approved_support - state.paid
        )
        if room <= 0:
            break
        amount = data.draw(st.integers(1, room), label=f"advance_{index + 1}")
        for kind in ("request", "pay"):
            outcome = _attempt(state, kind, amount, index)
            _assert_money_invariants(outcome)
            state = outcome.state
        assert state.advances[-1].amount == amount
    assert state.advanced == sum(a.amount for a in state.advances) > 0


def test_a_full_provincial_life_closes_with_every_dong_accounted_for() -> None:
    state = contracted("training", cost=100_000_000, support=100_000_000)
    state = rules.decide_request_advance(
        state, DeAnRequestAdvance(actor=TRUNG_TAM, amount=70_000_000, requested_on=TODAY), NOW
    ).state
    state = rules.decide_pay_advance(
        state,
        DeAnPayAdvance(actor=KE_TOAN_BG, request_no=1, paid_on=TODAY, voucher_number="A"),
        NOW,
    ).state
    state = rules.decide_accept(
        state,
        DeAnAccept(
            actor=SO,
            minutes_number="NT",
            accepted_on=TODAY,
            accepted_cost=95_000_000,
            accepted_volume_bp=10_000,
        ),
        NOW,
    ).state
    state = rules.decide_settle(
        state, DeAnSettle(actor=SO, settlement_number="QT", settled_on=TODAY), NOW
    ).state
    assert state.settlement is not None and state.settlement.payout == 25_000_000
    closing = rules.decide_pay_settlement(
        state, DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=TODAY, voucher_number="B"), NOW
    )
    assert closing.state.stage is Stage.CLOSED
    assert closing.state.paid == 95_000_000
    assert closing.step.payment is not None and closing.step.payment.amount == 25_000_000
    assert closing.step.action is Action.PAY_SETTLEMENT


def test_nothing_left_to_pay_or_refund_closes_at_settlement() -> None:
    state = contracted("training", cost=100_000_000, support=100_000_000)
    state = rules.decide_accept(
        state,
        DeAnAccept(
            actor=SO,
            minutes_number="NT",
            accepted_on=TODAY,
            accepted_cost=0,
            accepted_volume_bp=10_000,
        ),
        NOW,
    ).state
    assert (
        rules.decide_settle(
            state, DeAnSettle(actor=SO, settlement_number="QT", settled_on=TODAY), NOW
        ).state.stage
        is Stage.CLOSED
    )


def test_deadlines_that_passed_before_the_de_an_entered_the_system_are_not_flagged() -> None:
    paper = contracted("training", cost=100_000_000, support=100_000_000)  # contract of 10/6/2019
    entered_2026 = paper.model_copy(update={"entered_at": datetime(2026, 11, 26, tzinfo=UTC)})
    entered_2019 = paper.model_copy(update={"entered_at": datetime(2019, 1, 15, tzinfo=UTC)})

    assert rules.pending_deadlines(entered_2026) == []
    assert rules.due_deadlines(entered_2026, datetime(2026, 12, 1, tzinfo=UTC)) == []
    watched = rules.pending_deadlines(entered_2019)
    assert [d.ref for d in watched][:2] == ["2019-06", "2019-07"]
    assert watched[-1].key == "settlement:2019"


def test_only_a_de_an_approved_by_a_plan_reports_to_it_and_only_when_it_first_finishes() -> None:
    alone = contracted()
    assert alone.plan_id is None
    stopped = alone.model_copy(update={"stage": Stage.CLOSED})
    assert rules.plan_finished_notice(alone, stopped) is None  # approved alone: no plan

    linked = alone.model_copy(update={"plan_id": "ke-hoach/dia_phuong/bac-giang/2019"})
    closed = linked.model_copy(update={"stage": Stage.CLOSED})
    notice = rules.plan_finished_notice(linked, closed)
    assert notice is not None and (notice.stage, notice.final_support) == (Stage.CLOSED, 0)
    assert rules.plan_finished_notice(closed, closed) is None  # said once


def test_a_plan_that_has_ended_binds_a_raise_but_not_a_cut() -> None:
    state = contracted().model_copy(update={"plan_id": "ke-hoach/dia_phuong/bac-giang/2019"})
    adjust = DeAnAdjust(
        actor=UBND,
        kind="increase_support",
        decision_number="9/QĐ-UBND",
        decision_date=TODAY,
        description="Bổ sung",
        new_support=110_000_000,
    )
    after = state.model_copy(update={"approved_support": 110_000_000})
    change = rules.plan_commitment_change(state, after, adjust)
    assert change is not None and change.new_support == 110_000_000
    assert rules.plan_commitment_change(state, state, adjust) is None  # support unchanged
    raised = rules.plan_refusal(change, state, "PlanClosed", "kế hoạch đã kết thúc", None, None)
    assert raised is not None and (raised.code, raised.field) == ("PlanClosed", "new_support")
    cut = change.model_copy(update={"new_support": 90_000_000})
    assert rules.plan_refusal(cut, state, "PlanClosed", "kế hoạch đã kết thúc", None, None) is None
    over = rules.plan_refusal(cut, state, "EnvelopeExceeded", "vượt", "new_support", "TT 36")
    assert over is not None and over.legal_basis == "TT 36"


# --- issue 10, item 9: nothing is paid after a stop but what the settlement decides -----------


def _national_with_two_advance_requests() -> DeAnState:
    """National machinery, 250 tr approved and contracted, 75 % progress confirmed by the Sở;
    advance 1 (100 tr) requested and paid, advance 2 (75 tr) requested and not paid."""
    from tests.support.builders import BO_TRUONG, CUC, KE_TOAN_CUC

    dossier = dossier_on(
        TODAY, level=Level.QUOC_GIA, cost=600_000_000, requested_support=250_000_000
    )
    state = rules.decide_register(
        rules.initial_state(dossier, TRUNG_TAM, date(2019, 1, 15), PACKS), NOW
    ).state
    for actor, minutes in ((SO, "CS-1"), (CUC, "BO-1")):
        command = DeAnAppraise(
            actor=actor, verdict="pass", appraised_on=TODAY, minutes_number=minutes
        )
        state = rules.decide_appraise(state, command, NOW).state
    steps: list[tuple[Action, Any]] = [
        (
            Action.APPROVE,
            DeAnApprove(
                actor=BO_TRUONG,
                decision_number="1234/QĐ-BCT",
                decision_date=TODAY,
                signer="Bộ trưởng",
                approved_support=250_000_000,
            ),
        ),
        (
            Action.SIGN_CONTRACT,
            DeAnSignContract(
                actor=CUC, contract_number="9/HĐ", signed_on=TODAY, contracted_support=250_000_000
            ),
        ),
        (
            Action.REPORT_PROGRESS,
            DeAnReportProgress(
                actor=TRUNG_TAM,
                month="2019-06",
                investment_done_bp=7500,
                spent_cost=450_000_000,
                reported_on=TODAY,
            ),
        ),
        (
            Action.CONFIRM_PROGRESS,
            DeAnConfirmProgress(actor=SO_2, month="2019-06", confirmed_on=TODAY),
        ),
        (
            Action.REQUEST_ADVANCE,
            DeAnRequestAdvance(actor=TRUNG_TAM, amount=100_000_000, requested_on=TODAY),
        ),
        (
            Action.PAY_ADVANCE,
            DeAnPayAdvance(actor=KE_TOAN_CUC, request_no=1, paid_on=TODAY, voucher_number="A1"),
        ),
        (
            Action.REQUEST_ADVANCE,
            DeAnRequestAdvance(actor=TRUNG_TAM, amount=75_000_000, requested_on=TODAY),
        ),
    ]
    for action, command in steps:
        state = decide(state, action, command, NOW).state
    return state


def _stop() -> Any:
    from tests.support.builders import BO_TRUONG
    from workflows.de_an_contract import DeAnStop

    return DeAnStop(
        actor=BO_TRUONG,
        decision_number="2001/QĐ-BCT",
        decision_date=TODAY,
        reason="Không đáp ứng yêu cầu về tiến độ",
    )


def _accept_60_percent() -> DeAnAccept:
    return DeAnAccept(
        actor=SO,
        minutes_number="NT-60",
        accepted_on=TODAY,
        accepted_cost=300_000_000,
        accepted_volume_bp=6000,
    )


def _pay_second() -> DeAnPayAdvance:
    from tests.support.builders import KE_TOAN_CUC

    return DeAnPayAdvance(actor=KE_TOAN_CUC, request_no=2, paid_on=TODAY, voucher_number="A2")


def test_a_stop_lapses_the_unpaid_advance_request_and_says_so_in_its_step() -> None:
    state = _national_with_two_advance_requests()
    outcome = decide(state, Action.STOP, _stop(), NOW)
    second = outcome.state.advances[1]
    assert (second.paid_on, second.lapsed_on) == (None, TODAY)
    assert "2001/QĐ-BCT" in (second.lapse_reason or "")
    assert outcome.state.advances[0].lapsed_on is None  # the paid one stays paid
    assert "lần 2 (75.000.000 đ)" in outcome.step.summary
    assert outcome.step.details["lapsed_advances"] == [{"request_no": 2, "amount": 75_000_000}]
    assert outcome.state.timeline[-1].summary == outcome.step.summary


def test_after_a_stop_the_lapsed_advance_is_never_paid_and_the_settlement_pays_50_tr() -> None:
    state = decide(_national_with_two_advance_requests(), Action.STOP, _stop(), NOW).state
    with pytest.raises(Refusal) as while_stopped:
        decide(state, Action.PAY_ADVANCE, _pay_second(), NOW)
    assert while_stopped.value.code == "WrongStage"
    state = decide(state, Action.ACCEPT, _accept_60_percent(), NOW).state
    with pytest.raises(Refusal) as after_acceptance:
        decide(state, Action.PAY_ADVANCE, _pay_second(), NOW)
    assert (after_acceptance.value.code, after_acceptance.value.field) == (
        "AdvanceLapsed",
        "request_no",
    )
    assert "Điều 11" in (after_acceptance.value.legal_basis or "")
    with pytest.raises(Refusal) as no_new_request:
        decide(
            state,
            Action.REQUEST_ADVANCE,
            DeAnRequestAdvance(actor=TRUNG_TAM, amount=1, requested_on=TODAY),
            NOW,
        )
    assert no_new_request.value.code == "AdvanceNotAllowed"

    from tests.support.builders import CUC

    settled = decide(
        state,
        Action.SETTLE,
        DeAnSettle(actor=CUC, settlement_number="QT-1", settled_on=TODAY),
        NOW,
    )
    settlement = settled.state.settlement
    assert settlement is not None
    # min(250 tr, 50 % × 300 tr, 300 tr) = 150 tr, minus the 100 tr advanced
    assert (settlement.final_support, settlement.payout, settlement.refund_owed) == (
        150_000_000,
        50_000_000,
        0,
    )
    assert settled.state.advanced == 100_000_000
    assert "không chi đề nghị tạm ứng đã hết hiệu lực: lần 2" in settled.step.summary


def test_a_de_an_stopped_before_the_rule_is_settled_and_its_unpaid_request_lapses_then() -> None:
    old_rules = rules.RuleSwitches(stop_lapses_advances=False)
    state = _national_with_two_advance_requests()
    state = decide(state, Action.STOP, _stop(), NOW, old_rules).state
    assert state.advances[1].lapsed_on is None  # stopped as it was recorded then
    state = decide(state, Action.ACCEPT, _accept_60_percent(), NOW).state
    # replaying its history, the old rule pays the request and blocks the settlement ...
    assert decide(state, Action.PAY_ADVANCE, _pay_second(), NOW, old_rules).state.advanced
    from tests.support.builders import CUC

    settle = DeAnSettle(actor=CUC, settlement_number="QT-1", settled_on=TODAY)
    with pytest.raises(Refusal):
        decide(state, Action.SETTLE, settle, NOW, old_rules)
    # ... while a step decided now refuses the payment and settles, noting the lapse
    with pytest.raises(Refusal) as lapsed:
        decide(state, Action.PAY_ADVANCE, _pay_second(), NOW)
    assert lapsed.value.code == "AdvanceLapsed"
    settled = decide(state, Action.SETTLE, settle, NOW).state
    assert settled.advances[1].lapsed_on == TODAY
    assert settled.settlement is not None and settled.settlement.payout == 50_000_000


def test_the_patches_are_asked_only_where_a_changed_rule_is_at_stake() -> None:
    state = _national_with_two_advance_requests()
    stop = rules.patches_at_stake(state, Action.STOP, _stop())
    assert stop == {rules.STOP_LAPSES_PATCH}
    assert rules.patches_at_stake(state, Action.PAY_ADVANCE, _pay_second()) == set()
    stopped = decide(state, Action.STOP, _stop(), NOW).state
    assert rules.patches_at_stake(stopped, Action.PAY_ADVANCE, _pay_second()) == {
        rules.STOP_LAPSES_PATCH
    }
    assert rules.switches_for({}) == rules.CURRENT_RULES
    assert not rules.switches_for({rules.STOP_LAPSES_PATCH: False}).stop_lapses_advances


# --- issue 10, item 10: a change of site or timing carries the new site or dates --------------


def _adjust(**fields: Any) -> DeAnAdjust:
    data: dict[str, Any] = {
        "actor": SO,
        "decision_number": "78/QĐ-SCT",
        "decision_date": TODAY,
        "description": "Điều chỉnh",
        **fields,
    }
    return DeAnAdjust.model_validate(data)


def test_a_change_of_site_names_the_new_site_and_it_becomes_the_de_an_s_site() -> None:
    state = contracted()
    with pytest.raises(Refusal) as bare:
        decide(state, Action.ADJUST, _adjust(kind="change_site"), NOW)
    assert (bare.value.code, bare.value.field) == ("InvalidField", "new_address")
    outcome = decide(
        state,
        Action.ADJUST,
        _adjust(kind="change_site", new_address="Thôn Đông", new_commune="Xã Nham Sơn"),
        NOW,
    )
    site = outcome.state.current_site
    assert (site.address, site.commune, site.district) == ("Thôn Đông", "Xã Nham Sơn", "Yên Dũng")
    assert outcome.state.dossier == state.dossier  # the registered dossier is kept as it was
    snap = outcome.step.snapshot
    assert (snap.address, snap.commune, snap.district) == ("Thôn Đông", "Xã Nham Sơn", "Yên Dũng")
    assert "→ Thôn Đông, Xã Nham Sơn, Yên Dũng" in outcome.step.summary
    assert outcome.step.details["new_commune"] == "Xã Nham Sơn"


def test_a_change_of_timing_names_new_dates_inside_the_plan_year() -> None:
    state = contracted()
    with pytest.raises(Refusal) as bare:
        decide(state, Action.ADJUST, _adjust(kind="change_timing"), NOW)
    assert bare.value.field == "new_start"
    with pytest.raises(Refusal) as next_year:
        decide(state, Action.ADJUST, _adjust(kind="change_timing", new_end=date(2020, 2, 1)), NOW)
    assert (next_year.value.field, "extend_next_year" in next_year.value.message) == (
        "new_end",
        True,
    )
    with pytest.raises(Refusal):
        decide(
            state,
            Action.ADJUST,
            _adjust(kind="change_timing", new_start=date(2019, 12, 1), new_end=date(2019, 11, 1)),
            NOW,
        )
    outcome = decide(
        state, Action.ADJUST, _adjust(kind="change_timing", new_end=date(2019, 12, 15)), NOW
    )
    schedule = outcome.state.current_schedule
    assert (schedule.start, schedule.end) == (state.dossier.schedule.start, date(2019, 12, 15))
    assert outcome.step.snapshot.schedule_end == date(2019, 12, 15)
    assert "15/12/2019" in outcome.step.summary


def test_site_or_dates_on_another_kind_of_adjustment_are_refused_not_ignored() -> None:
    with pytest.raises(Refusal) as refused:
        decide(
            contracted(),
            Action.ADJUST,
            _adjust(kind="change_partner", new_commune="Xã Nham Sơn"),
            NOW,
        )
    assert refused.value.field == "kind"


def test_an_adjustment_recorded_before_the_site_fields_replays_as_it_was() -> None:
    old = rules.RuleSwitches(adjust_needs_details=False)
    outcome = decide(contracted(), Action.ADJUST, _adjust(kind="change_site"), NOW, old)
    assert outcome.state.site is None
    assert rules.patches_at_stake(contracted(), Action.ADJUST, _adjust(kind="change_site")) == {
        rules.ADJUST_DETAILS_PATCH
    }


def test_old_adjustment_payloads_still_load() -> None:
    payload = {
        "actor": SO.model_dump(mode="json"),
        "kind": "change_site",
        "decision_number": "78/QĐ-SCT",
        "decision_date": "2019-06-10",
        "description": "Chuyển xưởng",
    }
    command = DeAnAdjust.model_validate(payload)
    assert (command.new_address, command.new_start, command.site_fields) == (None, None, {})


# --- issue 10, item 8: a step typed in after the fact has its deadlines, missed ---------------


def _accepted_on_paper(**state_fields: Any) -> DeAnState:
    """Accepted on 20/11/2019 on paper, the đề án entered the engine on 1/12/2026."""
    state = contracted()
    state = decide(
        state,
        Action.ACCEPT,
        DeAnAccept(
            actor=SO,
            minutes_number="NT-1",
            accepted_on=date(2019, 11, 20),
            accepted_cost=100_000_000,
            accepted_volume_bp=10000,
        ),
        datetime(2019, 11, 21, tzinfo=UTC),
    ).state
    return state.model_copy(
        update={"entered_at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC), **state_fields}
    )


def test_deadlines_already_past_when_typed_in_are_due_at_once_and_recorded_as_missed() -> None:
    state = _accepted_on_paper()
    assert rules.pending_deadlines(state) == []  # what running đề án did before the patch
    past = rules.past_deadlines(state)
    assert [(d.kind.value, d.due_date) for d in past] == [
        ("settlement_dossier", date(2019, 12, 5)),
        ("settlement", date(2020, 1, 22)),
    ]
    now = datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC)
    assert rules.due_deadlines(state, now, past=True) == past
    assert rules.open_deadlines(state) == past
    outcome = rules.decide_deadline_missed(state, past[0], now)
    assert outcome.state.missed_deadlines == [past[0].key]
    assert outcome.state.overdue and outcome.step.snapshot.overdue
    assert outcome.step.business_date == date(2019, 12, 5)
    assert "đã quá hạn khi được nhập vào hệ thống" in outcome.step.summary
    assert rules.past_deadlines(outcome.state) == past[1:]


def test_a_complete_paper_record_rebuilt_by_the_backfill_raises_no_alarm() -> None:
    state = _accepted_on_paper(flag_past_deadlines=False)
    assert rules.past_deadlines(state) == []
    assert rules.pending_deadlines(state, past=True) == []
    assert len(rules.open_deadlines(state)) == 2  # still shown by de-an show as overdue


# --- a settlement held by a visit's findings (fuzzer finding: settled on hold) ---------------


def _visit(hold: bool = True, number: str = "KT-1") -> DeAnRecordVisit:
    return DeAnRecordVisit(
        actor=SO,
        visited_on=TODAY,
        minutes_number=number,
        findings=["Thiếu chứng từ chi"],
        hold_payments=hold,
    )


def _accepted(cost: int = 100_000_000) -> DeAnState:
    return decide(
        contracted("training", cost=100_000_000, support=100_000_000),
        Action.ACCEPT,
        DeAnAccept(
            actor=SO,
            minutes_number="NT",
            accepted_on=TODAY,
            accepted_cost=cost,
            accepted_volume_bp=10_000,
        ),
        NOW,
    ).state


def _settled_on_hold() -> DeAnState:
    state = decide(_accepted(), Action.RECORD_VISIT, _visit(), NOW).state
    settle = DeAnSettle(actor=SO, settlement_number="QT", settled_on=TODAY)
    return decide(state, Action.SETTLE, settle, NOW).state


RESOLVE = DeAnResolveFindings(actor=SO, resolved_on=TODAY)
PAY = DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=TODAY, voucher_number="C1")


def test_a_hold_does_not_stop_the_settlement_and_is_resolved_once_settled_then_paid() -> None:
    state = _settled_on_hold()
    assert (state.stage, state.payments_on_hold) == (Stage.SETTLED, True)
    assert state.settlement is not None and state.settlement.payout == 100_000_000
    with pytest.raises(Refusal) as held:
        decide(state, Action.PAY_SETTLEMENT, PAY, NOW)
    assert held.value.code == "PaymentsOnHold"
    resolved = decide(state, Action.RESOLVE_FINDINGS, RESOLVE, NOW)
    assert resolved.state.stage is Stage.SETTLED
    assert (resolved.state.payments_on_hold, resolved.state.open_findings) == (False, [])
    assert resolved.step.stage_from is resolved.step.stage_to is Stage.SETTLED
    assert not resolved.step.snapshot.payments_on_hold
    closed = decide(resolved.state, Action.PAY_SETTLEMENT, PAY, NOW).state
    assert (closed.stage, closed.paid) == (Stage.CLOSED, 100_000_000)


def test_findings_on_a_settled_de_an_are_resolved_by_the_same_officials_as_before() -> None:
    state = _settled_on_hold()
    for who in (TRUNG_TAM, UBND, KE_TOAN_BG):
        with pytest.raises(Refusal) as refused:
            decide(state, Action.RESOLVE_FINDINGS, RESOLVE.model_copy(update={"actor": who}), NOW)
        assert refused.value.code == "WrongAuthority"
    resolved = decide(state, Action.RESOLVE_FINDINGS, RESOLVE, NOW).state
    with pytest.raises(Refusal) as nothing_open:
        decide(resolved, Action.RESOLVE_FINDINGS, RESOLVE, NOW)
    assert nothing_open.value.code == "InvalidField"
    closed = decide(resolved, Action.PAY_SETTLEMENT, PAY, NOW).state
    with pytest.raises(Refusal) as after_closing:
        decide(closed, Action.RESOLVE_FINDINGS, RESOLVE, NOW)
    assert after_closing.value.code == "WrongStage"


def test_a_refund_owed_is_recovered_whatever_the_hold() -> None:
    state = decide(
        contracted("training", cost=100_000_000, support=100_000_000),
        Action.REQUEST_ADVANCE,
        DeAnRequestAdvance(actor=TRUNG_TAM, amount=70_000_000, requested_on=TODAY),
        NOW,
    ).state
    state = decide(
        state,
        Action.PAY_ADVANCE,
        DeAnPayAdvance(actor=KE_TOAN_BG, request_no=1, paid_on=TODAY, voucher_number="A"),
        NOW,
    ).state
    state = decide(
        state,
        Action.ACCEPT,
        DeAnAccept(
            actor=SO,
            minutes_number="NT",
            accepted_on=TODAY,
            accepted_cost=50_000_000,
            accepted_volume_bp=10_000,
        ),
        NOW,
    ).state
    state = decide(state, Action.RECORD_VISIT, _visit(), NOW).state
    state = decide(
        state, Action.SETTLE, DeAnSettle(actor=SO, settlement_number="QT", settled_on=TODAY), NOW
    ).state
    assert state.settlement is not None and state.settlement.refund_owed == 20_000_000
    refund = DeAnRecordRefund(
        actor=KE_TOAN_BG, amount=20_000_000, refunded_on=TODAY, voucher_number="R1"
    )
    assert decide(state, Action.RECORD_REFUND, refund, NOW).state.stage is Stage.CLOSED


def test_a_resolution_refused_on_a_settled_de_an_before_the_change_replays_refused() -> None:
    state = _settled_on_hold()
    assert rules.patches_at_stake(state, Action.RESOLVE_FINDINGS, RESOLVE) == {
        rules.RESOLVE_SETTLED_PATCH
    }
    accepted_on_hold = decide(_accepted(), Action.RECORD_VISIT, _visit(), NOW).state
    assert rules.patches_at_stake(accepted_on_hold, Action.RESOLVE_FINDINGS, RESOLVE) == set()
    old_rules = rules.switches_for({rules.RESOLVE_SETTLED_PATCH: False})
    assert not old_rules.resolve_after_settlement
    with pytest.raises(Refusal) as before:
        decide(state, Action.RESOLVE_FINDINGS, RESOLVE, NOW, old_rules)
    assert before.value.code == "WrongStage"
    # as the handler said it then: only payment and refund were possible once settled
    assert before.value.message.endswith("có thể: Chi trả quyết toán, Thu hồi kinh phí")
    assert decide(state, Action.RESOLVE_FINDINGS, RESOLVE, NOW).state.stage is Stage.SETTLED
