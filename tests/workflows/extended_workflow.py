"""The hypothetical action ``record_inspection`` (``tests/workflows/example_actions/``) sent to a
real ``DeAnWorkflow`` on a worker (sandbox, identity interceptor, activities) and written to
PostgreSQL through ``record_step``.

Not collected by the test session (the action is not part of it): run by
``tests/workflows/test_de_an_actions.py`` in a subprocess where the example folder is part of
:mod:`workflows.actions`, with the session's fixtures (``pytest <this file>``).
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.stages import Action, Stage
from tests.support.builders import SO, TRUNG_TAM
from tests.support.lifecycle import Driver, contracted_training, today_of
from tests.workflows.example_actions import MIGRATION
from workflows import de_an_actions as actions

pytestmark = pytest.mark.skipif(
    "record_inspection" not in Action, reason="run with tests/workflows/example_actions"
)


async def test_the_added_action_is_an_update_of_the_workflow_written_by_the_step_activity(
    ts_env: WorkflowEnvironment, tq: str, db_pool: Any
) -> None:
    await db_pool.execute(MIGRATION.read_text(encoding="utf-8"))
    today = await today_of(ts_env)
    d: Driver = await contracted_training(ts_env.client, tq, today)
    definition = actions.definition(Action("record_inspection"))
    fields = {"topic": "An toàn lao động", "inspected_on": today, "minutes_number": "KT-7"}

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await d.act(definition.command(actor=TRUNG_TAM, **fields))
    done = await d.act(definition.command(actor=SO, **fields))

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "WrongAuthority"
    assert done.action is definition.action and done.stage is Stage.IN_PROGRESS
    state = await d.state()
    assert state.timeline[-1].action is definition.action
    code = state.dossier.code
    row = await db_pool.fetchrow("SELECT * FROM inspection WHERE de_an_id = $1", code)
    assert (row["topic"], row["minutes_number"], row["official_id"]) == (
        "An toàn lao động",
        "KT-7",
        SO.official_id,
    )
    event = await db_pool.fetchval(
        "SELECT count(*) FROM de_an_event WHERE de_an_id = $1 AND action = 'record_inspection'",
        code,
    )
    assert event == 1
