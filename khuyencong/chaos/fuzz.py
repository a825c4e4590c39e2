"""The update fuzzer: random actions on đề án in every stage, judged by the oracle.

A few slots each keep one đề án alive (a new one is registered when it ends, so every stage
is met again and again); each slot reads its đề án's state, draws a move
(:mod:`~khuyencong.chaos.moves`), asks the oracle (:mod:`~khuyencong.chaos.oracle`) what the
rules say, sends it half the time through the admin client and half the time as a raw
``handle.execute_update`` with a fresh update ID, and compares. Counted:

- accepted wrongly / refused wrongly (the oracle said the opposite);
- busy: refusals whose type says another action is in flight (``…Busy``), not wrong;
- refused for another rule than the oracle's (not wrong, listed);
- wrong outcome: accepted, but the stage it led to or the settlement it recorded is not the
  oracle's;
- history events left by a refusal (history length before/after; a validator's refusal must
  add none on the real server);
- workflow-task failures (in the histories at the end) and stuck updates or activities.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.model import (
    Beneficiary,
    BeneficiaryType,
    ContentArea,
    CostLine,
    DeAnDossier,
    Level,
    Role,
    Schedule,
    workflow_id_for,
)
from domain.stages import Action, Stage
from khuyencong.admin.client import COMMANDS, STATE_QUERY
from khuyencong.admin.errors import ActionRefused, BadInput, NotFound
from khuyencong.chaos.moves import Move, propose
from khuyencong.chaos.officials import ROSTER, Desk
from khuyencong.chaos.oracle import Oracle, Verdict
from khuyencong.identity_interceptors import vouching
from workflows.de_an_contract import DeAnActionResult, DeAnState

UPDATE_TIMEOUT = 60.0
"""An update that has not answered after this long is counted as stuck."""
RECENT = 12
"""Moves remembered per đề án for the report of a trapped one."""
TRAPPED_AFTER = 60
"""Actions in a row refused on one open đề án before the fuzzer looks for a way out: a move the
oracle accepts (:data:`WAY_OUT_TRIES` proposals). One found is sent (a state with a narrow exit,
such as an advance request only the right accountant can pay, is not a trap); none found, the
đề án is reported as trapped (no way out that the rules allow) and left for a new one."""
WAY_OUT_TRIES = 2000

TEMPLATES: list[tuple[str, Level, str, ContentArea, int, int, int]] = [
    # (name, level, support item, content area, cost, requested, counterpart)
    (
        "dp-machinery",
        Level.DIA_PHUONG,
        "machinery",
        ContentArea.MO_HINH_MAY_MOC,
        600_000_000,
        200_000_000,
        400_000_000,
    ),
    ("dp-training", Level.DIA_PHUONG, "training", ContentArea.DAO_TAO, 100_000_000, 100_000_000, 0),
    (
        "dp-enterprise",
        Level.DIA_PHUONG,
        "enterprise_setup",
        ContentArea.NANG_LUC_QUAN_LY,
        60_000_000,
        10_000_000,
        50_000_000,
    ),
    (
        "qg-machinery",
        Level.QUOC_GIA,
        "machinery",
        ContentArea.MO_HINH_MAY_MOC,
        700_000_000,
        300_000_000,
        450_000_000,
    ),
    (
        "qg-training",
        Level.QUOC_GIA,
        "training",
        ContentArea.DAO_TAO,
        300_000_000,
        200_000_000,
        150_000_000,
    ),
]


@dataclass
class FuzzCounts:
    actions: int = 0
    via_admin: int = 0
    via_raw: int = 0
    accepted: int = 0
    refused: int = 0
    accepted_wrongly: list[str] = field(default_factory=list)
    refused_wrongly: list[str] = field(default_factory=list)
    busy: int = 0
    other_rule: Counter[str] = field(default_factory=Counter)
    wrong_outcome: list[str] = field(default_factory=list)
    events_left_by_refusal: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    trapped: list[str] = field(default_factory=list)
    ways_out: int = 0
    """Long-refused đề án given a move the oracle found (:data:`TRAPPED_AFTER`)."""
    answered_from_earlier: list[str] = field(default_factory=list)
    """Answered as accepted, but nothing was applied: the update ID had been used before."""
    transport: Counter[str] = field(default_factory=Counter)
    task_failures: Counter[str] = field(default_factory=Counter)
    stages: Counter[str] = field(default_factory=Counter)
    by_action: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    registered: int = 0

    @property
    def wrong(self) -> int:
        return (
            len(self.accepted_wrongly)
            + len(self.refused_wrongly)
            + len(self.wrong_outcome)
            + len(self.events_left_by_refusal)
            + sum(self.task_failures.values())
            + len(self.stuck)
            + len(self.trapped)
        )


def fuzz_dossier(code: str, template: tuple[Any, ...], today: date) -> DeAnDossier:
    name, level, item, area, cost, requested, counterpart = template
    return DeAnDossier(
        code=code,
        title=f"Fuzz: {name}",
        level=level,
        province="Bắc Giang",
        district="Lục Ngạn",
        content_area=area,
        support_item=item,
        beneficiary=Beneficiary(
            name="Hộ kinh doanh Minh Châu",
            type=BeneficiaryType.HO_KINH_DOANH,
            tax_code="240012345678",
        ),
        implementing_unit="Trung tâm Khuyến công tỉnh Bắc Giang",
        plan_year=today.year,
        schedule=Schedule(start=today, end=date(today.year, 12, 31)),
        cost_lines=[
            CostLine(description="Thiết bị", amount=cost - 20_000_000),
            CostLine(description="Lắp đặt", amount=20_000_000),
        ],
        requested_support=requested,
        counterpart_funds=counterpart,
    )


def _history_length(description: Any) -> int:
    return int(description.raw_description.workflow_execution_info.history_length)


def _actor_dict(desk: Desk, who: str) -> dict[str, Any]:
    return desk[who].model_dump(mode="python")


def _short(move: Move, code: str, verdict: Verdict, got: str) -> str:
    fields = {k: v for k, v in move.payload.items() if k != "dossier"}
    return f"{code} [{move.action.value} by {move.who}] {fields} → {got}; oracle: " + (
        "accept" if verdict.accept else f"refuse {sorted(set(verdict.breaks))}"
    )


class Fuzzer:
    def __init__(
        self,
        desk: Desk,
        oracle: Oracle,
        rng: random.Random,
        today: date,
        total: int,
        tag: str,
    ) -> None:
        self.desk = desk
        self.client = desk.admin.client
        self.oracle = oracle
        self.rng = rng
        self.today = today
        self.total = total
        self.tag = tag
        self.counts = FuzzCounts()
        self.codes: list[str] = []
        self.per_slot: Counter[int] = Counter()
        self.roster = {k: (v[0], v[1]) for k, v in ROSTER.items()}
        # The last moves on each đề án and what they met: a trapped one is reported with them.
        self.recent: defaultdict[str, deque[str]] = defaultdict(lambda: deque(maxlen=RECENT))

    async def register(self, slot: int, rng: random.Random) -> tuple[str, set[tuple[str, str]]]:
        """A new đề án for ``slot``, from the slot's own random stream (reproducible)."""
        code = f"FZ-{self.tag}-{slot:02d}{self.per_slot[slot]:04d}"
        self.per_slot[slot] += 1
        self.codes.append(code)
        template = rng.choice(TEMPLATES)
        await self.desk.admin.register(
            self.desk["tt"], fuzz_dossier(code, template, self.today), self.today
        )
        self.counts.registered += 1
        return code, set()

    async def quiet(self, handle: WorkflowHandle[Any, Any], timeout: float = 10.0) -> Any:
        """The description once no activity and no workflow task is pending (the work an
        earlier step started, e.g. the registration's second read of the register, is done),
        so that a change of history length is this action's."""
        deadline = time.monotonic() + timeout
        while True:
            desc = await handle.describe()
            raw = desc.raw_description
            busy = bool(raw.pending_activities) or raw.HasField("pending_workflow_task")
            if not busy or time.monotonic() > deadline:
                return desc
            await asyncio.sleep(0.05)

    async def state(self, handle: WorkflowHandle[Any, Any]) -> DeAnState:
        state: DeAnState = await handle.query(STATE_QUERY, result_type=DeAnState)
        return state

    async def slot(self, slot: int, seed: float) -> None:
        rng = random.Random(seed)
        code, papers = await self.register(slot, rng)
        idle = 0
        while self.counts.actions < self.total:
            handle = self.client.get_workflow_handle(workflow_id_for(code))
            state = await self.state(handle)
            way_out = None
            if idle >= TRAPPED_AFTER and not state.stage.terminal:
                way_out = self.way_out(code, state, papers)
            if way_out is not None:
                self.counts.ways_out += 1
                self.counts.actions += 1
                if not await self.one(rng, code, handle, state, papers, way_out):
                    # What it met is counted (refused wrongly, or answered from an earlier
                    # update); the same search would find the same move: a new đề án.
                    code, papers = await self.register(slot, rng)
                idle = 0
                continue
            if idle >= TRAPPED_AFTER:
                self.counts.trapped.append(
                    f"{code}: {idle} actions without one accepted at stage {state.stage.value}"
                    f" (payments on hold: {state.payments_on_hold}, open findings: "
                    f"{len(state.open_findings)}, settlement payout "
                    f"{state.settlement.payout if state.settlement else None}, advances "
                    f"{[(a.amount, a.paid_on is not None) for a in state.advances]}); last "
                    f"moves: {' | '.join(self.recent[code])}"
                )
                state = await self.state(handle)
            if state.stage.terminal or idle >= TRAPPED_AFTER:
                code, papers = await self.register(slot, rng)
                idle = 0
                continue
            self.counts.actions += 1
            accepted = await self.one(rng, code, handle, state, papers)
            idle = 0 if accepted else idle + 1

    def way_out(self, code: str, state: DeAnState, papers: set[tuple[str, str]]) -> Move | None:
        """A move the oracle accepts on ``state``, from proposals of a stream of their own
        (reproducible: seeded by the đề án and its step), or None: no way out it knows."""
        search = random.Random(f"{code}:{state.seq}")
        for _ in range(WAY_OUT_TRIES):
            move = propose(search, state, self.today, self.roster)
            actor = _actor_dict(self.desk, move.who)
            if self.oracle.judge(
                state, move.action, actor, move.payload, self.today, papers
            ).accept:
                return move
        return None

    async def one(
        self,
        rng: random.Random,
        code: str,
        handle: WorkflowHandle[Any, Any],
        state: DeAnState,
        papers: set[tuple[str, str]],
        move: Move | None = None,
    ) -> bool:
        """Send ``move`` (default: a random proposal) and judge its answer."""
        c = self.counts
        move = move or propose(rng, state, self.today, self.roster)
        actor = _actor_dict(self.desk, move.who)
        verdict = self.oracle.judge(state, move.action, actor, move.payload, self.today, papers)
        c.stages[state.stage.value] += 1
        c.by_action[move.action.value] += 1
        before = _history_length(await self.quiet(handle))
        outcome, refusal = await self.send(rng, code, handle, move)
        self.recent[code].append(
            f"{move.action.value} by {move.who} → {refusal or outcome} (oracle "
            + ("accept" if verdict.accept else ",".join(sorted(set(verdict.breaks))))
            + ")"
        )
        if outcome == "transport":
            return False
        if outcome == "accepted":
            after_state = await self.state(handle)
            if after_state.seq == state.seq:
                # Temporal answered from an earlier update with the same ID (the admin client
                # builds IDs from the command): nothing was applied now.
                c.answered_from_earlier.append(
                    _short(
                        move,
                        code,
                        verdict,
                        f"answered as accepted, stage stays "
                        f"{after_state.stage.value}, nothing applied",
                    )
                )
                return False
            c.accepted += 1
            if not verdict.accept:
                c.accepted_wrongly.append(_short(move, code, verdict, "accepted"))
            self.check_outcome(code, move, verdict, after_state)
            if move.action is Action.RECORD_VISIT:
                papers.add(("visit", str(move.payload.get("minutes_number"))))
            if move.action is Action.ADJUST:
                papers.add(("adjust", str(move.payload.get("decision_number"))))
            return True
        c.refused += 1
        c.refusals[refusal] += 1
        if "Busy" in refusal:
            c.busy += 1
        elif verdict.accept:
            c.refused_wrongly.append(_short(move, code, verdict, f"refused {refusal}"))
        elif refusal.removesuffix("(client)") not in verdict.breaks:
            c.other_rule[
                f"{move.action.value}: {refusal} (oracle {sorted(set(verdict.breaks))})"
            ] += 1
        after = _history_length(await handle.describe())
        if after != before:
            c.events_left_by_refusal.append(
                f"{code} [{move.action.value}] refused {refusal}: history {before} → {after}"
            )
        return False

    def check_outcome(self, code: str, move: Move, verdict: Verdict, after: DeAnState) -> None:
        wrong = []
        if verdict.next_stage is not None and after.stage is not verdict.next_stage:
            wrong.append(f"stage {after.stage.value}, oracle {verdict.next_stage.value}")
        if verdict.settle is not None and after.settlement is not None:
            s = after.settlement
            got = (s.final_support, s.payout, s.refund_owed)
            if got != verdict.settle:
                wrong.append(f"settlement {got}, oracle {verdict.settle}")
        if after.paid > after.approved_support:
            wrong.append(f"paid {after.paid} > approved {after.approved_support}")
        if wrong:
            self.counts.wrong_outcome.append(f"{code} [{move.action.value}]: {'; '.join(wrong)}")

    async def send(
        self, rng: random.Random, code: str, handle: WorkflowHandle[Any, Any], move: Move
    ) -> tuple[str, str]:
        """``("accepted", "")``, ``("refused", type)`` or ``("transport", error)``."""
        c = self.counts
        payload = {**move.payload, "actor": self.desk[move.who]}
        try:
            async with asyncio.timeout(UPDATE_TIMEOUT):
                if rng.random() < 0.5:
                    c.via_admin += 1
                    try:
                        command = COMMANDS[move.action].model_validate(payload)
                    except ValidationError:
                        return "refused", "InvalidField(client)"
                    await self.desk.admin.act(code, command)
                else:
                    c.via_raw += 1
                    raw = {**move.payload, "actor": _actor_dict(self.desk, move.who)}
                    # As an operator with `khuyencong token`: a statement for this one update.
                    with vouching(raw["actor"]["official_id"]):
                        await handle.execute_update(
                            move.action.value,
                            raw,
                            id=f"fuzz-{uuid.UUID(int=rng.getrandbits(128)).hex}",
                            result_type=DeAnActionResult,
                        )
            return "accepted", ""
        except ActionRefused as refused:
            return "refused", refused.type
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            if isinstance(cause, ApplicationError):
                return "refused", str(cause.type)
            return "refused", type(cause).__name__
        except (BadInput, NotFound) as exc:
            return "refused", f"{type(exc).__name__}(client)"
        except TimeoutError:
            c.stuck.append(f"{code} [{move.action.value}]: no answer in {UPDATE_TIMEOUT:.0f} s")
            return "transport", "timeout"
        except Exception as exc:
            c.transport[type(exc).__name__] += 1
            return "transport", type(exc).__name__

    async def finish(self) -> None:
        """Task failures in every history, and workflows left with a retrying activity."""
        for code in self.codes:
            handle = self.client.get_workflow_handle(workflow_id_for(code))
            desc = await handle.describe()
            if any(p.attempt > 1 for p in desc.raw_description.pending_activities):
                self.counts.stuck.append(f"{code}: activity retrying")
            if desc.status == WorkflowExecutionStatus.FAILED:
                self.counts.stuck.append(f"{code}: workflow failed")
            history = await handle.fetch_history()
            for event in history.events:
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    cause = event.workflow_task_failed_event_attributes.cause
                    self.counts.task_failures[f"{code}: {WorkflowTaskFailedCause.Name(cause)}"] += 1


async def run_fuzz(
    desk: Desk, *, actions: int, slots: int, seed: int, today: date, tag: str
) -> FuzzCounts:
    fuzzer = Fuzzer(desk, Oracle.from_rule_packs(), random.Random(seed), today, actions, tag)
    seeds = [fuzzer.rng.random() for _ in range(slots)]
    await asyncio.gather(*(fuzzer.slot(i, s) for i, s in enumerate(seeds)))
    await fuzzer.finish()
    return fuzzer.counts


def render_fuzz(c: FuzzCounts, seed: int, elapsed: float) -> str:
    lines = [
        f"Khuyến công fuzz — seed {seed}: {c.actions} actions on {c.registered} đề án in "
        f"{elapsed:.0f} s ({c.via_admin} through the admin client, {c.via_raw} raw updates)",
        "stages met: " + ", ".join(f"{s} {n}" for s, n in sorted(c.stages.items())),
        f"accepted {c.accepted} · refused {c.refused} · transport errors {dict(c.transport) or 0}",
        "refusals: " + ", ".join(f"{k} {n}" for k, n in c.refusals.most_common()),
        "",
        f"{'count':44} value",
        f"{'accepted wrongly':44} {len(c.accepted_wrongly)}",
        f"{'refused wrongly':44} {len(c.refused_wrongly)}",
        f"{'refused as busy (transient, not wrong)':44} {c.busy}",
        f"{'refused, but for another rule (not wrong)':44} {sum(c.other_rule.values())}",
        f"{'wrong outcome of an accepted action':44} {len(c.wrong_outcome)}",
        f"{'history events left by a refusal':44} {len(c.events_left_by_refusal)}",
        f"{'workflow-task failures':44} {sum(c.task_failures.values())}",
        f"{'stuck (update or activity)':44} {len(c.stuck)}",
        f"{'trapped (open, nothing accepted for long)':44} {len(c.trapped)}",
        f"{'answered from an earlier update (same ID)':44} {len(c.answered_from_earlier)}",
        f"{'ways out the oracle found (long refused)':44} {c.ways_out}",
        "",
    ]
    for title, items in (
        ("accepted wrongly", c.accepted_wrongly),
        ("refused wrongly", c.refused_wrongly),
        ("wrong outcome", c.wrong_outcome),
        ("events left by a refusal", c.events_left_by_refusal),
        ("stuck", c.stuck),
        ("trapped", c.trapped),
        ("task failures", [f"{k} ×{n}" for k, n in c.task_failures.items()]),
    ):
        for text in items[:15]:
            lines.append(f"  ✗ {title}: {text}")
        if len(items) > 15:
            lines.append(f"  … {len(items) - 15} more {title}")
    for text in c.answered_from_earlier[:5]:
        lines.append(f"  · answered from an earlier update with the same ID: {text}")
    for text, n in c.other_rule.most_common(10):
        lines.append(f"  · other rule ×{n}: {text}")
    lines.append("")
    lines.append("RESULT: " + ("ok" if c.wrong == 0 else f"FAIL ({c.wrong})"))
    return "\n".join(lines)


async def fuzz_on_stack(
    *, actions: int, slots: int, seed: int, echo: Callable[[str], None] = print
) -> FuzzCounts:
    """Start a stack (dev server, embedded PostgreSQL, one worker process), fuzz, print."""
    import shutil
    import tempfile
    from datetime import UTC, datetime
    from pathlib import Path

    from domain.deadlines import vn_date
    from khuyencong.chaos.officials import officials_at_desk
    from khuyencong.chaos.stack import chaos_stack

    root = Path(tempfile.mkdtemp(prefix="kc-fuzz-"))
    started = time.monotonic()
    try:
        async with chaos_stack(root, workers=1, task_queue=f"fuzz-{seed}") as stack:
            assert stack.client is not None
            async with officials_at_desk(
                stack.client, stack.database_url, stack.task_queue, f"FZ{seed}"
            ) as desk:
                counts = await run_fuzz(
                    desk,
                    actions=actions,
                    slots=slots,
                    seed=seed,
                    today=vn_date(datetime.now(UTC)),
                    tag=f"S{seed}",
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    echo(render_fuzz(counts, seed, time.monotonic() - started))
    return counts


__all__ = ["FuzzCounts", "Role", "Stage", "fuzz_on_stack", "render_fuzz", "run_fuzz"]
