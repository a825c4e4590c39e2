"""The web desk's pages (Starlette, Jinja2 templates in ``templates/``).

=====================================  ========================================================
Page                                   What
=====================================  ========================================================
``/dang-nhap``, ``/dang-xuat``         Log in (password, or the SSO header), log out
``/viec-cho``                          Việc chờ: what waits for me, oldest first, overdue
                                       flagged, a button per action
``/de-an``                             Đề án: search and filters, paginated
``/de-an/{code}``                      One đề án: dossier, money, deadlines, timeline, the
                                       link to its history in the Temporal UI
``/de-an/{code}/thao-tac/{action}``    The form of one action; a refusal is shown on the field
                                       it names, with the rule and its legal basis
``/quyet-dinh``                        One decision approving many đề án (typed or uploaded
                                       XLSX/CSV), each refusal shown with its rule
``/dang-ky``                           Register a đề án from its dossier (JSON/YAML)
``/ke-hoach``, ``/ke-hoach/{plan_id}``  Plans: envelope, commitments, releases, decisions
``/bao-cao``                           Reports by year, level, district, content area, with
                                       charts; ``/bao-cao/tai-xuong.xlsx`` / ``.csv``
``/can-bo``                            The officials register, deactivation, passwords (for
                                       the administrators of ``KHUYENCONG_WEB_ADMINS``)
``/suc-khoe``                          Health: Temporal, PostgreSQL, a worker polling
=====================================  ========================================================

What an official sees follows their role and jurisdiction as the inbox does: a provincial
official sees their province's đề án only (another province's page answers 404), and an
action form their role can never send answers 403. Those only decide what to *show*; every
action is judged by the workflow's validators, through ``AdminClient.act``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import structlog
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from temporalio.service import RPCError

from db.web_logins import LoginMethod
from domain.model import CENTRAL_ROLES, Actor, ContentArea, DeAnDossier, Level, Role
from domain.rules import province_key
from domain.stages import Action, Stage, allowed_actions
from khuyencong.admin.client import AdminClient, normalise_code
from khuyencong.admin.errors import ActionRefused, BadInput, NotFound
from khuyencong.admin.inputs import validate_model
from khuyencong.admin.models import DeAnFilter, DeAnRow
from khuyencong.settings import Settings
from khuyencong.web import fmt, officials, plans, register
from khuyencong.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Authenticator,
    Session,
    SessionStore,
    Signer,
    session_secret,
)
from khuyencong.web.batch import batch_page, may_decide
from khuyencong.web.forms import build_form, typed_data
from workflows.de_an_actions import BY_ACTION, ActionDefinition

log = structlog.get_logger(__name__)

HERE = Path(__file__).parent
PAGE_SIZE = 20
INBOX_PAGE_SIZE = 100
HEALTH_TIMEOUT = 3.0

CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No script at all; inline styles only for the report's bar widths."""

HealthCheck = Callable[[], Awaitable[str]]
"""One check of the health page: returns a detail, raises when the part is not reachable."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in official of a request."""

    session: Session
    actor: Actor

    @property
    def provincial(self) -> bool:
        return bool(self.actor.province) and self.actor.role not in CENTRAL_ROLES

    def sees(self, province: str) -> bool:
        """The inbox's rule: a provincial official sees their province's đề án only."""
        if not self.provincial:
            return True
        return province_key(province) == province_key(self.actor.province or "")


class WebDesk:
    """The application's state: the admin client, sessions, login checks, templates."""

    def __init__(
        self,
        admin: AdminClient,
        settings: Settings,
        *,
        health_checks: dict[str, HealthCheck] | None = None,
    ) -> None:
        self.admin = admin
        self.settings = settings
        self.sessions = SessionStore(settings.web_session_minutes * 60)
        self.signer = Signer(session_secret(settings))
        self.auth = Authenticator(admin, settings)
        self.health_checks = health_checks or default_health_checks(admin, settings)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = self.templates.env
        env.filters["money"] = fmt.money
        env.filters["vn_date"] = fmt.vn_date
        env.filters["vn_datetime"] = fmt.vn_datetime
        env.globals["CSRF_FIELD"] = CSRF_FIELD

    # --- rendering ------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        viewer: Viewer | None = None,
        status: int = 200,
    ) -> Response:
        base = {
            "viewer": viewer,
            "csrf": viewer.session.csrf if viewer else "",
            "role_label": viewer.actor.role.label if viewer else "",
            "may_decide": bool(viewer) and may_decide(viewer.actor),  # type: ignore[union-attr]
            "registers": viewer is not None and register.registers(viewer),
            "is_admin": viewer is not None
            and viewer.actor.official_id in self.settings.web_admin_ids,
        }
        response = self.templates.TemplateResponse(
            request, template, {**base, **context}, status_code=status
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = CSP
        if viewer is not None and (
            self.signer.unsign(request.cookies.get(SESSION_COOKIE)) != viewer.session.id
        ):  # a session the SSO header just opened: the next requests carry it
            self.set_cookie(request, response, SESSION_COOKIE, viewer.session.id)
        return response

    def secure(self, request: Request) -> bool:
        return request.url.scheme == "https"

    def set_cookie(self, request: Request, response: Response, name: str, value: str) -> None:
        response.set_cookie(
            name,
            self.signer.sign(value),
            httponly=True,
            samesite="lax",
            secure=self.secure(request),
            path="/",
        )

    # --- who is asking ------------------------------------------------------------------------

    async def viewer(self, request: Request) -> Viewer | None:
        session = self.sessions.get(self.signer.unsign(request.cookies.get(SESSION_COOKIE)))
        if session is None:
            return None
        try:
            actor = await self.admin.acting(session.official_id)  # the register, as of now
        except (NotFound, ActionRefused):
            self.sessions.drop(session.id)  # deactivated (or removed) meanwhile
            return None
        if not self.admin.is_proven(actor.official_id):
            self.sessions.drop(session.id)
            return None
        return Viewer(session, actor)

    async def sso_viewer(self, request: Request) -> tuple[Viewer, Session] | None:
        header = self.settings.web_sso_header
        if not header:
            return None
        official_id = request.headers.get(header, "").strip()
        if not official_id:
            return None
        result = await self.auth.login_sso(
            official_id, remote=remote_of(request), agent=request.headers.get("user-agent", "")
        )
        if result.actor is None:
            raise HTTPException(403, result.message)
        session = self.sessions.new(result.actor.official_id, LoginMethod.SSO)
        return Viewer(session, result.actor), session

    async def check_csrf(self, request: Request, form: FormData, session: Session) -> None:
        token = str(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or "")
        if not token or not secrets.compare_digest(token, session.csrf):
            raise HTTPException(403, "Thiếu hoặc sai mã chống giả mạo (CSRF); tải lại trang.")


def remote_of(request: Request) -> str:
    return request.client.host if request.client else ""


def safe_next(target: str | None) -> str:
    """Only a path of this site (no ``//host`` or scheme) may follow the login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/viec-cho"


def desk_of(request: Request) -> WebDesk:
    desk: WebDesk = request.app.state.desk
    return desk


async def login_required(request: Request) -> Viewer | Response:
    desk = desk_of(request)
    viewer = await desk.viewer(request)
    header = desk.settings.web_sso_header
    named = request.headers.get(header, "").strip() if header else ""
    if viewer is not None and (not named or named == viewer.actor.official_id):
        return viewer
    if viewer is not None:  # the proxy now names someone else: their session, not this one
        desk.sessions.drop(viewer.session.id)
    found = await desk.sso_viewer(request)
    if found is not None:
        return found[0]
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/dang-nhap?" + urlencode({"next": target}), status_code=303)


# --- login ----------------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    desk = desk_of(request)
    if await desk.viewer(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return login_form(request, next_=request.query_params.get("next", ""))


def login_form(
    request: Request, *, next_: str = "", official_id: str = "", error: str = "", status: int = 200
) -> Response:
    desk = desk_of(request)
    token = secrets.token_urlsafe(24)
    response = desk.render(
        request,
        "login.html",
        {"login_csrf": token, "next": next_, "official_id": official_id, "error": error},
        status=status,
    )
    desk.set_cookie(request, response, LOGIN_CSRF_COOKIE, token)
    return response


async def login_submit(request: Request) -> Response:
    desk = desk_of(request)
    form = await request.form()
    expected = desk.signer.unsign(request.cookies.get(LOGIN_CSRF_COOKIE))
    given = str(form.get(CSRF_FIELD) or "")
    if not expected or not given or not secrets.compare_digest(expected, given):
        raise HTTPException(403, "Thiếu hoặc sai mã chống giả mạo (CSRF); tải lại trang.")
    official_id = str(form.get("official_id") or "").strip()
    password = str(form.get("password") or "")
    next_ = str(form.get("next") or "")
    result = await desk.auth.login(
        official_id,
        password,
        remote=remote_of(request),
        agent=request.headers.get("user-agent", ""),
    )
    if result.actor is None:
        return login_form(
            request, next_=next_, official_id=official_id, error=result.message, status=401
        )
    session = desk.sessions.new(result.actor.official_id, LoginMethod.PASSWORD)
    response = RedirectResponse(safe_next(next_), status_code=303)
    desk.set_cookie(request, response, SESSION_COOKIE, session.id)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


async def logout(request: Request) -> Response:
    desk = desk_of(request)
    viewer = await desk.viewer(request)
    response = RedirectResponse("/dang-nhap", status_code=303)
    if viewer is None:
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    await desk.check_csrf(request, await request.form(), viewer.session)
    desk.sessions.drop(viewer.session.id)
    await desk.auth.logout(
        viewer.session, remote=remote_of(request), agent=request.headers.get("user-agent", "")
    )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- pages ----------------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    return RedirectResponse("/viec-cho", status_code=303)


async def inbox_page(request: Request) -> Response:
    viewer = await login_required(request)
    if isinstance(viewer, Response):
        return viewer
    desk = desk_of(request)
    include_optional = request.query_params.get("tat-ca") == "1"
    number = request.query_params.get("trang", "1")
    # Oldest first; the rules run over the whole inbox (its counts), the page's items only
    # are built.
    inbox = await desk.admin.inbox_page(
        viewer.actor,
        page=int(number) if number.isdigit() and int(number) > 0 else 1,
        size=INBOX_PAGE_SIZE,
        include_optional=include_optional,
    )

    def page_link(n: int) -> str:
        return "/viec-cho?" + urlencode(
            {**({"tat-ca": "1"} if include_optional else {}), "trang": n}
        )

    response = desk.render(
        request,
        "inbox.html",
        {
            "items": inbox.items,
            "total": inbox.total,
            "overdue": inbox.overdue,
            "page": inbox.page,
            "pages": inbox.pages,
            "page_link": page_link,
            "include_optional": include_optional,
        },
        viewer=viewer,
    )
    return response


def _filter_from(request: Request, viewer: Viewer) -> tuple[DeAnFilter, dict[str, str], list[str]]:
    q = request.query_params
    given = {
        k: q.get(k, "").strip()
        for k in ("q", "year", "level", "district", "content_area", "stage", "overdue", "page")
    }
    problems: list[str] = []
    data: dict[str, Any] = {"page_size": PAGE_SIZE, "sort": ["-updated"]}
    if given["q"]:
        data["text"] = given["q"]
    if given["year"]:
        data["year"] = given["year"]
    if given["level"]:
        data["level"] = given["level"]
    if given["district"]:
        data["district"] = given["district"]
    if given["content_area"]:
        data["content_area"] = given["content_area"]
    if given["stage"]:
        data["stage"] = [given["stage"]]
    if given["overdue"] in {"1", "0"}:
        data["overdue"] = given["overdue"] == "1"
    if given["page"]:
        data["page"] = given["page"]
    if viewer.provincial:
        data["province"] = viewer.actor.province
    try:
        search = DeAnFilter.model_validate(data)
    except ValidationError as exc:
        problems = [p for _, p in BadInput.from_validation(exc, "bộ lọc").problems]
        search = DeAnFilter(page_size=PAGE_SIZE, sort=["-updated"], province=data.get("province"))
    return search, given, problems


async def list_page(request: Request) -> Response:
    viewer = await login_required(request)
    if isinstance(viewer, Response):
        return viewer
    desk = desk_of(request)
    search, given, problems = _filter_from(request, viewer)
    page = await desk.admin.list_de_an(search)

    def page_link(number: int) -> str:
        kept = {k: v for k, v in given.items() if v and k != "page"}
        return "/de-an?" + urlencode({**kept, "page": str(number)})

    response = desk.render(
        request,
        "list.html",
        {
            "page": page,
            "given": given,
            "problems": problems,
            "stages": list(Stage),
            "levels": list(Level),
            "content_areas": list(ContentArea),
            "page_link": page_link,
        },
        viewer=viewer,
    )
    return response


async def _visible_row(desk: WebDesk, viewer: Viewer, code: str) -> DeAnRow:
    row = await desk.admin.row(code)
    if row is None or not viewer.sees(row.province):
        # Another province's đề án: as if it did not exist.
        raise HTTPException(404, f"Không có đề án {normalise_code(code)}.")
    return row


def _jurisdiction(row: DeAnRow) -> DeAnDossier:
    fields: dict[str, Any] = {"level": Level(row.level), "province": row.province}
    return DeAnDossier.model_construct(**fields)


def _may_send(definition: ActionDefinition[Any], actor: Actor, row: DeAnRow) -> bool:
    """Whether the actor's role is among those who may ever send the action on this đề án
    (what the role × action matrix shows; the workflow still decides)."""
    dossier = _jurisdiction(row)
    group = DeAnDossier.model_construct(**{**dict(dossier), "group_project": True})
    return actor.role in definition.roles(dossier) | definition.roles(group)


def _actions_for(viewer: Viewer, row: DeAnRow) -> list[ActionDefinition[Any]]:
    if row.stage.terminal:
        return []
    found: list[ActionDefinition[Any]] = []
    for action in allowed_actions(row.stage):
        definition = BY_ACTION.get(action)
        if definition is None or definition in found:
            continue
        if viewer.actor.role in definition.roles(_jurisdiction(row), row.stage):
            found.append(definition)
    return found


async def de_an_page(request: Request) -> Response:
    viewer = await login_required(request)
    if isinstance(viewer, Response):
        return viewer
    desk = desk_of(request)
    row = await _visible_row(desk, viewer, request.path_params["code"])
    view = await desk.admin.show(row.code)
    done = request.query_params.get("da-xong")
    done_label = None
    if done:
        try:
            done_label = Action(done).label
        except ValueError:
            done_label = None
    role_labels = {r.value: r.label for r in Role}
    response = desk.render(
        request,
        "de_an.html",
        {
            "view": view,
            "row": view.row,
            "actions": _actions_for(viewer, view.row),
            "done_label": done_label,
            "role_labels": role_labels,
            "content_area_label": _content_area_label(view.row.content_area),
            "level_label": _level_label(view.row.level),
        },
        viewer=viewer,
    )
    return response


def _content_area_label(value: str) -> str:
    try:
        return f"{value}. {ContentArea(value).label}"
    except ValueError:
        return value


def _level_label(value: str) -> str:
    try:
        return Level(value).label
    except ValueError:
        return value


def _definition(name: str) -> ActionDefinition[Any]:
    try:
        return BY_ACTION[Action(name)]
    except (ValueError, KeyError):
        raise HTTPException(404, f"Không có thao tác «{name}».") from None


async def action_page(request: Request) -> Response:
    viewer = await login_required(request)
    if isinstance(viewer, Response):
        return viewer
    desk = desk_of(request)
    row = await _visible_row(desk, viewer, request.path_params["code"])
    definition = _definition(request.path_params["action"])
    if not _may_send(definition, viewer.actor, row):
        return desk.render(
            request,
            "error.html",
            {
                "title": "Không đúng thẩm quyền",
                "message": f"{viewer.actor.role.label} không thực hiện «{definition.label}» "
                f"đối với đề án {row.code} (bảng thẩm quyền: docs/officials.md).",
            },
            viewer=viewer,
            status=403,
        )
    if request.method == "GET":
        form = build_form(definition)
        return desk.render(
            request,
            "action.html",
            {"row": row, "form": form, "definition": definition, "refusal": None},
            viewer=viewer,
        )
    posted = await request.form()
    await desk.check_csrf(request, posted, viewer.session)
    values = {k: str(v) for k, v in posted.items() if k != CSRF_FIELD}
    refusal = None
    problems: list[tuple[str, str]] = []
    status = 422
    try:
        payload = validate_model(
            definition.command,
            {**typed_data(definition, posted), "actor": viewer.actor},
            what="dữ liệu thao tác",
        )
        await desk.admin.act(row.code, payload)
    except BadInput as bad:
        problems = list(bad.problems) or [("", str(bad))]
    except ActionRefused as refused:
        refusal = refused.info
        listed = refused.info.problems or [
            {"field": refused.info.field, "message": refused.info.message}
        ]
        problems = [(str(p.get("field") or ""), str(p.get("message") or "")) for p in listed]
    except NotFound as missing:
        raise HTTPException(404, str(missing)) from None
    except (RPCError, TimeoutError) as unreachable:
        log.warning("web action unanswered", code=row.code, action=definition.name)
        status = 503
        problems = [
            (
                "",
                "Temporal chưa trả lời (worker có đang chạy? xem Tình trạng hệ thống); "
                f"thao tác có thể chưa được ghi nhận, hãy xem lại đề án trước khi gửi lại: "
                f"{unreachable}",
            )
        ]
    else:
        log.info(
            "web action", code=row.code, action=definition.name, official=viewer.actor.official_id
        )
        return RedirectResponse(
            f"/de-an/{row.code}?" + urlencode({"da-xong": definition.name}), status_code=303
        )
    form = build_form(definition, values, problems)
    return desk.render(
        request,
        "action.html",
        {"row": row, "form": form, "definition": definition, "refusal": refusal},
        viewer=viewer,
        status=status if refusal is None else 409,
    )


async def batch_route(request: Request) -> Response:
    viewer = await login_required(request)
    if isinstance(viewer, Response):
        return viewer
    return await batch_page(request, desk_of(request), viewer)


def _logged_in(
    page: Callable[[Request, WebDesk, Viewer], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A page of :mod:`khuyencong.web.plans` (or another module) for a logged-in official."""

    async def route(request: Request) -> Response:
        viewer = await login_required(request)
        if isinstance(viewer, Response):
            return viewer
        return await page(request, desk_of(request), viewer)

    return route


# --- health ---------------------------------------------------------------------------------------


def default_health_checks(admin: AdminClient, settings: Settings) -> dict[str, HealthCheck]:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import (
        DescribeNamespaceRequest,
        DescribeTaskQueueRequest,
    )

    async def temporal() -> str:
        await admin.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=admin.namespace),
            timeout=timedelta(seconds=HEALTH_TIMEOUT),
        )
        return f"{settings.temporal_address}, namespace {admin.namespace}"

    async def postgres() -> str:
        version = await admin.pool.fetchval("SHOW server_version")
        return f"PostgreSQL {version}"

    async def worker() -> str:
        described = await admin.client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=admin.namespace,
                task_queue=TaskQueue(name=admin.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            ),
            timeout=timedelta(seconds=HEALTH_TIMEOUT),
        )
        pollers = list(described.pollers)
        if not pollers:
            raise RuntimeError(f"không có worker nào nhận việc trên hàng đợi {admin.task_queue}")
        return f"{len(pollers)} worker trên hàng đợi {admin.task_queue}"

    return {"Temporal": temporal, "PostgreSQL": postgres, "Worker": worker}


async def health_page(request: Request) -> Response:
    desk = desk_of(request)

    async def run(name: str, check: HealthCheck) -> tuple[str, bool, str]:
        try:
            detail = await asyncio.wait_for(check(), HEALTH_TIMEOUT + 1)
        except Exception as exc:  # a health page reports every failure as it is
            return name, False, f"{type(exc).__name__}: {exc}"[:300]
        return name, True, detail

    results = await asyncio.gather(*(run(n, c) for n, c in desk.health_checks.items()))
    healthy = all(ok for _, ok, _ in results)
    viewer = await desk.viewer(request)
    return desk.render(
        request,
        "health.html",
        {"results": results, "healthy": healthy, "checked_at": datetime.now().astimezone()},
        viewer=viewer,
        status=200 if healthy else 503,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    desk = desk_of(request)
    titles = {403: "Không được phép", 404: "Không tìm thấy", 405: "Không hỗ trợ"}
    viewer = await desk.viewer(request)
    return desk.render(
        request,
        "error.html",
        {"title": titles.get(exc.status_code, "Lỗi"), "message": exc.detail},
        viewer=viewer,
        status=exc.status_code,
    )


def create_app(
    admin: AdminClient,
    settings: Settings,
    *,
    health_checks: dict[str, HealthCheck] | None = None,
) -> Starlette:
    """The web desk on ``admin`` (an open :class:`AdminClient`)."""
    desk = WebDesk(admin, settings, health_checks=health_checks)
    routes = [
        Route("/", home),
        Route("/dang-nhap", login_page, methods=["GET"]),
        Route("/dang-nhap", login_submit, methods=["POST"]),
        Route("/dang-xuat", logout, methods=["POST"]),
        Route("/viec-cho", inbox_page),
        Route("/de-an", list_page),
        Route("/de-an/{code}", de_an_page),
        Route("/de-an/{code}/thao-tac/{action}", action_page, methods=["GET", "POST"]),
        Route("/quyet-dinh", batch_route, methods=["GET", "POST"]),
        Route("/dang-ky", _logged_in(register.register_page), methods=["GET", "POST"]),
        Route("/ke-hoach", _logged_in(plans.plans_page)),
        Route("/ke-hoach/{plan_id:path}", _logged_in(plans.plan_page)),
        Route("/bao-cao", _logged_in(plans.report_page)),
        Route("/bao-cao/tai-xuong.{kind}", _logged_in(plans.report_download)),
        Route("/can-bo", _logged_in(officials.officials_page), methods=["GET", "POST"]),
        Route("/suc-khoe", health_page),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.desk = desk
    return app
