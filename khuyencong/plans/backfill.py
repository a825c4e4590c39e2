"""Rebuild past years through the engine: each đề án of a history (the Bắc Giang 2014–2018
scenario) is started as a ``DeAnWorkflow`` and taken from registration to closing by the
officials who decided it then, with the dates of the paper record.

Unlike :func:`khuyencong.plans.generator.load_history` (read-model rows only, for benchmarks),
everything here goes through the same updates, rules and activities as live work: events,
decisions, contracts, acceptances, settlements and payments are in PostgreSQL and every step is
in a Temporal history an auditor can open. Deadlines that fell before the đề án entered the
engine are not flagged (``flag_past_deadlines`` off: the record is complete, and what it lacks,
such as monthly reports, is missing from the data set, not from the year), so a closed paper
year carries no false alarms. A step typed in after the fact by an official is another
matter: its past deadlines are recorded as missed.

Idempotent: workflow IDs are business IDs and each step's update ID is
``{code}:{action}:backfill``; running it again starts nothing, and a đề án already closed is
left alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import structlog
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

from db import plans as plans_db
from domain.agencies import agency_name
from domain.model import Actor, DeAnDossier, Level, Role, workflow_id_for
from domain.rules import RulePack, load_packs, pack_in_force, packs_for
from khuyencong.identity_interceptors import vouching
from khuyencong.plans.generator import CENTRE, history_rows, plan_rows
from khuyencong.registration import RegistrationEntry, register_all
from khuyencong.updates import execute_de_an_update
from workflows.de_an_contract import DeAnActionResult
from workflows.plan_contract import PlanRegistration

log = structlog.get_logger(__name__)

BACKFILL = "backfill"


def _actor(
    official_id: str, name: str, role: Role, organisation: str, province: str | None
) -> Actor:
    return Actor(
        official_id=official_id,
        full_name=name,
        role=role,
        organisation=organisation,
        province=province,
    )


HISTORY_START = date(2014, 1, 1)
"""The first day of the seed interview's history (2014–2018)."""


def history_officials(
    province: str, prefix: str = "HIST", on: date = HISTORY_START
) -> dict[str, Actor]:
    """Who decides in a replayed or simulated year (the seed interview's roles), with IDs
    marked by ``prefix`` so they are never taken for the register's real officials; the
    ministry's agency named as it was called ``on`` that day (:func:`domain.agencies.agency_name`)."""
    agency = agency_name(on)
    return {
        "so": _actor(f"{prefix}-SCT-01", "Trần Văn Bình", Role.SO_CONG_THUONG,
                     f"Sở Công Thương tỉnh {province}", province),
        "ubnd": _actor(f"{prefix}-UBND-01", "Lê Văn Chung", Role.UBND_TINH,
                       f"UBND tỉnh {province}", province),
        "ke_toan": _actor(f"{prefix}-KT-01", "Vũ Thị Hạnh", Role.TAI_CHINH,
                          f"Kế toán Sở Công Thương tỉnh {province}", province),
        "trung_tam": _actor(f"{prefix}-TTKC-01", "Nguyễn Thị Thu Hà", Role.TRUNG_TAM, CENTRE,
                            province),
        "cuc": _actor(f"{prefix}-CUC-01", "Phạm Quang Huy", Role.CUC,
                      f"{agency}, Bộ Công Thương", None),
        "bo_truong": _actor(f"{prefix}-BT-01", "Bộ trưởng Bộ Công Thương", Role.BO_TRUONG,
                            "Văn phòng Bộ Công Thương", None),
        "ke_toan_tw": _actor(f"{prefix}-KT-TW-01", "Ngô Thị Lan", Role.TAI_CHINH,
                             f"Phòng Tài chính, {agency}", None),
    }  # fmt: skip


class BackfillStopped(Exception):
    """The đề án's workflow ended without closing (terminated, failed): not driven again."""


@dataclass
class BackfillReport:
    started: int = 0
    closed: list[str] = field(default_factory=list)
    already_closed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def approval_day(dossier: DeAnDossier, packs: Sequence[RulePack]) -> date:
    """20 February of the plan year, or the day the pack the dossier was costed under came into
    force, if later (TT 28/2018 from 11 May 2018): its caps are the ones the support respects."""
    candidates = packs_for(packs, dossier.level, dossier.province)
    year_end = date(dossier.plan_year, 12, 31)
    pack = pack_in_force(candidates, year_end) or pack_in_force(
        candidates, date(dossier.plan_year + 1, 12, 31)
    )
    start = date(dossier.plan_year, 2, 20)
    if pack is not None:
        start = max(start, pack.effective_from + timedelta(days=4))
    return start


def steps(
    dossier: DeAnDossier, people: dict[str, Actor], packs: Sequence[RulePack]
) -> list[tuple[str, dict[str, Any]]]:
    """The updates that took one đề án from registration to closing, with their dates."""
    national = dossier.level is Level.QUOC_GIA
    year = dossier.plan_year
    approved_on = approval_day(dossier, packs)
    signed_on = approved_on + timedelta(days=10)
    accepted_on = max(dossier.schedule.end, signed_on + timedelta(days=60))
    accepted_on = min(accepted_on, date(year, 12, 20))
    dossier_on = accepted_on + timedelta(days=3)
    settled_on = accepted_on + timedelta(days=10)
    support = dossier.requested_support
    n = dossier.code.rsplit("-", 1)[-1]
    decision = f"{n}/QĐ-BCT" if national else f"{n}/QĐ-UBND"
    out: list[tuple[str, dict[str, Any]]] = [
        ("appraise", {"actor": people["so"], "verdict": "pass",
                      "appraised_on": date(year, 1, 10), "minutes_number": f"TĐ-{n}"}),
    ]  # fmt: skip
    if national:
        out.append(
            ("appraise", {"actor": people["cuc"], "verdict": "pass", "by_council": True,
                          "appraised_on": date(year, 1, 20), "minutes_number": f"HĐ-{n}"})
        )  # fmt: skip
    approver = people["bo_truong" if national else "ubnd"]
    contractor = people["cuc" if national else "so"]
    settler = people["cuc" if national else "so"]
    payer = people["ke_toan_tw" if national else "ke_toan"]
    out += [
        ("approve", {"actor": approver, "decision_number": decision,
                     "decision_date": approved_on, "signer": approver.full_name,
                     "approved_support": support}),
        ("sign_contract", {"actor": contractor, "contract_number": f"{n}/{year}/HĐ-KC",
                           "signed_on": signed_on, "contracted_support": support}),
        ("accept", {"actor": people["so"], "minutes_number": f"NT-{n}",
                    "accepted_on": accepted_on, "accepted_cost": dossier.eligible_cost,
                    "accepted_volume_bp": 10_000}),
        ("submit_settlement_dossier", {"actor": people["trung_tam"], "submitted_on": dossier_on}),
        ("settle", {"actor": settler, "settlement_number": f"QT-{n}", "settled_on": settled_on}),
        ("pay_settlement", {"actor": payer, "paid_on": settled_on, "voucher_number": f"UNC-{n}"}),
    ]  # fmt: skip
    return out


async def _drive(
    client: Client, dossier: DeAnDossier, people: dict[str, Actor], packs: Sequence[RulePack]
) -> str:
    """Take one đề án to its end; ``"closed"`` or ``"already"`` (it had closed before)."""
    handle = client.get_workflow_handle(workflow_id_for(dossier.code))
    status = (await handle.describe()).status
    if status == WorkflowExecutionStatus.COMPLETED:
        return "already"
    if status != WorkflowExecutionStatus.RUNNING:
        raise BackfillStopped(f"workflow {handle.id} đã dừng ({status.name if status else '?'})")
    for action, payload in steps(dossier, people, packs):
        # The record's officials are this tool's own (history_officials, in the register):
        # the client signs for them with the operator's signing key.
        with vouching(payload["actor"].official_id):
            await execute_de_an_update(
                handle,
                action,
                payload,
                id=f"{dossier.code}:{action}:{payload['actor'].role.value}:{BACKFILL}",
                result_type=DeAnActionResult,
            )
    await handle.result()
    return "closed"


async def backfill_through_workflows(
    client: Client,
    task_queue: str,
    entries: Sequence[PlanRegistration],
    *,
    pool: Any = None,
    concurrency: int = 16,
    packs: Sequence[RulePack] | None = None,
    hash_key: bytes | None = None,
) -> BackfillReport:
    """Start and drive every đề án of ``entries``; with ``pool``, also record the plans and
    their items (the figures the read model does not carry, for the reports). ``hash_key``:
    ``KcTaxCodeHash``, as every registration (:mod:`khuyencong.registration`)."""
    packs = list(packs) if packs is not None else load_packs()
    report = BackfillReport()
    if pool is not None:
        # Before the starts: each registration is verified against the workers' register
        # (verify_registration), which must know the record's officials and its registrars.
        await seed_history_officials(pool, {e.dossier.province for e in entries})
        await seed_registrars(pool, entries)
    registered = await register_all(
        client,
        task_queue,
        [
            RegistrationEntry(
                dossier=e.dossier,
                registered_by=e.registered_by,
                registered_on=e.registered_on,
                flag_past_deadlines=False,  # a closed paper year: its gaps are the data set's
            )
            for e in entries
        ],
        concurrency=concurrency,
        hash_key=hash_key,
    )
    report.started = len(registered.started)
    report.failed.update(registered.problems)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(entry: PlanRegistration) -> None:
        dossier = entry.dossier
        if workflow_id_for(dossier.code) in report.failed:
            return
        people = history_officials(dossier.province, on=date(dossier.plan_year, 1, 1))
        async with semaphore:
            try:
                outcome = await _drive(client, dossier, people, packs)
            except WorkflowUpdateFailedError as exc:  # a rule refused a step of the record
                report.failed[dossier.code] = str(exc.cause)
                log.warning("backfill refused", de_an_id=dossier.code, error=str(exc.cause))
                return
            except (RPCError, WorkflowFailureError, BackfillStopped) as exc:
                # One đề án that cannot go on (server busy, workflow terminated) is reported
                # with the others; running the command again resumes it.
                report.failed[dossier.code] = f"{type(exc).__name__}: {exc}"
                log.warning("backfill failed", de_an_id=dossier.code, error=str(exc))
                return
        (report.closed if outcome == "closed" else report.already_closed).append(dossier.code)

    await asyncio.gather(*(one(e) for e in entries))
    if pool is not None:
        await record_plan_items(pool, entries)
    return report


async def seed_history_officials(pool: Any, provinces: set[str]) -> None:
    """Put the replayed years' officials (``HIST-…``, no password: nobody can log in as
    them) in the register, so the workers' identity check knows them."""
    from khuyencong.admin.sql import SEED_OFFICIAL

    for province in sorted(provinces):
        for actor in history_officials(province).values():
            await pool.execute(
                SEED_OFFICIAL,
                actor.official_id,
                actor.full_name,
                actor.organisation,
                actor.role.value,
                actor.province,
            )


async def seed_registrars(pool: Any, entries: Sequence[PlanRegistration]) -> None:
    """Put the record's registering officials in the register (one already there is kept,
    as it is), so the workers' check of each registration knows them."""
    from khuyencong.admin.sql import SEED_OFFICIAL

    seen: set[str] = set()
    for entry in entries:
        actor = entry.registered_by
        if actor.official_id in seen:
            continue
        seen.add(actor.official_id)
        await pool.execute(
            SEED_OFFICIAL,
            actor.official_id,
            actor.full_name,
            actor.organisation,
            actor.role.value,
            actor.province,
        )


async def record_plan_items(pool: Any, entries: Sequence[PlanRegistration]) -> None:
    """The past plans (envelope = what was approved) and their items, idempotently."""
    rows = history_rows(entries)
    async with pool.acquire() as conn, conn.transaction():
        await plans_db.insert_plans(conn, plan_rows(rows))
        await plans_db.insert_plan_items(conn, [r.plan_item for r in rows])
