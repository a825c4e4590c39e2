"""The workflow modules and what they run are passed through the sandbox (worker.SANDBOX,
issue 14: one shared module instead of a re-import per workflow run), so the sandbox no
longer stops a non-deterministic call in them at run time. This checks their source instead:
no clock, no randomness, no environment, no I/O but through ``temporalio.workflow``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = sorted(
    [
        ROOT / "workflows" / "de_an.py",
        ROOT / "workflows" / "plan.py",
        ROOT / "workflows" / "de_an_actions.py",
        ROOT / "workflows" / "action_definition.py",
        ROOT / "workflows" / "de_an_contract.py",
        ROOT / "workflows" / "plan_contract.py",
        ROOT / "workflows" / "plan_rules.py",
        ROOT / "workflows" / "de_an_rows.py",
        *(ROOT / "workflows" / "de_an_decisions").glob("*.py"),
    ]
)
FORBIDDEN_MODULES = {"random", "secrets", "uuid", "time", "os", "subprocess", "socket", "threading"}
"""Modules whose use in workflow code is non-deterministic or I/O (``workflow.random()``,
``workflow.uuid4()``, ``workflow.now()`` and timers are the deterministic ones)."""
CLOCK_CALLS = {"now", "utcnow", "today"}
"""``datetime.now()``, ``date.today()``: the workflow's clock is ``workflow.now()``."""
FORBIDDEN_BUILTINS = {"open", "input"}


def problems(source: str, name: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [
                f"{where} import {a.name}"
                for a in node.names
                if a.name.split(".")[0] in FORBIDDEN_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{where} from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in CLOCK_CALLS
                and isinstance(func.value, ast.Name)
                and func.value.id in {"datetime", "date"}
            ):
                found.append(f"{where} {func.value.id}.{func.attr}()")
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
                found.append(f"{where} {func.id}()")
    return found


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_code_has_no_clock_randomness_environment_or_io(path: Path) -> None:
    assert problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))) == []


def test_the_check_finds_what_the_sandbox_used_to_stop() -> None:
    source = (
        "import random\nfrom os import environ\nfrom datetime import datetime\n"
        "def f():\n    return datetime.now(), open('x')\n"
    )
    assert len(problems(source, "probe.py")) == 4
