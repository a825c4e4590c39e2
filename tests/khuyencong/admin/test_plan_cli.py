"""A plan year on the dev server through the CLI alone: import the centre's spreadsheet, write
the decision's list, send it with a verdict per đề án, then raise, stop and watch the envelope.

The real server (not time-skipping): the plan's checkpoints lie months ahead, so the plan is
terminated when the test ends, like the đề án.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from domain.model import Actor
from khuyencong.plans.importer import entries_to_rows, write_csv
from tests.khuyencong.admin.conftest import BG, Cli, Stack, add_cast, suffix, today
from tests.support.builders import dossier_on
from tests.support.waiting import until
from workflows.plan_contract import PlanRegistration, PlanState, plan_id_for


@pytest_asyncio.fixture(loop_scope="session")
async def plan_id(stack: Stack) -> AsyncIterator[str]:
    pid = plan_id_for("dia_phuong", BG, today().year)
    yield pid
    handle = stack.admin.client.get_workflow_handle(pid)
    try:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test finished")
    except RPCError:
        pass


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)


async def test_a_plan_is_imported_decided_from_a_list_and_holds_its_envelope_on_the_dev_server(
    stack: Stack, cli: Cli, plan_id: str, tmp_path: Path
) -> None:
    tag, day = suffix(), today()
    n = int(tag, 16) % 1000  # decision numbers of this run
    cast = await add_cast(stack.admin, tag)
    tt: Actor = cast["TT-BG"]
    so, ubnd = cast["SO-BG"].official_id, cast["UBND-BG"].official_id
    dossiers = [
        dossier_on(
            day,
            code=stack.new_code(f"BG-KH-{n}"),
            cost=800_000_000,
            requested_support=150_000_000,
        )
        for n in (1, 2, 3)
    ]
    a, b, c = (d.code for d in dossiers)
    sheet = tmp_path / "ke-hoach.csv"
    rows = entries_to_rows(
        [PlanRegistration(dossier=d, registered_by=tt, registered_on=day) for d in dossiers]
    )
    write_csv(sheet, rows)

    # Who registers must be an official of the register: a sheet naming a stranger imports
    # nothing.
    stranger_sheet = tmp_path / "nguoi-la.csv"
    outsider = tt.model_copy(update={"official_id": "TT-KHONG-CO"})
    write_csv(
        stranger_sheet,
        entries_to_rows(
            [
                PlanRegistration(dossier=d, registered_by=outsider, registered_on=day)
                for d in dossiers
            ]
        ),
    )
    import_ = [
        "plan", "import", str(sheet), "--province", BG, "--year", str(day.year),
        "--envelope", "320.000.000", "--intake-closes", (day + timedelta(days=30)).isoformat(),
    ]  # fmt: skip
    refused_import = await cli(
        *import_[:2], str(stranger_sheet), *import_[3:], "--as", tt.official_id
    )
    assert refused_import.exit_code == 2, str(refused_import)
    assert "TT-KHONG-CO không có trong danh sách cán bộ" in refused_import.stderr

    # Nobody imports on trust: without an official, nothing is sent; an official who is not
    # the centre's is refused by the plan (after the worker verified who they are).
    anonymous = await cli(*import_)
    assert anonymous.exit_code == 2 and "--as" in anonymous.stderr, str(anonymous)
    wrong_role = await cli(*import_, "--as", so)
    assert wrong_role.exit_code == 3 and "[WrongAuthority]" in wrong_role.stderr, str(wrong_role)

    imported = await cli.ok(*import_, "--as", tt.official_id)
    assert f"{plan_id}: 3/3 đề án trong kế hoạch" in imported.stdout
    for code in (a, b, c):
        await cli.ok("de-an", "appraise", code, "--verdict", "pass", "--appraised-on",
                     day.isoformat(), "--minutes-number", "12/BB-HĐTĐ", as_=so)  # fmt: skip

    # The decision's list: b is not approved, with its reason.
    listing = tmp_path / "danh-muc.csv"
    await cli.ok("plan", "decision-sheet", plan_id, str(listing))
    header, *lines = read_rows(listing)
    assert header == ["Mã đề án", "Tên đề án", "Quyết định", "Kinh phí phê duyệt", "Lý do"]
    assert sorted(line[0] for line in lines) == sorted([a, b, c])
    for line in lines:
        if line[0] == b:
            line[2:] = ["Không phê duyệt", "", "Trùng nội dung với đề án năm trước"]
    decide = [
        "plan", "decide", plan_id, "--number", f"7{n:03d}/QĐ-UBND", "--date",
        day.strftime("%d/%m/%Y"), "--as", ubnd,
    ]  # fmt: skip

    # A bad decision number, or a bad list, is refused whole and nothing is sent.
    wrong_number = [*decide[:4], "70F/QĐ-UBND", *decide[5:]]
    bad_number = await cli(*wrong_number, "--items", str(listing))
    assert bad_number.exit_code == 2 and "--number: số quyết định" in bad_number.stderr
    # The signer must be in the register, with the approver's role.
    stranger = await cli(*decide[:7], "--as", "UBND-KHONG-CO", "--items", str(listing))
    assert stranger.exit_code == 4 and "UBND-KHONG-CO" in stranger.stderr, str(stranger)
    wrong_role = await cli(*decide[:7], "--as", so, "--code", a)
    assert wrong_role.exit_code == 3 and "[WrongAuthority]" in wrong_role.stderr
    # A decision dated in the future is refused whole: its number stays free.
    tomorrow = (day + timedelta(days=1)).isoformat()
    future = await cli(*decide[:6], tomorrow, "--as", ubnd, "--items", str(listing))
    assert future.exit_code == 3 and "ở tương lai" in future.stderr, str(future)
    bad = tmp_path / "sai.csv"
    write_rows(bad, [header, *lines, ["BG-KHONG-CO", "", "Phê duyệt", "1,5 tỷ", ""]])
    refused = await cli("plan", *decide[1:], "--items", str(bad))
    assert refused.exit_code == 2, str(refused)
    assert f"dòng {len(lines) + 2}, cột «Kinh phí phê duyệt»" in refused.stderr
    state: PlanState = await stack.admin.client.get_workflow_handle(plan_id).query(
        "state", result_type=PlanState
    )
    assert state.decisions == []

    write_rows(listing, [header, *lines])
    decided = await cli.ok(*decide, "--items", str(listing))
    assert "đã cam kết 300.000.000 đ / 320.000.000 đ" in decided.stdout
    assert "Không được phê duyệt" in decided.stdout
    # Sending the same decision again answers it as it was (a retry); a new decision for a
    # đề án already decided is refused by the plan (exit 3, the rule named); an unknown plan
    # is named (exit 4): no traceback either way.
    retried = await cli.ok(*decide, "--items", str(listing))
    assert retried.stdout == decided.stdout
    other = [*decide[:4], f"6{n:03d}/QĐ-UBND", *decide[5:]]
    again = await cli(*other, "--code", a)
    assert again.exit_code == 3 and "[AlreadyDecided]" in again.stderr, str(again)
    unknown = await cli("plan", "status", "ke-hoach/dia_phuong/khong-co/2026")
    assert unknown.exit_code == 4 and "không có kế hoạch" in unknown.stderr, str(unknown)

    # A raise the envelope cannot hold (50 triệu of 20 left) is refused by the đề án too.
    raise_a = ["de-an", "adjust", a, "--kind", "increase_support", "--decision-date",
               day.isoformat(), "--description", "Bổ sung thiết bị",
               "--new-support", "200.000.000"]  # fmt: skip
    over = await cli(*raise_a, "--decision-number", f"8{n:03d}/QĐ-UBND", as_=ubnd)
    assert over.exit_code == 3, str(over)
    assert "EnvelopeExceeded" in over.stderr + over.stdout
    assert (await stack.admin.show(a)).row.approved_support == 150_000_000

    # Stopping c gives its 150 triệu back at once; the same raise now fits.
    await cli.ok("de-an", "stop", c, "--decision-number", f"9{n:03d}/QĐ-UBND",
                 "--decision-date", day.isoformat(), "--reason", "Đơn vị xin dừng",
                 as_=ubnd)  # fmt: skip

    async def given_back() -> bool:
        status = await cli.ok("plan", "status", plan_id)
        return "đã cam kết 150.000.000 đ / 320.000.000 đ" in status.stdout

    await until(given_back)
    await cli.ok(*raise_a, "--decision-number", f"10{n:03d}/QĐ-UBND", as_=ubnd)
    status = await cli.ok("plan", "status", plan_id)
    assert "đã cam kết 200.000.000 đ / 320.000.000 đ" in status.stdout
