"""Officials prove who they are to the admin tool: a password an administrator set, checked
before anything is signed or sent; ``khuyencong token`` for the raw Temporal CLI."""

from __future__ import annotations

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from db.officials import load_credential
from domain.model import workflow_id_for
from domain.stages import Stage
from khuyencong.admin.errors import ActionRefused, NotFound
from tests.khuyencong.admin.conftest import Cast, Cli, Stack, add_cast, suffix, today
from tests.support.builders import dossier_on
from tests.support.identity import HeaderInjector, client_without_harness_signer, injecting
from tests.support.waiting import until
from workflows.de_an import DeAnWorkflow
from workflows.de_an_contract import DeAnActionResult, DeAnAppraise, DeAnInput


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cast(stack: Stack) -> Cast:
    return await add_cast(stack.admin, suffix())


def appraise_args(code: str) -> list[str]:
    return ["de-an", "appraise", code, "--verdict", "pass", "--appraised-on",
            today().isoformat(), "--minutes-number", "7/BB"]  # fmt: skip


async def registered(stack: Stack, cast: Cast) -> str:
    dossier = dossier_on(today(), code=stack.new_code("DP"))
    await stack.admin.register(cast["TT-BG"], dossier, today())
    return dossier.code


async def test_an_administrator_sets_a_password_and_a_wrong_one_sends_nothing(
    stack: Stack, cast: Cast, cli: Cli, db_pool: asyncpg.Pool
) -> None:
    appraiser = f"SO-PW-{suffix()}"
    await cli.ok("officials", "add", appraiser, "--name", "Trần Văn Minh", "--role",
                 "so_cong_thuong", "--organisation", "Sở Công Thương tỉnh Bắc Giang",
                 "--province", "Bắc Giang")  # fmt: skip
    run = await cli("officials", "set-password", appraiser, "--password-stdin", stdin="ngan\n")
    assert run.exit_code == 2 and "ít nhất 8" in run.stderr
    await cli.ok("officials", "set-password", appraiser, "--password-stdin",
                 stdin="mot-mat-khau-dai\n")  # fmt: skip
    stored = await load_credential(db_pool, appraiser)
    assert stored is not None
    assert stored.algorithm == "scrypt" and b"mot-mat-khau-dai" not in stored.hash
    assert "mot-mat-khau-dai" not in repr(stored)

    code = await registered(stack, cast)
    run = await cli(*appraise_args(code), as_=appraiser, env={"KHUYENCONG_PASSWORD": "sai-roi-nhe"})
    assert run.exit_code == 3
    assert "[IdentityNotProven]" in run.stderr and "sai-roi-nhe" not in run.stderr
    assert (await stack.admin.show(code)).row.stage is Stage.REGISTERED
    run = await cli(*appraise_args(code), "--json", as_=appraiser,
                    env={"KHUYENCONG_PASSWORD": "mot-mat-khau-dai"})  # fmt: skip
    assert run.exit_code == 0, str(run)
    assert run.json()["result"]["stage"] == "appraised"


async def test_without_a_password_and_without_a_terminal_the_cli_says_what_to_set(
    stack: Stack, cast: Cast, cli: Cli
) -> None:
    code = await registered(stack, cast)
    run = await cli(*appraise_args(code), as_=cast["SO-BG"].official_id,
                    env={"KHUYENCONG_PASSWORD": ""})  # fmt: skip
    assert run.exit_code == 2
    assert "KHUYENCONG_PASSWORD" in run.stderr


async def test_the_admin_client_sends_nothing_for_an_official_it_has_not_authenticated(
    stack: Stack, cast: Cast
) -> None:
    code = await registered(stack, cast)
    stranger = cast["SO-BG"].model_copy(update={"official_id": f"SO-X-{suffix()}"})
    with pytest.raises(ActionRefused) as refused:
        await stack.admin.act(
            code,
            DeAnAppraise(actor=stranger, verdict="pass", appraised_on=today(), minutes_number="1"),
        )
    assert refused.value.type == "IdentityNotProven"


async def test_a_token_for_the_temporal_cli_is_accepted_for_its_update_id_only(
    stack: Stack, cast: Cast, cli: Cli, dev_env: WorkflowEnvironment
) -> None:
    code = await registered(stack, cast)
    appraiser = cast["SO-BG"]
    update_id = f"{code}:appraise:operator"
    run = await cli("token", "--de-an", code, "--action", "appraise", "--update-id", update_id,
                    "--json", as_=appraiser.official_id)  # fmt: skip
    assert run.exit_code == 0, str(run)
    issued = run.json()
    assert (issued["header"], issued["workflow_id"]) == ("khuyencong_identity", f"de-an/{code}")
    shown = await cli("token", "--de-an", code, "--action", "appraise", "--update-id", update_id,
                      as_=appraiser.official_id)  # fmt: skip
    assert "temporal workflow update execute" in shown.stdout and "--headers" in shown.stdout

    raw = client_without_harness_signer(dev_env.client, [HeaderInjector()])
    handle = raw.get_workflow_handle(workflow_id_for(code))
    payload = DeAnAppraise(actor=appraiser, verdict="pass", appraised_on=today(),
                           minutes_number="8/BB")  # fmt: skip
    with injecting(issued["statement"]):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                "appraise", payload, id="another-id", result_type=DeAnActionResult
            )
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "IdentityMismatch"
        result = await handle.execute_update(
            "appraise", payload, id=update_id, result_type=DeAnActionResult
        )
    assert result.stage is Stage.APPRAISED


async def test_a_token_for_a_registration_starts_the_de_an_with_the_temporal_cli(
    stack: Stack, cast: Cast, cli: Cli, dev_env: WorkflowEnvironment
) -> None:
    centre = cast["TT-BG"]
    dossier = dossier_on(today(), code=stack.new_code("DP"))
    run = await cli("token", "--de-an", dossier.code, "--action", "register", "--json",
                    as_=centre.official_id)  # fmt: skip
    assert run.exit_code == 0, str(run)
    issued = run.json()
    assert (issued["workflow_id"], issued["update"]) == (f"de-an/{dossier.code}", "register")
    assert issued["update_id"] is None
    shown = await cli("token", "--de-an", dossier.code, "--action", "register",
                      as_=centre.official_id)  # fmt: skip
    assert "temporal workflow start" in shown.stdout and "--headers" in shown.stdout
    refused = await cli("token", "--de-an", dossier.code, "--action", "register",
                        "--update-id", "x", as_=centre.official_id)  # fmt: skip
    assert refused.exit_code == 2

    raw = client_without_harness_signer(dev_env.client, [HeaderInjector()])
    with injecting(issued["statement"]):
        handle = await raw.start_workflow(
            DeAnWorkflow.run,
            DeAnInput(dossier=dossier, registered_by=centre, registered_on=today()),
            id=workflow_id_for(dossier.code),
            task_queue=stack.admin.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )

    async def shown_registered() -> bool:
        try:
            return (await stack.admin.show(dossier.code)).row.stage is Stage.REGISTERED
        except NotFound:
            return False

    await until(shown_registered, timeout=15)
    assert (await handle.query(DeAnWorkflow.state)).registered_by.official_id == (
        centre.official_id
    )
