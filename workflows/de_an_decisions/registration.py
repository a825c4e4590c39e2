"""Registration of a đề án and the resubmission of a returned dossier."""

from __future__ import annotations

from datetime import date, datetime

from domain.authority import check_authority
from domain.deadlines import vn_date
from domain.errors import RefusalCode
from domain.model import Actor, DeAnDossier
from domain.money import format_dong
from domain.rules import RulePack
from domain.stages import Action, Stage
from workflows.de_an_contract import DeAnResubmit, DeAnState
from workflows.de_an_decisions.common import (
    Outcome,
    begin,
    check_active,
    finish,
    fork,
    refuse,
    step_key,
)


def initial_state(
    dossier: DeAnDossier,
    registered_by: Actor,
    registered_on: date,
    packs: list[RulePack],
    entered_at: datetime | None = None,
    flag_past_deadlines: bool = True,
) -> DeAnState:
    return DeAnState(
        de_an_id=dossier.code,
        dossier=dossier,
        registered_by=registered_by,
        registered_on=registered_on,
        entered_at=entered_at,
        flag_past_deadlines=flag_past_deadlines,
        rule_packs=packs,
        budget_year=dossier.plan_year,
    )


def check_registration(dossier: DeAnDossier, actor: Actor) -> None:
    """Who may register. The cap binds at approval, under the pack in force that day: a
    request above it is trimmed by appraisal and approval, not refused at the door."""
    check_authority(actor, Action.REGISTER, dossier, Stage.REGISTERED)


def decide_register(state: DeAnState, now: datetime) -> Outcome:
    dossier = state.dossier
    check_active(state, state.registered_by)
    check_registration(dossier, state.registered_by)
    after = fork(state)
    summary = (
        f"Đăng ký đề án {dossier.code} «{dossier.title}» ({dossier.level.label.lower()}, "
        f"đề nghị hỗ trợ {format_dong(dossier.requested_support)})"
    )
    return finish(
        state,
        after,
        action=Action.REGISTER,
        key=step_key(state, "register"),
        now=now,
        business_date=state.registered_on,
        summary=summary,
        actor=state.registered_by,
        extra={"dossier": dossier.model_dump(mode="json")},
    )


def decide_resubmit(state: DeAnState, cmd: DeAnResubmit, now: datetime) -> Outcome:
    target = begin(state, Action.RESUBMIT, cmd, None, None, now)
    old, new = state.dossier, cmd.dossier
    for field in ("code", "level", "province", "plan_year"):
        if getattr(old, field) != getattr(new, field):
            raise refuse(
                RefusalCode.INVALID_FIELD,
                f"hồ sơ bổ sung không được đổi {field} ({getattr(old, field)} → "
                f"{getattr(new, field)}); đăng ký đề án mới nếu cần",
                f"dossier.{field}",
            )
    after = fork(state)
    after.dossier = new
    after.stage = target
    return finish(
        state,
        after,
        action=Action.RESUBMIT,
        key=step_key(state, "resubmit", state.returns),
        now=now,
        business_date=vn_date(now),
        summary=f"Nộp lại hồ sơ đã bổ sung (lần {state.returns})",
        actor=cmd.actor,
        command=cmd,
    )
