"""``load_inactive_officials``: who may no longer act, read when a đề án is registered.

Officials deactivated later reach running đề án by the ``official_deactivated`` signal (sent
by the admin tool); this read covers the đề án registered after the deactivation, so no client
can act through an official the register has already switched off. It only reads, so a retry
is harmless; its result enters the history once.
"""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity

from db.officials import inactive_ids
from workflows.de_an_contract import DeAnInactiveOfficialsQuery

log = structlog.get_logger(__name__)


class OfficialsActivities:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @activity.defn
    async def load_inactive_officials(self, query: DeAnInactiveOfficialsQuery) -> list[str]:
        inactive = await inactive_ids(self._pool)
        log.info("inactive officials loaded", de_an_id=query.de_an_id, count=len(inactive))
        return inactive
