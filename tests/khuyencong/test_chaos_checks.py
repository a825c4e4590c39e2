"""Pieces of the fault suite that need no servers: the fault schedule, the paths' promises,
and the export of a failing history."""

from __future__ import annotations

import random
from pathlib import Path

from temporalio.client import WorkflowHistory

from domain.stages import Stage
from khuyencong.chaos.checks import Life, Observed, export
from khuyencong.chaos.faults import PG_FAST, PG_IMMEDIATE, TEMPORAL_KILL, WORKER_KILL, FaultPlan
from khuyencong.chaos.paths import PATHS
from khuyencong.chaos.run import plan_lives

HISTORY = Path(__file__).resolve().parents[1] / "histories" / "v2" / "provincial-closed.json"


def test_the_fault_plan_fires_each_kind_as_often_as_asked_and_both_stop_modes() -> None:
    plan = FaultPlan(worker_kills=5, temporal_restarts=2, postgres_restarts=3)
    faults = plan.schedule(random.Random(1))
    assert faults.count(WORKER_KILL) == 5 and faults.count(TEMPORAL_KILL) == 2
    assert {faults.count(PG_FAST), faults.count(PG_IMMEDIATE)} == {1, 2}
    assert plan.schedule(random.Random(1)) == faults  # seeded


def test_the_paths_cover_both_levels_every_end_and_the_money_adds_up() -> None:
    assert {p.level.value for p in PATHS} == {"quoc_gia", "dia_phuong"}
    assert {p.stage for p in PATHS} == {Stage.CLOSED, Stage.REJECTED}
    for path in PATHS:
        out = sum(a for kind, a in path.payments if kind != "refund")
        assert out == path.paid, path.name
        assert sum(a for kind, a in path.payments if kind == "refund") == path.refunded
        assert path.advanced <= path.paid
    lives = plan_lives(len(PATHS), random.Random(3), 3)
    assert {life.path.name for life in lives} == {p.name for p in PATHS}


def test_a_failing_history_is_exported_with_its_key_and_replay_notes(tmp_path: Path) -> None:
    history = WorkflowHistory.from_json("de-an/X", HISTORY.read_text("utf-8"))
    bad = Observed(Life("BAD-1", PATHS[0]), history=history)
    good = Observed(Life("GOOD-1", PATHS[0]), history=history)
    written = export([bad, good], {"BAD-1"}, "chaos1:a2V5", tmp_path)
    assert [p.name for p in written] == ["de-an_BAD-1.json"]
    assert WorkflowHistory.from_json("de-an/BAD-1", written[0].read_text("utf-8")).events
    assert (tmp_path / "histories" / "codec-keys").read_text().strip() == "chaos1:a2V5"
    assert "Replayer" in (tmp_path / "histories" / "README.md").read_text("utf-8")
