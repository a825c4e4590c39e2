"""Workflow modules never bring in asyncpg nor the repositories: asyncpg imported by a module
that defines a workflow crashes activities in the sandbox (asyncpg issue #1292)."""

from __future__ import annotations

import subprocess
import sys

WORKFLOW_MODULES = (
    "workflows.de_an",
    "workflows.plan",
    "workflows.de_an_decisions",
    "workflows.de_an_rows",
    "workflows.plan_rules",
)


def test_importing_every_workflow_module_loads_neither_asyncpg_nor_the_repositories() -> None:
    probe = (
        f"import sys; import {', '.join(WORKFLOW_MODULES)}; "
        "print(sorted(m for m in sys.modules if m == 'asyncpg' or m == 'db' "
        "or m.startswith(('asyncpg.', 'db.', 'activities'))))"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == "[]"
