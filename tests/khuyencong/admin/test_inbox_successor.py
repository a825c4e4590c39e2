"""The inbox follows the successor province as the workflow does: after 1/7/2025 a former
Bắc Giang đề án still open waits for Bắc Ninh's officials, no longer for Bắc Giang's."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg

from db.de_an import write_step
from domain.model import Level, Role
from domain.stages import Action, Stage
from khuyencong.admin.client import AdminClient
from khuyencong.admin.inbox import OpenDeAn, waiting_actions
from tests.support.builders import make_actor, make_dossier, make_step, unique_code

SO_BG = make_actor(Role.SO_CONG_THUONG, province="Bắc Giang", official_id="so-bg")
SO_BN = make_actor(Role.SO_CONG_THUONG, province="Bắc Ninh", official_id="so-bn")
AFTER, BEFORE = date(2025, 8, 1), date(2025, 6, 1)


def registered(on: date | None) -> OpenDeAn:
    return OpenDeAn(
        code="DP-1",
        level=Level.DIA_PHUONG,
        province="Bắc Giang",
        stage=Stage.REGISTERED,
        registered_on=on,
    )


def test_after_the_merger_a_bac_giang_de_an_waits_for_bac_ninh() -> None:
    item = registered(date(2025, 3, 1))
    assert waiting_actions(item, SO_BN, AFTER) == [Action.APPRAISE]
    assert waiting_actions(item, SO_BG, AFTER) == []


def test_before_the_merger_it_waits_for_bac_giang() -> None:
    item = registered(date(2025, 3, 1))
    assert waiting_actions(item, SO_BG, BEFORE) == [Action.APPRAISE]
    assert waiting_actions(item, SO_BN, BEFORE) == []


def test_without_its_registration_date_the_province_name_decides() -> None:
    assert waiting_actions(registered(None), SO_BG, AFTER) == [Action.APPRAISE]


async def test_the_inbox_query_finds_the_predecessor_province_s_de_an(
    db_pool: asyncpg.Pool,
) -> None:
    dossier = make_dossier(code=unique_code("BGMERGE"), province="Bắc Giang")
    step = make_step(
        Action.REGISTER, dossier=dossier, occurred_at=datetime(2025, 3, 1, 2, tzinfo=UTC)
    )
    async with db_pool.acquire() as conn, conn.transaction():
        await write_step(conn, step)
    admin = AdminClient(client=None, pool=db_pool, task_queue="unused")  # type: ignore[arg-type]

    for_bac_ninh = [i.code for i in await admin.inbox(SO_BN, today=AFTER)]
    for_bac_giang = [i.code for i in await admin.inbox(SO_BG, today=AFTER)]

    assert dossier.code in for_bac_ninh
    assert dossier.code not in for_bac_giang
