"""Finding đề án by their search attributes, on the dev server (the time-skipping server has
no visibility). Visibility is eventually consistent: every check polls the list until it
holds, within a bound; nothing sleeps a guessed time.

The queries are the README's (:data:`README_QUERIES`), run against a small plan of 2019
whose đề án are in known stages; each query is scoped to this module's task queue so the
đề án of other tests on the shared dev server do not count.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.deadlines import VN_TZ, vn_date
from domain.model import Level, workflow_id_for
from domain.rules import load_packs, packs_for
from domain.stages import Action
from khuyencong import search_attributes as sa
from khuyencong.registration import RegistrationEntry, register_all
from khuyencong.updates import execute_de_an_update
from tests.support.builders import BO_TRUONG, CUC, SO, TRUNG_TAM, UBND, dossier_on, new_code
from tests.support.lifecycle import Driver, appraisal, approval, contract
from tests.support.temporal import new_task_queue, run_worker
from tests.support.waiting import until
from workflows import de_an_decisions as decisions
from workflows.de_an import LOCAL_WRITES_PATCH, DeAnWorkflow
from workflows.de_an_actions import decide
from workflows.de_an_contract import (
    DeAnAccept,
    DeAnActionResult,
    DeAnAppraise,
    DeAnApprove,
    DeAnInput,
    DeAnResubmit,
    DeAnSignContract,
    DeAnState,
)

README_QUERIES: dict[str, str] = {
    "national-2019-appraised": 'KcStage="appraised" AND KcLevel="quoc_gia" AND KcPlanYear=2019',
    "national-2019-awaiting-approval": (
        'KcLevel="quoc_gia" AND KcPlanYear=2019 '
        'AND KcStage IN ("registered", "base_appraised", "appraised")'
    ),
    "overdue-settlements-bac-giang": (
        'KcOverdue=true AND KcProvince="Bắc Giang" AND KcStage="accepted"'
    ),
    "luc-ngan": 'KcDistrict="Lục Ngạn"',
    "nam-duong-in-progress": 'KcStage="in_progress" AND KcCommune="Xã Nam Dương"',
    "approved-200m-or-more": "KcApprovedSupport >= 200000000",
    "training-2019": 'KcContentArea="1" AND KcPlanYear=2019',
}
"""Ready queries for the Temporal UI (Workflows → filter) and ``temporal workflow list -q``."""

HASH_KEY = b"test-only tax-code hash key"
TAX_CODE = "024181003472"  # a household business: a personal ID number


def on(month: int, day: int, year: int = 2019) -> date:
    return date(year, month, day)


def plan_2019(**overrides: Any) -> Any:
    fields: dict[str, Any] = dict(
        plan_year=2019,
        schedule={"start": on(1, 1), "end": on(12, 31)},
        code=new_code("VIS"),
    )
    fields.update(overrides)
    return dossier_on(on(1, 10), **fields)


@dataclass
class Plan:
    client: Client
    task_queue: str
    ids: dict[str, str]
    """Name in this module → workflow ID."""


async def start(client: Client, tq: str, dossier: Any, registered_on: date) -> Driver:
    handle = await client.start_workflow(
        DeAnWorkflow.run,
        DeAnInput(dossier=dossier, registered_by=TRUNG_TAM, registered_on=registered_on),
        id=workflow_id_for(dossier.code),
        task_queue=tq,
    )
    Driver.started.append(handle)
    d = Driver(client, handle)
    await d.until(lambda s: s.seq >= 1)
    return d


def overdue_accepted_state(dossier: Any) -> DeAnState:
    """A provincial đề án accepted on 30/10/2019 whose settlement dossier (due 14/11/2019)
    never came: built by the pure rules, as a đề án carried over from the previous engine
    would be, so the dev server's real clock finds its deadlines already passed."""
    entered = datetime(2019, 1, 10, 9, tzinfo=VN_TZ)
    packs = packs_for(load_packs(), dossier.level, dossier.province)
    state = decisions.initial_state(dossier, TRUNG_TAM, on(1, 10), packs, entered_at=entered)
    state = decisions.decide_register(state, entered).state
    steps = [
        (Action.APPRAISE, DeAnAppraise.model_validate(appraisal(SO, on(2, 20))), on(2, 20)),
        (
            Action.APPROVE,
            DeAnApprove.model_validate(approval(UBND, on(3, 9), 150_000_000)),
            on(3, 9),
        ),
        (
            Action.SIGN_CONTRACT,
            DeAnSignContract.model_validate(contract(SO, on(3, 20), 150_000_000)),
            on(3, 20),
        ),
        (
            Action.ACCEPT,
            DeAnAccept(
                actor=SO,
                minutes_number="31/BB-NT",
                accepted_on=on(10, 30),
                accepted_cost=372_000_000,
                accepted_volume_bp=10000,
            ),
            on(10, 30),
        ),
    ]
    for action, command, day in steps:
        now = datetime(day.year, day.month, day.day, 10, tzinfo=VN_TZ)
        state = decide(state, action, command, now).state
    # Progress reports were on paper: the old engine knew of none missed.
    state.missed_deadlines = []
    return state


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def plan(dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool) -> AsyncIterator[Plan]:
    client = dev_env.client
    tq = new_task_queue()
    ids: dict[str, str] = {}
    async with run_worker(client, db_pool, tq):
        # National, appraised by the Sở then the Cục: waits for the Minister.
        d = await start(client, tq, plan_2019(level=Level.QUOC_GIA, district="Hiệp Hòa"), on(1, 10))
        await d.act(appraisal(SO, on(2, 20), minutes="BB-CS"))
        await d.act(appraisal(CUC, on(3, 1), minutes="BB-BO"))
        ids["national-appraised"] = d.handle.id
        # National, appraised by the Sở only.
        d = await start(
            client, tq, plan_2019(level=Level.QUOC_GIA, district="Lạng Giang"), on(1, 10)
        )
        await d.act(appraisal(SO, on(2, 20), minutes="BB-CS"))
        ids["national-base-appraised"] = d.handle.id
        # National of plan year 2020, appraised: not a 2019 đề án.
        national_2020 = plan_2019(
            level=Level.QUOC_GIA,
            plan_year=2020,
            schedule={"start": on(1, 1, 2020), "end": on(12, 31, 2020)},
        )
        d = await start(client, tq, national_2020, on(6, 15))
        await d.act(appraisal(SO, on(7, 1), minutes="BB-CS"))
        await d.act(appraisal(CUC, on(7, 20), minutes="BB-BO"))
        ids["national-2020"] = d.handle.id
        # Provincial, Lục Ngạn, approved 200M and contracted: in progress.
        luc_ngan = plan_2019(district="Lục Ngạn", commune="Xã Nam Dương")
        d = await start(client, tq, luc_ngan, on(1, 10))
        await d.act(appraisal(SO, on(2, 20)))
        await d.act(approval(UBND, on(3, 9), 200_000_000))
        await d.act(contract(SO, on(3, 20), 200_000_000))
        ids["luc-ngan-in-progress"] = d.handle.id
        # Provincial, accepted on 30/10/2019 and typed in now: its settlement dossier deadline
        # (14/11/2019) had passed before the đề án entered the engine, and is recorded as
        # missed at once (issue 10, item 8): overdue too.
        d = await start(
            client, tq, plan_2019(district="Tân Yên", requested_support=150_000_000), on(1, 10)
        )
        await d.act(appraisal(SO, on(2, 20)))
        await d.act(approval(UBND, on(3, 9), 150_000_000))
        await d.act(contract(SO, on(3, 20), 150_000_000))
        await d.act(
            DeAnAccept(
                actor=SO,
                minutes_number="NT-1",
                accepted_on=on(10, 30),
                accepted_cost=600_000_000,
                accepted_volume_bp=10000,
            ),
        )
        ids["accepted-typed-in"] = d.handle.id
        # Provincial, accepted, carried over with its deadlines passed: overdue.
        carried = plan_2019(
            district="TP Bắc Giang", commune="Phường Đa Mai", requested_support=150_000_000
        )
        state = overdue_accepted_state(carried)
        handle: WorkflowHandle[Any, Any] = await client.start_workflow(
            DeAnWorkflow.run,
            DeAnInput(dossier=carried, registered_by=TRUNG_TAM, resume=state),
            id=workflow_id_for(carried.code),
            task_queue=tq,
        )
        Driver.started.append(handle)
        await Driver(client, handle).until(lambda s: s.overdue)
        ids["accepted-overdue"] = handle.id
        # Provincial training đề án of a household business, registered by the starter (which
        # alone sets KcTaxCodeHash).
        household = plan_2019(
            district="Yên Thế",
            support_item="training",
            content_area="1",
            cost=100_000_000,
            requested_support=100_000_000,
            beneficiary={
                "name": "Hộ kinh doanh Nguyễn Văn Hùng",
                "type": "ho_kinh_doanh",
                "tax_code": TAX_CODE,
            },
        )
        entry = RegistrationEntry(
            dossier=household, registered_by=TRUNG_TAM, registered_on=on(1, 10)
        )
        report = await register_all(client, tq, [entry], hash_key=HASH_KEY)
        assert report.started == [entry.workflow_id]
        Driver.started.append(client.get_workflow_handle(entry.workflow_id))
        ids["household-training"] = entry.workflow_id

        yield Plan(client, tq, ids)

        for workflow_id in ids.values():
            description = await client.get_workflow_handle(workflow_id).describe()
            if description.status is not None and description.status.name == "RUNNING":
                await client.get_workflow_handle(workflow_id).terminate("test finished")
        Driver.started.clear()


async def listed(client: Client, query: str) -> set[str]:
    return {w.id async for w in client.list_workflows(query)}


async def eventually_listed(
    plan: Plan, query: str, expected: set[str], timeout: float = 15.0
) -> set[str]:
    """Poll the visibility store until ``query`` (within this plan) lists ``expected``."""
    scoped = f'({query}) AND TaskQueue="{plan.task_queue}"'
    found: set[str] = set()
    try:
        async with asyncio.timeout(timeout):
            while (found := await listed(plan.client, scoped)) != expected:
                await asyncio.sleep(0.1)
    except TimeoutError:
        pass
    return found


EXPECTED: dict[str, set[str]] = {
    "national-2019-appraised": {"national-appraised"},
    "national-2019-awaiting-approval": {"national-appraised", "national-base-appraised"},
    "overdue-settlements-bac-giang": {"accepted-overdue", "accepted-typed-in"},
    "luc-ngan": {"luc-ngan-in-progress"},
    "nam-duong-in-progress": {"luc-ngan-in-progress"},
    "approved-200m-or-more": {"luc-ngan-in-progress"},
    "training-2019": {"household-training"},
}


@pytest.mark.parametrize("name", list(README_QUERIES))
async def test_each_readme_query_finds_exactly_its_de_an(plan: Plan, name: str) -> None:
    expected = {plan.ids[n] for n in EXPECTED[name]}
    assert await eventually_listed(plan, README_QUERIES[name], expected) == expected


async def test_a_beneficiary_is_found_by_the_hash_of_its_tax_code_never_the_code(
    plan: Plan,
) -> None:
    query = f'KcTaxCodeHash="{sa.tax_code_hash(TAX_CODE, HASH_KEY)}"'
    expected = {plan.ids["household-training"]}
    assert await eventually_listed(plan, query, expected) == expected
    described = await plan.client.get_workflow_handle(plan.ids["household-training"]).describe()
    values = [str(v) for _, v in described.typed_search_attributes]
    assert not any(TAX_CODE in v for v in values)
    # The static details show the last four digits only.
    details = await described.static_details()
    assert details is not None
    assert TAX_CODE not in details and "••••••••3472" in details


async def test_every_de_an_carries_every_attribute_it_has_a_value_for(plan: Plan) -> None:
    handle = plan.client.get_workflow_handle(plan.ids["luc-ngan-in-progress"])
    await Driver(plan.client, handle).until(lambda s: s.overdue)  # its 2019 reports: missed
    description = await handle.describe()
    attributes = description.typed_search_attributes
    assert attributes.get(sa.KC_STAGE) == "in_progress"
    assert attributes.get(sa.KC_LEVEL) == "dia_phuong"
    assert attributes.get(sa.KC_PROVINCE) == "Bắc Giang"
    assert attributes.get(sa.KC_DISTRICT) == "Lục Ngạn"
    assert attributes.get(sa.KC_COMMUNE) == "Xã Nam Dương"
    assert attributes.get(sa.KC_PLAN_YEAR) == 2019
    assert attributes.get(sa.KC_CONTENT_AREA) == "3"
    assert attributes.get(sa.KC_APPROVED_SUPPORT) == 200_000_000
    # Contracted on 20/3/2019 and typed in now: its monthly reports of 2019 were never
    # entered, so they are recorded as missed (issue 10, item 8).
    assert attributes.get(sa.KC_OVERDUE) is True
    # Started without a hash key: the attribute is absent, not empty.
    assert attributes.get(sa.KC_TAX_CODE_HASH) is None


async def test_a_stage_change_moves_the_de_an_between_queries(plan: Plan) -> None:
    """Upserted on the step: the national đề án leaves «appraised» when the Minister
    rejects it, and the closed list finds it."""
    workflow_id = plan.ids["national-2020"]
    before = 'KcStage="appraised" AND KcLevel="quoc_gia"'
    assert workflow_id in await eventually_listed(
        plan, before, {workflow_id, plan.ids["national-appraised"]}
    )
    handle = plan.client.get_workflow_handle_for(DeAnWorkflow.run, workflow_id)
    await execute_de_an_update(
        handle,
        "reject",
        {
            "actor": BO_TRUONG,
            "decision_number": "99/QĐ-BCT",
            "decision_date": on(8, 1),
            "reason": "Không đủ nguồn kinh phí",
        },
        result_type=DeAnActionResult,
    )
    assert await eventually_listed(plan, before, {plan.ids["national-appraised"]}) == {
        plan.ids["national-appraised"]
    }
    closed = 'KcStage="rejected" AND ExecutionStatus="Completed"'
    assert await eventually_listed(plan, closed, {workflow_id}) == {workflow_id}


async def test_the_ui_shows_a_vietnamese_summary_details_and_current_details(plan: Plan) -> None:
    handle = plan.client.get_workflow_handle(plan.ids["household-training"])
    description = await handle.describe()
    summary = await description.static_summary()
    assert summary is not None and summary.endswith("đề nghị hỗ trợ 100.000.000 đ")
    assert "Hộ kinh doanh Nguyễn Văn Hùng" in (await description.static_details() or "")
    # The current details the UI shows come from the built-in metadata query (set when the
    # registration step is applied, which the fixture does not wait for).
    details: list[str] = []

    async def registered() -> bool:
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        details[:] = [metadata.current_details]
        return bool(metadata.current_details)

    await until(registered)
    assert "Giai đoạn: **Đã đăng ký, chờ thẩm định**" in details[0]


def test_search_attribute_values_are_normalised_and_hold_no_personal_data() -> None:
    decomposed = "Lu\u0323c Nga\u0323n"  # typed with combining marks
    dossier = dossier_on(
        on(1, 10),
        district=decomposed,
        plan_year=2019,
        schedule={"start": on(1, 1), "end": on(12, 31)},
    )
    attributes = sa.start_attributes(dossier, hash_key=HASH_KEY)
    assert attributes.get(sa.KC_DISTRICT) == "Lục Ngạn"
    values = [str(v) for _, v in attributes]
    assert dossier.beneficiary.tax_code not in "".join(values)
    assert dossier.beneficiary.name not in "".join(values)
    assert sa.start_attributes(dossier, hash_key=b"").get(sa.KC_TAX_CODE_HASH) is None


async def test_the_upgrade_guide_finds_de_an_by_the_patch_they_took(plan: Plan) -> None:
    """docs/upgrading-workflows.md step 4: the SDK marks the runs that took the patched
    path in ``TemporalChangeVersion``; those without it are the ones still on the old path.
    A run started now takes the lean path, whose patch implies the older ones."""
    everyone = set(plan.ids.values())
    patched = f'TemporalChangeVersion="{LOCAL_WRITES_PATCH}"'
    assert await eventually_listed(plan, patched, everyone) == everyone
    old_path = 'WorkflowType="DeAnWorkflow" AND TemporalChangeVersion IS NULL'
    assert await listed(plan.client, f'{old_path} AND TaskQueue="{plan.task_queue}"') == set()


async def test_a_resubmission_naming_another_beneficiary_drops_the_tax_code_hash(
    ts_env: WorkflowEnvironment, tq: str
) -> None:
    """Only the starter holds the hash key: after a resubmission that changes the tax code,
    the workflow unsets ``KcTaxCodeHash`` rather than leave the old beneficiary's."""
    client = ts_env.client
    today = vn_date(await ts_env.get_current_time())
    dossier = dossier_on(today, code=new_code("RES"))
    entry = RegistrationEntry(dossier=dossier, registered_by=TRUNG_TAM, registered_on=today)
    await register_all(client, tq, [entry], hash_key=HASH_KEY)
    handle = client.get_workflow_handle_for(DeAnWorkflow.run, entry.workflow_id)
    Driver.started.append(handle)
    d = Driver(client, handle)
    await d.until(lambda s: s.seq >= 1)
    assert (await handle.describe()).typed_search_attributes.get(sa.KC_TAX_CODE_HASH) == (
        sa.tax_code_hash(dossier.beneficiary.tax_code, HASH_KEY)
    )
    await d.act(appraisal(SO, today, verdict="return", minutes="BB-R"))
    same = dossier.model_copy(update={"title": f"{dossier.title} (bổ sung)"})
    await d.act(DeAnResubmit(actor=TRUNG_TAM, dossier=same))
    kept = (await handle.describe()).typed_search_attributes
    assert kept.get(sa.KC_TAX_CODE_HASH) is not None and kept.get(sa.KC_STAGE) == "registered"
    await d.act(appraisal(SO, today, verdict="return", minutes="BB-R2"))
    other = same.model_copy(
        update={"beneficiary": same.beneficiary.model_copy(update={"tax_code": "2400999999"})}
    )
    await d.act(DeAnResubmit(actor=TRUNG_TAM, dossier=other))
    dropped = (await handle.describe()).typed_search_attributes
    assert dropped.get(sa.KC_TAX_CODE_HASH) is None
    assert dropped.get(sa.KC_STAGE) == "registered"
