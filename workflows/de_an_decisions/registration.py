"""Registration of a đề án and the resubmission of a returned dossier."""

from __future__ import annotations

from datetime import date, datetime

from domain.authority import check_authority
from domain.deadlines import vn_date
from domain.errors import RefusalCode
from domain.model import Actor, DeAnDossier
from domain.money import format_dong
from domain.rules import RulePack, shared
from domain.stages import Action, Stage
from workflows.de_an_contract import DeAnInput, DeAnResubmit, DeAnState, keep_recent
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
        rule_packs=shared(packs),
        budget_year=dossier.plan_year,
    )


def resumed_state(input: DeAnInput) -> DeAnState:
    """The state a run continued as new starts from, with its rule packs: from
    ``input.rule_packs`` (:func:`continued_input`), or, in a payload written before issue 14,
    from the state itself (both shapes load)."""
    state = input.resume
    assert state is not None, "a new đề án starts from initial_state"
    state.rule_packs = shared(input.rule_packs or state.rule_packs)
    keep_recent(state.timeline)  # a run continued before the timeline was bounded
    if state.deadline_rules is None and state.rule_pack_id is not None:
        fixed = next((p for p in state.rule_packs if p.id == state.rule_pack_id), None)
        state.deadline_rules = fixed.deadlines if fixed is not None else None
    return state


def continued_input(state: DeAnState, history_event_limit: int | None) -> DeAnInput:
    """What a run passes to the next when it continues as new: the state, and beside it the
    rule packs the state no longer serializes."""
    return DeAnInput(
        dossier=state.dossier,
        registered_by=state.registered_by,
        rule_packs=state.rule_packs,
        resume=state,
        history_event_limit=history_event_limit,
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
