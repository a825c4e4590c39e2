"""``khuyencong problems``: the đề án whose workflow keeps failing, for the operator.

A đề án refuses bad input before it enters the history, and a step the database cannot store
is refused rather than retried (``NotStored``). What is left keeps retrying: a database that
is down, a bug in a deployed worker. Temporal retries without end, so nothing fails and
nothing is seen; this command asks the server which running đề án are stuck:

- a **workflow task** that fails (its pending task is on attempt 2 or more: the workflow code
  raised, or replay met a nondeterminism error); the error is the last ``WorkflowTaskFailed``
  event of its history;
- an **activity** on more than ``min_attempts`` attempts (``describe()``: its attempt and last
  failure). A step's write is a local activity (``local-writes-v1``), which the server never
  lists; one that still fails after its local attempts (``workflows.de_an.LOCAL_ATTEMPTS``,
  ~15 s) is handed to the same activity as a regular one, and is listed here from then on.

The running đề án come from visibility (``list_workflows``), so this needs a server with
visibility (the dev server or a real cluster; not the time-skipping test server).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

DE_AN_WORKFLOW = "DeAnWorkflow"
DE_AN_PREFIX = "de-an/"
DEFAULT_MIN_ATTEMPTS = 3
"""An activity is listed once it is past this many attempts (attempt > 3: about 7 s of
retries with the persist policy's 1 s, 2 s, 4 s backoff)."""
CONCURRENCY = 16
"""Workflows described at once."""
WORKFLOW_TASK = "workflow task"


@dataclass(frozen=True)
class Problem:
    code: str
    workflow_id: str
    run_id: str
    failing: str = ""
    """``workflow task`` or ``activity <type>``."""
    attempts: int = 0
    last_error: str = ""


def running_query(workflow_type: str = DE_AN_WORKFLOW) -> str:
    return f'WorkflowType="{workflow_type}" AND ExecutionStatus="Running"'


async def find_problems(
    client: Client,
    *,
    min_attempts: int = DEFAULT_MIN_ATTEMPTS,
    workflow_type: str = DE_AN_WORKFLOW,
) -> list[Problem]:
    """Every running đề án whose workflow task fails or whose pending activity is past
    ``min_attempts`` attempts, by code."""
    ids = [
        (w.id, w.run_id)
        async for w in client.list_workflows(running_query(workflow_type), page_size=500)
    ]
    limit = asyncio.Semaphore(CONCURRENCY)

    async def check(workflow_id: str, run_id: str) -> list[Problem]:
        async with limit:
            try:
                handle = client.get_workflow_handle(workflow_id, run_id=run_id)
                description = await handle.describe()
            except RPCError:
                return []  # closed or deleted since it was listed
            return await problems_of(client, description, min_attempts)

    found = await asyncio.gather(*(check(w, r) for w, r in ids))
    return sorted((p for ps in found for p in ps), key=lambda p: (p.code, p.failing))


async def problems_of(
    client: Client, description: WorkflowExecutionDescription, min_attempts: int
) -> list[Problem]:
    raw = description.raw_description
    base = dict(
        code=description.id.removeprefix(DE_AN_PREFIX),
        workflow_id=description.id,
        run_id=description.run_id,
    )
    out: list[Problem] = []
    if raw.HasField("pending_workflow_task") and raw.pending_workflow_task.attempt > 1:
        task = raw.pending_workflow_task
        out.append(
            Problem(
                **base,
                failing=WORKFLOW_TASK,
                attempts=task.attempt,
                last_error=await last_workflow_task_error(client, description),
            )
        )
    for activity in raw.pending_activities:
        if activity.attempt <= min_attempts:
            continue
        error = ""
        if activity.HasField("last_failure"):
            error = await failure_text(client, activity.last_failure)
        out.append(
            Problem(
                **base,
                failing=f"activity {activity.activity_type.name}",
                attempts=activity.attempt,
                last_error=error,
            )
        )
    return out


async def failure_text(client: Client, failure: Failure) -> str:
    """A failure as people read it: decoded with the client's codec when it has the keys
    (failure messages are encrypted with the payloads), its type first when it has one."""
    copy = Failure()
    copy.CopyFrom(failure)
    try:
        error = await client.data_converter.decode_failure(copy)
    except Exception:  # no keys for an encrypted failure: show what is in clear
        return failure.message
    text = str(error) or failure.message
    cause = error.__cause__
    while cause is not None:  # e.g. the activity's ApplicationError under an ActivityError
        text += f" ← {cause}"
        cause = cause.__cause__
    kind = error.type if isinstance(error, ApplicationError) and error.type else None
    kind = kind or type(error).__name__
    return text if text.startswith(kind) else f"[{kind}] {text}"


async def last_workflow_task_error(
    client: Client, description: WorkflowExecutionDescription
) -> str:
    """The failure of the last ``WorkflowTaskFailed`` event (later attempts of a failing task
    are not written to the history: the first one is)."""
    request = GetWorkflowExecutionHistoryReverseRequest(
        namespace=client.namespace,
        execution=WorkflowExecution(workflow_id=description.id, run_id=description.run_id),
        maximum_page_size=100,
    )
    try:
        response = await client.workflow_service.get_workflow_execution_history_reverse(request)
    except RPCError as exc:
        return f"(lịch sử không đọc được: {exc.message})"
    for event in response.history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attributes = event.workflow_task_failed_event_attributes
            return await failure_text(client, attributes.failure)
    return ""


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render(problems: Sequence[Problem], *, width: int = 120) -> list[str]:
    """The table ``khuyencong problems`` prints (plain text: it goes to logs and mail)."""
    if not problems:
        return ["Không có đề án nào đang lỗi."]
    headers = ("Mã đề án", "Đang lỗi", "Lần thử", "Lỗi gần nhất")
    rows = [(p.code, p.failing, str(p.attempts), p.last_error) for p in problems]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers[:3])]
    error_width = max(30, width - sum(widths) - 6)

    def line(cells: Sequence[str]) -> str:
        first = "  ".join(c.ljust(w) for c, w in zip(cells[:3], widths, strict=True))
        return f"{first}  {shorten(cells[3], error_width)}".rstrip()

    out = [line(headers), line(["-" * w for w in widths] + ["-" * 12])]
    out += [line(r) for r in rows]
    out.append(f"{len(problems)} vấn đề ở {len({p.workflow_id for p in problems})} đề án")
    return out
