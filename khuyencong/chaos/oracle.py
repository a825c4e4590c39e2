"""What the rules say an action must get: accepted, or refused (and why).

Written from the documents, not from the workflow's code: the role × action matrix and the
jurisdiction and four-eyes rules of ``docs/officials.md``, the lifecycle table and the money
rules of the domain brief (``/work/shared/domain/README.md`` §3–4: total paid within the
approved support, advances by kind and ≤ 70 % of the contract, the rest only after acceptance,
final support = min(approved, eligible accepted cost × rate, cap)), and the rule packs' data
(``domain/rulepacks/*.json``, read as JSON). It never calls ``workflows.de_an_decisions``.

It judges an action against the đề án's state *as observed* (the ``state`` query) plus the
papers the fuzzer saw accepted, and returns every rule the action breaks: the action must be
refused when the list is not empty (with one of those codes), accepted otherwise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from domain.model import Level, Role
from domain.stages import Action, Stage
from workflows.de_an_contract import DeAnAdjust, DeAnAdvance, DeAnState

S, A = Stage, Action
T, SO, C, B, U, F = (
    Role.TRUNG_TAM,
    Role.SO_CONG_THUONG,
    Role.CUC,
    Role.BO_TRUONG,
    Role.UBND_TINH,
    Role.TAI_CHINH,
)
N, L = Level.QUOC_GIA, Level.DIA_PHUONG

# docs/officials.md, "Ai được làm gì — Who may do what" (national, provincial).
WHO: dict[Action, tuple[set[Role], set[Role]]] = {
    A.RESUBMIT: ({T}, {T}),
    A.APPROVE: ({B}, {U}),
    A.REJECT: ({B}, {U}),
    A.SIGN_CONTRACT: ({C}, {SO}),
    A.REPORT_PROGRESS: ({T}, {T}),
    A.CONFIRM_PROGRESS: ({SO}, {SO}),
    A.RECORD_VISIT: ({SO, C}, {SO}),
    A.RESOLVE_FINDINGS: ({SO, C}, {SO}),
    A.REQUEST_ADVANCE: ({T}, {T}),
    A.PAY_ADVANCE: ({F}, {F}),
    A.STOP: ({B}, {U}),
    A.ACCEPT: ({SO, C}, {SO}),
    A.SUBMIT_SETTLEMENT_DOSSIER: ({T}, {T}),
    A.SETTLE: ({C}, {SO}),
    A.PAY_SETTLEMENT: ({F}, {F}),
    A.RECORD_REFUND: ({F}, {F}),
}
# "Điều chỉnh — Adjustments": kind → (national, national group project, provincial).
ADJUST_WHO: dict[str, tuple[set[Role], set[Role], set[Role]]] = {
    "increase_support": ({B}, {B}, {U}),
    "change_activity": ({B}, {B}, {U}),
    "extend_next_year": ({B}, {B}, {U}),
    "change_site": ({C}, {SO, C}, {SO}),
    "change_beneficiary": ({C}, {SO, C}, {SO}),
    "change_partner": ({C}, {SO, C}, {SO}),
    "change_timing": ({C}, {C}, {SO}),
    "decrease_support": ({C}, {C}, {SO}),
}
# The brief's lifecycle (§3): where each action can happen, and where it leads.
WHERE: dict[Action, dict[Stage, Stage]] = {
    A.RESUBMIT: {S.RETURNED: S.REGISTERED},
    A.APPRAISE: {S.REGISTERED: S.APPRAISED, S.BASE_APPRAISED: S.APPRAISED},
    A.APPROVE: {S.APPRAISED: S.APPROVED},
    A.REJECT: {S.APPRAISED: S.REJECTED},
    A.SIGN_CONTRACT: {S.APPROVED: S.IN_PROGRESS},
    A.REPORT_PROGRESS: {S.IN_PROGRESS: S.IN_PROGRESS},
    A.CONFIRM_PROGRESS: {S.IN_PROGRESS: S.IN_PROGRESS},
    A.RECORD_VISIT: {s: s for s in (S.IN_PROGRESS, S.STOPPED, S.ACCEPTED)},
    # docs/officials.md, "Tạm dừng chi trả — Payments on hold": findings are resolved in any
    # open stage that still has money to pay, settled included (the hold stops paying, not
    # settling; TT 36/2013 Điều 12 khoản 5, Điều 18, Điều 21 khoản 6).
    A.RESOLVE_FINDINGS: {s: s for s in (S.IN_PROGRESS, S.STOPPED, S.ACCEPTED, S.SETTLED)},
    A.REQUEST_ADVANCE: {S.IN_PROGRESS: S.IN_PROGRESS, S.ACCEPTED: S.ACCEPTED},
    A.PAY_ADVANCE: {S.IN_PROGRESS: S.IN_PROGRESS, S.ACCEPTED: S.ACCEPTED},
    A.ADJUST: {S.APPROVED: S.APPROVED, S.IN_PROGRESS: S.IN_PROGRESS},
    A.STOP: {S.APPROVED: S.CLOSED, S.IN_PROGRESS: S.STOPPED},
    A.ACCEPT: {S.IN_PROGRESS: S.ACCEPTED, S.STOPPED: S.ACCEPTED},
    A.SUBMIT_SETTLEMENT_DOSSIER: {S.ACCEPTED: S.ACCEPTED},
    A.SETTLE: {S.ACCEPTED: S.SETTLED},
    A.PAY_SETTLEMENT: {S.SETTLED: S.CLOSED},
    A.RECORD_REFUND: {S.SETTLED: S.CLOSED},
}
CENTRAL = {C, B}
NUMBER = re.compile(r"^\d{1,6}/([0-9]{4}/)?[0-9A-ZĐ\-]{2,30}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
WHOLE = 10_000


def _key(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFD", text.lower().replace("tỉnh", ""))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).replace("đ", "d").strip()


@dataclass(frozen=True)
class ItemRule:
    rate_bp: int
    cap: int | None
    advance_kind: str
    advance_max_bp: int
    progress_bp: int


@dataclass(frozen=True)
class Pack:
    id: str
    level: str
    province: str | None
    effective_from: date
    ceiling_bp: int
    items: dict[str, ItemRule]


def load_packs(folder: Path | None = None) -> list[Pack]:
    folder = folder or Path(__file__).resolve().parents[2] / "domain" / "rulepacks"
    packs = []
    for path in sorted(folder.glob("*.json")):
        d = json.loads(path.read_text("utf-8"))
        items = {
            k: ItemRule(
                v["rate_bp"],
                v.get("cap"),
                v["advance"]["kind"],
                v["advance"]["max_bp"],
                v["advance"].get("progress_bp", 0),
            )
            for k, v in d["items"].items()
        }
        packs.append(
            Pack(
                d["id"],
                d["level"],
                d.get("province"),
                date.fromisoformat(d["effective_from"]),
                d["advance_ceiling_bp"],
                items,
            )
        )
    return packs


@dataclass
class Verdict:
    breaks: list[str] = field(default_factory=list)
    """Refusal codes of every rule broken (empty: must be accepted)."""
    next_stage: Stage | None = None
    settle: tuple[int, int, int] | None = None
    """(final support, payout, refund owed) a settlement must record."""

    @property
    def accept(self) -> bool:
        return not self.breaks


@dataclass
class Oracle:
    packs: list[Pack]

    @classmethod
    def from_rule_packs(cls) -> Oracle:
        return cls(load_packs())

    def pack(self, level: Level, province: str, on: date) -> Pack | None:
        fitting = [
            p
            for p in self.packs
            if p.level == level.value
            and (level is N or _key(p.province or "") == _key(province))
            and p.effective_from <= on
        ]
        return max(fitting, key=lambda p: p.effective_from, default=None)

    def fixed_pack(self, state: DeAnState) -> Pack | None:
        return next((p for p in self.packs if p.id == state.rule_pack_id), None)

    def judge(
        self,
        state: DeAnState,
        action: Action,
        actor: dict[str, Any],
        cmd: dict[str, Any],
        today: date,
        papers: set[tuple[str, str]],
    ) -> Verdict:
        v = Verdict()
        br = v.breaks
        d = state.dossier
        level = d.level
        national = level is N
        role = Role(actor["role"])
        province = actor.get("province")
        # The payload's own shape (the contract's field rules).
        br += _shape(action, cmd)
        # Deactivated officials act no more (docs: Vô hiệu hoá).
        if actor["official_id"] in state.deactivated_officials:
            br.append("InactiveOfficial")
        # Stage (the brief's lifecycle).
        targets = WHERE.get(action, {})
        if state.stage not in targets:
            br.append("WrongStage")
            return v
        v.next_stage = targets[state.stage]
        # Role (the matrix) and jurisdiction.
        if action is A.APPRAISE:
            allowed = {C} if national and state.stage is S.BASE_APPRAISED else {SO}
        elif action is A.ADJUST:
            kinds = ADJUST_WHO.get(str(cmd.get("kind")))
            allowed = (
                set()
                if kinds is None
                else kinds[2 if not national else (1 if d.group_project else 0)]
            )
        else:
            allowed = WHO[action][0 if national else 1]
        if role not in allowed:
            br.append("WrongAuthority")
        elif role not in CENTRAL:
            if role is F and national:
                if province:
                    br.append("WrongJurisdiction")
            elif _key(province or "") != _key(d.province):
                br.append("WrongJurisdiction")
        # Paper dates: not in the future, not before the registration.
        for name in (
            "appraised_on",
            "decision_date",
            "signed_on",
            "reported_on",
            "confirmed_on",
            "visited_on",
            "resolved_on",
            "requested_on",
            "paid_on",
            "accepted_on",
            "submitted_on",
            "settled_on",
            "refunded_on",
        ):
            value = cmd.get(name)
            if isinstance(value, date) and (value > today or value < state.registered_on):
                br.append("InvalidField")
        judge = getattr(self, f"_{action.value}", None)
        if judge is not None:
            judge(state, actor, cmd, v, papers)
        return v

    # --- per action (the brief §3–4 and the four-eyes rules of docs/officials.md) ----------

    def _resubmit(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, papers: Any) -> None:
        new = cmd.get("dossier")
        if isinstance(new, dict):
            for name in ("code", "level", "province", "plan_year"):
                if str(new.get(name)) != str(getattr(state.dossier, name)):
                    v.breaks.append("InvalidField")

    def _appraise(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, papers: Any) -> None:
        if actor["official_id"] == state.registered_by.official_id:
            v.breaks.append("FourEyesViolation")
        verdict = cmd.get("verdict")
        if verdict != "pass" and not str(cmd.get("reason", "")).strip():
            v.breaks.append("InvalidField")
        national = state.dossier.level is N
        round_ = "tinh" if not national else ("bo" if state.stage is S.BASE_APPRAISED else "co_so")
        if any(
            a.round == round_ and a.minutes_number == cmd.get("minutes_number")
            for a in state.appraisals
        ):
            v.breaks.append("Duplicate")
        if verdict == "return":
            v.next_stage = S.RETURNED
        elif verdict == "fail":
            v.next_stage = S.REJECTED
        elif national and state.stage is S.REGISTERED:
            v.next_stage = S.BASE_APPRAISED

    def _approve(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, papers: Any) -> None:
        earlier = {state.registered_by.official_id} | {a.official_id for a in state.appraisals}
        if actor["official_id"] in earlier:
            v.breaks.append("FourEyesViolation")
        support = cmd.get("approved_support")
        d = state.dossier
        if not isinstance(support, int) or isinstance(support, bool):
            return
        if support <= 0:
            v.breaks.append("InvalidField")
        if support > d.requested_support:
            v.breaks.append("SupportOverRequest")
        when = cmd.get("decision_date")
        pack = self.pack(d.level, d.province, when) if isinstance(when, date) else None
        if pack is None:
            v.breaks.append("NoRulePack")
            return
        item = pack.items.get(d.support_item)
        if item is None:
            v.breaks.append("InvalidField")
            return
        if support > _ceiling(d.eligible_cost, item):
            v.breaks.append("SupportOverCap")
        if d.counterpart_funds < d.total_cost - support:
            v.breaks.append("CounterpartTooLow")

    def _sign_contract(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, p: Any) -> None:
        amount = cmd.get("contracted_support")
        if isinstance(amount, int) and not 0 < amount <= state.approved_support:
            v.breaks.append("SupportOverRequest")

    def _report_progress(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, p: Any) -> None:
        month, on = cmd.get("month"), cmd.get("reported_on")
        if not isinstance(month, str) or not MONTH.match(month) or not isinstance(on, date):
            return
        first = date.fromisoformat(f"{month}-01")
        signed = state.contract_signed_on
        if signed is not None and first < signed.replace(day=1):
            v.breaks.append("InvalidField")
        if first > on.replace(day=1):
            v.breaks.append("InvalidField")
        if any(r.month == month for r in state.progress):
            v.breaks.append("Duplicate")
        done = cmd.get("investment_done_bp")
        if isinstance(done, int) and done < max(
            (r.investment_done_bp for r in state.progress), default=0
        ):
            v.breaks.append("InvalidField")

    def _confirm_progress(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, p: Any) -> None:
        report = next((r for r in state.progress if r.month == cmd.get("month")), None)
        if report is None:
            v.breaks.append("InvalidField")
        elif report.confirmed_by is not None:
            v.breaks.append("Duplicate")

    def _record_visit(
        self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, papers: Any
    ) -> None:
        findings = [f for f in cmd.get("findings") or [] if str(f).strip()]
        if cmd.get("hold_payments") and not findings:
            v.breaks.append("InvalidField")
        if ("visit", str(cmd.get("minutes_number"))) in papers:
            v.breaks.append("Duplicate")

    def _resolve_findings(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, p: Any) -> None:
        if not state.open_findings and not state.payments_on_hold:
            v.breaks.append("InvalidField")

    def _request_advance(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, p: Any) -> None:
        amount = cmd.get("amount")
        if not isinstance(amount, int):
            return
        if amount <= 0:
            v.breaks.append("InvalidField")
        if any(_open_request(a) for a in state.advances):
            v.breaks.append("Duplicate")
        if LAPSING and state.stopped:
            v.breaks.append("AdvanceNotAllowed")  # after a stop no advance is requested
        pack = self.fixed_pack(state)
        item = pack.items.get(state.dossier.support_item) if pack else None
        if pack is None or item is None:
            v.breaks.append("NoRulePack")
            return
        after_acceptance = item.advance_kind == "after_acceptance"
        if after_acceptance != (state.stage is S.ACCEPTED):
            v.breaks.append("AdvanceNotAllowed")  # the rest is paid only after acceptance
        if item.advance_kind == "after_progress":
            confirmed = max(
                (r.investment_done_bp for r in state.progress if r.confirmed_by), default=0
            )
            if confirmed <= item.progress_bp:
                v.breaks.append("AdvanceNotAllowed")
        ceiling = (
            item.advance_max_bp if after_acceptance else min(item.advance_max_bp, pack.ceiling_bp)
        )
        limit = state.contracted_support * ceiling // WHOLE
        committed = sum(a.amount for a in state.advances if getattr(a, "lapsed_on", None) is None)
        if committed + amount > limit:
            v.breaks.append("AdvanceOverLimit")  # a lapsed request holds no room
        if _paid(state) + amount > state.approved_support:
            v.breaks.append("PaidOverApproved")

    def _pay_advance(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, p: Any) -> None:
        request = next((a for a in state.advances if a.no == cmd.get("request_no")), None)
        if request is None:
            v.breaks.append("InvalidField")
            return
        if request.paid_on is not None:
            v.breaks.append("Duplicate")
            return
        if LAPSING and (state.stopped or getattr(request, "lapsed_on", None) is not None):
            v.breaks.append("AdvanceLapsed")  # nor paid: the unpaid request lapsed with it
        self._payer(state, actor, [request.requested_by], v)
        if _paid(state) + request.amount > state.approved_support:
            v.breaks.append("PaidOverApproved")
        if CUT_LAPSING:
            limit = self._advance_limit(state)
            if limit is not None and state.advanced + request.amount > limit:
                v.breaks.append("AdvanceOverLimit")  # never paid above the current ceiling

    def _advance_limit(self, state: DeAnState) -> int | None:
        """The advance ceiling now (a share of the contracted support), or None without a pack."""
        pack = self.fixed_pack(state)
        item = pack.items.get(state.dossier.support_item) if pack else None
        if pack is None or item is None:
            return None
        after_acceptance = item.advance_kind == "after_acceptance"
        ceiling = (
            item.advance_max_bp if after_acceptance else min(item.advance_max_bp, pack.ceiling_bp)
        )
        return state.contracted_support * ceiling // WHOLE

    def _payer(self, state: DeAnState, actor: Any, others: list[str], v: Verdict) -> None:
        earlier = set(others) | ({state.approval.official_id} if state.approval else set())
        if actor["official_id"] in earlier:
            v.breaks.append("FourEyesViolation")
        if state.payments_on_hold:
            v.breaks.append("PaymentsOnHold")

    def _adjust(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, papers: Any) -> None:
        if ("adjust", str(cmd.get("decision_number"))) in papers:
            v.breaks.append("Duplicate")
        kind = cmd.get("kind")
        d = state.dossier
        if kind in ("increase_support", "decrease_support"):
            new = cmd.get("new_support")
            if new is None:
                v.breaks.append("InvalidField")
                return
            if not isinstance(new, int):
                return
            if kind == "increase_support" and new <= state.approved_support:
                v.breaks.append("InvalidField")
            if kind == "decrease_support" and new >= state.approved_support:
                v.breaks.append("InvalidField")
            if new < _paid(state):
                v.breaks.append("PaidOverApproved")
            pack = self.fixed_pack(state)
            item = pack.items.get(d.support_item) if pack else None
            if item is not None and new > _ceiling(d.eligible_cost, item):
                v.breaks.append("SupportOverCap")
            if d.counterpart_funds < d.total_cost - new:
                v.breaks.append("CounterpartTooLow")
        elif kind == "extend_next_year" and state.budget_year > d.plan_year:
            v.breaks.append("Duplicate")
        if "new_commune" in DeAnAdjust.model_fields:
            self._site_and_dates(state, cmd, v)

    def _site_and_dates(self, state: DeAnState, cmd: Any, v: Verdict) -> None:
        """docs/upgrading-workflows.md (adjust-details-v1): a change of site names the new
        site, a change of timing the new dates, within the year (the matrix: "Change of timing
        within the year"); neither is named by another kind."""
        kind = cmd.get("kind")
        site = any(
            str(cmd.get(f) or "").strip() for f in ("new_address", "new_commune", "new_district")
        )
        new_start, new_end = cmd.get("new_start"), cmd.get("new_end")
        timing = new_start is not None or new_end is not None
        if site != (kind == "change_site") or timing != (kind == "change_timing"):
            v.breaks.append("InvalidField")
        if timing:
            current = getattr(state, "current_schedule", None) or state.dossier.schedule
            start, end = new_start or current.start, new_end or current.end
            year = state.budget_year or state.dossier.plan_year
            if start > end or any(x is not None and x.year != year for x in (new_start, new_end)):
                v.breaks.append("InvalidField")

    def _accept(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, papers: Any) -> None:
        volume = cmd.get("accepted_volume_bp")
        partial_ok = state.stopped or bool(cmd.get("force_majeure"))
        if isinstance(volume, int) and volume < WHOLE and not partial_ok:
            v.breaks.append("InvalidField")

    def _submit_settlement_dossier(
        self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, papers: Any
    ) -> None:
        if state.settlement_dossier_on is not None:
            v.breaks.append("Duplicate")

    def _settle(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, papers: Any) -> None:
        if any(_open_request(a) for a in state.advances):
            v.breaks.append("InvalidField")
        pack = self.fixed_pack(state)
        item = pack.items.get(state.dossier.support_item) if pack else None
        if item is None:
            return
        disallowed = cmd.get("disallowed_cost", 0)
        if not isinstance(disallowed, int):
            return
        eligible = max(0, state.accepted_cost - disallowed)
        final = min(state.approved_support, eligible * item.rate_bp // WHOLE)
        if item.cap is not None:
            final = min(final, item.cap)
        advanced = sum(a.amount for a in state.advances if a.paid_on is not None)
        payout, refund = max(0, final - advanced), max(0, advanced - final)
        v.settle = (final, payout, refund)
        if payout == 0 and refund == 0:
            v.next_stage = S.CLOSED

    def _pay_settlement(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, p: Any) -> None:
        s = state.settlement
        if s is None or s.payout <= 0:
            v.breaks.append("InvalidField")
            return
        self._payer(state, actor, [s.settled_by], v)
        if _paid(state) + s.payout > state.approved_support:
            v.breaks.append("PaidOverApproved")

    def _record_refund(self, state: DeAnState, actor: Any, cmd: Any, v: Verdict, p: Any) -> None:
        s = state.settlement
        owed = s.refund_owed if s is not None else 0
        if owed <= 0 or cmd.get("amount") != owed:
            v.breaks.append("InvalidField")


LAPSING = "lapsed_on" in DeAnAdvance.model_fields
"""docs/upgrading-workflows.md, stop-lapses-advances-v1 (where the contract records lapses):
an advance request unpaid at the stop lapses with it; after a stop no advance is requested or
paid; a lapsed request does not block the settlement."""


CUT_LAPSING = "lapse_ceiling" in DeAnAdvance.model_fields
"""docs/upgrading-workflows.md, cut-lapses-advances-v1 (where the contract records the ceiling
of a cut's lapse): a cut of support lapses the open requests it leaves above the new advance
ceiling, and no advance is paid above the current ceiling."""


def _open_request(advance: Any) -> bool:
    """Requested, not paid, not lapsed."""
    return advance.paid_on is None and getattr(advance, "lapsed_on", None) is None


def _ceiling(eligible: int, item: ItemRule) -> int:
    most = eligible * item.rate_bp // WHOLE
    return most if item.cap is None else min(most, item.cap)


def _paid(state: DeAnState) -> int:
    return sum(a.amount for a in state.advances if a.paid_on is not None) + state.paid_settlement


def _shape(action: Action, cmd: dict[str, Any]) -> list[str]:
    """Field rules of the payload itself (numbers of papers, months, amounts ≥ 0, bp ≤ 100 %)."""
    bad = []
    for name in ("decision_number", "contract_number"):
        if name in cmd and not NUMBER.match(str(cmd[name]).strip().upper()):
            bad.append("InvalidField")
    if "month" in cmd and not MONTH.match(str(cmd["month"])):
        bad.append("InvalidField")
    for name in (
        "approved_support",
        "contracted_support",
        "amount",
        "accepted_cost",
        "spent_cost",
        "new_support",
        "disallowed_cost",
    ):
        value = cmd.get(name)
        if isinstance(value, int) and value < 0:
            bad.append("InvalidField")
    for name in ("investment_done_bp", "accepted_volume_bp"):
        value = cmd.get(name)
        if isinstance(value, int) and not 0 <= value <= WHOLE:
            bad.append("InvalidField")
    if "request_no" in cmd and isinstance(cmd["request_no"], int) and cmd["request_no"] < 1:
        bad.append("InvalidField")
    return bad
