"""How big one DeAnState is, and what dominates it (issue 14): a provincial đề án taken
through registration, appraisal and approval (the benchmark's memory mode leaves it there),
measured as JSON and pickle, and in memory with tracemalloc; then what one decision
allocates. A tool for people, not a test: it prints figures.

    .venv/bin/python scripts/measure_state.py
"""

from __future__ import annotations

import gc
import json
import pickle
import sys
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.model import Level
from domain.rules import RulePack, load_packs, packs_for
from tests.support.builders import SO, TRUNG_TAM, UBND, dossier_on
from workflows import de_an_decisions as rules
from workflows.de_an_contract import (
    TIMELINE_KEPT,
    DeAnAppraise,
    DeAnApprove,
    DeAnRecordVisit,
    DeAnSignContract,
    DeAnState,
)

TODAY = date(2019, 6, 10)
NOW = datetime(2019, 6, 10, 3, 0, tzinfo=UTC)


def approved(packs: list[Any]) -> DeAnState:
    state = rules.initial_state(dossier_on(TODAY), TRUNG_TAM, date(2019, 1, 15), packs)
    state = rules.decide_register(state, NOW).state
    appraise = DeAnAppraise(actor=SO, verdict="pass", appraised_on=TODAY, minutes_number="T-1")
    state = rules.decide_appraise(state, appraise, NOW).state
    approve = DeAnApprove(
        actor=UBND,
        decision_number="427/QĐ-UBND",
        decision_date=TODAY,
        signer="Chủ tịch",
        approved_support=200_000_000,
    )
    return rules.decide_approve(state, approve, NOW).state


def visited(packs: list[Any], visits: int) -> DeAnState:
    """A đề án in progress after ``visits`` monitoring visits: a long life's state."""
    state = approved(packs)
    sign = DeAnSignContract(
        actor=SO, contract_number="1/HĐ", signed_on=TODAY, contracted_support=200_000_000
    )
    state = rules.decide_sign_contract(state, sign, NOW).state
    for n in range(visits):
        visit = DeAnRecordVisit(actor=SO, visited_on=TODAY, minutes_number=f"KT-{n}")
        state = rules.decide_record_visit(state, visit, NOW).state
    return state


def allocated(build: Any) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    kept = build()
    gc.collect()
    size = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return size, kept


def main() -> None:
    dossier = dossier_on(TODAY)
    packs = packs_for(load_packs(), Level(dossier.level), dossier.province)
    state = approved(packs)
    dumped = state.model_dump(mode="json")
    print(f"rule packs that may apply: {len(packs)} ({', '.join(p.id for p in packs)})")
    print(
        f"one DeAnState after approval: JSON {len(json.dumps(dumped)) / 1024:.1f} KB, "
        f"pickle {len(pickle.dumps(state)) / 1024:.1f} KB (pickle keeps the shared packs)"
    )
    total = len(json.dumps(dumped))
    print("largest fields (JSON KB, share):")
    for name, value in sorted(dumped.items(), key=lambda kv: -len(json.dumps(kv[1])))[:6]:
        size = len(json.dumps(value))
        print(f"  {name:24} {size / 1024:7.1f}  {100 * size / total:5.1f} %")
    # In memory: ten đề án, each through approval, kept alive; the packs decoded per đề án as
    # a worker decodes its activity's result (a copy of its own for each).
    copies = [
        json.loads(json.dumps([p.model_dump(mode="json", by_alias=True) for p in packs]))
        for _ in range(10)
    ]

    size, kept = allocated(
        lambda: [approved([RulePack.model_validate(p) for p in c]) for c in copies]
    )
    print(f"in memory (tracemalloc), one đề án through approval: {size / 10 / 1024:.1f} KB")
    size, _ = allocated(lambda: kept[0].model_copy(deep=True))
    print(f"one deep copy of that state: {size / 1024:.1f} KB")
    appraise = DeAnAppraise(actor=SO, verdict="pass", appraised_on=TODAY, minutes_number="T-1")
    base = rules.decide_register(
        rules.initial_state(dossier, TRUNG_TAM, date(2019, 1, 15), packs), NOW
    ).state
    size, _ = allocated(lambda: rules.decide_appraise(base, appraise, NOW))
    print(f"one decision (appraise), what its outcome holds: {size / 1024:.1f} KB")
    # A long life: the timeline keeps its last TIMELINE_KEPT entries, the step keys all.
    for visits in (10, 100):
        size, long = allocated(lambda: visited(packs, visits))  # noqa: B023 (called at once)
        fields = long.model_dump(mode="json")
        print(
            f"after {visits} monitoring visits ({long.seq} steps): in memory {size / 1024:.1f} KB; "
            f"JSON timeline {len(json.dumps(fields['timeline'])) / 1024:.1f} KB "
            f"({len(long.timeline)} entries kept of {long.seq}, TIMELINE_KEPT {TIMELINE_KEPT}), "
            f"step keys {len(json.dumps(fields['step_keys'])) / 1024:.1f} KB"
        )


if __name__ == "__main__":
    main()
