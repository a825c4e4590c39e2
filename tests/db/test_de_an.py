"""The đề án repository: one typed row for the ``de_an`` table, used by the step write path
and the plan generator's history alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from db.de_an import DE_AN_COLUMNS, UPSERT_DE_AN, DeAnRow, insert_de_an_rows, write_step
from domain.stages import Action, Stage
from tests.support.builders import make_dossier, make_step, unique_code

AT = datetime(2019, 6, 10, 3, 0, tzinfo=UTC)


async def test_the_typed_row_names_every_column_of_the_table_and_no_other(db_pool: Any) -> None:
    columns = await db_pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'de_an'"
    )

    assert set(DE_AN_COLUMNS) == {r["column_name"] for r in columns}
    assert UPSERT_DE_AN.count("$") == len(DE_AN_COLUMNS)


async def test_a_step_s_row_is_its_snapshot_made_and_moved_when_it_occurred(db_pool: Any) -> None:
    dossier = make_dossier(code=unique_code())
    step = make_step(Action.REGISTER, dossier=dossier, seq=1, occurred_at=AT)

    async with db_pool.acquire() as conn, conn.transaction():
        assert await write_step(conn, step) is True

    stored = await db_pool.fetchrow("SELECT * FROM de_an WHERE de_an_id = $1", dossier.code)
    assert DeAnRow.model_validate(dict(stored)) == DeAnRow.of_step(step)
    assert (stored["created_at"], stored["updated_at"]) == (AT, AT)


async def test_a_row_loaded_from_history_leaves_a_de_an_already_recorded(db_pool: Any) -> None:
    dossier = make_dossier(code=unique_code())
    step = make_step(Action.REGISTER, dossier=dossier, seq=1, occurred_at=AT)
    async with db_pool.acquire() as conn, conn.transaction():
        await write_step(conn, step)
    past = DeAnRow.of_step(step).model_copy(update={"stage": Stage.CLOSED, "seq": 9})

    async with db_pool.acquire() as conn, conn.transaction():
        await insert_de_an_rows(conn, [past])

    stored = await db_pool.fetchrow(
        "SELECT stage, seq FROM de_an WHERE de_an_id = $1", dossier.code
    )
    assert (stored["stage"], stored["seq"]) == ("registered", 1)


async def test_a_step_that_lapses_advance_requests_marks_them_once_in_its_transaction(
    db_pool: Any,
) -> None:
    dossier = make_dossier(code=unique_code())
    day = AT.date()
    request = {"request_no": 1, "amount": 50_000_000, "requested_on": day.isoformat()}
    lapsing = {
        "decision_date": day.isoformat(),
        "new_support": 60_000_000,
        "lapsed_advances": [{"request_no": 1, "amount": 50_000_000}],
    }
    steps = [
        make_step(Action.REGISTER, dossier=dossier, seq=1, occurred_at=AT),
        make_step(Action.REQUEST_ADVANCE, dossier=dossier, seq=2, details=request),
        make_step(
            Action.ADJUST,
            dossier=dossier,
            seq=3,
            details=lapsing,
            decision_number=f"{unique_code()[-6:]}/QĐ-SCT",
        ),
    ]
    for step in [*steps, steps[-1]]:  # the last one retried
        async with db_pool.acquire() as conn, conn.transaction():
            await write_step(conn, step)

    stored = await db_pool.fetch(
        "SELECT request_no, lapsed_on, lapse_key FROM advance_request WHERE de_an_id = $1",
        dossier.code,
    )
    assert [(r["request_no"], r["lapsed_on"], r["lapse_key"]) for r in stored] == [
        (1, steps[-1].business_date, steps[-1].key)
    ]
