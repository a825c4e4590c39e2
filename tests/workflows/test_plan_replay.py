"""Recorded plan years replay against the current ``KeHoachWorkflow`` and ``DeAnWorkflow``.

``tests/histories/plans/v0``: recorded before the plan followed its đề án between checkpoints
(one round per decision, checkpoints on plain timers, adjustments not checked against the
envelope); ``v1``: recorded after the ``plan-decision-rescreen-v1``, ``plan-items-linked-v1``
and ``plan-link-v1`` patches; ``v2``: after ``plan-creator-identity-v1`` (who opens a plan
proves it). All must replay, or a plan running in production would break
on the next deploy. Recorded by ``python -m tests.support.plan_histories <set>``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.temporal import suite_data_converter
from workflows.de_an import PLAN_LINK_PATCH, DeAnWorkflow
from workflows.plan import (
    CREATOR_IDENTITY_PATCH,
    ITEMS_LINKED_PATCH,
    RESCREEN_PATCH,
    SEND_PLAN_DECISION,
    KeHoachWorkflow,
)

HISTORIES = Path(__file__).resolve().parent.parent / "histories" / "plans"
RECORDED = sorted(HISTORIES.glob("*/*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"{path.parent.name}/{path.stem}", path.read_text("utf-8"))


def events(version: str, name: str) -> list[dict[str, object]]:
    path = HISTORIES / version / f"decided-adjusted-stopped--{name}.json"
    found: list[dict[str, object]] = json.loads(path.read_text("utf-8"))["events"]
    return found


def activities(version: str, name: str) -> list[str]:
    return [
        str(e["activityTaskScheduledEventAttributes"]["activityType"]["name"])  # type: ignore[index]
        for e in events(version, name)
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    ]


def markers(version: str, name: str) -> str:
    """The IDs of the patches the history recorded (marker payloads are plain JSON)."""
    ids = []
    for e in events(version, name):
        if e["eventType"] != "EVENT_TYPE_MARKER_RECORDED":
            continue
        details = e["markerRecordedEventAttributes"]["details"]  # type: ignore[index]
        if "patch-data" not in details:
            continue  # a local activity's marker
        for payload in details["patch-data"]["payloads"]:
            ids.append(json.loads(base64.b64decode(payload["data"]))["id"])
    return " ".join(ids)


def local_activity_type(event: dict[str, object]) -> str:
    """The activity type of a local activity's marker (its data payload is plain JSON)."""
    details = event["markerRecordedEventAttributes"]["details"]  # type: ignore[index]
    if "data" not in details:
        return ""
    payload = details["data"]["payloads"][0]
    return str(json.loads(base64.b64decode(payload["data"]))["activity_type"])


def test_every_set_holds_the_plan_and_two_of_its_de_an() -> None:
    for version in ("v0", "v1", "v2"):
        names = sorted(p.stem.split("--")[1] for p in (HISTORIES / version).glob("*.json"))
        assert names == ["plan", "raised", "third"], version


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_a_recorded_plan_history_replays_against_the_current_code(path: Path) -> None:
    replayer = Replayer(
        workflows=[KeHoachWorkflow, DeAnWorkflow],
        data_converter=suite_data_converter(),
    )
    await replayer.replay_workflow(load(path))


def test_the_old_set_exercises_the_paths_the_patches_guard() -> None:
    # One round of the decision although a đề án refused and another was refused for the
    # envelope; the checkpoints waited on plain timers; the raise never asked the plan.
    assert activities("v0", "plan").count(SEND_PLAN_DECISION) == 1
    assert "EVENT_TYPE_TIMER_FIRED" in json.dumps(events("v0", "plan"))
    assert "change_plan_commitment" not in activities("v0", "raised")
    for patch in (RESCREEN_PATCH, ITEMS_LINKED_PATCH, PLAN_LINK_PATCH):
        assert patch not in markers("v0", "plan") + markers("v0", "raised"), patch


def test_the_new_set_takes_the_patched_paths() -> None:
    assert activities("v1", "plan").count(SEND_PLAN_DECISION) == 2  # the second round
    assert RESCREEN_PATCH in markers("v1", "plan") and ITEMS_LINKED_PATCH in markers("v1", "plan")
    assert "change_plan_commitment" in activities("v1", "raised")
    assert "record_plan_release" in activities("v1", "plan")  # on the stopped đề án's signal
    third = json.dumps(events("v1", "third"))
    assert "EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED" in third
    assert PLAN_LINK_PATCH in markers("v1", "third")


def test_only_the_latest_set_proves_who_opened_the_plan_before_writing_it() -> None:
    for version in ("v0", "v1"):
        assert CREATOR_IDENTITY_PATCH not in markers(version, "plan"), version
    assert CREATOR_IDENTITY_PATCH in markers("v2", "plan")
    plan = events("v2", "plan")
    kinds = [e["eventType"] for e in plan]
    verdict = next(
        n
        for n, e in enumerate(plan)
        if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
        and local_activity_type(e) == "verify_registration"
    )
    # The verdict (a local activity's marker) comes before the plan's first write.
    assert verdict < kinds.index("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED")
