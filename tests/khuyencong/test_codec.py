"""Personal data stays out of Temporal's storage: the AES-GCM payload codec, key rotation,
the raw history of a đề án run with it, and the codec server the UI and CLI read through."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from khuyencong.client import project_converter
from khuyencong.codec import (
    ENCODING,
    KEYS_ENV,
    KEYS_FILE_ENV,
    CodecKeyError,
    CodecKeys,
    EncryptionCodec,
    MissingKeys,
    UnknownKey,
    new_key,
)
from khuyencong.codec_server import TOKEN_ENV, CodecServer
from khuyencong.registration import RegistrationEntry, register_all
from khuyencong.settings import Settings
from tests.support.builders import SO, TRUNG_TAM, UBND, dossier_on, new_code
from tests.support.histories import is_local_activity, payloads_in
from tests.support.lifecycle import Driver, appraisal, approval, today_of
from tests.support.temporal import (
    TEST_CODEC_KEYS,
    _binary,
    encrypting_client,
    new_task_queue,
    run_worker,
)
from workflows.de_an import IMPLIED_BY_LOCAL_WRITES, LOCAL_WRITES_PATCH

TAX_CODE = "024079004618"  # hộ kinh doanh: the owner's citizen ID number
OWNER = "Hộ kinh doanh Trần Thị Mận"
TOKEN = "s3cret-token-for-tests"
UI = "http://127.0.0.1:8233"
REPO = Path(__file__).resolve().parents[2]

# --- the codec ----------------------------------------------------------------------------


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


def test_keys_parse_from_the_documented_form_and_the_first_one_encrypts() -> None:
    keys = CodecKeys.parse(f"{new_key('k2')}, {new_key('k1')}\n")
    assert keys.ids == ["k2", "k1"] and keys.current_id == "k2"
    assert CodecKeys.parse(keys.render()) == keys


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no key given"),
        ("k1", "must be id:base64key"),
        ("k1:not base64!", "not valid base64"),
        ("k1:AAAA", "has 3 bytes; AES-256 needs 32"),
        (f"{new_key('k1')},{new_key('k1')}", "appears twice"),
    ],
)
def test_malformed_keys_are_refused_naming_the_variable(text: str, problem: str) -> None:
    with pytest.raises(CodecKeyError) as refused:
        CodecKeys.parse(text)
    assert KEYS_ENV in str(refused.value) and problem in str(refused.value)


def test_keys_come_from_the_variable_or_a_file(tmp_path: Any) -> None:
    entry = new_key("k9")
    assert CodecKeys.from_settings(Settings.from_env({})) is None
    assert CodecKeys.from_settings(Settings.from_env({KEYS_ENV: entry})) == CodecKeys.parse(entry)
    path = tmp_path / "keys"
    path.write_text(entry + "\n")
    from_file = Settings.from_env({KEYS_FILE_ENV: str(path)})
    assert CodecKeys.from_settings(from_file) == CodecKeys.parse(entry)
    assert project_converter(CodecKeys.parse(entry)).payload_codec is not None


async def test_a_payload_is_encrypted_named_by_its_key_and_decrypted_back() -> None:
    codec = EncryptionCodec(TEST_CODEC_KEYS)
    [sealed] = await codec.encode([plain(TAX_CODE)])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata["encryption-key-id"] == b"test1"
    assert TAX_CODE.encode() not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain(TAX_CODE)]
    # Random nonces: the same value never encrypts to the same bytes.
    [again] = await codec.encode([plain(TAX_CODE)])
    assert again.data != sealed.data
    # Never encrypted twice; clear payloads (older histories, CLI input) pass through decode.
    assert await codec.encode([sealed]) == [sealed]
    assert await codec.decode([plain("x")]) == [plain("x")]


async def test_rotation_encrypts_with_the_new_key_and_still_reads_the_old_one() -> None:
    old_entry, new_entry = new_key("k1"), new_key("k2")
    before = EncryptionCodec(CodecKeys.parse(old_entry))
    [old] = await before.encode([plain("trước")])
    after = EncryptionCodec(CodecKeys.parse(f"{new_entry},{old_entry}"))
    [new] = await after.encode([plain("sau")])
    assert new.metadata["encryption-key-id"] == b"k2"
    assert await after.decode([old, new]) == [plain("trước"), plain("sau")]
    # A process that was not given the new key says which key it lacks.
    with pytest.raises(UnknownKey, match="'k2'"):
        await before.decode([new])


async def test_an_altered_payload_is_refused() -> None:
    codec = EncryptionCodec(TEST_CODEC_KEYS)
    [sealed] = await codec.encode([plain("1.000.000 đ")])
    tampered = Payload()
    tampered.CopyFrom(sealed)
    tampered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(ValueError, match="failed authentication"):
        await codec.decode([tampered])
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata["encryption-key-id"] = b"test0"  # another known key
    with pytest.raises(ValueError, match="failed authentication"):
        await codec.decode([relabelled])


# --- a đề án run with encryption --------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def encrypted(ts_env: WorkflowEnvironment, db_pool: asyncpg.Pool) -> AsyncIterator[Driver]:
    """A household business's đề án, registered and approved by a worker and clients that
    encrypt (the suite's test keys); its history is on the time-skipping server."""
    client = encrypting_client(ts_env.client)
    tq = new_task_queue()
    today = await today_of(ts_env)
    dossier = dossier_on(
        today,
        code=new_code("PII"),
        beneficiary={"name": OWNER, "type": "ho_kinh_doanh", "tax_code": TAX_CODE},
    )
    entry = RegistrationEntry(dossier=dossier, registered_by=TRUNG_TAM, registered_on=today)
    async with run_worker(client, db_pool, tq):
        await register_all(client, tq, [entry], hash_key=b"test-only tax-code hash key")
        d = Driver(client, client.get_workflow_handle(entry.workflow_id))
        await d.until(lambda s: s.seq >= 1)
        await d.act(appraisal(SO, today))
        await d.act(approval(UBND, today, 200_000_000))
        yield d
        await d.handle.terminate("test finished")


async def raw_history(client: Client, workflow_id: str) -> bytes:
    """The history exactly as the server stores and serves it, without any converter."""
    response = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    return response.history.SerializeToString()


async def test_the_raw_history_holds_no_personal_data_in_clear(encrypted: Driver) -> None:
    raw = await raw_history(encrypted.client, encrypted.handle.id)
    for secret in (TAX_CODE, OWNER, SO.full_name, UBND.full_name, "2400123456"):
        assert secret.encode() not in raw, secret
    # ... while the workflow itself, and an authorised client, read it all.
    state = await encrypted.state()
    assert state.dossier.beneficiary.tax_code == TAX_CODE


async def test_every_payload_in_the_history_is_encrypted_except_search_attributes(
    encrypted: Driver,
) -> None:
    history = await encrypted.handle.fetch_history()
    clear: list[str] = []
    for event in history.events:
        searchable = {p.SerializeToString() for p in _search_attribute_payloads(event)}
        for payload in payloads_in(event):
            if payload.metadata.get("encoding") == ENCODING:
                continue
            if payload.SerializeToString() not in searchable:
                clear.append(f"{event.event_id} {event.WhichOneof('attributes')}: {payload}")
    # Only the SDK's patch marker ({"id": "local-writes-v1"}) and each local activity
    # marker's bookkeeping (activity ID and type, attempt, times): the core writes them outside
    # the codec, and they hold nothing but the patch ID and activity names of
    # workflows/de_an.py. A local activity's result itself (the identity verdict, the rule
    # packs, a step's answer) is encrypted, and the statement never appears in clear.
    assert all("marker_recorded" in line for line in clear)
    assert not any("kc1." in line for line in clear)
    assert sum(LOCAL_WRITES_PATCH in line for line in clear) == 1
    for patch in IMPLIED_BY_LOCAL_WRITES:  # taken without markers of their own
        assert not any(f'"{patch}"' in line for line in clear), patch
    local = [e for e in history.events if is_local_activity(e)]
    # one clear payload per local activity (its bookkeeping), not two (the result too)
    assert sum("verify_registration" in line for line in clear) == 1
    assert sum("record_step" in line for line in clear) >= 1
    assert len(clear) == 1 + len(local)


def _search_attribute_payloads(event: Any) -> list[Payload]:
    found: list[Payload] = []
    for name in (
        "workflow_execution_started_event_attributes",
        "upsert_workflow_search_attributes_event_attributes",
    ):
        if event.HasField(name):
            found.extend(getattr(event, name).search_attributes.indexed_fields.values())
    return found


async def test_a_client_without_the_keys_sees_only_ciphertext(
    ts_env: WorkflowEnvironment, encrypted: Driver
) -> None:
    blind = ts_env.client.get_workflow_handle(encrypted.handle.id)  # no codec
    with pytest.raises(KeyError, match="Unknown payload encoding binary/encrypted"):
        await blind.query("state")


# --- the codec server -------------------------------------------------------------------------


@pytest.fixture
def codec_server() -> Iterator[CodecServer]:
    with CodecServer(
        EncryptionCodec(TEST_CODEC_KEYS), port=0, allowed_origins=[UI], token=TOKEN
    ) as server:
        yield server


def post(
    server: CodecServer | _Remote, path: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        server.url + path,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Namespace": "default", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def as_json(payloads: list[Payload]) -> bytes:
    return json_format.MessageToJson(Payloads(payloads=payloads)).encode()


def from_json(body: bytes) -> list[Payload]:
    return list(json_format.Parse(body.decode(), Payloads()).payloads)


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_the_codec_server_decodes_the_history_for_an_authorised_user(
    encrypted: Driver, codec_server: CodecServer
) -> None:
    history = await encrypted.handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    body = as_json(list(started.input.payloads))
    status, _, answer = await asyncio.to_thread(post, codec_server, "/decode", body, AUTH)
    assert status == 200
    [decoded] = from_json(answer)
    assert decoded.metadata["encoding"] == b"json/plain"
    dossier = json.loads(decoded.data)["dossier"]
    assert (dossier["beneficiary"]["tax_code"], dossier["beneficiary"]["name"]) == (TAX_CODE, OWNER)
    # The UI's summary and details are payloads too; they decode the same way.
    summary = history.events[0].user_metadata.summary
    status, _, answer = await asyncio.to_thread(
        post, codec_server, "/decode", as_json([summary]), AUTH
    )
    assert status == 200 and "đề nghị hỗ trợ 200.000.000 đ" in json.loads(from_json(answer)[0].data)


async def test_the_codec_server_encodes_what_it_decodes(codec_server: CodecServer) -> None:
    status, _, sealed = await asyncio.to_thread(
        post, codec_server, "/encode", as_json([plain(TAX_CODE)]), AUTH
    )
    assert status == 200 and TAX_CODE.encode() not in sealed
    [payload] = from_json(sealed)
    assert payload.metadata["encoding"] == ENCODING
    status, _, opened = await asyncio.to_thread(post, codec_server, "/decode", sealed, AUTH)
    assert from_json(opened) == [plain(TAX_CODE)]


async def test_the_codec_server_refuses_without_the_token(codec_server: CodecServer) -> None:
    sealed = as_json(await EncryptionCodec(TEST_CODEC_KEYS).encode([plain(TAX_CODE)]))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        status, _, answer = await asyncio.to_thread(post, codec_server, "/decode", sealed, headers)
        assert status == 401 and TAX_CODE.encode() not in answer


async def test_the_codec_server_answers_bad_requests_clearly(codec_server: CodecServer) -> None:
    status, _, answer = await asyncio.to_thread(post, codec_server, "/decode", b"{oops", AUTH)
    assert status == 400 and b"not JSON Payloads" in answer
    foreign = await EncryptionCodec(CodecKeys.parse(new_key("k7"))).encode([plain("x")])
    status, _, answer = await asyncio.to_thread(
        post, codec_server, "/decode", as_json(foreign), AUTH
    )
    assert status == 400 and b"'k7'" in answer
    status, _, _ = await asyncio.to_thread(post, codec_server, "/other", b"{}", AUTH)
    assert status == 404


def preflight(server: CodecServer, origin: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        server.url + "/decode",
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers)


async def test_the_ui_origin_passes_cors_and_others_do_not(codec_server: CodecServer) -> None:
    status, headers = await asyncio.to_thread(preflight, codec_server, UI)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == UI
    assert "Authorization" in headers["Access-Control-Allow-Headers"]
    assert "X-Namespace" in headers["Access-Control-Allow-Headers"]
    _, headers = await asyncio.to_thread(preflight, codec_server, "http://evil.example")
    assert "Access-Control-Allow-Origin" not in headers
    # The answer to the UI's POST carries the header too (the browser checks it).
    sealed = as_json(await EncryptionCodec(TEST_CODEC_KEYS).encode([plain("x")]))
    _, headers, _ = await asyncio.to_thread(
        post, codec_server, "/decode", sealed, {**AUTH, "Origin": UI}
    )
    assert headers["Access-Control-Allow-Origin"] == UI


def payload_data(cli_json: str) -> str:
    """Every payload's data in ``temporal … --output json`` (base64 there), as text."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("data"), str) and "metadata" in node:
                found.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(cli_json))
    return "\n".join(found)


async def test_the_temporal_cli_reads_the_history_through_the_codec_server(
    dev_env: WorkflowEnvironment, db_pool: asyncpg.Pool, codec_server: CodecServer
) -> None:
    """What an authorised operator does: ``temporal workflow show --codec-endpoint``."""
    client = encrypting_client(dev_env.client)
    tq = new_task_queue()
    dossier = dossier_on(
        await today_of(dev_env),
        code=new_code("CLI"),
        beneficiary={"name": OWNER, "type": "ho_kinh_doanh", "tax_code": TAX_CODE},
    )
    async with run_worker(client, db_pool, tq):
        handle = await client.start_workflow(
            "DeAnWorkflow",
            {"dossier": dossier, "registered_by": TRUNG_TAM},
            id=f"de-an/{dossier.code}",
            task_queue=tq,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        try:
            await Driver(client, handle).until(lambda s: s.seq >= 1)
            address = dev_env.client.service_client.config.target_host
            show = [
                _binary("temporal"),
                "workflow",
                "show",
                "--address",
                address,
                "--workflow-id",
                handle.id,
                "--output",
                "json",
            ]
            blind = await asyncio.to_thread(subprocess.run, show, capture_output=True, text=True)
            assert blind.returncode == 0, blind.stderr
            assert TAX_CODE not in payload_data(blind.stdout)
            seeing = await asyncio.to_thread(
                subprocess.run,
                [*show, "--codec-endpoint", codec_server.url, "--codec-auth", f"Bearer {TOKEN}"],
                capture_output=True,
                text=True,
            )
            assert seeing.returncode == 0, seeing.stderr
            decoded = payload_data(seeing.stdout)
            assert TAX_CODE in decoded and OWNER in decoded
        finally:
            await handle.terminate("test finished")


async def test_khuyencong_codec_server_serves_with_the_configured_keys_and_token() -> None:
    """The command operators run: keys and token from the environment, never argv."""
    port = free_port()
    env = {
        **os.environ,
        KEYS_ENV: TEST_CODEC_KEYS.render(),
        TOKEN_ENV: TOKEN,
        "KHUYENCONG_LOG_LEVEL": "WARNING",
    }
    env.pop(KEYS_FILE_ENV, None)
    command = [os.path.join(sys.prefix, "bin", "khuyencong"), "codec-server", "--port", str(port)]
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        async with asyncio.timeout(30):
            while not await asyncio.to_thread(_healthy, url):
                assert server.poll() is None, "codec-server exited"
                await asyncio.sleep(0.1)
        sealed = as_json(await EncryptionCodec(TEST_CODEC_KEYS).encode([plain(TAX_CODE)]))
        remote = _Remote(url)
        status, _, answer = await asyncio.to_thread(post, remote, "/decode", sealed, AUTH)
        assert status == 200 and from_json(answer) == [plain(TAX_CODE)]
        status, _, _ = await asyncio.to_thread(post, remote, "/decode", sealed, {})
        assert status == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert TEST_CODEC_KEYS.render() not in " ".join(command)


@dataclass
class _Remote:
    url: str


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_process_without_keys_reads_clear_payloads_and_names_the_setting_for_encrypted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("KHUYENCONG_CODEC_KEYS", "KHUYENCONG_CODEC_KEYS_FILE"):
        monkeypatch.delenv(variable, raising=False)
    without_keys = project_converter()
    clear = await without_keys.encode(["Hợp tác xã Tiến Phong"])
    assert await without_keys.decode(clear, [str]) == ["Hợp tác xã Tiến Phong"]

    keys = CodecKeys.parse(new_key("k1"))
    sealed = await project_converter(keys).encode(["Hợp tác xã Tiến Phong"])
    with pytest.raises(MissingKeys) as missing:
        await without_keys.decode(sealed, [str])
    assert "KHUYENCONG_CODEC_KEYS_FILE" in str(missing.value) and "'k1'" in str(missing.value)
