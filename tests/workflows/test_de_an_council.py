"""An appraisal through a council records its members and their declarations; a member tied
to the beneficiary is refused (``ConflictOfInterest``) and nothing changes."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.councils import CouncilMember
from tests.support.builders import SO, dossier_on
from tests.support.lifecycle import Driver, appraisal, today_of

CHAIR = CouncilMember(full_name="Ngô Văn Sơn", organisation="Sở Công Thương", position="Chủ tịch")


async def test_a_council_with_a_member_tied_to_the_beneficiary_cannot_appraise(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    today = await today_of(ts_env)
    dossier = dossier_on(today)
    d = await Driver.register(ts_env.client, tq, dossier, today)
    tied = CouncilMember(
        full_name="Đinh Văn Lợi",
        organisation="Công ty TNHH Lợi Phát",
        tax_code=dossier.beneficiary.tax_code,
    )

    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await d.act(appraisal(SO, today).model_copy(update={"council": [CHAIR, tied]}))
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ConflictOfInterest"
    assert "Đinh Văn Lợi" in cause.message

    clean = appraisal(SO, today).model_copy(update={"council": [CHAIR], "by_council": True})
    await d.act(clean)
    state = await d.state()
    assert "hội đồng 1 thành viên: Ngô Văn Sơn" in state.timeline[-1].summary
