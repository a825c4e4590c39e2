"""What must hold once the faults stop, checked against Temporal and PostgreSQL.

For every đề án of the run:

- it ended at the stage its path promises, with the promised money (its workflow result);
- its workflow is not stuck: closed, no pending activity retrying, no workflow task that
  failed for a nondeterminism or an unhandled error, no ``TemporalReportedProblems``;
- its history replays with the current ``DeAnWorkflow`` and the project's data converter;
- PostgreSQL holds each of its steps once (events ``1..seq``), each payment once and each
  advance request once, and the read-model row says what the workflow says;
- Σ paid in PostgreSQL = Σ paid in the workflows' results (= Σ promised by the paths).

A history that fails any check is exported as JSON (payloads encrypted as recorded; the key
is written beside it as ``codec-keys``) so it can become a replay test.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.worker import Replayer

from domain.model import workflow_id_for
from domain.stages import Action
from khuyencong.admin.client import STATE_QUERY
from khuyencong.chaos.paths import LifePath
from khuyencong.codec import CodecKeys, EncryptionCodec
from khuyencong.converter import converter_with
from workflows.de_an import DeAnWorkflow
from workflows.de_an_contract import DeAnResult, DeAnState

PROBLEM_CAUSES = {
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
}
"""Workflow-task failures that are bugs (the others, e.g. an unhandled command racing a new
update, are retried at once by design and only counted)."""


@dataclass
class Life:
    """One đề án of the run and what happened to its official."""

    code: str
    path: LifePath
    error: str | None = None

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.code)


@dataclass
class Check:
    name: str
    failures: list[str] = field(default_factory=list)
    counted: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Observed:
    """What Temporal says about one đề án."""

    life: Life
    status: WorkflowExecutionStatus | None = None
    result: DeAnResult | None = None
    state: DeAnState | None = None
    history: WorkflowHistory | None = None
    task_failures: Counter[str] = field(default_factory=Counter)
    task_timeouts: int = 0
    activity_failures: int = 0
    pending_attempts: list[int] = field(default_factory=list)
    reported_problems: str | None = None
    replay_error: str | None = None
    read_error: str | None = None


@dataclass
class Verdict:
    checks: list[Check]
    observed: list[Observed]
    exported: list[Path]
    totals: dict[str, int]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


async def wait_until_closed(client: Client, lives: list[Life], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(lives)
    while pending and time.monotonic() < deadline:
        still = []
        for life in pending:
            try:
                desc = await client.get_workflow_handle(life.workflow_id).describe()
                if desc.status == WorkflowExecutionStatus.RUNNING:
                    still.append(life)
            except Exception:
                still.append(life)
        pending = still
        if pending:
            await asyncio.sleep(1.0)


async def observe(client: Client, life: Life, replayer: Replayer) -> Observed:
    seen = Observed(life)
    handle = client.get_workflow_handle(life.workflow_id, result_type=DeAnResult)
    try:
        desc = await handle.describe()
        seen.status = desc.status
        raw = desc.raw_description
        seen.pending_attempts = [p.attempt for p in raw.pending_activities]
        indexed = raw.workflow_execution_info.search_attributes.indexed_fields
        if "TemporalReportedProblems" in indexed:
            seen.reported_problems = indexed["TemporalReportedProblems"].data.decode(
                "utf-8", "replace"
            )
        if desc.status == WorkflowExecutionStatus.COMPLETED:
            seen.result = await handle.result()
        seen.state = await handle.query(STATE_QUERY, result_type=DeAnState)
        seen.history = await handle.fetch_history()
    except Exception as exc:
        seen.read_error = f"{type(exc).__name__}: {exc}"[:300]
    if seen.history is not None:
        for event in seen.history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                cause = event.workflow_task_failed_event_attributes.cause
                seen.task_failures[WorkflowTaskFailedCause.Name(cause)] += 1
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                seen.task_timeouts += 1
            elif event.event_type in (
                EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
                EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
            ):
                seen.activity_failures += 1
        replay = await replayer.replay_workflow(seen.history, raise_on_replay_failure=False)
        if replay.replay_failure is not None:
            seen.replay_error = str(replay.replay_failure)[:400]
    return seen


def _problem_failures(seen: Observed) -> int:
    return sum(
        n
        for cause, n in seen.task_failures.items()
        if WorkflowTaskFailedCause.Value(cause) in PROBLEM_CAUSES
    )


async def check_run(
    client: Client,
    pool: Any,
    lives: list[Life],
    codec_keys: CodecKeys,
    codec_keys_text: str,
    out: Path,
    *,
    settle_timeout: float = 120.0,
) -> Verdict:
    # A lifecycle whose official gave up will not close: do not wait for it.
    await wait_until_closed(client, [life for life in lives if not life.error], settle_timeout)
    replayer = Replayer(
        workflows=[DeAnWorkflow], data_converter=converter_with(EncryptionCodec(codec_keys))
    )
    observed = [await observe(client, life, replayer) for life in lives]
    ids = [life.code for life in lives]
    rows = {
        r["de_an_id"]: r
        for r in await pool.fetch(
            "SELECT de_an_id, stage, paid, advanced, refunded, seq FROM de_an"
            " WHERE de_an_id = ANY($1::text[])",
            ids,
        )
    }
    events: dict[str, list[int]] = {}
    for r in await pool.fetch(
        "SELECT de_an_id, seq FROM de_an_event WHERE de_an_id = ANY($1::text[]) ORDER BY seq", ids
    ):
        events.setdefault(r["de_an_id"], []).append(r["seq"])
    payments: dict[str, list[tuple[str, int]]] = {}
    for r in await pool.fetch(
        "SELECT de_an_id, kind, amount FROM payment WHERE de_an_id = ANY($1::text[])"
        " ORDER BY kind, amount",
        ids,
    ):
        payments.setdefault(r["de_an_id"], []).append((r["kind"], int(r["amount"])))
    requests: Counter[str] = Counter(
        r["de_an_id"]
        for r in await pool.fetch(
            "SELECT de_an_id FROM advance_request WHERE de_an_id = ANY($1::text[])", ids
        )
    )

    officials = Check("officials: no unexpected refusal or outage")
    stages = Check("final stage and money as the path promises")
    stuck = Check("no workflow stuck or failing its tasks")
    replay = Check("every history replays with the current code")
    lost_events = Check("PostgreSQL events: 0 lost, 0 duplicate")
    lost_payments = Check("payments: 0 lost, 0 duplicate")
    lost_advances = Check("advances: 0 lost, 0 duplicate")
    read_model = Check("read model (de_an row) = workflow")
    bad: set[str] = set()

    def fail(check: Check, seen: Observed, text: str) -> None:
        check.failures.append(f"{seen.life.code} ({seen.life.path.name}): {text}")
        bad.add(seen.life.code)

    for seen in observed:
        life, path = seen.life, seen.life.path
        if life.error:
            fail(officials, seen, life.error)
        result = seen.result
        if seen.read_error:
            fail(stuck, seen, f"cannot read: {seen.read_error}")
        if seen.status != WorkflowExecutionStatus.COMPLETED or result is None:
            status = seen.status.name if seen.status else "?"
            fail(stages, seen, f"status {status}, expected completed at {path.stage.value}")
        else:
            got = (result.stage.value, result.paid, result.advanced, result.refunded)
            want = (path.stage.value, path.paid, path.advanced, path.refunded)
            if got != want:
                fail(stages, seen, f"(stage, paid, advanced, refunded) = {got}, expected {want}")
        if seen.status == WorkflowExecutionStatus.RUNNING:
            fail(stuck, seen, f"still running; pending activity attempts {seen.pending_attempts}")
        if any(a > 1 for a in seen.pending_attempts):
            fail(stuck, seen, f"activity retrying (attempts {seen.pending_attempts})")
        if _problem_failures(seen):
            fail(stuck, seen, f"workflow task failures {dict(seen.task_failures)}")
        if seen.reported_problems:
            fail(stuck, seen, f"TemporalReportedProblems = {seen.reported_problems}")
        if seen.replay_error:
            fail(replay, seen, seen.replay_error)
        state = seen.state
        seqs = events.get(life.code, [])
        if len(seqs) != len(set(seqs)):
            dups = sorted(s for s, n in Counter(seqs).items() if n > 1)
            fail(lost_events, seen, f"duplicate events at seq {dups}")
        if state is not None:
            missing = sorted(set(range(1, state.seq + 1)) - set(seqs))
            extra = sorted(set(seqs) - set(range(1, state.seq + 1)))
            if missing or extra:
                fail(lost_events, seen, f"workflow seq {state.seq}; lost {missing}, extra {extra}")
        if len(seqs) != path.events:
            fail(lost_events, seen, f"{len(seqs)} events, the path makes {path.events}")
        got_payments = payments.get(life.code, [])
        if got_payments != sorted(path.payments):
            fail(lost_payments, seen, f"payments {got_payments}, expected {sorted(path.payments)}")
        wanted_requests = sum(
            1 for s in path.steps if s.action is Action.REQUEST_ADVANCE and s.refusal is None
        )
        held = [wanted_requests] + ([len(state.advances)] if state is not None else [])
        if any(requests[life.code] != n for n in held):
            fail(
                lost_advances,
                seen,
                f"{requests[life.code]} advance requests in PostgreSQL; workflow {held[1:]}, "
                f"path {wanted_requests}",
            )
        row = rows.get(life.code)
        if row is None:
            fail(read_model, seen, "no de_an row")
        elif result is not None:
            got_row = (row["stage"], row["paid"], row["advanced"], row["refunded"])
            want_row = (result.stage.value, result.paid, result.advanced, result.refunded)
            if got_row != want_row:
                fail(read_model, seen, f"row {got_row}, workflow {want_row}")

    paid_pg = sum(int(r["paid"]) for r in rows.values())
    paid_payments = sum(
        amount for rows_ in payments.values() for kind, amount in rows_ if kind != "refund"
    )
    paid_results = sum(s.result.paid for s in observed if s.result is not None)
    paid_paths = sum(life.path.paid for life in lives)
    sums = Check("Σ paid: PostgreSQL = workflow results")
    sums.counted = (
        f"de_an.paid {paid_pg:,} · payment rows {paid_payments:,} · results {paid_results:,}"
        f" · paths {paid_paths:,}"
    )
    if len({paid_pg, paid_payments, paid_results, paid_paths}) != 1:
        sums.failures.append(sums.counted)

    stages.counted = f"{sum(1 for s in observed if s.result is not None)} of {len(lives)} closed"
    replay.counted = f"{sum(1 for s in observed if s.history is not None and not s.replay_error)}"
    replay.counted += f" of {len(lives)} replayed"
    task_failures = sum((s.task_failures for s in observed), Counter[str]())
    stuck.counted = (
        f"task failures {dict(task_failures) or 0} · task timeouts "
        f"{sum(s.task_timeouts for s in observed)} · activity failures/timeouts "
        f"{sum(s.activity_failures for s in observed)}"
    )
    lost_events.counted = f"{sum(len(v) for v in events.values())} events"
    lost_payments.counted = f"{sum(len(v) for v in payments.values())} payments"
    lost_advances.counted = f"{sum(requests.values())} requests"
    checks = [
        officials,
        stages,
        stuck,
        replay,
        lost_events,
        lost_payments,
        lost_advances,
        read_model,
        sums,
    ]
    exported = export(observed, bad, codec_keys_text, out)
    totals = {"paid_pg": paid_pg, "paid_results": paid_results, "paid_paths": paid_paths}
    return Verdict(checks, observed, exported, totals)


def export(observed: list[Observed], bad: set[str], keys_text: str, out: Path) -> list[Path]:
    """Failing histories as ``<out>/histories/<workflow id>.json`` and the key beside them."""
    written: list[Path] = []
    folder = out / "histories"
    for seen in observed:
        if seen.life.code not in bad or seen.history is None:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{seen.life.workflow_id.replace('/', '_')}.json"
        path.write_text(seen.history.to_json(), encoding="utf-8")
        written.append(path)
    if written:
        keys = folder / "codec-keys"
        keys.write_text(keys_text + "\n", encoding="utf-8")
        keys.chmod(0o600)
        (folder / "README.md").write_text(REPLAY_README, encoding="utf-8")
    return written


REPLAY_README = """# Histories that failed a check of `khuyencong chaos`

Exported as the server holds them (payloads encrypted with the run's throw-away key, in
`codec-keys`). Replay one against the current code, from the project root:

```python
import asyncio
from pathlib import Path
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from khuyencong.client import project_converter
from khuyencong.codec import CodecKeys
from workflows.de_an import DeAnWorkflow
keys = CodecKeys.from_file(Path("<this folder>/codec-keys"))
text = open("<this folder>/de-an_<CODE>.json", encoding="utf-8").read()
replayer = Replayer(workflows=[DeAnWorkflow], data_converter=project_converter(keys))
asyncio.run(replayer.replay_workflow(WorkflowHistory.from_json("de-an/<CODE>", text)))
```

Copy a file into `tests/histories/` (with the key the suite uses, or re-encrypted) to make it a
replay test.
"""
