"""Sending an action waits out DeAnBusy: also when the update is only started (the SDK keeps a
validator's refusal in the handle it returns instead of raising it from start_update)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.update.v1 import Outcome
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
)
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from domain.errors import RefusalCode
from khuyencong.updates import start_de_an_update


class _Client:
    """What an update handle asks of its client to decode an outcome."""

    data_converter = DataConverter.default
    namespace = "default"


def _refused(code: str) -> Outcome:
    info = ApplicationFailureInfo(type=code, non_retryable=True)
    return Outcome(failure=Failure(message=f"[{code}]", application_failure_info=info))


class _Handle:
    """A workflow handle whose first starts are refused with ``outcomes``, then accepted."""

    def __init__(self, *refusals: Outcome) -> None:
        self.refusals = list(refusals)
        self.starts = 0

    async def start_update(self, update: str, arg: Any, **_: Any) -> WorkflowUpdateHandle[Any]:
        self.starts += 1
        known = self.refusals.pop(0) if self.refusals else None
        client = cast(Client, _Client())
        return WorkflowUpdateHandle(client, f"u-{self.starts}", "de-an/X", known_outcome=known)


async def start(handle: _Handle) -> WorkflowUpdateHandle[Any]:
    return await start_de_an_update(
        cast(WorkflowHandle[Any, Any], handle), "appraise", {}, result_type=dict, patience=5
    )


async def test_a_start_refused_as_busy_is_sent_again_until_accepted() -> None:
    handle = _Handle(_refused(RefusalCode.BUSY), _refused(RefusalCode.BUSY))
    started = await start(handle)
    assert handle.starts == 3
    assert started.id == "u-3"


async def test_a_start_refused_for_another_reason_raises_at_once() -> None:
    handle = _Handle(_refused(RefusalCode.WRONG_STAGE))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await start(handle)
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == RefusalCode.WRONG_STAGE
    assert handle.starts == 1
