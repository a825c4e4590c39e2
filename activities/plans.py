"""Activities of ``KeHoachWorkflow``: PostgreSQL writes and reads (through the repository
:mod:`db.plans`, idempotent by business keys, one transaction per write), and the Temporal
client calls the plan makes to its đề án.

The decision is sent from an activity because a workflow cannot catch a client error: each
đề án answers its ``approve`` / ``reject`` update with its own verdict, and a refusal
(``WorkflowUpdateFailedError``) is returned as data with the rule's type and message. The
update ID is ``{code}:{verdict}:{decision_number}``, so a retried activity applies nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from db import plans as plans_db
from db.plans import PlanItemRow
from domain.errors import RefusalCode
from domain.model import workflow_id_for
from khuyencong.identity_interceptors import vouching
from khuyencong.registration import RegistrationEntry, register_all
from khuyencong.updates import execute_de_an_update
from workflows.de_an_contract import DeAnActionResult, DeAnApprove, DeAnReject
from workflows.plan_contract import (
    CheckpointRecord,
    ItemObservation,
    PlanCommitmentAnswer,
    PlanCommitmentChange,
    PlanCommitmentRequest,
    PlanCommitmentResult,
    PlanRow,
    ReadItemsRequest,
    RecordCommitmentRequest,
    RecordDecisionRequest,
    RecordReleaseRequest,
    RegisterVerdict,
    SendDecisionRequest,
    SendOrder,
    SendResult,
    StartDeAnRequest,
    Verdict,
)

SEND_CONCURRENCY = 8


def update_id(code: str, verdict: Verdict, decision_number: str) -> str:
    return f"{code}:{verdict.value}:{decision_number}"


def commitment_update_id(change: PlanCommitmentChange, attempt_of: str) -> str:
    """One ID per activity (the same across its retries, so a lost answer is not applied
    twice); a new attempt of the đề án's adjustment is judged afresh, not answered with a
    refusal Temporal kept for the old ID. The plan itself applies a decision once."""
    return f"{change.code}:commitment:{change.decision_number}:{attempt_of}"


UPDATE_LOST_AT_CLOSE = frozenset({"AcceptedUpdateCompletedWorkflow"})
"""The server's failure of an update accepted just before the plan's run completed."""


def plan_closed(plan_id: str) -> PlanCommitmentAnswer:
    return PlanCommitmentAnswer(
        ok=False,
        error_type=RefusalCode.PLAN_CLOSED,
        message=f"kế hoạch {plan_id} đã kết thúc, không nhận điều chỉnh kinh phí",
    )


class PlanActivities:
    """The plan's activities. ``client`` sends the decisions and starts the đề án (on the task
    queue the activity runs on: the worker that runs the plan also runs its đề án)."""

    def __init__(self, pool: Any, client: Client, *, hash_key: bytes | None = None) -> None:
        self._pool = pool
        self._client = client
        self._hash_key = hash_key  # KcTaxCodeHash of the đề án a plan registers

    def all(self) -> list[Any]:
        """Every activity of the plan, for ``Worker(activities=...)``."""
        return [
            self.record_plan,
            self.start_plan_de_an,
            self.send_plan_decision,
            self.record_plan_decision,
            self.read_plan_items,
            self.record_plan_checkpoint,
            self.record_plan_commitment,
            self.record_plan_release,
            self.change_plan_commitment,
        ]

    @activity.defn
    async def record_plan(self, row: PlanRow) -> bool:
        return await plans_db.insert_plan(self._pool, row)

    @activity.defn
    async def start_plan_de_an(self, request: StartDeAnRequest) -> list[RegisterVerdict]:
        """Start one ``DeAnWorkflow`` per entry (an existing one is left alone), then record
        the plan's items."""
        entries = [
            RegistrationEntry(
                dossier=e.dossier, registered_by=e.registered_by, registered_on=e.registered_on
            )
            for e in request.entries
        ]
        report = await register_all(
            self._client, activity.info().task_queue, entries, hash_key=self._hash_key
        )
        failed = report.problems  # a failed start, or a code registered with another dossier
        duplicate = dict(report.duplicate)
        verdicts: list[RegisterVerdict] = []
        accepted = []
        for entry in entries:
            wid = entry.workflow_id
            if wid in failed:
                verdicts.append(
                    RegisterVerdict(
                        code=entry.dossier.code,
                        accepted=False,
                        error_type="Duplicate" if wid in duplicate else "StartFailed",
                        message=failed[wid],
                    )
                )
                continue
            verdicts.append(
                RegisterVerdict(
                    code=entry.dossier.code,
                    accepted=True,
                    workflow_id=wid,
                    already=wid in report.existing,
                    message="đã có" if wid in report.existing else "đã khởi tạo",
                )
            )
            accepted.append(entry)
        items = [
            PlanItemRow(
                de_an_id=d.code,
                plan_id=request.plan_id,
                plan_year=d.plan_year,
                requested_support=d.requested_support,
                counterpart_funds=d.counterpart_funds,
                total_cost=d.total_cost,
            )
            for d in (entry.dossier for entry in accepted)
        ]
        async with self._pool.acquire() as conn, conn.transaction():
            await plans_db.insert_plan_items(conn, items)
        return verdicts

    @activity.defn
    async def send_plan_decision(self, request: SendDecisionRequest) -> list[SendResult]:
        """Send the decision to each đề án; heartbeats carry the answers so far, so a retried
        attempt resumes instead of starting over (resending would be harmless anyway)."""
        details = activity.info().heartbeat_details
        done: dict[str, SendResult] = {}
        if details:
            try:
                for item in details[0]:
                    result = SendResult.model_validate(item)
                    done[result.code] = result
            except Exception:  # unreadable details: start over, the update IDs dedupe
                done = {}
        semaphore = asyncio.Semaphore(SEND_CONCURRENCY)

        async def send(order: SendOrder) -> SendResult:
            if order.code in done:
                return done[order.code]
            async with semaphore:
                result = await self._send_one(request, order)
            done[order.code] = result
            activity.heartbeat([r.model_dump(mode="json") for r in done.values()])
            return result

        return list(await asyncio.gather(*(send(o) for o in request.orders)))

    async def _send_one(self, request: SendDecisionRequest, order: SendOrder) -> SendResult:
        handle = self._client.get_workflow_handle(workflow_id_for(order.code))
        command: DeAnApprove | DeAnReject
        if order.verdict is Verdict.APPROVE:
            command = DeAnApprove(
                actor=request.actor,
                decision_number=request.decision_number,
                decision_date=request.decision_date,
                signer=request.signer,
                approved_support=order.approved_support,
                note=f"Kế hoạch {request.plan_id}",
                plan_id=request.plan_id,
            )
        else:
            command = DeAnReject(
                actor=request.actor,
                decision_number=request.decision_number,
                decision_date=request.decision_date,
                reason=order.reason or "Không được chọn vào kế hoạch",
                note=f"Kế hoạch {request.plan_id}",
            )
        try:
            # The plan accepted this decision only with a valid statement of its official's
            # identity (the worker's identity check): the worker relays it, signing for that
            # official with its own key (KHUYENCONG_IDENTITY_SIGNING_KEY).
            with vouching(request.actor.official_id):
                answer = await execute_de_an_update(
                    handle,
                    order.verdict.value,
                    command,
                    id=update_id(order.code, order.verdict, request.decision_number),
                    result_type=DeAnActionResult,
                )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError):
                return SendResult(
                    code=order.code,
                    verdict=order.verdict,
                    ok=False,
                    error_type=cause.type,
                    message=cause.message,
                )
            return SendResult(
                code=order.code,
                verdict=order.verdict,
                ok=False,
                error_type=type(cause).__name__,
                message=str(cause),
            )
        except RPCError as exc:
            # Any other RPC failure may hide an update that was applied (a lost answer): re-raise
            # so the activity retries; the update ID makes the resend apply at most once.
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
            # The đề án does not exist or has already closed: an answer, not a transient error.
            return SendResult(
                code=order.code,
                verdict=order.verdict,
                ok=False,
                error_type="DeAnUnavailable",
                message=f"{exc.status.name}: {exc.message}",
            )
        return SendResult(
            code=order.code,
            verdict=order.verdict,
            ok=True,
            approved_support=answer.approved_support,
            message=answer.message,
        )

    @activity.defn
    async def record_plan_decision(self, request: RecordDecisionRequest) -> bool:
        return await plans_db.record_decision(self._pool, request)

    @activity.defn
    async def read_plan_items(self, request: ReadItemsRequest) -> list[ItemObservation]:
        return await plans_db.read_items(self._pool, request.codes)

    @activity.defn
    async def record_plan_checkpoint(self, record: CheckpointRecord) -> bool:
        return await plans_db.record_checkpoint(self._pool, record)

    @activity.defn
    async def record_plan_commitment(self, request: RecordCommitmentRequest) -> bool:
        return await plans_db.insert_commitment_change(self._pool, request)

    @activity.defn
    async def record_plan_release(self, request: RecordReleaseRequest) -> bool:
        return await plans_db.insert_release(self._pool, request)

    @activity.defn
    async def change_plan_commitment(self, request: PlanCommitmentRequest) -> PlanCommitmentAnswer:
        """Called by a đề án's ``adjust`` handler: send ``change_commitment`` to its plan.

        A refusal is returned as data (the đề án turns it into its own refusal). The update ID
        is built from the đề án and the adjustment decision, so a retry changes nothing twice.
        A plan that no longer runs (its year is over) cannot hold a raise."""
        change = request.change
        info = activity.info()
        handle = self._client.get_workflow_handle(request.plan_id)
        # The đề án accepted the adjustment only from a verified official: the worker relays it
        # signing for them (a change without one is refused by the plan's validator).
        vouched = vouching(change.actor.official_id) if change.actor else contextlib.nullcontext()
        try:
            with vouched:
                result = await handle.execute_update(
                    "change_commitment",
                    change,
                    id=commitment_update_id(change, f"{info.workflow_run_id}:{info.activity_id}"),
                    result_type=PlanCommitmentResult,
                )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type in UPDATE_LOST_AT_CLOSE:
                return plan_closed(request.plan_id)
            if isinstance(cause, ApplicationError):
                details = cause.details[0] if cause.details else None
                if not isinstance(details, dict):
                    details = {}
                return PlanCommitmentAnswer(
                    ok=False,
                    error_type=cause.type,
                    message=details.get("message") or cause.message,
                    field=details.get("field"),
                    legal_basis=details.get("legal_basis"),
                )
            return PlanCommitmentAnswer(
                ok=False, error_type=type(cause).__name__, message=str(cause)
            )
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise  # transient, or an answer lost on the way: retry (the update ID dedupes)
            return plan_closed(request.plan_id)
        return PlanCommitmentAnswer(ok=True, result=result)


__all__ = ["PlanActivities"]
