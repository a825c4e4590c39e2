"""The Temporal history of a closed đề án, kept in PostgreSQL beyond the namespace's retention.

**Why a sweep, not an activity at closing.** An activity the workflow runs as it closes would
fetch a history that is not finished: its own completion, the last workflow task and the
workflow's completion are written after it returns, and a change of the workflow's commands
would need a patch (``workflow.patched``) that every recorded history must replay past. A
sweep reads only closed runs, so what it stores is the whole, final history (every run of a
đề án that continued as new, each linked to the one before), and the workflow code does not
change. :func:`export_closed` finds the đề án whose read model is closed or rejected and whose
history is not stored yet; a run still open (the workflow finishing its last handlers) is left
for the next round. The worker runs it every ``KHUYENCONG_HISTORY_EXPORT_SECONDS`` (300 by
default, far inside any retention); ``khuyencong audit export-histories`` runs it by hand.

**What is stored.** Per run (:mod:`db.history`): Temporal's own history JSON, with every
payload decoded by the client's codec (the project converter: ``KHUYENCONG_CODEC_KEYS``), so
it is readable without the keys and replays as it is (``WorkflowHistory.from_json``); gzip-
compressed; with its SHA-256, size, event count, first and last event time, and how the run
ended.

``khuyencong de-an history CODE`` (:func:`read_history`) reads the runs from Temporal, or from
PostgreSQL when Temporal no longer has them (``--source`` chooses).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
from base64 import b64decode
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import structlog
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import PayloadCodec
from temporalio.service import RPCError, RPCStatusCode

from db import history as history_db
from domain.model import workflow_id_for
from domain.stages import Stage
from khuyencong.admin.errors import NotFound

log = structlog.get_logger(__name__)

CLOSING_EVENTS: dict[int, str] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "completed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "canceled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed_out",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued_as_new",
}

TERMINAL_STAGES = [s.value for s in Stage if s.terminal]


class NotInTemporal(LookupError):
    """Temporal has no history of this workflow (never started, or past retention)."""


# --- decoding -----------------------------------------------------------------------------------


def payloads_in(message: Message) -> list[Payload]:
    """Every payload anywhere in a proto message (maps, lists, nested), to decode in place."""
    found: list[Payload] = []
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif descriptor.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Payload):
                found.append(item)
            elif isinstance(item, Message):
                found.extend(payloads_in(item))
    return found


async def decode_events(events: list[HistoryEvent], codec: PayloadCodec | None) -> None:
    """Decode every payload of ``events`` in place (no codec: they are in clear already)."""
    if codec is None:
        return
    for event in events:
        payloads = payloads_in(event)
        if not payloads:
            continue
        decoded = await codec.decode(payloads)
        for target, clear in zip(payloads, decoded, strict=True):
            if clear is not target:
                target.CopyFrom(clear)


# --- runs ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """One run of a đề án's workflow: its events (decoded), how it ended, where it came from."""

    workflow_id: str
    run_id: str
    events: list[HistoryEvent]
    run_index: int = 0
    previous_run_id: str | None = None

    @property
    def status(self) -> str:
        last = self.events[-1].event_type if self.events else 0
        return CLOSING_EVENTS.get(last, "running")

    def json_text(self) -> str:
        return WorkflowHistory(self.workflow_id, self.events).to_json()


async def fetch_runs(client: Client, workflow_id: str) -> list[Run]:
    """Every run of the workflow, oldest first, payloads decoded with the client's codec.
    Raises :class:`NotInTemporal` when Temporal has none."""
    codec = client.data_converter.payload_codec
    runs: list[Run] = []
    run_id: str | None = None
    try:
        run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
        while run_id:
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            events = list(history.events)
            await decode_events(events, codec)
            started = events[0].workflow_execution_started_event_attributes
            previous = started.continued_execution_run_id or None
            runs.append(Run(workflow_id, run_id, events, previous_run_id=previous))
            run_id = previous
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        if not runs:
            raise NotInTemporal(f"Temporal không còn lịch sử của {workflow_id}") from None
        # an older run already past retention: keep what is left
    runs.reverse()
    for index, run in enumerate(runs, start=1):
        run.run_index = index
    return runs


def _row_of(run: Run, de_an_id: str) -> history_db.HistoryRunRow:
    text = run.json_text().encode("utf-8")
    return history_db.HistoryRunRow(
        workflow_id=run.workflow_id,
        run_id=run.run_id,
        de_an_id=de_an_id,
        run_index=run.run_index,
        previous_run_id=run.previous_run_id,
        status=run.status,
        event_count=len(run.events),
        first_event_at=run.events[0].event_time.ToDatetime(tzinfo=UTC),
        last_event_at=run.events[-1].event_time.ToDatetime(tzinfo=UTC),
        history=gzip.compress(text, mtime=0),
        sha256=hashlib.sha256(text).hexdigest(),
        size_bytes=len(text),
    )


async def export_de_an(client: Client, pool: Any, de_an_id: str) -> int | None:
    """Store every run of a đề án whose workflow has closed; the number of runs stored now, or
    None when the workflow is still running (try again later)."""
    workflow_id = workflow_id_for(de_an_id)
    runs = await fetch_runs(client, workflow_id)
    if runs[-1].status == "running":
        return None
    # Serialising and compressing a long history is CPU work: off the worker's event loop,
    # which its activities and workflow tasks share.
    rows = await asyncio.to_thread(lambda: [_row_of(run, de_an_id) for run in runs])
    async with pool.acquire() as conn, conn.transaction():
        return await history_db.insert_runs(conn, rows)


@dataclass
class ExportReport:
    exported: list[str] = field(default_factory=list)
    still_running: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # Temporal no longer had them

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "exported": self.exported,
            "still_running": self.still_running,
            "lost": self.lost,
        }

    def describe(self) -> str:
        lines = [f"Đã xuất lịch sử của {len(self.exported)} đề án."]
        if self.still_running:
            lines.append(f"Chưa kết thúc hẳn (lượt sau): {', '.join(self.still_running)}")
        if self.lost:
            lines.append(f"Temporal không còn lịch sử: {', '.join(self.lost)}")
        return "\n".join(lines)


async def export_closed(client: Client, pool: Any, *, limit: int = 200) -> ExportReport:
    """Export the histories of closed đề án not exported yet (see the module)."""
    report = ExportReport()
    async with pool.acquire() as conn:
        candidates = await history_db.closed_not_exported(conn, TERMINAL_STAGES, limit)
    for row in candidates:
        de_an_id = row["de_an_id"]
        try:
            stored = await export_de_an(client, pool, de_an_id)
        except NotInTemporal:
            log.warning("history past retention, not exported", de_an_id=de_an_id)
            report.lost.append(de_an_id)
            continue
        if stored is None:
            report.still_running.append(de_an_id)
        else:
            report.exported.append(de_an_id)
    if report.exported:
        log.info("histories exported", count=len(report.exported))
    return report


@contextlib.asynccontextmanager
async def history_exporter(client: Client, pool: Any, interval: float) -> AsyncIterator[None]:
    """Run :func:`export_closed` every ``interval`` seconds while the context is open (the
    worker's); 0: never. A failed round is logged and tried again next time. The first round
    waits one interval: a worker that starts serves its đề án first, then works through the
    backlog of closed ones (200 a round)."""
    if interval <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await export_closed(client, pool)
            except Exception as exc:  # a round fails (server away): the next one retries
                log.warning("history export round failed", error=str(exc))

    task = asyncio.create_task(loop(), name="history-export")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# --- reading ------------------------------------------------------------------------------------


@dataclass
class HistoryView:
    de_an_id: str
    source: str  # temporal | postgres
    runs: list[Run]

    def as_dict(self) -> dict[str, Any]:
        return {
            "de_an_id": self.de_an_id,
            "source": self.source,
            "runs": [
                {
                    "run_id": run.run_id,
                    "run_index": run.run_index,
                    "previous_run_id": run.previous_run_id,
                    "status": run.status,
                    "history": json.loads(run.json_text()),
                }
                for run in self.runs
            ],
        }

    def describe(self) -> str:
        where = "Temporal" if self.source == "temporal" else "PostgreSQL (bản xuất khi kết thúc)"
        lines = [f"Lịch sử của đề án {self.de_an_id}, từ {where}: {len(self.runs)} lượt chạy"]
        for run in self.runs:
            lines.append(f"-- lượt {run.run_index} ({run.run_id}, {run.status})")
            for event in run.events:
                lines.append(describe_event(event))
        return "\n".join(lines)


def describe_event(event: HistoryEvent) -> str:
    """One line: number, time, type, and the payloads' text when they are JSON or plain."""
    at = event.event_time.ToDatetime(tzinfo=UTC).strftime("%d/%m/%Y %H:%M:%S")
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    texts = []
    for payload in payloads_in(event):
        encoding = payload.metadata.get("encoding", b"")
        if encoding.startswith(b"json") or encoding == b"binary/plain":
            texts.append(payload.data.decode("utf-8", "replace"))
        elif encoding == b"binary/encrypted":
            texts.append("<đã mã hoá>")
    detail = f" {' | '.join(texts)}" if texts else ""
    if len(detail) > 300:
        detail = detail[:297] + "..."
    return f"{event.event_id:>5} {at} {name}{detail}"


def _run_of_row(row: Any) -> Run:
    history = WorkflowHistory.from_json(
        row["workflow_id"], gzip.decompress(row["history"]).decode()
    )
    return Run(
        row["workflow_id"],
        row["run_id"],
        list(history.events),
        run_index=row["run_index"],
        previous_run_id=row["previous_run_id"],
    )


async def read_history(client: Client, pool: Any, code: str, source: str = "auto") -> HistoryView:
    """The đề án's runs from Temporal (``temporal``), from PostgreSQL (``postgres``), or from
    Temporal and else PostgreSQL (``auto``)."""
    workflow_id = workflow_id_for(code)
    if source in ("auto", "temporal"):
        try:
            return HistoryView(code, "temporal", await fetch_runs(client, workflow_id))
        except NotInTemporal:
            if source == "temporal":
                raise NotFound(f"Temporal không còn lịch sử của đề án {code}") from None
    async with pool.acquire() as conn:
        rows = await history_db.runs_of(conn, workflow_id)
    if not rows:
        raise NotFound(
            f"không có lịch sử của đề án {code}: Temporal không còn, PostgreSQL chưa lưu"
        )
    return HistoryView(code, "postgres", [_run_of_row(r) for r in rows])


def payload_text(payload: dict[str, Any]) -> str:
    """The data of a payload of the history JSON, as text (tests, tools)."""
    return b64decode(payload.get("data", "")).decode("utf-8", "replace")
