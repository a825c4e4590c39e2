"""The walkthrough đề án, with its papers, for an inspector: documents attached to its steps
through the CLI, the evidence package written and verified offline, the chain verified, and
its Temporal history exported at close and read back from PostgreSQL once Temporal no longer
has it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import asyncpg
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.model import Role
from khuyencong.audit.history import history_exporter
from tests.khuyencong.admin.conftest import BG, Cli, Run, Stack, suffix, today
from tests.khuyencong.admin.test_lifecycle_cli import act, add_official
from tests.support.builders import dossier_on
from tests.support.s3 import S3Server
from tests.support.waiting import until

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_the_walkthrough_de_an_s_evidence_verifies_offline_and_its_history_outlives_temporal(
    stack: Stack, cli: Cli, tmp_path: Path, dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool
) -> None:
    store = {"KHUYENCONG_DOCUMENT_STORE_DIR": str(tmp_path / "documents")}

    async def run(*args: str, as_: str | None = None) -> Run:
        return await cli(*args, as_=as_, env=store)

    async def attach(official: str, step: str, kind: str, name: str) -> dict[str, object]:
        paper = tmp_path / name
        paper.write_bytes(PDF + name.encode())
        done = await run("de-an", "attach", code, str(paper), "--step", step, "--kind", kind,
                         "--json", as_=official)  # fmt: skip
        assert done.exit_code == 0, str(done)
        result: dict[str, object] = done.json()
        return result

    tag, day = suffix(), today()
    tt, so, ubnd, kt = (f"{k}-{tag}" for k in ("BG-TTKC", "BG-SCT", "BG-UBND", "BG-KT"))
    for official, role in [(tt, Role.TRUNG_TAM), (so, Role.SO_CONG_THUONG),
                           (ubnd, Role.UBND_TINH), (kt, Role.TAI_CHINH)]:  # fmt: skip
        await add_official(cli, official, role, BG)
    code = stack.new_code("DP")
    dossier = tmp_path / "de-an.json"
    dossier.write_text(dossier_on(day, code=code).model_dump_json(), encoding="utf-8")
    iso = day.isoformat()

    await act(cli, tt, "register", "--file", str(dossier))
    await act(cli, so, "appraise", code, "--verdict", "pass", "--appraised-on", iso,
              "--minutes-number", "12/BB-HĐTĐ", "--by-council")  # fmt: skip
    await attach(so, "appraise", "appraisal_minutes", "bien-ban-tham-dinh.pdf")
    await act(cli, ubnd, "approve", code, "--decision-number", "427/QĐ-UBND",
              "--decision-date", day.strftime("%d/%m/%Y"), "--signer", "Lê Ánh Dương",
              "--approved-support", "200.000.000")  # fmt: skip
    decision = await attach(ubnd, "approve", "decision", "quyet-dinh-427.pdf")
    assert str(decision["step_key"]).startswith(f"{code}:approve")
    await act(cli, so, "sign-contract", code, "--contract-number", "15/2019/HĐ-KC",
              "--signed-on", iso, "--contracted-support", "200000000")  # fmt: skip
    await attach(so, "sign_contract", "contract", "hop-dong.pdf")
    await act(cli, tt, "report-progress", code, "--month", day.strftime("%Y-%m"),
              "--investment-done-bp", "10000", "--spent-cost", "600000000",
              "--reported-on", iso)  # fmt: skip
    await attach(tt, "report_progress", "progress_report", "bao-cao-tien-do.pdf")
    await act(cli, so, "accept", code, "--minutes-number", "31/BB-NT", "--accepted-on", iso,
              "--accepted-cost", "600000000", "--accepted-volume-bp", "10000")  # fmt: skip
    await attach(so, "accept", "acceptance_minutes", "bien-ban-nghiem-thu.pdf")
    await attach(tt, "accept", "invoice", "hoa-don.pdf")
    await act(cli, tt, "submit-settlement-dossier", code, "--submitted-on", iso)
    await act(cli, so, "settle", code, "--settlement-number", "44/BB-QT", "--settled-on", iso)
    closed = await act(cli, kt, "pay-settlement", code, "--paid-on", iso,
                       "--voucher-number", "UNC-0977")  # fmt: skip
    assert closed["result"]["stage"] == "closed"
    await attach(kt, "pay_settlement", "payment_voucher", "uy-nhiem-chi.pdf")

    # A paper that does not belong to its step is refused, naming the rule.
    wrong = tmp_path / "hop-dong-2.pdf"
    wrong.write_bytes(PDF)
    refused = await run("de-an", "attach", code, str(wrong), "--step", "approve",
                        "--kind", "contract", as_=ubnd)  # fmt: skip
    assert refused.exit_code == 3, str(refused)
    assert "Hợp đồng không thuộc bước «Phê duyệt»" in refused.stderr + refused.stdout

    verified = await run("audit", "verify", "--de-an", code)
    assert verified.exit_code == 0, str(verified)

    package = tmp_path / f"{code}.zip"
    written = await run("de-an", "evidence", code, "--out", str(package))
    assert written.exit_code == 0, str(written)
    with zipfile.ZipFile(package) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        summary = zf.read("summary.html").decode()
    assert len(manifest["documents"]) == 7
    assert manifest["head"]["length"] == len(manifest["chain"]) == 9 + 7
    assert "427/QĐ-UBND" in summary and "200.000.000" in summary
    checked = await run("audit", "verify-package", str(package))
    assert checked.exit_code == 0, str(checked)
    assert "7 tài liệu khớp mã băm" in checked.stdout

    # The history, exported once the workflow has closed, outlives Temporal.
    handle = dev_env.client.get_workflow_handle(f"de-an/{code}")
    await handle.result()

    async def stored() -> bool:
        return bool(
            await db_pool.fetchval("SELECT count(*) FROM de_an_history WHERE de_an_id = $1", code)
        )

    async with history_exporter(dev_env.client, db_pool, 0.1):  # as the worker runs it
        await until(stored, timeout=30)
    row = await db_pool.fetchrow("SELECT * FROM de_an_history WHERE de_an_id = $1", code)
    assert (row["run_index"], row["status"], row["compression"]) == (1, "completed", "gzip")
    assert len(row["history"]) < row["size_bytes"]
    exported = await run("audit", "export-histories", "--json")  # by hand: nothing left
    assert exported.exit_code == 0, str(exported)
    assert code not in exported.json()["exported"] + exported.json()["still_running"]
    from_temporal = await run("de-an", "history", code)
    assert from_temporal.exit_code == 0, str(from_temporal)
    assert "từ Temporal" in from_temporal.stdout
    assert "WORKFLOW_EXECUTION_COMPLETED" in from_temporal.stdout
    assert "427/QĐ-UBND" in from_temporal.stdout  # payloads decoded

    described = await handle.describe()
    await dev_env.client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=dev_env.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=handle.id, run_id=described.run_id),
        )
    )

    async def gone() -> bool:
        try:
            await handle.describe()
        except RPCError:
            return True
        return False

    # The server deletes asynchronously (a task of its own): seconds usually, half a minute
    # and more on a loaded machine.
    await until(gone, timeout=150)
    from_postgres = await run("de-an", "history", code, "--json")
    assert from_postgres.exit_code == 0, str(from_postgres)
    view = from_postgres.json()
    assert view["source"] == "postgres"
    [only] = view["runs"]
    assert only["status"] == "completed"
    types = [e["eventType"] for e in only["history"]["events"]]
    assert types[0] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert types[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    readable = await run("de-an", "history", code)
    assert "PostgreSQL" in readable.stdout and "427/QĐ-UBND" in readable.stdout


async def test_verifying_a_de_an_that_was_never_recorded_says_so(cli: Cli) -> None:
    run = await cli("audit", "verify", "--de-an", "KHONG-CO-2019")
    assert run.exit_code == 4, str(run)
    assert "không có đề án KHONG-CO-2019" in run.stderr + run.stdout


async def test_evidence_kept_in_an_s3_store_is_attached_packaged_and_its_damage_found(
    stack: Stack, cli: Cli, tmp_path: Path, s3_server: S3Server
) -> None:
    bucket = s3_server.new_bucket()
    store = s3_server.env(bucket, "bac-giang/evidence")
    tag, day = suffix(), today()
    tt, so = f"BG-TTKC-{tag}", f"BG-SCT-{tag}"
    await add_official(cli, tt, Role.TRUNG_TAM, BG)
    await add_official(cli, so, Role.SO_CONG_THUONG, BG)
    code = stack.new_code("DP")
    dossier = tmp_path / "de-an.json"
    dossier.write_text(dossier_on(day, code=code).model_dump_json(), encoding="utf-8")
    await act(cli, tt, "register", "--file", str(dossier))
    await act(cli, so, "appraise", code, "--verdict", "pass", "--appraised-on", day.isoformat(),
              "--minutes-number", "12/BB-HĐTĐ", "--by-council")  # fmt: skip
    paper = tmp_path / "bien-ban-tham-dinh.pdf"
    paper.write_bytes(PDF + tag.encode())
    attach = ("de-an", "attach", code, str(paper), "--step", "appraise",
              "--kind", "appraisal_minutes", "--json")  # fmt: skip

    # Credentials the store refuses: nothing is recorded, and the message says what to check.
    wrong = await cli(*attach, as_=so, env={**store, "KHUYENCONG_S3_SECRET_ACCESS_KEY": "sai"})
    assert wrong.exit_code == 2, str(wrong)
    assert "KHUYENCONG_S3_SECRET_ACCESS_KEY" in wrong.stderr + wrong.stdout
    assert not await cli.pool.fetchval("SELECT count(*) FROM de_an_document WHERE de_an_id = $1",
                                       code)  # fmt: skip

    done = await cli(*attach, as_=so, env=store)
    assert done.exit_code == 0, str(done)
    sha = str(done.json()["sha256"])
    key = f"bac-giang/evidence/{sha[:2]}/{sha}"
    assert s3_server.client(bucket).checked("GET", key).body == paper.read_bytes()

    package = tmp_path / f"{code}.zip"
    written = await cli("de-an", "evidence", code, "--out", str(package), env=store)
    assert written.exit_code == 0, str(written)
    checked = await cli("audit", "verify-package", str(package))
    assert checked.exit_code == 0, str(checked)
    assert "1 tài liệu khớp mã băm" in checked.stdout

    # The object replaced in the bucket: no package is written from it.
    s3_server.client(bucket).checked("PUT", key, PDF + b"forged")
    forged = await cli("de-an", "evidence", code, "--out", str(tmp_path / "again.zip"), env=store)
    assert forged.exit_code != 0, str(forged)
    assert "đã bị sửa" in forged.stderr + forged.stdout
    assert not (tmp_path / "again.zip").exists()
