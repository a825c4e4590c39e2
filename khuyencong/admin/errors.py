"""Errors of the admin client, and how a workflow refusal reads for people and scripts.

- :class:`ActionRefused`: a rule said no (the workflow's validator, or the officials register
  for an inactive official). Carries :class:`~khuyencong.admin.models.RefusalInfo`: the stable
  type (``WrongJurisdiction``, ...), the rule's name, the message, field and legal basis.
- :class:`BadInput`: what the user gave is malformed (caught before anything is sent).
- :class:`NotFound`: no such official or đề án.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.errors import RefusalCode
from khuyencong.admin.models import RefusalInfo

RULE_LABELS: dict[str, str] = {
    RefusalCode.WRONG_STAGE: "Sai giai đoạn của đề án",
    RefusalCode.WRONG_AUTHORITY: "Không đúng thẩm quyền (vai trò)",
    RefusalCode.WRONG_JURISDICTION: "Ngoài địa bàn quản lý",
    RefusalCode.CONFLICT_OF_INTEREST: "Xung đột lợi ích (thành viên hội đồng thẩm định)",
    RefusalCode.FOUR_EYES: "Nguyên tắc bốn mắt",
    RefusalCode.SUPPORT_OVER_CAP: "Vượt mức hỗ trợ tối đa",
    RefusalCode.SUPPORT_OVER_REQUEST: "Vượt kinh phí đề nghị hoặc phê duyệt",
    RefusalCode.COUNTERPART_TOO_LOW: "Vốn đối ứng không đủ",
    RefusalCode.ADVANCE_NOT_ALLOWED: "Chưa đủ điều kiện tạm ứng",
    RefusalCode.ADVANCE_OVER_LIMIT: "Vượt mức tạm ứng",
    RefusalCode.PAID_OVER_APPROVED: "Chi vượt kinh phí phê duyệt",
    RefusalCode.PAYMENTS_ON_HOLD: "Chi trả đang tạm dừng",
    RefusalCode.INVALID_FIELD: "Dữ liệu không hợp lệ",
    RefusalCode.DUPLICATE: "Đã ghi nhận trước đó",
    RefusalCode.NO_RULE_PACK: "Không có bộ quy tắc áp dụng",
    RefusalCode.INACTIVE_OFFICIAL: "Cán bộ đã bị vô hiệu hoá",
    RefusalCode.BUSY: "Đề án đang ghi nhận thao tác khác",
    RefusalCode.NOT_STORED: "Không ghi được vào cơ sở dữ liệu",
    RefusalCode.ADVANCE_LAPSED: "Đề nghị tạm ứng đã hết hiệu lực (đề án ngừng thực hiện)",
    RefusalCode.DECISION_NUMBER_REUSED: "Số quyết định đã dùng cho một quyết định khác",
    RefusalCode.IDENTITY_NOT_PROVEN: "Chưa chứng minh danh tính cán bộ",
    RefusalCode.IDENTITY_EXPIRED: "Chứng nhận danh tính hết hạn",
    RefusalCode.IDENTITY_MISMATCH: "Chứng nhận danh tính không khớp thao tác",
    RefusalCode.OFFICIAL_UNKNOWN: "Không có trong danh sách cán bộ",
    RefusalCode.INTAKE_CLOSED: "Hết hạn đăng ký vào kế hoạch",
    RefusalCode.ENVELOPE_EXCEEDED: "Vượt kinh phí còn lại của kế hoạch",
    RefusalCode.NOT_IN_PLAN: "Không có trong kế hoạch",
    RefusalCode.WRONG_PLAN: "Không thuộc kế hoạch này",
    RefusalCode.ALREADY_DECIDED: "Đã có quyết định",
    RefusalCode.COMMITMENT_CLOSED: "Đề án đã quyết toán hoặc kết thúc trong kế hoạch",
    RefusalCode.PLAN_CLOSED: "Kế hoạch đã kết thúc",
    RefusalCode.PLAN_UNAVAILABLE: "Kế hoạch chưa trả lời",
    RefusalCode.PLAN_REFUSED: "Kế hoạch không chấp nhận điều chỉnh kinh phí",
}
"""The name of each rule a refusal can cite, in Vietnamese (one per :class:`RefusalCode`)."""


def rule_label(code: str) -> str:
    return RULE_LABELS.get(code, code)


class AdminError(Exception):
    """Base of the admin client's errors."""


class NotFound(AdminError):
    """No such official or đề án."""


class BadInput(AdminError):
    """Input rejected before anything was sent; ``problems`` are ``(field, message)``."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)

    @classmethod
    def from_validation(cls, error: ValidationError, what: str = "dữ liệu") -> BadInput:
        problems = [
            (
                ".".join(str(p) for p in item["loc"]) or "(payload)",
                "bắt buộc" if item["type"] == "missing" else _message(item),
            )
            for item in error.errors(include_url=False)
        ]
        return cls(f"{what} không hợp lệ", problems)

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + ":\n" + "\n".join(f"  {f}: {m}" for f, m in self.problems)


def _message(item: Any) -> str:
    return str(item["msg"]).removeprefix("Value error, ")


class ActionRefused(AdminError):
    """A rule refused the action; nothing changed."""

    def __init__(self, info: RefusalInfo) -> None:
        self.info = info
        super().__init__(f"[{info.type}] {info.message}")

    @property
    def type(self) -> str:
        return self.info.type

    @classmethod
    def of(
        cls,
        code: str,
        message: str,
        field: str | None = None,
        legal_basis: str | None = None,
    ) -> ActionRefused:
        return cls(
            RefusalInfo(
                type=code,
                rule=rule_label(code),
                message=message,
                field=field,
                legal_basis=legal_basis,
            )
        )

    @classmethod
    def from_application_error(cls, error: ApplicationError) -> ActionRefused:
        """The workflow's refusal (``ApplicationError``: type = the rule's code, details =
        one dict per problem with code/message/field/legal_basis)."""
        code = error.type or "Refused"
        problems = [d for d in error.details if isinstance(d, dict)]
        first = problems[0] if problems else {}
        if code == RefusalCode.INVALID_FIELD and len(problems) > 1:
            message = "; ".join(f"{p.get('field')}: {p.get('message')}" for p in problems)
        else:
            message = str(first.get("message") or error.message)
        return cls(
            RefusalInfo(
                type=code,
                rule=rule_label(code),
                message=message,
                field=first.get("field"),
                legal_basis=first.get("legal_basis"),
                problems=problems if len(problems) > 1 else [],
            )
        )

    @classmethod
    def from_update_failure(cls, failure: WorkflowUpdateFailedError) -> ActionRefused:
        cause = failure.cause
        if isinstance(cause, ApplicationError):
            return cls.from_application_error(cause)
        return cls.of("Refused", str(cause or failure))
