"""Every refusal the workflow owes: typed, explained, and leaving the đề án as it was."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.authority import AdjustmentKind
from domain.model import Level, Role
from domain.stages import Action
from tests.support.builders import (
    BO_TRUONG,
    CUC,
    KE_TOAN_BG,
    SO,
    SO_BAC_NINH,
    TRUNG_TAM,
    UBND,
    UBND_BAC_NINH,
    dossier_on,
    new_code,
    official,
)
from tests.support.lifecycle import (
    Driver,
    action_of,
    appraisal,
    approval,
    approved_provincial,
    contracted_provincial,
    contracted_training,
    paid_advance,
    today_of,
)
from workflows.de_an_contract import (
    DeAnAdjust,
    DeAnCommand,
    DeAnPayAdvance,
    DeAnRequestAdvance,
    DeAnSignContract,
)


async def refused(d: Driver, command: DeAnCommand) -> ApplicationError:
    """Send an update that must be refused; check nothing changed; return the refusal."""
    update = action_of(command).value
    before = await d.state()
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await d.act(command)
    after = await d.state()
    assert after == before, "a refused update changed the state"
    history = await d.handle.fetch_history()
    accepted = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == update
    ]
    assert accepted == [], "a refused update entered the history"
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.non_retryable
    return cause


def refusal_details(error: ApplicationError) -> dict[str, Any]:
    details = error.details[0]
    assert isinstance(details, dict)
    return details


async def registered(
    ts_env: WorkflowEnvironment, tq: str, level: Level = Level.DIA_PHUONG
) -> tuple[Driver, date]:
    """A 700M đề án asking 300M, whose beneficiary commits to fund all of it if need be."""
    today = await today_of(ts_env)
    dossier = dossier_on(
        today,
        level=level,
        cost=700_000_000,
        requested_support=300_000_000,
        counterpart_funds=700_000_000,
    )
    return await Driver.register(ts_env.client, tq, dossier, today), today


async def test_an_action_in_the_wrong_stage_is_refused_and_says_what_is_possible(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await registered(ts_env, tq)
    error = await refused(d, approval(UBND, today, 100_000_000))
    assert error.type == "WrongStage"
    assert "Thẩm định" in error.message and "Đã đăng ký" in error.message


async def test_a_provincial_official_cannot_approve_a_national_de_an(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await registered(ts_env, tq, Level.QUOC_GIA)
    await d.act(appraisal(SO, today, minutes="CS-1"))
    await d.act(appraisal(CUC, today, minutes="BO-1"))
    error = await refused(d, approval(UBND, today, 300_000_000))
    assert error.type == "WrongAuthority"
    details = refusal_details(error)
    assert details["field"] == "actor.role"
    assert "Bộ trưởng" in details["legal_basis"]


@pytest.mark.parametrize("role", [Role.SO_CONG_THUONG, Role.CUC, Role.BO_TRUONG, Role.TRUNG_TAM])
async def test_nobody_but_ubnd_approves_a_provincial_de_an(
    ts_env: WorkflowEnvironment, tq: str, role: Role
) -> None:
    d, today = await registered(ts_env, tq)
    await d.act(appraisal(SO, today))
    central = role in (Role.CUC, Role.BO_TRUONG)
    actor = official(f"x-{role.value}", role, province=None if central else "Bắc Giang")
    error = await refused(d, approval(actor, today, 200_000_000))
    assert error.type == "WrongAuthority"


async def test_the_ubnd_of_another_province_cannot_approve(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await registered(ts_env, tq)
    await d.act(appraisal(SO, today))
    error = await refused(d, approval(UBND_BAC_NINH, today, 200_000_000))
    assert error.type == "WrongJurisdiction"


async def test_a_so_of_another_province_cannot_appraise(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await registered(ts_env, tq)
    error = await refused(d, appraisal(SO_BAC_NINH, today))
    assert error.type == "WrongJurisdiction"


async def test_whoever_appraised_cannot_approve(ts_env: WorkflowEnvironment, tq: str) -> None:
    d, today = await registered(ts_env, tq)
    await d.act(appraisal(SO, today))
    same_person = official(SO.official_id, Role.UBND_TINH)
    error = await refused(d, approval(same_person, today, 200_000_000))
    assert error.type == "FourEyesViolation"


async def test_whoever_approved_cannot_pay(ts_env: WorkflowEnvironment, tq: str) -> None:
    today = await today_of(ts_env)
    d = await contracted_training(ts_env.client, tq, today)
    await d.act(DeAnRequestAdvance(actor=TRUNG_TAM, amount=10_000_000, requested_on=today))
    approver_as_payer = official(UBND.official_id, Role.TAI_CHINH)
    error = await refused(
        d,
        DeAnPayAdvance(actor=approver_as_payer, request_no=1, paid_on=today, voucher_number="X"),
    )
    assert error.type == "FourEyesViolation"


async def test_support_over_the_cap_is_refused_with_the_rule_that_sets_the_cap(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await registered(ts_env, tq)  # machinery: 50 %, cap 200M in the Bắc Giang pack
    await d.act(appraisal(SO, today))
    error = await refused(d, approval(UBND, today, 250_000_000))
    assert error.type == "SupportOverCap"
    details = refusal_details(error)
    assert details["field"] == "approved_support"
    assert "Bắc Giang" in details["legal_basis"]


async def test_approving_less_than_requested_needs_enough_counterpart_funds(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    dossier = dossier_on(today, cost=600_000_000, requested_support=200_000_000)
    d = await Driver.register(ts_env.client, tq, dossier, today)
    await d.act(appraisal(SO, today))
    error = await refused(d, approval(UBND, today, 150_000_000))
    assert error.type == "CounterpartTooLow"
    assert "450.000.000 đ" in error.message


async def test_support_over_the_request_is_refused(ts_env: WorkflowEnvironment, tq: str) -> None:
    d, today = await registered(ts_env, tq)
    await d.act(appraisal(SO, today))
    error = await refused(d, approval(UBND, today, 300_000_001))
    assert error.type == "SupportOverRequest"


async def test_machinery_gets_no_advance_before_the_so_confirms_over_70_percent_done(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    d = await contracted_provincial(ts_env.client, tq, today)
    error = await refused(
        d, DeAnRequestAdvance(actor=TRUNG_TAM, amount=10_000_000, requested_on=today)
    )
    assert error.type == "AdvanceNotAllowed"
    assert "Điều 13" in refusal_details(error)["legal_basis"]


async def test_advances_beyond_70_percent_of_the_contract_are_refused(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    d = await contracted_training(ts_env.client, tq, today)
    error = await refused(
        d, DeAnRequestAdvance(actor=TRUNG_TAM, amount=70_000_001, requested_on=today)
    )
    assert error.type == "AdvanceOverLimit"
    assert "70.000.000 đ" in error.message


async def test_support_cannot_be_cut_below_what_was_already_paid(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    d = await contracted_training(ts_env.client, tq, today)
    await paid_advance(d, today, 70_000_000)
    error = await refused(
        d,
        DeAnAdjust(
            actor=SO,
            kind="decrease_support",
            decision_number="5/QĐ-SCT",
            decision_date=today,
            description="Giảm quy mô lớp",
            new_support=60_000_000,
        ),
    )
    assert error.type == "PaidOverApproved"


async def test_a_malformed_decision_number_is_refused_naming_the_field(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await registered(ts_env, tq)
    await d.act(appraisal(SO, today))
    before = await d.state()
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await d.act(
            approval(UBND, today, 200_000_000).model_copy(update={"decision_number": "quyết định"})
        )
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidField"
    assert refusal_details(cause)["field"] == "decision_number"
    assert "427/QĐ-UBND" in cause.message  # says what a good one looks like
    assert await d.state() == before


async def test_a_decision_dated_in_the_future_is_refused(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await registered(ts_env, tq)
    await d.act(appraisal(SO, today))
    error = await refused(d, approval(UBND, today.replace(year=today.year + 1), 200_000_000))
    assert (error.type, refusal_details(error)["field"]) == ("InvalidField", "decision_date")


async def test_a_repeated_update_id_is_applied_once(ts_env: WorkflowEnvironment, tq: str) -> None:
    today = await today_of(ts_env)
    d = await approved_provincial(ts_env.client, tq, today)
    command = DeAnSignContract(
        actor=SO, contract_number="1/HĐ", signed_on=today, contracted_support=200_000_000
    )
    first = await d.act(command, update_id="sign-1")
    again = await d.act(command, update_id="sign-1")
    assert first == again
    assert [e.action for e in (await d.state()).timeline].count(Action.SIGN_CONTRACT) == 1


async def test_the_minister_alone_can_raise_national_support(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    d, today = await registered(ts_env, tq, Level.QUOC_GIA)
    await d.act(appraisal(SO, today, minutes="CS-1"))
    await d.act(appraisal(CUC, today, minutes="BO-1"))
    await d.act(approval(BO_TRUONG, today, 250_000_000, number="1/QĐ-BCT"))
    raise_support = DeAnAdjust(
        actor=CUC,
        kind=AdjustmentKind.INCREASE_SUPPORT,
        decision_number="2/QĐ-BCT",
        decision_date=today,
        description="Bổ sung thiết bị",
        new_support=300_000_000,
    )
    error = await refused(d, raise_support)
    assert error.type == "WrongAuthority"
    assert "Điều 11" in refusal_details(error)["legal_basis"]
    result = await d.act(raise_support.model_copy(update={"actor": BO_TRUONG}))
    assert result.approved_support == 300_000_000


async def test_a_deactivated_official_can_do_nothing(ts_env: WorkflowEnvironment, tq: str) -> None:
    d, today = await registered(ts_env, tq)
    await d.handle.signal(
        "official_deactivated", {"official_id": SO.official_id, "deactivated_on": today}
    )
    error = await refused(d, appraisal(SO, today))
    assert (error.type, refusal_details(error)["field"]) == (
        "InactiveOfficial",
        "actor.official_id",
    )


async def test_an_official_deactivated_before_registration_can_do_nothing_on_it(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    gone = official(f"so-gone-{new_code()}".lower(), Role.SO_CONG_THUONG)
    await db_pool.execute(
        "INSERT INTO officials (id, full_name, organisation, role, province, active, deactivated_at)"
        " VALUES ($1, $2, $3, $4, $5, false, now())",
        gone.official_id,
        gone.full_name,
        gone.organisation,
        gone.role.value,
        gone.province,
    )
    d, today = await registered(ts_env, tq)
    assert gone.official_id in (await d.state()).deactivated_officials
    error = await refused(d, appraisal(gone, today))
    assert error.type == "InactiveOfficial"


async def test_a_cut_lapses_the_open_advance_request_which_is_never_paid_and_one_within_the_room_is(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool, tq: str
) -> None:
    """Training, 100 tr contracted (advances up to 70 tr), its beneficiary able to fund it all;
    50 tr requested, then support cut to 60 tr: the new ceiling (42 tr) no longer holds the
    request, which lapses with the cut; its payment is refused with nothing recorded, and a new
    request of the 42 tr left is paid. The read model counts the lapsed request as not open."""
    today = await today_of(ts_env)
    d = await contracted_provincial(
        ts_env.client,
        tq,
        today,
        support_item="training",
        cost=100_000_000,
        requested_support=100_000_000,
        counterpart_funds=100_000_000,
    )
    de_an_id = (await d.state()).de_an_id

    async def open_requests() -> int:
        count = await db_pool.fetchval(
            "SELECT open_requests FROM de_an_inbox WHERE de_an_id = $1", de_an_id
        )
        return int(count)

    def pay(no: int) -> DeAnPayAdvance:
        return DeAnPayAdvance(
            actor=KE_TOAN_BG, request_no=no, paid_on=today, voucher_number=f"A{no}"
        )

    await d.act(DeAnRequestAdvance(actor=TRUNG_TAM, amount=50_000_000, requested_on=today))
    assert await open_requests() == 1
    number = f"{random.randint(100_000, 999_999)}/QĐ-SCT"
    cut = await d.act(
        DeAnAdjust(
            actor=SO,
            kind="decrease_support",
            decision_number=number,
            decision_date=today,
            description="Giảm quy mô lớp",
            new_support=60_000_000,
        ),
    )
    assert "lần 1 (50.000.000 đ)" in cut.message and "42.000.000 đ" in cut.message
    lapsed = await db_pool.fetchrow(
        "SELECT r.lapsed_on, e.action FROM advance_request r "
        "JOIN de_an_event e ON e.idempotency_key = r.lapse_key "
        "WHERE r.de_an_id = $1 AND r.request_no = 1",
        de_an_id,
    )
    assert (lapsed["lapsed_on"], lapsed["action"]) == (today, "adjust")
    assert await open_requests() == 0

    error = await refused(d, pay(1))
    assert error.type == "AdvanceLapsed"
    assert number in error.message and "42.000.000 đ" in error.message
    assert "có thể đề nghị tạm ứng mới" in error.message

    await d.act(DeAnRequestAdvance(actor=TRUNG_TAM, amount=42_000_000, requested_on=today))
    assert await open_requests() == 1
    paid = await d.act(pay(2))
    assert (paid.approved_support, paid.advanced) == (60_000_000, 42_000_000)
    assert await open_requests() == 0
    payments = await db_pool.fetch(
        "SELECT amount FROM payment WHERE de_an_id = $1 AND kind = 'advance'", de_an_id
    )
    assert [p["amount"] for p in payments] == [42_000_000]
