"""The lifecycles simulated officials take đề án through, and what each must end as.

Every path is a list of steps (action, who acts, the payload without the actor) and the
outcome the rules promise: final stage, money paid, advanced and refunded, the payment rows.
Some steps are refusals an official meets on the way (wrong authority, payments on hold,
wrong jurisdiction): they must be refused with that rule, and change nothing.

Dates are the day of the run (``"@today"``): papers may not be dated in the future.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.model import (
    Beneficiary,
    BeneficiaryType,
    ContentArea,
    CostLine,
    DeAnDossier,
    Level,
    Schedule,
)
from domain.stages import Action, Stage
from workflows.de_an_contract import DeAnAdjust

TODAY = "@today"
MONTH = "@month"

A = Action


@dataclass(frozen=True)
class Step:
    action: Action
    who: str
    fields: dict[str, Any]
    refusal: str | None = None
    """The refusal type this step must meet; None: it must be accepted."""

    def payload(self, today: date) -> dict[str, Any]:
        def fill(value: Any) -> Any:
            if value == TODAY:
                return today
            if value == MONTH:
                return f"{today:%Y-%m}"
            return value

        return {k: fill(v) for k, v in self.fields.items()}


@dataclass(frozen=True)
class LifePath:
    name: str
    level: Level
    support_item: str
    cost: int
    requested: int
    steps: list[Step]
    stage: Stage
    paid: int = 0
    advanced: int = 0
    refunded: int = 0
    payments: list[tuple[str, int]] = field(default_factory=list)
    counterpart: int | None = None
    content_area: ContentArea = ContentArea.MO_HINH_MAY_MOC

    @property
    def events(self) -> int:
        """Steps recorded in PostgreSQL: the registration and every accepted step."""
        return 1 + sum(1 for s in self.steps if s.refusal is None)

    def dossier(self, code: str, today: date) -> DeAnDossier:
        return DeAnDossier(
            code=code,
            title=f"Chaos: {self.name}",
            level=self.level,
            province="Bắc Giang",
            district="Yên Dũng",
            content_area=self.content_area,
            support_item=self.support_item,
            beneficiary=Beneficiary(
                name="HTX Vật liệu xây dựng Tiến Phong",
                type=BeneficiaryType.HOP_TAC_XA,
                tax_code="2400123456",
            ),
            implementing_unit="Trung tâm Khuyến công tỉnh Bắc Giang",
            plan_year=today.year,
            schedule=Schedule(start=today, end=date(today.year, 12, 31)),
            cost_lines=[
                CostLine(description="Thiết bị, học liệu", amount=self.cost - 50_000_000),
                CostLine(description="Lắp đặt, tổ chức", amount=50_000_000),
            ],
            requested_support=self.requested,
            counterpart_funds=(
                self.cost - self.requested if self.counterpart is None else self.counterpart
            ),
        )


def appraise(who: str, verdict: str = "pass", minutes: str = "BB-01", **kw: Any) -> Step:
    reason = "" if verdict == "pass" else "Thiếu báo giá thiết bị"
    fields = {
        "verdict": verdict,
        "appraised_on": TODAY,
        "minutes_number": minutes,
        "reason": reason,
    }
    return Step(A.APPRAISE, who, fields, **kw)


def approve(who: str, support: int, number: str, **kw: Any) -> Step:
    fields = {
        "decision_number": number,
        "decision_date": TODAY,
        "signer": "Người ký",
        "approved_support": support,
    }
    return Step(A.APPROVE, who, fields, **kw)


def sign(who: str, support: int, number: str = "15/HĐ-KC") -> Step:
    fields = {"contract_number": number, "signed_on": TODAY, "contracted_support": support}
    return Step(A.SIGN_CONTRACT, who, fields)


def request_advance(amount: int) -> Step:
    return Step(A.REQUEST_ADVANCE, "tt", {"amount": amount, "requested_on": TODAY})


def pay_advance(who: str, no: int = 1, voucher: str = "UNC-A1", **kw: Any) -> Step:
    fields = {"request_no": no, "paid_on": TODAY, "voucher_number": voucher}
    return Step(A.PAY_ADVANCE, who, fields, **kw)


def adjust(who: str, kind: str, number: str, new_support: int | None = None, **kw: Any) -> Step:
    fields: dict[str, Any] = {
        "kind": kind,
        "decision_number": number,
        "decision_date": TODAY,
        "description": f"Điều chỉnh ({kind})",
    }
    if new_support is not None:
        fields["new_support"] = new_support
    if kind == "change_site" and "new_commune" in DeAnAdjust.model_fields:
        fields["new_commune"] = "Tiến Dũng"  # where the contract asks for the new site
    return Step(A.ADJUST, who, fields, **kw)


def stop(who: str, number: str) -> Step:
    fields = {"decision_number": number, "decision_date": TODAY, "reason": "Không triển khai được"}
    return Step(A.STOP, who, fields)


def accept(who: str, cost: int, volume_bp: int = 10000, minutes: str = "NT-01") -> Step:
    fields = {
        "minutes_number": minutes,
        "accepted_on": TODAY,
        "accepted_cost": cost,
        "accepted_volume_bp": volume_bp,
    }
    return Step(A.ACCEPT, who, fields)


def settle(who: str, number: str = "QT-01") -> Step:
    return Step(A.SETTLE, who, {"settlement_number": number, "settled_on": TODAY})


def pay_settlement(who: str, voucher: str = "UNC-C1", **kw: Any) -> Step:
    return Step(A.PAY_SETTLEMENT, who, {"paid_on": TODAY, "voucher_number": voucher}, **kw)


PATHS: list[LifePath] = [
    LifePath(
        "dp-closed-hold-adjust",
        Level.DIA_PHUONG,
        "machinery",
        600_000_000,
        200_000_000,
        [
            appraise("so"),
            approve("ubnd", 200_000_000, "427/QĐ-UBND"),
            sign("so", 200_000_000),
            Step(
                A.REPORT_PROGRESS,
                "tt",
                {
                    "month": MONTH,
                    "investment_done_bp": 8000,
                    "spent_cost": 480_000_000,
                    "reported_on": TODAY,
                },
            ),
            Step(A.CONFIRM_PROGRESS, "so2", {"month": MONTH, "confirmed_on": TODAY}),
            Step(
                A.RECORD_VISIT,
                "so",
                {
                    "visited_on": TODAY,
                    "minutes_number": "KT-1",
                    "findings": ["Chưa lắp biển công trình khuyến công"],
                    "hold_payments": True,
                },
            ),
            request_advance(140_000_000),
            pay_advance("kt", refusal="PaymentsOnHold"),
            Step(A.RESOLVE_FINDINGS, "so", {"resolved_on": TODAY}),
            pay_advance("kt"),
            adjust("so", "change_site", "78/QĐ-SCT"),
            accept("so", 580_000_000),
            Step(A.SUBMIT_SETTLEMENT_DOSSIER, "tt", {"submitted_on": TODAY}),
            settle("so"),
            pay_settlement("kt"),
        ],
        Stage.CLOSED,
        paid=200_000_000,
        advanced=140_000_000,
        payments=[("advance", 140_000_000), ("settlement", 60_000_000)],
    ),
    LifePath(
        "qg-closed-decrease",
        Level.QUOC_GIA,
        "machinery",
        700_000_000,
        300_000_000,
        [
            appraise("so", minutes="BB-CS-01"),
            appraise("cuc", minutes="BB-BO-01"),
            approve("bt", 300_000_000, "1234/QĐ-BCT"),
            adjust("bt", "decrease_support", "1300/QĐ-CĐM", 280_000_000, refusal="WrongAuthority"),
            adjust("cuc", "decrease_support", "1300/QĐ-CĐM", 280_000_000),
            sign("cuc", 280_000_000, "20/HĐ-KCQG"),
            accept("so", 700_000_000),
            settle("cuc"),
            pay_settlement("kt", refusal="WrongJurisdiction"),
            pay_settlement("ktc"),
        ],
        Stage.CLOSED,
        paid=280_000_000,
        payments=[("settlement", 280_000_000)],
        counterpart=450_000_000,
    ),
    LifePath(
        "dp-stopped-refund",
        Level.DIA_PHUONG,
        "training",
        100_000_000,
        100_000_000,
        [
            appraise("so"),
            approve("ubnd", 100_000_000, "500/QĐ-UBND"),
            sign("so", 100_000_000, "16/HĐ-KC"),
            request_advance(70_000_000),
            pay_advance("kt"),
            stop("ubnd", "900/QĐ-UBND"),
            accept("so", 40_000_000, 4000),
            settle("so"),
            Step(
                A.RECORD_REFUND,
                "kt",
                {"refunded_on": TODAY, "amount": 30_000_000, "voucher_number": "NT-01"},
            ),
        ],
        Stage.CLOSED,
        paid=70_000_000,
        advanced=70_000_000,
        refunded=30_000_000,
        payments=[("advance", 70_000_000), ("refund", 30_000_000)],
        content_area=ContentArea.DAO_TAO,
    ),
    LifePath(
        "dp-returned-rejected",
        Level.DIA_PHUONG,
        "machinery",
        600_000_000,
        200_000_000,
        [
            appraise("so", "return", "BB-04"),
            Step(A.RESUBMIT, "tt", {"dossier": "@dossier"}),
            appraise("so", "pass", "BB-05"),
            Step(
                A.REJECT,
                "ubnd",
                {
                    "decision_number": "428/QĐ-UBND",
                    "decision_date": TODAY,
                    "reason": "Không đủ nguồn kinh phí năm kế hoạch",
                },
            ),
        ],
        Stage.REJECTED,
    ),
    LifePath(
        "dp-appraisal-failed",
        Level.DIA_PHUONG,
        "machinery",
        600_000_000,
        200_000_000,
        [
            appraise("so_bn", "pass", "BB-06", refusal="WrongJurisdiction"),
            appraise("so", "fail", "BB-07"),
        ],
        Stage.REJECTED,
    ),
    LifePath(
        "dp-approved-stopped",
        Level.DIA_PHUONG,
        "machinery",
        600_000_000,
        200_000_000,
        [
            appraise("so"),
            approve("ubnd", 200_000_000, "431/QĐ-UBND"),
            stop("ubnd", "950/QĐ-UBND"),
        ],
        Stage.CLOSED,
    ),
    LifePath(
        "qg-raised-extended",
        Level.QUOC_GIA,
        "training",
        300_000_000,
        200_000_000,
        [
            appraise("so", minutes="BB-CS-02"),
            appraise("cuc", minutes="BB-BO-02"),
            approve("bt", 150_000_000, "1240/QĐ-BCT"),
            adjust("cuc", "increase_support", "1301/QĐ-CĐM", 200_000_000, refusal="WrongAuthority"),
            adjust("bt", "increase_support", "1302/QĐ-BCT", 200_000_000),
            adjust("bt", "extend_next_year", "1303/QĐ-BCT"),
            sign("cuc", 200_000_000, "21/HĐ-KCQG"),
            request_advance(140_000_000),
            pay_advance("ktc"),
            accept("cuc", 300_000_000),
            settle("cuc"),
            pay_settlement("ktc"),
        ],
        Stage.CLOSED,
        paid=200_000_000,
        advanced=140_000_000,
        payments=[("advance", 140_000_000), ("settlement", 60_000_000)],
        counterpart=150_000_000,
        content_area=ContentArea.DAO_TAO,
    ),
    LifePath(
        "dp-settled-nothing-left",
        Level.DIA_PHUONG,
        "training",
        100_000_000,
        100_000_000,
        [
            appraise("so"),
            approve("ubnd", 100_000_000, "501/QĐ-UBND"),
            sign("so", 100_000_000, "17/HĐ-KC"),
            request_advance(70_000_000),
            pay_advance("kt"),
            accept("so", 70_000_000),
            settle("so"),
        ],
        Stage.CLOSED,
        paid=70_000_000,
        advanced=70_000_000,
        payments=[("advance", 70_000_000)],
        content_area=ContentArea.DAO_TAO,
    ),
]
"""National and provincial; closed with a payout, with a refund, with nothing left to pay;
returned and rejected, failed at appraisal, stopped before and after the contract; adjusted up,
down, in site and into the next year."""

PATHS_BY_NAME = {p.name: p for p in PATHS}
