"""The lifecycle benchmark (scripts/bench_lifecycle.py) runs in CI at smoke size: it must
finish, print its table and find PostgreSQL holding exactly the rows its runs made. No timing
is asserted: a few items on a shared runner say nothing about speed."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from bench.lifecycle import PATH

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_lifecycle.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_lifecycle_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmarked_lifecycle_is_twelve_accepted_official_actions() -> None:
    assert len(PATH.steps) == 12
    assert all(step.refusal is None for step in PATH.steps)


@pytest.mark.timeout(150)
def test_the_smoke_run_prints_its_table_and_finds_exactly_the_rows_it_made(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exit_code = load_script().main(["--smoke"])

    out = capsys.readouterr().out
    assert "đề án/s" in out and "action p50/p95/p99" in out
    for mode in ("floor, 1 official", "admin client, 2 officials", "raw updates, 1 official"):
        assert mode in out
    assert "KB per cached đề án" in out and "KB per cached item" in out
    assert "FAILED" not in out
    assert out.rstrip().endswith("ok")
    assert exit_code == 0
