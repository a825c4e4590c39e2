"""``load_rule_packs``: the rule packs that may apply to a new đề án.

Idempotent because it only reads: the shipped packs plus the province's pack files. Its
result enters the workflow history once, so later edits of the files do not change running
đề án. A pack file that does not parse fails the attempt with a retryable error: fixing the
file lets the next attempt succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.model import Level
from domain.rules import RulePack, load_packs, packs_for
from workflows.de_an_contract import DeAnRulePackQuery

log = structlog.get_logger(__name__)


class RulePackActivities:
    def __init__(self, extra_dirs: Sequence[Path] = ()) -> None:
        self._extra_dirs = tuple(Path(d) for d in extra_dirs)

    @activity.defn
    async def load_rule_packs(self, query: DeAnRulePackQuery) -> list[RulePack]:
        """Packs of the query's level (and, for provincial đề án, its province)."""
        try:
            level = Level(query.level)
        except ValueError as exc:
            raise ApplicationError(
                f"unknown level {query.level!r}", type="InvalidQuery", non_retryable=True
            ) from exc
        packs = await asyncio.to_thread(load_packs, self._extra_dirs)
        found = packs_for(packs, level, query.province)
        log.info(
            "rule packs loaded",
            level=level.value,
            province=query.province,
            packs=[p.id for p in found],
        )
        return found
