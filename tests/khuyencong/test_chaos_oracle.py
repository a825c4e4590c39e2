"""The fuzzer's oracle on hand-made states: it must say no where docs/officials.md and the
domain rules say no, so that "0 accepted wrongly" from the fuzzer means something."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from domain.model import Actor, Role
from domain.stages import Action, Stage
from khuyencong.chaos.officials import ROSTER
from khuyencong.chaos.oracle import Oracle
from khuyencong.chaos.paths import PATHS_BY_NAME
from workflows.de_an_contract import (
    DeAnAdvance,
    DeAnDecisionRecord,
    DeAnSettlementRecord,
    DeAnState,
)

DAY = date(2026, 6, 1)
ORACLE = Oracle.from_rule_packs()


def actor(key: str) -> dict[str, Any]:
    role, province, name, organisation = ROSTER[key]
    return Actor(
        official_id=key, full_name=name, role=role, organisation=organisation, province=province
    ).model_dump()


def state(path: str = "dp-closed-hold-adjust", **fields: Any) -> DeAnState:
    dossier = PATHS_BY_NAME[path].dossier("T-1", DAY)
    registered = Actor(
        official_id="tt",
        full_name="A",
        role=Role.TRUNG_TAM,
        organisation="TT",
        province="Bắc Giang",
    )
    return DeAnState(
        de_an_id="T-1", dossier=dossier, registered_by=registered, registered_on=DAY, **fields
    )


def breaks(s: DeAnState, action: Action, who: str, **cmd: Any) -> list[str]:
    return ORACLE.judge(s, action, actor(who), cmd, DAY, set()).breaks


def approve(support: int, on: date = DAY) -> dict[str, Any]:
    return {
        "decision_number": "1/QĐ-UBND",
        "decision_date": on,
        "signer": "X",
        "approved_support": support,
    }


def test_approval_by_the_matrix_caps_and_counterpart() -> None:
    s = state(stage=Stage.APPRAISED)
    assert breaks(s, Action.APPROVE, "ubnd", **approve(200_000_000)) == []
    assert "WrongAuthority" in breaks(s, Action.APPROVE, "bt", **approve(200_000_000))
    assert "WrongJurisdiction" in breaks(s, Action.APPROVE, "ubnd_bn", **approve(200_000_000))
    assert "SupportOverRequest" in breaks(s, Action.APPROVE, "ubnd", **approve(200_000_001))
    assert "InvalidField" in breaks(s, Action.APPROVE, "ubnd", **approve(1, DAY + timedelta(1)))
    assert "WrongStage" in breaks(state(), Action.APPROVE, "ubnd", **approve(1))
    national = state("qg-closed-decrease", stage=Stage.APPRAISED)
    assert breaks(national, Action.APPROVE, "bt", **approve(300_000_000)) == []
    # 700M × 50 % = 350M, capped at 300M for machinery (TT 28/2018); requested is 300M
    assert "CounterpartTooLow" in breaks(
        state("qg-raised-extended", stage=Stage.APPRAISED),
        Action.APPROVE,
        "bt",
        **approve(140_000_000),  # 300M cost − 140M > 150M counterpart
    )


def test_payments_four_eyes_hold_and_who_pays_national_money() -> None:
    s = state(
        stage=Stage.IN_PROGRESS,
        approved_support=200_000_000,
        contracted_support=200_000_000,
        approval=DeAnDecisionRecord(number="1/QĐ-UBND", date=DAY, signer="X", official_id="kt"),
        advances=[DeAnAdvance(no=1, amount=50_000_000, requested_on=DAY, requested_by="tt")],
    )
    pay = {"request_no": 1, "paid_on": DAY, "voucher_number": "A1"}
    assert "FourEyesViolation" in breaks(s, Action.PAY_ADVANCE, "kt", **pay)
    assert "WrongJurisdiction" in breaks(s, Action.PAY_ADVANCE, "ktc", **pay)
    held = s.model_copy(update={"payments_on_hold": True, "approval": None})
    assert "PaymentsOnHold" in breaks(held, Action.PAY_ADVANCE, "kt", **pay)
    assert "InactiveOfficial" in breaks(
        s.model_copy(update={"deactivated_officials": ["so"]}),
        Action.RECORD_VISIT,
        "so",
        visited_on=DAY,
        minutes_number="KT-1",
    )


def test_advances_wait_for_confirmed_progress_and_stay_within_seventy_percent() -> None:
    s = state(
        stage=Stage.IN_PROGRESS,
        approved_support=200_000_000,
        contracted_support=200_000_000,
        rule_pack_id="dia-phuong-bac-giang-vi-du",
    )
    ask = {"requested_on": DAY}
    assert "AdvanceNotAllowed" in breaks(s, Action.REQUEST_ADVANCE, "tt", amount=10, **ask)
    training = state(
        "dp-stopped-refund",
        stage=Stage.IN_PROGRESS,
        approved_support=100_000_000,
        contracted_support=100_000_000,
        rule_pack_id="dia-phuong-bac-giang-vi-du",
    )
    assert breaks(training, Action.REQUEST_ADVANCE, "tt", amount=70_000_000, **ask) == []
    assert "AdvanceOverLimit" in breaks(
        training, Action.REQUEST_ADVANCE, "tt", amount=70_000_001, **ask
    )


def test_a_settlement_is_min_of_approved_eligible_times_rate_and_cap() -> None:
    s = state(
        stage=Stage.ACCEPTED,
        approved_support=200_000_000,
        accepted_cost=580_000_000,
        rule_pack_id="dia-phuong-bac-giang-vi-du",
        advances=[
            DeAnAdvance(no=1, amount=140_000_000, requested_on=DAY, requested_by="tt", paid_on=DAY)
        ],
    )
    verdict = ORACLE.judge(
        s,
        Action.SETTLE,
        actor("so"),
        {"settlement_number": "QT", "settled_on": DAY},
        DAY,
        set(),
    )
    assert verdict.accept and verdict.settle == (200_000_000, 60_000_000, 0)
    assert verdict.next_stage is Stage.SETTLED


def test_a_settled_de_an_on_hold_resolves_its_findings_then_pays() -> None:
    """The hold stops paying, not settling: the Sở resolves the findings on the settled đề án
    (docs/officials.md, "Tạm dừng chi trả"), and only then may finance pay the settlement."""
    settled = state(
        stage=Stage.SETTLED,
        approved_support=200_000_000,
        rule_pack_id="dia-phuong-bac-giang-vi-du",
        payments_on_hold=True,
        open_findings=["Thiếu chứng từ"],
        settlement=DeAnSettlementRecord(
            number="QT",
            settled_on=DAY,
            settled_by="so",
            eligible_cost=200_000_000,
            rate_bp=10_000,
            cap=None,
            final_support=200_000_000,
            payout=200_000_000,
            refund_owed=0,
        ),
    )
    pay = {"paid_on": DAY, "voucher_number": "C1"}
    assert breaks(settled, Action.PAY_SETTLEMENT, "kt", **pay) == ["PaymentsOnHold"]
    verdict = ORACLE.judge(
        settled, Action.RESOLVE_FINDINGS, actor("so"), {"resolved_on": DAY}, DAY, set()
    )
    assert verdict.accept and verdict.next_stage is Stage.SETTLED
    assert "WrongAuthority" in breaks(settled, Action.RESOLVE_FINDINGS, "tt", resolved_on=DAY)
    resolved = settled.model_copy(update={"payments_on_hold": False, "open_findings": []})
    assert breaks(resolved, Action.PAY_SETTLEMENT, "kt", **pay) == []
    assert breaks(resolved, Action.RESOLVE_FINDINGS, "so", resolved_on=DAY) == ["InvalidField"]
    closed = resolved.model_copy(update={"stage": Stage.CLOSED})
    assert breaks(closed, Action.RESOLVE_FINDINGS, "so", resolved_on=DAY) == ["WrongStage"]
