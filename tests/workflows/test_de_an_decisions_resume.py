"""What crosses continue-as-new since issue 14: the state without its rule packs (they travel
beside it, in ``DeAnInput.rule_packs``), and a bounded list of applied update IDs. A payload
written before, whose state holds the packs, still loads with them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from domain.rules import load_packs, packs_for
from domain.stages import Stage
from tests.support.builders import SO, TRUNG_TAM, UBND, dossier_on
from workflows import de_an_decisions as rules
from workflows.de_an_contract import (
    APPLIED_UPDATE_IDS_KEPT,
    DeAnAppraise,
    DeAnApprove,
    DeAnInput,
    DeAnState,
    remember_update,
)

TODAY = date(2019, 6, 10)
NOW = datetime(2019, 6, 10, 3, 0, tzinfo=UTC)


def approved() -> DeAnState:
    dossier = dossier_on(TODAY)
    packs = packs_for(load_packs(), dossier.level, dossier.province)
    state = rules.initial_state(dossier, TRUNG_TAM, date(2019, 1, 15), packs)
    state = rules.decide_register(state, NOW).state
    appraise = DeAnAppraise(actor=SO, verdict="pass", appraised_on=TODAY, minutes_number="T-1")
    state = rules.decide_appraise(state, appraise, NOW).state
    approve = DeAnApprove(
        actor=UBND,
        decision_number="427/QĐ-UBND",
        decision_date=TODAY,
        signer="Chủ tịch",
        approved_support=dossier.requested_support,
    )
    return rules.decide_approve(state, approve, NOW).state


def test_the_state_serializes_without_its_rule_packs_and_the_query_stays_small() -> None:
    state = approved()
    assert state.rule_packs and state.rule_pack_id is not None
    dumped = json.loads(state.model_dump_json())
    assert "rule_packs" not in dumped
    assert dumped["rule_pack_id"] == state.rule_pack_id
    assert len(state.model_dump_json()) < 6_000


def test_continue_as_new_carries_the_packs_beside_the_state_and_the_next_run_has_them() -> None:
    state = approved()
    payload = rules.continued_input(state, 300).model_dump_json()
    assert "rule_packs" not in json.loads(payload)["resume"]
    resumed = rules.resumed_state(DeAnInput.model_validate_json(payload))
    assert resumed.rule_packs == state.rule_packs
    assert resumed.rule_packs[0] is state.rule_packs[0]  # one instance for the whole worker
    assert rules.fixed_pack(resumed).id == state.rule_pack_id


def test_a_payload_written_before_with_the_packs_in_the_state_still_resumes_with_them() -> None:
    state = approved()
    old = json.loads(rules.continued_input(state, None).model_dump_json())
    old["resume"]["rule_packs"] = old.pop("rule_packs")  # the shape before issue 14
    del old["resume"]["deadline_rules"]
    resumed = rules.resumed_state(DeAnInput.model_validate(old))
    assert resumed.rule_packs == state.rule_packs
    assert rules.fixed_pack(resumed).id == state.rule_pack_id
    assert resumed.model_dump() == state.model_dump()


def test_the_queried_state_without_packs_still_knows_its_open_deadlines() -> None:
    state = approved()
    contracted = state.model_copy(
        update={"stage": Stage.IN_PROGRESS, "contract_signed_on": TODAY, "contracted_support": 1}
    )
    queried = DeAnState.model_validate_json(contracted.model_dump_json())
    assert queried.rule_packs == [] and queried.deadline_rules == state.deadline_rules
    assert rules.open_deadlines(queried) == rules.open_deadlines(contracted) != []


def test_applied_update_ids_keep_the_latest_only() -> None:
    applied: list[str] = []
    for n in range(APPLIED_UPDATE_IDS_KEPT + 10):
        applied = remember_update(applied, f"de-an:visit:{n}")
    assert len(applied) == APPLIED_UPDATE_IDS_KEPT
    assert applied[-1] == f"de-an:visit:{APPLIED_UPDATE_IDS_KEPT + 9}"
    assert applied[0] == "de-an:visit:10"
    assert remember_update(["a"], "b") == ["a", "b"]
