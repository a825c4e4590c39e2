"""``AdminClient``: the typed async client every internal tool uses to act on đề án.

It reads PostgreSQL (the officials register, the ``de_an`` read model, the event log, the
``de_an_inbox`` view) and talks to Temporal (start a đề án, send one update per action, query
its state, signal a deactivated official). It decides nothing: the workflow's validators are
the one choke point, and a refusal comes back as :class:`~khuyencong.admin.errors.ActionRefused`
with the rule's stable type, message, field and legal basis.

Usage::

    async with AdminClient.open(settings) as admin:
        actor = await admin.acting("BG-SCT-003")          # refuses unknown / inactive
        outcome = await admin.act("BG-2019-DP-01", DeAnAppraise(actor=actor, ...))
        for item in await admin.inbox(actor):
            ...

Every update is sent with a meaningful update ID, ``{code}:{action}:{ref}`` where ``ref`` is
the business reference (decision, minutes or voucher number, month, date), the official and a
short hash of the payload: resending the same command (a retry after a lost answer) is applied
once; a different command is judged by the workflow.

The read model is written by the workflow's activity *before* an update returns, so the next
``show`` or ``inbox`` reflects an action as soon as its method returns.

**Proven identity.** An official acts only after :meth:`AdminClient.authenticate` checked
their password (:mod:`khuyencong.admin.credentials`); each update then carries a statement
signed for that official, this đề án, this update and its ID (the client's
:class:`~khuyencong.identity_interceptors.SigningInterceptor`, enabled by the signing key in
the settings), and the worker refuses an update without a valid one. An action for an official
not authenticated in this client is refused here (``IdentityNotProven``), nothing sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from domain.deadlines import Deadline, DeadlineKind, vn_date
from domain.errors import Refusal, RefusalCode
from domain.model import CENTRAL_ROLES, Actor, DeAnDossier, Role, workflow_id_for
from domain.rules import province_key
from domain.stages import Action, Stage
from khuyencong.admin import credentials, sql
from khuyencong.admin.errors import ActionRefused, BadInput, NotFound
from khuyencong.admin.inbox import InboxRules, OpenDeAn, acting_stages, cli_command
from khuyencong.admin.models import (
    ActionOutcome,
    BatchItem,
    BatchOutcome,
    BatchVerdict,
    DeactivationReport,
    DeadlineView,
    DeAnFilter,
    DeAnRow,
    DeAnView,
    InboxAction,
    InboxItem,
    InboxPage,
    Official,
    OfficialIn,
    Page,
    RegisterResult,
    TimelineEvent,
)
from khuyencong.identity_interceptors import vouching
from khuyencong.places import SHIPPED_UNITS
from khuyencong.settings import Settings
from khuyencong.updates import execute_de_an_update
from workflows.de_an_actions import BY_ACTION, CATALOGUE, ActionDefinition, for_command
from workflows.de_an_contract import (
    DeAnActionResult,
    DeAnApprove,
    DeAnCommand,
    DeAnOfficialDeactivated,
    DeAnReject,
    DeAnState,
)
from workflows.de_an_decisions import check_registration, open_deadlines, pending_deadlines

DE_AN_WORKFLOW = "DeAnWorkflow"
STATE_QUERY = "state"
DEACTIVATED_SIGNAL = "official_deactivated"

COMMANDS: dict[Action, type[DeAnCommand]] = {d.action: d.command for d in CATALOGUE}
"""Every action the workflow takes as an update, and its payload model (from the catalogue,
:mod:`workflows.de_an_actions`)."""

MAX_ATTEMPT_IDS = 20
"""Attempts of one command that were accepted and then refused, before the client gives up."""

QUERY_TIMEOUT = timedelta(seconds=5)
REGISTRATION_TIMEOUT = 30.0
REGISTER_CATCH_UP_SECONDS = 3.0
"""A worker sees a change of the officials register within milliseconds (NOTIFY); an update
refused because its copy was still behind (``OfficialUnknown``, a role or province just
changed) is sent again for this long."""
_CATCH_UP = frozenset({RefusalCode.OFFICIAL_UNKNOWN, RefusalCode.IDENTITY_MISMATCH})


def normalise_code(code: str) -> str:
    """``de-an/bg-2019-dp-01`` → ``BG-2019-DP-01``."""
    code = code.strip()
    if code.startswith("de-an/"):
        code = code[len("de-an/") :]
    return code.upper()


def update_id_for(
    code: str, action: Action, command: DeAnCommand, ordinal: int | None = None
) -> str:
    """``{code}:{action}:{ref}``; ref = the paper's number (or the action's ordinal on the
    đề án, for actions without one), the acting official and a hash of the payload.

    The same command sent twice (a retry after a lost answer) has the same ID and is applied
    once; a corrected command (same paper, other figures) gets another ID and is judged by the
    workflow (which refuses a second use of the same paper)."""
    payload = command.model_dump(mode="json")
    digest = hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()[:8]
    known = BY_ACTION.get(action)
    field = known.update_ref if known is not None else None
    business = str(payload.get(field, "")) if field else ("" if ordinal is None else str(ordinal))
    parts = [p for p in (business, command.actor.official_id, digest) if p]
    return f"{code}:{action.value}:{':'.join(parts)}"


def ui_url_for(settings_ui_url: str, namespace: str, workflow_id: str) -> str:
    return (
        f"{settings_ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/"
        f"{quote(workflow_id, safe='')}"
    )


def local_codec_keys(settings: Settings) -> Any:
    """The payload keys: ``KHUYENCONG_CODEC_KEYS`` / ``_FILE`` when set; otherwise, next to a
    local ``khuyencong dev`` stack (no database URL), the keys it generated in its data
    folder, so the admin tool reads what the dev worker encrypts. None: the environment's
    keys (or none) as every client."""
    from khuyencong.codec import DEV_KEYS_FILE, CodecKeys

    keys = CodecKeys.from_settings(settings)
    if keys is None and settings.database_url is None:
        path = settings.data_dir / DEV_KEYS_FILE
        if path.is_file():
            keys = CodecKeys.from_file(path)
    return keys


def _refusal(refusal: Refusal) -> ActionRefused:
    return ActionRefused.of(refusal.code, refusal.message, refusal.field, refusal.legal_basis)


class AdminClient:
    """Officials, đề án and their actions, over a Temporal client and an asyncpg pool."""

    def __init__(
        self,
        client: Client,
        pool: Any,
        *,
        task_queue: str,
        ui_url: str = "http://127.0.0.1:8233",
        concurrency: int = 8,
        hash_key: bytes | None = None,
    ) -> None:
        self.client = client
        self.pool = pool
        self.task_queue = task_queue
        self.ui_url = ui_url
        self.concurrency = concurrency
        self.hash_key = hash_key
        """Key of ``KcTaxCodeHash`` for the đề án this tool registers (as the starter's)."""
        self._proven: set[str] = set()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[AdminClient]:
        """Connect to Temporal and PostgreSQL as ``settings`` say (the embedded PostgreSQL of
        ``khuyencong dev`` when no database URL is set). The schema must be current: one
        that is behind stops with :class:`~khuyencong.database.SchemaBehind`, which names
        ``khuyencong migrate`` (the worker and the dev stack apply migrations at start-up).

        Both connections are made at once (the Temporal one while the pool opens and checks
        the schema with one query); a database problem is reported before a Temporal one."""
        from khuyencong.client import connect
        from khuyencong.database import open_database
        from khuyencong.search_attributes import tax_code_hash_key

        connecting = asyncio.ensure_future(connect(settings, codec_keys=local_codec_keys(settings)))
        try:
            async with open_database(settings, migrate=False, min_size=1, max_size=4) as pool:
                client = await connecting
                yield cls(
                    client,
                    pool,
                    task_queue=settings.task_queue,
                    ui_url=settings.ui_url,
                    hash_key=tax_code_hash_key(settings),
                )
        finally:
            if not connecting.done():
                connecting.cancel()
                with contextlib.suppress(BaseException):
                    await connecting
            elif not connecting.cancelled():
                connecting.exception()  # retrieved: a failure behind a database one is quiet

    @property
    def namespace(self) -> str:
        return self.client.namespace

    def ui_link(self, workflow_id: str) -> str:
        return ui_url_for(self.ui_url, self.namespace, workflow_id)

    # --- officials ----------------------------------------------------------------------

    async def add_official(self, official: OfficialIn) -> Official:
        try:
            row = await self.pool.fetchrow(
                sql.INSERT_OFFICIAL,
                official.id,
                official.full_name,
                official.organisation,
                official.role.value,
                official.province,
            )
        except Exception as exc:  # asyncpg.UniqueViolationError, without importing asyncpg
            if type(exc).__name__ == "UniqueViolationError":
                raise BadInput(f"mã cán bộ {official.id} đã có trong danh sách") from None
            raise
        return _official(row)

    async def get_official(self, official_id: str) -> Official:
        row = await self.pool.fetchrow(sql.SELECT_OFFICIAL, official_id.strip())
        if row is None:
            raise NotFound(f"không có cán bộ mã {official_id}")
        return _official(row)

    async def list_officials(
        self,
        *,
        role: Role | None = None,
        province: str | None = None,
        include_inactive: bool = False,
    ) -> list[Official]:
        rows = await self.pool.fetch(
            sql.LIST_OFFICIALS, role.value if role else None, include_inactive
        )
        officials = [_official(r) for r in rows]
        if province is not None:
            key = province_key(province)
            officials = [o for o in officials if province_key(o.province or "") == key]
        return officials

    async def acting(self, official_id: str) -> Actor:
        """The official who acts, as every action carries them. Refuses an unknown official
        (:class:`NotFound`) and an inactive one (``InactiveOfficial``)."""
        official = await self.get_official(official_id)
        if not official.active:
            raise ActionRefused.of(
                RefusalCode.INACTIVE_OFFICIAL,
                f"{official.full_name} ({official.id}) đã bị vô hiệu hoá"
                + (f" ngày {official.deactivated_at:%d/%m/%Y}" if official.deactivated_at else "")
                + ", không được thao tác",
                "actor.official_id",
            )
        return official.as_actor()

    async def authenticate(self, official_id: str, password: str) -> Actor:
        """Check ``password`` and return the official as they act; from now on this client
        signs their updates. Unknown (:class:`NotFound`), wrong or unset password
        (``IdentityNotProven``), deactivated (``InactiveOfficial``): refused."""
        actor = await self.acting(official_id)
        if not await credentials.check_password(self.pool, actor.official_id, password):
            raise ActionRefused.of(
                RefusalCode.IDENTITY_NOT_PROVEN,
                f"mật khẩu của {actor.official_id} không đúng, hoặc chưa được đặt "
                "(quản trị viên: khuyencong officials set-password)",
                "password",
            )
        self._proven.add(actor.official_id)
        return actor

    async def authenticate_trusted(self, official_id: str) -> Actor:
        """The official as they act, authenticated by a trusted front instead of a password
        (the web desk's single sign-on header, set by the reverse proxy its settings name);
        from now on this client signs their updates. Unknown (:class:`NotFound`) and
        deactivated (``InactiveOfficial``) officials are refused as by :meth:`authenticate`."""
        actor = await self.acting(official_id)
        self._proven.add(actor.official_id)
        return actor

    def is_proven(self, official_id: str) -> bool:
        return official_id in self._proven

    async def set_password(self, official_id: str, password: str, *, set_by: str = "") -> None:
        """An administrator sets (or resets) an official's password."""
        official = await self.get_official(official_id)
        try:
            await credentials.set_password(self.pool, official.id, password, set_by=set_by)
        except credentials.WeakPassword as exc:
            raise BadInput(str(exc), [("password", str(exc))]) from None

    async def update_official(self, official_id: str, **changes: Any) -> Official:
        """Change an active official's name, organisation, role or province (a transfer).
        The history keeps who they were when they acted; four-eyes follows the person."""
        current = await self.get_official(official_id)
        if not current.active:
            raise ActionRefused.of(
                RefusalCode.INACTIVE_OFFICIAL,
                f"{current.full_name} ({current.id}) đã bị vô hiệu hoá, không sửa được",
                "id",
            )
        unknown = set(changes) - {"full_name", "organisation", "role", "province"}
        if unknown:
            raise BadInput(f"không sửa được: {', '.join(sorted(unknown))}")
        merged = {
            "id": current.id,
            "full_name": current.full_name,
            "organisation": current.organisation,
            "role": current.role,
            "province": current.province,
            **changes,
        }
        try:
            wanted = OfficialIn.model_validate(merged)
        except ValidationError as exc:
            raise BadInput.from_validation(exc, "thông tin cán bộ") from None
        row = await self.pool.fetchrow(
            sql.UPDATE_OFFICIAL,
            wanted.id,
            wanted.full_name,
            wanted.organisation,
            wanted.role.value,
            wanted.province,
        )
        return _official(row)

    async def deactivate_official(
        self, official_id: str, *, reason: str = "", on: date | None = None
    ) -> DeactivationReport:
        """Deactivate in the register, then signal ``official_deactivated`` to every open
        đề án, so the workflows refuse the official whatever client they use."""
        row = await self.pool.fetchrow(sql.DEACTIVATE_OFFICIAL, official_id.strip(), reason)
        if row is None:
            raise NotFound(f"không có cán bộ mã {official_id}")
        official = _official(row)
        notice = DeAnOfficialDeactivated(
            official_id=official.id,
            deactivated_on=on or vn_date(official.deactivated_at or datetime.now().astimezone()),
            reason=reason[:500],
        )
        workflow_ids = [r["workflow_id"] for r in await self.pool.fetch(sql.OPEN_WORKFLOWS)]
        semaphore = asyncio.Semaphore(self.concurrency * 2)

        async def tell(workflow_id: str) -> bool:
            async with semaphore:
                try:
                    await self.client.get_workflow_handle(workflow_id).signal(
                        DEACTIVATED_SIGNAL, notice
                    )
                except RPCError as exc:
                    if exc.status == RPCStatusCode.NOT_FOUND:
                        return False
                    raise
                return True

        told = await asyncio.gather(*(tell(w) for w in workflow_ids))
        return DeactivationReport(
            official=official,
            signalled=[w for w, ok in zip(workflow_ids, told, strict=True) if ok],
            skipped=[w for w, ok in zip(workflow_ids, told, strict=True) if not ok],
        )

    # --- reading đề án ------------------------------------------------------------------

    async def row(self, code: str) -> DeAnRow | None:
        found = await self.pool.fetchrow(sql.SELECT_DE_AN, normalise_code(code))
        return None if found is None else _de_an_row(found)

    async def list_de_an(self, search: DeAnFilter | None = None) -> Page:
        search = search or DeAnFilter()
        where: list[str] = []
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if search.year is not None:
            where.append(f"plan_year = {arg(search.year)}")
        if search.level is not None:
            where.append(f"level = {arg(search.level)}")
        if search.province is not None:
            names = await self._province_names(search.province)
            where.append(f"province = ANY({arg(names)}::text[])")
        if search.district is not None:
            where.append(f"lower(district) = lower({arg(search.district.strip())})")
        if search.content_area is not None:
            where.append(f"content_area = {arg(search.content_area.strip())}")
        if search.stage:
            where.append(f"stage = ANY({arg([s.value for s in search.stage])}::text[])")
        if search.overdue is not None:
            where.append(f"overdue = {arg(search.overdue)}")
        if search.text:
            pattern = "%" + _escape_like(search.text.strip()) + "%"
            p = arg(pattern)
            where.append(f"(code ILIKE {p} OR title ILIKE {p} OR beneficiary_name ILIKE {p})")
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        total = await self.pool.fetchval(f"SELECT count(*) FROM de_an {clause}", *args)
        order = ", ".join(_order(key) for key in search.sort) + ", de_an_id"
        limit, offset = arg(search.page_size), arg((search.page - 1) * search.page_size)
        rows = await self.pool.fetch(
            f"{sql.SELECT_DE_AN_COLUMNS} {clause} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            *args,
        )
        return Page(
            items=[_de_an_row(r) for r in rows],
            total=int(total),
            page=search.page,
            page_size=search.page_size,
        )

    async def show(self, code: str) -> DeAnView:
        """Stage, money, deadlines (asked of the workflow), timeline and the UI link."""
        code = normalise_code(code)
        row = await self.row(code)
        if row is None:
            raise NotFound(f"không có đề án {code}")
        events = await self.pool.fetch(sql.SELECT_TIMELINE, code)
        missed = [
            DeadlineView(
                kind=r["deadline_kind"] or "",
                label=_deadline_label(r["deadline_kind"]),
                ref=r["ref"] or "",
                due_date=r["due_date"],
                citation=r["citation"] or "",
                missed=True,
                counting=_fixed_day(r["deadline_kind"]),
            )
            for r in await self.pool.fetch(sql.SELECT_MISSED_DEADLINES, code)
            if r["due_date"] is not None
        ]
        deadlines: list[DeadlineView] | None = []
        note: str | None = None
        if not row.stage.terminal:
            try:
                state = await self.state(code)
                # Every open deadline, those already past included (a step typed in after the
                # fact): the workflow records them as missed, the view says so at once.
                now = datetime.now().astimezone()
                recorded = {(m.kind, m.ref) for m in missed}
                deadlines = [
                    DeadlineView.of(d, missed=d.missed_at <= now)
                    for d in open_deadlines(state)
                    if (d.kind.value, d.ref) not in recorded
                ]
            except (RPCError, WorkflowQueryFailedError) as exc:
                deadlines = None
                note = f"không hỏi được thời hạn từ workflow (worker có đang chạy?): {exc}"
        return DeAnView(
            row=row,
            timeline=[_timeline_event(e) for e in events],
            deadlines=deadlines,
            missed_deadlines=missed,
            deadlines_note=note,
            ui_url=self.ui_link(row.workflow_id),
        )

    async def state(self, code: str) -> DeAnState:
        """The workflow's whole state (query ``state``; needs a running worker)."""
        handle = self.client.get_workflow_handle(workflow_id_for(normalise_code(code)))
        state: DeAnState = await handle.query(
            STATE_QUERY, result_type=DeAnState, rpc_timeout=QUERY_TIMEOUT
        )
        return state

    async def pending_deadlines(self, code: str) -> list[Deadline]:
        return pending_deadlines(await self.state(code))

    async def inbox(
        self, actor: Actor, *, include_optional: bool = False, today: date | None = None
    ) -> list[InboxItem]:
        """What waits for ``actor`` (role and jurisdiction), oldest first. See
        :mod:`khuyencong.admin.inbox` for the rules; ``include_optional`` also lists the
        discretionary actions (adjust, stop, visit, advance request)."""
        waiting = await self._waiting(actor, include_optional=include_optional, today=today)
        return [_inbox_item(row, actions) for row, actions in waiting]

    async def inbox_page(
        self,
        actor: Actor,
        *,
        page: int = 1,
        size: int = 100,
        include_optional: bool = False,
        today: date | None = None,
    ) -> InboxPage:
        """Page ``page`` (from 1; past the end: the last) of :meth:`inbox`, ``size`` đề án a
        page, with the whole inbox's counts. The rules run over every open đề án (the counts
        need them); only the page's items are built."""
        waiting = await self._waiting(actor, include_optional=include_optional, today=today)
        pages = max(1, -(-len(waiting) // size))
        page = min(pages, max(1, page))
        shown = waiting[(page - 1) * size : page * size]
        return InboxPage.model_construct(
            items=[_inbox_item(row, actions) for row, actions in shown],
            total=len(waiting),
            overdue=sum(1 for row, _ in waiting if row["overdue"]),
            page=page,
            pages=pages,
        )

    async def _waiting(
        self, actor: Actor, *, include_optional: bool, today: date | None
    ) -> list[tuple[Mapping[str, Any], list[Action]]]:
        """The rows of the inbox view that wait for ``actor``, oldest first, with their
        actions."""
        today = today or vn_date(datetime.now().astimezone())
        # Only the (level, stage) pairs where the role may act at all: the others wait for
        # nobody of that role (derived from the catalogue, see inbox.acting_stages).
        pairs = sorted(f"{level}:{stage}" for level, stage in acting_stages(actor.role))
        if actor.province and actor.role not in CENTRAL_ROLES:
            # Its own province's đề án, and those of the provinces it succeeded (after
            # 1/7/2025, Bắc Ninh answers for Bắc Giang's still open).
            names: list[str] = []
            for province in [actor.province, *SHIPPED_UNITS.predecessors(actor.province, today)]:
                names += await self._province_names(province)
            rows = await self.pool.fetch(sql.INBOX_IN_PROVINCES, pairs, names)
        else:
            rows = await self.pool.fetch(sql.INBOX_ALL, pairs)
        rules = InboxRules(actor, today, include_optional=include_optional)
        waiting: list[tuple[Mapping[str, Any], list[Action]]] = []
        for row in rows:
            actions = rules.waiting(OpenDeAn.from_row(row))
            if actions:
                waiting.append((row, actions))
        return waiting

    # --- acting -------------------------------------------------------------------------

    async def register(
        self, actor: Actor, dossier: DeAnDossier, registered_on: date | None = None
    ) -> RegisterResult:
        """Register the đề án and answer once the registration is recorded
        (:func:`khuyencong.registration.register_and_wait`: the same workflow ID, search
        attributes, signed start and policy as the starter, in one update-with-start request,
        no polling). The same registration made before is left alone (``existing``); a code
        registered with another dossier is refused (``Duplicate``); a registration the
        workflow refuses is reported with its type (``IdentityNotProven``, ``NotStored``...),
        and its code may be registered again."""
        from khuyencong.registration import (
            Outcome,
            RegistrationEntry,
            RegistrationRefused,
            register_and_wait,
        )

        if actor.official_id not in self._proven:
            raise ActionRefused.of(
                RefusalCode.IDENTITY_NOT_PROVEN,
                f"{actor.official_id} chưa đăng nhập (mật khẩu) trong công cụ này; không gửi gì",
                "actor.official_id",
            )
        try:
            check_registration(dossier, actor)  # the workflow's own rule, answered at once
        except Refusal as refusal:
            raise _refusal(refusal) from None
        entry = RegistrationEntry(dossier=dossier, registered_by=actor, registered_on=registered_on)
        # Signed for the official whose password this tool checked (the worker verifies it,
        # with the register, before anything is stored: verify_registration).
        try:
            answer = await register_and_wait(
                self.client,
                self.task_queue,
                entry,
                hash_key=self.hash_key,
                timeout=REGISTRATION_TIMEOUT,
            )
        except RegistrationRefused as refused:
            raise ActionRefused.from_application_error(refused.error) from None
        if answer.outcome is Outcome.DUPLICATE:
            raise ActionRefused.of(RefusalCode.DUPLICATE, answer.message, "dossier.code")
        assert answer.registration is not None
        status = "started" if answer.outcome is Outcome.STARTED else "existing"
        message = (
            f"Đã đăng ký đề án {dossier.code}"
            if status == "started"
            else f"Đề án {dossier.code} đã được đăng ký trước đó; không đăng ký lại"
        )
        stage = answer.registration.stage
        return RegisterResult(
            code=dossier.code,
            workflow_id=entry.workflow_id,
            status=status,
            stage=stage,
            stage_label=stage.label,
            message=message,
        )

    async def act(self, code: str, command: DeAnCommand) -> ActionOutcome:
        """Send ``command`` to đề án ``code`` as the update its type names (the catalogue,
        :func:`workflows.de_an_actions.for_command`: a ``DeAnSettle`` is ``settle``)."""
        try:
            definition = for_command(command)
        except TypeError:
            raise BadInput(
                f"«{type(command).__name__}» không phải một thao tác gửi tới đề án"
            ) from None
        action = definition.action
        code = normalise_code(code)
        ordinal = await self._ordinal(code, definition)
        official_id = command.actor.official_id
        if official_id not in self._proven:
            raise ActionRefused.of(
                RefusalCode.IDENTITY_NOT_PROVEN,
                f"{official_id} chưa đăng nhập (mật khẩu) trong công cụ này; không gửi gì",
                "actor.official_id",
            )
        handle = self.client.get_workflow_handle(workflow_id_for(code))
        try:
            update_id = await self._update_id(handle, update_id_for(code, action, command, ordinal))
            result = await self._send(handle, definition.name, command, update_id)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            row = await self.row(code)
            if row is None:
                raise NotFound(f"không có đề án {code}") from None
            raise ActionRefused.of(
                RefusalCode.WRONG_STAGE,
                f"đề án {code} đã kết thúc («{row.stage.label}»), không thể «{action.label}»",
                "stage",
            ) from None
        return ActionOutcome(update_id=update_id, result=result)

    async def _ordinal(self, code: str, definition: ActionDefinition[Any]) -> int | None:
        """For an action without a paper of its own, how many of what it answers the event
        log holds (:attr:`~workflows.de_an_actions.ActionDefinition.answers`)."""
        answers = definition.answers
        if answers is None:
            return None
        query = sql.COUNT_ENTERED if isinstance(answers, Stage) else sql.COUNT_TAKEN
        return int(await self.pool.fetchval(query, code, answers.value) or 0)

    async def _update_id(self, handle: WorkflowHandle[Any, Any], base: str) -> str:
        """The ID to send an action under: the same command sent again after a lost answer
        must be the same update (Temporal answers it with the first outcome, nothing is
        applied twice), but one that was accepted and then refused (the plan's envelope, a
        write the database refused) must be judged afresh once the official tries again.

        So: ``base`` unless Temporal holds a failed outcome under it, then ``base:2``, … An
        attempt still in flight is waited for (it is this very action). A refusal by the
        validator leaves nothing under its ID, so it is simply sent again."""
        for attempt in range(1, MAX_ATTEMPT_IDS + 1):
            update_id = base if attempt == 1 else f"{base}:{attempt}"
            earlier = handle.get_update_handle(update_id, result_type=DeAnActionResult)
            try:
                await earlier.result()
            except WorkflowUpdateFailedError:
                continue  # accepted, then refused: a new attempt needs an ID of its own
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    return update_id  # never accepted under this ID
                raise
            return update_id  # done before: sending it again returns that answer
        raise BadInput(f"thao tác này đã bị từ chối {MAX_ATTEMPT_IDS} lần; hãy kiểm tra lại")

    async def _send(
        self,
        handle: WorkflowHandle[Any, Any],
        update: str,
        command: DeAnCommand,
        update_id: str,
    ) -> DeAnActionResult:
        """Send one update with a fresh statement for its official; give the worker's copy
        of the officials register a moment to catch up with a change just made."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + REGISTER_CATCH_UP_SECONDS
        pause = 0.05
        while True:
            try:
                with vouching(command.actor.official_id):
                    result = await execute_de_an_update(
                        handle, update, command, id=update_id, result_type=DeAnActionResult
                    )
                return result
            except WorkflowUpdateFailedError as failure:
                refused = ActionRefused.from_update_failure(failure)
                if refused.type not in _CATCH_UP or loop.time() + pause > give_up:
                    raise refused from None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def batch_decide(
        self,
        actor: Actor,
        *,
        decision_number: str,
        decision_date: date,
        signer: str,
        items: Sequence[BatchItem],
    ) -> list[BatchOutcome]:
        """One decision (``427/QĐ-UBND`` of a date) approving or rejecting a list of đề án.

        Every item is checked first (codes known, payloads valid): a bad item stops the batch
        before anything is sent (:class:`BadInput`). Then each item is sent on its own; the
        workflow refuses some (reported with their refusal), the rest go through."""
        if not items:
            raise BadInput("danh sách đề án của quyết định trống")
        codes = [normalise_code(i.code) for i in items]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise BadInput(f"đề án lặp lại trong quyết định: {', '.join(duplicates)}")
        rows = {
            r["de_an_id"]: r["requested_support"]
            for r in await self.pool.fetch(sql.SELECT_REQUESTED, codes)
        }
        unknown = [c for c in codes if c not in rows]
        if unknown:
            raise BadInput(f"không có đề án: {', '.join(unknown)}; không gửi đề án nào")
        commands: list[tuple[str, BatchVerdict, DeAnCommand]] = []
        problems: list[tuple[str, str]] = []
        for code, item in zip(codes, items, strict=True):
            try:
                if item.verdict is BatchVerdict.APPROVE:
                    amount = item.approved_support
                    command: DeAnCommand = DeAnApprove(
                        actor=actor,
                        decision_number=decision_number,
                        decision_date=decision_date,
                        signer=signer,
                        approved_support=rows[code] if amount is None else amount,
                        note=item.note,
                    )
                    commands.append((code, item.verdict, command))
                else:
                    command = DeAnReject(
                        actor=actor,
                        decision_number=decision_number,
                        decision_date=decision_date,
                        reason=item.reason,
                        note=item.note,
                    )
                    commands.append((code, item.verdict, command))
            except ValidationError as exc:
                for field, message in BadInput.from_validation(exc).problems:
                    problems.append((f"{code}.{field}", message))
        if problems:
            raise BadInput("quyết định có đề án không hợp lệ; không gửi đề án nào", problems)
        semaphore = asyncio.Semaphore(self.concurrency)

        async def send(code: str, verdict: BatchVerdict, command: DeAnCommand) -> BatchOutcome:
            async with semaphore:
                try:
                    outcome = await self.act(code, command)
                except ActionRefused as refused:
                    return BatchOutcome(
                        code=code, verdict=verdict, status="refused", refusal=refused.info
                    )
            return BatchOutcome(code=code, verdict=verdict, status="done", outcome=outcome)

        return list(await asyncio.gather(*(send(*c) for c in commands)))

    # --- helpers ------------------------------------------------------------------------

    async def _province_names(self, province: str) -> list[str]:
        """Provinces as the read model spells them that match ``province`` (case, accents
        and 'tỉnh' aside)."""
        key = province_key(province)
        names = [r["province"] for r in await self.pool.fetch(sql.DISTINCT_PROVINCES)]
        return [n for n in names if province_key(n) == key] or [province]


# --- row mapping -----------------------------------------------------------------------------


def _inbox_item(row: Mapping[str, Any], actions: list[Action]) -> InboxItem:
    # Our own values, already of the models' types: built, not validated again (the inbox
    # builds thousands).
    code = row["code"]
    stage = Stage(row["stage"])
    return InboxItem.model_construct(
        code=code,
        workflow_id=row["workflow_id"],
        title=row["title"],
        level=row["level"],
        province=row["province"],
        stage=stage,
        stage_label=stage.label,
        actions=[
            InboxAction.model_construct(action=a, label=a.label, command=cli_command(a, code))
            for a in actions
        ],
        waiting_since=row["waiting_since"],
        overdue=row["overdue"],
        payments_on_hold=row["payments_on_hold"],
        approved_support=row["approved_support"],
        paid=row["paid"],
    )


_ORDER_COLUMNS = {
    "code": "code",
    "year": "plan_year",
    "stage": "stage",
    "province": "province",
    "approved": "approved_support",
    "paid": "paid",
    "updated": "updated_at",
    "created": "created_at",
}


def _order(key: str) -> str:
    descending = key.startswith("-")
    column = _ORDER_COLUMNS[key.removeprefix("-")]
    return f"{column} {'DESC' if descending else 'ASC'}"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _official(row: Mapping[str, Any]) -> Official:
    """A row of ``officials`` (:data:`sql.OFFICIAL_COLUMNS`, the model's fields)."""
    return Official.model_validate({**dict(row), "role_label": Role(row["role"]).label})


def _de_an_row(row: Mapping[str, Any]) -> DeAnRow:
    """A row of ``de_an`` (:data:`sql.DE_AN_COLUMNS`, the model's fields) with what lists show
    beside it."""
    return DeAnRow.model_validate(
        {
            **dict(row),
            "stage_label": Stage(row["stage"]).label,
            "remaining": max(0, row["approved_support"] - row["paid"]),
        }
    )


def _timeline_event(row: Mapping[str, Any]) -> TimelineEvent:
    try:
        label = Action(row["action"]).label
    except ValueError:
        label = row["action"]
    return TimelineEvent(
        seq=row["seq"],
        occurred_at=row["occurred_at"],
        business_date=row["business_date"],
        action=row["action"],
        action_label=label,
        stage_from=row["stage_from"],
        stage_to=row["stage_to"],
        actor_official_id=row["actor_official_id"],
        actor_name=row["actor_name"],
        actor_role=row["actor_role"],
        actor_organisation=row["actor_organisation"],
        decision_number=row["decision_number"],
        summary=row["summary"],
    )


def _fixed_day(kind: str | None) -> str:
    """How a missed deadline of ``kind`` was counted, when its kind says (a fixed day); a
    period's days are the rule pack's (the pending deadlines carry them)."""
    fixed = {DeadlineKind.PROGRESS_REPORT.value, DeadlineKind.SETTLEMENT.value}
    return "ngày cố định" if kind in fixed else ""


def _deadline_label(kind: str | None) -> str:
    try:
        return DeadlineKind(kind or "").label
    except ValueError:
        return kind or "Thời hạn"
