"""Recorded histories of real lifecycles replay against the current ``DeAnWorkflow``.

``tests/histories/v0``: recorded before search attributes were upserted and before payloads
were encrypted (the code of the first release); ``tests/histories/v1``: recorded after the
``search-attributes-v1`` patch, with payloads encrypted by the suite's test keys;
``tests/histories/v2``: recorded after ``inactive-officials-at-registration-v1`` and
``inactive-officials-after-registration-v1`` (the register read before and after registering);
``tests/histories/v3``: recorded after the patches of issue 10 (``stop-lapses-advances-v1``,
``adjust-details-v1``, ``past-deadlines-v1``), with two scenarios that take their new paths;
``tests/histories/v4``: recorded after ``resolve-findings-settled-v1``, with a đề án settled
while its payments were on hold, resolved once settled and paid; ``tests/histories/v5``:
recorded after ``steady-deadline-timer-v1`` (issue 14: the deadline timer runs on across steps
that keep the next deadline) and the ``registered`` update; ``tests/histories/v6``: recorded
after ``local-writes-v1`` (issue 14: the writes as local activities, one marker for every older
patch). A
change to the workflow that would break a running đề án fails here (see
docs/upgrading-workflows.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from tests.support.histories import (
    SCENARIOS,
    is_local_activity,
    payload_texts,
    payloads_in,
    scenarios_of,
)
from tests.support.lifecycle import Driver
from tests.support.temporal import suite_data_converter
from workflows.de_an import (
    INACTIVE_RECHECK_PATCH,
    LOCAL_WRITES_PATCH,
    PAST_DEADLINES_PATCH,
    RESOLVE_SETTLED_PATCH,
    SEARCH_ATTRIBUTES_PATCH,
    STEADY_TIMER_PATCH,
    STOP_LAPSES_PATCH,
    DeAnWorkflow,
)

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
RECORDED = sorted(HISTORIES.glob("*/*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"{path.parent.name}/{path.stem}", path.read_text("utf-8"))


def replayer(**kwargs: object) -> Replayer:
    # The data converter of production (with the codec): the v1 payloads are encrypted.
    return Replayer(workflows=[DeAnWorkflow], data_converter=suite_data_converter(), **kwargs)  # type: ignore[arg-type]


def event_types(path: Path) -> list[str]:
    return [e["eventType"] for e in json.loads(path.read_text("utf-8"))["events"]]


def test_every_scenario_is_recorded_before_and_after_the_patch() -> None:
    for version in ("v0", "v1", "v2", "v3", "v4", "v5", "v6"):
        recorded = {p.stem for p in (HISTORIES / version).glob("*.json")}
        assert recorded == scenarios_of(version), version
    assert scenarios_of("v6") == set(SCENARIOS)  # the latest set records every scenario


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_a_recorded_history_replays_against_the_current_code(path: Path) -> None:
    await replayer().replay_workflow(load(path))


async def texts_of(path: Path) -> str:
    return "\n".join(await payload_texts(load(path), suite_data_converter().payload_codec))


@pytest.mark.parametrize("version", ["v0", "v1", "v2", "v3", "v4", "v5", "v6"])
async def test_the_histories_cover_refusals_adjustments_a_stop_and_a_missed_deadline(
    version: str,
) -> None:
    paths = sorted((HISTORIES / version).glob("*.json"))
    raw = {p.stem: p.read_text("utf-8") for p in paths}
    text = {p.stem: await texts_of(p) for p in paths}
    joined = "\n".join(text.values())
    for action in ("adjust", "stop", "reject", "resubmit", "record_refund", "pay_settlement"):
        assert f'"action":"{action}"' in joined, action
    if version < "v6":
        assert '"action":"deadline_missed"' in text["provincial-deadline-missed"]
    else:  # a local activity's input is not recorded: its marker names it, with its summary
        missed = HISTORIES / version / "provincial-deadline-missed.json"
        assert "record_missed_deadline" in "".join(payload_texts_plain(missed))
    assert "EVENT_TYPE_TIMER_FIRED" in raw["provincial-deadline-missed"]
    assert '"level":"quoc_gia"' in text["national-closed"]
    assert '"level":"dia_phuong"' in text["provincial-closed"]
    # Refusals the officials met: the refused update never reaches the history (its ID is
    # absent), the accepted one that follows does.
    assert "pay_advance:1-on-hold" not in raw["provincial-closed"]
    assert "de-an/BG-DP-HIST-01:pay_advance:1" in raw["provincial-closed"]
    assert "adjust:1300-bt" not in raw["national-closed"]
    assert "de-an/QG-HIST-01:adjust:1300" in raw["national-closed"]


def payload_texts_plain(path: Path) -> list[str]:
    return [p.data.decode("utf-8", "replace") for e in load(path).events for p in payloads_in(e)]


def test_histories_after_the_patch_carry_its_marker_and_upserts() -> None:
    for path in HISTORIES.glob("v1/*.json"):
        types = event_types(path)
        assert types.count("EVENT_TYPE_MARKER_RECORDED") == 1, path
        assert "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES" in types, path
        assert SEARCH_ATTRIBUTES_PATCH in "".join(payload_texts_plain(path))
    for path in HISTORIES.glob("v0/*.json"):
        assert "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES" not in event_types(path)


async def test_upserting_without_the_patch_would_break_the_de_an_already_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the replay suite is for: the same change made without ``workflow.patched`` is
    nondeterministic for every đề án started before it."""
    monkeypatch.setattr(DeAnWorkflow, "_indexes_search_attributes", staticmethod(lambda: True))
    unguarded = replayer(workflow_runner=UnsandboxedWorkflowRunner())
    with pytest.raises(NondeterminismError, match="UpsertWorkflowSearchAttributes"):
        await unguarded.replay_workflow(load(HISTORIES / "v0" / "provincial-closed.json"))


async def test_removing_the_upserts_would_break_the_de_an_started_after_the_patch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(DeAnWorkflow, "_indexes_search_attributes", staticmethod(lambda: False))
    reverted = replayer(workflow_runner=UnsandboxedWorkflowRunner())
    with pytest.raises(NondeterminismError):
        await reverted.replay_workflow(load(HISTORIES / "v1" / "national-closed.json"))


async def test_deprecating_the_patch_keeps_the_patched_histories_and_retires_the_older(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Step 4 of docs/upgrading-workflows.md, checked before anyone relies on it."""

    def deprecated() -> bool:
        workflow.deprecate_patch(SEARCH_ATTRIBUTES_PATCH)
        return True

    monkeypatch.setattr(DeAnWorkflow, "_indexes_search_attributes", staticmethod(deprecated))
    next_step = replayer(workflow_runner=UnsandboxedWorkflowRunner())
    for path in sorted(HISTORIES.glob("v1/*.json")):
        await next_step.replay_workflow(load(path))
    with pytest.raises(NondeterminismError):
        await next_step.replay_workflow(load(HISTORIES / "v0" / "returned-rejected.json"))


async def test_a_history_recorded_now_replays_and_reads_like_a_story(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    """The scenarios still run against the current code (so the recorder works), and the
    fresh history replays, with a Vietnamese summary on every activity and timer."""
    d: Driver = await SCENARIOS["provincial-closed"](ts_env, tq, "-NOW")
    history = await d.handle.fetch_history()
    await replayer().replay_workflow(history)

    converter = ts_env.client.data_converter
    summaries: dict[str, list[str]] = {"activity": [], "timer": []}
    for event in history.events:
        if not event.user_metadata.HasField("summary"):
            continue
        [text] = await converter.decode([event.user_metadata.summary], [str])
        if event.HasField("activity_task_scheduled_event_attributes") or is_local_activity(event):
            summaries["activity"].append(text)
        elif event.HasField("timer_started_event_attributes"):
            summaries["timer"].append(text)
    scheduled = [
        e
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes") or is_local_activity(e)
    ]
    timers = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    assert len(summaries["activity"]) == len(scheduled) and len(summaries["timer"]) == len(timers)
    assert "Sở Công Thương thẩm định: đạt" in summaries["activity"]
    assert any(s.startswith("Phê duyệt theo Quyết định 427/QĐ-UBND") for s in summaries["activity"])
    assert any(s.startswith("Hạn nộp hồ sơ quyết toán: ") for s in summaries["timer"])
    assert any(s.startswith("Hạn báo cáo tiến độ tháng ") for s in summaries["timer"])
    assert summaries["activity"][-1].startswith("Chi trả quyết toán 60.000.000 đ")


def test_histories_after_the_recheck_read_the_register_before_and_after_registering() -> None:
    for path in HISTORIES.glob("v2/*.json"):
        events = json.loads(path.read_text("utf-8"))["events"]
        names = [
            e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
            for e in events
            if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
        ]
        first, second = [n for n, name in enumerate(names) if name == "load_inactive_officials"]
        assert first < names.index("record_step") < second, path
        assert INACTIVE_RECHECK_PATCH in "".join(payload_texts_plain(path)), path
    for path in HISTORIES.glob("v1/*.json"):
        assert INACTIVE_RECHECK_PATCH not in "".join(payload_texts_plain(path)), path


async def test_the_v3_histories_take_the_new_paths_of_issue_10() -> None:
    """A stop lapses the unpaid request and the settlement pays 50 tr; a record typed in
    years later has its past deadlines recorded; a change of site names the new site."""
    lapsed = HISTORIES / "v3" / "national-stopped-lapsed.json"
    late = HISTORIES / "v3" / "provincial-typed-in-late.json"
    closed = HISTORIES / "v3" / "provincial-closed.json"
    lapsed_text, late_text = await texts_of(lapsed), await texts_of(late)
    assert "stop-lapses-advances-v1" in lapsed_text
    assert '"lapsed_advances":[{"request_no":2,"amount":75000000}]' in lapsed_text
    assert '"payout":50000000' in lapsed_text
    assert "pay_advance:2-lapsed" not in lapsed.read_text("utf-8")  # refused: not in history
    assert "past-deadlines-v1" in late_text
    assert late_text.count("đã quá hạn khi được nhập vào hệ thống") >= 2
    assert "adjust-details-v1" in await texts_of(closed)
    assert '"new_address":"Thôn Đông, xã Tiến Phong"' in await texts_of(closed)


async def test_settling_a_lapsed_request_by_the_old_rule_would_break_the_v3_history(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stop's lapse decided by the old rule (the markers still answered): the request
    does not lapse, so the settlement, accepted in the history, fails in its handler."""
    from workflows import de_an_decisions as decisions

    path = HISTORIES / "v3" / "national-stopped-lapsed.json"
    assert STOP_LAPSES_PATCH in await texts_of(path)
    monkeypatch.setattr(
        decisions,
        "switches_for",
        lambda patched: decisions.RuleSwitches(stop_lapses_advances=False),
    )
    old = replayer(workflow_runner=UnsandboxedWorkflowRunner())
    with pytest.raises(NondeterminismError):
        await old.replay_workflow(load(path))


async def test_ignoring_past_deadlines_would_break_the_v3_history_that_recorded_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = HISTORIES / "v3" / "provincial-typed-in-late.json"
    assert PAST_DEADLINES_PATCH in await texts_of(path)

    def old_path(self: DeAnWorkflow) -> bool:
        return workflow.patched(PAST_DEADLINES_PATCH) and False

    monkeypatch.setattr(DeAnWorkflow, "_watches_past_deadlines", old_path)
    old = replayer(workflow_runner=UnsandboxedWorkflowRunner())
    with pytest.raises(NondeterminismError):
        await old.replay_workflow(load(path))


async def test_the_v4_history_resolves_the_findings_of_a_settled_de_an_and_pays_it() -> None:
    path = HISTORIES / "v4" / "provincial-settled-on-hold.json"
    text, raw = await texts_of(path), path.read_text("utf-8")
    assert RESOLVE_SETTLED_PATCH in text
    assert '"action":"resolve_findings","stage_from":"settled","stage_to":"settled"' in text
    assert "pay_settlement:UNC-06-on-hold" not in raw  # refused (on hold): not in history
    assert "de-an/BG-DP-HIST-06:pay_settlement:UNC-06" in raw
    for other in sorted(HISTORIES.glob("*/*.json")):
        if other.stem != path.stem:  # asked only where the rule is at stake
            assert RESOLVE_SETTLED_PATCH not in await texts_of(other), other


async def test_refusing_a_resolution_once_settled_would_break_the_v4_history(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The old lifecycle (WrongStage once settled), the marker still answered: the
    resolution accepted in the history fails in its handler, its step is never scheduled."""
    from workflows import de_an_decisions as decisions

    monkeypatch.setattr(
        decisions,
        "switches_for",
        lambda patched: decisions.RuleSwitches(resolve_after_settlement=False),
    )
    old = replayer(workflow_runner=UnsandboxedWorkflowRunner())
    with pytest.raises(NondeterminismError):
        await old.replay_workflow(load(HISTORIES / "v4" / "provincial-settled-on-hold.json"))


async def test_the_v5_histories_keep_the_deadline_timer_across_steps_the_v4_ones_restarted() -> (
    None
):
    """Each v5 history records the steady-timer marker; the older sets never do, and replay
    with the old wait. Where a v4 history cancelled a timer per step, its v5 twin cancels
    fewer: only when the next deadline changed."""
    fewer = 0
    for path in sorted((HISTORIES / "v5").glob("*.json")):
        assert STEADY_TIMER_PATCH in await texts_of(path), path
        old = HISTORIES / "v4" / path.name
        cancelled = event_types(path).count("EVENT_TYPE_TIMER_CANCELED")
        assert cancelled <= event_types(old).count("EVENT_TYPE_TIMER_CANCELED"), path.name
        fewer += cancelled < event_types(old).count("EVENT_TYPE_TIMER_CANCELED")
    assert fewer > 0
    for path in sorted(HISTORIES.glob("v[0-4]/*.json")):
        assert STEADY_TIMER_PATCH not in await texts_of(path), path


def test_the_v6_histories_write_locally_and_carry_one_patch_marker() -> None:
    """The lean path: no activity task for a write (a local activity's marker instead), the
    patch ``local-writes-v1`` recorded once as the run starts and no older patch's marker; the
    v5 twins, on the old path, schedule an activity for every write."""
    for path in sorted(HISTORIES.glob("v6/*.json")):
        events = json.loads(path.read_text("utf-8"))["events"]
        kinds = [e["eventType"].removeprefix("EVENT_TYPE_") for e in events]
        markers = [
            e["markerRecordedEventAttributes"]["markerName"]
            for e in events
            if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
        ]
        assert markers.count("core_patch") == 1, path
        assert LOCAL_WRITES_PATCH in "".join(payload_texts_plain(path)), path
        assert "ACTIVITY_TASK_SCHEDULED" not in kinds, path
        assert markers.count("core_local_activity") >= 5, path
        old = HISTORIES / "v5" / path.name
        assert len(events) < len(json.loads(old.read_text("utf-8"))["events"]), path
        assert "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED" in old.read_text("utf-8"), path
