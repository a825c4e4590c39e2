"""The fault suite, CI-sized: one đề án per path (national and provincial; closed with a
payout, a refund or nothing left; returned, rejected, stopped; adjusted), two worker processes,
and every kind of fault while they run. ``khuyencong chaos`` runs the same at any size."""

from __future__ import annotations

from pathlib import Path

import pytest

from khuyencong.chaos.faults import PG_FAST, PG_IMMEDIATE, TEMPORAL_KILL, WORKER_KILL
from khuyencong.chaos.paths import PATHS
from khuyencong.chaos.run import ChaosOptions, run_chaos

SAME_ID = "retries keep their update ID"


@pytest.mark.timeout(900)
async def test_every_lifecycle_survives_killed_workers_temporal_and_postgres(
    tmp_path: Path,
) -> None:
    options = ChaosOptions(
        lifecycles=len(PATHS),
        concurrency=4,
        workers=2,
        worker_kills=2,
        temporal_restarts=1,
        postgres_restarts=2,
        seed=7,
        out=tmp_path / "out",
        lost_answers=0.1,
    )
    report = await run_chaos(options, echo=lambda _: None)

    assert report.faults.fired == {WORKER_KILL: 2, TEMPORAL_KILL: 1, PG_FAST: 1, PG_IMMEDIATE: 1}
    assert not report.faults.errors
    assert {life.path.name for life in report.lives} == {p.name for p in PATHS}
    checks = {c.name: c for c in report.verdict.checks}
    same_id = checks[SAME_ID]
    failed = [f"{c.name}: {c.failures}" for c in checks.values() if not c.ok]
    assert not failed, report.text
    assert not report.verdict.exported
    # A step sent again after a lost answer goes under the same update ID (it used to drift
    # for adjust, resubmit, resolve_findings and request_advance).
    assert same_id.ok, same_id.failures
