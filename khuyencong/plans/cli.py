"""``khuyencong plan ...``: annual plans from the command line.

- ``template FILE.xlsx|FILE.csv``: the spreadsheet template with Vietnamese headers
- ``import FILE --province --level --year --envelope``: validate every row, start the plan
  if needed and register its đề án (the same file twice creates nothing twice)
- ``decision-sheet PLAN_ID FILE``: the decision's list of the đề án waiting, to edit
- ``decide PLAN_ID --number --date --signer ... [--items FILE]``: one decision for many đề án
  (verdict, support and reason per đề án from the list)
- ``status PLAN_ID``: the plan's items, decisions and checkpoints
- ``report --from 2014 --to 2018 [--province] [--level] [--units then|now] [--export FILE]``
- ``load-history [--through-workflows]``: the Bắc Giang 2014–2018 scenario (166 đề án), as
  read-model rows or through the engine (each đề án a workflow from registration to closing)
- ``simulate``: a whole plan year in the time-skipping server, printing the checkpoints
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from domain.model import Level
from domain.money import Dong, format_dong
from khuyencong import cli_runner as cli
from khuyencong.plans.reports import Units

plans_app = typer.Typer(
    name="plan",
    help="Annual khuyến công plans: import, decision, progress, reports, simulation.",
    no_args_is_help=True,
)


def install(app: typer.Typer) -> None:
    """Add ``plan`` (template, import, decide, status, report, simulate) to ``app``."""
    app.add_typer(plans_app, name="plan")


def _plan_run(body: Any, plan_id: str | None = None) -> Any:
    """Run ``body(admin)`` as the ``de-an`` commands run (:func:`khuyencong.admin.cli.run`):
    the officials register and the dev stack's codec keys at hand, the same messages and exit
    statuses (2 bad input, 3 refused with the rule named, 4 unknown), never a traceback."""
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError, RPCStatusCode

    from khuyencong.admin import cli as admin_cli
    from khuyencong.admin.errors import ActionRefused, NotFound

    async def guarded(admin: Any, settings: Any) -> Any:
        try:
            return await body(admin, settings)
        except WorkflowUpdateFailedError as failure:
            raise ActionRefused.from_update_failure(failure) from None
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
            raise NotFound(f"không có kế hoạch {plan_id or ''}".rstrip()) from None

    return admin_cli.run(guarded)


def _day(value: str, option: str) -> date:
    """``2027-03-09`` or ``09/03/2027``, as the ``de-an`` commands read dates."""
    from khuyencong.admin.inputs import normalise_date

    try:
        return date.fromisoformat(str(normalise_date(value)))
    except ValueError:
        raise cli.fail(f"{option}: ngày phải có dạng YYYY-MM-DD hoặc DD/MM/YYYY") from None


def _message(exc: ValidationError) -> str:
    return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")


@plans_app.command()
def template(file: Annotated[Path, typer.Argument(help="Where to write (.xlsx or .csv).")]) -> None:
    """Write the plan spreadsheet template (Vietnamese headers, one example row)."""
    from khuyencong.plans.importer import read_sheet, write_csv, write_xlsx

    example = Path(__file__).with_name("template.csv")
    sheet = read_sheet(example)
    rows = [["" if v is None else str(v) for v in cells] for _, cells in sheet.rows]
    (write_xlsx if file.suffix.lower() == ".xlsx" else write_csv)(file, rows, sheet.header)
    typer.echo(f"đã ghi mẫu kế hoạch: {file}")


@plans_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The plan spreadsheet (.xlsx or .csv).")],
    province: Annotated[str, typer.Option(help="Province of the plan.")],
    year: Annotated[int, typer.Option(help="Plan year.")],
    envelope: Annotated[str, typer.Option(help="Budget envelope, whole đồng (5.000.000.000).")],
    level: Annotated[Level, typer.Option(help="dia_phuong or quoc_gia.")] = Level.DIA_PHUONG,
    intake_closes: Annotated[
        str | None, typer.Option(help="Last intake day YYYY-MM-DD (default by level).")
    ] = None,
    official_id: Annotated[
        str | None,
        typer.Option(
            "--as",
            "--official-id",
            help="The centre's official who imports (Trung tâm khuyến công of the province), "
            "from the officials register; default KHUYENCONG_OFFICIAL_ID.",
        ),
    ] = None,
) -> None:
    """Validate every row (errors: row, column, reason; nothing imported), then register,
    signed for the importing official (their password is asked)."""
    from domain.rules import load_packs
    from khuyencong.plans.importer import check_registrars, load_plan_file
    from khuyencong.plans.service import ensure_plan, import_entries, plan_state
    from khuyencong.settings import StartupError
    from workflows.plan_contract import PlanConfig

    settings = cli.load_settings()
    closes = _day(intake_closes, "--intake-closes") if intake_closes else None
    try:
        amount = TypeAdapter(Dong).validate_python(envelope)
    except ValidationError as exc:
        raise cli.fail(f"--envelope: {_message(exc)}") from None
    config = PlanConfig.with_defaults(province, level, year, amount, closes)
    try:
        entries, digest = load_plan_file(
            file, config, rule_packs=load_packs(settings.rule_pack_dirs)
        )
    except StartupError as exc:
        raise cli.fail(str(exc)) from None

    async def run(admin: Any, settings: Any = None) -> Any:
        # Who registers must be in the officials register (the same check as `de-an`): the
        # registrations carry the register's name, role and unit, not the sheet's.
        from domain.errors import Refusal
        from khuyencong.admin.cli import acting
        from khuyencong.admin.errors import ActionRefused
        from workflows.plan_contract import PlanRegister
        from workflows.plan_rules import check_registrar

        # unknown: exit 4; deactivated or wrong password: refused before anything is sent
        actor = await acting(admin, settings, official_id)
        registered = await check_registrars(admin, entries)
        try:  # the plan's own rule, judged before it is opened (and again by its validator)
            check_registrar(config, PlanRegister(entries=registered, actor=actor))
        except Refusal as refusal:
            raise ActionRefused.of(
                refusal.code, refusal.message, refusal.field, refusal.legal_basis
            ) from None
        handle = await ensure_plan(admin.client, settings.task_queue, config, actor)
        state = await plan_state(handle)
        if state.config != config:
            typer.secho(
                f"{handle.id} đã có: giữ cấu hình đang chạy (kinh phí "
                f"{format_dong(state.config.envelope)}, hạn đăng ký "
                f"{state.config.intake_closes_on:%d/%m/%Y})",
                err=True,
                fg=typer.colors.YELLOW,
            )
        return handle.id, await import_entries(handle, registered, digest, actor)

    plan_id, result = _plan_run(run)
    for item in result.items:
        mark = "đã có" if item.already else ("nhận" if item.accepted else "TỪ CHỐI")
        typer.echo(f"  {mark:<8} {item.code} {item.message}")
    typer.echo(f"{plan_id}: {result.accepted}/{len(result.items)} đề án trong kế hoạch")
    if result.accepted < len(result.items):
        raise typer.Exit(1)


@plans_app.command()
def decide(
    plan_id: Annotated[str, typer.Argument(help="ke-hoach/{level}/{province}/{year}")],
    number: Annotated[str, typer.Option(help="Decision number, e.g. 427/QĐ-UBND.")],
    on: Annotated[str, typer.Option("--date", help="Decision date (YYYY-MM-DD or DD/MM/YYYY).")],
    official_id: Annotated[
        str,
        typer.Option(
            "--as",
            "--official-id",
            help="The signing official (Chủ tịch UBND tỉnh, or the Minister for a national "
            "plan), from the officials register.",
        ),
    ],
    signer: Annotated[
        str | None, typer.Option(help="Name on the decision (default: the official's).")
    ] = None,
    codes: Annotated[
        list[str] | None, typer.Option("--code", help="Only these đề án (default: all waiting).")
    ] = None,
    items_file: Annotated[
        Path | None,
        typer.Option(
            "--items",
            help="The decision's list (.xlsx or .csv): verdict, support and reason per đề án "
            "(see 'plan decision-sheet').",
        ),
    ] = None,
) -> None:
    """One decision for many đề án: all waiting ones at their requested support, the --code
    ones, or the list in --items (each row checked first; nothing is sent on any error).
    Exit 3 when the plan or a đề án refused an item (the others are decided)."""
    from khuyencong.admin.errors import BadInput
    from khuyencong.plans.decision_file import check_against_plan, load_decision_items
    from khuyencong.plans.service import decide as send
    from khuyencong.plans.service import plan_state
    from khuyencong.settings import StartupError
    from workflows.plan_contract import ItemStatus, PlanDecision, PlanDecisionItem

    if items_file is not None and codes:
        raise cli.fail("--items và --code không dùng cùng nhau")
    decided_on = _day(on, "--date")
    listed: list[tuple[int, PlanDecisionItem]] | None = None
    if items_file is not None:
        try:
            listed = load_decision_items(items_file)
        except StartupError as exc:
            raise cli.fail(str(exc)) from None

    async def run(admin: Any, settings: Any = None) -> Any:
        from khuyencong.admin.cli import acting

        # unknown: exit 4; deactivated or wrong password: refused
        actor = await acting(admin, settings, official_id)
        try:  # the decision's own fields: bad input sends nothing
            header = PlanDecision(
                decision_number=number,
                decision_date=decided_on,
                signer=signer or actor.full_name,
                actor=actor,
                items=[PlanDecisionItem(code="-")],
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = {"decision_number": "--number", "signer": "--signer"}.get(
                str(first["loc"][0]) if first["loc"] else "", "--number"
            )
            raise BadInput(f"{where}: {_message(exc)}") from None
        handle = admin.client.get_workflow_handle(plan_id)
        state = await plan_state(handle)
        earlier = next((d for d in state.decisions if d.number == header.decision_number), None)
        if earlier is not None:
            typer.secho(
                f"quyết định {earlier.number} ngày {earlier.date:%d/%m/%Y} đã được ghi nhận "
                "trước đó; đây là kết quả đã ghi (quyết định mới cần số mới)",
                err=True,
                fg=typer.colors.YELLOW,
            )
        if listed is not None:
            check_against_plan(listed, state, header.decision_number)
            items = [item for _, item in listed]
        else:
            chosen = codes or [
                i.code
                for i in state.items
                if i.status in (ItemStatus.REGISTERED, ItemStatus.REFUSED)
            ]
            items = [PlanDecisionItem(code=c) for c in chosen]
        try:  # validated whole (one line per đề án, at least one)
            decision = PlanDecision.model_validate({**header.model_dump(), "items": items})
        except ValidationError as exc:
            raise BadInput(f"--code / --items: {_message(exc)}") from None
        return await send(handle, decision)

    result = _plan_run(run, plan_id)  # list errors against the plan: exit 2, nothing sent
    for item in result.items:
        why = ""
        if item.error_type:  # a đề án's refusal already starts with its [code]
            code = f"[{item.error_type}]"
            why = f" {item.message}" if item.message.startswith(code) else f" {code} {item.message}"
        typer.echo(
            f"  {item.status.label:<22} {item.code} {format_dong(item.approved_support)}{why}"
        )
    typer.echo(f"đã cam kết {format_dong(result.committed)} / {format_dong(result.envelope)}")
    if any(item.status is ItemStatus.REFUSED for item in result.items):
        raise typer.Exit(3)  # recorded; the refused đề án can be decided again, under a new number


@plans_app.command("decision-sheet")
def decision_sheet(
    plan_id: Annotated[str, typer.Argument(help="ke-hoach/{level}/{province}/{year}")],
    file: Annotated[Path, typer.Argument(help="Where to write (.xlsx or .csv).")],
) -> None:
    """Write the decision's list for the đề án still waiting: approve at the requested support;
    edit it, then send it with 'plan decide --items FILE'."""
    from khuyencong.plans.decision_file import HEADER, waiting_rows
    from khuyencong.plans.importer import write_csv, write_xlsx
    from khuyencong.plans.service import plan_state

    async def run(admin: Any, settings: Any = None) -> Any:
        return await plan_state(admin.client.get_workflow_handle(plan_id))

    rows = waiting_rows(_plan_run(run, plan_id))
    if not rows:
        raise cli.fail(f"{plan_id}: không còn đề án nào chờ quyết định")
    try:
        (write_xlsx if file.suffix.lower() == ".xlsx" else write_csv)(file, rows, HEADER)
    except OSError as exc:
        raise cli.fail(f"không ghi được {file}: {exc}") from None
    typer.echo(f"đã ghi danh mục {len(rows)} đề án chờ quyết định: {file}")


@plans_app.command()
def status(
    plan_id: Annotated[str, typer.Argument(help="ke-hoach/{level}/{province}/{year}")],
) -> None:
    """The plan's đề án, decisions and checkpoints so far."""
    from khuyencong.plans.service import plan_state
    from workflows import plan_rules
    from workflows.plan_contract import ItemStatus

    async def run(admin: Any, settings: Any = None) -> Any:
        return await plan_state(admin.client.get_workflow_handle(plan_id))

    state = _plan_run(run, plan_id)
    typer.echo(
        f"{state.plan_id}: {len(state.items)} đề án, đã cam kết "
        f"{format_dong(plan_rules.committed(state))} / {format_dong(state.config.envelope)}, "
        f"đã trả về {format_dong(plan_rules.released_total(state))}"
    )
    for item in state.items:
        typer.echo(f"  {item.status.label:<26} {item.code} {item.title}")
        decided = f"QĐ {item.decision_number}" if item.decision_number else ""
        if item.status is ItemStatus.APPROVED:
            line = f"{decided}: cam kết {format_dong(item.committed - (item.released or 0))}"
            if item.released is not None:
                line += (
                    f"; đã kết thúc, nhận {format_dong(item.final_support or 0)}, "
                    f"trả về kế hoạch {format_dong(item.released)}"
                )
            typer.echo(f"      {line}")
        elif item.status in (ItemStatus.REFUSED, ItemStatus.REJECTED) and item.message:
            typer.echo(f"      {decided}: {item.message}")
    for c in state.checkpoints:
        typer.echo(
            f"  mốc {c.label} ({c.on:%d/%m/%Y}): hoàn thành {c.done_count}/{c.approved_count}, "
            f"chậm {len(c.behind)}, chưa quyết toán {len(c.unsettled)}"
        )
        for behind in c.behind:
            typer.echo(f"      chậm: {behind.code} — {behind.reason}")
        if c.unsettled:  # year end: extend, or settle on the accepted volume
            typer.echo(f"      chưa quyết toán (gia hạn hoặc quyết toán theo khối lượng nghiệm "
                       f"thu): {', '.join(c.unsettled)}")  # fmt: skip


@plans_app.command()
def report(
    first: Annotated[int, typer.Option("--from", help="First year.")],
    last: Annotated[int, typer.Option("--to", help="Last year.")],
    province: Annotated[str | None, typer.Option(help="Only this province.")] = None,
    level: Annotated[Level | None, typer.Option(help="Only this level.")] = None,
    export: Annotated[Path | None, typer.Option(help="Also write .xlsx or .csv.")] = None,
    units: Annotated[
        Units,
        typer.Option(
            help="Group by the administrative units as the đề án were registered (then) or as "
            "they are now (now: a province's successor, no district level after 1/7/2025)."
        ),
    ] = Units.THEN,
    on: Annotated[
        str | None, typer.Option(help="With --units now: the day of the units (default today).")
    ] = None,
) -> None:
    """Numbers and money by level, province, district, content area, beneficiary type and
    stage; counterpart funds per đồng of support; completion at the plans' checkpoints."""
    from khuyencong.database import open_database
    from khuyencong.places_cli import today, units_registry
    from khuyencong.plans import reports

    settings = cli.load_settings()
    day = _day(on, "--on") if on is not None else today()

    async def run() -> Any:
        async with open_database(settings, migrate=False) as pool:
            registry = await units_registry(pool) if units is Units.NOW else None
            return await reports.build_report(
                pool,
                first,
                last,
                province=province,
                level=level.value if level else None,
                units=units,
                registry=registry,
                on=day,
            )

    result = cli.run(run)
    reports.print_report(result)
    if export is not None:
        reports.export(result, export)
        typer.echo(f"đã xuất báo cáo: {export}")


@plans_app.command("load-history")
def load_history(
    through_workflows: Annotated[
        bool,
        typer.Option(
            "--through-workflows",
            help="Run each đề án through the engine (a worker must be running on the task "
            "queue): every step in PostgreSQL and in a Temporal history. Default: read-model "
            "rows only (fast, for reports and benchmarks).",
        ),
    ] = False,
) -> None:
    """Load the Bắc Giang 2014–2018 scenario (166 đề án)."""
    from khuyencong.database import open_database
    from khuyencong.plans.generator import bac_giang_2014_2018
    from khuyencong.plans.generator import load_history as load

    settings = cli.load_settings()

    async def rows() -> int:
        async with open_database(settings, migrate=False) as pool:
            return await load(pool, bac_giang_2014_2018())

    async def workflows() -> Any:
        from khuyencong.client import connect
        from khuyencong.plans.backfill import backfill_through_workflows
        from khuyencong.search_attributes import tax_code_hash_key

        client = await connect(settings)
        async with open_database(settings, migrate=False) as pool:
            return await backfill_through_workflows(
                client,
                settings.task_queue,
                bac_giang_2014_2018(),
                pool=pool,
                hash_key=tax_code_hash_key(settings),
            )

    if not through_workflows:
        added = cli.run(rows)
        typer.echo(f"đã nạp {added} đề án mới (Bắc Giang 2014–2018: 166 đề án)")
        return
    report = cli.run(workflows)
    for code, error in report.failed.items():
        typer.echo(f"  LỖI {code}: {error}", err=True)
    typer.echo(
        f"Bắc Giang 2014–2018 qua quy trình: khởi tạo {report.started}, kết thúc "
        f"{len(report.closed)}, đã kết thúc trước đó {len(report.already_closed)}, "
        f"lỗi {len(report.failed)}"
    )
    if report.failed:
        raise typer.Exit(1)


@plans_app.command()
def simulate(
    count: Annotated[int, typer.Option(help="Đề án in the plan.")] = 10,
    late: Annotated[int, typer.Option(help="Đề án that never finish.")] = 1,
    under: Annotated[int, typer.Option(help="Đề án settled for half their cost.")] = 1,
    envelope: Annotated[
        str | None, typer.Option(help="Envelope in đồng (default: all requested support).")
    ] = None,
    province: Annotated[str, typer.Option(help="Province.")] = "Bắc Giang",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic đề án.")] = 2019,
) -> None:
    """Run a whole plan year in the time-skipping server and print its checkpoints."""
    from khuyencong.logging import configure_logging
    from khuyencong.plans.simulate import Scenario, run_standalone

    settings = cli.load_settings()
    # The table is the output: the worker's INFO lines (about 5 KB per đề án) would bury it
    # and cost the run its time; warnings and errors still show.
    level = settings.log_level if settings.log_level in ("WARNING", "ERROR") else "WARNING"
    configure_logging(settings.log_format, level)
    scenario = Scenario(
        province=province,
        count=count,
        late=late,
        under=under,
        seed=seed,
        envelope=int(envelope.replace(".", "")) if envelope else None,
    )
    cli.run(lambda: run_standalone(scenario))
