"""The history of a closed đề án, exported to PostgreSQL: every run of a đề án that continued
as new, decoded with the project codec (the server holds ciphertext), gzip-compressed, and
replayable as stored."""

from __future__ import annotations

import gzip
import hashlib
import itertools
from typing import Any

import asyncpg
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.model import workflow_id_for
from domain.stages import Stage
from khuyencong.audit.history import export_closed, export_de_an, read_history
from khuyencong.converter import data_converter
from tests.support.builders import KE_TOAN_BG, SO, TRUNG_TAM, UBND, dossier_on, new_code
from tests.support.histories import payloads_in
from tests.support.lifecycle import Driver, appraisal, approval, contract, today_of
from tests.support.temporal import encrypting_client, new_task_queue, run_worker
from workflows.de_an import DeAnWorkflow
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnInput,
    DeAnPaySettlement,
    DeAnRecordVisit,
    DeAnSettle,
)

OWNER = "Hộ kinh doanh Nguyễn Thị Lịch Sử"
ENCRYPTED = b"binary/encrypted"


def encodings(history: WorkflowHistory) -> set[bytes]:
    return {
        payload.metadata.get("encoding", b"")
        for event in history.events
        for payload in payloads_in(event)
    }


async def test_a_closed_de_an_s_runs_are_stored_decoded_linked_and_replayable(
    ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool
) -> None:
    client = encrypting_client(ts_env.client)
    tq = new_task_queue()
    today = await today_of(ts_env)
    dossier = dossier_on(
        today,
        code=new_code("HIS"),
        support_item="training",
        cost=100_000_000,
        requested_support=100_000_000,
        beneficiary={"name": OWNER, "type": "ho_kinh_doanh", "tax_code": "2400999888"},
    )
    workflow_id = workflow_id_for(dossier.code)
    async with run_worker(client, db_pool, tq):
        handle: Any = await client.start_workflow(
            DeAnWorkflow.run,
            DeAnInput(
                dossier=dossier,
                registered_by=TRUNG_TAM,
                registered_on=today,
                history_event_limit=100,  # the least: continues as new every dozen steps
            ),
            id=workflow_id,
            task_queue=tq,
        )
        Driver.started.append(handle)
        d = Driver(client, client.get_workflow_handle_for(DeAnWorkflow.run, workflow_id))
        await d.until(lambda s: s.seq >= 1)
        assert await export_de_an(client, db_pool, dossier.code) is None  # still running
        for command in [
            appraisal(SO, today),
            approval(UBND, today, 100_000_000),
            contract(SO, today, 100_000_000),
            *(
                DeAnRecordVisit(actor=SO, visited_on=today, minutes_number=f"KT-{n}")
                for n in range(12)
            ),
            DeAnAccept(
                actor=SO,
                minutes_number="NT-1",
                accepted_on=today,
                accepted_cost=100_000_000,
                accepted_volume_bp=10000,
            ),
            DeAnSettle(actor=SO, settlement_number="QT-1", settled_on=today),
            DeAnPaySettlement(actor=KE_TOAN_BG, paid_on=today, voucher_number="C-1"),
        ]:
            await d.act(command)
        assert (await d.handle.result()).stage is Stage.CLOSED

        report = await export_closed(client, db_pool)
    assert dossier.code in report.exported

    rows = await db_pool.fetch(
        "SELECT * FROM de_an_history WHERE de_an_id = $1 ORDER BY run_index", dossier.code
    )
    assert len(rows) >= 2
    assert [r["run_index"] for r in rows] == list(range(1, len(rows) + 1))
    assert [r["status"] for r in rows] == ["continued_as_new"] * (len(rows) - 1) + ["completed"]
    assert rows[0]["previous_run_id"] is None
    assert all(r["previous_run_id"] == p["run_id"] for p, r in itertools.pairwise(rows))
    replayer = Replayer(workflows=[DeAnWorkflow], data_converter=data_converter)  # no keys
    for row in rows:
        text = gzip.decompress(row["history"])
        assert hashlib.sha256(text).hexdigest() == row["sha256"]
        assert len(text) == row["size_bytes"] > len(row["history"])
        history = WorkflowHistory.from_json(workflow_id, text.decode())
        assert ENCRYPTED not in encodings(history)  # decoded ...
        await replayer.replay_workflow(history)
    raw_first = await ts_env.client.get_workflow_handle(
        workflow_id, run_id=rows[0]["run_id"]
    ).fetch_history()
    assert ENCRYPTED in encodings(raw_first)  # ... while Temporal holds ciphertext

    # A second sweep finds nothing to do; the history reads the same from either side.
    assert dossier.code not in (await export_closed(client, db_pool)).exported
    stored = await read_history(client, db_pool, dossier.code, "postgres")
    live = await read_history(client, db_pool, dossier.code, "temporal")
    assert [r.run_id for r in stored.runs] == [r.run_id for r in live.runs]
    assert stored.as_dict()["runs"] == live.as_dict()["runs"]
    assert OWNER in stored.describe()
