"""record_missed_deadline against a real PostgreSQL: one notification per missed deadline."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notifications import DeAnNotificationActivities
from domain.deadlines import DeadlineKind
from domain.model import DeAnDossier
from domain.stages import Action
from tests.support.builders import make_deadline, make_dossier, make_step, unique_code
from workflows.de_an_contract import DeAnStep


@pytest.fixture
def acts(db_pool: Any) -> DeAnNotificationActivities:
    return DeAnNotificationActivities(db_pool)


@pytest.fixture
def dossier() -> DeAnDossier:
    return make_dossier(code=unique_code())


def missed_report(dossier: DeAnDossier, month: str = "2019-05", seq: int = 7) -> DeAnStep:
    deadline = make_deadline(DeadlineKind.PROGRESS_REPORT, ref=month)
    return make_step(
        Action.DEADLINE_MISSED,
        dossier=dossier,
        seq=seq,
        key=f"{dossier.code}:deadline_missed:{deadline.key}",
        deadline=deadline,
        summary=f"Quá hạn: {deadline.describe()}",
        snapshot={"overdue": True},
    )


async def test_a_missed_deadline_writes_one_notification_and_marks_the_de_an_overdue(
    acts: DeAnNotificationActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    step = missed_report(dossier)

    assert await ActivityEnvironment().run(acts.record_missed_deadline, step) is True
    assert await acts.record_missed_deadline(step) is False

    async with db_pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM notification WHERE de_an_id = $1", dossier.code)
        de_an = await conn.fetchrow("SELECT * FROM de_an WHERE de_an_id = $1", dossier.code)
        event = await conn.fetchrow(
            "SELECT * FROM de_an_event WHERE idempotency_key = $1", step.key
        )
    assert len(rows) == 1
    note = rows[0]
    assert (note["kind"], note["deadline_kind"], note["ref"]) == (
        "deadline_missed",
        "progress_report",
        "2019-05",
    )
    assert note["message"].startswith("Quá hạn: Hạn báo cáo tiến độ tháng 2019-05")
    assert note["read_at"] is None
    assert de_an["overdue"] is True
    assert event["actor_official_id"] is None  # a system step


async def test_two_missed_deadlines_make_two_notifications(
    acts: DeAnNotificationActivities, db_pool: Any, dossier: DeAnDossier
) -> None:
    await acts.record_missed_deadline(missed_report(dossier, "2019-05", seq=7))
    await acts.record_missed_deadline(missed_report(dossier, "2019-06", seq=8))

    async with db_pool.acquire() as conn:
        refs = await conn.fetch(
            "SELECT ref FROM notification WHERE de_an_id = $1 ORDER BY ref", dossier.code
        )
    assert [r["ref"] for r in refs] == ["2019-05", "2019-06"]


async def test_a_missed_deadline_step_without_its_deadline_is_refused(
    acts: DeAnNotificationActivities, dossier: DeAnDossier
) -> None:
    step = missed_report(dossier).model_copy(update={"deadline": None})
    with pytest.raises(ApplicationError, match=r"needs step\.deadline") as refused:
        await acts.record_missed_deadline(step)
    assert (refused.value.type, refused.value.non_retryable) == ("InvalidStep", True)


async def test_record_missed_deadline_refuses_other_steps(
    acts: DeAnNotificationActivities, dossier: DeAnDossier
) -> None:
    with pytest.raises(ApplicationError, match="does not write register") as refused:
        await acts.record_missed_deadline(make_step(Action.REGISTER, dossier=dossier))
    assert (refused.value.type, refused.value.non_retryable) == ("InvalidStep", True)
