"""*Cán bộ*: the officials register for the administrators the settings name
(``KHUYENCONG_WEB_ADMINS``): every official with role, organisation, province and status,
and two actions of ``khuyencong officials``: deactivate (every open đề án is told, so the
workflows refuse them whatever client they use) and set a new password. Both go through the
same :class:`AdminClient` methods as the CLI.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from domain.deadlines import vn_date
from khuyencong.admin.errors import ActionRefused, BadInput, NotFound

if TYPE_CHECKING:
    from khuyencong.web.app import Viewer, WebDesk


def is_admin(desk: WebDesk, viewer: Viewer) -> bool:
    return viewer.actor.official_id in desk.settings.web_admin_ids


async def officials_page(request: Request, desk: WebDesk, viewer: Viewer) -> Response:
    if not is_admin(desk, viewer):
        raise HTTPException(403, "Chỉ quản trị viên (KHUYENCONG_WEB_ADMINS) quản lý cán bộ.")
    message = ""
    problem = ""
    status = 200
    if request.method == "POST":
        form = await request.form()
        await desk.check_csrf(request, form, viewer.session)
        official_id = str(form.get("official_id") or "").strip()
        what = str(form.get("what") or "")
        try:
            if what == "deactivate":
                report = await desk.admin.deactivate_official(
                    official_id,
                    reason=str(form.get("reason") or "")[:500],
                    on=vn_date(datetime.now().astimezone()),
                )
                message = (
                    f"Đã vô hiệu hoá {report.official.full_name} ({official_id}); "
                    f"đã báo {len(report.signalled)} đề án đang mở."
                )
            elif what == "password":
                await desk.admin.set_password(
                    official_id,
                    str(form.get("password") or ""),
                    set_by=f"web:{viewer.actor.official_id}",
                )
                message = f"Đã đặt mật khẩu mới cho {official_id}."
            else:
                raise BadInput("thao tác không có")
        except (BadInput, NotFound, ActionRefused) as exc:
            problem = str(exc.info.message) if isinstance(exc, ActionRefused) else str(exc)
            status = 422
        else:
            return RedirectResponse("/can-bo?" + _query(message), status_code=303)
    officials = await desk.admin.list_officials(include_inactive=True)
    context: dict[str, Any] = {
        "officials": officials,
        "message": message or request.query_params.get("da-xong", ""),
        "problem": problem,
    }
    return desk.render(request, "officials.html", context, viewer=viewer, status=status)


def _query(message: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"da-xong": message})
