"""Run in a subprocess by ``tests/workflows/test_de_an_actions.py``: the code base with one more
action, ``record_inspection`` (``tests/workflows/example_actions/``), found where a new
action's module would be (:mod:`workflows.actions`) and nothing else edited. Prints what the
derived pieces say of it, as JSON, for the test to judge.

``python -m tests.workflows.extended_catalogue [POSTGRES_URL]``: with a URL (a migrated
database), the step is also written through the one write path (``db.de_an.write_step``),
twice, in a transaction rolled back at the end.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime
from typing import Any

from tests.workflows.example_actions import EXTEND, MIGRATION

exec(EXTEND)  # before anything imports workflows.de_an_actions

from temporalio.workflow import _Definition  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from db.de_an import detail_statement, write_step  # noqa: E402
from db.pool import init_connection  # noqa: E402
from domain.errors import Refusal  # noqa: E402
from domain.model import Level  # noqa: E402
from domain.rules import load_packs  # noqa: E402
from domain.stages import Action, Stage, allowed_actions  # noqa: E402
from khuyencong.admin.client import COMMANDS, update_id_for  # noqa: E402
from khuyencong.admin.inbox import DISCRETIONARY, OpenDeAn, waiting_actions  # noqa: E402
from khuyencong.admin.matrix import matrix_rows, render_officials_doc  # noqa: E402
from khuyencong.cli import app  # noqa: E402
from tests.support.builders import CUC, SO, TRUNG_TAM, UBND, dossier_on  # noqa: E402
from workflows import de_an_actions as actions  # noqa: E402
from workflows import de_an_decisions as rules  # noqa: E402
from workflows.de_an import DeAnWorkflow  # noqa: E402
from workflows.de_an_contract import (  # noqa: E402
    DeAnAppraise,
    DeAnApprove,
    DeAnSignContract,
    DeAnState,
    DeAnStep,
)

TODAY = date(2019, 6, 10)
NOW = datetime(2019, 6, 10, 3, 0, tzinfo=UTC)


def registered() -> DeAnState:
    dossier = dossier_on(
        TODAY, support_item="training", cost=100_000_000, requested_support=100_000_000
    )
    return rules.initial_state(dossier, TRUNG_TAM, date(2019, 1, 15), load_packs())


def contracted() -> DeAnState:
    """A provincial đề án being carried out (the decision tests' sample)."""
    state = registered()
    state = rules.decide_register(state, NOW).state
    state = rules.decide_appraise(
        state, DeAnAppraise(actor=SO, verdict="pass", appraised_on=TODAY, minutes_number="T-1"), NOW
    ).state
    state = rules.decide_approve(
        state,
        DeAnApprove(
            actor=UBND,
            decision_number="427/QĐ-UBND",
            decision_date=TODAY,
            signer="Chủ tịch",
            approved_support=100_000_000,
        ),
        NOW,
    ).state
    state = rules.decide_sign_contract(
        state,
        DeAnSignContract(
            actor=SO, contract_number="1/HĐ", signed_on=TODAY, contracted_support=100_000_000
        ),
        NOW,
    ).state
    assert state.stage is Stage.IN_PROGRESS
    return state


def refusal(state: DeAnState, command: Any) -> str | None:
    try:
        actions.decide(state, Action("record_inspection"), command, NOW)
    except Refusal as refused:
        return refused.code
    return None


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def _act(self, action: Action, command: Any) -> str:
        self.calls.append(("act", action.value))
        return "done"

    def _check(self, action: Action, command: Any) -> None:
        self.calls.append(("check", action.value))


async def written(url: str, step: DeAnStep) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await init_connection(conn)
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(MIGRATION.read_text(encoding="utf-8"))
            first = await write_step(conn, step)
            again = await write_step(conn, step)
            rows = await conn.fetch("SELECT * FROM inspection WHERE de_an_id = $1", step.de_an_id)
            event = await conn.fetchval(
                "SELECT action FROM de_an_event WHERE idempotency_key = $1", step.key
            )
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    return {
        "first": first,
        "again": again,
        "event": event,
        "rows": [{k: str(v) for k, v in dict(r).items()} for r in rows],
    }


def main(url: str | None) -> dict[str, Any]:
    definition = actions.definition(Action("record_inspection"))
    action = definition.action
    command_model = definition.command

    update = _Definition.must_from_class(DeAnWorkflow).updates[definition.name]
    recorder = _Recorder()
    command = command_model(
        actor=SO,
        topic="An toàn lao động",
        inspected_on=TODAY,
        minutes_number="KT-7",
        compliant=True,
    )
    assert update.validator is not None
    update.validator(recorder, command)
    asyncio.run(update.fn(recorder, command))  # type: ignore[arg-type]

    state = contracted()
    outcome = actions.decide(state, action, command, NOW)
    step = outcome.step
    carried = DeAnStep.model_validate_json(step.model_dump_json())
    sql, args = detail_statement(step) or ("", ())

    item = OpenDeAn(code=state.dossier.code, level=Level.DIA_PHUONG, province="Bắc Giang",
                    stage=Stage.IN_PROGRESS)  # fmt: skip
    help_text = CliRunner().invoke(app, ["de-an", "record-inspection", "--help"]).output
    return {
        "catalogue": [d.name for d in actions.CATALOGUE],
        "label": action.label,
        "update": {
            "arg_types": [t.__name__ for t in update.arg_types or ()],
            "has_validator": update.validator is not None,
            "calls": recorder.calls,
            "in_docstring": f"``{definition.name}``" in (DeAnWorkflow.__doc__ or ""),
        },
        "allowed_in": [s.value for s in Stage if action in allowed_actions(s)],
        "senders": {
            level.value: sorted(r.value for r in definition.roles_by_level(level))
            for level in Level
        },
        "decided": {
            "stage_to": step.stage_to.value,
            "row": type(step.row).__name__,
            "carried_row": type(carried.row).__name__,
            "same_payload": carried == step,
            "sql": sql,
            "args": [str(a) for a in args],
        },
        "refusals": {
            "registered": refusal(rules.decide_register(registered(), NOW).state, command),
            "centre": refusal(state, command.model_copy(update={"actor": TRUNG_TAM})),
            "cuc_on_provincial": refusal(state, command.model_copy(update={"actor": CUC})),
        },
        "client": {
            "command": COMMANDS[action].__name__,
            "for_command": actions.for_command(command).name,
            "update_id": update_id_for("BG-2019-DP-01", action, command),
        },
        "cli_help": help_text,
        "matrix": [list(row) for row in matrix_rows() if "record-inspection" in row[0]],
        "officials_doc": "`de-an record-inspection`" in render_officials_doc(),
        "inbox": {
            "discretionary": action in DISCRETIONARY,
            "so_sees": [a.value for a in waiting_actions(item, SO, TODAY, include_optional=True)],
            "so_waits_for": [a.value for a in waiting_actions(item, SO, TODAY)],
        },
        "database": asyncio.run(written(url, step)) if url else None,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else None), ensure_ascii=False))
