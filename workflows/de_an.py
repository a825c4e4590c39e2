"""``DeAnWorkflow``: the whole life of one đề án khuyến công, from registration to closing.

One workflow per đề án, for a year or more; the workflow ID is the business ID
(``de-an/BG-2019-DP-01``). The workflow holds the truth about the đề án; every step it applies
is persisted to PostgreSQL by an activity (event, read model, detail row: one transaction,
idempotent by a key built from business identity). The rules live in the pure module
:mod:`workflows.de_an_decisions`, which the validators and the handlers share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from domain.deadlines import vn_date
    from domain.errors import Refusal, RefusalCode
    from domain.money import format_dong
    from domain.rules import RulePack, shared
    from domain.stages import Action, Stage
    from khuyencong import search_attributes as sa
    from workflows import de_an_actions as actions
    from workflows import de_an_decisions as decisions
    from workflows.de_an_contract import (
        DeAnActionResult,
        DeAnCommand,
        DeAnInactiveOfficialsQuery,
        DeAnInput,
        DeAnOfficialDeactivated,
        DeAnRegistration,
        DeAnRegistrationProof,
        DeAnRegistrationVerdict,
        DeAnResult,
        DeAnRulePackQuery,
        DeAnState,
        DeAnStep,
        DeAnTimelineEntry,
        remember_update,
    )
    from workflows.plan_contract import (
        PlanCommitmentAnswer,
        PlanCommitmentChange,
        PlanCommitmentRequest,
        PlanDeAnFinished,
    )

# Activities are called by name: importing their modules here would pull asyncpg into the
# workflow sandbox (asyncpg #1292 segfaults) and tie the workflow to the worker's code.
RECORD_STEP = "record_step"
RECORD_PAYMENT = "record_payment"
RECORD_MISSED_DEADLINE = "record_missed_deadline"
LOAD_RULE_PACKS = "load_rule_packs"
LOAD_INACTIVE_OFFICIALS = "load_inactive_officials"
CHANGE_PLAN_COMMITMENT = "change_plan_commitment"
VERIFY_REGISTRATION = "verify_registration"
"""Local activity (activities/identity.py) judging the registration's statement."""

SEARCH_ATTRIBUTES_PATCH = "search-attributes-v1"
"""Patch of the search-attribute upserts (docs/upgrading-workflows.md). Đề án started before
it replay without upserts; those started after it record a marker and upsert. Deprecate it
(``workflow.deprecate_patch``) once every đề án started before it has closed."""

INACTIVE_OFFICIALS_PATCH = "inactive-officials-at-registration-v1"
"""Patch of the read of deactivated officials at registration (histories recorded before it
register without that activity)."""

INACTIVE_RECHECK_PATCH = "inactive-officials-after-registration-v1"
"""Patch of the second read of deactivated officials, once the registration is recorded (the
window between the first read and the read-model row that deactivation signals are sent by)."""

PLAN_LINK_PATCH = "plan-link-v1"
"""Patch of the calls to the plan that approved the đề án (its support adjustments ask the
plan's envelope first; settling or closing signals the plan). Only đề án approved by a plan's
decision after this code shipped carry ``plan_id``, so older histories never reach it."""

PERSIST_REFUSAL_PATCH = "persist-refusal-v1"
"""Patch of a step the database cannot store (a non-retryable activity failure: a value out of
a column's range, a constraint). Before it, the activity's failure escaped as it was; after it,
an official's action is refused (``NotStored``) with the state unchanged, a registration fails
the workflow with that refusal (the code is free again: ``ALLOW_DUPLICATE_FAILED_ONLY``), and a
missed deadline is kept in the state (and logged) instead of failing the đề án."""

PAST_DEADLINES_PATCH = "past-deadlines-v1"
"""Patch of the deadlines that had passed before the đề án entered the engine (a step typed
in after the fact): recorded as missed at once instead of ignored. Asked only when such a
deadline is open, so histories that never had one carry no marker."""

STOP_LAPSES_PATCH = decisions.STOP_LAPSES_PATCH
"""Patch of the money rules after a stop (:class:`workflows.de_an_decisions.RuleSwitches`):
unpaid advance requests lapse with the stop, nothing but the settlement is paid after it."""

CUT_LAPSES_PATCH = decisions.CUT_LAPSES_PATCH
"""Patch of the advance ceiling after a cut of support (:class:`RuleSwitches`): open requests
that no longer fit under the new ceiling lapse with the adjustment, and no advance is paid
above the current ceiling."""

ADJUST_DETAILS_PATCH = decisions.ADJUST_DETAILS_PATCH
"""Patch of changes of site and timing: they name the new site or dates and apply them."""

RESOLVE_SETTLED_PATCH = decisions.RESOLVE_SETTLED_PATCH
"""Patch of ``resolve_findings`` on a settled đề án: allowed now (a settlement payout held by
a visit's findings is paid once they are resolved); a handler that refused it before the
change (WrongStage) refuses it again on replay."""

STEADY_TIMER_PATCH = "steady-deadline-timer-v1"
"""Patch of the wait between steps (issue 14): the timer of the next deadline runs on across
the steps that leave that deadline as it was. Before it, every step woke the main loop, which
cancelled the timer and started another (``TimerCanceled`` + ``TimerStarted`` in every
step's workflow task). Asked once, as each run starts: a run that began before the change
replays, and goes on, with the old wait; one that began after it records the marker first."""

REGISTRATION_IDENTITY_PATCH = "registration-identity-v1"
"""Patch of the proof of who registers: the start's signed statement
(:mod:`khuyencong.identity`) is verified by the local activity ``verify_registration`` before
anything else, and a refusal fails the workflow before anything is written to PostgreSQL.
Histories recorded before it register without the check."""

REGISTERED_UPDATE = "registered"
"""Read-only update answered once the registration is decided: the registration step recorded
(:class:`DeAnRegistration`) or the refusal that fails the workflow, with its type. Sent with the
start (update-with-start, :mod:`khuyencong.registration`), so one request starts the đề án and
answers when it is registered. A new handler: a history that never received it replays as
before (it issues no command)."""

LOCAL_WRITES_PATCH = "local-writes-v1"
"""Patch of the lean path (issue 14): every short PostgreSQL write and read of a step (the
registration's rule packs and inactive officials, each action's step, payment or missed
deadline) runs as a *local* activity in the workflow task that decided it, so an official's
action is one server round trip (the update's workflow task) and ~6 history events instead of
~11 (no ``ActivityTaskScheduled/Started/Completed`` and second workflow task). A local write
that has not succeeded in :data:`LOCAL_ATTEMPTS` attempts (the database down) is handed to the same
activity as a regular one, which retries without limit and shows as pending in
``khuyencong problems``; the idempotency key makes the second attempt a no-op if the first
committed. Asked first as each run starts; a run that records it takes every older patch of
this module as taken without asking (one marker instead of one per patch). A run that began
before it replays, and goes on, on the old paths with their markers."""

IMPLIED_BY_LOCAL_WRITES = frozenset(
    {
        SEARCH_ATTRIBUTES_PATCH,
        INACTIVE_OFFICIALS_PATCH,
        INACTIVE_RECHECK_PATCH,
        PLAN_LINK_PATCH,
        PERSIST_REFUSAL_PATCH,
        PAST_DEADLINES_PATCH,
        STOP_LAPSES_PATCH,
        CUT_LAPSES_PATCH,
        ADJUST_DETAILS_PATCH,
        RESOLVE_SETTLED_PATCH,
        STEADY_TIMER_PATCH,
        REGISTRATION_IDENTITY_PATCH,
        decisions.UNIT_SUCCESSOR_PATCH,
    }
)
"""The patches a run on the lean path takes without asking (all those before it). Frozen: a
patch made after ``local-writes-v1`` is asked for itself, or a run that recorded the lean path
before that patch existed would take the new path on replay."""


VERIFY_TIMEOUT = timedelta(seconds=10)
VERIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)

PLAN_TIMEOUT = timedelta(minutes=2)
"""The plan answers ``change_commitment`` once its lock is free: a decision being sent to many
đề án may hold it for a while."""
PLAN_GIVE_UP = timedelta(minutes=10)
"""An adjustment waits this long for its plan (this đề án's other actions wait behind it),
then is refused as ``PlanUnavailable``: the official tries again later."""

LOCAL_ATTEMPTS = 5
"""Attempts of a local write (1 s, 2 s, 4 s, 8 s apart: ~15 s) before it is handed to a regular
activity (visible, retried without limit). Counted in attempts, not time: a local activity's
time limits count from the workflow's clock, which a time-skipping test server moves."""

# A database write takes milliseconds; an attempt that has not finished in 10 s is retried
# (a dead worker is noticed after this long). Transient errors retry without limit: a step
# the workflow has decided must reach PostgreSQL, and the idempotency key makes retries safe.
PERSIST_TIMEOUT = timedelta(seconds=10)
PERSIST_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["InvalidStep"],
)
LOCAL_RETRY = replace(PERSIST_RETRY, maximum_attempts=LOCAL_ATTEMPTS)
"""A local write's policy: the regular one's, bounded to :data:`LOCAL_ATTEMPTS`."""


def refusal_error(refusal: Refusal) -> ApplicationError:
    """A refusal as Temporal sees it: non-retryable, typed by the rule's stable code."""
    return ApplicationError(
        str(refusal), refusal.as_details(), type=refusal.code, non_retryable=True
    )


def not_stored(step: DeAnStep, cause: BaseException | None, registering: bool) -> Refusal:
    """The refusal of a step PostgreSQL could not store: which value (the activity names the
    column in its details when it knows it), what the database said, and that nothing changed."""
    details = cause.details if isinstance(cause, ApplicationError) else ()
    found = next((d for d in details if isinstance(d, dict)), {})
    column = found.get("field")
    field = column if isinstance(column, str) and column else None
    said = str(
        found.get("message") or (cause.message if isinstance(cause, ApplicationError) else cause)
    )
    what = f" (trường {field})" if field else ""
    if registering:
        message = (
            f"không ghi được đăng ký đề án {step.snapshot.code} vào cơ sở dữ liệu{what}: "
            f"{said[:300]}. Đề án không được đăng ký; sửa hồ sơ rồi đăng ký lại "
            "(mã đề án vẫn dùng được)"
        )
    else:
        message = (
            f"không ghi được thao tác «{step.action.label}» vào cơ sở dữ liệu{what}: "
            f"{said[:300]}. Thao tác bị từ chối; đề án giữ nguyên như trước"
        )
    return Refusal(RefusalCode.NOT_STORED, message, field)


def wrapped(name: str, failure: FailureError) -> ActivityError:
    """A local activity's failure as a regular activity's arrives: an ``ActivityError`` whose
    cause is the activity's own error."""
    error = ActivityError(
        f"local activity {name} failed",
        scheduled_event_id=0,
        started_event_id=0,
        identity="",
        activity_type=name,
        activity_id="",
        retry_state=None,
    )
    error.__cause__ = failure
    return error


W = TypeVar("W")


def _update_methods(
    definition: actions.ActionDefinition[Any],
) -> tuple[Callable[..., Any], Callable[..., None]]:
    """The handler and the validator of one action's update, typed by its command model (the
    SDK decodes the payload by that annotation)."""
    action = definition.action

    async def handler(self: DeAnWorkflow, command: DeAnCommand) -> DeAnActionResult:
        return await self._act(action, command)

    def validator(self: DeAnWorkflow, command: DeAnCommand) -> None:
        self._check(action, command)

    for fn, name, returns in (
        (handler, definition.name, DeAnActionResult),
        (validator, f"_{definition.name}", None),
    ):
        fn.__name__ = name
        fn.__qualname__ = f"DeAnWorkflow.{name}"
        fn.__annotations__ = {"command": definition.command, "return": returns}
        fn.__doc__ = f"{definition.label} ({definition.senders()})."
    return handler, validator


def with_action_updates(cls: type[W]) -> type[W]:
    """Give the workflow class one ``@workflow.update`` per definition of the catalogue, named
    as the definition says, with its validator; applied before ``@workflow.defn``, which
    collects them as if written by hand. Both call :meth:`DeAnWorkflow._act` /
    :meth:`DeAnWorkflow._check` with the action, as the handlers always did."""
    for definition in actions.CATALOGUE:
        handler, validator = _update_methods(definition)
        for name in (definition.name, validator.__name__):
            if name in vars(cls):
                raise TypeError(f"{cls.__name__}.{name} exists: update {definition.name!r}?")
        update = workflow.update(name=definition.name)(handler)
        update.validator(validator)
        setattr(cls, definition.name, update)
        setattr(cls, validator.__name__, validator)
    if cls.__doc__:
        cls.__doc__ = cls.__doc__.replace("{updates}", actions.updates_doc())
    return cls


@workflow.defn(name="DeAnWorkflow")
@with_action_updates
class DeAnWorkflow:
    """One đề án khuyến công.

    Started by ``starter.py`` (or the admin tool) when the implementing unit registers it.

    Updates, one per official action of :data:`workflows.de_an_actions.CATALOGUE`, generated
    by :func:`with_action_updates` (each with a validator that refuses before anything enters
    history; while the đề án registers or records another action every update is refused
    ``DeAnBusy`` and sent again by its sender, see :meth:`_check`). Who sends each (roles of
    :mod:`domain.authority`; an adjustment: the decider its kind requires, TT 36/2013 Điều 11):

    {updates}

    Update ``registered`` (read-only, no actor): sent with the start by the admin tool
    (update-with-start, :func:`khuyencong.registration.register_and_wait`); answers once the
    registration is recorded, or fails with the registration's refusal.

    Signals: ``official_deactivated`` from the officials register (admin tool).

    A đề án approved by a plan's decision (``KeHoachWorkflow``) asks that plan before its
    support is raised or lowered (``change_commitment``, through an activity) and signals it
    (``de_an_finished``) when it settles or closes. That answer is the one refusal a validator
    cannot give (the envelope lives in another workflow): the ``adjust`` update is accepted,
    the plan is asked, and a raise it cannot hold fails the update (``EnvelopeExceeded``,
    ``PlanClosed``, ``PlanUnavailable``) with the đề án's state unchanged.

    Queries: ``state`` (everything), ``timeline`` (who did what, when: the last
    ``TIMELINE_KEPT`` entries; PostgreSQL's ``de_an_event`` holds every step).

    Timers: the monthly progress report, the settlement dossier and the settlement deadline;
    a missed one is recorded as an event and a notification row.
    """

    @workflow.init
    def __init__(self, input: DeAnInput) -> None:
        # Handlers may run before run() starts, so all state is set here.
        if input.resume is not None:
            self._state = decisions.resumed_state(input)
        else:
            registered_on = input.registered_on or vn_date(workflow.now())
            self._state = decisions.initial_state(
                input.dossier,
                input.registered_by,
                registered_on,
                list(input.rule_packs),
                entered_at=workflow.info().start_time,
                flag_past_deadlines=input.flag_past_deadlines,
            )
        self._registered = input.resume is not None
        # Why the registration was refused (the workflow fails with it), for ``registered``.
        self._registration_refused: Exception | None = None
        # The start's identity statement, handed over by the worker's IdentityInterceptor
        # (prove_registration) and dropped once judged.
        self._registration_statement: str | None = None
        self._lock = asyncio.Lock()
        self._version = 0
        # Accepted updates whose handler has not returned (item 4 of issue 10: a second
        # official's concurrent action is refused before history instead of failing after).
        self._in_flight = 0
        # The workflow task in which this workflow last resumed on a result (activity,
        # timer, signal to the plan) and so emitted commands: an update that arrives later in
        # that same task is refused (khuyencong/activation_order.py). A task is its history
        # length *and* its start time: a rejected update's task is dropped, and the next
        # attempt's task reuses its event IDs, so the length alone would refuse every
        # attempt after a result processed in a dropped task (:meth:`_in_resumed_task`).
        self._resumed_in_task: tuple[int, datetime] | None = None
        # Whether the main loop's deadline timer runs on across steps (STEADY_TIMER_PATCH),
        # asked as run() starts.
        self._steady_timer = False
        # Whether this run takes the lean path (LOCAL_WRITES_PATCH): asked once, lazily.
        self._lean: bool | None = None

    def prove_registration(self, statement: str | None) -> None:
        """The statement this đề án was started with (not a handler: the worker's identity
        interceptor calls it before ``run``; it is judged in :meth:`_register`)."""
        self._registration_statement = statement

    # --- main loop ------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: DeAnInput) -> DeAnResult:
        self._is_lean()  # first, so a new run's first marker is the lean path's
        self._steady_timer = self._patched(STEADY_TIMER_PATCH)
        if not self._registered:
            try:
                await self._register()
            except Exception as refused:
                # ``registered`` answers with the same refusal before the workflow fails. No
                # command: a history without that update finds every handler finished at once.
                self._registration_refused = refused
                await workflow.wait_condition(workflow.all_handlers_finished)
                raise
        else:
            workflow.set_current_details(self._details())  # a run continued as new
        while not self._state.stage.terminal:
            if self._history_is_long(input):
                # Carry the whole state (applied update IDs included) into a fresh history,
                # once no handler is half-way: an update that waited on the lock finishes here.
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    decisions.continued_input(self._state, input.history_event_limit)
                )
            await self._wait_for_change_or_deadline(input)
            await self._record_missed_deadlines()
        await workflow.wait_condition(workflow.all_handlers_finished)
        state = self._state
        return DeAnResult(
            de_an_id=state.de_an_id,
            stage=state.stage,
            approved_support=state.approved_support,
            advanced=state.advanced,
            paid=state.paid,
            refunded=state.refunded,
        )

    @staticmethod
    def _history_is_long(input: DeAnInput) -> bool:
        """The server suggests continue-as-new (~4K events or ~4 MB), or the history passed
        the input's own limit (tests use a small one)."""
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        limit = input.history_event_limit
        return limit is not None and info.get_current_history_length() >= limit

    async def _register(self) -> None:
        async with self._lock:
            if self._is_lean():
                # The proof, the rule packs and the deactivated officials at once: three
                # local activities scheduled in one activation (two reads and a check; nothing
                # is written before the proof's verdict is in).
                done = await asyncio.gather(
                    self._verify_registration(),
                    self._load_rule_packs(),
                    self._load_inactive_officials("Nạp danh sách cán bộ đã bị vô hiệu hoá"),
                    return_exceptions=True,  # all three end before the first refusal is raised
                )
                for ended in done:
                    if isinstance(ended, BaseException):
                        raise ended
            else:
                if self._patched(REGISTRATION_IDENTITY_PATCH):
                    await self._verify_registration()
                await self._load_rule_packs()
                if self._patched(INACTIVE_OFFICIALS_PATCH):
                    # Deactivations before this đề án existed never reach it as signals.
                    await self._load_inactive_officials("Nạp danh sách cán bộ đã bị vô hiệu hoá")
            try:
                outcome = decisions.decide_register(self._state, workflow.now())
            except Refusal as refusal:
                raise refusal_error(refusal) from None
            await self._persist_decided(outcome, registering=True)
            self._apply(outcome, None)
            if self._patched(INACTIVE_RECHECK_PATCH):
                # A deactivation committed after the read above, whose signals went to the
                # đề án listed before this one's row existed, is seen here: the read model row
                # now exists, so any later deactivation signals this đề án.
                await self._load_inactive_officials("Kiểm tra lại cán bộ bị vô hiệu hoá")
            self._registered = True

    async def _verify_registration(self) -> None:
        """Who registers must prove it (the start's statement): judged by a local activity
        whose verdict the history records (its input, the statement, is not recorded). A
        refusal fails the workflow with its typed error before anything is stored; the code
        is free again (``ALLOW_DUPLICATE_FAILED_ONLY``)."""
        state = self._state
        proof = DeAnRegistrationProof(
            statement=self._registration_statement,
            workflow_id=workflow.info().workflow_id,
            registered_by=state.registered_by,
            province=state.dossier.province,
            at=workflow.now(),
        )
        self._registration_statement = None
        verdict = await workflow.execute_local_activity(
            VERIFY_REGISTRATION,
            proof,
            result_type=DeAnRegistrationVerdict,
            start_to_close_timeout=VERIFY_TIMEOUT,
            retry_policy=VERIFY_RETRY,
            summary="Xác minh danh tính cán bộ đăng ký",
        )
        self._resumed()
        if not verdict.ok:
            raise refusal_error(
                Refusal(
                    verdict.error_type or RefusalCode.IDENTITY_NOT_PROVEN,
                    verdict.message,
                    verdict.field,
                )
            )

    async def _load_rule_packs(self) -> None:
        if self._state.rule_packs:  # carried by the input (tests, a resumed run)
            return
        dossier = self._state.dossier
        packs = await self._short_activity(
            LOAD_RULE_PACKS,
            DeAnRulePackQuery(level=dossier.level.value, province=dossier.province),
            list[RulePack],
            "Nạp bộ quy tắc (mức hỗ trợ, tạm ứng, thời hạn)",
        )
        self._state.rule_packs = shared(packs)

    async def _load_inactive_officials(self, summary: str) -> None:
        inactive = await self._short_activity(
            LOAD_INACTIVE_OFFICIALS,
            DeAnInactiveOfficialsQuery(de_an_id=self._state.de_an_id),
            list[str],
            summary,
        )
        for official_id in inactive:
            if official_id not in self._state.deactivated_officials:
                self._state.deactivated_officials.append(official_id)

    def _watches_past_deadlines(self) -> bool:
        """Whether deadlines that had passed before the đề án entered the engine are recorded
        (the one place :data:`PAST_DEADLINES_PATCH` is asked; only when one is open)."""
        if not decisions.past_deadlines(self._state):
            return False
        return self._patched(PAST_DEADLINES_PATCH)

    def _next_deadline(self, past: bool) -> tuple[str, datetime] | None:
        """The deadline the main loop's timer waits for: its key and when it is missed."""
        pending = decisions.pending_deadlines(self._state, past=past)
        return (pending[0].key, pending[0].missed_at) if pending else None

    async def _wait_for_change_or_deadline(self, input: DeAnInput) -> None:
        past = self._watches_past_deadlines()  # asked here, never inside a wait's condition
        pending = decisions.pending_deadlines(self._state, past=past)
        if self._steady_timer:
            # Wake only for what the loop acts on: another next deadline (a new timer), the
            # end of the đề án, or a history long enough to continue as new. A step that
            # leaves the next deadline as it was leaves its timer running.
            watched = self._next_deadline(past)
            had_past = bool(decisions.past_deadlines(self._state))

            def changed() -> bool:
                return (
                    self._state.stage.terminal
                    or self._next_deadline(past) != watched
                    or bool(decisions.past_deadlines(self._state)) != had_past
                    or self._history_is_long(input)
                )
        else:
            version = self._version

            def changed() -> bool:
                return self._version != version

        if not pending:
            await workflow.wait_condition(changed)
            return
        wait = pending[0].missed_at - workflow.now()
        if wait <= timedelta(0):
            return
        try:
            await workflow.wait_condition(
                changed, timeout=wait, timeout_summary=decisions.deadline_summary(pending[0])
            )
        except TimeoutError:
            self._resumed()  # the deadline's timer fired: its missed step follows

    async def _record_missed_deadlines(self) -> None:
        async with self._lock:
            past = self._watches_past_deadlines()
            for deadline in decisions.due_deadlines(self._state, workflow.now(), past=past):
                outcome = decisions.decide_deadline_missed(self._state, deadline, workflow.now())
                try:
                    await self._persist(outcome)
                except ActivityError as err:
                    if not self._patched(PERSIST_REFUSAL_PATCH):
                        raise
                    # Not recording it would make it due again at once, forever: the state
                    # keeps it (and the next step's snapshot shows the đề án overdue).
                    workflow.logger.error(
                        "missed deadline %s not stored: %s", deadline.key, err.cause or err
                    )
                self._apply(outcome, None)

    # --- shared machinery of the handlers --------------------------------------------------

    def _resumed(self) -> None:
        """This workflow task carries commands from a result (see :meth:`_check`)."""
        self._resumed_in_task = self._this_task()

    @staticmethod
    def _this_task() -> tuple[int, datetime]:
        """The current workflow task: its history length and its start time."""
        return workflow.info().get_current_history_length(), workflow.now()

    def _in_resumed_task(self) -> bool:
        """Whether this activation belongs to the task that last resumed on a result. Asked
        by validators only (never on replay)."""
        return self._resumed_in_task == self._this_task()

    def _is_lean(self) -> bool:
        """Whether this run takes the lean path (the one place :data:`LOCAL_WRITES_PATCH` is
        asked; once per run, the first time it matters)."""
        if self._lean is None:
            self._lean = workflow.patched(LOCAL_WRITES_PATCH)
        return self._lean

    def _patched(self, patch_id: str) -> bool:
        """``workflow.patched`` for the patches before the lean path: taken without a marker
        on it (:data:`IMPLIED_BY_LOCAL_WRITES`), asked as before otherwise."""
        if patch_id in IMPLIED_BY_LOCAL_WRITES and self._is_lean():
            return True
        return workflow.patched(patch_id)

    def _check(self, action: Action, command: DeAnCommand) -> None:
        """Validator body: run the rules on the current state and throw the outcome away.

        Before the rules, an update is refused as ``DeAnBusy`` (the admin client sends it
        again a moment later, under the same update ID) while:

        - the registration is not recorded yet: the rules would judge a state without its
          rule packs. Once its step is recorded, an update is judged even while the re-read
          of deactivated officials that follows is pending (a đề án started before the lean
          path reads it in a task of its own): its handler waits for that read and decides
          again, so an official deactivated meanwhile is still refused. Refusing it instead
          could refuse it forever: a worker that replays the history (a restart) hands the
          workflow that read's result and the update in one activation, updates first;
        - another action is in flight: the rules would judge the state it is about to
          replace, so a second official's identical action would be accepted and then fail
          in history; refused now, it is judged afresh on the state that action leaves;
        - this workflow task already resumed on a result and emitted its commands: the SDK
          replays an update delivered with a result *before* that result, so accepting it
          after those commands would record an order that no replay reproduces (TMPRL1100;
          khuyencong/activation_order.py).

        Validators never run on replay, so none of this touches determinism."""
        info = workflow.current_update_info()
        if info is not None and info.id in self._state.applied_update_ids:
            return  # a repeat of an update applied in an earlier run: the handler answers it
        busy = self._busy_reason()
        if busy is not None:
            raise refusal_error(Refusal(RefusalCode.BUSY, busy))
        try:
            actions.decide(self._state, action, command, workflow.now())
        except Refusal as refusal:
            raise refusal_error(refusal) from None

    def _busy_reason(self) -> str | None:
        code = self._state.dossier.code
        recorded = self._registered or self._state.seq > 0  # the registration step applied
        if not recorded:
            return f"đề án {code} đang được đăng ký; hãy gửi lại sau giây lát"
        # While only the registration's last read is pending, the lock is the registration's.
        if self._in_flight or (self._lock.locked() and self._registered):
            return f"đề án {code} đang ghi nhận một thao tác khác; hãy gửi lại sau giây lát"
        if self._in_resumed_task():
            return f"đề án {code} vừa ghi nhận một bước; hãy gửi lại sau giây lát"
        return None

    async def _act(self, action: Action, command: DeAnCommand) -> DeAnActionResult:
        info = workflow.current_update_info()
        update_id = info.id if info is not None else None
        if update_id is not None and update_id in self._state.applied_update_ids:
            return self._already_applied(action)
        self._in_flight += 1
        try:
            return await self._act_in_turn(action, command, update_id)
        finally:
            self._in_flight -= 1

    async def _act_in_turn(
        self, action: Action, command: DeAnCommand, update_id: str | None
    ) -> DeAnActionResult:
        await workflow.wait_condition(lambda: self._registered)
        async with self._lock:
            # Decide again: another handler may have changed the state while this one waited.
            # A rule changed since a step was recorded decides it as then (RuleSwitches).
            at_stake = decisions.patches_at_stake(self._state, action, command, workflow.now())
            switches = decisions.switches_for({p: self._patched(p) for p in sorted(at_stake)})
            try:
                outcome = actions.decide(self._state, action, command, workflow.now(), switches)
            except Refusal as refusal:
                raise refusal_error(refusal) from None
            before = self._state
            change = decisions.plan_commitment_change(before, outcome.state, command)
            changed_plan = change is not None and self._patched(PLAN_LINK_PATCH)
            if change is not None and changed_plan:
                await self._change_plan_commitment(before, change)
            try:
                await self._persist(outcome)
            except ActivityError as err:
                # Nothing was written, the state stays as it was: the decision register
                # (PostgreSQL, across đề án) refused the decision's number, or the database
                # cannot store the step (NotStored).
                refused = decisions.decision_refusal(err.cause)
                if refused is None and self._patched(PERSIST_REFUSAL_PATCH):
                    refused = not_stored(outcome.step, err.cause, False)
                if refused is None:
                    raise
                if change is not None and changed_plan:
                    await self._undo_plan_commitment(before, change)
                raise refusal_error(refused) from None
            self._apply(outcome, update_id)
            notice = decisions.plan_finished_notice(before, self._state)
            if notice is not None and self._patched(PLAN_LINK_PATCH):
                await self._notify_plan(notice)
        return outcome.result()

    async def _change_plan_commitment(self, state: DeAnState, change: PlanCommitmentChange) -> None:
        """Ask the plan to move this đề án's commitment before the adjustment is applied: a
        raise its envelope cannot hold refuses the adjustment, and nothing changes here."""
        assert state.plan_id is not None
        try:
            answer = await workflow.execute_activity(
                CHANGE_PLAN_COMMITMENT,
                PlanCommitmentRequest(plan_id=state.plan_id, change=change),
                result_type=PlanCommitmentAnswer,
                start_to_close_timeout=PLAN_TIMEOUT,
                schedule_to_close_timeout=PLAN_GIVE_UP,
                retry_policy=PERSIST_RETRY,
                summary=f"Điều chỉnh cam kết trong kế hoạch: {format_dong(change.new_support)}",
            )
        except ActivityError as err:  # the plan did not answer in time: nothing changed
            self._resumed()
            unavailable = Refusal(
                decisions.PLAN_UNAVAILABLE,
                f"kế hoạch {state.plan_id} chưa trả lời sau "
                f"{PLAN_GIVE_UP.total_seconds() // 60:.0f} phút; chưa điều chỉnh, hãy thử lại "
                f"sau ({err.cause or err})",
                "new_support",
            )
            raise refusal_error(unavailable) from None
        self._resumed()
        if not answer.ok:
            refusal = decisions.plan_refusal(
                change, state, answer.error_type, answer.message, answer.field, answer.legal_basis
            )
            if refusal is not None:
                raise refusal_error(refusal)

    async def _undo_plan_commitment(self, state: DeAnState, change: PlanCommitmentChange) -> None:
        """Give the plan back the commitment it had before a change whose step was then
        refused (best effort: the plan's next checkpoint re-reads the đề án anyway)."""
        back = change.model_copy(
            update={
                "decision_number": f"{change.decision_number}:huy",
                "new_support": state.approved_support,
            }
        )
        try:
            await self._change_plan_commitment(state, back)
        except ApplicationError as err:
            workflow.logger.warning("plan commitment of %s not restored: %s", back.code, err)

    async def _notify_plan(self, notice: PlanDeAnFinished) -> None:
        """Tell the plan this đề án settled or closed, so it releases what was not used now
        rather than at its next checkpoint. A plan that has ended cannot be told (its year is
        closed: what this đề án leaves unused is not returned to it); the warning says so."""
        plan_id = self._state.plan_id
        assert plan_id is not None
        try:
            await workflow.get_external_workflow_handle(plan_id).signal("de_an_finished", notice)
        except FailureError as err:
            workflow.logger.warning(
                "plan %s not told that %s finished: %s", plan_id, notice.code, err
            )
        self._resumed()

    async def _persist(self, outcome: decisions.Outcome) -> None:
        step = outcome.step
        if step.payment is not None:
            name = RECORD_PAYMENT
        elif step.deadline is not None:
            name = RECORD_MISSED_DEADLINE
        else:
            name = RECORD_STEP
        await self._short_activity(name, step, bool, step.summary[:200])

    async def _short_activity(self, name: str, arg: Any, result_type: Any, summary: str) -> Any:
        """One short PostgreSQL read or write (milliseconds, idempotent by its key): a local
        activity on the lean path (:data:`LOCAL_WRITES_PATCH`), handed to a regular activity
        if it has not succeeded in :data:`LOCAL_ATTEMPTS` attempts; a regular activity before
        it.
        A refusal (a non-retryable failure) is raised as it came, either way."""
        try:
            result = await self._run_short_activity(name, arg, result_type, summary)
        except Exception:
            self._resumed()  # a failure: what follows emits commands too
            raise
        # Not in a ``finally``: a coroutine closed by an eviction (GeneratorExit) is outside
        # the workflow's event loop, where asking the history length raises.
        self._resumed()
        return result

    async def _run_short_activity(self, name: str, arg: Any, result_type: Any, summary: str) -> Any:
        """:meth:`_short_activity` without the bookkeeping of :meth:`_resumed`."""
        if self._is_lean():
            try:
                return await workflow.execute_local_activity(
                    name,
                    arg,
                    result_type=result_type,
                    start_to_close_timeout=PERSIST_TIMEOUT,
                    retry_policy=LOCAL_RETRY,
                    summary=summary,
                )
            except FailureError as err:
                # The SDK raises a local activity's own failure as it is, where a regular
                # one's comes wrapped: callers read ``ActivityError.cause`` either way.
                failed = err if isinstance(err, ActivityError) else wrapped(name, err)
                cause = failed.cause
                if isinstance(cause, ApplicationError) and (
                    cause.non_retryable
                    or cause.type in (LOCAL_RETRY.non_retryable_error_types or ())
                ):
                    raise failed from cause  # a refusal: the regular activity would refuse too
                workflow.logger.warning(
                    "%s did not succeed locally in %d attempts (%s): handed to a regular activity",
                    name,
                    LOCAL_RETRY.maximum_attempts,
                    cause or err,
                )
        return await workflow.execute_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=PERSIST_TIMEOUT,
            retry_policy=PERSIST_RETRY,
            summary=summary,
        )

    async def _persist_decided(
        self, outcome: decisions.Outcome, *, registering: bool = False
    ) -> None:
        """Persist a step an official's action (or the registration) decided. A step the
        database cannot store refuses the action (``NotStored``): the state is replaced only
        after this returns, so nothing changed; the caller's lock is released on the way out."""
        try:
            await self._persist(outcome)
        except ActivityError as err:
            if not self._patched(PERSIST_REFUSAL_PATCH):
                raise
            raise refusal_error(not_stored(outcome.step, err.cause, registering)) from None

    def _apply(self, outcome: decisions.Outcome, update_id: str | None) -> None:
        before = self._state
        self._state = outcome.state
        # A deactivation signalled while this step was being persisted landed on the state
        # the step replaces: carry it over, or that official could act again.
        for official_id in before.deactivated_officials:
            if official_id not in self._state.deactivated_officials:
                self._state.deactivated_officials.append(official_id)
        if update_id is not None:
            self._state.applied_update_ids = remember_update(
                self._state.applied_update_ids, update_id
            )
        self._version += 1
        workflow.set_current_details(self._details())
        if self._indexes_search_attributes():
            self._index(before)

    def _indexes_search_attributes(self) -> bool:
        """The one place the patch is asked (see :data:`SEARCH_ATTRIBUTES_PATCH`; taken
        without a marker on the lean path)."""
        return self._patched(SEARCH_ATTRIBUTES_PATCH)

    def _index(self, before: DeAnState) -> None:
        """Upsert the search attributes that this step changed (stage, approved support,
        overdue; the dossier's place after a resubmission). A resubmission that changes the
        beneficiary's tax code unsets ``KcTaxCodeHash``: only the starter knows the hash key,
        and a stale hash would find the đề án under the wrong beneficiary."""
        wanted = sa.state_values(self._state)
        if before.dossier.beneficiary.tax_code != self._state.dossier.beneficiary.tax_code:
            wanted[sa.KC_TAX_CODE_HASH] = None
        updates = sa.changes(workflow.info().typed_search_attributes, wanted)
        if updates:
            workflow.upsert_search_attributes(updates)

    def _already_applied(self, action: Action) -> DeAnActionResult:
        state = self._state
        return DeAnActionResult(
            de_an_id=state.de_an_id,
            action=action,
            stage=state.stage,
            stage_label=state.stage.label,
            message="thao tác này đã được ghi nhận trước đó (trùng mã cập nhật)",
            approved_support=state.approved_support,
            advanced=state.advanced,
            paid=state.paid,
        )

    def _details(self) -> str:
        state = self._state
        pending = decisions.pending_deadlines(state)
        lines = [
            f"**{state.dossier.code}** — {state.dossier.title}",
            f"Giai đoạn: **{state.stage.label}**",
            f"Phê duyệt: {format_dong(state.approved_support)} · "
            f"Đã tạm ứng: {format_dong(state.advanced)} · Đã chi: {format_dong(state.paid)}",
        ]
        if pending:
            lines.append(f"Hạn tiếp theo: {decisions.deadline_summary(pending[0])}")
        if state.missed_deadlines:
            lines.append(f"Quá hạn: {len(state.missed_deadlines)}")
        if state.payments_on_hold:
            lines.append("Chi trả đang tạm dừng theo kiến nghị kiểm tra")
        return "\n\n".join(lines)

    # --- the registration's answer -------------------------------------------------------

    @workflow.update(name=REGISTERED_UPDATE)
    async def registered(self) -> DeAnRegistration:
        """Wait until the registration step is recorded (the read model holds the đề án) and
        answer its summary; a refused registration fails this update with the refusal the
        workflow fails with (``IdentityNotProven``, ``NotStored``, a rule's code). Changes
        nothing: sent with the start, it replaces polling ``describe`` and ``state``."""
        await workflow.wait_condition(
            lambda: self._registered or self._registration_refused is not None
        )
        refused = self._registration_refused
        if refused is not None and not self._registered:
            if isinstance(refused, ApplicationError):
                raise ApplicationError(
                    refused.message, *refused.details, type=refused.type, non_retryable=True
                )
            raise ApplicationError(
                f"đăng ký đề án {self._state.dossier.code} thất bại: {refused}",
                type=type(refused).__name__,
                non_retryable=True,
            )
        state = self._state
        return DeAnRegistration(
            de_an_id=state.de_an_id,
            stage=state.stage,
            seq=state.seq,
            registered_on=state.registered_on,
        )

    @registered.validator
    def _registered_check(self) -> None:
        """Refuses (``DeAnBusy``) only an update arriving in a workflow task that already
        resumed on a result (the acceptance would follow that task's commands, an order no
        replay reproduces: :meth:`_check`). Not refused while registering: that is its use."""
        if self._in_resumed_task():
            code = self._state.dossier.code
            raise refusal_error(
                Refusal(
                    RefusalCode.BUSY,
                    f"đề án {code} vừa ghi nhận một bước; hãy gửi lại sau giây lát",
                )
            )

    # --- signals ----------------------------------------------------------------------------

    @workflow.signal
    def official_deactivated(self, notice: DeAnOfficialDeactivated) -> None:
        """Fire-and-forget from the officials register: from now on this official's actions
        are refused. Kept in the state, so it survives continue-as-new."""
        if notice.official_id not in self._state.deactivated_officials:
            self._state.deactivated_officials.append(notice.official_id)

    # --- queries ----------------------------------------------------------------------------

    @workflow.query
    def state(self) -> DeAnState:
        return self._state

    @workflow.query
    def timeline(self) -> list[DeAnTimelineEntry]:
        """The last :data:`TIMELINE_KEPT` entries (the whole timeline is the read model's
        ``de_an_event`` rows: ``khuyencong de-an show``)."""
        return self._state.timeline


__all__ = ["REGISTERED_UPDATE", "DeAnWorkflow", "Stage"]
