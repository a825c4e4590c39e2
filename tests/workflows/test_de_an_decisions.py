"""The pure rules of DeAnWorkflow, without a server: unit tests and hypothesis properties of
the money invariants (paid ≤ approved, advances ≤ ceiling, exact settlement)."""

from __future__ import annotations

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
from tests.support.lifecycle import KE_TOAN_BG, SO, SO_2, TRUNG_TAM, UBND, make_dossier
from workflows import de_an_decisions as rules
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnAdjust,
    DeAnAppraise,
    DeAnApprove,
    DeAnConfirmProgress,
    DeAnPayAdvance,
    DeAnPaySettlement,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnSettle,
    DeAnSignContract,
    DeAnState,
)

TODAY = date(2019, 6, 10)
NOW = datetime(2019, 6, 10, 3, 0, tzinfo=UTC)
PACKS = load_packs()


def registered(**dossier: Any) -> DeAnState:
    state = rules.initial_state(make_dossier(TODAY, **dossier), TRUNG_TAM, date(2019, 1, 15), PACKS)
    return rules.decide_register(state, NOW).state


def contracted(
    support_item: str = "training", cost: int = 100_000_000, support: int = 100_000_000
) -> DeAnState:
    state = registered(support_item=support_item, cost=cost, requested_support=support)
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


def test_the_approval_fixes_the_rule_pack_in_force_on_the_decision_date() -> None:
    from tests.support.lifecycle import BO_TRUONG, CUC

    state = rules.initial_state(
        make_dossier(
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


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["request", "pay", "cut", "progress"]), st.integers(1, 120_000_000)
        ),
        max_size=14,
    )
)
def test_no_sequence_of_actions_pays_more_than_approved_or_advances_past_the_ceiling(
    actions: list[tuple[str, int]],
) -> None:
    state = contracted("machinery", cost=600_000_000, support=200_000_000)
    month = 0
    for index, (kind, amount) in enumerate(actions):
        try:
            if kind == "request":
                outcome = rules.decide_request_advance(
                    state,
                    DeAnRequestAdvance(actor=TRUNG_TAM, amount=amount, requested_on=TODAY),
                    NOW,
                )
            elif kind == "pay":
                no = len(state.advances)
                outcome = rules.decide_pay_advance(
                    state,
                    DeAnPayAdvance(
                        actor=KE_TOAN_BG, request_no=max(no, 1), paid_on=TODAY, voucher_number="V"
                    ),
                    NOW,
                )
            elif kind == "cut":
                outcome = rules.decide_adjust(
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
            else:
                month = min(month + 1, 6)
                reported = rules.decide_report_progress(
                    state,
                    DeAnReportProgress(
                        actor=TRUNG_TAM,
                        month=f"2019-{month:02d}",
                        investment_done_bp=min(10_000, amount % 10_001),
                        spent_cost=0,
                        reported_on=TODAY,
                    ),
                    NOW,
                ).state
                outcome = rules.decide_confirm_progress(
                    reported,
                    DeAnConfirmProgress(actor=SO_2, month=f"2019-{month:02d}", confirmed_on=TODAY),
                    NOW,
                )
        except Refusal:
            continue
        state = outcome.state
        limit, _ = rules.advance_limit(state)
        assert state.paid <= state.approved_support
        assert sum(a.amount for a in state.advances) <= max(limit, state.advanced)
        assert (
            state.advanced <= apply_rate(state.contracted_support, 7000)
            or state.contracted_support < state.advanced <= state.approved_support
        )
        assert outcome.step.snapshot.paid == state.paid


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
