"""``docs/officials.md`` is the authority matrix the workflow enforces, word for word."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from domain.authority import MATRIX, AdjustmentKind
from domain.errors import RefusalCode
from domain.model import Level, Role
from domain.stages import Action
from khuyencong.admin.errors import RULE_LABELS
from khuyencong.admin.matrix import (
    ACTION_EN,
    ADJUSTMENT_EN,
    ROLE_EN,
    adjustment_rows,
    matrix_rows,
    render_officials_doc,
)
from khuyencong.cli import app

DOC = Path(__file__).resolve().parents[3] / "docs" / "officials.md"


def test_the_officials_document_is_generated_from_the_code() -> None:
    assert DOC.read_text(encoding="utf-8") == render_officials_doc(), (
        "docs/officials.md is out of date: run `khuyencong officials matrix > docs/officials.md`"
    )


def test_the_matrix_command_prints_the_document() -> None:
    result = CliRunner().invoke(app, ["officials", "matrix"])
    assert result.exit_code == 0
    assert result.stdout == render_officials_doc()


def test_every_role_action_adjustment_and_refusal_has_its_labels() -> None:
    assert set(ROLE_EN) == set(Role)
    assert set(ACTION_EN) == set(Action)
    assert set(ADJUSTMENT_EN) == set(AdjustmentKind)
    assert set(RULE_LABELS) == set(RefusalCode.ALL)


def test_every_cell_of_the_matrix_is_in_the_document() -> None:
    rows = {vi: (national, local) for vi, _, national, local in matrix_rows()}
    for (action, level), roles in MATRIX.items():
        row = next(v for k, v in rows.items() if f"`de-an {action.value.replace('_', '-')}`" in k)
        cell = row[0] if level is Level.QUOC_GIA else row[1]
        assert all(f"`{role.value}`" in cell for role in roles), (action, level)
        assert all(f"`{role.value}`" not in cell for role in set(Role) - roles), (action, level)
    assert len(adjustment_rows()) == len(AdjustmentKind)
