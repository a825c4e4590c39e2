"""The inbox: what waits for an official's role and jurisdiction, from the read model.

The rules are checked on :class:`OpenDeAn` values directly; ordering, the overdue flag and
the view's derived columns on rows written through the activities' own write path."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

from db.de_an import write_step
from domain.model import Actor, Level, Role
from domain.stages import Action, Stage
from khuyencong.admin.client import AdminClient
from khuyencong.admin.inbox import InboxRules, OpenDeAn, acting_stages, waiting_actions
from khuyencong.admin.models import InboxItem
from tests.support.builders import make_actor, make_deadline, make_dossier, make_step, unique_code

DAY = date(2019, 6, 10)
BG, BN = "Bắc Giang", "Bắc Ninh"

SO = make_actor(Role.SO_CONG_THUONG, official_id="so-1")
SO_BN = make_actor(Role.SO_CONG_THUONG, province=BN, official_id="so-bn")
UBND = make_actor(Role.UBND_TINH, official_id="ubnd-1")
TT = make_actor(Role.TRUNG_TAM, official_id="tt-1")
KT = make_actor(Role.TAI_CHINH, official_id="kt-1")
KT_TW = make_actor(Role.TAI_CHINH, province=None, official_id="kt-tw")
CUC = make_actor(Role.CUC, official_id="cuc-1")
BT = make_actor(Role.BO_TRUONG, official_id="bt-1")


def open_de_an(stage: Stage, level: Level = Level.DIA_PHUONG, **fields: Any) -> OpenDeAn:
    return OpenDeAn(code="DP-1", level=level, province=BG, stage=stage, **fields)


def waiting(item: OpenDeAn, actor: Actor, **kw: Any) -> list[str]:
    return [a.value for a in waiting_actions(item, actor, DAY, **kw)]


def test_a_registered_provincial_de_an_waits_for_the_so_of_its_province_only() -> None:
    item = open_de_an(Stage.REGISTERED, registered_by=frozenset({"tt-1"}))
    assert waiting(item, SO) == ["appraise"]
    assert [waiting(item, a) for a in (SO_BN, UBND, TT, KT, CUC, BT)] == [[]] * 6


def test_a_national_de_an_is_appraised_by_the_so_then_by_the_cuc() -> None:
    registered = open_de_an(Stage.REGISTERED, Level.QUOC_GIA)
    assert (waiting(registered, SO), waiting(registered, CUC)) == (["appraise"], [])
    base = replace(registered, stage=Stage.BASE_APPRAISED)
    assert (waiting(base, SO), waiting(base, CUC)) == ([], ["appraise"])
    appraised = replace(registered, stage=Stage.APPRAISED)
    assert (waiting(appraised, BT), waiting(appraised, UBND)) == (["approve", "reject"], [])


def test_whoever_appraised_does_not_find_the_approval_in_their_inbox() -> None:
    item = open_de_an(Stage.APPRAISED, appraised_by=frozenset({"ubnd-1"}))
    assert waiting(item, UBND) == ["reject"]


def test_the_monthly_report_waits_until_this_month_is_reported() -> None:
    item = open_de_an(Stage.IN_PROGRESS)
    assert waiting(item, TT) == ["report_progress"]
    assert waiting(item, TT, include_optional=True) == ["report_progress", "request_advance"]
    reported = replace(item, reported_months=frozenset({"2019-06"}))
    assert waiting(reported, TT) == []


def test_the_so_confirms_reports_and_resolves_findings_only_when_there_are_some() -> None:
    item = open_de_an(Stage.IN_PROGRESS)
    assert waiting(item, SO) == ["accept"]
    busy = replace(item, unconfirmed_reports=True, open_findings=True)
    assert waiting(busy, SO) == ["confirm_progress", "resolve_findings", "accept"]
    assert waiting(busy, SO, include_optional=True) == [
        "confirm_progress",
        "record_visit",
        "resolve_findings",
        "adjust",
        "accept",
    ]


def test_an_advance_waits_for_finance_but_not_for_whoever_requested_or_approved_it() -> None:
    item = open_de_an(Stage.IN_PROGRESS, open_requests=1, last_requested_by="tt-1")
    assert waiting(item, KT) == ["pay_advance"]
    assert waiting(replace(item, approved_by=frozenset({"kt-1"})), KT) == []
    national = replace(item, level=Level.QUOC_GIA)
    assert (waiting(national, KT), waiting(national, KT_TW)) == ([], ["pay_advance"])


def test_an_advance_request_unpaid_at_the_stop_no_longer_waits_for_finance() -> None:
    item = open_de_an(Stage.ACCEPTED, open_requests=1, last_requested_by="tt-1", stopped=True)
    assert waiting(item, KT, include_optional=True) == []
    assert "request_advance" not in waiting(item, TT, include_optional=True)


@pytest.mark.parametrize(("refund_owed", "expected"), [(0, "pay_settlement"), (5, "record_refund")])
def test_a_settlement_waits_for_its_payout_or_its_refund(refund_owed: int, expected: str) -> None:
    item = open_de_an(Stage.SETTLED, refund_owed=refund_owed)
    assert waiting(item, KT) == [expected]


def test_a_settlement_held_by_findings_waits_for_the_so_to_resolve_them_not_for_finance() -> None:
    held = open_de_an(Stage.SETTLED, open_findings=True, payments_on_hold=True)
    assert (waiting(held, SO), waiting(held, KT)) == (["resolve_findings"], [])
    national = replace(held, level=Level.QUOC_GIA)
    assert (waiting(national, SO), waiting(national, CUC)) == (["resolve_findings"],) * 2
    assert waiting(national, KT_TW) == []
    resolved = replace(held, open_findings=False, payments_on_hold=False)
    assert (waiting(resolved, SO), waiting(resolved, KT)) == ([], ["pay_settlement"])
    in_progress = open_de_an(Stage.IN_PROGRESS, open_requests=1, payments_on_hold=True)
    assert waiting(in_progress, KT, include_optional=True) == []


def test_settlement_waits_for_the_dossier_and_the_dossier_for_the_centre() -> None:
    item = open_de_an(Stage.ACCEPTED)
    assert (waiting(item, TT), waiting(item, SO)) == (["submit_settlement_dossier"], [])
    submitted = replace(item, settlement_dossier_submitted=True)
    assert (waiting(submitted, TT), waiting(submitted, SO)) == ([], ["settle"])


async def test_the_inbox_lists_the_oldest_first_flags_the_overdue_and_ignores_missed_deadlines(
    db_pool: asyncpg.Pool,
) -> None:
    """Three đề án written by the activities' write path: the one waiting longest comes
    first; a missed deadline flags a đề án without resetting how long it has waited."""
    base = datetime(2019, 3, 1, 2, 0, tzinfo=UTC)
    province = f"Tỉnh Thử {unique_code('P')}"  # a province of its own: no other test's rows
    so = make_actor(Role.SO_CONG_THUONG, province=province, official_id="so-inbox")
    codes = [unique_code("INBOX") for _ in range(3)]
    old, new, late = (make_dossier(code=c, province=province) for c in codes)
    async with db_pool.acquire() as conn, conn.transaction():
        for dossier, days in ((new, 5), (old, 0)):
            step = make_step(Action.REGISTER, dossier=dossier, occurred_at=base + timedelta(days))
            await write_step(conn, step)
        contracted = make_step(
            Action.REGISTER,  # a đề án entered in progress (a paper record typed in)
            dossier=late,
            stage_to=Stage.IN_PROGRESS,
            occurred_at=base + timedelta(days=1),
        )
        await write_step(conn, contracted)
        missed = make_step(
            Action.DEADLINE_MISSED,
            dossier=late,
            seq=2,
            deadline=make_deadline(),
            snapshot={"overdue": True},
            occurred_at=base + timedelta(days=90),
        )
        await write_step(conn, missed)
    admin = AdminClient(client=None, pool=db_pool, task_queue="unused")  # type: ignore[arg-type]
    items = await admin.inbox(so, today=DAY)
    assert [(i.code, [a.action.value for a in i.actions], i.overdue) for i in items] == [
        (old.code, ["appraise"], False),
        (late.code, ["accept"], True),
        (new.code, ["appraise"], False),
    ]
    assert items[1].waiting_since == base + timedelta(days=1)  # not the missed deadline
    assert items[1].actions[0].command == f"khuyencong de-an accept {late.code}"
    assert all(i.code not in codes for i in await admin.inbox(SO_BN, today=DAY))


async def test_a_page_of_the_inbox_is_its_slice_with_the_whole_inboxs_counts(
    db_pool: asyncpg.Pool,
) -> None:
    base = datetime(2019, 3, 1, 2, 0, tzinfo=UTC)
    province = f"Tỉnh Thử {unique_code('P')}"
    so = make_actor(Role.SO_CONG_THUONG, province=province, official_id="so-page")
    async with db_pool.acquire() as conn, conn.transaction():
        for n in range(5):
            dossier = make_dossier(code=unique_code("PAGE"), province=province)
            stage = Stage.IN_PROGRESS if n % 2 else Stage.REGISTERED
            at = base + timedelta(days=n)
            await write_step(
                conn, make_step(Action.REGISTER, dossier=dossier, stage_to=stage, occurred_at=at)
            )
            if n == 3:
                missed = make_step(
                    Action.DEADLINE_MISSED,
                    dossier=dossier,
                    seq=2,
                    deadline=make_deadline(),
                    snapshot={"overdue": True},
                    occurred_at=base + timedelta(days=90),
                )
                await write_step(conn, missed)
    admin = AdminClient(client=None, pool=db_pool, task_queue="unused")  # type: ignore[arg-type]
    items = await admin.inbox(so, today=DAY)
    assert len(items) == 5
    # Built without validation, yet what validation would build.
    assert [InboxItem.model_validate(i.model_dump()) for i in items] == items
    pages = [await admin.inbox_page(so, page=n, size=2, today=DAY) for n in (0, 1, 2, 3, 9)]
    assert [[i.code for i in p.items] for p in pages] == [
        [i.code for i in items[a:b]] for a, b in ((0, 2), (0, 2), (2, 4), (4, 5), (4, 5))
    ]
    assert [p.items for p in pages[1:4]] == [items[0:2], items[2:4], items[4:5]]
    assert {(p.total, p.overdue, p.pages) for p in pages} == {(5, 1, 3)}
    assert [p.page for p in pages] == [1, 1, 2, 3, 3]
    empty = await admin.inbox_page(SO_BN, page=2, size=2, today=DAY)
    assert (empty.items, empty.total, empty.overdue, empty.page, empty.pages) == ([], 0, 0, 1, 1)


# --- the read model's prefilter and the caches agree with the rules ---------------------------


def _fact_variants() -> list[dict[str, Any]]:
    """Open đề án facts that make each action of the catalogue possible, due or excluded."""
    nobody: dict[str, Any] = {}
    busy: dict[str, Any] = {
        "open_requests": 1,
        "last_requested_by": "tt-1",
        "settlement_dossier_submitted": True,
        "unconfirmed_reports": True,
        "open_findings": True,
        "refund_owed": 5,
    }
    return [
        nobody,
        busy,
        {**busy, "refund_owed": 0, "open_findings": False},
        {**busy, "payments_on_hold": True, "stopped": True},
        {
            "reported_months": frozenset({"2019-06", "2025-08"}),
            "settlement_dossier_submitted": True,
        },
    ]


def _actors() -> list[Actor]:
    """Every role, in Bắc Giang, in Bắc Ninh and without a province, where the register
    allows it (ministry roles have no province; finance has either)."""
    found = []
    for role in Role:
        for province in (BG, BN, None):
            try:
                found.append(make_actor(role, province=province, official_id=f"{role}-{province}"))
            except ValidationError:
                continue
    return found


def _items() -> list[OpenDeAn]:
    return [
        OpenDeAn(
            code="DP-1",
            level=level,
            province=province,
            stage=stage,
            group_project=group_project,
            registered_on=registered_on,
            **facts,
        )
        for level in Level
        for stage in Stage
        for province in (BG, BN)
        for group_project in (False, True)
        for registered_on in (None, date(2019, 1, 2))
        for facts in _fact_variants()
    ]


def test_the_read_models_prefilter_never_drops_a_de_an_the_rules_would_list() -> None:
    # acting_stages is derived from the catalogue; this holds it to the rules themselves:
    # whatever waits (or, with --all, may be taken) lies in a (level, stage) pair it keeps.
    listed = 0
    for actor in _actors():
        kept = acting_stages(actor.role)
        for item in _items():
            for today in (DAY, date(2025, 8, 1)):
                for include_optional in (False, True):
                    if waiting_actions(item, actor, today, include_optional=include_optional):
                        listed += 1
                        assert (item.level, item.stage) in kept, (actor.role, item)
    assert listed > 0


def test_the_prefilter_keeps_only_the_stages_where_the_role_may_act() -> None:
    assert acting_stages(Role.UBND_TINH) == {
        (Level.DIA_PHUONG, Stage.APPRAISED),
        (Level.DIA_PHUONG, Stage.APPROVED),
        (Level.DIA_PHUONG, Stage.IN_PROGRESS),
    }
    assert all(not stage.terminal for role in Role for _, stage in acting_stages(role))


def test_one_set_of_rules_over_many_de_an_answers_as_the_rules_do_for_each() -> None:
    items = _items()
    for actor in _actors():
        for include_optional in (False, True):
            rules = InboxRules(actor, DAY, include_optional=include_optional)
            assert [rules.waiting(item) for item in items] == [
                waiting_actions(item, actor, DAY, include_optional=include_optional)
                for item in items
            ]
