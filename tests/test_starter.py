"""starter.py: reading registration files all-or-nothing, and starting each đề án once."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

import starter
from domain.rules import load_packs
from domain.stages import Stage
from khuyencong.settings import Settings
from starter import (
    EntriesInvalid,
    RegistrationEntry,
    demo_entries,
    entries_to_csv,
    load_entries,
    parse_csv,
    parse_json,
    register_all,
    static_summary,
)
from tests.support.identity import HARNESS_REGISTER, with_test_identity
from tests.support.temporal import new_task_queue
from worker import build_worker
from workflows.de_an_contract import DeAnState


def demo_rows() -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in demo_entries()]


def errors_of(excinfo: pytest.ExceptionInfo[EntriesInvalid]) -> list[tuple[int | None, str]]:
    return [(e.row, e.field) for e in excinfo.value.errors]


# --- JSON --------------------------------------------------------------------------------


def test_a_json_file_of_the_demo_reads_back_to_the_same_entries(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(demo_rows(), ensure_ascii=False), encoding="utf-8")
    assert load_entries(path) == demo_entries()


def test_registered_on_is_optional_in_a_row() -> None:
    row = demo_rows()[0]
    del row["registered_on"]
    [entry] = parse_json(json.dumps([row]))
    assert entry.registered_on is None
    assert entry.to_input().registered_on is None


def test_every_bad_row_is_reported_with_its_row_and_field_and_none_is_accepted() -> None:
    rows = demo_rows()[:4]
    rows[1]["dossier"]["beneficiary"]["tax_code"] = "12345"
    rows[3]["registered_by"]["role"] = "giam_doc"
    del rows[3]["dossier"]["title"]
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows, ensure_ascii=False))
    assert errors_of(caught) == [
        (2, "dossier.beneficiary.tax_code"),
        (4, "dossier.title"),
        (4, "registered_by.role"),
    ]
    first = caught.value.errors[0]
    assert first.code == "BG-2019-DP-02"
    assert "mã số thuế" in first.message
    text = str(caught.value)
    assert "nothing was started" in text
    assert "row 2 (BG-2019-DP-02), dossier.beneficiary.tax_code: mã số thuế" in text
    assert "row 4 (BG-2019-DP-04), dossier.title: required" in text


def test_a_misspelt_field_in_a_row_is_refused_naming_its_path() -> None:
    rows = demo_rows()[:2]
    rows[1]["dossier"]["beneficiary"]["tax_cod"] = rows[1]["dossier"]["beneficiary"].pop("tax_code")
    rows[1]["registerd_on"] = "2019-03-01"
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows, ensure_ascii=False))
    unknown = {e.field: e.message for e in caught.value.errors if "không có trong mẫu" in e.message}
    assert set(unknown) == {"dossier.beneficiary.tax_cod", "registerd_on"}
    assert unknown["registerd_on"].startswith("trường «registerd_on» không có trong mẫu")
    assert {e.row for e in caught.value.errors} == {2}


def test_a_dossier_whose_money_does_not_add_up_is_reported_on_the_dossier() -> None:
    rows = demo_rows()[:1]
    rows[0]["dossier"]["counterpart_funds"] = 0
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows, ensure_ascii=False))
    assert errors_of(caught) == [(1, "dossier")]
    assert "counterpart_funds" in caught.value.errors[0].message


def test_money_given_as_a_float_is_refused() -> None:
    rows = demo_rows()[:1]
    rows[0]["dossier"]["requested_support"] = 150000000.0
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows))
    assert errors_of(caught) == [(1, "dossier.requested_support")]


def test_a_code_used_twice_in_a_file_is_refused_on_the_second_row() -> None:
    rows = demo_rows()[:3]
    rows[2]["dossier"]["code"] = rows[0]["dossier"]["code"]
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows, ensure_ascii=False))
    assert errors_of(caught) == [(3, "dossier.code")]
    assert "row 1" in caught.value.errors[0].message


def test_a_support_item_unknown_to_the_rule_packs_is_refused() -> None:
    rows = demo_rows()[:2]
    rows[1]["dossier"]["support_item"] = "may_moc"
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(rows, ensure_ascii=False), rule_packs=load_packs())
    assert errors_of(caught) == [(2, "dossier.support_item")]
    assert "machinery" in caught.value.errors[0].message


def test_a_file_that_is_not_a_list_or_not_json_is_refused_as_a_whole(tmp_path: Path) -> None:
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps(demo_rows()[0], ensure_ascii=False))
    assert errors_of(caught) == [(None, "")]
    broken = tmp_path / "broken.json"
    broken.write_text('[{"dossier": ', encoding="utf-8")
    with pytest.raises(EntriesInvalid, match="not valid JSON"):
        load_entries(broken)


def test_a_row_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(EntriesInvalid) as caught:
        parse_json(json.dumps([demo_rows()[0], "BG-2019-DP-02"], ensure_ascii=False))
    assert errors_of(caught) == [(2, "")]


# --- CSV ---------------------------------------------------------------------------------


def test_the_csv_form_of_the_demo_reads_back_to_the_same_entries(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("\ufeff" + entries_to_csv(demo_entries()), encoding="utf-8")
    assert load_entries(path) == demo_entries()


def csv_text(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=";", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def demo_csv_rows(n: int) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(entries_to_csv(demo_entries()[:n])))
    return list(reader)


def test_csv_accepts_semicolons_dotted_amounts_and_vietnamese_yes_no() -> None:
    [row] = demo_csv_rows(1)
    row["requested_support"] = "150.000.000"
    row["group_project"] = "có"
    row["cost_3_eligible"] = "không"
    [entry] = parse_csv(csv_text([row]))
    assert entry.dossier.requested_support == 150_000_000
    assert entry.dossier.group_project is True
    assert entry.dossier.cost_lines[2].eligible is False


def test_csv_errors_name_the_file_line_and_the_column() -> None:
    rows = demo_csv_rows(3)
    rows[1]["beneficiary_tax_code"] = "abc"
    rows[2]["cost_2_amount"] = "hai trăm triệu"
    rows[2]["registered_by_province"] = ""
    with pytest.raises(EntriesInvalid) as caught:
        parse_csv(csv_text(rows))
    assert errors_of(caught) == [
        (3, "beneficiary_tax_code"),
        (4, "cost_2_amount"),
        (4, "registered_by"),
    ]
    assert "province" in caught.value.errors[2].message


def test_csv_cost_lines_may_skip_numbers_and_are_named_by_their_own_number() -> None:
    [row] = demo_csv_rows(1)
    renamed = {k.replace("cost_2_", "cost_7_"): v for k, v in row.items()}
    renamed["cost_7_description"] = ""
    with pytest.raises(EntriesInvalid) as caught:
        parse_csv(csv_text([renamed]))
    assert errors_of(caught) == [(2, "cost_7_description")]


def test_an_unknown_csv_column_is_refused_before_any_row() -> None:
    [row] = demo_csv_rows(1)
    row["ma_de_an"] = "x"
    with pytest.raises(EntriesInvalid) as caught:
        parse_csv(csv_text([row]))
    assert errors_of(caught) == [(1, "ma_de_an")]


def test_blank_csv_lines_are_skipped_and_an_empty_file_is_refused() -> None:
    [row] = demo_csv_rows(1)
    assert len(parse_csv(csv_text([row]) + "\n;;;\n")) == 1
    with pytest.raises(EntriesInvalid):
        parse_csv("")
    with pytest.raises(EntriesInvalid, match="no rows"):
        parse_csv(csv_text([row]).splitlines()[0] + "\n")


# --- the command -------------------------------------------------------------------------


def test_the_command_prints_every_error_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = demo_rows()[:3]
    rows[0]["dossier"]["plan_year"] = 1999
    rows[2]["registered_by"]["official_id"] = ""
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    # Nothing listens here: reaching Temporal would fail differently.
    monkeypatch.setenv("KHUYENCONG_TEMPORAL_ADDRESS", "127.0.0.1:1")
    assert starter.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert "row 1 (BG-2019-DP-01), dossier.plan_year" in err
    assert "row 3 (BG-2019-DP-03), registered_by.official_id" in err
    assert "cannot reach Temporal" not in err


# --- static summary ----------------------------------------------------------------------


def test_the_static_summary_names_code_title_and_support_in_dong() -> None:
    entry = demo_entries()[0]
    assert static_summary(entry.dossier) == (
        "BG-2019-DP-01 · Ứng dụng máy móc thiết bị tiên tiến trong sản xuất bún, bánh phở "
        "tại làng nghề Đa Mai · đề nghị hỗ trợ 150.000.000 đ"
    )


def test_a_long_title_is_shortened_to_fit_the_servers_summary_limit() -> None:
    dossier = demo_entries()[0].dossier.model_copy(update={"title": "Ứng dụng máy móc " * 30})
    summary = static_summary(dossier)
    assert len(json.dumps(summary, ensure_ascii=False).encode("utf-8")) <= 400
    assert summary.startswith("BG-2019-DP-01 · Ứng dụng")
    assert "…" in summary and summary.endswith("150.000.000 đ")


# --- starting on a real server -----------------------------------------------------------


def fresh_codes(entries: list[RegistrationEntry]) -> list[RegistrationEntry]:
    """The same đề án under codes no other test uses (the dev server lives all session)."""
    run = uuid.uuid4().hex[:6].upper()
    return [
        e.model_copy(
            update={"dossier": e.dossier.model_copy(update={"code": f"{e.dossier.code}-{run}"})}
        )
        for e in entries
    ]


@pytest_asyncio.fixture
async def dev_worker(dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool) -> AsyncIterator[str]:
    settings = Settings.from_env({}, task_queue=new_task_queue(), graceful_shutdown_seconds=1)
    async with build_worker(
        dev_env.client, db_pool, with_test_identity(settings), HARNESS_REGISTER
    ):
        yield settings.task_queue


async def test_registering_twice_starts_each_de_an_once(
    dev_env: WorkflowEnvironment, dev_worker: str
) -> None:
    entries = fresh_codes(demo_entries())
    first = await register_all(dev_env.client, dev_worker, entries)
    assert first.started == [e.workflow_id for e in entries]
    assert first.existing == [] and first.failed == []

    second = await register_all(dev_env.client, dev_worker, entries)
    assert second.started == []
    assert second.existing == [e.workflow_id for e in entries]
    assert second.describe() == "0 started, 25 already existing"

    handle = dev_env.client.get_workflow_handle(entries[0].workflow_id)
    state = await handle.query("state", result_type=DeAnState)
    assert state.stage is Stage.REGISTERED
    assert state.registered_on == entries[0].registered_on
    description = await handle.describe()
    assert description.status is WorkflowExecutionStatus.RUNNING
    assert await description.static_summary() == static_summary(entries[0].dossier)


async def test_a_closed_de_an_is_not_started_again(
    dev_env: WorkflowEnvironment, dev_worker: str
) -> None:
    [entry] = fresh_codes(demo_entries()[:1])
    assert (await register_all(dev_env.client, dev_worker, [entry])).started
    await dev_env.client.get_workflow_handle(entry.workflow_id).terminate("test")
    report = await register_all(dev_env.client, dev_worker, [entry])
    assert report.existing == [entry.workflow_id]
