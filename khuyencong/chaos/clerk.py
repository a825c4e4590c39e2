"""An official at the keyboard, as the fault suite simulates one.

A call that fails for a transport reason (Temporal or PostgreSQL down, a timeout, a lost
answer) is sent again, the same command through the same admin client, which gives it the same
update ID (``{code}:{action}:{ref}``; see :func:`khuyencong.admin.client.update_id_for`), so
Temporal applies it once. A refusal is a refusal: it is not retried. A refusal met *after* a
transport failure may mean the first attempt went through (the rules then refuse the repeat,
e.g. ``Duplicate``): like a person would, the clerk then looks at the đề án and counts the step
as done when it is there.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from temporalio.client import WorkflowHandle

from domain.model import DeAnDossier, workflow_id_for
from domain.stages import Action
from khuyencong.admin.client import COMMANDS, DE_AN_WORKFLOW, STATE_QUERY
from khuyencong.admin.errors import ActionRefused, BadInput, NotFound
from khuyencong.chaos.officials import Desk
from khuyencong.chaos.paths import LifePath, Step
from khuyencong.chaos.wire import CURRENT_STEP, Wire
from workflows.de_an_contract import DeAnState

GIVE_UP_AFTER = 300.0
"""Seconds a clerk keeps retrying one call through outages before the lifecycle fails."""


class LifecycleFailed(Exception):
    """The lifecycle could not go on: an unexpected refusal or acceptance, or an outage that
    outlasted :data:`GIVE_UP_AFTER`."""


@dataclass
class ClerkStats:
    steps_done: int = 0
    transport_retries: Counter[str] = field(default_factory=Counter)
    """Retries by the kind of error that caused them."""
    repeat_found_applied: int = 0
    """Retries refused because the first attempt had gone through (the step was there)."""
    expected_refusals: int = 0
    refusal_mismatch: list[str] = field(default_factory=list)
    """Refused as expected, but by another rule."""
    wrong_accepts: list[str] = field(default_factory=list)
    """Accepted where the rules promise a refusal."""
    resent: int = 0
    """Steps sent more than once (after a transport failure)."""
    id_changed: list[str] = field(default_factory=list)
    """Steps whose retry went out under another update ID than the first attempt."""


def is_transport(exc: BaseException) -> bool:
    """Not a refusal, not bad input: the call may or may not have reached the workflow."""
    return not isinstance(exc, ActionRefused | BadInput | NotFound | LifecycleFailed)


class Clerk:
    def __init__(
        self,
        desk: Desk,
        stats: ClerkStats,
        rng: random.Random,
        wire: Wire | None = None,
        pace: asyncio.Event | None = None,
    ) -> None:
        self.desk = desk
        self.stats = stats
        self.rng = rng
        self.wire = wire
        # Set unless a fault is due (khuyencong.chaos.faults.inject): the clerk waits before
        # its next step, so a run that goes fast still meets every fault of its plan.
        self.pace = pace

    async def _patiently(self, what: str, call: Any) -> Any:
        """Run ``call()`` until it answers or raises something not about transport."""
        started = time.monotonic()
        delay = 0.2
        while True:
            try:
                return await call()
            except Exception as exc:
                if not is_transport(exc):
                    raise
                self.stats.transport_retries[type(exc).__name__] += 1
                if time.monotonic() - started > GIVE_UP_AFTER:
                    raise LifecycleFailed(
                        f"{what}: gave up after {GIVE_UP_AFTER:.0f} s: {exc!r}"
                    ) from None
                await asyncio.sleep(delay * (0.5 + self.rng.random()))
                delay = min(delay * 2, 3.0)

    async def state(self, code: str) -> DeAnState:
        handle: WorkflowHandle[Any, Any] = self.desk.admin.client.get_workflow_handle(
            workflow_id_for(code)
        )

        async def query() -> DeAnState:
            state: DeAnState = await handle.query(STATE_QUERY, result_type=DeAnState)
            return state

        result: DeAnState = await self._patiently(f"{code}: state", query)
        return result

    async def register(self, path: LifePath, dossier: DeAnDossier, today: date) -> None:
        actor = self.desk["tt"]
        await self._patiently(
            f"{dossier.code}: register",
            lambda: self.desk.admin.register(actor, dossier, today),
        )
        self.stats.steps_done += 1

    def command(self, step: Step, code: str, today: date, dossier: DeAnDossier) -> Any:
        payload = step.payload(today)
        if payload.get("dossier") == "@dossier":
            payload["dossier"] = dossier.model_copy(
                update={"title": f"{dossier.title} (hồ sơ bổ sung)"}
            )
        return COMMANDS[step.action].model_validate({**payload, "actor": self.desk[step.who]})

    async def perform(
        self, code: str, step: Step, today: date, dossier: DeAnDossier, index: int = 0
    ) -> None:
        name = f"{code}#{index}"
        token = CURRENT_STEP.set(name)
        try:
            await self._perform(code, step, today, dossier)
        finally:
            CURRENT_STEP.reset(token)
        ids = self.wire.ids.pop(name, []) if self.wire is not None else []
        if len(ids) > 1:
            self.stats.resent += 1
            if len(set(ids)) > 1:
                self.stats.id_changed.append(
                    f"{code}: {step.action.value} resent under {len(set(ids))} update IDs: "
                    + ", ".join(dict.fromkeys(ids))
                )

    async def _perform(self, code: str, step: Step, today: date, dossier: DeAnDossier) -> None:
        command = self.command(step, code, today, dossier)
        what = f"{code}: {step.action.value} by {step.who}"
        before = None if step.refusal else (await self.state(code)).seq
        failed_once = False
        started = time.monotonic()
        delay = 0.2
        while True:
            try:
                await self.desk.admin.act(code, command)
            except ActionRefused as refused:
                if refused.type.endswith("Busy"):
                    # Another action is in flight on this đề án: transient, try again.
                    self.stats.transport_retries[refused.type] += 1
                    failed_once = True
                    if time.monotonic() - started > GIVE_UP_AFTER:
                        raise LifecycleFailed(f"{what}: still busy, gave up") from None
                    await asyncio.sleep(delay * (0.5 + self.rng.random()))
                    delay = min(delay * 2, 3.0)
                    continue
                if step.refusal is not None:
                    self.stats.expected_refusals += 1
                    if refused.type != step.refusal:
                        self.stats.refusal_mismatch.append(
                            f"{what}: expected {step.refusal}, got {refused.type}"
                        )
                    break
                if failed_once and await self._applied(code, step.action, before):
                    self.stats.repeat_found_applied += 1
                    break
                raise LifecycleFailed(f"{what}: refused {refused.type}: {refused}") from None
            except (BadInput, NotFound) as exc:
                raise LifecycleFailed(f"{what}: {exc}") from None
            except Exception as exc:
                self.stats.transport_retries[type(exc).__name__] += 1
                failed_once = True
                if time.monotonic() - started > GIVE_UP_AFTER:
                    raise LifecycleFailed(f"{what}: gave up: {exc!r}") from None
                await asyncio.sleep(delay * (0.5 + self.rng.random()))
                delay = min(delay * 2, 3.0)
                continue
            else:
                if step.refusal is not None:
                    self.stats.wrong_accepts.append(f"{what}: accepted, {step.refusal} expected")
            break
        self.stats.steps_done += 1

    async def _applied(self, code: str, action: Action, before: int | None) -> bool:
        """Whether ``action`` was recorded as a step after step ``before``. The state's
        timeline holds the last 20 entries: between ``before`` and now only this action's
        retries and a timer or two add steps to a đề án the clerk drives alone."""
        if before is None:
            return False
        timeline = (await self.state(code)).timeline
        return any(t.action is action and t.seq > before for t in timeline)

    async def live(self, path: LifePath, code: str, today: date) -> None:
        """Take one đề án through ``path``, step after step."""
        dossier = path.dossier(code, today)
        await self.register(path, dossier, today)
        for index, step in enumerate(path.steps):
            if self.pace is not None:
                await self.pace.wait()
            await asyncio.sleep(self.rng.random() * 0.05)  # an official reads the screen
            await self.perform(code, step, today, dossier, index)


__all__ = ["DE_AN_WORKFLOW", "Clerk", "ClerkStats", "LifecycleFailed"]
