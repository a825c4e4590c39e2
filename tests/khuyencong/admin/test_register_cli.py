"""``khuyencong de-an register`` goes through the one registration path: the đề án it starts
carries the same search attributes as one the starter registers, ``KcTaxCodeHash`` included,
and registering the same dossier again is idempotent while another dossier under the same
code is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from khuyencong import search_attributes as sa
from khuyencong.registration import RegistrationEntry, register_all
from tests.khuyencong.admin.conftest import Cast, Cli, Stack, add_cast, suffix, today
from tests.support.builders import dossier_on

HASH_KEY = "a tax-code hash key of the registration test"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cast(stack: Stack) -> Cast:
    return await add_cast(stack.admin, suffix())


def dossier_file(path: Path, code: str, **overrides: Any) -> Path:
    data = dossier_on(today(), code=code).model_dump(mode="json")
    data.update(overrides)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


async def search_attributes_of(env: WorkflowEnvironment, code: str) -> dict[str, Any]:
    """The project's search attributes of the đề án (the server's own, such as BuildIds,
    depend on how far its worker got)."""
    description = await env.client.get_workflow_handle(f"de-an/{code}").describe()
    ours = {key.name for key in sa.ALL_KEYS}
    return {
        pair.key.name: pair.value
        for pair in description.typed_search_attributes
        if pair.key.name in ours
    }


async def test_de_an_register_and_the_starter_set_the_same_search_attributes(
    stack: Stack, cast: Cast, cli: Cli, dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    by_cli, by_starter = stack.new_code("DP"), stack.new_code("DP")
    file = dossier_file(tmp_path / "de-an.json", by_cli)
    run = await cli(
        "de-an",
        "register",
        "--file",
        str(file),
        as_=cast["TT-BG"].official_id,
        env={sa.TAX_CODE_HASH_KEY_ENV: HASH_KEY},
    )
    assert run.exit_code == 0, str(run)
    entry = RegistrationEntry(
        dossier=dossier_on(today(), code=by_starter), registered_by=cast["TT-BG"]
    )
    report = await register_all(
        dev_env.client, stack.settings.task_queue, [entry], hash_key=HASH_KEY.encode()
    )
    assert report.started == [entry.workflow_id], report

    from_cli = await search_attributes_of(dev_env, by_cli)
    from_starter = await search_attributes_of(dev_env, by_starter)
    expected_hash = sa.tax_code_hash(entry.dossier.beneficiary.tax_code, HASH_KEY.encode())
    assert from_cli[sa.KC_TAX_CODE_HASH.name] == expected_hash
    assert from_cli == from_starter
    assert {k.name for k in sa.ALL_KEYS} - set(from_cli) <= {
        sa.KC_DISTRICT.name,
        sa.KC_COMMUNE.name,
    }  # unset only when the dossier names no district or commune


async def test_registering_the_same_dossier_twice_is_idempotent_and_another_is_refused(
    stack: Stack, cast: Cast, cli: Cli, tmp_path: Path
) -> None:
    code = stack.new_code("DP")
    file = dossier_file(tmp_path / "de-an.json", code)
    first = await cli("de-an", "register", "--file", str(file), "--json",
                      as_=cast["TT-BG"].official_id)  # fmt: skip
    assert first.exit_code == 0, str(first)
    assert first.json()["status"] == "started"
    again = await cli("de-an", "register", "--file", str(file), "--json",
                      as_=cast["TT-BG"].official_id)  # fmt: skip
    assert again.exit_code == 0, str(again)
    assert again.json()["status"] == "existing"

    other = dossier_file(tmp_path / "other.json", code, title="Một đề án khác cùng mã")
    refused = await cli("de-an", "register", "--file", str(other), "--json",
                        as_=cast["TT-BG"].official_id)  # fmt: skip
    assert refused.exit_code == 3, str(refused)
    refusal = refused.json()["refused"]
    assert refusal["type"] == "Duplicate" and refusal["field"] == "dossier.code"
    assert f"mã đề án {code} đã được đăng ký với một hồ sơ khác" in refusal["message"]
