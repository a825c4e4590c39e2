"""Operations commands of ``khuyencong``: search attributes, payload encryption, codec server.

- ``khuyencong search-attributes register``: register the project's search attributes on
  ``KHUYENCONG_NAMESPACE`` of ``KHUYENCONG_TEMPORAL_ADDRESS`` (idempotent; once per namespace,
  before the first worker of this version starts); ``khuyencong search-attributes list``
  shows them with their type;
- ``khuyencong codec-server``: serve ``/encode`` and ``/decode`` for the Web UI and CLI;
- ``khuyencong codec-key ID``: print a fresh key entry for ``KHUYENCONG_CODEC_KEYS``;
- ``khuyencong tax-code-hash TAX_CODE``: the ``KcTaxCodeHash`` query for a beneficiary;
- ``khuyencong problems``: the running đề án whose workflow task fails or whose activity keeps
  retrying (exit 1 when there is any).

Registered on the main app by :func:`add_commands`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from khuyencong.cli_runner import fail, load_settings, run

search_attributes_app = typer.Typer(
    help="The project's search attributes (KcStage, KcLevel, …) on the configured namespace.",
    no_args_is_help=True,
)


def add_commands(app: typer.Typer) -> None:
    app.add_typer(search_attributes_app, name="search-attributes")
    app.command("codec-server")(codec_server)
    app.command("codec-key")(codec_key)
    app.command("tax-code-hash")(tax_code_hash)
    app.command("problems")(problems)


@search_attributes_app.command("register")
def register_search_attributes() -> None:
    """Register the project's search attributes on the configured namespace (idempotent)."""
    from khuyencong.client import connect
    from khuyencong.search_attributes import ALL_KEYS
    from khuyencong.search_attributes import register_search_attributes as register_all

    settings = load_settings()

    async def register() -> list[str]:
        client = await connect(settings)
        return await register_all(client, settings.namespace)

    added = run(register)
    for key in ALL_KEYS:
        state = "added" if key.name in added else "exists"
        typer.echo(f"  {state:7} {key.name}")
    typer.echo(
        f"namespace {settings.namespace} at {settings.temporal_address}: "
        f"{len(added)} added, {len(ALL_KEYS) - len(added)} already registered"
    )


@search_attributes_app.command("list")
def list_search_attributes() -> None:
    """Show the project's search attributes: name, type, registered or missing."""
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    from khuyencong.client import connect
    from khuyencong.search_attributes import ALL_KEYS, cli_type

    settings = load_settings()

    async def fetch() -> dict[str, int]:
        client = await connect(settings)
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=settings.namespace)
        )
        return dict(listed.custom_attributes)

    registered = run(fetch)
    missing = 0
    for key in ALL_KEYS:
        ok = registered.get(key.name) == int(key.indexed_value_type)
        missing += not ok
        typer.echo(f"  {key.name:18} {cli_type(key):8} {'registered' if ok else 'MISSING'}")
    if missing:
        typer.echo(f"{missing} missing: run `khuyencong search-attributes register`")
        raise typer.Exit(1)


def codec_server(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8234,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(help="Web UI origin allowed by CORS (repeat); default the dev UI."),
    ] = None,
    namespace: Annotated[
        list[str] | None, typer.Option(help="Serve only these namespaces (repeat).")
    ] = None,
) -> None:
    """Serve /encode and /decode so authorised UI and CLI users read encrypted payloads.

    Keys: KHUYENCONG_CODEC_KEYS (or KHUYENCONG_CODEC_KEYS_FILE). Bearer token:
    KHUYENCONG_CODEC_SERVER_TOKEN or KHUYENCONG_CODEC_SERVER_TOKEN_FILE (unset: no token
    check; bind to a trusted address)."""
    from khuyencong.codec import KEYS_ENV, CodecKeys, EncryptionCodec
    from khuyencong.codec_server import DEFAULT_ORIGINS, TOKEN_ENV, CodecServer
    from khuyencong.settings import StartupError

    settings = load_settings()
    try:
        keys = CodecKeys.from_settings(settings)
    except StartupError as exc:
        raise fail(str(exc)) from None
    if keys is None:
        raise fail(f"{KEYS_ENV} is not set: the codec server needs the payload keys")
    inline = settings.codec_server_token
    token = _token(
        TOKEN_ENV,
        None if inline is None else inline.get_secret_value(),
        settings.codec_server_token_file,
    )
    try:
        server = CodecServer(
            EncryptionCodec(keys),
            host=host,
            port=port,
            allowed_origins=allow_origin or DEFAULT_ORIGINS,
            token=token,
            namespaces=namespace,
        )
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    typer.echo(
        f"codec server on {server.url} (keys {', '.join(keys.ids)}; "
        f"{'bearer token required' if token else 'no token: bind to a trusted address'})"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _token(variable: str, inline: str | None, path: Path | None) -> str | None:
    """``VARIABLE``, else the content of the file ``VARIABLE_FILE``; None when neither."""
    token = (inline or "").strip()
    if not token and path is not None:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise fail(f"{variable}_FILE: cannot read {path}: {exc.strerror}") from None
    return token or None


def codec_key(
    key_id: Annotated[str, typer.Argument(help="Name of the new key, e.g. k3.")],
) -> None:
    """Print a new AES-256 key entry (id:base64) to put first in KHUYENCONG_CODEC_KEYS."""
    from khuyencong.codec import CodecKeys, new_key
    from khuyencong.settings import StartupError

    entry = new_key(key_id)
    try:
        CodecKeys.parse(entry)
    except StartupError as exc:
        raise fail(str(exc)) from None
    typer.echo(entry)


def tax_code_hash(
    tax_code: Annotated[str, typer.Argument(help="Beneficiary's tax code (mã số thuế).")],
) -> None:
    """Print the KcTaxCodeHash query that finds a beneficiary's đề án (needs
    KHUYENCONG_TAX_CODE_HASH_KEY, the same as the starter's)."""
    from khuyencong.search_attributes import (
        TAX_CODE_HASH_KEY_ENV,
        tax_code_hash_key,
    )
    from khuyencong.search_attributes import tax_code_hash as digest
    from khuyencong.settings import StartupError

    try:
        key = tax_code_hash_key(load_settings())
    except StartupError as exc:
        raise fail(str(exc)) from None
    if key is None:
        raise fail(f"{TAX_CODE_HASH_KEY_ENV} is not set: use the starter's key")
    typer.echo(f'KcTaxCodeHash="{digest(tax_code, key)}"')


def problems(
    min_attempts: Annotated[
        int,
        typer.Option(
            "--min-attempts",
            min=1,
            help="List an activity once it is past this many attempts.",
        ),
    ] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
) -> None:
    """Đề án đang lỗi — running đề án whose workflow task fails or whose activity keeps
    retrying (attempt > --min-attempts), with the last error. Exit 1 when there is any."""
    import json

    from khuyencong.client import connect
    from khuyencong.problems import find_problems, render

    settings = load_settings()

    async def find() -> list[Any]:
        client = await connect(settings)
        return await find_problems(client, min_attempts=min_attempts)

    found = run(find)
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(p) for p in found], ensure_ascii=False, indent=2))
    else:
        for line in render(found):
            typer.echo(line)
    if found:
        raise typer.Exit(1)
