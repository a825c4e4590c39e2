"""The CLI at the door: a number out of range ends in a Vietnamese message naming the field
(exit 2, nothing started), a registration the database refuses ends in a refusal (exit 3)
and frees the code, and text typed in NFD is stored and found in NFC."""

from __future__ import annotations

import json
import unicodedata
import uuid
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from migrations import migration_files
from tests.khuyencong.admin.conftest import Cast, Cli, Stack, add_cast, suffix, today
from tests.support.builders import dossier_on


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cast(stack: Stack) -> Cast:
    return await add_cast(stack.admin, suffix())


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def dossier_file(path: Path, code: str, **overrides: object) -> Path:
    data = dossier_on(today(), code=code).model_dump(mode="json")
    data.update(overrides)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("amount", [10**30, 2**63 - 1], ids=["10^30", "2^63-1"])
async def test_register_with_an_out_of_range_support_names_the_field_and_starts_nothing(
    stack: Stack, cast: Cast, cli: Cli, dev_env: WorkflowEnvironment, tmp_path: Path, amount: int
) -> None:
    code = stack.new_code("DP")
    file = dossier_file(tmp_path / "de-an.json", code, requested_support=amount)

    run = await cli("de-an", "register", "--file", str(file), as_=cast["TT-BG"].official_id)

    assert run.exit_code == 2, str(run)
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("Dữ liệu không hợp lệ: hồ sơ đề án không hợp lệ:")
    assert "  dossier.requested_support: số tiền " in run.stderr
    assert "vượt mức trần 1.000.000.000.000 đ (1.000 tỷ đồng)" in run.stderr
    with pytest.raises(RPCError):
        await dev_env.client.get_workflow_handle(f"de-an/{code}").describe()


async def test_register_with_a_cost_line_out_of_range_names_the_line(
    stack: Stack, cast: Cast, cli: Cli, tmp_path: Path
) -> None:
    code = stack.new_code("DP")
    lines = [{"description": "Máy", "amount": 10**30}]
    file = dossier_file(tmp_path / "de-an.json", code, cost_lines=lines)
    run = await cli("de-an", "register", "--file", str(file), "--json",
                    as_=cast["TT-BG"].official_id)  # fmt: skip
    assert run.exit_code == 2
    fields = [p["field"] for p in run.json()["problems"]]
    assert "dossier.cost_lines.0.amount" in fields


REFUSE_REGISTRATION = """
CREATE OR REPLACE FUNCTION test_refuse_registration() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.de_an_id = TG_ARGV[0] THEN
        RAISE EXCEPTION 'value out of range (test)' USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    RETURN NEW;
END $$
"""


async def test_a_registration_the_database_refuses_ends_in_a_refusal_and_the_code_stays_free(
    stack: Stack,
    cast: Cast,
    cli: Cli,
    db_pool: asyncpg.Pool,
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
) -> None:
    code = stack.new_code("DP")
    file = dossier_file(tmp_path / "de-an.json", code)
    trigger = f"test_refuse_{uuid.uuid4().hex[:8]}"
    await db_pool.execute(REFUSE_REGISTRATION)
    await db_pool.execute(
        f"CREATE TRIGGER {trigger} BEFORE INSERT ON de_an FOR EACH ROW "
        f"EXECUTE FUNCTION test_refuse_registration('{code}')"
    )
    try:
        run = await cli("de-an", "register", "--file", str(file), as_=cast["TT-BG"].official_id)
    finally:
        await db_pool.execute(f"DROP TRIGGER {trigger} ON de_an")

    assert run.exit_code == 3, str(run)
    # The worker runs in this process here and logs the activity's failure with its traceback;
    # the command's own output is the refusal at the end.
    message = run.stderr[run.stderr.rindex("Bị từ chối") :]
    assert "Traceback" not in message and message.count("\n") <= 3
    lines = message.splitlines()
    assert lines[0] == "Bị từ chối — Không ghi được vào cơ sở dữ liệu [NotStored]"
    assert f"không ghi được đăng ký đề án {code}" in lines[1]
    assert "value out of range (test)" in lines[1]
    handle = dev_env.client.get_workflow_handle(f"de-an/{code}")
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED

    again = await cli("de-an", "register", "--file", str(file), as_=cast["TT-BG"].official_id)
    assert again.exit_code == 0, str(again)
    assert f"Đã đăng ký đề án {code}" in again.stdout


async def test_a_de_an_registered_in_nfd_is_stored_in_nfc_and_found_either_way(
    stack: Stack, cast: Cast, cli: Cli, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    code = stack.new_code("DP")
    district = f"Yên Dũng {suffix()}"  # a district only this test uses
    file = dossier_file(
        tmp_path / "de-an.json",
        code,
        district=nfd(district),
        title=nfd("Hỗ trợ máy ép gạch không nung"),
    )
    await cli.ok("de-an", "register", "--file", str(file), as_=cast["TT-BG"].official_id)

    row = await db_pool.fetchrow("SELECT district, title FROM de_an WHERE de_an_id = $1", code)
    assert row["district"] == district != nfd(district)
    assert row["title"] == "Hỗ trợ máy ép gạch không nung"
    for typed in (district, nfd(district), district.upper()):
        found = await cli.ok("de-an", "list", "--district", typed, "--json")
        assert [i["code"] for i in found.json()["items"]] == [code], typed
    # within this test's district: the session database holds many "máy ép gạch" đề án, more
    # than one page of the listing
    searched = await cli.ok(
        "de-an", "list", "--district", district, "--search", nfd("máy ép gạch"), "--json"
    )
    assert code in [i["code"] for i in searched.json()["items"]]


async def test_the_migration_normalises_text_already_stored_in_nfd(
    stack: Stack, cast: Cast, cli: Cli, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    code = stack.new_code("DP")
    district = f"Lục Ngạn {suffix()}"
    await cli.ok("de-an", "register", "--file", str(dossier_file(tmp_path / "d.json", code,
                 district=district)), as_=cast["TT-BG"].official_id)  # fmt: skip
    # As a row written before this release would be:
    await db_pool.execute(
        "UPDATE de_an SET district = $2, beneficiary_name = $3 WHERE de_an_id = $1",
        code,
        nfd(district),
        nfd("HTX Vật liệu xây dựng Tiến Phong"),
    )
    (migration,) = [m for m in migration_files() if m.name == "nfc_text"]
    await db_pool.execute(migration.sql)

    row = await db_pool.fetchrow(
        "SELECT district, beneficiary_name FROM de_an WHERE de_an_id = $1", code
    )
    assert row["district"] == district
    assert row["beneficiary_name"] == "HTX Vật liệu xây dựng Tiến Phong"
    found = await cli.ok("de-an", "list", "--district", district, "--json")
    assert [i["code"] for i in found.json()["items"]] == [code]
