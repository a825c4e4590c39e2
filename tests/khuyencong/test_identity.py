"""Proven identity: the worker accepts an official's update only with a valid signed statement
of who they are, checked against the officials register, before anything enters history.

These tests use the dev server (a refused update adds no event there) and a client without
the harness's signer: each statement is made here, by the production signer or by hand.
"""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import HeaderCodecBehavior
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

import worker
from domain.errors import Refusal
from domain.model import Actor, Role
from domain.stages import Stage
from khuyencong import identity
from khuyencong.identity import OfficialsRegister, SigningKey, new_signing_key
from khuyencong.identity_interceptors import SigningInterceptor, vouching
from khuyencong.settings import Settings
from tests.support.builders import BG, dossier_on, official
from tests.support.identity import (
    HeaderInjector,
    client_without_harness_signer,
    injecting,
    register_in_database,
)
from tests.support.lifecycle import Driver, appraisal, today_of
from tests.support.temporal import new_task_queue, suite_data_converter
from tests.support.waiting import until
from workflows.de_an_contract import DeAnActionResult, DeAnAppraise


@dataclasses.dataclass
class Setup:
    client: Client
    key: SigningKey
    task_queue: str
    appraiser: Actor
    centre: Actor
    today: Any
    register: OfficialsRegister


def settings_for(env: WorkflowEnvironment, task_queue: str, **keys: str) -> Settings:
    return Settings.from_env(
        {},
        temporal_address=env.client.service_client.config.target_host,
        task_queue=task_queue,
        **{name: SecretStr(v) if name == "identity_signing_key" else v for name, v in keys.items()},
    )


@asynccontextmanager
async def running(
    env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, client: Client | None = None
) -> AsyncIterator[OfficialsRegister]:
    """The production worker (its identity check, its register refreshed from PostgreSQL)."""
    async with worker.officials_register(pool) as register:
        async with worker.build_worker(client or env.client, pool, settings, register):
            yield register


@pytest.fixture
async def setup(dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool) -> AsyncIterator[Setup]:
    tag = uuid.uuid4().hex[:6].upper()
    appraiser = official(f"ID-SO-{tag}", Role.SO_CONG_THUONG, name="Trần Văn Minh")
    centre = official(f"ID-TT-{tag}", Role.TRUNG_TAM, name="Nguyễn Thị Hà")
    await register_in_database(db_pool, [appraiser, centre])
    key = new_signing_key(f"k-{tag}")
    client = client_without_harness_signer(
        dev_env.client, [SigningInterceptor(key), HeaderInjector()]
    )
    task_queue = new_task_queue()
    settings = settings_for(dev_env, task_queue, identity_signing_key=key.render())
    async with running(dev_env, db_pool, settings) as register:
        today = await today_of(dev_env)
        yield Setup(client, key, task_queue, appraiser, centre, today, register)
    await _end(Driver.started)


async def _end(handles: list[WorkflowHandle[Any, Any]]) -> None:
    while handles:
        handle = handles.pop()
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test finished")


async def registered(s: Setup) -> Driver:
    """A đề án registered by the setup's centre (its start signed for them, as the admin tool
    does after their password)."""
    with vouching(s.centre.official_id):
        d = await Driver.register(
            s.client, s.task_queue, dossier_on(s.today), s.today, registered_by=s.centre
        )
    return await d.idle()


def statement(
    key: SigningKey,
    actor: Actor,
    workflow_id: str,
    update_id: str,
    *,
    update: str = "appraise",
    now: datetime | None = None,
    ttl: int = 300,
) -> str:
    return identity.sign(
        key,
        official_id=actor.official_id,
        role=actor.role.value,
        province=actor.province,
        workflow_id=workflow_id,
        update=update,
        update_id=update_id,
        now=now or datetime.now(UTC),
        ttl_seconds=ttl,
    )


async def history_length(d: Driver) -> int:
    return len((await d.handle.fetch_history()).events)


async def update_accepted_events(d: Driver) -> int:
    events = (await d.handle.fetch_history()).events
    return sum(
        1 for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )


async def refused_before_history(d: Driver, payload: DeAnAppraise, update_id: str) -> str:
    """Send ``appraise``; assert it is refused with nothing written; return the type."""
    before = await history_length(d)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await d.act(payload, update_id=update_id)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.non_retryable
    assert await history_length(d) == before
    assert await update_accepted_events(d) == 0
    assert (await d.state()).stage is Stage.REGISTERED
    details = cause.details[0]
    assert isinstance(details, dict) and details["field"].startswith("actor.")
    assert cause.type is not None
    return cause.type


# --- refusals ----------------------------------------------------------------------------------


async def test_an_update_without_a_statement_is_refused_before_history(setup: Setup) -> None:
    d = await registered(setup)
    update_id = f"u-{uuid.uuid4().hex}"
    kind = await refused_before_history(d, appraisal(setup.appraiser, setup.today), update_id)
    assert kind == "IdentityNotProven"


async def test_a_forged_signature_is_refused_before_history(setup: Setup) -> None:
    d = await registered(setup)
    update_id = f"u-{uuid.uuid4().hex}"
    forger = SigningKey(setup.key.kid, new_signing_key("x").seed)  # the right kid, not the key
    with injecting(statement(forger, setup.appraiser, d.handle.id, update_id)):
        kind = await refused_before_history(d, appraisal(setup.appraiser, setup.today), update_id)
    assert kind == "IdentityNotProven"

    # A genuine statement with its claims edited (another official) fails the same way.
    genuine = statement(setup.key, setup.appraiser, d.handle.id, update_id)
    version, kid, body, signature = genuine.split(".")
    claims = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    edited = base64.urlsafe_b64encode(
        claims.replace(setup.appraiser.official_id, setup.centre.official_id).encode()
    )
    tampered = ".".join([version, kid, edited.decode().rstrip("="), signature])
    with injecting(tampered):
        kind = await refused_before_history(d, appraisal(setup.centre, setup.today), update_id)
    assert kind == "IdentityNotProven"


async def test_an_expired_statement_is_refused_before_history(setup: Setup) -> None:
    d = await registered(setup)
    update_id = f"u-{uuid.uuid4().hex}"
    issued = datetime.now(UTC) - timedelta(minutes=6)
    with injecting(statement(setup.key, setup.appraiser, d.handle.id, update_id, now=issued)):
        kind = await refused_before_history(d, appraisal(setup.appraiser, setup.today), update_id)
    assert kind == "IdentityExpired"


async def test_a_statement_for_another_de_an_is_refused_before_history(setup: Setup) -> None:
    d = await registered(setup)
    other = await registered(setup)
    update_id = f"u-{uuid.uuid4().hex}"
    with injecting(statement(setup.key, setup.appraiser, other.handle.id, update_id)):
        kind = await refused_before_history(d, appraisal(setup.appraiser, setup.today), update_id)
    assert kind == "IdentityMismatch"


async def test_a_statement_for_another_update_or_update_id_is_refused_before_history(
    setup: Setup,
) -> None:
    d = await registered(setup)
    update_id = f"u-{uuid.uuid4().hex}"
    payload = appraisal(setup.appraiser, setup.today)
    with injecting(statement(setup.key, setup.appraiser, d.handle.id, update_id, update="approve")):
        assert await refused_before_history(d, payload, update_id) == "IdentityMismatch"
    with injecting(statement(setup.key, setup.appraiser, d.handle.id, "another-update-id")):
        assert await refused_before_history(d, payload, update_id) == "IdentityMismatch"


async def test_x_statement_naming_y_as_actor_is_refused_before_history(setup: Setup) -> None:
    d = await registered(setup)
    update_id = f"u-{uuid.uuid4().hex}"
    # The centre proves who it is, and writes the Sở's appraiser into the payload.
    with injecting(statement(setup.key, setup.centre, d.handle.id, update_id)):
        kind = await refused_before_history(d, appraisal(setup.appraiser, setup.today), update_id)
    assert kind == "IdentityMismatch"


async def test_an_official_not_in_the_register_is_refused_before_history(setup: Setup) -> None:
    d = await registered(setup)
    update_id = f"u-{uuid.uuid4().hex}"
    fake = official("FAKE-UBND-999", Role.SO_CONG_THUONG, province=BG)
    with injecting(statement(setup.key, fake, d.handle.id, update_id)):
        kind = await refused_before_history(d, appraisal(fake, setup.today), update_id)
    assert kind == "OfficialUnknown"


async def test_a_deactivated_official_is_refused_before_history(
    setup: Setup, db_pool: asyncpg.Pool
) -> None:
    d = await registered(setup)
    # Deactivated in the register only (no signal reaches the đề án): the worker's copy of the
    # register, refreshed at once by NOTIFY, refuses them.
    await db_pool.execute(
        "UPDATE officials SET active = false, deactivated_at = now() WHERE id = $1",
        setup.appraiser.official_id,
    )

    async def seen_by_the_worker() -> bool:
        known = setup.register.get(setup.appraiser.official_id)
        return known is not None and not known.active

    await until(seen_by_the_worker, timeout=10)
    update_id = f"u-{uuid.uuid4().hex}"
    with vouching(setup.appraiser.official_id):
        kind = await refused_before_history(d, appraisal(setup.appraiser, setup.today), update_id)
    assert kind == "InactiveOfficial"
    # the check was the worker's: no signal told the đề án
    assert setup.appraiser.official_id not in (await d.state()).deactivated_officials


async def test_a_role_the_register_does_not_give_is_refused_before_history(
    setup: Setup,
) -> None:
    d = await registered(setup)
    update_id = f"u-{uuid.uuid4().hex}"
    promoted = setup.appraiser.model_copy(update={"role": Role.UBND_TINH})
    with vouching(promoted.official_id):
        kind = await refused_before_history(d, appraisal(promoted, setup.today), update_id)
    assert kind == "IdentityMismatch"


# --- acceptance --------------------------------------------------------------------------------


async def test_a_valid_statement_is_accepted_and_the_update_applied(setup: Setup) -> None:
    d = await registered(setup)
    with vouching(setup.appraiser.official_id):
        result = await d.act(
            appraisal(setup.appraiser, setup.today), update_id=f"u-{uuid.uuid4().hex}"
        )
    assert result.stage is Stage.APPRAISED
    assert await update_accepted_events(d) == 1


async def test_a_statement_made_by_hand_for_the_update_id_is_accepted(setup: Setup) -> None:
    """What an operator does with `khuyencong token` and the Temporal CLI."""
    d = await registered(setup)
    update_id = f"{d.handle.id}:appraise:by-hand"
    with injecting(statement(setup.key, setup.appraiser, d.handle.id, update_id)):
        result = await d.act(appraisal(setup.appraiser, setup.today), update_id)
    assert result.stage is Stage.APPRAISED


# --- keys --------------------------------------------------------------------------------------


async def test_an_old_key_verifies_during_the_overlap_and_is_refused_once_removed(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    appraiser = official(f"ROT-SO-{tag}", Role.SO_CONG_THUONG)
    centre = official(f"ROT-TT-{tag}", Role.TRUNG_TAM)
    await register_in_database(db_pool, [appraiser, centre])
    old, new = new_signing_key(f"old-{tag}"), new_signing_key(f"new-{tag}")
    # The registrations are signed with the new key (vouched for below); updates by hand.
    client = client_without_harness_signer(
        dev_env.client, [SigningInterceptor(new), HeaderInjector()]
    )
    today = await today_of(dev_env)
    task_queue = new_task_queue()
    overlap = settings_for(
        dev_env,
        task_queue,
        identity_signing_key=new.render(),
        identity_verify_keys=old.render_public(),
    )
    after = settings_for(dev_env, task_queue, identity_verify_keys=new.render_public())
    started: list[WorkflowHandle[Any, Any]] = []
    try:
        async with running(dev_env, db_pool, overlap):
            with vouching(centre.official_id):
                first = await (
                    await Driver.register(client, task_queue, dossier_on(today), today, centre)
                ).idle()
                second = await (
                    await Driver.register(client, task_queue, dossier_on(today), today, centre)
                ).idle()
            started += [first.handle, second.handle]
            update_id = f"u-{uuid.uuid4().hex}"
            with injecting(statement(old, appraiser, first.handle.id, update_id)):
                accepted = await first.act(appraisal(appraiser, today), update_id)
            assert accepted.stage is Stage.APPRAISED
        async with running(dev_env, db_pool, after):
            d = Driver(client, second.handle)
            update_id = f"u-{uuid.uuid4().hex}"
            with injecting(statement(old, appraiser, d.handle.id, update_id)):
                kind = await refused_before_history(d, appraisal(appraiser, today), update_id)
            assert kind == "IdentityNotProven"
            update_id = f"u-{uuid.uuid4().hex}"
            with injecting(statement(new, appraiser, d.handle.id, update_id)):
                result = await d.act(appraisal(appraiser, today), update_id)
            assert result.stage is Stage.APPRAISED
    finally:
        await _end(started)
        Driver.started.clear()


async def test_the_statement_is_encrypted_in_history_when_payloads_are(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    appraiser = official(f"ENC-SO-{tag}", Role.SO_CONG_THUONG)
    centre = official(f"ENC-TT-{tag}", Role.TRUNG_TAM)
    await register_in_database(db_pool, [appraiser, centre])
    key = new_signing_key(f"enc-{tag}")
    config = client_without_harness_signer(dev_env.client, [SigningInterceptor(key)]).config()
    config["data_converter"] = suite_data_converter()
    config["header_codec_behavior"] = HeaderCodecBehavior.CODEC  # as khuyencong.client.connect
    client = Client(**config)
    today = await today_of(dev_env)
    task_queue = new_task_queue()
    settings = settings_for(dev_env, task_queue, identity_signing_key=key.render())
    async with running(dev_env, db_pool, settings, client=client):
        with vouching(centre.official_id):
            d = await Driver.register(client, task_queue, dossier_on(today), today, centre)
        try:
            with vouching(appraiser.official_id):
                result: DeAnActionResult = await d.act(appraisal(appraiser, today))
            assert result.stage is Stage.APPRAISED
            events = (await d.handle.fetch_history()).events
            accepted = next(
                e
                for e in events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
            )
            header = accepted.workflow_execution_update_accepted_event_attributes.accepted_request
            stored = header.input.header.fields[identity.HEADER]
            assert stored.metadata["encoding"] == b"binary/encrypted"
            assert b"kc1." not in stored.data
            # and so is the registration's, in the start event
            started = events[0].workflow_execution_started_event_attributes
            at_start = started.header.fields[identity.HEADER]
            assert at_start.metadata["encoding"] == b"binary/encrypted"
            assert b"kc1." not in at_start.data
        finally:
            await _end([d.handle])
            Driver.started.clear()


# --- the statement itself ----------------------------------------------------------------------


def test_a_statement_lasting_longer_than_the_maximum_is_refused() -> None:
    key = new_signing_key("k")
    actor = official("SO-1", Role.SO_CONG_THUONG)
    now = datetime.now(UTC)
    token = statement(key, actor, "de-an/X", "u1", ttl=300)
    keys = identity.VerifyKeys(((key.kid, key.public_bytes),))
    register = identity.OfficialsRegister(
        [identity.RegisteredOfficial(actor.official_id, actor.role.value, actor.province, True)]
    )
    fields = (actor.official_id, actor.role.value, actor.province)
    claims = identity.verify(
        token,
        keys=keys,
        register=register,
        now=now,
        workflow_id="de-an/X",
        update="appraise",
        update_id="u1",
        actor=fields,
    )
    assert claims.exp - claims.iat == 300
    # A signer asked for a day gets the maximum; a statement claiming more is refused.
    assert identity.sign(
        key,
        official_id="a",
        role="cuc",
        province=None,
        workflow_id="w",
        update="u",
        update_id="i",
        now=now,
        ttl_seconds=86_400,
    )
    with pytest.raises(Refusal) as refused:
        identity.verify(
            token,
            keys=keys,
            register=register,
            now=now + timedelta(seconds=301),
            workflow_id="de-an/X",
            update="appraise",
            update_id="u1",
            actor=fields,
        )
    assert refused.value.code == "IdentityExpired"
    assert "actor.official_id" == refused.value.field


def test_keys_are_never_shown_and_a_bad_key_names_its_variable() -> None:
    key = new_signing_key("k1")
    assert key.render().split(":")[1] not in repr(key)
    with pytest.raises(identity.IdentityKeyError) as bad:
        identity.SigningKey.parse("k1:bm90LWEta2V5")
    assert "KHUYENCONG_IDENTITY_SIGNING_KEY" in str(bad.value)
