"""The update fuzzer, CI-sized: a few hundred random actions (admin client and raw updates) on
đề án in every stage, against the dev server and the production worker in a subprocess, judged
by the oracle written from docs/officials.md and the domain rules. ``khuyencong chaos fuzz``
runs 10,000 and more."""

from __future__ import annotations

import pytest

from khuyencong.chaos.fuzz import fuzz_on_stack, render_fuzz
from khuyencong.chaos.oracle import Oracle


def test_the_oracle_reads_every_rule_pack() -> None:
    oracle = Oracle.from_rule_packs()
    assert {p.level for p in oracle.packs} == {"quoc_gia", "dia_phuong"}
    assert all("training" in p.items and "machinery" in p.items for p in oracle.packs)


@pytest.mark.timeout(900)
async def test_random_actions_get_the_answers_the_rules_give() -> None:
    counts = await fuzz_on_stack(actions=300, slots=6, seed=11, echo=lambda _: None)

    report = render_fuzz(counts, 11, 0)
    assert counts.actions >= 300
    assert counts.accepted > 50 and counts.refused > 50, report
    assert {"registered", "appraised", "approved", "in_progress"} <= set(counts.stages), report
    assert counts.accepted_wrongly == [], report
    assert counts.refused_wrongly == [], report
    assert counts.wrong_outcome == [], report
    assert counts.events_left_by_refusal == [], report
    assert not counts.task_failures and not counts.stuck, report
    assert counts.wrong == 0, report
