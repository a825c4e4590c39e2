"""A field added by a newer worker or client does not break an older one: what Temporal
carries ignores fields it does not know (files people type still refuse them:
tests/domain/test_strict.py)."""

from __future__ import annotations

import json
from typing import Any

from temporalio.testing import WorkflowEnvironment

from domain.stages import Action, Stage
from tests.support.builders import SO, UBND, dossier_on
from tests.support.lifecycle import Driver, today_of
from workflows.de_an_contract import DeAnActionResult, DeAnAppraise, DeAnApprove


def newer(command: DeAnAppraise | DeAnApprove, **added: Any) -> dict[str, Any]:
    """``command`` as JSON, as a newer client would send it: with fields this code lacks,
    at the top and inside the actor."""
    wire: dict[str, Any] = json.loads(command.model_dump_json())
    wire["actor"]["badge_number"] = "SCT-0042"
    return wire | added


async def test_an_update_carrying_fields_this_worker_does_not_know_is_accepted(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    dossier = dossier_on(today)
    d = await Driver.register(ts_env.client, tq, dossier, today)
    appraise = DeAnAppraise(actor=SO, verdict="pass", appraised_on=today, minutes_number="BB-01")

    appraised = await d.handle.execute_update(
        Action.APPRAISE.value,
        newer(appraise, council_members=["Ông A", "Bà B"], signed_digitally=True),
        result_type=DeAnActionResult,
    )
    approve = DeAnApprove(
        actor=UBND,
        decision_number="427/QĐ-UBND",
        decision_date=today,
        signer=UBND.full_name,
        approved_support=dossier.requested_support,
    )
    approved = await d.handle.execute_update(
        Action.APPROVE.value,
        newer(approve, co_signer="Phó Chủ tịch"),
        result_type=DeAnActionResult,
    )

    assert (appraised.stage, approved.stage) == (Stage.APPRAISED, Stage.APPROVED)
    state = await d.state()
    assert state.stage is Stage.APPROVED
    assert state.approved_support == dossier.requested_support
