"""*Kế hoạch* and *Báo cáo*: the plans (envelope, commitments, releases, decisions,
checkpoints, as ``khuyencong plan status``) and the reports per year, level, district and
content area (:mod:`khuyencong.plans.reports`, as ``khuyencong plan report``), with bar charts
and XLSX / CSV downloads. A provincial official sees their province's only.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from domain.model import Level
from khuyencong.plans import reports

if TYPE_CHECKING:
    from khuyencong.web.app import Viewer, WebDesk

LIST_PLANS = """
SELECT plan_id, province, level, year, envelope, intake_closes_on FROM plan
ORDER BY year DESC, province, level
"""

CHARTED = ("content_area", "district", "level", "stage")
"""The report's dimensions drawn as bars (approved and paid money), as a director shows them."""


async def plans_page(request: Request, desk: WebDesk, viewer: Viewer) -> Response:
    rows = [dict(r) for r in await desk.admin.pool.fetch(LIST_PLANS)]
    shown = [r for r in rows if viewer.sees(r["province"])]
    for r in shown:
        r["level_label"] = Level(r["level"]).label
    return desk.render(request, "plans.html", {"plans": shown}, viewer=viewer)


async def plan_page(request: Request, desk: WebDesk, viewer: Viewer) -> Response:
    from khuyencong.plans.service import plan_state
    from workflows import plan_rules

    plan_id = request.path_params["plan_id"]
    row = await desk.admin.pool.fetchrow(
        "SELECT plan_id, province FROM plan WHERE plan_id = $1", plan_id
    )
    if row is None or not viewer.sees(row["province"]):
        raise HTTPException(404, f"Không có kế hoạch {plan_id}.")
    context: dict[str, Any] = {"plan_id": plan_id, "state": None, "note": None}
    try:
        state = await plan_state(desk.admin.client.get_workflow_handle(plan_id))
    except (RPCError, WorkflowQueryFailedError) as exc:
        context["note"] = f"không hỏi được kế hoạch từ workflow (worker có đang chạy?): {exc}"
    else:
        committed = plan_rules.committed(state)
        context.update(
            state=state,
            committed=committed,
            released=plan_rules.released_total(state),
            available=state.config.envelope - committed,
            level_label=state.config.level.label,
            used_pct=round(100 * committed / state.config.envelope) if state.config.envelope else 0,
        )
    return desk.render(request, "plan.html", context, viewer=viewer)


def _years(request: Request) -> tuple[int, int, str | None]:
    this_year = date.today().year
    q = request.query_params

    def year(name: str, default: int) -> int:
        text = q.get(name, "").strip()
        if not text:
            return default
        if not text.isdigit() or not 2012 <= int(text) <= 2100:
            raise HTTPException(404, f"năm «{text}» không hợp lệ (2012–2100)")
        return int(text)

    first = year("tu", this_year - 1)
    last = year("den", max(first, this_year))
    level = q.get("cap", "").strip() or None
    if level is not None and level not in {lv.value for lv in Level}:
        raise HTTPException(404, f"cấp «{level}» không có")
    return first, max(first, last), level


async def _report(request: Request, desk: WebDesk, viewer: Viewer) -> reports.Report:
    first, last, level = _years(request)
    province = viewer.actor.province if viewer.provincial else None
    return await reports.build_report(desk.admin.pool, first, last, province=province, level=level)


def _bars(report: reports.Report, dimension: str) -> list[dict[str, Any]]:
    groups = report.groups.get(dimension, [])
    top = max((g.approved for g in groups), default=0) or 1
    return [
        {
            "label": reports.label(dimension, g.key),
            "de_an": g.de_an,
            "approved": g.approved,
            "paid": g.paid,
            "approved_pct": round(100 * g.approved / top, 1),
            "paid_pct": round(100 * g.paid / top, 1),
        }
        for g in groups
    ]


async def report_page(request: Request, desk: WebDesk, viewer: Viewer) -> Response:
    report = await _report(request, desk, viewer)
    charts = [(reports.DIMENSIONS[d], _bars(report, d)) for d in CHARTED]
    query = request.url.query
    return desk.render(
        request,
        "report.html",
        {
            "report": report,
            "charts": charts,
            "tables": reports.tables(report),
            "query": f"?{query}" if query else "",
            "levels": list(Level),
            "province": report.province,
        },
        viewer=viewer,
    )


async def report_download(request: Request, desk: WebDesk, viewer: Viewer) -> Response:
    kind = request.path_params["kind"]
    if kind not in {"xlsx", "csv"}:
        raise HTTPException(404, "chỉ có .xlsx hoặc .csv")
    report = await _report(request, desk, viewer)
    with tempfile.TemporaryDirectory(prefix="kc-web-") as folder:
        path = Path(folder) / f"bao-cao.{kind}"
        reports.export(report, path)
        data = path.read_bytes()
    media = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if kind == "xlsx"
        else "text/csv; charset=utf-8"
    )
    name = f"bao-cao-khuyen-cong-{report.first_year}-{report.last_year}.{kind}"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
