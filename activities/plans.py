"""Activities of ``KeHoachWorkflow``: PostgreSQL writes and reads, and the Temporal client
calls the plan makes to its đề án.

Writes are idempotent by business keys (``{plan}:decision:{number}``,
``{plan}:{code}:verdict:{number}``, ``{plan}:{code}:release``, ``{plan}:checkpoint:{key}``,
``{plan}:{code}:commitment:{number}``), inserted ``ON CONFLICT DO NOTHING``, one transaction
per write.

The decision is sent from an activity because a workflow cannot catch a client error: each
đề án answers its ``approve`` / ``reject`` update with its own verdict, and a refusal
(``WorkflowUpdateFailedError``) is returned as data with the rule's type and message. The
update ID is ``{code}:{verdict}:{decision_number}``, so a retried activity applies nothing twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

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
from workflows.plan_rules import PLAN_CLOSED

INSERT_PLAN = """
INSERT INTO plan (plan_id, province, level, year, envelope, intake_closes_on, checkpoints)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (plan_id) DO NOTHING
"""

INSERT_PLAN_ITEM = """
INSERT INTO plan_item (
    de_an_id, plan_id, plan_year, requested_support, counterpart_funds, total_cost
) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (de_an_id) DO NOTHING
"""

INSERT_DECISION = """
INSERT INTO plan_decision (
    idempotency_key, plan_id, number, decision_date, signer, official_id,
    approved, refused, rejected
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING idempotency_key
"""

INSERT_VERDICT = """
INSERT INTO plan_verdict (
    idempotency_key, plan_id, de_an_id, decision_number, verdict, status,
    approved_support, refused_by_plan, error_type, message
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (idempotency_key) DO NOTHING
"""

SELECT_ITEMS = """
SELECT d.de_an_id AS code, d.stage, d.approved_support, d.advanced, d.paid,
       d.refund_owed, d.refunded, d.overdue, s.final_support
FROM de_an d
LEFT JOIN LATERAL (
    SELECT final_support FROM settlement
    WHERE settlement.de_an_id = d.de_an_id
    ORDER BY settled_on DESC
    LIMIT 1
) s ON true
WHERE d.de_an_id = ANY($1::text[])
"""

INSERT_CHECKPOINT = """
INSERT INTO plan_checkpoint (
    idempotency_key, plan_id, key, label, on_date, kind, recorded_at, approved_count,
    done_count, done_bp, envelope, committed, approved_support, advanced, paid, refunded,
    behind_count, record
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING idempotency_key
"""

INSERT_RELEASE = """
INSERT INTO plan_release (
    idempotency_key, plan_id, de_an_id, amount, committed, final_support, stage, checkpoint_key,
    released_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT DO NOTHING
"""

INSERT_COMMITMENT_CHANGE = """
INSERT INTO plan_commitment_change (
    idempotency_key, plan_id, de_an_id, decision_number, decision_date, committed_before,
    committed_after
) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (idempotency_key) DO NOTHING
"""

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
        error_type=PLAN_CLOSED,
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
        status = await self._pool.execute(
            INSERT_PLAN,
            row.plan_id,
            row.province,
            row.level,
            row.year,
            row.envelope,
            row.intake_closes_on,
            [c.model_dump(mode="json") for c in row.checkpoints],
        )
        return bool(status.endswith(" 1"))

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
        async with self._pool.acquire() as conn, conn.transaction():
            for entry in accepted:
                d = entry.dossier
                await conn.execute(
                    INSERT_PLAN_ITEM,
                    d.code,
                    request.plan_id,
                    d.plan_year,
                    d.requested_support,
                    d.counterpart_funds,
                    d.total_cost,
                )
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
        counts = {s: 0 for s in ("approved", "refused", "rejected")}
        for item in request.items:
            counts[item.status.value] += 1
        async with self._pool.acquire() as conn, conn.transaction():
            new = await conn.fetchval(
                INSERT_DECISION,
                f"{request.plan_id}:decision:{request.decision_number}",
                request.plan_id,
                request.decision_number,
                request.decision_date,
                request.signer,
                request.official_id,
                counts["approved"],
                counts["refused"],
                counts["rejected"],
            )
            if new is None:
                return False
            for item in request.items:
                await conn.execute(
                    INSERT_VERDICT,
                    f"{request.plan_id}:{item.code}:verdict:{request.decision_number}",
                    request.plan_id,
                    item.code,
                    request.decision_number,
                    item.verdict.value,
                    item.status.value,
                    item.approved_support,
                    item.refused_by_plan,
                    item.error_type,
                    item.message,
                )
        return True

    @activity.defn
    async def read_plan_items(self, request: ReadItemsRequest) -> list[ItemObservation]:
        rows = await self._pool.fetch(SELECT_ITEMS, request.codes)
        return [ItemObservation.model_validate(dict(row)) for row in rows]

    @activity.defn
    async def record_plan_checkpoint(self, record: CheckpointRecord) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            new = await conn.fetchval(
                INSERT_CHECKPOINT,
                f"{record.plan_id}:checkpoint:{record.key}",
                record.plan_id,
                record.key,
                record.label,
                record.on,
                record.kind.value,
                record.recorded_at,
                record.approved_count,
                record.done_count,
                record.done_bp,
                record.envelope,
                record.committed,
                record.approved_support,
                record.advanced,
                record.paid,
                record.refunded,
                len(record.behind),
                record.model_dump(mode="json"),
            )
            if new is None:
                return False
            for release in record.released_now:
                await conn.execute(
                    INSERT_RELEASE,
                    f"{record.plan_id}:{release.code}:release",
                    record.plan_id,
                    release.code,
                    release.amount,
                    release.committed,
                    release.final_support,
                    release.stage.value,
                    record.key,
                    record.recorded_at,
                )
        return True

    @activity.defn
    async def record_plan_commitment(self, request: RecordCommitmentRequest) -> bool:
        status = await self._pool.execute(
            INSERT_COMMITMENT_CHANGE,
            f"{request.plan_id}:{request.code}:commitment:{request.decision_number}",
            request.plan_id,
            request.code,
            request.decision_number,
            request.decision_date,
            request.before,
            request.after,
        )
        return bool(status.endswith(" 1"))

    @activity.defn
    async def record_plan_release(self, request: RecordReleaseRequest) -> bool:
        release = request.release
        status = await self._pool.execute(
            INSERT_RELEASE,
            f"{request.plan_id}:{release.code}:release",
            request.plan_id,
            release.code,
            release.amount,
            release.committed,
            release.final_support,
            release.stage.value,
            None,
            request.released_at,
        )
        return bool(status.endswith(" 1"))

    @activity.defn
    async def change_plan_commitment(self, request: PlanCommitmentRequest) -> PlanCommitmentAnswer:
        """Called by a đề án's ``adjust`` handler: send ``change_commitment`` to its plan.

        A refusal is returned as data (the đề án turns it into its own refusal). The update ID
        is built from the đề án and the adjustment decision, so a retry changes nothing twice.
        A plan that no longer runs (its year is over) cannot hold a raise."""
        change = request.change
        info = activity.info()
        handle = self._client.get_workflow_handle(request.plan_id)
        try:
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
