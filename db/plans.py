"""Repository of the plans (kế hoạch): ``plan``, ``plan_item``, ``plan_decision`` and its
``plan_verdict`` rows, ``plan_checkpoint``, ``plan_release``, ``plan_commitment_change``, and
the read of a plan's đề án. Every writer of these tables comes through here: the plan's
activities and the plan generator's history.

Writes are idempotent by business keys (``{plan}:decision:{number}``,
``{plan}:{code}:verdict:{number}``, ``{plan}:{code}:release``, ``{plan}:checkpoint:{key}``,
``{plan}:{code}:commitment:{number}``), inserted ``ON CONFLICT DO NOTHING``, one transaction
per write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from typing import Any

from workflows.plan_contract import (
    CheckpointRecord,
    ItemObservation,
    PlanRow,
    RecordCommitmentRequest,
    RecordDecisionRequest,
    RecordReleaseRequest,
)

INSERT_PLAN = """
INSERT INTO plan (plan_id, province, level, year, envelope, intake_closes_on, checkpoints)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (plan_id) DO NOTHING
"""

INSERT_PLAN_ITEM = """
INSERT INTO plan_item (
    de_an_id, plan_id, plan_year, requested_support, counterpart_funds, total_cost
) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (de_an_id) DO NOTHING
"""

INSERT_DECISION = """
INSERT INTO plan_decision (
    idempotency_key, plan_id, number, decision_date, signer, official_id,
    approved, refused, rejected
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING idempotency_key
"""

INSERT_VERDICT = """
INSERT INTO plan_verdict (
    idempotency_key, plan_id, de_an_id, decision_number, verdict, status,
    approved_support, refused_by_plan, error_type, message
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (idempotency_key) DO NOTHING
"""

SELECT_ITEMS = """
SELECT d.de_an_id AS code, d.stage, d.approved_support, d.advanced, d.paid,
       d.refund_owed, d.refunded, d.overdue, s.final_support
FROM de_an d
LEFT JOIN LATERAL (
    SELECT final_support FROM settlement
    WHERE settlement.de_an_id = d.de_an_id
    ORDER BY settled_on DESC
    LIMIT 1
) s ON true
WHERE d.de_an_id = ANY($1::text[])
"""

INSERT_CHECKPOINT = """
INSERT INTO plan_checkpoint (
    idempotency_key, plan_id, key, label, on_date, kind, recorded_at, approved_count,
    done_count, done_bp, envelope, committed, approved_support, advanced, paid, refunded,
    behind_count, record
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING idempotency_key
"""

INSERT_RELEASE = """
INSERT INTO plan_release (
    idempotency_key, plan_id, de_an_id, amount, committed, final_support, stage, checkpoint_key,
    released_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT DO NOTHING
"""

INSERT_COMMITMENT_CHANGE = """
INSERT INTO plan_commitment_change (
    idempotency_key, plan_id, de_an_id, decision_number, decision_date, committed_before,
    committed_after
) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (idempotency_key) DO NOTHING
"""


@dataclass(frozen=True)
class PlanItemRow:
    """A row of ``plan_item``: a đề án registered into a plan, with its dossier's money."""

    de_an_id: str
    plan_id: str
    plan_year: int
    requested_support: int
    counterpart_funds: int
    total_cost: int


PLAN_ITEM_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(PlanItemRow))


def _inserted(status: str) -> bool:
    return status.endswith(" 1")


def _plan_args(row: PlanRow) -> tuple[Any, ...]:
    return (
        row.plan_id,
        row.province,
        row.level,
        row.year,
        row.envelope,
        row.intake_closes_on,
        [c.model_dump(mode="json") for c in row.checkpoints],
    )


async def insert_plan(db: Any, row: PlanRow) -> bool:
    """The plan, once; True when it was new (``db``: a pool or a connection)."""
    return _inserted(await db.execute(INSERT_PLAN, *_plan_args(row)))


async def insert_plans(conn: Any, rows: Iterable[PlanRow]) -> None:
    """Plans loaded from history, leaving existing ones (caller's transaction)."""
    await conn.executemany(INSERT_PLAN, [_plan_args(r) for r in rows])


async def insert_plan_items(conn: Any, items: Iterable[PlanItemRow]) -> None:
    """Items of a plan, leaving existing ones (one đề án is in one plan; caller's transaction)."""
    await conn.executemany(INSERT_PLAN_ITEM, [astuple(i) for i in items])


async def copy_plan_items(conn: Any, items: Sequence[PlanItemRow]) -> None:
    """Bulk-load items (COPY) into an empty table."""
    await conn.copy_records_to_table(
        "plan_item", records=[astuple(i) for i in items], columns=list(PLAN_ITEM_COLUMNS)
    )


async def record_decision(pool: Any, request: RecordDecisionRequest) -> bool:
    """The plan's decision and one verdict per đề án it names, in one transaction; False when
    the decision was already recorded (nothing is written then)."""
    counts = {s: 0 for s in ("approved", "refused", "rejected")}
    for item in request.items:
        counts[item.status.value] += 1
    async with pool.acquire() as conn, conn.transaction():
        new = await conn.fetchval(
            INSERT_DECISION,
            f"{request.plan_id}:decision:{request.decision_number}",
            request.plan_id,
            request.decision_number,
            request.decision_date,
            request.signer,
            request.official_id,
            counts["approved"],
            counts["refused"],
            counts["rejected"],
        )
        if new is None:
            return False
        for item in request.items:
            await conn.execute(
                INSERT_VERDICT,
                f"{request.plan_id}:{item.code}:verdict:{request.decision_number}",
                request.plan_id,
                item.code,
                request.decision_number,
                item.verdict.value,
                item.status.value,
                item.approved_support,
                item.refused_by_plan,
                item.error_type,
                item.message,
            )
    return True


async def read_items(pool: Any, codes: Sequence[str]) -> list[ItemObservation]:
    """What the read model says of the plan's đề án (and the latest settlement of each)."""
    rows = await pool.fetch(SELECT_ITEMS, codes)
    return [ItemObservation.model_validate(dict(row)) for row in rows]


async def record_checkpoint(pool: Any, record: CheckpointRecord) -> bool:
    """A checkpoint and the releases it made, in one transaction; False when it was already
    recorded (nothing is written then)."""
    async with pool.acquire() as conn, conn.transaction():
        new = await conn.fetchval(
            INSERT_CHECKPOINT,
            f"{record.plan_id}:checkpoint:{record.key}",
            record.plan_id,
            record.key,
            record.label,
            record.on,
            record.kind.value,
            record.recorded_at,
            record.approved_count,
            record.done_count,
            record.done_bp,
            record.envelope,
            record.committed,
            record.approved_support,
            record.advanced,
            record.paid,
            record.refunded,
            len(record.behind),
            record.model_dump(mode="json"),
        )
        if new is None:
            return False
        for release in record.released_now:
            await conn.execute(
                INSERT_RELEASE,
                f"{record.plan_id}:{release.code}:release",
                record.plan_id,
                release.code,
                release.amount,
                release.committed,
                release.final_support,
                release.stage.value,
                record.key,
                record.recorded_at,
            )
    return True


async def insert_commitment_change(pool: Any, request: RecordCommitmentRequest) -> bool:
    """A change of a đề án's commitment in the plan's envelope, once; True when new."""
    status = await pool.execute(
        INSERT_COMMITMENT_CHANGE,
        f"{request.plan_id}:{request.code}:commitment:{request.decision_number}",
        request.plan_id,
        request.code,
        request.decision_number,
        request.decision_date,
        request.before,
        request.after,
    )
    return _inserted(status)


async def insert_release(pool: Any, request: RecordReleaseRequest) -> bool:
    """Money a finished đề án gave back to the envelope, outside a checkpoint; True when new."""
    release = request.release
    status = await pool.execute(
        INSERT_RELEASE,
        f"{request.plan_id}:{release.code}:release",
        request.plan_id,
        release.code,
        release.amount,
        release.committed,
        release.final_support,
        release.stage.value,
        None,
        request.released_at,
    )
    return _inserted(status)
