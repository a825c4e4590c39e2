"""The authorisation matrix, cell by cell: every action × every official (six roles, own
province / another province / central) × national and provincial, sent through the admin
client to the real workflow on the dev server.

One đề án per level walks the whole life; at each stage every official who may not take an
action there is refused, by role (``WrongAuthority``) or by province (``WrongJurisdiction``),
and the competent officials take it. A refused action changes nothing, so the same đề án
serves every cell of its stage. The expected matrix is written out here from the domain brief
(§3) and TT 36/2013 Điều 11, not read from ``domain.authority``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from domain.authority import AdjustmentKind
from domain.model import Actor, DeAnDossier, Level
from domain.stages import Action, Stage
from khuyencong.admin.client import AdminClient
from khuyencong.admin.errors import ActionRefused
from tests.khuyencong.admin.conftest import CAST_SPEC, Cast, Stack, add_cast, suffix, today
from tests.support.builders import dossier_on
from workflows.de_an_contract import (
    AppraisalVerdict,
    DeAnAccept,
    DeAnAdjust,
    DeAnAppraise,
    DeAnApprove,
    DeAnCommand,
    DeAnConfirmProgress,
    DeAnInput,
    DeAnPayAdvance,
    DeAnPaySettlement,
    DeAnRecordRefund,
    DeAnRecordVisit,
    DeAnReject,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnResolveFindings,
    DeAnResubmit,
    DeAnSettle,
    DeAnSignContract,
    DeAnStop,
    DeAnSubmitSettlementDossier,
)

N, L = Level.QUOC_GIA, Level.DIA_PHUONG
BOTH = (N, L)

TOP = (
    AdjustmentKind.INCREASE_SUPPORT,
    AdjustmentKind.CHANGE_ACTIVITY,
    AdjustmentKind.EXTEND_NEXT_YEAR,
)
GROUP = (
    AdjustmentKind.CHANGE_SITE,
    AdjustmentKind.CHANGE_BENEFICIARY,
    AdjustmentKind.CHANGE_PARTNER,
)

ALLOWED: dict[tuple[str, Level], set[str]] = {
    ("register", N): {"TT-BG"},
    ("register", L): {"TT-BG"},
    ("resubmit", N): {"TT-BG"},
    ("resubmit", L): {"TT-BG"},
    ("appraise", N): {"SO-BG"},  # base appraisal (cấp cơ sở)
    ("appraise", L): {"SO-BG"},
    ("appraise_bo", N): {"CUC"},  # ministry appraisal (cấp Bộ)
    ("approve", N): {"BT"},
    ("approve", L): {"UBND-BG"},
    ("reject", N): {"BT"},
    ("reject", L): {"UBND-BG"},
    ("sign_contract", N): {"CUC"},
    ("sign_contract", L): {"SO-BG"},
    ("report_progress", N): {"TT-BG"},
    ("report_progress", L): {"TT-BG"},
    ("confirm_progress", N): {"SO-BG"},
    ("confirm_progress", L): {"SO-BG"},
    ("record_visit", N): {"SO-BG", "CUC"},
    ("record_visit", L): {"SO-BG"},
    ("resolve_findings", N): {"SO-BG", "CUC"},
    ("resolve_findings", L): {"SO-BG"},
    ("request_advance", N): {"TT-BG"},
    ("request_advance", L): {"TT-BG"},
    ("pay_advance", N): {"KT-TW"},  # national money is paid by the agency's finance
    ("pay_advance", L): {"KT-BG"},
    ("stop", N): {"BT"},
    ("stop", L): {"UBND-BG"},
    ("accept", N): {"SO-BG", "CUC"},
    ("accept", L): {"SO-BG"},
    ("submit_settlement_dossier", N): {"TT-BG"},
    ("submit_settlement_dossier", L): {"TT-BG"},
    ("settle", N): {"CUC"},
    ("settle", L): {"SO-BG"},
    ("pay_settlement", N): {"KT-TW"},
    ("pay_settlement", L): {"KT-BG"},
    ("record_refund", N): {"KT-TW"},
    ("record_refund", L): {"KT-BG"},
    **{(f"adjust:{k.value}", N): ({"BT"} if k in TOP else {"CUC"}) for k in AdjustmentKind},
    **{(f"adjust:{k.value}", L): ({"UBND-BG"} if k in TOP else {"SO-BG"}) for k in AdjustmentKind},
    **{
        (f"adjust-group:{k.value}", N): (
            {"BT"} if k in TOP else {"CUC", "SO-BG"} if k in GROUP else {"CUC"}
        )
        for k in AdjustmentKind
    },
}

AUTHORITY_TYPES = {"WrongAuthority", "WrongJurisdiction"}


def expected_refusal(cell: str, level: Level, key: str) -> str:
    allowed_roles = {CAST_SPEC[k][0] for k in ALLOWED[(cell, level)]}
    return "WrongJurisdiction" if CAST_SPEC[key][0] in allowed_roles else "WrongAuthority"


@dataclass
class Walk:
    """One đề án walked through its life, collecting every cell that did not behave."""

    admin: AdminClient
    cast: Cast
    code: str
    level: Level
    dossier: DeAnDossier
    day: date
    cell_prefix: str = ""
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    counter: int = 0

    def ref(self) -> int:
        self.counter += 1
        return self.counter

    async def cells(self, cell: str, action: Action, make: Callable[[Actor], DeAnCommand]) -> None:
        """Every official not allowed ``cell`` is refused, with the right rule."""
        allowed = ALLOWED[(cell, self.level)]

        async def one(key: str) -> None:
            expected = expected_refusal(cell, self.level, key)
            try:
                await self.admin.act(self.code, make(self.cast[key]))
            except ActionRefused as refused:
                if refused.type != expected:
                    self.problems.append(
                        f"{cell} ({self.level.value}) by {key}: {refused.type} instead of "
                        f"{expected}: {refused.info.message}"
                    )
                return
            self.problems.append(f"{cell} ({self.level.value}) by {key}: accepted")

        others = [k for k in CAST_SPEC if k not in allowed]
        self.checked += len(others)
        await asyncio.gather(*(one(k) for k in others))

    async def allowed(
        self, cell: str, action: Action, make: Callable[[Actor], DeAnCommand]
    ) -> list[str]:
        """The competent officials are not refused for authority (another rule may still
        say no, e.g. nothing to resolve); returns how each attempt ended."""
        ended: list[str] = []
        for key in sorted(ALLOWED[(cell, self.level)]):
            self.checked += 1
            try:
                await self.admin.act(self.code, make(self.cast[key]))
                ended.append("done")
            except ActionRefused as refused:
                if refused.type in AUTHORITY_TYPES:
                    self.problems.append(
                        f"{cell} ({self.level.value}) by {key} (competent): {refused.type}: "
                        f"{refused.info.message}"
                    )
                ended.append(refused.type)
        return ended

    async def both(
        self, cell: str, action: Action, make: Callable[[Actor], DeAnCommand]
    ) -> list[str]:
        await self.cells(cell, action, make)
        return await self.allowed(cell, action, make)

    async def stage(self) -> Stage:
        row = await self.admin.row(self.code)
        assert row is not None
        return row.stage

    # --- payloads ----------------------------------------------------------------------------

    def appraise(self, verdict: str = "pass") -> Callable[[Actor], DeAnCommand]:
        def make(actor: Actor) -> DeAnCommand:
            return DeAnAppraise(
                actor=actor,
                verdict=AppraisalVerdict(verdict),
                appraised_on=self.day,
                minutes_number=f"TD-{self.ref()}",
                reason="" if verdict == "pass" else "Thiếu báo giá thiết bị",
            )

        return make

    def decision(self, model: type[DeAnCommand], **fields: Any) -> Callable[[Actor], DeAnCommand]:
        def make(actor: Actor) -> DeAnCommand:
            values = {"decision_number": f"{self.ref()}/QĐ-KC", "decision_date": self.day}
            return model(actor=actor, **values, **fields)

        return make

    def adjust(self, kind: AdjustmentKind, support: int) -> Callable[[Actor], DeAnCommand]:
        def make(actor: Actor) -> DeAnCommand:
            return DeAnAdjust(
                actor=actor,
                kind=kind,
                decision_number=f"{self.ref()}/QĐ-ĐC",
                decision_date=self.day,
                description=kind.label,
                new_support=support
                if kind in (AdjustmentKind.INCREASE_SUPPORT, AdjustmentKind.DECREASE_SUPPORT)
                else None,
            )

        return make

    def simple(self, model: type[DeAnCommand], **fields: Any) -> Callable[[Actor], DeAnCommand]:
        def make(actor: Actor) -> DeAnCommand:
            values = {k: (v() if callable(v) else v) for k, v in fields.items()}
            return model(actor=actor, **values)

        return make


async def registered(stack: Stack, cast: Cast, level: Level, **overrides: Any) -> Walk:
    day = today()
    code = stack.new_code("QG" if level is N else "DP")
    support = 300_000_000 if level is N else 200_000_000
    dossier = dossier_on(
        day,
        level=level,
        code=code,
        cost=800_000_000,
        requested_support=support,
        **overrides,
    )
    await stack.admin.register(cast["TT-BG"], dossier, day)
    return Walk(stack.admin, cast, code, level, dossier, day)


async def appraised(walk: Walk, verdict: str = "pass") -> None:
    """Through the appraisal round(s), checking their cells on the way."""
    await walk.both("appraise", Action.APPRAISE, walk.appraise(verdict))
    if walk.level is N and verdict == "pass":
        assert await walk.stage() is Stage.BASE_APPRAISED
        await walk.both("appraise_bo", Action.APPRAISE, walk.appraise())
    expected = Stage.APPRAISED if verdict == "pass" else Stage.RETURNED
    assert await walk.stage() is expected


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cast(stack: Stack) -> Cast:
    return await add_cast(stack.admin, suffix())


@pytest.mark.parametrize("level", BOTH, ids=lambda level: level.value)
async def test_only_the_implementing_unit_of_the_province_registers_a_de_an(
    stack: Stack, cast: Cast, level: Level
) -> None:
    day = today()
    problems = []
    for key in CAST_SPEC:
        if key in ALLOWED[("register", level)]:
            continue
        dossier = dossier_on(day, level=level, code=stack.new_code("REG"))
        try:
            await stack.admin.register(cast[key], dossier, day)
        except ActionRefused as refused:
            expected = expected_refusal("register", level, key)
            if refused.type != expected:
                problems.append(f"register by {key}: {refused.type} instead of {expected}")
            continue
        problems.append(f"register by {key}: accepted")
    assert problems == []


async def test_the_workflow_itself_refuses_a_registration_by_another_province(
    stack: Stack, cast: Cast
) -> None:
    """The admin client answers at once with the workflow's own rule; a client that skips
    it still gets nowhere: the workflow fails its registration."""
    day = today()
    dossier = dossier_on(day, code=stack.new_code("REG"))
    handle = await stack.admin.client.start_workflow(
        "DeAnWorkflow",
        DeAnInput(dossier=dossier, registered_by=cast["TT-BN"], registered_on=day),
        id=dossier.workflow_id,
        task_queue=stack.settings.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "WrongJurisdiction"
    assert await stack.admin.row(dossier.code) is None


@pytest.mark.parametrize("level", BOTH, ids=lambda level: level.value)
async def test_every_action_is_refused_to_every_official_but_the_competent_one(
    stack: Stack, cast: Cast, level: Level
) -> None:
    w = await registered(stack, cast, level)
    day, month = w.day, w.day.strftime("%Y-%m")
    support = w.dossier.requested_support
    await appraised(w)

    # appraised: approval and rejection (the competent official approves)
    await w.cells("reject", Action.REJECT, w.decision(DeAnReject, reason="Không đạt"))
    await w.both(
        "approve",
        Action.APPROVE,
        w.decision(DeAnApprove, signer="Người ký", approved_support=support),
    )
    assert await w.stage() is Stage.APPROVED

    # approved: every kind of adjustment, stop, then the contract
    for kind in AdjustmentKind:
        await w.both(f"adjust:{kind.value}", Action.ADJUST, w.adjust(kind, support))
    await w.cells("stop", Action.STOP, w.decision(DeAnStop, reason="Vi phạm"))
    contract = w.simple(
        DeAnSignContract,
        contract_number=lambda: f"{w.ref()}/HĐ-KC",
        signed_on=day,
        contracted_support=support,
    )
    await w.both("sign_contract", Action.SIGN_CONTRACT, contract)
    assert await w.stage() is Stage.IN_PROGRESS

    # in progress: reports, visits, advances, then a stop
    report = w.simple(
        DeAnReportProgress,
        month=month,
        investment_done_bp=7500,
        spent_cost=500_000_000,
        reported_on=day,
    )
    assert await w.both("report_progress", Action.REPORT_PROGRESS, report) == ["done"]
    confirm = w.simple(DeAnConfirmProgress, month=month, confirmed_on=day)
    assert await w.both("confirm_progress", Action.CONFIRM_PROGRESS, confirm) == ["done"]
    visit = w.simple(DeAnRecordVisit, visited_on=day, minutes_number=lambda: f"KT-{w.ref()}")
    assert set(await w.both("record_visit", Action.RECORD_VISIT, visit)) == {"done"}
    resolve = w.simple(DeAnResolveFindings, resolved_on=day)
    assert set(await w.both("resolve_findings", Action.RESOLVE_FINDINGS, resolve)) == {
        "InvalidField"  # nothing to resolve: a rule after authority
    }
    request = w.simple(DeAnRequestAdvance, amount=1_000, requested_on=day)
    assert await w.both("request_advance", Action.REQUEST_ADVANCE, request) == ["done"]
    pay = w.simple(
        DeAnPayAdvance, request_no=1, paid_on=day, voucher_number=lambda: f"UNC-{w.ref()}"
    )
    assert await w.both("pay_advance", Action.PAY_ADVANCE, pay) == ["done"]
    accept = w.simple(
        DeAnAccept,
        minutes_number=lambda: f"NT-{w.ref()}",
        accepted_on=day,
        accepted_cost=0,
        accepted_volume_bp=5000,
    )
    await w.both("stop", Action.STOP, w.decision(DeAnStop, reason="Không đáp ứng tiến độ"))
    assert await w.stage() is Stage.STOPPED

    # stopped: visits, then acceptance of the volume done
    await w.both("record_visit", Action.RECORD_VISIT, visit)
    await w.cells("resolve_findings", Action.RESOLVE_FINDINGS, resolve)
    assert "done" in await w.both("accept", Action.ACCEPT, accept)
    assert await w.stage() is Stage.ACCEPTED

    # accepted: settlement dossier, settlement (nothing eligible: the advance is owed back)
    await w.cells("record_visit", Action.RECORD_VISIT, visit)
    await w.cells("resolve_findings", Action.RESOLVE_FINDINGS, resolve)
    # A new request (the same date and amount again would be the same request, answered as
    # done: ActionDefinition.answers in workflows/de_an_actions.py)
    another = w.simple(DeAnRequestAdvance, amount=2_000, requested_on=day)
    assert await w.both("request_advance", Action.REQUEST_ADVANCE, another) == ["AdvanceNotAllowed"]
    await w.cells("pay_advance", Action.PAY_ADVANCE, pay)
    submit = w.simple(DeAnSubmitSettlementDossier, submitted_on=day)
    assert await w.both("submit_settlement_dossier", Action.SUBMIT_SETTLEMENT_DOSSIER, submit) == [
        "done"
    ]
    settle = w.simple(DeAnSettle, settlement_number=lambda: f"QT-{w.ref()}", settled_on=day)
    assert await w.both("settle", Action.SETTLE, settle) == ["done"]
    assert await w.stage() is Stage.SETTLED

    # settled: the refund (there is no payout to pay)
    payout = w.simple(DeAnPaySettlement, paid_on=day, voucher_number=lambda: f"UNC-{w.ref()}")
    assert await w.both("pay_settlement", Action.PAY_SETTLEMENT, payout) == ["InvalidField"]
    refund = w.simple(
        DeAnRecordRefund, refunded_on=day, amount=1_000, voucher_number=lambda: f"NT-{w.ref()}"
    )
    assert await w.both("record_refund", Action.RECORD_REFUND, refund) == ["done"]
    assert await w.stage() is Stage.CLOSED

    assert w.problems == []
    assert w.checked > 250


@pytest.mark.parametrize("level", BOTH, ids=lambda level: level.value)
async def test_a_returned_dossier_is_resubmitted_and_rejected_only_by_the_competent_officials(
    stack: Stack, cast: Cast, level: Level
) -> None:
    w = await registered(stack, cast, level)
    await appraised(w, verdict="return")
    resubmit = w.simple(DeAnResubmit, dossier=w.dossier)
    assert await w.both("resubmit", Action.RESUBMIT, resubmit) == ["done"]
    await appraised(w)
    assert await w.both("reject", Action.REJECT, w.decision(DeAnReject, reason="Trùng lặp")) == [
        "done"
    ]
    assert await w.stage() is Stage.REJECTED
    assert w.problems == []


async def test_site_partner_and_beneficiary_changes_of_a_national_group_project_go_to_the_so_too(
    stack: Stack, cast: Cast
) -> None:
    w = await registered(stack, cast, N, group_project=True)
    await appraised(w)
    support = w.dossier.requested_support
    await w.both(
        "approve", Action.APPROVE, w.decision(DeAnApprove, signer="BT", approved_support=support)
    )
    for kind in AdjustmentKind:
        await w.both(f"adjust-group:{kind.value}", Action.ADJUST, w.adjust(kind, support))
    assert w.problems == []
