"""The catalogue of official actions (``workflows/de_an_actions.py``) is complete: every action
has its definition, and everything derived from a definition exists for it (update handler
and validator, client path, CLI command, matrix row, inbox entry, help, decider, row).

An action added in one module of ``workflows/actions/`` (and its table's migration) gets
every derived piece without another edit: shown with the hypothetical ``record_inspection``
(``tests/workflows/example_actions/``), in a subprocess so that this session's tables stay
those of the real catalogue."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from temporalio.workflow import _Definition

from domain.model import Actor, Level, Role
from domain.stages import TRANSITIONS, Action
from khuyencong.admin.cli import de_an_app
from khuyencong.admin.client import COMMANDS, update_id_for
from khuyencong.admin.inbox import DISCRETIONARY
from khuyencong.admin.matrix import ACTION_EN, matrix_rows
from workflows import de_an_actions as actions
from workflows.de_an import REGISTERED_UPDATE, DeAnWorkflow
from workflows.de_an_actions import CATALOGUE, NOT_UPDATES, ActionDefinition, InboxEntry
from workflows.de_an_contract import DeAnActionResult, DeAnCommand
from workflows.de_an_decisions import RuleSwitches
from workflows.de_an_rows import InsertedRow

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = sorted((ROOT / "migrations").glob("*.sql"))
"""The migrations (and, in the subprocess below, the added action's)."""

UPDATE_NAMES_IN_HISTORIES = {
    "resubmit",
    "appraise",
    "approve",
    "reject",
    "sign_contract",
    "report_progress",
    "confirm_progress",
    "record_visit",
    "resolve_findings",
    "request_advance",
    "pay_advance",
    "adjust",
    "stop",
    "accept",
    "submit_settlement_dossier",
    "settle",
    "pay_settlement",
    "record_refund",
}
"""The update names recorded in running đề án's histories: a rename breaks them."""

ACTOR = Actor(
    official_id="BG-SCT-003",
    full_name="Nguyễn Văn A",
    role=Role.SO_CONG_THUONG,
    organisation="Sở Công Thương Bắc Giang",
    province="Bắc Giang",
)

each_action = pytest.mark.parametrize("definition", CATALOGUE, ids=lambda d: d.name)


def test_every_official_action_has_exactly_one_definition_in_lifecycle_order() -> None:
    expected = [a for a in Action if a not in NOT_UPDATES]
    assert [d.action for d in CATALOGUE] == expected
    assert len({d.command for d in CATALOGUE}) == len(CATALOGUE), "one command model each"


def test_the_update_names_recorded_in_the_histories_are_all_still_there() -> None:
    assert {d.name for d in CATALOGUE} >= UPDATE_NAMES_IN_HISTORIES


def test_the_workflow_has_no_update_but_the_catalogues_and_the_registrations_answer() -> None:
    updates = _Definition.must_from_class(DeAnWorkflow).updates
    assert set(updates) == {d.name for d in CATALOGUE} | {REGISTERED_UPDATE}


@each_action
def test_the_action_is_an_update_of_the_workflow_with_its_validator(
    definition: ActionDefinition[Any],
) -> None:
    update = _Definition.must_from_class(DeAnWorkflow).updates[definition.name]
    assert update.arg_types == [definition.command], "the payload is decoded by this type"
    assert update.ret_type is DeAnActionResult
    assert update.validator is not None, "a validator refuses before anything enters history"
    assert f"``{definition.name}``" in (DeAnWorkflow.__doc__ or ""), "the docstring lists it"


class _Recorder:
    """Stands in for the workflow: records what the generated handler and validator pass on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Action, DeAnCommand]] = []

    async def _act(self, action: Action, command: DeAnCommand) -> str:
        self.calls.append(("act", action, command))
        return "done"

    def _check(self, action: Action, command: DeAnCommand) -> None:
        self.calls.append(("check", action, command))


@each_action
async def test_the_update_handler_and_validator_pass_on_their_own_action(
    definition: ActionDefinition[Any],
) -> None:
    update = _Definition.must_from_class(DeAnWorkflow).updates[definition.name]
    assert update.validator is not None
    command: DeAnCommand = definition.command.model_construct(actor=ACTOR)
    recorder = _Recorder()
    update.validator(recorder, command)
    assert await update.fn(recorder, command) == "done"
    assert recorder.calls == [
        ("check", definition.action, command),
        ("act", definition.action, command),
    ]


@each_action
def test_the_decider_judges_the_actions_command_model(definition: ActionDefinition[Any]) -> None:
    hints = get_type_hints(definition.decider)
    assert hints["cmd"] is definition.command
    assert getattr(definition.decider, "__name__", "") == f"decide_{definition.name}"
    takes_switches = "switches" in inspect.signature(definition.decider).parameters
    assert takes_switches is definition.switched
    if definition.switched:
        assert hints["switches"] is RuleSwitches


@each_action
def test_the_admin_client_sends_the_action_from_its_command_type(
    definition: ActionDefinition[Any],
) -> None:
    command: DeAnCommand = definition.command.model_construct(actor=ACTOR)
    assert actions.for_command(command) is definition
    assert COMMANDS[definition.action] is definition.command
    fields = definition.command.model_fields
    assert definition.update_ref is None or definition.update_ref in fields
    assert definition.update_ref is None or definition.answers is None, "one reference"
    update_id = update_id_for("BG-2019-DP-01", definition.action, command, 1)
    assert update_id.startswith(f"BG-2019-DP-01:{definition.name}:")


@each_action
def test_the_action_has_a_cli_command_with_its_help(definition: ActionDefinition[Any]) -> None:
    commands = {c.name: c.callback for c in de_an_app.registered_commands}
    callback = commands.get(definition.cli_name)
    assert callback is not None, f"khuyencong de-an {definition.cli_name}"
    help_text = callback.__doc__ or ""
    assert definition.label and definition.label in help_text
    assert definition.label_en and definition.label_en in help_text
    assert "Thẩm quyền" in help_text
    assert definition.help in help_text


@each_action
def test_the_action_has_a_row_in_the_role_by_action_matrix(
    definition: ActionDefinition[Any],
) -> None:
    assert ACTION_EN[definition.action] == definition.label_en
    rows = [row for row in matrix_rows() if f"`de-an {definition.cli_name}`" in row[0]]
    assert rows, "docs/officials.md shows who may send it"
    for level in Level:
        assert definition.roles_by_level(level), f"someone may send it ({level.value})"


@each_action
def test_the_action_has_an_inbox_entry_and_stages_that_allow_it(
    definition: ActionDefinition[Any],
) -> None:
    assert isinstance(definition.inbox, InboxEntry)
    assert (definition.action in DISCRETIONARY) is definition.inbox.discretionary
    assert any(action is definition.action for _, action in TRANSITIONS), "a stage allows it"


def tables_of(schema: str) -> dict[str, set[str]]:
    """``CREATE TABLE`` statements of ``schema``: each table's column names (first words of
    its lines, constraints aside)."""
    tables: dict[str, set[str]] = {}
    pattern = r"CREATE TABLE(?: IF NOT EXISTS)? (\w+)\s*\((.*?)\n\);"
    for name, body in re.findall(pattern, schema, re.IGNORECASE | re.DOTALL):
        words = (line.strip().split(" ", 1)[0] for line in body.splitlines())
        tables[name] = {w for w in words if w and w.isidentifier() and w.upper() != w}
    return tables


def schema_gaps(definition: ActionDefinition[Any], schema: str) -> list[str]:
    """What ``schema`` lacks for ``definition``: the tables it writes; for a row written by the
    generic insert, each column the insert names."""
    tables = tables_of(schema)
    gaps = [f"table {t}" for t in definition.writes if t not in tables]
    row = definition.row
    if row is not None and issubclass(row, InsertedRow) and row.model_fields["table"].default:
        table = row.model_fields["table"].default
        wanted = {"idempotency_key", "de_an_id", "official_id", *row.model_fields} - {"table"}
        gaps += [f"{table}.{c}" for c in sorted(wanted - tables.get(table, set()))]
    return gaps


@each_action
def test_the_rows_the_action_writes_are_tables_of_the_migrations(
    definition: ActionDefinition[Any],
) -> None:
    schema = "\n".join(p.read_text(encoding="utf-8") for p in SCHEMA)
    assert schema_gaps(definition, schema) == []


def test_a_definition_whose_decider_disagrees_about_rule_switches_is_refused() -> None:
    with pytest.raises(ValueError, match="switched"):
        ActionDefinition(
            name="settle",
            action=Action.SETTLE,
            command=actions.definition(Action.SETTLE).command,
            decider=actions.definition(Action.SETTLE).decider,
            label_en="Settle",
            writes=(),
        )


def test_a_definition_named_otherwise_than_its_action_is_refused() -> None:
    settle = actions.definition(Action.SETTLE)
    with pytest.raises(ValueError, match="is not the action"):
        ActionDefinition(
            name="quyet_toan",
            action=Action.SETTLE,
            command=settle.command,
            decider=settle.decider,
            switched=True,
            label_en="Settle",
            writes=(),
        )


# --- an action added in one module -----------------------------------------------------------


def _extended(*args: str) -> str:
    """Run ``python *args`` with ``tests/workflows/example_actions`` part of
    :mod:`workflows.actions`; its standard output."""
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


async def test_an_action_written_in_one_module_appears_in_every_piece_derived_from_it(
    db_pool: Any, pg_url: str
) -> None:
    out = await asyncio.to_thread(_extended, "-m", "tests.workflows.extended_catalogue", pg_url)
    seen = json.loads(out.strip().splitlines()[-1])

    assert seen["catalogue"][-1] == "record_inspection", "found in workflows/actions/"
    assert seen["catalogue"][:-1] == [d.name for d in CATALOGUE]
    assert seen["label"] == "Kiểm tra chuyên đề"
    # the workflow's update and validator, typed by its command, listed in the docstring
    assert seen["update"] == {
        "arg_types": ["DeAnRecordInspection"],
        "has_validator": True,
        "calls": [["check", "record_inspection"], ["act", "record_inspection"]],
        "in_docstring": True,
    }
    # the domain's tables, from its definition
    assert seen["allowed_in"] == ["in_progress", "stopped", "accepted"]
    assert seen["senders"] == {
        "quoc_gia": ["cuc", "so_cong_thuong"],
        "dia_phuong": ["so_cong_thuong"],
    }
    assert seen["refusals"] == {
        "registered": "WrongStage",
        "centre": "WrongAuthority",
        "cuc_on_provincial": "WrongAuthority",
    }
    # its decider's step: its typed row, carried through a payload, written by the generic insert
    decided = seen["decided"]
    assert decided["stage_to"] == "in_progress"
    assert decided["row"] == decided["carried_row"] == "InspectionRow"
    assert decided["same_payload"] is True
    assert decided["sql"].startswith(
        "INSERT INTO inspection (idempotency_key, de_an_id, official_id, topic, inspected_on, "
        "minutes_number, compliant, conclusion)"
    )
    assert "ON CONFLICT (idempotency_key) DO NOTHING" in decided["sql"]
    # the admin client, the CLI, the matrix and the inbox
    assert seen["client"]["command"] == seen["update"]["arg_types"][0]
    assert seen["client"]["for_command"] == "record_inspection"
    assert seen["client"]["update_id"].startswith("BG-2019-DP-01:record_inspection:KT-7:")
    help_text = " ".join(seen["cli_help"].split())
    for expected in ("Kiểm tra chuyên đề", "Record a thematic inspection", "--minutes-number"):
        assert expected in help_text
    assert seen["matrix"] == [
        [
            "Kiểm tra chuyên đề (`de-an record-inspection`)",
            "Record a thematic inspection",
            "Sở Công Thương (`so_cong_thuong`), Cục (`cuc`)",
            "Sở Công Thương (`so_cong_thuong`)",
        ]
    ]
    assert seen["officials_doc"] is True
    assert seen["inbox"]["discretionary"] is True
    assert "record_inspection" in seen["inbox"]["so_sees"]
    assert "record_inspection" not in seen["inbox"]["so_waits_for"], "discretionary"
    # the one write path, against its migration: written once, a retry writes nothing
    database = seen["database"]
    assert (database["first"], database["again"]) == (True, False)
    assert database["event"] == "record_inspection"
    assert len(database["rows"]) == 1
    assert database["rows"][0]["topic"] == "An toàn lao động"
    assert database["rows"][0]["official_id"] == "so-bg-1"


def test_the_completeness_checks_and_a_real_workflow_run_pass_for_an_action_added_in_one_module() -> (
    None
):
    """In a subprocess with the example folder part of ``workflows.actions``: this module's
    checks of every action, for ``record_inspection`` (its migration added to the schema
    they read), and ``extended_workflow.py``: the update sent to a workflow on a worker,
    refused to the centre, accepted from the Sở, its row written by ``record_step``."""
    script = (
        "import sys; from tests.workflows.example_actions import EXTEND, MIGRATION; exec(EXTEND); "
        "import tests.workflows.test_de_an_actions as checks; checks.SCHEMA.append(MIGRATION); "
        "import pytest; sys.exit(pytest.main(sys.argv[1:]))"
    )
    each = [name for name, f in globals().items() if hasattr(f, "pytestmark")]
    out = _extended(
        "-c",
        script,
        "-q",
        "-p",
        "no:cacheprovider",
        __file__,
        str(Path(__file__).with_name("extended_workflow.py")),
        "-k",
        "record_inspection or extended_workflow",
    )
    assert f"{len(each) + 1} passed" in out, out[-2000:]
