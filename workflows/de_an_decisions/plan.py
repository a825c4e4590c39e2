"""The plan that approved a đề án: what an adjustment changes in its envelope, what it
is told when the đề án finishes, and how its answers read as the đề án's refusals."""

from __future__ import annotations

from domain.errors import Refusal, RefusalCode
from domain.stages import Stage
from workflows.de_an_contract import DeAnAdjust, DeAnCommand, DeAnState
from workflows.plan_contract import PlanCommitmentChange, PlanDeAnFinished

PLAN_FINAL_STAGES = frozenset({Stage.SETTLED, Stage.CLOSED})


def plan_commitment_change(
    before: DeAnState, after: DeAnState, command: DeAnCommand
) -> PlanCommitmentChange | None:
    """The change an adjustment makes to the commitment in the plan's envelope, or None (no
    plan, or the support did not move). The plan must accept it before the step is applied."""
    if before.plan_id is None or not isinstance(command, DeAnAdjust):
        return None
    if after.approved_support == before.approved_support:
        return None
    return PlanCommitmentChange(
        code=before.dossier.code,
        decision_number=command.decision_number,
        decision_date=command.decision_date,
        new_support=after.approved_support,
        actor=command.actor,
    )


def plan_finished_notice(before: DeAnState, after: DeAnState) -> PlanDeAnFinished | None:
    """What the plan is told when the đề án first reaches settled or closed: the support it
    finally receives (its settlement, or what was paid out if it closed without one)."""
    if after.plan_id is None or before.stage in PLAN_FINAL_STAGES:
        return None
    if after.stage not in PLAN_FINAL_STAGES:
        return None
    final = after.settlement.final_support if after.settlement is not None else after.paid
    return PlanDeAnFinished(code=after.dossier.code, stage=after.stage, final_support=final)


PLAN_UNAVAILABLE = RefusalCode.PLAN_UNAVAILABLE


def decision_refusal(cause: object) -> Refusal | None:
    """The decision register's refusal, carried by the failure of the step's activity (an
    application error typed ``DecisionNumberReused`` whose first detail is the refusal's
    details); None for any other failure."""
    if getattr(cause, "type", None) != RefusalCode.DECISION_NUMBER_REUSED:
        return None
    details = getattr(cause, "details", ()) or ()
    info = details[0] if details and isinstance(details[0], dict) else {}
    return Refusal(
        RefusalCode.DECISION_NUMBER_REUSED,
        str(info.get("message") or getattr(cause, "message", "") or cause),
        info.get("field"),
        info.get("legal_basis"),
    )


def plan_refusal(
    change: PlanCommitmentChange,
    before: DeAnState,
    code: str | None,
    message: str,
    field: str | None,
    basis: str | None,
) -> Refusal | None:
    """The plan's refusal of a commitment change, as the đề án's refusal of the adjustment; or
    None when it does not bind: a plan whose year has ended holds no envelope to protect, so a
    cut goes through (a raise does not: there is no budget left to raise it from)."""
    if code == RefusalCode.PLAN_CLOSED and change.new_support < before.approved_support:
        return None
    return Refusal(code or RefusalCode.PLAN_REFUSED, message, field or "new_support", basis)
