"""``KeHoachWorkflow``: the annual khuyến công plan of one province, level and year.

Workflow ID ``ke-hoach/{level}/{province-slug}/{year}`` (:func:`plan_id_for`). It lives from
intake to the settlement deadline of the next year:

- ``register`` (update): đề án enter the plan until the intake closes; each is started as its
  own ``DeAnWorkflow`` by an activity (``khuyencong.registration.register_all``: idempotent by
  workflow ID);
- ``decide`` (update): one decision approves or rejects many đề án. The plan refuses
  approvals that would overspend its envelope; the others are sent to each đề án as its
  ``approve`` / ``reject`` update by an activity, and each đề án's own rules give the verdict;
- ``change_commitment`` (update): an approved đề án whose support an adjustment decision
  raises or lowers asks its plan first (from its own handler, through an activity); a raise
  the envelope cannot hold is refused, and the đề án refuses the adjustment with it;
- ``de_an_finished`` (signal): a đề án that settles or closes tells its plan, which releases
  what it did not use at once;
- checkpoints (durable timers): the plan reads its đề án from the read model, releases what
  settled or closed đề án did not use (once: a release already made on the signal is not
  made again), and records counts, money and who is behind.

The rules are in :mod:`workflows.plan_rules`. Activities are called by name: their module
imports asyncpg, which must never enter a workflow module (asyncpg #1292).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.deadlines import vn_date
    from domain.errors import Refusal, RefusalCode
    from domain.money import format_dong
    from workflows import plan_rules
    from workflows.de_an_contract import DeAnRegistrationProof, DeAnRegistrationVerdict
    from workflows.plan_contract import (
        CheckpointRecord,
        DecisionItemResult,
        ItemObservation,
        ItemStatus,
        PlanCheckpoint,
        PlanCommitmentChange,
        PlanCommitmentResult,
        PlanDeAnFinished,
        PlanDecision,
        PlanDecisionRecord,
        PlanDecisionResult,
        PlanInput,
        PlanRegister,
        PlanRegisterResult,
        PlanResult,
        PlanRow,
        PlanState,
        ReadItemsRequest,
        RecordCommitmentRequest,
        RecordDecisionRequest,
        RecordReleaseRequest,
        RegisterVerdict,
        SendDecisionRequest,
        SendOrder,
        SendResult,
        StartDeAnRequest,
    )

RECORD_PLAN = "record_plan"
START_PLAN_DE_AN = "start_plan_de_an"
SEND_PLAN_DECISION = "send_plan_decision"
RECORD_PLAN_DECISION = "record_plan_decision"
READ_PLAN_ITEMS = "read_plan_items"
RECORD_PLAN_CHECKPOINT = "record_plan_checkpoint"
RECORD_PLAN_COMMITMENT = "record_plan_commitment"
RECORD_PLAN_RELEASE = "record_plan_release"

ITEMS_LINKED_PATCH = "plan-items-linked-v1"
"""Decisions recorded after it approve đề án that carry the plan's ID (``plan-link-v1`` on the
đề án): they ask the plan before support changes and signal when they finish. Items approved
by earlier decisions never do, so checkpoints re-read their approved support instead."""

RESCREEN_PATCH = "plan-decision-rescreen-v1"
"""Decisions recorded before it had one round; after it, the items the plan refused for the
envelope are screened again when a đề án refused its approval and freed its reservation."""

CREATOR_IDENTITY_PATCH = "plan-creator-identity-v1"
"""Plans started after it prove who opened them before anything is written: the start's
statement for ``created_by`` (a Trung tâm of the plan's province) is judged by the local activity
``verify_registration``, whose verdict the history records; a refusal fails the plan with its
typed error. Plans recorded before it were opened unproven and replay as they ran."""

VERIFY_REGISTRATION = "verify_registration"
VERIFY_TIMEOUT = timedelta(seconds=10)
VERIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)

PERSIST_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
SEND_TIMEOUT = timedelta(minutes=30)
SEND_HEARTBEAT = timedelta(seconds=30)


def refusal_error(refusal: Refusal) -> ApplicationError:
    return ApplicationError(
        str(refusal), refusal.as_details(), type=refusal.code, non_retryable=True
    )


@workflow.defn(name="KeHoachWorkflow")
class KeHoachWorkflow:
    """Kế hoạch khuyến công năm N of one province and level.

    Started by ``khuyencong plan import`` (or ``plan simulate``) for a province, level, year.

    Updates (validators refuse before anything enters history):

    - ``register``: Trung tâm Khuyến công, from the plan spreadsheet, until the intake closes
    - ``decide``: the approver (UBND tỉnh or the Minister), one decision for many đề án
    - ``change_commitment``: a đề án of the plan, from its ``adjust`` handler

    Signals: ``de_an_finished`` from a đề án of the plan when it settles or closes.

    Queries: ``state``, ``checkpoints``.

    Timers: one per configured checkpoint (mid-year, completion target, year end, 22 January).
    """

    @workflow.init
    def __init__(self, input: PlanInput) -> None:
        self._state = input.resume or plan_rules.initial_state(
            input.config, workflow.info().workflow_id
        )
        self._lock = asyncio.Lock()
        self._ready = input.resume is not None
        self._finished: list[PlanDeAnFinished] = []
        self._closing = False
        """Set after the last checkpoint: decisions and commitment changes are refused."""
        self._created_by = input.created_by
        # The start's identity statement, handed over by the worker's identity interceptor
        # (prove_registration) before run() and dropped once judged.
        self._start_statement: str | None = None

    def prove_registration(self, statement: str | None) -> None:
        """Called by the worker's identity interceptor with the start's statement."""
        self._start_statement = statement

    @workflow.run
    async def run(self, input: PlanInput) -> PlanResult:
        if not self._ready:
            config = self._state.config
            if workflow.patched(CREATOR_IDENTITY_PATCH):
                await self._verify_creator()
            await self._record(
                RECORD_PLAN,
                PlanRow(
                    plan_id=self._state.plan_id,
                    province=config.province,
                    level=config.level.value,
                    year=config.year,
                    envelope=config.envelope,
                    intake_closes_on=config.intake_closes_on,
                    checkpoints=config.checkpoints,
                ),
                "Ghi kế hoạch",
            )
            self._ready = True
            self._set_details()
        while pending := plan_rules.pending_checkpoints(self._state):
            checkpoint = pending[0]
            wait = plan_rules.end_of_day(checkpoint.on) - workflow.now()
            summary = f"{checkpoint.label} ({checkpoint.on:%d/%m/%Y})"
            if wait > timedelta(0):
                # No patch needed over the plain timer this replaced: the wait starts the same
                # timer, and only a ``de_an_finished`` signal (which older plans never got)
                # ends it early (tests/histories/plans/v0 replays).
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._finished), timeout=wait, timeout_summary=summary
                    )
                except TimeoutError:
                    pass
                await self._release_finished()
                continue  # a đề án finished before the checkpoint: wait for the rest
            await self._record_checkpoint(checkpoint)
        # The year is over: refuse new changes, finish those accepted, release the last
        # signalled finishes (an update accepted now would be lost when the run returns).
        self._closing = True
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not self._finished:
                break
            await self._release_finished()
        state = self._state
        return PlanResult(
            plan_id=state.plan_id,
            envelope=state.config.envelope,
            committed=plan_rules.committed(state),
            released=plan_rules.released_total(state),
            approved=sum(1 for i in state.items if i.status is ItemStatus.APPROVED),
            checkpoints=state.checkpoints,
        )

    async def _verify_creator(self) -> None:
        """Who opens the plan (its envelope, its intake) must prove it, as a registrar proves
        a đề án's registration: a Trung tâm of the plan's province with a valid statement."""
        statement, self._start_statement = self._start_statement, None
        creator = self._created_by
        if creator is None:
            raise refusal_error(
                Refusal(
                    RefusalCode.IDENTITY_NOT_PROVEN,
                    "kế hoạch phải do cán bộ Trung tâm khuyến công đã xác thực mở "
                    "(khuyencong plan import --as MÃ_CÁN_BỘ)",
                    "created_by",
                )
            )
        verdict = await workflow.execute_local_activity(
            VERIFY_REGISTRATION,
            DeAnRegistrationProof(
                statement=statement,
                workflow_id=workflow.info().workflow_id,
                registered_by=creator,
                province=self._state.config.province,
                at=workflow.now(),
            ),
            result_type=DeAnRegistrationVerdict,
            start_to_close_timeout=VERIFY_TIMEOUT,
            retry_policy=VERIFY_RETRY,
            summary="Xác minh danh tính cán bộ mở kế hoạch",
        )
        if not verdict.ok:
            raise refusal_error(
                Refusal(
                    verdict.error_type or RefusalCode.IDENTITY_NOT_PROVEN,
                    verdict.message,
                    verdict.field and verdict.field.replace("registered_by", "created_by"),
                )
            )

    async def _record(self, activity: str, row: Any, summary: str) -> None:
        """A write of the plan's facts to PostgreSQL: idempotent by business key, so retried
        without limit (a decided fact must reach the database)."""
        await workflow.execute_activity(
            activity,
            row,
            result_type=bool,
            start_to_close_timeout=PERSIST_TIMEOUT,
            retry_policy=RETRY,
            summary=summary,
        )

    # --- checkpoints ---------------------------------------------------------------------

    async def _observe(self) -> list[ItemObservation]:
        codes = [i.code for i in self._state.items if i.status is ItemStatus.APPROVED]
        if not codes:
            return []
        seen: list[ItemObservation] = await workflow.execute_activity(
            READ_PLAN_ITEMS,
            ReadItemsRequest(plan_id=self._state.plan_id, codes=codes),
            result_type=list[ItemObservation],
            start_to_close_timeout=PERSIST_TIMEOUT,
            retry_policy=RETRY,
            summary=f"Đọc tiến độ {len(codes)} đề án",
        )
        return seen

    async def _record_checkpoint(self, checkpoint: PlanCheckpoint) -> None:
        async with self._lock:
            observations = await self._observe()
            synced, resynced = plan_rules.resync_unlinked(self._state, observations)
            after, releases = plan_rules.observe(synced, observations)
            record = plan_rules.checkpoint_record(
                after, checkpoint, observations, releases, workflow.now()
            )
            record.resynced = resynced
            await self._record(
                RECORD_PLAN_CHECKPOINT,
                record,
                f"Ghi mốc {checkpoint.label}",
            )
            after.checkpoints.append(record)
            self._state = after
            self._set_details()

    async def _release_finished(self) -> None:
        """Release what the đề án that signalled they finished did not use, each once."""
        while self._finished:
            notice = self._finished.pop(0)
            async with self._lock:
                after, releases = plan_rules.release_on_close(self._state, notice)
                for release in releases:
                    await self._record(
                        RECORD_PLAN_RELEASE,
                        RecordReleaseRequest(
                            plan_id=self._state.plan_id, release=release, released_at=workflow.now()
                        ),
                        f"Trả về kế hoạch {format_dong(release.amount)} của {release.code}",
                    )
                self._state = after
                self._set_details()

    # --- intake --------------------------------------------------------------------------

    @workflow.update
    async def register(self, request: PlanRegister) -> PlanRegisterResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            today = vn_date(workflow.now())
            try:
                plan_rules.check_intake_open(self._state.config, today)
            except Refusal as refusal:
                raise refusal_error(refusal) from None
            verdicts: dict[str, RegisterVerdict] = {}
            to_start = []
            for entry in request.entries:
                code = entry.dossier.code
                problem = plan_rules.registration_problem(self._state.config, entry.dossier)
                if problem:
                    verdicts[code] = RegisterVerdict(
                        code=code, accepted=False, error_type=plan_rules.WRONG_PLAN, message=problem
                    )
                elif self._state.item(code) is not None or code in verdicts:
                    verdicts[code] = RegisterVerdict(
                        code=code, accepted=True, already=True, message="đã có trong kế hoạch"
                    )
                else:
                    to_start.append(entry)
                    verdicts[code] = RegisterVerdict(code=code, accepted=True)
            if to_start:
                started = await workflow.execute_activity(
                    START_PLAN_DE_AN,
                    StartDeAnRequest(plan_id=self._state.plan_id, entries=to_start),
                    result_type=list[RegisterVerdict],
                    start_to_close_timeout=timedelta(minutes=10),
                    retry_policy=RETRY,
                    summary=f"Khởi tạo {len(to_start)} đề án",
                )
                by_code = {v.code: v for v in started}
                for entry in to_start:
                    verdict = by_code[entry.dossier.code]
                    verdicts[entry.dossier.code] = verdict
                    if verdict.accepted:
                        self._state.items.append(plan_rules.new_item(entry, today))
            self._set_details()
            return PlanRegisterResult(plan_id=self._state.plan_id, items=list(verdicts.values()))

    @register.validator
    def _register(self, request: PlanRegister) -> None:
        # Validators never run on replay: an import recorded unsigned still replays.
        try:
            plan_rules.check_registrar(self._state.config, request)
            plan_rules.check_intake_open(self._state.config, vn_date(workflow.now()))
        except Refusal as refusal:
            raise refusal_error(refusal) from None

    # --- the decision --------------------------------------------------------------------

    @workflow.update
    async def decide(self, decision: PlanDecision) -> PlanDecisionResult:
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            try:
                plan_rules.check_plan_open(self._state, self._closing)
                plan_rules.check_decision_date(decision, vn_date(workflow.now()))
                plan_rules.check_decision(self._state, decision)
            except Refusal as refusal:
                raise refusal_error(refusal) from None
            orders, refused = plan_rules.screen_decision(self._state, decision)
            sent: list[SendResult] = []
            round_no = 1
            while orders:
                sent += await self._send(decision, orders, round_no)
                # A đề án that refused its approval freed its reservation: screen the items
                # the plan refused again, in order (a next round of the same decision).
                orders, refused_now = plan_rules.screen_decision(self._state, decision, sent)
                if orders and not workflow.patched(RESCREEN_PATCH):
                    break  # recorded before re-screening: the first round's refusals stand
                refused = refused_now
                round_no += 1
            order = {entry.code: n for n, entry in enumerate(decision.items)}
            results: list[DecisionItemResult] = sorted(
                [*plan_rules.results_of(sent), *refused], key=lambda r: order[r.code]
            )
            await self._record(
                RECORD_PLAN_DECISION,
                RecordDecisionRequest(
                    plan_id=self._state.plan_id,
                    decision_number=decision.decision_number,
                    decision_date=decision.decision_date,
                    signer=decision.signer,
                    official_id=decision.actor.official_id,
                    items=results,
                ),
                f"Ghi quyết định {decision.decision_number}",
            )
            # Đề án approved from here on were told the plan's ID and report to it; those
            # approved by decisions recorded before are re-read at each checkpoint instead.
            linked = workflow.patched(ITEMS_LINKED_PATCH)
            after = plan_rules.apply_decision(self._state, decision, results, linked=linked)
            after.decisions.append(
                PlanDecisionRecord(
                    number=decision.decision_number,
                    date=decision.decision_date,
                    signer=decision.signer,
                    official_id=decision.actor.official_id,
                    approved=sum(1 for r in results if r.status is ItemStatus.APPROVED),
                    refused=sum(1 for r in results if r.status is ItemStatus.REFUSED),
                    rejected=sum(1 for r in results if r.status is ItemStatus.REJECTED),
                )
            )
            self._state = after
            self._set_details()
            return PlanDecisionResult(
                plan_id=after.plan_id,
                decision_number=decision.decision_number,
                items=results,
                committed=plan_rules.committed(after),
                envelope=after.config.envelope,
            )

    async def _send(
        self, decision: PlanDecision, orders: list[SendOrder], round_no: int
    ) -> list[SendResult]:
        sent: list[SendResult] = await workflow.execute_activity(
            SEND_PLAN_DECISION,
            SendDecisionRequest(
                plan_id=self._state.plan_id,
                decision_number=decision.decision_number,
                decision_date=decision.decision_date,
                signer=decision.signer,
                actor=decision.actor,
                orders=orders,
            ),
            result_type=list[SendResult],
            start_to_close_timeout=SEND_TIMEOUT,
            heartbeat_timeout=SEND_HEARTBEAT,
            retry_policy=RETRY,
            summary=f"Gửi quyết định {decision.decision_number} tới {len(orders)} đề án"
            + (f" (vòng {round_no})" if round_no > 1 else ""),
        )
        return sent

    @decide.validator
    def _decide(self, decision: PlanDecision) -> None:
        try:
            plan_rules.check_plan_open(self._state, self._closing)
            plan_rules.check_decision_date(decision, vn_date(workflow.now()))
            plan_rules.check_decision(self._state, decision)
        except Refusal as refusal:
            raise refusal_error(refusal) from None

    # --- the đề án's adjustments and closing ------------------------------------------------

    @workflow.update
    async def change_commitment(self, change: PlanCommitmentChange) -> PlanCommitmentResult:
        """From a đề án's ``adjust`` handler (through an activity, update ID
        ``{code}:commitment:{decision}``): move its commitment, or refuse a raise the
        envelope cannot hold."""
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            try:
                plan_rules.check_plan_open(self._state, self._closing)
                plan_rules.check_commitment_change(self._state, change)
            except Refusal as refusal:
                raise refusal_error(refusal) from None
            item = self._state.item(change.code)
            assert item is not None
            if change.decision_number not in item.commitment_decisions:
                await self._record(
                    RECORD_PLAN_COMMITMENT,
                    RecordCommitmentRequest(
                        plan_id=self._state.plan_id,
                        code=change.code,
                        decision_number=change.decision_number,
                        decision_date=change.decision_date,
                        before=item.committed,
                        after=change.new_support,
                    ),
                    f"Điều chỉnh cam kết {change.code} theo {change.decision_number}",
                )
            self._state = plan_rules.apply_commitment_change(self._state, change)
            self._set_details()
            changed = self._state.item(change.code)
            assert changed is not None
            return PlanCommitmentResult(
                plan_id=self._state.plan_id,
                code=change.code,
                committed=changed.committed,
                plan_committed=plan_rules.committed(self._state),
                envelope=self._state.config.envelope,
            )

    @change_commitment.validator
    def _change_commitment(self, change: PlanCommitmentChange) -> None:
        try:
            plan_rules.check_commitment_actor(change)
            plan_rules.check_plan_open(self._state, self._closing)
            if not self._lock.locked():
                # While a decision is being sent, the đề án it approves are not yet approved
                # here: the handler judges under the lock, once the decision is recorded.
                plan_rules.check_commitment_change(self._state, change)
        except Refusal as refusal:
            raise refusal_error(refusal) from None

    @workflow.signal
    def de_an_finished(self, notice: PlanDeAnFinished) -> None:
        """Fire-and-forget from a đề án of the plan when it settles or closes; the main loop
        releases what it did not use (an activity cannot run in a signal handler's place)."""
        self._finished.append(notice)

    # --- queries -------------------------------------------------------------------------

    @workflow.query
    def state(self) -> PlanState:
        return self._state

    @workflow.query
    def checkpoints(self) -> list[CheckpointRecord]:
        return self._state.checkpoints

    def _set_details(self) -> None:
        state = self._state
        config = state.config
        approved = sum(1 for i in state.items if i.status is ItemStatus.APPROVED)
        lines = [
            f"**Kế hoạch khuyến công năm {config.year}** — {config.level.label}, "
            f"tỉnh {config.province}",
            f"Đăng ký: {len(state.items)} đề án (hạn {config.intake_closes_on:%d/%m/%Y}) · "
            f"Phê duyệt: {approved}",
            f"Kinh phí: đã cam kết {format_dong(plan_rules.committed(state))} / "
            f"{format_dong(config.envelope)}",
        ]
        if state.checkpoints:
            last = state.checkpoints[-1]
            lines.append(
                f"Mốc gần nhất: {last.label} — hoàn thành {last.done_count}/"
                f"{last.approved_count}, chậm {len(last.behind)}"
            )
        workflow.set_current_details("\n\n".join(lines))


__all__ = ["KeHoachWorkflow"]
