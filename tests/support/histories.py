"""Real lifecycles whose histories are committed under ``tests/histories`` and replayed in CI.

Each scenario drives one đề án through the production worker (real activities on a real
PostgreSQL) on the time-skipping server, the way officials would: through the starter, with
update IDs built from business identity (``{de_an}:{action}:{ref}``), including the refusals
that officials meet. ``python -m tests.support.record_histories`` records them;
``tests/workflows/test_de_an_replay.py`` replays every recorded file against the current code.

The scenarios:

- ``provincial-closed``: a provincial đề án from registration to closing, with a refusal
  (payments on hold after a visit with findings), an adjustment (change of site) and a
  settlement payout;
- ``national-closed``: national đề án, Sở then Cục appraisal, Minister's approval, a support
  decrease refused to the Minister and decided by the Cục, a refusal (provincial finance
  cannot pay national money), closing;
- ``provincial-stopped``: stopped by UBND tỉnh after an advance, partial acceptance,
  settlement with a refund owed, refund recorded;
- ``provincial-deadline-missed``: contracted for next year's plan, the first monthly report
  is missed (the timer fires months later), then the report is filed late;
- ``returned-rejected``: returned for supplement, resubmitted, appraised and not approved;
- ``national-stopped-lapsed`` (from v3): stopped by the Minister with an advance request
  unpaid, which lapses; the payment refused after acceptance; settled to a 50 tr payout;
- ``provincial-typed-in-late`` (from v3): a 2019 paper record typed in now, whose deadlines had
  passed before it entered the engine and are recorded as missed at once;
- ``provincial-settled-on-hold`` (from v4): a visit's findings hold the payments, the đề án is
  settled anyway, the payout is refused (on hold), the Sở resolves the findings on the settled
  đề án (``resolve-findings-settled-v1``) and finance pays the settlement.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.converter import PayloadCodec
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.authority import AdjustmentKind
from domain.model import Level, workflow_id_for
from khuyencong.audit.history import payloads_in as payloads_in
from tests.support.builders import (
    BO_TRUONG,
    CUC,
    KE_TOAN_BG,
    KE_TOAN_CUC,
    SO,
    SO_2,
    TRUNG_TAM,
    UBND,
    dossier_on,
)
from tests.support.lifecycle import Driver, action_of, appraisal, approval, contract, today_of
from workflows.de_an import IMPLIED_BY_LOCAL_WRITES, LOCAL_WRITES_PATCH, DeAnWorkflow
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnAdjust,
    DeAnCommand,
    DeAnConfirmProgress,
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
    DeAnStop,
    DeAnSubmitSettlementDossier,
)
from workflows.de_an_decisions import pending_deadlines

Scenario = Callable[[WorkflowEnvironment, str, str], Awaitable[Driver]]
"""``(env, task_queue, tag)``: ``tag`` is appended to the đề án code (unique IDs per run)."""


async def start(client: Client, task_queue: str, dossier: Any, registered_on: date) -> Driver:
    """Register through the starter (static summary and details, as in production)."""
    from khuyencong.registration import RegistrationEntry, register_all

    entry = RegistrationEntry(dossier=dossier, registered_by=TRUNG_TAM, registered_on=registered_on)
    report = await register_all(client, task_queue, [entry], hash_key=None)
    assert report.started == [workflow_id_for(dossier.code)], report.describe()
    handle = client.get_workflow_handle(workflow_id_for(dossier.code))
    Driver.started.append(handle)
    driver = Driver(client, handle)
    await driver.until(lambda state: state.seq >= 1)
    return driver


async def act(d: Driver, ref: str, command: DeAnCommand) -> Any:
    return await d.act(command, update_id=f"{d.handle.id}:{action_of(command)}:{ref}")


async def refused(d: Driver, ref: str, command: DeAnCommand) -> str:
    """Send an update that the workflow must refuse; return the refusal's type."""
    try:
        await act(d, ref, command)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        assert isinstance(cause, ApplicationError), cause
        return str(cause.type)
    raise AssertionError(f"{action_of(command)} was accepted, a refusal was expected")


async def provincial_closed(env: WorkflowEnvironment, tq: str, tag: str = "") -> Driver:
    today = await today_of(env)
    dossier = dossier_on(
        today,
        code=f"BG-DP-HIST-01{tag}",
        commune="Tiến Dũng",
        cost=600_000_000,
        requested_support=200_000_000,
    )
    d = await start(env.client, tq, dossier, today)
    await act(d, "BB-01", appraisal(SO, today, minutes="BB-01"))
    await act(d, "427", approval(UBND, today, 200_000_000))
    await act(d, "15", contract(SO, today, 200_000_000))
    month = f"{today:%Y-%m}"
    await act(
        d,
        month,
        DeAnReportProgress(
            actor=TRUNG_TAM,
            month=month,
            investment_done_bp=8000,
            spent_cost=480_000_000,
            reported_on=today,
        ),
    )
    await act(d, month, DeAnConfirmProgress(actor=SO_2, month=month, confirmed_on=today))
    await act(
        d,
        "KT-1",
        DeAnRecordVisit(
            actor=SO,
            visited_on=today,
            minutes_number="KT-1",
            findings=["Chưa lắp biển công trình khuyến công"],
            hold_payments=True,
        ),
    )
    await act(
        d,
        "1",
        DeAnRequestAdvance(actor=TRUNG_TAM, amount=140_000_000, requested_on=today),
    )
    pay = DeAnPayAdvance(actor=KE_TOAN_BG, request_no=1, paid_on=today, voucher_number="UNC-01")
    assert await refused(d, "1-on-hold", pay) == "PaymentsOnHold"
    await act(d, "1", DeAnResolveFindings(actor=SO, resolved_on=today))
    await act(d, "1", pay)
    await act(
        d,
        "78",
        DeAnAdjust(
            actor=SO,
            kind="change_site",
            decision_number="78/QĐ-SCT",
            decision_date=today,
            description="Chuyển xưởng sang thôn bên cạnh trong cùng xã",
            new_address="Thôn Đông, xã Tiến Phong",
        ),
    )
    await act(
        d,
        "NT-01",
        DeAnAccept(
            actor=SO,
            minutes_number="NT-01",
            accepted_on=today,
            accepted_cost=580_000_000,
            accepted_volume_bp=10000,
        ),
    )
    await act(d, "1", DeAnSubmitSettlementDossier(actor=TRUNG_TAM, submitted_on=today))
    await act(d, "QT-01", DeAnSettle(actor=SO, settlement_number="QT-01", settled_on=today))
    await act(
        d,
        "UNC-02",
        DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=today, voucher_number="UNC-02"),
    )
    await d.handle.result()
    return d


async def national_closed(env: WorkflowEnvironment, tq: str, tag: str = "") -> Driver:
    today = await today_of(env)
    dossier = dossier_on(
        today,
        code=f"QG-HIST-01{tag}",
        level=Level.QUOC_GIA,
        cost=700_000_000,
        requested_support=300_000_000,
        counterpart_funds=450_000_000,
    )
    d = await start(env.client, tq, dossier, today)
    await act(d, "co_so", appraisal(SO, today, minutes="BB-CS-01"))
    await act(d, "bo", appraisal(CUC, today, minutes="BB-BO-01"))
    await act(d, "1234", approval(BO_TRUONG, today, 300_000_000, number="1234/QĐ-BCT"))
    decrease = DeAnAdjust(
        actor=BO_TRUONG,
        kind=AdjustmentKind.DECREASE_SUPPORT,
        decision_number="1300/QĐ-CĐM",
        decision_date=today,
        description="Điều chỉnh giảm theo dự toán được giao",
        new_support=280_000_000,
    )
    # A decrease is the Cục's to decide (TT 36/2013 Điều 11), not the Minister's.
    assert await refused(d, "1300-bt", decrease) == "WrongAuthority"
    await act(d, "1300", decrease.model_copy(update={"actor": CUC}))
    await act(d, "20", contract(CUC, today, 280_000_000, number="20/HĐ-KCQG"))
    await act(
        d,
        "NT-QG",
        DeAnAccept(
            actor=SO,
            minutes_number="NT-QG",
            accepted_on=today,
            accepted_cost=700_000_000,
            accepted_volume_bp=10000,
        ),
    )
    await act(d, "QT-QG", DeAnSettle(actor=CUC, settlement_number="QT-QG", settled_on=today))
    pay = DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=today, voucher_number="C-1")
    assert await refused(d, "C-1-tinh", pay) == "WrongJurisdiction"
    await act(d, "C-1", pay.model_copy(update={"actor": KE_TOAN_CUC}))
    await d.handle.result()
    return d


async def provincial_stopped(env: WorkflowEnvironment, tq: str, tag: str = "") -> Driver:
    today = await today_of(env)
    dossier = dossier_on(
        today,
        code=f"BG-DP-HIST-02{tag}",
        support_item="training",
        cost=100_000_000,
        requested_support=100_000_000,
        district="Lục Ngạn",
        title="Đào tạo nghề chế biến vải thiều sấy",
    )
    d = await start(env.client, tq, dossier, today)
    await act(d, "BB-02", appraisal(SO, today, minutes="BB-02"))
    await act(d, "500", approval(UBND, today, 100_000_000, number="500/QĐ-UBND"))
    await act(d, "16", contract(SO, today, 100_000_000, number="16/HĐ-KC"))
    await act(d, "1", DeAnRequestAdvance(actor=TRUNG_TAM, amount=70_000_000, requested_on=today))
    await act(
        d,
        "1",
        DeAnPayAdvance(actor=KE_TOAN_BG, request_no=1, paid_on=today, voucher_number="A1"),
    )
    await act(
        d,
        "900",
        DeAnStop(
            actor=UBND,
            decision_number="900/QĐ-UBND",
            decision_date=today,
            reason="Đơn vị thụ hưởng không bố trí được học viên",
        ),
    )
    await act(
        d,
        "NT-2",
        DeAnAccept(
            actor=SO,
            minutes_number="NT-2",
            accepted_on=today,
            accepted_cost=40_000_000,
            accepted_volume_bp=4000,
        ),
    )
    await act(d, "QT-2", DeAnSettle(actor=SO, settlement_number="QT-2", settled_on=today))
    await act(
        d,
        "NT-01",
        DeAnRecordRefund(
            actor=KE_TOAN_BG, refunded_on=today, amount=30_000_000, voucher_number="NT-01"
        ),
    )
    await d.handle.result()
    return d


async def provincial_deadline_missed(env: WorkflowEnvironment, tq: str, tag: str = "") -> Driver:
    today = await today_of(env)
    year = today.year + 1
    dossier = dossier_on(
        today,
        code=f"BG-DP-HIST-03{tag}",
        plan_year=year,
        schedule={"start": date(year, 1, 1), "end": date(year, 12, 31)},
        district="Hiệp Hòa",
    )
    d = await start(env.client, tq, dossier, today)
    await act(d, "BB-03", appraisal(SO, today, minutes="BB-03"))
    await act(d, "600", approval(UBND, today, 200_000_000, number="600/QĐ-UBND"))
    await act(d, "17", contract(SO, today, 200_000_000, number="17/HĐ-KC"))
    first = pending_deadlines(await d.state())[0]
    await _skip_past(env, first.missed_at)
    await d.until(lambda s: first.key in s.missed_deadlines)
    late = await today_of(env)
    await act(
        d,
        first.ref,
        DeAnReportProgress(
            actor=TRUNG_TAM,
            month=first.ref,
            investment_done_bp=1000,
            spent_cost=60_000_000,
            reported_on=late,
        ),
    )
    await d.handle.terminate("recorded: the history ends here")
    return d


async def returned_rejected(env: WorkflowEnvironment, tq: str, tag: str = "") -> Driver:
    today = await today_of(env)
    dossier = dossier_on(today, code=f"BG-DP-HIST-04{tag}", district="Yên Thế")
    d = await start(env.client, tq, dossier, today)
    returned = appraisal(SO, today, verdict="return", minutes="BB-04")
    await act(d, "BB-04", returned)
    amended = dossier.model_copy(update={"title": f"{dossier.title} (hồ sơ bổ sung)"})
    await act(d, "1", DeAnResubmit(actor=TRUNG_TAM, dossier=amended))
    await act(d, "BB-05", appraisal(SO, today, minutes="BB-05"))
    await act(
        d,
        "428",
        DeAnReject(
            actor=UBND,
            decision_number="428/QĐ-UBND",
            decision_date=today,
            reason="Không đủ nguồn kinh phí năm kế hoạch",
        ),
    )
    await d.handle.result()
    return d


async def national_stopped_lapsed(env: WorkflowEnvironment, tq: str, tag: str = "") -> Driver:
    """Issue 10, item 9: machinery, 250 tr; advance 1 paid, advance 2 requested; the Minister
    stops the đề án (advance 2 lapses); 60 % accepted; advance 2 refused; settled to 50 tr."""
    today = await today_of(env)
    dossier = dossier_on(
        today,
        code=f"QG-HIST-02{tag}",
        level=Level.QUOC_GIA,
        cost=600_000_000,
        requested_support=250_000_000,
        district="Tân Yên",
    )
    d = await start(env.client, tq, dossier, today)
    await act(d, "CS-02", appraisal(SO, today, minutes="CS-02"))
    await act(d, "BO-02", appraisal(CUC, today, minutes="BO-02"))
    await act(d, "1400", approval(BO_TRUONG, today, 250_000_000, number="1400/QĐ-BCT"))
    await act(d, "19", contract(CUC, today, 250_000_000, number="19/HĐ-KC"))
    month = f"{today:%Y-%m}"
    await act(
        d,
        month,
        DeAnReportProgress(
            actor=TRUNG_TAM,
            month=month,
            investment_done_bp=7500,
            spent_cost=450_000_000,
            reported_on=today,
        ),
    )
    await act(d, month, DeAnConfirmProgress(actor=SO_2, month=month, confirmed_on=today))

    def pay(no: int) -> DeAnPayAdvance:
        return DeAnPayAdvance(
            actor=KE_TOAN_CUC, request_no=no, paid_on=today, voucher_number=f"A{no}"
        )

    def request(amount: int) -> DeAnRequestAdvance:
        return DeAnRequestAdvance(actor=TRUNG_TAM, requested_on=today, amount=amount)

    await act(d, "1", request(100_000_000))
    await act(d, "1", pay(1))
    await act(d, "2", request(75_000_000))
    stop = DeAnStop(
        actor=BO_TRUONG,
        decision_number="1401/QĐ-BCT",
        decision_date=today,
        reason="Đơn vị thụ hưởng không đáp ứng yêu cầu",
    )
    await act(d, "1401", stop)
    accept = DeAnAccept(
        actor=SO,
        minutes_number="NT-60",
        accepted_on=today,
        accepted_cost=300_000_000,
        accepted_volume_bp=6000,
    )
    await act(d, "NT-60", accept)
    await act(d, "dossier", DeAnSubmitSettlementDossier(actor=TRUNG_TAM, submitted_on=today))
    assert await refused(d, "2-lapsed", pay(2)) == "AdvanceLapsed"
    settle = DeAnSettle(actor=CUC, settlement_number="QT-02", settled_on=today)
    await act(d, "QT-02", settle)
    await act(
        d,
        "UNC-02",
        DeAnPaySettlement(actor=KE_TOAN_CUC, paid_on=today, voucher_number="UNC-02"),
    )
    await d.handle.result()
    return d


async def provincial_typed_in_late(env: WorkflowEnvironment, tq: str, tag: str = "") -> Driver:
    """Issue 10, item 8: a 2019 paper record typed in now; its deadlines had passed before it
    entered the engine and are recorded as missed at once; then it is settled and closed."""
    year = 2019
    dossier = dossier_on(
        date(year, 3, 1),
        code=f"BG-DP-HIST-05{tag}",
        plan_year=year,
        schedule={"start": date(year, 3, 1), "end": date(year, 11, 30)},
        district="Việt Yên",
    )
    d = await start(env.client, tq, dossier, date(year, 1, 15))
    await act(d, "BB-06", appraisal(SO, date(year, 2, 20), minutes="BB-06"))
    await act(d, "101", approval(UBND, date(year, 3, 1), 200_000_000, number="101/QĐ-UBND"))
    await act(d, "18", contract(SO, date(year, 11, 1), 200_000_000, number="18/HĐ-KC"))
    accept = DeAnAccept(
        actor=SO,
        minutes_number="NT-2019",
        accepted_on=date(year, 11, 20),
        accepted_cost=600_000_000,
        accepted_volume_bp=10000,
    )
    await act(d, "NT-2019", accept)
    missed = {"settlement_dossier:2019-11-20", "settlement:2019"}
    await d.until(lambda s: missed <= set(s.missed_deadlines), timeout=20)
    await act(
        d,
        "dossier",
        DeAnSubmitSettlementDossier(actor=TRUNG_TAM, submitted_on=date(year, 12, 10)),
    )
    settle = DeAnSettle(actor=SO, settlement_number="QT-05", settled_on=date(year, 12, 20))
    await act(d, "QT-05", settle)
    await act(
        d,
        "UNC-05",
        DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=date(year, 12, 27), voucher_number="UNC-05"),
    )
    await d.handle.result()
    return d


async def provincial_settled_on_hold(env: WorkflowEnvironment, tq: str, tag: str = "") -> Driver:
    """The fuzzer's finding: settled while a visit's findings hold the payments, then
    resolved on the settled đề án and paid (before v4 this was a dead end)."""
    today = await today_of(env)
    dossier = dossier_on(
        today,
        code=f"BG-DP-HIST-06{tag}",
        support_item="training",
        cost=100_000_000,
        requested_support=100_000_000,
        district="Tân Yên",
        title="Đào tạo nghề đan lát mây tre",
    )
    d = await start(env.client, tq, dossier, today)
    await act(d, "BB-07", appraisal(SO, today, minutes="BB-07"))
    await act(d, "610", approval(UBND, today, 100_000_000, number="610/QĐ-UBND"))
    await act(d, "19", contract(SO, today, 100_000_000, number="19/HĐ-KC"))
    accept = DeAnAccept(
        actor=SO,
        minutes_number="NT-6",
        accepted_on=today,
        accepted_cost=100_000_000,
        accepted_volume_bp=10000,
    )
    await act(d, "NT-6", accept)
    visit = DeAnRecordVisit(
        actor=SO,
        visited_on=today,
        minutes_number="KT-6",
        findings=["Thiếu chứng từ chi bồi dưỡng học viên"],
        hold_payments=True,
    )
    await act(d, "KT-6", visit)
    await act(d, "1", DeAnSubmitSettlementDossier(actor=TRUNG_TAM, submitted_on=today))
    await act(d, "QT-6", DeAnSettle(actor=SO, settlement_number="QT-6", settled_on=today))
    pay = DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=today, voucher_number="UNC-06")
    assert await refused(d, "UNC-06-on-hold", pay) == "PaymentsOnHold"
    await act(d, "1", DeAnResolveFindings(actor=SO, resolved_on=today))
    await act(d, "UNC-06", pay)
    await d.handle.result()
    return d


async def _skip_past(env: WorkflowEnvironment, moment: datetime) -> None:
    await env.sleep(moment - await env.get_current_time())
    await env.sleep(1)


async def payload_texts(history: WorkflowHistory, codec: PayloadCodec | None) -> list[str]:
    """The data of every payload of ``history`` as text, decrypted by ``codec`` when given."""
    texts: list[str] = []
    for event in history.events:
        payloads = payloads_in(event)
        if codec is not None:
            payloads = await codec.decode(payloads)
        texts.extend(p.data.decode("utf-8", "replace") for p in payloads)
    return texts


SCENARIOS: dict[str, Scenario] = {
    "provincial-closed": provincial_closed,
    "national-closed": national_closed,
    "provincial-stopped": provincial_stopped,
    "provincial-deadline-missed": provincial_deadline_missed,
    "returned-rejected": returned_rejected,
    "national-stopped-lapsed": national_stopped_lapsed,
    "provincial-typed-in-late": provincial_typed_in_late,
    "provincial-settled-on-hold": provincial_settled_on_hold,
}

FIRST_SCENARIOS = frozenset(
    {
        "provincial-closed",
        "national-closed",
        "provincial-stopped",
        "provincial-deadline-missed",
        "returned-rejected",
    }
)
"""The scenarios of the sets recorded before issue 10 (v0–v2)."""

SCENARIOS_SINCE: dict[str, str] = {
    "national-stopped-lapsed": "v3",
    "provincial-typed-in-late": "v3",
    "provincial-settled-on-hold": "v4",
}
"""The set that first recorded each later scenario; every set after it has it too."""


def scenarios_of(set_name: str) -> set[str]:
    """The scenarios recorded in ``tests/histories/<set_name>``."""
    number = int(set_name.removeprefix("v"))
    later = {n for n, since in SCENARIOS_SINCE.items() if int(since[1:]) <= number}
    return set(FIRST_SCENARIOS) | later


def failed_attempts(history: WorkflowHistory) -> list[int]:
    """The attempt number of every activity execution the history records as failed: a
    regular activity's ``ActivityTaskFailed`` (the attempt of its start) or a local activity's
    marker that carries a failure (the attempt in the marker's data)."""
    started = {
        e.event_id: e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    }
    attempts = []
    for e in history.events:
        if e.HasField("activity_task_failed_event_attributes"):
            attempts.append(started[e.activity_task_failed_event_attributes.started_event_id])
        elif is_local_activity(e) and e.marker_recorded_event_attributes.HasField("failure"):
            data = json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)
            attempts.append(int(data["attempt"]))
    return attempts


def is_local_activity(event: Any) -> bool:
    """A local activity's marker (on the lean path: a step's read or write)."""
    return bool(
        event.HasField("marker_recorded_event_attributes")
        and event.marker_recorded_event_attributes.marker_name == "core_local_activity"
    )


def has_marker(history: WorkflowHistory, patch_id: str) -> bool:
    """The history recorded the marker of ``patch_id``."""
    return any(
        e.HasField("marker_recorded_event_attributes")
        and patch_id.encode() in e.marker_recorded_event_attributes.SerializeToString()
        for e in history.events
    )


def took_patch(recorded: str, patch_id: str) -> bool:
    """Whether a history's text (its markers or payloads) shows that the run took a patch:
    its own marker, or, for a patch the lean path implies
    (:data:`workflows.de_an.IMPLIED_BY_LOCAL_WRITES`), the lean path's marker."""
    if patch_id in recorded:
        return True
    return patch_id in IMPLIED_BY_LOCAL_WRITES and LOCAL_WRITES_PATCH in recorded


def before_the_lean_path(monkeypatch: Any) -> None:
    """Run the workflow as the code before :data:`workflows.de_an.LOCAL_WRITES_PATCH` did:
    the patch never asked, regular activities, every older patch asked for itself (the
    workflow module passes through the sandbox, so the class is the worker's)."""
    monkeypatch.setattr(DeAnWorkflow, "_is_lean", lambda self: False)
