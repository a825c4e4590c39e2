"""Proven registration: a ``DeAnWorkflow`` starts only for the official who proves, with a
signed statement in its start's header, that they are its ``registered_by``, an active Trung tâm
of the dossier's province in the officials register.

The production worker (its register refreshed from PostgreSQL) on the dev server, and a client
without the harness's signer: each start's statement is made here, by the production signer
(:func:`vouching`) or by hand. A refused start fails its workflow with the typed refusal before
anything reaches PostgreSQL, and the code can then be registered properly (the admin tool's
``ALLOW_DUPLICATE_FAILED_ONLY``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.model import Actor, DeAnDossier, Role, workflow_id_for
from domain.stages import Stage
from khuyencong import identity
from khuyencong.converter import data_converter
from khuyencong.identity import SigningKey, new_signing_key
from khuyencong.identity_interceptors import SigningInterceptor, vouching
from tests.khuyencong.test_identity import running, settings_for
from tests.support.builders import BG, dossier_on, official
from tests.support.identity import (
    HeaderInjector,
    client_without_harness_signer,
    injecting,
    register_in_database,
)
from tests.support.lifecycle import today_of
from tests.support.temporal import new_task_queue
from tests.support.waiting import until
from workflows.de_an import LOCAL_WRITES_PATCH, DeAnWorkflow
from workflows.de_an_contract import DeAnInput, DeAnState


@dataclasses.dataclass
class Setup:
    client: Client
    key: SigningKey
    task_queue: str
    centre: Actor
    today: date
    pool: asyncpg.Pool
    started: list[WorkflowHandle[Any, Any]]


@pytest.fixture
async def setup(dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool) -> AsyncIterator[Setup]:
    tag = uuid.uuid4().hex[:6].upper()
    centre = official(f"REG-TT-{tag}", Role.TRUNG_TAM, name="Nguyễn Thị Hà")
    await register_in_database(db_pool, [centre])
    key = new_signing_key(f"r-{tag}")
    # The signer signs only what a test vouches for; the tests that inject a statement made
    # by hand vouch for nobody.
    client = client_without_harness_signer(
        dev_env.client, [SigningInterceptor(key), HeaderInjector()]
    )
    task_queue = new_task_queue()
    settings = settings_for(dev_env, task_queue, identity_signing_key=key.render())
    started: list[WorkflowHandle[Any, Any]] = []
    async with running(dev_env, db_pool, settings):
        s = Setup(client, key, task_queue, centre, await today_of(dev_env), db_pool, started)
        yield s
    for wid in {h.id for h in started}:
        handle = dev_env.client.get_workflow_handle(wid)
        with contextlib.suppress(RPCError):
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


def statement(
    key: SigningKey, actor: Actor, workflow_id: str, *, update: str = identity.REGISTER
) -> str:
    return identity.sign(
        key,
        official_id=actor.official_id,
        role=actor.role.value,
        province=actor.province,
        workflow_id=workflow_id,
        update=update,
        update_id="",
        now=datetime.now(UTC),
    )


async def start(s: Setup, dossier: DeAnDossier, registered_by: Actor) -> WorkflowHandle[Any, Any]:
    """Start the đề án as the admin tool does (a failed code may be started again)."""
    handle: WorkflowHandle[Any, Any] = await s.client.start_workflow(
        DeAnWorkflow.run,
        DeAnInput(dossier=dossier, registered_by=registered_by, registered_on=s.today),
        id=workflow_id_for(dossier.code),
        task_queue=s.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    s.started.append(handle)
    return handle


async def refused(s: Setup, handle: WorkflowHandle[Any, Any], code: str) -> ApplicationError:
    """The workflow failed with the typed refusal ``code`` and PostgreSQL has nothing of it."""
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == code, cause
    assert cause.non_retryable
    details = cause.details[0]
    assert isinstance(details, dict) and details["field"].startswith("registered_by.")
    assert (
        await s.pool.fetchval("SELECT count(*) FROM de_an WHERE workflow_id = $1", handle.id) == 0
    )
    assert (
        await s.pool.fetchval(
            "SELECT count(*) FROM de_an_event WHERE de_an_id = $1", code_of(handle)
        )
        == 0
    )
    # Nothing but the identity check ran: no activity was scheduled.
    events = (await handle.fetch_history()).events
    assert not any(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in events)
    return cause


def code_of(handle: WorkflowHandle[Any, Any]) -> str:
    return handle.id.removeprefix("de-an/")


async def registered_properly(s: Setup, dossier: DeAnDossier) -> None:
    """The same code, started again by its centre with a valid statement, registers."""
    with vouching(s.centre.official_id):
        handle = await start(s, dossier, s.centre)

    async def recorded() -> bool:
        return bool(
            await s.pool.fetchval("SELECT count(*) FROM de_an WHERE workflow_id = $1", handle.id)
        )

    await until(recorded, timeout=15)
    state: DeAnState = await handle.query(DeAnWorkflow.state)
    assert state.stage is Stage.REGISTERED
    assert state.registered_by.official_id == s.centre.official_id


# --- refusals ----------------------------------------------------------------------------------


async def test_a_start_without_a_statement_fails_as_not_proven_and_the_code_stays_free(
    setup: Setup,
) -> None:
    dossier = dossier_on(setup.today)
    handle = await start(setup, dossier, setup.centre)  # nobody vouches: no statement
    await refused(setup, handle, "IdentityNotProven")
    await registered_properly(setup, dossier)


async def test_a_forged_statement_fails_as_not_proven(setup: Setup) -> None:
    dossier = dossier_on(setup.today)
    forger = SigningKey(setup.key.kid, new_signing_key("x").seed)  # the right kid, not the key
    with injecting(statement(forger, setup.centre, workflow_id_for(dossier.code))):
        handle = await start(setup, dossier, setup.centre)
    await refused(setup, handle, "IdentityNotProven")
    await registered_properly(setup, dossier)


async def test_a_statement_for_another_workflow_or_action_fails_as_a_mismatch(
    setup: Setup,
) -> None:
    dossier = dossier_on(setup.today)
    other = workflow_id_for(dossier_on(setup.today).code)
    with injecting(statement(setup.key, setup.centre, other)):
        handle = await start(setup, dossier, setup.centre)
    await refused(setup, handle, "IdentityMismatch")
    # a statement for an update of this very đề án is not one for its registration
    wid = workflow_id_for(dossier.code)
    with injecting(statement(setup.key, setup.centre, wid, update="resubmit")):
        handle = await start(setup, dossier, setup.centre)
    await refused(setup, handle, "IdentityMismatch")
    await registered_properly(setup, dossier)


async def test_a_statement_of_one_official_naming_another_as_registrar_fails_as_a_mismatch(
    setup: Setup, db_pool: asyncpg.Pool
) -> None:
    other = official(f"REG-TT2-{uuid.uuid4().hex[:6].upper()}", Role.TRUNG_TAM)
    await register_in_database(db_pool, [other])
    dossier = dossier_on(setup.today)
    with injecting(statement(setup.key, other, workflow_id_for(dossier.code))):
        handle = await start(setup, dossier, setup.centre)
    await refused(setup, handle, "IdentityMismatch")


async def test_a_start_naming_an_unknown_official_fails_as_unknown(setup: Setup) -> None:
    dossier = dossier_on(setup.today)
    fake = official(f"FAKE-TT-{uuid.uuid4().hex[:6]}", Role.TRUNG_TAM, province=BG)
    with vouching(fake.official_id):  # a valid signature: the register does not know them
        handle = await start(setup, dossier, fake)
    await refused(setup, handle, "OfficialUnknown")
    await registered_properly(setup, dossier)


async def test_a_start_naming_a_deactivated_official_fails_as_inactive(
    setup: Setup, db_pool: asyncpg.Pool
) -> None:
    gone = official(f"GONE-TT-{uuid.uuid4().hex[:6].upper()}", Role.TRUNG_TAM)
    await register_in_database(db_pool, [gone])
    await db_pool.execute(
        "UPDATE officials SET active = false, deactivated_at = now() WHERE id = $1",
        gone.official_id,
    )
    dossier = dossier_on(setup.today)
    with vouching(gone.official_id):
        handle = await start(setup, dossier, gone)
    await refused(setup, handle, "InactiveOfficial")
    await registered_properly(setup, dossier)


async def test_a_start_by_a_so_official_fails_as_wrong_authority(
    setup: Setup, db_pool: asyncpg.Pool
) -> None:
    so = official(f"REG-SO-{uuid.uuid4().hex[:6].upper()}", Role.SO_CONG_THUONG)
    await register_in_database(db_pool, [so])
    dossier = dossier_on(setup.today)
    with vouching(so.official_id):
        handle = await start(setup, dossier, so)
    await refused(setup, handle, "WrongAuthority")
    await registered_properly(setup, dossier)


async def test_a_start_by_another_provinces_centre_fails_as_wrong_jurisdiction(
    setup: Setup, db_pool: asyncpg.Pool
) -> None:
    bac_ninh = official(
        f"REG-TT-BN-{uuid.uuid4().hex[:6].upper()}", Role.TRUNG_TAM, province="Bắc Ninh"
    )
    await register_in_database(db_pool, [bac_ninh])
    dossier = dossier_on(setup.today)  # Bắc Giang
    with vouching(bac_ninh.official_id):
        handle = await start(setup, dossier, bac_ninh)
    await refused(setup, handle, "WrongJurisdiction")
    await registered_properly(setup, dossier)


# --- acceptance and replay ---------------------------------------------------------------------


async def test_a_valid_start_registers_and_records_the_check_in_history(setup: Setup) -> None:
    dossier = dossier_on(setup.today)
    await registered_properly(setup, dossier)
    events = (
        await setup.client.get_workflow_handle(workflow_id_for(dossier.code)).fetch_history()
    ).events
    markers = [e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    names = [m.marker_recorded_event_attributes.marker_name for m in markers]
    # the lean path's patch as the run starts (it implies the identity patch), then the check
    assert names[:2] == ["core_patch", "core_local_activity"]
    assert LOCAL_WRITES_PATCH.encode() in markers[0].SerializeToString()


async def test_a_statement_made_by_hand_for_the_registration_is_accepted(setup: Setup) -> None:
    """What an operator does with `khuyencong token --action register` and `temporal workflow
    start --headers`."""
    dossier = dossier_on(setup.today)
    with injecting(statement(setup.key, setup.centre, workflow_id_for(dossier.code))):
        handle = await start(setup, dossier, setup.centre)
    state: DeAnState = await handle.query(DeAnWorkflow.state)

    async def recorded() -> bool:
        return bool(
            await setup.pool.fetchval(
                "SELECT count(*) FROM de_an WHERE workflow_id = $1", handle.id
            )
        )

    await until(recorded, timeout=15)
    state = await handle.query(DeAnWorkflow.state)
    assert state.stage is Stage.REGISTERED


async def test_the_history_of_a_refused_start_replays(setup: Setup) -> None:
    dossier = dossier_on(setup.today)
    fake = official(f"FAKE-TT-{uuid.uuid4().hex[:6]}", Role.TRUNG_TAM, province=BG)
    with vouching(fake.official_id):
        handle = await start(setup, dossier, fake)
    await refused(setup, handle, "OfficialUnknown")
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert identity.HEADER in started.header.fields  # the statement came with the start
    result = await Replayer(
        workflows=[DeAnWorkflow], data_converter=data_converter
    ).replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
    # the replayer has no interceptor, no register, no keys: it read the recorded verdict
    markers = [
        e.marker_recorded_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    # the lean path's patch (it implies the check), then the check and the two reads it ran
    # beside (rule packs, deactivated officials); nothing written
    assert [m.marker_name for m in markers] == ["core_patch"] + ["core_local_activity"] * 3
    assert LOCAL_WRITES_PATCH.encode() in markers[0].SerializeToString()
    assert not any(b"record_step" in m.SerializeToString() for m in markers)
