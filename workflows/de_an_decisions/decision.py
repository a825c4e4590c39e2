"""The decision on a đề án: approval (the rule pack is fixed then) or rejection."""

from __future__ import annotations

from datetime import date, datetime

from domain.authority import BASIS_APPROVAL_LOCAL, BASIS_APPROVAL_NATIONAL, check_four_eyes
from domain.errors import RefusalCode
from domain.model import Level
from domain.money import format_dong
from domain.stages import Action
from workflows.de_an_contract import DeAnApprove, DeAnDecisionRecord, DeAnReject, DeAnState
from workflows.de_an_decisions.common import (
    Outcome,
    begin,
    check_business_date,
    check_cap,
    check_counterpart,
    finish,
    fork,
    pack_for_approval,
    refuse,
    step_key,
)
from workflows.de_an_rows import DecisionRow


def _approval_basis(state: DeAnState) -> str:
    national = state.dossier.level is Level.QUOC_GIA
    return BASIS_APPROVAL_NATIONAL if national else BASIS_APPROVAL_LOCAL


def _check_decision_date(state: DeAnState, value: date, now: datetime) -> None:
    check_business_date(state, value, "decision_date", now)
    last = max((a.appraised_on for a in state.appraisals), default=state.registered_on)
    if value < last:
        raise refuse(
            RefusalCode.INVALID_FIELD,
            f"ngày quyết định {value:%d/%m/%Y} trước ngày thẩm định {last:%d/%m/%Y}",
            "decision_date",
        )


def decide_approve(state: DeAnState, cmd: DeAnApprove, now: datetime) -> Outcome:
    target = begin(state, Action.APPROVE, cmd, None, None, now)
    dossier = state.dossier
    check_four_eyes(
        cmd.actor,
        [state.registered_by.official_id, *(a.official_id for a in state.appraisals)],
        "đăng ký hoặc thẩm định",
        _approval_basis(state),
    )
    _check_decision_date(state, cmd.decision_date, now)
    if cmd.approved_support <= 0:
        raise refuse(
            RefusalCode.INVALID_FIELD, "kinh phí phê duyệt phải lớn hơn 0", "approved_support"
        )
    if cmd.approved_support > dossier.requested_support:
        raise refuse(
            RefusalCode.SUPPORT_OVER_REQUEST,
            f"kinh phí phê duyệt {format_dong(cmd.approved_support)} vượt kinh phí đề nghị "
            f"{format_dong(dossier.requested_support)}",
            "approved_support",
            _approval_basis(state),
        )
    pack = pack_for_approval(state, cmd.decision_date)
    check_cap(cmd.approved_support, dossier, pack, "approved_support")
    check_counterpart(dossier, cmd.approved_support, "approved_support")
    key = step_key(state, "approve", cmd.decision_number)
    after = fork(state)
    after.stage = target
    after.rule_pack_id = pack.id
    after.deadline_rules = pack.deadlines
    after.approved_support = cmd.approved_support
    after.plan_id = cmd.plan_id
    after.approval = DeAnDecisionRecord(
        number=cmd.decision_number,
        date=cmd.decision_date,
        signer=cmd.signer,
        official_id=cmd.actor.official_id,
    )
    return finish(
        state,
        after,
        action=Action.APPROVE,
        key=key,
        now=now,
        business_date=cmd.decision_date,
        summary=(
            f"Phê duyệt theo Quyết định {cmd.decision_number} ngày {cmd.decision_date:%d/%m/%Y}: "
            f"hỗ trợ {format_dong(cmd.approved_support)} (áp dụng {pack.title})"
        ),
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.decision_number,
        extra={"rule_pack_id": pack.id},
        row=DecisionRow(
            kind="approve",
            number=cmd.decision_number,
            decision_date=cmd.decision_date,
            signer=cmd.signer,
            amount=cmd.approved_support,
        ),
    )


def decide_reject(state: DeAnState, cmd: DeAnReject, now: datetime) -> Outcome:
    target = begin(state, Action.REJECT, cmd, None, None, now)
    _check_decision_date(state, cmd.decision_date, now)
    after = fork(state)
    after.stage = target
    return finish(
        state,
        after,
        action=Action.REJECT,
        key=step_key(state, "reject", cmd.decision_number),
        now=now,
        business_date=cmd.decision_date,
        summary=f"Không phê duyệt (Quyết định {cmd.decision_number}): {cmd.reason}",
        actor=cmd.actor,
        command=cmd,
        decision_number=cmd.decision_number,
        row=DecisionRow(kind="reject", number=cmd.decision_number, decision_date=cmd.decision_date),
    )
