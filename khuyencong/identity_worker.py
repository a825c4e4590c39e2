"""The worker's end of proven identity: :class:`IdentityInterceptor` verifies the statement an
update carries (see :mod:`khuyencong.identity_interceptors` for the client's end and the
registration's path). Passed through the workflow sandbox (``worker.SANDBOX``)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from domain.errors import Refusal
from khuyencong import identity


class IdentityInterceptor(Interceptor):
    """Worker interceptor: an update that names an ``actor`` is accepted only with a valid
    statement of that actor's identity (see :func:`khuyencong.identity.verify`).

    ``keys`` and ``register`` are reached by closure from inside the workflow sandbox (the
    module is passed through): the register is the worker's in-memory snapshot, so the check
    does no I/O in the workflow."""

    def __init__(self, keys: identity.VerifyKeys, register: identity.OfficialsRegister) -> None:
        self.keys = keys
        self.register = register

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        keys, register = self.keys, self.register

        class _Inbound(WorkflowInboundInterceptor):
            async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
                # The start's statement (a registration), handed to the workflow, which has
                # it verified by a local activity whose verdict enters the history. Nothing
                # is judged here: this runs again, identically, on every replay.
                receive = getattr(workflow.instance(), "prove_registration", None)
                if callable(receive):
                    receive(identity.statement_from_payload(input.headers.get(identity.HEADER)))
                return await super().execute_workflow(input)

            def handle_update_validator(self, input: HandleUpdateInput) -> None:
                actor = identity.actor_of(input.args)
                if actor is not None:
                    # Validators never run on replay: this check (and the register it reads)
                    # cannot make a history replay differently.
                    info = workflow.info()
                    try:
                        identity.verify(
                            identity.statement_from_payload(input.headers.get(identity.HEADER)),
                            keys=keys,
                            register=register,
                            now=workflow.now(),
                            workflow_id=info.workflow_id,
                            update=input.update,
                            update_id=input.id,
                            actor=actor,
                        )
                    except Refusal as refusal:
                        raise ApplicationError(
                            str(refusal),
                            refusal.as_details(),
                            type=refusal.code,
                            non_retryable=True,
                        ) from None
                super().handle_update_validator(input)

        return _Inbound
