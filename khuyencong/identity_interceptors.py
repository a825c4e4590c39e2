"""The two ends of proven identity (:mod:`khuyencong.identity`).

- :class:`SigningInterceptor` (client, here): attaches a signed statement to each update that names
  an ``actor`` the caller vouches for (:func:`vouching`): the admin tool after checking the
  official's password, a worker relaying a plan's decision the plan verified.
- :class:`~khuyencong.identity_worker.IdentityInterceptor` (worker, in its own module so that a
  client does not load the worker's half of the SDK): verifies the statement in the update's validator,
  before the workflow's own validator, against the register snapshot the worker keeps in
  memory. Validators never run when a history is replayed, so this check never touches
  determinism, and a refusal here, like any validator's, leaves no event in the history.

The **registration** of a đề án (the start of a ``DeAnWorkflow``) is signed too, for its
input's ``registered_by`` (``upd`` ``register``, no update ID). A start has no validator: the
worker's interceptor only hands the start's statement to the workflow
(``DeAnWorkflow.prove_registration``), whose ``_register`` has it verified by the local
activity ``verify_registration`` (:mod:`activities.identity`), so the verdict is recorded in the
history and a replay reads it instead of judging again.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from temporalio import client as temporal_client
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter

from khuyencong import identity

DE_AN_WORKFLOW = "DeAnWorkflow"
"""The workflow type whose start is a registration (signed for its ``registered_by``)."""
PLAN_WORKFLOW = "KeHoachWorkflow"
"""The workflow type whose start opens a plan (signed for its ``created_by``)."""

_VOUCHED: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "khuyencong_vouched", default=frozenset()
)


@contextlib.contextmanager
def vouching(*official_ids: str) -> Iterator[None]:
    """Within this block, updates sent by a client with a :class:`SigningInterceptor` (and
    starts of ``DeAnWorkflow`` registering a đề án in their name) carry a statement for these
    officials. The caller must have proven who they are."""
    token = _VOUCHED.set(_VOUCHED.get() | frozenset(official_ids))
    try:
        yield
    finally:
        _VOUCHED.reset(token)


def statement_payload(statement: str) -> Payload:
    """The header value: the statement as a JSON string (as ``temporal --headers`` writes
    ``khuyencong_identity="kc1...."``)."""
    return PayloadConverter.default.to_payloads([statement])[0]


class SigningInterceptor(temporal_client.Interceptor):
    """Client interceptor: signs each update whose payload names an actor the current
    context vouches for (or, with ``vouch_all``, every such update: only for a stack of its
    own whose officials are all the caller's, the test harness and ``plan simulate``).
    A start of ``DeAnWorkflow`` (a registration) is signed for its input's ``registered_by``
    when vouched for, bound to the workflow ID and :data:`~khuyencong.identity.REGISTER`,
    whether it is a plain start or the start of an update-with-start (a registration that
    answers once recorded, :mod:`khuyencong.registration`); the update of an update-with-start
    is signed as any update when its payload names an actor.

    An update without an ID gets one here, so the statement can be bound to it."""

    def __init__(
        self,
        key: identity.SigningKey,
        *,
        ttl_seconds: int = identity.DEFAULT_TTL_SECONDS,
        vouch_all: bool = False,
        on_sign: Callable[[tuple[str, str, str | None]], None] | None = None,
        clock: Callable[[], datetime | Awaitable[datetime]] = lambda: datetime.now(UTC),
    ) -> None:
        """``clock``: when statements are issued (a time-skipping test server's clock for a
        harness on one: the workflow judges expiry by its own time)."""
        self.key = key
        self.ttl_seconds = ttl_seconds
        self.vouch_all = vouch_all
        self.on_sign = on_sign
        self.clock = clock

    def intercept_client(
        self, next: temporal_client.OutboundInterceptor
    ) -> temporal_client.OutboundInterceptor:
        return _SigningOutbound(next, self)


def creator_of(args: Any) -> tuple[str, str, str | None] | None:
    """The official who opens a ``KeHoachWorkflow`` (its input's ``created_by``), or None (a
    run continued as new with ``resume``, or no creator)."""
    if not args:
        return None
    first = args[0]
    if isinstance(first, Mapping):
        resume, creator = first.get("resume"), first.get("created_by")
    else:
        resume, creator = getattr(first, "resume", None), getattr(first, "created_by", None)
    if resume is not None:
        return None
    return identity.actor_of([{"actor": creator}])


def registrar_of(args: Any) -> tuple[str, str, str | None] | None:
    """The registering official named by a ``DeAnWorkflow`` start's input (a model or a
    mapping), or None (no input, a run continued as new with ``resume``)."""
    if not args:
        return None
    first = args[0]
    if isinstance(first, Mapping):
        if first.get("resume") is not None:
            return None
        return identity.actor_of([{"actor": first.get("registered_by")}])
    if getattr(first, "resume", None) is not None:
        return None
    return identity.actor_of([{"actor": getattr(first, "registered_by", None)}])


class _SigningOutbound(temporal_client.OutboundInterceptor):
    def __init__(self, next: temporal_client.OutboundInterceptor, root: SigningInterceptor):
        super().__init__(next)
        self._root = root

    def _vouched(self, actor: tuple[str, str, str | None] | None) -> bool:
        return actor is not None and (self._root.vouch_all or actor[0] in _VOUCHED.get())

    async def _now(self) -> datetime:
        now = self._root.clock()
        if inspect.isawaitable(now):
            now = await now
        return now

    async def _signed_start(
        self,
        workflow_type: str,
        args: Any,
        workflow_id: str,
        headers: Mapping[str, Payload],
    ) -> Mapping[str, Payload]:
        """``headers`` with a registration statement, when this start registers a đề án for
        an official the context vouches for (and carries none yet)."""
        if workflow_type == DE_AN_WORKFLOW:
            actor = registrar_of(args)
        elif workflow_type == PLAN_WORKFLOW:
            actor = creator_of(args)
        else:
            actor = None
        root = self._root
        if actor is None or identity.HEADER in headers or not self._vouched(actor):
            return headers
        if root.on_sign is not None:
            root.on_sign(actor)
        statement = identity.sign(
            root.key,
            official_id=actor[0],
            role=actor[1],
            province=actor[2],
            workflow_id=workflow_id,
            update=identity.REGISTER,
            update_id="",
            now=await self._now(),
            ttl_seconds=root.ttl_seconds,
        )
        return {**headers, identity.HEADER: statement_payload(statement)}

    async def _signed_update(
        self,
        workflow_id: str,
        update: str,
        update_id: str | None,
        args: Any,
        headers: Mapping[str, Payload],
    ) -> tuple[str | None, Mapping[str, Payload]]:
        """``(update_id, headers)``: with a statement bound to the update and its ID (one
        made here when there is none) when its payload names an actor vouched for."""
        actor = identity.actor_of(args)
        root = self._root
        if actor is None or identity.HEADER in headers or not self._vouched(actor):
            return update_id, headers
        if update_id is None:
            update_id = str(uuid.uuid4())
        if root.on_sign is not None:
            root.on_sign(actor)
        statement = identity.sign(
            root.key,
            official_id=actor[0],
            role=actor[1],
            province=actor[2],
            workflow_id=workflow_id,
            update=update,
            update_id=update_id,
            now=await self._now(),
            ttl_seconds=root.ttl_seconds,
        )
        return update_id, {**headers, identity.HEADER: statement_payload(statement)}

    async def start_workflow(
        self, input: temporal_client.StartWorkflowInput
    ) -> temporal_client.WorkflowHandle[Any, Any]:
        input.headers = await self._signed_start(
            input.workflow, input.args, input.id, input.headers
        )
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: temporal_client.StartWorkflowUpdateInput
    ) -> temporal_client.WorkflowUpdateHandle[Any]:
        input.update_id, input.headers = await self._signed_update(
            input.id, input.update, input.update_id, input.args, input.headers
        )
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: temporal_client.StartWorkflowUpdateWithStartInput
    ) -> temporal_client.WorkflowUpdateHandle[Any]:
        start, update = input.start_workflow_input, input.update_workflow_input
        start.headers = await self._signed_start(
            start.workflow, start.args, start.id, start.headers
        )
        update.update_id, update.headers = await self._signed_update(
            start.id, update.update, update.update_id, update.args, update.headers
        )
        return await super().start_update_with_start_workflow(input)
