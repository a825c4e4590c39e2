"""Histories that once failed to replay, kept replaying (tests/histories/regressions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from khuyencong.activation_order import UpdateOrderRunner, replay_as_worker
from khuyencong.client import project_converter
from khuyencong.codec import CodecKeys, EncryptionCodec
from khuyencong.converter import converter_with
from workflows.de_an import DeAnWorkflow

NONDETERMINISM = Path(__file__).resolve().parent.parent / "histories/regressions/nondeterminism"
STUCK = NONDETERMINISM / "de-an_REL-TER1C2AD-000011.json"
ALL = [STUCK, *sorted((NONDETERMINISM / "controls").glob("*.json"))]


def load(path: Path) -> WorkflowHistory:
    text = path.read_text("utf-8")
    started = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
    return WorkflowHistory.from_json(started["workflowId"], text)


def replayer(runner: UpdateOrderRunner | None = None) -> Replayer:
    keys = CodecKeys.from_file(NONDETERMINISM / "codec-keys")
    converter = converter_with(EncryptionCodec(keys))
    if runner is None:
        return Replayer(workflows=[DeAnWorkflow], data_converter=converter)
    return Replayer(workflows=[DeAnWorkflow], data_converter=converter, workflow_runner=runner)


def test_the_stuck_history_accepts_its_update_after_the_commands_of_the_same_task() -> None:
    events = json.loads(STUCK.read_text("utf-8"))["events"]
    kinds = {int(e["eventId"]): e["eventType"] for e in events}
    accepted = next(
        e for e in events if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"
    )
    attributes = accepted["workflowExecutionUpdateAcceptedEventAttributes"]
    assert attributes["acceptedRequestSequencingEventId"] == "22"
    assert int(accepted["eventId"]) == 31
    assert kinds[25] == "EVENT_TYPE_MARKER_RECORDED"
    assert kinds[30] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"


async def test_the_sdks_own_runner_cannot_replay_the_stuck_history() -> None:
    result = await replayer().replay_workflow(load(STUCK), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "search-attributes-v1" in str(result.replay_failure)


async def test_the_projects_runner_replays_the_stuck_history_on_the_tasks_next_attempt() -> None:
    runner = UpdateOrderRunner()
    first = await replayer(runner).replay_workflow(load(STUCK), raise_on_replay_failure=False)
    assert first.replay_failure is not None  # the SDK's order, as the first attempt after deploy
    assert len(runner.order) == 1  # the failure taught it this task's order
    second = await replayer(runner).replay_workflow(load(STUCK), raise_on_replay_failure=False)
    assert second.replay_failure is None


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
async def test_every_regression_history_replays_as_a_worker_runs_it(path: Path) -> None:
    result = await replay_as_worker(replayer(UpdateOrderRunner()), load(path))
    assert result.replay_failure is None


@pytest.mark.parametrize("path", ALL[1:], ids=lambda p: p.stem)
async def test_a_control_history_replays_at_once_and_teaches_the_runner_nothing(
    path: Path,
) -> None:
    runner = UpdateOrderRunner()
    result = await replayer(runner).replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None
    assert len(runner.order) == 0


async def test_the_shared_replay_tool_s_route_decrypts_with_the_key_file_of_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``../shared/regressions/nondeterminism/replay.py`` sets ``KHUYENCONG_CODEC_KEYS_FILE`` and
    asks for ``project_converter(None)``: the configured keys must come through Settings."""
    monkeypatch.delenv("KHUYENCONG_CODEC_KEYS", raising=False)
    monkeypatch.setenv("KHUYENCONG_CODEC_KEYS_FILE", str(NONDETERMINISM / "codec-keys"))
    replayer = Replayer(workflows=[DeAnWorkflow], data_converter=project_converter(None))
    for path in sorted((NONDETERMINISM / "controls").glob("*.json")):
        result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
        assert result.replay_failure is None, path.name
