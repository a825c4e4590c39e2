"""Proven identity in the test harness: a signing key and a register snapshot, the check on.

Tests that send updates straight to a đề án (``Driver.act``, plan and backfill helpers) act
as the admin tool *and* the administrator: the clients of ``ts_env`` and ``dev_env`` carry a
:class:`~khuyencong.identity_interceptors.SigningInterceptor` that signs, with
:data:`TEST_IDENTITY_KEY`, every update naming an actor, and enrols that actor in
:data:`HARNESS_REGISTER` (as ``officials add`` would). Every test worker verifies those
statements for real (signature, expiry, bindings, register). The register's PostgreSQL layer
is refreshed from the session database by the ``officials_register`` fixture (the officials
the admin tool and the CLI add). A worker in another process knows only PostgreSQL's
officials: :func:`register_in_database` puts a test's officials there, and
:func:`worker_process_env` gives it the suite's public key.

The same signer signs every start of a ``DeAnWorkflow`` (a registration, ``Driver.register``
and the rest) for its ``registered_by`` and enrols that official too; a test worker verifies it
with the local activity ``verify_registration`` (:func:`harness_verify_registration`) against
the same key and register.

The identity tests themselves use a client without this signer
(:func:`client_without_harness_signer`).
"""

from __future__ import annotations

import base64
import contextvars
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest_asyncio
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)

from khuyencong import identity
from khuyencong.identity import (
    OfficialsRegister,
    RegisteredOfficial,
    SigningKey,
    VerifyKeys,
)
from khuyencong.identity_interceptors import SigningInterceptor, statement_payload
from khuyencong.identity_worker import IdentityInterceptor
from khuyencong.settings import Settings

TEST_IDENTITY_KEY = SigningKey(
    "test-id1", base64.b64decode("q8V3t0eZxI3mN7pQ2wR5yA9bC1dE4fG6hJ8kL0mN2oQ=")
)
"""Signing key of the suite. Committed on purpose: it vouches for test officials only."""

TEST_VERIFY_KEYS = VerifyKeys(((TEST_IDENTITY_KEY.kid, TEST_IDENTITY_KEY.public_bytes),))


class HarnessRegister(OfficialsRegister):
    """The worker's register in tests: the officials the harness enrolled when it signed for
    them (as the test wrote them: a test may move an official to another role), then
    PostgreSQL's (refreshed by the ``officials_register`` fixture)."""

    def __init__(self) -> None:
        super().__init__()
        self._enrolled: dict[str, RegisteredOfficial] = {}

    def enrol(self, actor: tuple[str, str, str | None]) -> None:
        official_id, role, province = actor
        self._enrolled[official_id] = RegisteredOfficial(official_id, role, province, True)

    def get(self, official_id: str) -> RegisteredOfficial | None:
        return self._enrolled.get(official_id) or super().get(official_id)


HARNESS_REGISTER = HarnessRegister()


def harness_signer() -> SigningInterceptor:
    return SigningInterceptor(TEST_IDENTITY_KEY, vouch_all=True, on_sign=HARNESS_REGISTER.enrol)


def harness_verify_registration() -> Any:
    """The local activity ``verify_registration`` of a test worker: the suite's key, the
    harness register (with :class:`~khuyencong.identity_worker.IdentityInterceptor`
    on the same worker, which hands the workflow its start's statement)."""
    from activities.identity import RegistrationIdentityActivities

    return RegistrationIdentityActivities(TEST_VERIFY_KEYS, HARNESS_REGISTER).verify_registration


def harness_identity_interceptor() -> IdentityInterceptor:
    """The worker's identity check as in production, with the suite's key and register."""
    return IdentityInterceptor(TEST_VERIFY_KEYS, HARNESS_REGISTER)


def with_test_identity(settings: Settings) -> Settings:
    """``settings`` as a test worker or CLI process has them: the suite's signing key (its
    public key is then accepted too)."""
    return settings.model_copy(update={"identity_signing_key": _secret(TEST_IDENTITY_KEY)})


def suite_identity_env() -> Mapping[str, str]:
    """The environment variables of a CLI process of the suite."""
    return {"KHUYENCONG_IDENTITY_SIGNING_KEY": TEST_IDENTITY_KEY.render()}


def worker_process_env() -> Mapping[str, str]:
    """The environment a worker process of the suite needs to accept the harness's
    statements."""
    return {"KHUYENCONG_IDENTITY_VERIFY_KEYS": TEST_VERIFY_KEYS.render()}


async def register_in_database(pool: asyncpg.Pool, actors: Iterable[Any]) -> None:
    """Add ``actors`` (``domain.model.Actor``) to the officials register in PostgreSQL (one
    already there is kept), for a worker in another process."""
    from khuyencong.admin.sql import SEED_OFFICIAL

    for a in actors:
        await pool.execute(
            SEED_OFFICIAL, a.official_id, a.full_name, a.organisation, a.role.value, a.province
        )


def _secret(key: SigningKey) -> Any:
    from pydantic import SecretStr

    return SecretStr(key.render())


def client_without_harness_signer(client: Client, interceptors: Iterable[Any] = ()) -> Client:
    """``client``'s connection without the harness's signer (and with ``interceptors``)."""
    config = client.config()
    config["interceptors"] = [
        i for i in config.get("interceptors", []) if not isinstance(i, SigningInterceptor)
    ] + list(interceptors)
    return Client(**config)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def officials_register(db_pool: asyncpg.Pool) -> AsyncIterator[HarnessRegister]:
    """:data:`HARNESS_REGISTER` with its PostgreSQL layer kept fresh from the session
    database, as ``worker.officials_register`` does for a production worker."""
    from worker import officials_register as refreshed

    async with refreshed(db_pool, register=HARNESS_REGISTER):
        yield HARNESS_REGISTER


_INJECT: contextvars.ContextVar[str | None] = contextvars.ContextVar("inject", default=None)


class HeaderInjector(Interceptor):
    """Puts a statement made by hand in the header of the next start or update sent inside
    :func:`injecting` (as a raw ``temporal workflow start|update --headers`` would)."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        def injected(headers: Mapping[str, Payload]) -> Mapping[str, Payload]:
            statement = _INJECT.get()
            if statement is None:
                return headers
            return {**headers, identity.HEADER: statement_payload(statement)}

        class _Outbound(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
                input.headers = injected(input.headers)
                return await super().start_workflow(input)

            async def start_workflow_update(
                self, input: StartWorkflowUpdateInput
            ) -> WorkflowUpdateHandle[Any]:
                input.headers = injected(input.headers)
                return await super().start_workflow_update(input)

        return _Outbound(next)


@contextmanager
def injecting(statement: str) -> Iterator[None]:
    token = _INJECT.set(statement)
    try:
        yield
    finally:
        _INJECT.reset(token)
