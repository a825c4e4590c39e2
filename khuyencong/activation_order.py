"""A workflow runner that lets a history recorded with an update accepted *after* the commands
of its workflow task replay, instead of failing that task forever (TMPRL1100).

Why it is needed
----------------
The server delivers an update request with a workflow task, beside that task's new events
(an activity result, a timer). On a first execution the SDK has been seen to process them in
two activations of the same workflow task: the events first (their commands are emitted),
then the update (its acceptance comes last). On replay the SDK always hands both to the
workflow as *one* activation and runs the update before the resolutions, so the acceptance
is emitted before the commands the history recorded first, and the task fails with a
nondeterminism error ("patch marker ... no corresponding change command"). Both orders occur
in real histories and the activation looks the same for both, so no workflow code can tell
them apart (see ../shared/regressions/nondeterminism and docs/upgrading-workflows.md).

What this runner does
---------------------
It wraps the SDK's runner and watches each workflow instance's activations. A replayed
activation holding both update jobs and other jobs is *ambiguous*. It is given to the
workflow in the SDK's order, unless that order already failed for this run at this point of
its history: the eviction that follows a nondeterminism failure of an ambiguous activation
flips it, and the task's next attempt (Temporal retries a failed workflow task) hands the
workflow the events first and the updates second, as on the original execution. Each flip is
logged. A history that needs no flip replays exactly as under the plain runner.

New histories never need a flip: the workflows' validators refuse an update that arrives in
the workflow task whose results they have just processed (``DeAnBusy``), so an acceptance
never follows other commands of its task (:meth:`workflows.de_an.DeAnWorkflow._check`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import structlog
from temporalio.bridge.proto.workflow_activation import (
    RemoveFromCache,
    WorkflowActivation,
    WorkflowActivationJob,
)
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.client import WorkflowHistory
from temporalio.worker import (
    Replayer,
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowReplayResult,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import _Definition

log = structlog.get_logger(__name__)

_SEPARATE_JOBS = ("do_update",)
_NOT_A_REPLAY_FAILURE = (
    RemoveFromCache.EvictionReason.LANG_REQUESTED,
    RemoveFromCache.EvictionReason.TASK_NOT_FOUND,
    RemoveFromCache.EvictionReason.PAGINATION_OR_HISTORY_FETCH,
    RemoveFromCache.EvictionReason.WORKFLOW_EXECUTION_ENDING,
)
_NEUTRAL_JOBS = ("notify_has_patch", "update_random_seed")


def _kind(job: WorkflowActivationJob) -> str:
    return job.WhichOneof("variant") or ""


def mixes_updates(act: WorkflowActivation) -> bool:
    """The activation holds updates and other work (a result, a timer, a signal)."""
    kinds = [_kind(job) for job in act.jobs]
    has_update = any(kind in _SEPARATE_JOBS for kind in kinds)
    has_other = any(kind not in _SEPARATE_JOBS and kind not in _NEUTRAL_JOBS for kind in kinds)
    return has_update and has_other


def is_ambiguous(act: WorkflowActivation) -> bool:
    """A replayed activation whose updates may have come after its other jobs originally."""
    return act.is_replaying and mixes_updates(act)


def split_updates_last(act: WorkflowActivation) -> tuple[WorkflowActivation, WorkflowActivation]:
    """The activation as the original execution saw it: everything but the updates, then the
    updates (with the same time, history length and flags)."""
    first, second = WorkflowActivation(), WorkflowActivation()
    first.CopyFrom(act)
    second.CopyFrom(act)
    del first.jobs[:]
    del second.jobs[:]
    for job in act.jobs:
        (second if _kind(job) in _SEPARATE_JOBS else first).jobs.append(job)
    return first, second


def merge(
    first: WorkflowActivationCompletion, second: WorkflowActivationCompletion
) -> WorkflowActivationCompletion:
    """One completion for the workflow task: the commands of both activations, in order."""
    if not first.HasField("successful"):
        return first
    if not second.HasField("successful"):
        return second
    merged = WorkflowActivationCompletion()
    merged.CopyFrom(first)
    merged.successful.commands.extend(second.successful.commands)
    for flag in second.successful.used_internal_flags:
        if flag not in merged.successful.used_internal_flags:
            merged.successful.used_internal_flags.append(flag)
    return merged


class ActivationOrder:
    """What this process learnt: the points of a run's history whose updates go last.

    Keyed by run ID and the activation's history length (the workflow task's started event),
    which is the same on every replay of that task."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._updates_last: set[tuple[str, int]] = set()

    def updates_last(self, run_id: str, history_length: int) -> bool:
        with self._lock:
            return (run_id, history_length) in self._updates_last

    def flip(self, run_id: str, history_length: int) -> bool:
        """Swap the order for this point; True when updates now go last."""
        key = (run_id, history_length)
        with self._lock:
            if key in self._updates_last:
                self._updates_last.discard(key)
                return False
            self._updates_last.add(key)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._updates_last)


class _OrderedInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance, run_id: str, order: ActivationOrder) -> None:
        self._inner = inner
        self._run_id = run_id
        self._order = order
        self._last_ambiguous: int | None = None

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        if self._last_ambiguous is not None and self._nondeterminism_eviction(act):
            point = self._last_ambiguous
            last = self._order.flip(self._run_id, point)
            log.warning(
                "activation_order_flipped",
                run_id=self._run_id,
                history_length=point,
                updates_last=last,
                why="a replayed workflow task with updates failed as nondeterministic; "
                "its next attempt hands the workflow its updates "
                + ("after" if last else "before")
                + " its other jobs",
            )
        self._last_ambiguous = None
        if not is_ambiguous(act):
            return self._inner.activate(act)
        self._last_ambiguous = act.history_length
        if not self._order.updates_last(self._run_id, act.history_length):
            return self._inner.activate(act)
        first, second = split_updates_last(act)
        done = self._inner.activate(first)
        if not done.HasField("successful"):
            return done
        return merge(done, self._inner.activate(second))

    @staticmethod
    def _nondeterminism_eviction(act: WorkflowActivation) -> bool:
        """An eviction that can mean the replay failed. Right after an ambiguous replayed
        activation nothing else evicts a run: a replay that matches goes on to its next
        activation. (Core names the reason NONDETERMINISM, or CACHE_FULL when the cache holds
        no runs at all, as with ``max_cached_workflows=0``.)"""
        return any(
            _kind(job) == "remove_from_cache"
            and job.remove_from_cache.reason not in _NOT_A_REPLAY_FAILURE
            for job in act.jobs
        )

    # The rest is the wrapped instance's.
    def get_serialization_context(self, command_info):  # type: ignore[no-untyped-def]
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info):  # type: ignore[no-untyped-def]
        return self._inner.get_external_store_context(command_info)

    def get_info(self):  # type: ignore[no-untyped-def]
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()


class UpdateOrderRunner(WorkflowRunner):
    """The project's workflow runner: the SDK's sandboxed runner, with :class:`ActivationOrder`.

    Give it to every ``Worker`` and ``Replayer`` of the project (``worker.py`` and
    :func:`khuyencong.replay.replay_history` do)."""

    def __init__(
        self, inner: WorkflowRunner | None = None, order: ActivationOrder | None = None
    ) -> None:
        self.inner = inner or SandboxedWorkflowRunner()
        self.order = order or ActivationOrder()

    def prepare_workflow(self, defn: _Definition) -> None:
        self.inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _OrderedInstance(self.inner.create_instance(det), det.info.run_id, self.order)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self.inner.set_worker_level_failure_exception_types(types)


REPLAY_ATTEMPTS = 4


async def replay_as_worker(
    replayer: Replayer, history: WorkflowHistory, attempts: int = REPLAY_ATTEMPTS
) -> WorkflowReplayResult:
    """Replay ``history`` as a worker would run it: a workflow task that fails as
    nondeterministic is attempted again (Temporal retries it), and the
    :class:`UpdateOrderRunner` the replayer was built with has learnt from the failure.
    The last result is returned; ``replay_failure`` is None when the history replays."""
    result: Any = None
    for _ in range(attempts):
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is None:
            break
    assert isinstance(result, WorkflowReplayResult)
    return result
