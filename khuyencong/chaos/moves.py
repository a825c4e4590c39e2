"""Random actions for the fuzzer: which action, who acts, with what payload.

Mostly plausible (an action the đề án's stage allows, an official who may take it, figures
taken from the đề án), often wrong on purpose (another stage, another role or province, the
deactivated official, a paper used twice, a date in the future, an amount over a limit, a
malformed number). Seeded: the same seed gives the same moves against the same answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.model import Level, Role
from domain.stages import Action, Stage
from khuyencong.admin.client import COMMANDS
from khuyencong.chaos.oracle import ADJUST_WHO, WHERE, WHO
from workflows.de_an_contract import DeAnAdjust, DeAnState

ADJUST_KINDS = list(ADJUST_WHO)


@dataclass(frozen=True)
class Move:
    action: Action
    who: str
    payload: dict[str, Any]
    """Without the actor; dates as ``date``."""


def stage_actions(stage: Stage) -> list[Action]:
    return [a for a, where in WHERE.items() if stage in where]


def fitting_roles(action: Action, state: DeAnState, kind: str | None) -> set[Role]:
    national = state.dossier.level is Level.QUOC_GIA
    if action is Action.APPRAISE:
        return (
            {Role.CUC}
            if national and state.stage is Stage.BASE_APPRAISED
            else {Role.SO_CONG_THUONG}
        )
    if action is Action.ADJUST:
        return ADJUST_WHO[kind or "change_site"][0 if national else 2]
    return WHO[action][0 if national else 1]


def fitting_officials(
    roster: dict[str, tuple[Role, str | None]], roles: set[Role], state: DeAnState
) -> list[str]:
    national = state.dossier.level is Level.QUOC_GIA
    out = []
    for key, (role, province) in roster.items():
        if key == "gone" or role not in roles:
            continue
        if role is Role.TAI_CHINH and national:
            if province is None:
                out.append(key)
        elif role in (Role.CUC, Role.BO_TRUONG) or province == state.dossier.province:
            out.append(key)
    return out


def _when(rng: random.Random, today: date) -> date:
    r = rng.random()
    if r < 0.05:
        return today + timedelta(days=1)  # a paper dated tomorrow
    if r < 0.09:
        return today - timedelta(days=1)  # before the registration
    return today


def _number(rng: random.Random, suffix: str) -> str:
    if rng.random() < 0.04:
        return rng.choice(["", "QĐ 427", "427-QĐ", "x/y"])  # malformed
    return f"{rng.randint(1, 6)}/{suffix}"


def propose(
    rng: random.Random,
    state: DeAnState,
    today: date,
    roster: dict[str, tuple[Role, str | None]],
) -> Move:
    allowed = stage_actions(state.stage)
    if allowed and rng.random() < 0.8:
        action = rng.choice(allowed)
    else:
        action = rng.choice(list(COMMANDS))
    kind = rng.choice(ADJUST_KINDS) if action is Action.ADJUST else None
    fitting = fitting_officials(roster, fitting_roles(action, state, kind), state)
    if fitting and rng.random() < 0.75:
        who = rng.choice(fitting)
    else:
        who = rng.choice(list(roster))
    return Move(action, who, payload(rng, action, state, today, kind))


def payload(
    rng: random.Random, action: Action, state: DeAnState, today: date, kind: str | None
) -> dict[str, Any]:
    d = state.dossier
    on = _when(rng, today)
    pick = rng.choice
    if action is Action.RESUBMIT:
        dossier = d.model_dump(mode="json")
        dossier["title"] = f"{d.title} (bổ sung)"[:500]
        if rng.random() < 0.1:
            dossier["plan_year"] = d.plan_year + 1
        return {"dossier": dossier}
    if action is Action.APPRAISE:
        verdict = rng.choices(["pass", "return", "fail"], [0.75, 0.15, 0.1])[0]
        reason = "" if verdict == "pass" or rng.random() < 0.1 else "Thiếu hồ sơ"
        return {
            "verdict": verdict,
            "appraised_on": on,
            # a fresh number now and then: used papers are refused, and a đề án returned
            # for supplement needs a new appraisal minutes
            "minutes_number": f"BB-{rng.randint(1, len(state.appraisals) + 3)}",
            "reason": reason,
        }
    if action is Action.APPROVE:
        ceiling_guess = d.requested_support
        support = rng.choices(
            [ceiling_guess, ceiling_guess // 2, ceiling_guess + 1_000_000, 0, 10**12],
            [0.6, 0.15, 0.1, 0.1, 0.05],
        )[0]
        return {
            "decision_number": _number(rng, "QĐ-UBND"),
            "decision_date": on,
            "signer": "Người ký",
            "approved_support": support,
        }
    if action is Action.REJECT:
        return {
            "decision_number": _number(rng, "QĐ-UBND"),
            "decision_date": on,
            "reason": "Không đủ nguồn kinh phí",
        }
    if action is Action.SIGN_CONTRACT:
        amount = pick([state.approved_support] * 4 + [state.approved_support + 1, 0])
        return {
            "contract_number": _number(rng, "HĐ-KC"),
            "signed_on": on,
            "contracted_support": amount,
        }
    if action is Action.REPORT_PROGRESS:
        month = pick(
            [f"{today:%Y-%m}"] * 6
            + [
                f"{today - timedelta(days=40):%Y-%m}",
                f"{today + timedelta(days=40):%Y-%m}",
                "2026-13",
            ]
        )
        return {
            "month": month,
            "investment_done_bp": pick([3000, 7500, 8000, 10000, 10001]),
            "spent_cost": d.total_cost // 2,
            "reported_on": on,
        }
    if action is Action.CONFIRM_PROGRESS:
        months = [p.month for p in state.progress] or [f"{today:%Y-%m}"]
        return {"month": pick([*months, f"{today - timedelta(days=40):%Y-%m}"]), "confirmed_on": on}
    if action is Action.RECORD_VISIT:
        findings = pick([[], ["Chưa lắp biển công trình"], ["  "]])
        return {
            "visited_on": on,
            "minutes_number": f"KT-{rng.randint(1, 5)}",
            "findings": findings,
            "hold_payments": rng.random() < 0.4,
        }
    if action is Action.RESOLVE_FINDINGS:
        return {"resolved_on": on}
    if action is Action.REQUEST_ADVANCE:
        already = sum(a.amount for a in state.advances)
        seventy = state.contracted_support * 7000 // 10000
        amount = pick(
            [seventy - already, seventy // 2, 10_000_000, seventy + 1, 0, state.contracted_support]
        )
        return {"amount": amount, "requested_on": on}
    if action is Action.PAY_ADVANCE:
        nos = [a.no for a in state.advances] or [1]
        return {
            "request_no": pick([*nos, nos[-1], len(nos) + 1]),
            "paid_on": on,
            "voucher_number": f"UNC-{rng.randint(1, 99)}",
        }
    if action is Action.ADJUST:
        fields: dict[str, Any] = {
            "kind": kind,
            "decision_number": _number(rng, "QĐ-ĐC"),
            "decision_date": on,
            "description": "Điều chỉnh",
        }
        if "new_commune" in DeAnAdjust.model_fields:  # contracts that carry site and dates
            if (kind == "change_site") != (rng.random() < 0.1):
                fields["new_commune"] = pick(["Tiến Dũng", "Nham Sơn", "  "])
            if (kind == "change_timing") != (rng.random() < 0.1):
                year = state.budget_year or d.plan_year
                fields[pick(["new_start", "new_end"])] = pick(
                    [date(year, 12, 30), date(year, 6, 1), date(year + 1, 1, 15)]
                )
        if kind in ("increase_support", "decrease_support") or rng.random() < 0.05:
            step = pick([10_000_000, 50_000_000, 1])
            new = state.approved_support + (step if kind == "increase_support" else -step)
            fields["new_support"] = max(0, new) if rng.random() < 0.9 else None
        return fields
    if action is Action.STOP:
        return {
            "decision_number": _number(rng, "QĐ-UBND"),
            "decision_date": on,
            "reason": "Không triển khai được",
            "force_majeure": rng.random() < 0.3,
        }
    if action is Action.ACCEPT:
        return {
            "minutes_number": f"NT-{rng.randint(1, 3)}",
            "accepted_on": on,
            "accepted_cost": pick([d.eligible_cost, d.eligible_cost // 2, d.total_cost, 0]),
            "accepted_volume_bp": pick([10000, 10000, 4000, 0]),
            "force_majeure": rng.random() < 0.1,
        }
    if action is Action.SUBMIT_SETTLEMENT_DOSSIER:
        return {"submitted_on": on}
    if action is Action.SETTLE:
        return {
            "settlement_number": f"QT-{rng.randint(1, 3)}",
            "settled_on": on,
            "disallowed_cost": pick([0, 0, 0, 10_000_000]),
        }
    if action is Action.PAY_SETTLEMENT:
        return {"paid_on": on, "voucher_number": f"UNC-C{rng.randint(1, 9)}"}
    owed = state.settlement.refund_owed if state.settlement else 0
    return {
        "refunded_on": on,
        "amount": pick([owed, owed, owed + 1, 1]),
        "voucher_number": f"NT-{rng.randint(1, 9)}",
    }
