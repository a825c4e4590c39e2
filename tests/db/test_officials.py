"""The officials repository: who may no longer act, and the register the workers hold."""

from __future__ import annotations

import uuid
from typing import Any

from db.officials import DEACTIVATE_OFFICIAL, SEED_OFFICIAL, inactive_ids, load_register


async def test_a_deactivated_official_is_listed_as_inactive_and_so_held_by_the_register(
    db_pool: Any,
) -> None:
    official_id = f"test-{uuid.uuid4().hex[:8]}"
    await db_pool.execute(SEED_OFFICIAL, official_id, "Nguyễn Văn A", "Sở", "so_cong_thuong", "BG")
    assert official_id not in await inactive_ids(db_pool)

    await db_pool.execute(DEACTIVATE_OFFICIAL, official_id, "nghỉ hưu")

    assert official_id in await inactive_ids(db_pool)
    held = {o.official_id: o for o in await load_register(db_pool)}
    assert held[official_id].active is False
