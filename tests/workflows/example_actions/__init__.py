"""A hypothetical official action, written as a new one would be: the module
``record_inspection.py`` (what would be ``workflows/actions/record_inspection.py``) and its
table ``inspection.sql`` (what would be the next migration). Nothing else is edited.

Never imported by the test session itself (defining the action would add it to every table
for the tests that follow): ``tests/workflows/test_de_an_actions.py`` adds this folder to
:mod:`workflows.actions` in a subprocess (:data:`EXTEND`) and checks there that every derived
piece appears."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent

EXTEND = f"import workflows.actions; workflows.actions.__path__.append({str(FOLDER)!r})"
"""Python that makes this folder part of :mod:`workflows.actions`, as if its modules were there
(run before anything imports :mod:`workflows.de_an_actions`)."""

MIGRATION = FOLDER / "inspection.sql"
