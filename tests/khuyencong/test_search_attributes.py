"""Search attributes are registered by ``khuyencong dev``'s server and by
``khuyencong search-attributes register`` (the operator service), idempotently; their values hold
nothing secret."""

from __future__ import annotations

import socket
from datetime import date
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from khuyencong import search_attributes as sa
from khuyencong.cli import app
from khuyencong.devstack import start_temporal_dev_server, wait_for_temporal
from khuyencong.settings import Settings, SettingsError
from tests.support.builders import dossier_on, new_code


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def registered(client: Client, namespace: str) -> dict[str, int]:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(listed.custom_attributes)


def expected() -> dict[str, int]:
    return {key.name: int(key.indexed_value_type) for key in sa.ALL_KEYS}


async def test_the_dev_stack_server_starts_with_every_search_attribute(tmp_path: Path) -> None:
    port = free_port()
    server = await start_temporal_dev_server(tmp_path, port=port, ui_port=None)
    try:
        settings = Settings.from_env({}, temporal_address=f"127.0.0.1:{port}")
        client = await wait_for_temporal(settings, server, timeout=30)
        assert expected().items() <= (await registered(client, "default")).items()
        assert await sa.register_search_attributes(client) == []  # nothing left to add
    finally:
        await server.stop()


async def test_registering_on_a_namespace_adds_them_once(dev_env: WorkflowEnvironment) -> None:
    client = dev_env.client
    namespace = f"kc-{new_code('NS').lower()}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    added = await sa.register_search_attributes(client, namespace)
    assert sorted(added) == sorted(expected())
    assert expected().items() <= (await registered(client, namespace)).items()
    assert await sa.register_search_attributes(client, namespace) == []


async def test_a_name_taken_with_another_type_is_an_error(dev_env: WorkflowEnvironment) -> None:
    client = dev_env.client
    namespace = f"kc-{new_code('NS').lower()}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={"KcPlanYear": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )
    with pytest.raises(ValueError, match="KcPlanYear is INDEXED_VALUE_TYPE_KEYWORD"):
        await sa.register_search_attributes(client, namespace)


def test_the_dev_server_flags_name_every_attribute_with_its_type() -> None:
    args = sa.dev_server_args()
    pairs = dict(value.split("=") for value in args[1::2])
    assert args[0::2] == ["--search-attribute"] * len(sa.ALL_KEYS)
    assert pairs["KcStage"] == "Keyword" and pairs["KcPlanYear"] == "Int"
    assert pairs["KcOverdue"] == "Bool" and pairs["KcApprovedSupport"] == "Int"


def test_the_tax_code_hash_is_keyed_stable_and_not_the_code() -> None:
    key = b"a key of sixteen+ characters"
    digest = sa.tax_code_hash("024181003472", key)
    assert digest == sa.tax_code_hash("024181003472", key) and len(digest) == 32
    assert digest != sa.tax_code_hash("024181003472", b"another key, also long")
    assert "024181003472" not in digest


def test_the_hash_key_comes_from_the_variable_or_its_file(tmp_path: Path) -> None:
    def key(env: dict[str, str]) -> bytes | None:
        return sa.tax_code_hash_key(Settings.from_env(env))

    assert key({}) is None
    assert key({sa.TAX_CODE_HASH_KEY_ENV: "x" * 20}) == b"x" * 20
    path = tmp_path / "key"
    path.write_text("y" * 20 + "\n")
    assert key({sa.TAX_CODE_HASH_KEY_FILE_ENV: str(path)}) == b"y" * 20
    with pytest.raises(SettingsError, match="at least 16"):
        key({sa.TAX_CODE_HASH_KEY_ENV: "short"})


def test_start_attributes_describe_a_new_de_an() -> None:
    dossier = dossier_on(date(2019, 1, 10), district="Lục Ngạn", commune=None)
    attributes = sa.start_attributes(dossier, hash_key=b"k" * 20)
    assert attributes.get(sa.KC_STAGE) == "registered"
    assert attributes.get(sa.KC_APPROVED_SUPPORT) == 0
    assert attributes.get(sa.KC_OVERDUE) is False
    assert attributes.get(sa.KC_COMMUNE) is None  # absent, not empty
    assert attributes.get(sa.KC_TAX_CODE_HASH) == sa.tax_code_hash(
        dossier.beneficiary.tax_code, b"k" * 20
    )


def test_a_change_of_site_moves_the_district_and_commune_a_de_an_is_found_under() -> None:
    from tests.support.builders import TRUNG_TAM
    from workflows import de_an_decisions as decisions
    from workflows.de_an_contract import DeAnSite

    state = decisions.initial_state(
        dossier_on(date(2019, 6, 10), commune="Xã Tiến Phong"), TRUNG_TAM, date(2019, 1, 15), []
    )
    assert sa.state_values(state)[sa.KC_COMMUNE] == "Xã Tiến Phong"
    moved = state.model_copy(update={"site": DeAnSite(commune="Xã Nham Sơn", district="Yên Dũng")})
    values = sa.state_values(moved)
    assert (values[sa.KC_COMMUNE], values[sa.KC_DISTRICT]) == ("Xã Nham Sơn", "Yên Dũng")


def test_khuyencong_search_attributes_registers_on_the_configured_namespace(
    dev_env: WorkflowEnvironment,
) -> None:
    """The one documented command against a real cluster (here the dev server)."""
    address = dev_env.client.service_client.config.target_host
    result = CliRunner().invoke(
        app,
        ["search-attributes", "register"],
        env={"KHUYENCONG_TEMPORAL_ADDRESS": address, "KHUYENCONG_NAMESPACE": "default"},
    )
    assert result.exit_code == 0, result.output
    assert f"namespace default at {address}: 0 added, {len(sa.ALL_KEYS)} already" in result.output
    assert "exists  KcTaxCodeHash" in result.output
    listed = CliRunner().invoke(
        app,
        ["search-attributes", "list"],
        env={"KHUYENCONG_TEMPORAL_ADDRESS": address, "KHUYENCONG_NAMESPACE": "default"},
    )
    assert listed.exit_code == 0, listed.output
    assert "KcOverdue          Bool     registered" in listed.output
    assert "MISSING" not in listed.output


def test_khuyencong_tax_code_hash_prints_the_query() -> None:
    key = "a dev key of sixteen+ chars"
    result = CliRunner().invoke(
        app, ["tax-code-hash", "2400123456"], env={sa.TAX_CODE_HASH_KEY_ENV: key}
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f'KcTaxCodeHash="{sa.tax_code_hash("2400123456", key.encode())}"'
    )
    unset = {sa.TAX_CODE_HASH_KEY_ENV: None, sa.TAX_CODE_HASH_KEY_FILE_ENV: None}
    missing = CliRunner().invoke(app, ["tax-code-hash", "2400123456"], env=unset)
    assert missing.exit_code == 2 and sa.TAX_CODE_HASH_KEY_ENV in missing.output
