"""*Đăng ký đề án*: the implementing unit registers a đề án from its dossier (JSON or YAML,
typed or uploaded: the file ``khuyencong de-an register --file`` takes) through
:meth:`AdminClient.register`, which starts its workflow signed for the official; the
registration rule (role, jurisdiction, money) is the workflow's, answered at once.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import yaml
from pydantic import BaseModel, ConfigDict
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from domain.model import DeAnDossier, Role
from khuyencong.admin.errors import ActionRefused, BadInput
from khuyencong.admin.inputs import validate_model

if TYPE_CHECKING:
    from khuyencong.web.app import Viewer, WebDesk

MAX_DOSSIER_BYTES = 500_000


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dossier: DeAnDossier
    registered_on: date | None = None


def registers(viewer: Viewer) -> bool:
    """Whether to offer the page in the menu (the centre registers; the rule decides)."""
    return viewer.actor.role is Role.TRUNG_TAM


async def _dossier_text(form: Any) -> str:
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_DOSSIER_BYTES + 1)
        if len(data) > MAX_DOSSIER_BYTES:
            raise BadInput("tệp lớn quá 500 KB", [("dossier", "tệp lớn quá 500 KB")])
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadInput("tệp không phải UTF-8", [("dossier", "tệp không phải UTF-8")]) from None
    return str(form.get("dossier") or "")


async def register_page(request: Request, desk: WebDesk, viewer: Viewer) -> Response:
    context: dict[str, Any] = {"values": {}, "problems": [], "refusal": None}
    if request.method == "GET":
        return desk.render(request, "register.html", context, viewer=viewer)
    form = await request.form()
    await desk.check_csrf(request, form, viewer.session)
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    context["values"] = values
    try:
        text = await _dossier_text(form)
        try:
            loaded = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise BadInput("hồ sơ không phải JSON/YAML", [("dossier", str(exc))]) from None
        if not isinstance(loaded, dict):
            raise BadInput("hồ sơ trống", [("dossier", "ghi các trường của hồ sơ đề án")])
        if "registered_by" in loaded or "actor" in loaded:
            raise BadInput("người đăng ký là cán bộ đang đăng nhập, không ghi trong hồ sơ")
        data: dict[str, Any] = loaded if "dossier" in loaded else {"dossier": loaded}
        if values.get("registered_on", "").strip():
            data["registered_on"] = values["registered_on"].strip()
        registration = validate_model(Registration, data, what="hồ sơ đề án")
        result = await desk.admin.register(
            viewer.actor, registration.dossier, registration.registered_on
        )
    except BadInput as bad:
        context["problems"] = list(bad.problems) or [("", str(bad))]
        return desk.render(request, "register.html", context, viewer=viewer, status=422)
    except ActionRefused as refused:
        context["refusal"] = refused.info
        return desk.render(request, "register.html", context, viewer=viewer, status=409)
    return RedirectResponse(
        f"/de-an/{result.code}?" + urlencode({"da-xong": "register"}), status_code=303
    )
