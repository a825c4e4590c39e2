"""The officials' command line: ``khuyencong officials``, ``khuyencong de-an``, ``khuyencong
inbox``.

- ``officials add | list | show | update | deactivate | matrix``: the officials register and
  the role × action matrix (``docs/officials.md``).
- ``inbox``: what waits for the acting official, oldest first, overdue flagged.
- ``de-an list | show``: search the read model; one đề án with money, deadlines, timeline and
  its Temporal UI link.
- ``de-an register`` and one command per action (``appraise``, ``approve``, ...): inputs as
  options or ``--file`` (JSON/YAML; options win), validated with the workflow's own contract
  models before sending.
- ``de-an approve-batch``: one decision approving (or rejecting) a list of đề án.

The acting official is ``--as ID`` or ``KHUYENCONG_OFFICIAL_ID``; they are loaded from the
officials register (unknown or deactivated: refused), prove their password (a hidden prompt,
or ``KHUYENCONG_PASSWORD`` for scripts), and each action carries a short-lived statement of
their identity signed for that đề án and that update (:mod:`khuyencong.identity`).

- ``officials set-password ID``: an administrator sets an official's password (prompt, or
  ``--password-stdin``).
- ``token --as ID --de-an CODE --action appraise``: a signed statement for one update sent
  with the raw ``temporal workflow update execute`` (printed with the command to paste);
  ``--action register``: for the raw ``temporal workflow start`` of the đề án (its
  registration, bound to the workflow ID; no update ID).
- ``identity-key KID``: a fresh Ed25519 key pair for the settings.

Exit status: 0 done; 2 bad input or settings (nothing sent); 3 refused by a rule (the message
names the rule, field and legal basis; ``--json`` gives the stable type); 4 no such official
or đề án; 5 no answer in time (is a worker running? ``khuyencong problems`` lists stuck đề án).
"""

from __future__ import annotations

import asyncio
import getpass
import inspect
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from domain.authority import BASIS_ADJUST
from domain.model import Actor, DeAnDossier, Level, Role
from domain.stages import Action, Stage
from khuyencong.admin import output
from khuyencong.admin.client import AdminClient, normalise_code
from khuyencong.admin.errors import ActionRefused, BadInput, NotFound
from khuyencong.admin.inputs import (
    field_options,
    normalise_date,
    read_data_file,
    read_mapping,
    validate_model,
)
from khuyencong.admin.matrix import (
    ROLE_SHORT,
    adjustment_deciders_help,
    render_officials_doc,
)
from khuyencong.admin.models import BatchItem, DeAnFilter, OfficialIn
from khuyencong.settings import Settings, StartupError
from workflows.de_an_actions import CATALOGUE, ActionDefinition, Authority
from workflows.de_an_contract import DECISION_NUMBER

T = TypeVar("T")

EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_NOT_FOUND = 4
EXIT_TIMEOUT = 5

officials_app = typer.Typer(
    name="officials",
    help="Cán bộ: thêm, xem, chuyển vai trò, vô hiệu hoá; bảng thẩm quyền.",
    no_args_is_help=True,
)
de_an_app = typer.Typer(
    name="de-an",
    help="Đề án: tìm, xem, đăng ký và mọi thao tác của cán bộ.",
    no_args_is_help=True,
)

AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Mã cán bộ thực hiện (acting official); mặc định KHUYENCONG_OFFICIAL_ID.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON cho máy (for scripts).")]
FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        help="Tệp JSON hoặc YAML với các trường của thao tác; tuỳ chọn dòng lệnh ghi đè.",
        exists=True,
        dir_okay=False,
    ),
]


def install(app: typer.Typer) -> None:
    """Add the officials' commands to the ``khuyencong`` app."""
    app.add_typer(officials_app, name="officials")
    app.add_typer(de_an_app, name="de-an")
    app.command("inbox")(inbox)
    app.command("token")(token)
    app.command("identity-key")(identity_key)


# --- running ---------------------------------------------------------------------------------


class _CurrentStderr:
    """Log lines go to whatever ``sys.stderr`` is when they are written."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return False


def load_settings() -> Settings:
    from khuyencong.cli_runner import quiet_platform_warnings
    from khuyencong.devstack import with_dev_identity
    from khuyencong.logging import configure_logging

    quiet_platform_warnings()
    settings = with_dev_identity(Settings.from_env())
    # The commands print their own results; logs only for warnings and errors.
    level = settings.log_level if settings.log_level in ("WARNING", "ERROR") else "WARNING"
    configure_logging(settings.log_format, level, stream=_CurrentStderr())
    return settings


def run(body: Callable[[AdminClient, Settings], Awaitable[T]], *, as_json: bool = False) -> T:
    """Open the admin client, run ``body`` (:func:`khuyencong.cli_runner.run`); map errors to
    messages and exit statuses."""
    from khuyencong import cli_runner

    try:
        settings = load_settings()
    except StartupError as exc:
        output.print_error("Settings", str(exc), as_json)
        raise typer.Exit(EXIT_BAD_INPUT) from None

    async def main() -> T:
        async with AdminClient.open(settings) as admin:
            return await body(admin, settings)

    def exit_for(error: Exception) -> typer.Exit | None:
        if isinstance(error, ActionRefused):
            output.print_refusal(error, as_json)
            return typer.Exit(EXIT_REFUSED)
        if isinstance(error, BadInput):
            output.print_bad_input(error, as_json)
            return typer.Exit(EXIT_BAD_INPUT)
        if isinstance(error, NotFound):
            output.print_error("NotFound", str(error), as_json)
            return typer.Exit(EXIT_NOT_FOUND)
        if isinstance(error, TimeoutError):  # e.g. a registration no worker recorded
            output.print_error("Timeout", f"không có trả lời kịp thời: {error}", as_json)
            return typer.Exit(EXIT_TIMEOUT)
        if isinstance(error, StartupError):  # settings, a server out of reach, payloads
            # without their keys, a database schema behind (`khuyencong migrate`)
            output.print_error("Startup", str(error), as_json)
            return typer.Exit(EXIT_BAD_INPUT)
        return None  # not a command's error: a trace

    return cli_runner.run(main, errors=exit_for)


def checked(as_json: bool, make: Callable[[], T]) -> T:
    """Validate input before connecting: bad input exits 2 and sends nothing."""
    try:
        return make()
    except BadInput as error:
        output.print_bad_input(error, as_json)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def read_password(settings: Settings, official_id: str) -> str:
    """``KHUYENCONG_PASSWORD``, else a hidden prompt on a terminal."""
    if settings.password is not None:
        return settings.password.get_secret_value()
    if not sys.stdin.isatty():
        raise BadInput(
            f"cần mật khẩu của {official_id}: chạy trong terminal (hỏi ẩn) hoặc đặt "
            "KHUYENCONG_PASSWORD",
            [("password", "thiếu")],
        )
    return getpass.getpass(f"Mật khẩu của {official_id}: ")


async def acting(admin: AdminClient, settings: Settings, official_id: str | None) -> Actor:
    """The acting official, after their password is checked (this client then signs their
    updates)."""
    chosen = (official_id or settings.official_id or "").strip()
    if not chosen:
        raise BadInput("chọn cán bộ thực hiện bằng --as MÃ_CÁN_BỘ hoặc KHUYENCONG_OFFICIAL_ID")
    await admin.get_official(chosen)  # unknown: NotFound before asking for a password
    password = await asyncio.to_thread(read_password, settings, chosen)
    return await admin.authenticate(chosen, password)


# --- officials -------------------------------------------------------------------------------


@officials_app.command("add")
def officials_add(
    official_id: Annotated[str, typer.Argument(metavar="ID", help="Mã cán bộ, ví dụ BG-SCT-003.")],
    full_name: Annotated[str, typer.Option("--name", help="Họ và tên.")],
    role: Annotated[Role, typer.Option(help="Vai trò (xem `officials matrix`).")],
    organisation: Annotated[str, typer.Option(help="Cơ quan, đơn vị.")],
    province: Annotated[
        str | None,
        typer.Option(help="Tỉnh (địa bàn); bỏ trống cho Cục, Bộ trưởng, tài chính của Cục."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Thêm cán bộ — add an official to the register."""
    official = checked(
        as_json,
        lambda: validate_model(
            OfficialIn,
            {
                "id": official_id,
                "full_name": full_name,
                "role": role,
                "organisation": organisation,
                "province": province,
            },
            what="thông tin cán bộ",
        ),
    )

    async def body(admin: AdminClient, _: Settings) -> None:
        added = await admin.add_official(official)
        output.emit_json(added) if as_json else output.official_detail(added)

    run(body, as_json=as_json)


@officials_app.command("list")
def officials_list(
    role: Annotated[Role | None, typer.Option(help="Chỉ vai trò này.")] = None,
    province: Annotated[str | None, typer.Option(help="Chỉ tỉnh này.")] = None,
    include_inactive: Annotated[
        bool, typer.Option("--all", help="Cả cán bộ đã vô hiệu hoá.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Danh sách cán bộ — list officials."""

    async def body(admin: AdminClient, _: Settings) -> None:
        found = await admin.list_officials(
            role=role, province=province, include_inactive=include_inactive
        )
        output.emit_json(found) if as_json else output.officials_table(found)

    run(body, as_json=as_json)


@officials_app.command("show")
def officials_show(
    official_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonOption = False,
) -> None:
    """Xem một cán bộ — show one official."""

    async def body(admin: AdminClient, _: Settings) -> None:
        found = await admin.get_official(official_id)
        output.emit_json(found) if as_json else output.official_detail(found)

    run(body, as_json=as_json)


@officials_app.command("update")
def officials_update(
    official_id: Annotated[str, typer.Argument(metavar="ID")],
    full_name: Annotated[str | None, typer.Option("--name", help="Họ và tên mới.")] = None,
    role: Annotated[Role | None, typer.Option(help="Vai trò mới (chuyển công tác).")] = None,
    organisation: Annotated[str | None, typer.Option(help="Cơ quan mới.")] = None,
    province: Annotated[
        str | None, typer.Option(help='Tỉnh mới; chuỗi rỗng "" để bỏ tỉnh.')
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Sửa, chuyển vai trò — change an official's name, role, organisation or province.
    Four-eyes follows the person: what they did before still counts."""
    changes: dict[str, Any] = {}
    if full_name is not None:
        changes["full_name"] = full_name
    if role is not None:
        changes["role"] = role
    if organisation is not None:
        changes["organisation"] = organisation
    if province is not None:
        changes["province"] = province or None

    async def body(admin: AdminClient, _: Settings) -> None:
        if not changes:
            raise BadInput("không có gì để sửa: dùng --name, --role, --organisation, --province")
        updated = await admin.update_official(official_id, **changes)
        output.emit_json(updated) if as_json else output.official_detail(updated)

    run(body, as_json=as_json)


@officials_app.command("deactivate")
def officials_deactivate(
    official_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Lý do (nghỉ hưu, chuyển công tác, ...).")] = "",
    on: Annotated[
        str | None, typer.Option(help="Ngày vô hiệu hoá (mặc định hôm nay).", show_default=False)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Vô hiệu hoá cán bộ — deactivate an official and tell every open đề án, so their
    actions are refused from now on (final)."""
    day: date | None = None
    if on is not None:
        try:
            day = date.fromisoformat(str(normalise_date(on)))
        except ValueError:
            output.print_bad_input(BadInput("ngày không hợp lệ", [("on", on)]), as_json)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    async def body(admin: AdminClient, _: Settings) -> None:
        report = await admin.deactivate_official(official_id, reason=reason, on=day)
        output.emit_json(report) if as_json else output.deactivation(report)

    run(body, as_json=as_json)


@officials_app.command("set-password")
def officials_set_password(
    official_id: Annotated[str, typer.Argument(metavar="ID")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Đọc mật khẩu từ dòng đầu của stdin (cho script)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Đặt mật khẩu cho cán bộ (quản trị viên) — set an official's password (hidden prompt,
    asked twice; or the first line of stdin with --password-stdin). Never on the command
    line."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Mật khẩu mới của {official_id}: ")
        if getpass.getpass("Nhập lại: ") != password:
            output.print_bad_input(
                BadInput("hai lần nhập không khớp", [("password", "không khớp")]), as_json
            )
            raise typer.Exit(EXIT_BAD_INPUT)
    else:
        output.print_bad_input(
            BadInput("không có terminal: dùng --password-stdin", [("password", "thiếu")]),
            as_json,
        )
        raise typer.Exit(EXIT_BAD_INPUT)

    async def body(admin: AdminClient, _: Settings) -> None:
        await admin.set_password(official_id, password, set_by=getpass.getuser())
        if as_json:
            output.emit_json({"official_id": official_id, "password_set": True})
        else:
            typer.echo(f"Đã đặt mật khẩu cho {official_id}.")

    run(body, as_json=as_json)


@officials_app.command("matrix")
def officials_matrix() -> None:
    """Bảng thẩm quyền (Markdown) — the role × action matrix, as in docs/officials.md."""
    typer.echo(render_officials_doc(), nl=False)


# --- inbox -----------------------------------------------------------------------------------


def inbox(
    official_id: AsOption = None,
    include_optional: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Cả thao tác tuỳ ý (điều chỉnh, ngừng, kiểm tra, đề nghị tạm ứng).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Việc chờ — the actions waiting for the acting official (role and jurisdiction),
    oldest first, overdue flagged."""

    async def body(admin: AdminClient, settings: Settings) -> None:
        actor = await acting(admin, settings, official_id)
        items = await admin.inbox(actor, include_optional=include_optional)
        if as_json:
            output.emit_json(items)
        else:
            output.inbox_table(items, actor.describe())

    run(body, as_json=as_json)


# --- proven identity: statements for the raw Temporal CLI, keys ------------------------------


def token(
    de_an: Annotated[str, typer.Option("--de-an", help="Mã đề án, ví dụ BG-2019-DP-01.")],
    action: Annotated[
        Action,
        typer.Option(
            "--action",
            help="Thao tác (tên update), ví dụ appraise; register: đăng ký (khởi tạo workflow).",
        ),
    ],
    update_id: Annotated[
        str | None,
        typer.Option("--update-id", help="Mã cập nhật sẽ dùng (mặc định: tạo mới)."),
    ] = None,
    statement_only: Annotated[
        bool,
        typer.Option(
            "--statement-only", help="Chỉ in chứng nhận (cho $(...) trong lệnh temporal)."
        ),
    ] = False,
    official_id: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Chứng nhận danh tính cho một thao tác gửi bằng `temporal workflow update execute` —
    a signed statement of the official's identity for ONE update of ONE đề án (valid
    KHUYENCONG_IDENTITY_TTL_SECONDS, 5 minutes by default), with the command to paste.
    ``--action register``: for the `temporal workflow start` that registers the đề án."""
    import shlex
    from datetime import UTC, datetime

    from domain.model import workflow_id_for
    from khuyencong import identity

    code = normalise_code(de_an)
    registering = action is Action.REGISTER
    if registering and update_id:
        raise typer.BadParameter(
            "đăng ký (register) là lần khởi tạo workflow, không có mã cập nhật",
            param_hint="--update-id",
        )
    # A registration (the workflow's start) has no update ID: its statement is bound to the
    # workflow ID and the action ``register`` only.
    chosen_id = "" if registering else update_id or f"{code}:{action.value}:{uuid.uuid4().hex[:12]}"

    async def body(admin: AdminClient, settings: Settings) -> None:
        keys = identity.IdentityKeys.from_settings(settings)
        if keys.signing is None:
            raise BadInput(
                "công cụ này không có khoá ký: đặt KHUYENCONG_IDENTITY_SIGNING_KEY(_FILE)",
                [("identity_signing_key", "thiếu")],
            )
        actor = await acting(admin, settings, official_id)
        workflow_id = workflow_id_for(code)
        statement = identity.sign(
            keys.signing,
            official_id=actor.official_id,
            role=actor.role.value,
            province=actor.province,
            workflow_id=workflow_id,
            update=action.value,
            update_id=chosen_id,
            now=datetime.now(UTC),
            ttl_seconds=settings.identity_ttl_seconds,
        )
        header = f"{identity.HEADER}={json.dumps(statement)}"
        if statement_only:
            typer.echo(statement)
            return
        if as_json:
            output.emit_json(
                {
                    "header": identity.HEADER,
                    "statement": statement,
                    "workflow_id": workflow_id,
                    "update": action.value,
                    "update_id": chosen_id or None,
                    "expires_in_seconds": settings.identity_ttl_seconds,
                }
            )
            return
        if registering:
            typer.echo(
                "temporal workflow start --type DeAnWorkflow "
                f"--workflow-id {shlex.quote(workflow_id)} "
                f"--task-queue {shlex.quote(settings.task_queue)} "
                "--id-reuse-policy AllowDuplicateFailedOnly "
                f"--headers {shlex.quote(header)} "
                f'--input \'{{"dossier": {{...}}, "registered_by": {{"official_id": '
                f'"{actor.official_id}", ...}}}}\''
            )
            typer.echo(
                f"# hiệu lực {settings.identity_ttl_seconds // 60} phút, chỉ cho việc đăng ký "
                f"{workflow_id} bởi {actor.official_id} (registered_by)",
                err=True,
            )
            return
        typer.echo(
            "temporal workflow update execute "
            f"--workflow-id {shlex.quote(workflow_id)} --name {action.value} "
            f"--update-id {shlex.quote(chosen_id)} --headers {shlex.quote(header)} "
            "--input '{...}'"
        )
        typer.echo(
            f"# hiệu lực {settings.identity_ttl_seconds // 60} phút, chỉ cho {action.value} "
            f"của {workflow_id} với đúng mã cập nhật trên",
            err=True,
        )

    run(body, as_json=as_json)


def identity_key(
    key_id: Annotated[str, typer.Argument(metavar="KID", help="Tên khoá, ví dụ k2.")],
) -> None:
    """Cặp khoá Ed25519 mới — a fresh signing key (for KHUYENCONG_IDENTITY_SIGNING_KEY, keep
    it secret) and its public key (for the workers' KHUYENCONG_IDENTITY_VERIFY_KEYS)."""
    from khuyencong import identity

    key = identity.new_signing_key(key_id)
    typer.echo(f"KHUYENCONG_IDENTITY_SIGNING_KEY={key.render()}")
    typer.echo(f"KHUYENCONG_IDENTITY_VERIFY_KEYS={key.render_public()}")


# --- đề án: reading --------------------------------------------------------------------------


@de_an_app.command("list")
def de_an_list(
    year: Annotated[int | None, typer.Option(help="Năm kế hoạch.")] = None,
    level: Annotated[Level | None, typer.Option(help="Cấp: quoc_gia | dia_phuong.")] = None,
    province: Annotated[str | None, typer.Option(help="Tỉnh.")] = None,
    district: Annotated[str | None, typer.Option(help="Huyện.")] = None,
    content_area: Annotated[
        str | None, typer.Option(help="Nội dung (1–11, Nghị định 45/2012 Điều 4).")
    ] = None,
    stage: Annotated[
        list[Stage] | None, typer.Option(help="Giai đoạn (lặp lại để chọn nhiều).")
    ] = None,
    overdue: Annotated[
        bool | None, typer.Option("--overdue/--not-overdue", help="Chỉ đề án quá hạn / không.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Tìm trong mã, tên, đơn vị thụ hưởng.")
    ] = None,
    sort: Annotated[
        list[str] | None,
        typer.Option(
            help="Sắp xếp: code, year, stage, province, approved, paid, updated, created; "
            "thêm - để giảm dần (-updated). Lặp lại được."
        ),
    ] = None,
    page: Annotated[int, typer.Option(min=1, help="Trang.")] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=500, help="Số đề án mỗi trang.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Tìm đề án — list and search đề án (read model), sorted and paged."""
    search_filter = checked(
        as_json,
        lambda: validate_model(
            DeAnFilter,
            {
                "year": year,
                "level": level.value if level else None,
                "province": province,
                "district": district,
                "content_area": content_area,
                "stage": stage or [],
                "overdue": overdue,
                "text": search,
                "sort": sort or ["code"],
                "page": page,
                "page_size": page_size,
            },
            what="điều kiện tìm",
        ),
    )

    async def body(admin: AdminClient, _: Settings) -> None:
        found = await admin.list_de_an(search_filter)
        output.emit_json(found) if as_json else output.page_table(found)

    run(body, as_json=as_json)


@de_an_app.command("show")
def de_an_show(
    code: Annotated[str, typer.Argument(help="Mã đề án.")],
    as_json: JsonOption = False,
) -> None:
    """Xem đề án — stage, money, deadlines, timeline (who did what) and the Temporal UI link."""

    async def body(admin: AdminClient, _: Settings) -> None:
        view = await admin.show(code)
        output.emit_json(view) if as_json else output.de_an_view(view)

    run(body, as_json=as_json)


# --- đề án: acting ---------------------------------------------------------------------------


@de_an_app.command("register")
def de_an_register(
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            "-f",
            help="Hồ sơ đề án (JSON/YAML): các trường của hồ sơ, hoặc {dossier: ..., "
            "registered_on: ...}.",
            exists=True,
            dir_okay=False,
        ),
    ],
    registered_on: Annotated[
        str | None, typer.Option(help="Ngày đăng ký (mặc định: hôm nay).")
    ] = None,
    official_id: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Đăng ký đề án — register a đề án (Trung tâm Khuyến công): starts its workflow."""
    from pydantic import BaseModel, ConfigDict

    class _Registration(BaseModel):
        model_config = ConfigDict(extra="forbid")
        dossier: DeAnDossier
        registered_on: date | None = None

    def parse() -> _Registration:
        data = read_mapping(file)
        if "registered_by" in data or "actor" in data:
            raise BadInput("người đăng ký lấy từ --as, không ghi trong tệp")
        if "dossier" not in data:
            data = {"dossier": data}
        if registered_on is not None:
            data["registered_on"] = registered_on
        return validate_model(_Registration, data, what="hồ sơ đề án")

    registration = checked(as_json, parse)

    async def body(admin: AdminClient, settings: Settings) -> None:
        actor = await acting(admin, settings, official_id)
        result = await admin.register(actor, registration.dossier, registration.registered_on)
        output.emit_json(result) if as_json else output.register_result(result)

    run(body, as_json=as_json)


def _roles_help(definition: ActionDefinition[Any]) -> str:
    """Who may send it, from the definition (which reads :mod:`domain.authority`)."""
    if definition.authority is Authority.BY_KIND:
        kinds = "\n\n".join(f"- {line}" for line in adjustment_deciders_help())
        return f"Thẩm quyền theo loại điều chỉnh (--kind; {BASIS_ADJUST}):\n\n{kinds}"

    def names(level: Level) -> str:
        roles = definition.roles_by_level(level)
        return ", ".join(ROLE_SHORT[r] for r in Role if r in roles) or "—"

    return (
        f"Thẩm quyền: quốc gia — {names(Level.QUOC_GIA)}; địa phương — {names(Level.DIA_PHUONG)}."
    )


def action_help(definition: ActionDefinition[Any]) -> str:
    """``khuyencong de-an <command> --help``: label, who may send it, the definition's help."""
    text = f"{definition.label} — {definition.label_en}. {_roles_help(definition)}"
    if definition.help:
        separator = "\n\n" if definition.authority is Authority.BY_KIND else " "
        text += separator + definition.help
    return text


def make_action_command(definition: ActionDefinition[Any]) -> Callable[..., None]:
    """A typer command for one action of the catalogue: one option per field of its command
    model (the acting official aside), ``--file``, ``--as`` and ``--json``."""
    model = definition.command
    options = field_options(model, skip=frozenset({"actor"}))

    def command(**kwargs: Any) -> None:
        code = normalise_code(kwargs.pop("code"))
        official_id = kwargs.pop("official_id")
        file = kwargs.pop("file")
        as_json = kwargs.pop("as_json")

        def parse() -> dict[str, Any]:
            data = read_mapping(file) if file is not None else {}
            if "actor" in data:
                raise BadInput("người thực hiện lấy từ --as, không ghi «actor» trong tệp")
            for option in options:
                value = option.value(kwargs[option.param])
                if value is not None:
                    data[option.field] = value
            # Validate the payload shape now, with a placeholder official: a bad field
            # exits 2 before connecting to anything.
            validate_model(model, {**data, "actor": _PLACEHOLDER}, what="dữ liệu thao tác")
            return data

        data = checked(as_json, parse)

        async def body(admin: AdminClient, settings: Settings) -> None:
            actor = await acting(admin, settings, official_id)
            payload = validate_model(model, {**data, "actor": actor}, what="dữ liệu thao tác")
            outcome = await admin.act(code, payload)
            output.emit_json(outcome) if as_json else output.action_outcome(outcome)

        run(body, as_json=as_json)

    parameters = [
        inspect.Parameter(
            "code",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Argument(..., help="Mã đề án, ví dụ BG-2019-DP-01."),
            annotation=str,
        ),
        *(
            inspect.Parameter(
                option.param,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(None, *option.decls, help=option.help, show_default=False),
                annotation=option.annotation,
            )
            for option in options
        ),
        inspect.Parameter(
            "file",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=FileOption,
        ),
        inspect.Parameter(
            "official_id", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=AsOption
        ),
        inspect.Parameter(
            "as_json", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOption
        ),
    ]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__ = definition.name
    command.__doc__ = action_help(definition)
    return command


_PLACEHOLDER = Actor(
    official_id="kiem-tra",
    full_name="(kiểm tra dữ liệu)",
    role=Role.CUC,
    organisation="(kiểm tra dữ liệu)",
)

for _definition in CATALOGUE:  # khuyencong de-an settle, ...: workflows/de_an_actions.py
    de_an_app.command(_definition.cli_name)(make_action_command(_definition))


@de_an_app.command("approve-batch")
def de_an_approve_batch(
    decision_number: Annotated[
        str | None, typer.Option(help="Số quyết định, ví dụ 427/QĐ-UBND.")
    ] = None,
    decision_date: Annotated[str | None, typer.Option(help="Ngày quyết định.")] = None,
    signer: Annotated[str | None, typer.Option(help="Người ký quyết định.")] = None,
    item: Annotated[
        list[str] | None,
        typer.Option(
            help="Đề án được phê duyệt: MÃ hoặc MÃ=KINH_PHÍ (mặc định kinh phí đề nghị). "
            "Lặp lại được."
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="JSON/YAML: {decision_number, decision_date, signer, items: [{code, verdict: "
            "approve|reject, approved_support, reason}]} hoặc chỉ danh sách items.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    official_id: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Phê duyệt theo một quyết định — one decision approving (or rejecting) a list of đề án,
    with a verdict per item. Refused items are reported; the rest go through (exit 3 when
    any was refused)."""
    from pydantic import BaseModel, ConfigDict, Field

    class _Batch(BaseModel):
        model_config = ConfigDict(extra="forbid")
        decision_number: str
        decision_date: date
        signer: str = Field(min_length=1, max_length=200)
        items: list[BatchItem] = Field(min_length=1)

    def parse() -> _Batch:
        data: dict[str, Any] = {}
        if file is not None:
            loaded = read_data_file(file)
            data = {"items": loaded} if isinstance(loaded, list) else dict(loaded or {})
        items: list[Any] = list(data.get("items") or [])
        for text in item or []:
            code, _, amount = text.partition("=")
            entry: dict[str, Any] = {"code": code.strip()}
            if amount.strip():
                entry["approved_support"] = amount.strip()
            items.append(entry)
        data["items"] = items
        for key, value in (
            ("decision_number", decision_number),
            ("decision_date", decision_date),
            ("signer", signer),
        ):
            if value is not None:
                data[key] = value
        batch = validate_model(_Batch, data, what="quyết định")
        if not DECISION_NUMBER.match(batch.decision_number.strip().upper()):
            raise BadInput(
                "quyết định không hợp lệ",
                [("decision_number", "số văn bản phải có dạng «số/ký hiệu», ví dụ 427/QĐ-UBND")],
            )
        return batch

    batch = checked(as_json, parse)

    async def body(admin: AdminClient, settings: Settings) -> bool:
        actor = await acting(admin, settings, official_id)
        outcomes = await admin.batch_decide(
            actor,
            decision_number=batch.decision_number,
            decision_date=batch.decision_date,
            signer=batch.signer,
            items=batch.items,
        )
        if as_json:
            output.emit_json(outcomes)
        else:
            output.batch_table(outcomes, batch.decision_number)
        return all(o.status == "done" for o in outcomes)

    if not run(body, as_json=as_json):
        raise typer.Exit(EXIT_REFUSED)
