"""*Quyết định phê duyệt*: one decision number approving (or rejecting) many đề án, each with
its own verdict and amount, through :meth:`AdminClient.batch_decide` (as ``khuyencong de-an
approve-batch``). The list is typed (``MÃ`` or ``MÃ=KINH_PHÍ`` per line, as the CLI's
``--item``) or uploaded as the decision sheet (XLSX/CSV with the columns of
:mod:`khuyencong.plans.decision_file`, as ``plan decide --items``). Every item is checked first
(a bad one stops the batch, nothing sent); then each is sent and the workflow refuses some,
shown with their rule and legal basis.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from domain.model import Actor, Level
from domain.stages import Action
from domain.text import Text
from khuyencong.admin.client import normalise_code
from khuyencong.admin.errors import BadInput
from khuyencong.admin.inputs import validate_model
from khuyencong.admin.models import BatchItem, BatchOutcome, BatchVerdict
from khuyencong.web.fmt import parse_money
from workflows.de_an_actions import BY_ACTION
from workflows.plan_contract import Verdict

if TYPE_CHECKING:
    from khuyencong.web.app import Viewer, WebDesk

MAX_UPLOAD_BYTES = 2_000_000


class BatchHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_number: str = Field(min_length=1, max_length=60)
    decision_date: date
    signer: Text = Field(min_length=1, max_length=200)


def may_decide(actor: Actor) -> bool:
    """Whether the actor's role approves đề án at some level (UBND tỉnh, the Minister)."""
    approve = BY_ACTION[Action.APPROVE]
    roles = approve.roles_by_level(Level.DIA_PHUONG) | approve.roles_by_level(Level.QUOC_GIA)
    return actor.role in roles


def typed_items(text: str) -> list[BatchItem]:
    """``MÃ`` or ``MÃ=KINH_PHÍ`` per line (blank lines skipped)."""
    items: list[BatchItem] = []
    problems: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        code, _, amount = line.partition("=")
        data: dict[str, Any] = {"code": code.strip()}
        if amount.strip():
            digits = parse_money(amount)
            data["approved_support"] = int(digits) if digits.isdigit() else digits
        try:
            items.append(validate_model(BatchItem, data, what="danh sách"))
        except BadInput as bad:
            problems += [(f"items.{number}", f"dòng {number}: {m}") for _, m in bad.problems]
    if problems:
        raise BadInput("danh sách đề án không hợp lệ; không gửi đề án nào", problems)
    return items


async def sheet_items(upload: UploadFile) -> list[BatchItem]:
    """The decision sheet (XLSX/CSV, :mod:`khuyencong.plans.decision_file`)."""
    from khuyencong.plans.decision_file import DecisionListInvalid, load_decision_items

    name = upload.filename or "quyet-dinh.csv"
    suffix = Path(name).suffix.lower()
    if suffix not in {".xlsx", ".xlsm", ".csv"}:
        raise BadInput("tệp phải là .xlsx hoặc .csv", [("sheet", "tệp phải là .xlsx hoặc .csv")])
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadInput("tệp lớn quá 2 MB", [("sheet", "tệp lớn quá 2 MB")])
    with tempfile.TemporaryDirectory(prefix="kc-web-") as folder:
        path = Path(folder) / f"quyet-dinh{suffix}"
        path.write_bytes(data)
        try:
            rows = load_decision_items(path)
        except DecisionListInvalid as invalid:
            raise BadInput(
                "bảng quyết định có lỗi; không gửi đề án nào",
                [("sheet", str(e)) for e in invalid.errors],
            ) from None
    return [
        BatchItem(
            code=item.code,
            verdict=BatchVerdict.APPROVE
            if item.verdict is Verdict.APPROVE
            else BatchVerdict.REJECT,
            approved_support=item.approved_support,
            reason=item.reason,
        )
        for _, item in rows
    ]


async def batch_page(request: Request, desk: WebDesk, viewer: Viewer) -> Response:
    """``/quyet-dinh`` for a logged-in official (:func:`khuyencong.web.app.batch_route`)."""
    if not may_decide(viewer.actor):
        return desk.render(
            request,
            "error.html",
            {
                "title": "Không đúng thẩm quyền",
                "message": f"{viewer.actor.role.label} không ký quyết định phê duyệt đề án.",
            },
            viewer=viewer,
            status=403,
        )
    context: dict[str, Any] = {"values": {}, "problems": [], "outcomes": None, "header": None}
    if request.method == "GET":
        return desk.render(request, "batch.html", context, viewer=viewer)
    form = await request.form()
    await desk.check_csrf(request, form, viewer.session)
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    context["values"] = values
    outcomes: list[BatchOutcome] | None = None
    status = 200
    try:
        header = validate_model(
            BatchHeader,
            {k: values.get(k, "").strip() for k in ("decision_number", "decision_date", "signer")},
            what="quyết định",
        )
        upload = form.get("sheet")
        if isinstance(upload, UploadFile) and upload.filename:
            items = await sheet_items(upload)
        else:
            items = typed_items(values.get("items", ""))
        if not items:
            raise BadInput("danh sách trống", [("items", "ghi ít nhất một đề án, hoặc tải bảng")])
        hidden = []
        for item in items:
            row = await desk.admin.row(item.code)
            if row is None or not viewer.sees(row.province):
                hidden.append(normalise_code(item.code))
        if hidden:  # another province's đề án are not named, as if they did not exist
            raise BadInput(
                f"không có đề án: {', '.join(hidden)}; không gửi đề án nào",
                [("items", f"không có đề án: {', '.join(hidden)}")],
            )
        outcomes = await desk.admin.batch_decide(
            viewer.actor,
            decision_number=header.decision_number,
            decision_date=header.decision_date,
            signer=header.signer,
            items=items,
        )
        context["header"] = header
    except BadInput as bad:
        context["problems"] = list(bad.problems) or [("", str(bad))]
        status = 422
    context["outcomes"] = outcomes
    return desk.render(request, "batch.html", context, viewer=viewer, status=status)
