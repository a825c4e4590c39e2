"""Evidence documents of a đề án: which kinds there are, which steps each belongs to, which
files are accepted. Pure: no I/O (the store and the database are khuyencong.audit's).

A document is attached to one recorded step (its event): the decision to the approval, the
minutes to the appraisal or the acceptance, invoices and vouchers to the payments... Its file
is kept by its SHA-256, which the chain of the đề án records (migration 0009).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.stages import Action

BASIS_DOSSIER = (
    "Thông tư 28/2018/TT-BTC (hồ sơ tạm ứng, thanh toán, quyết toán kinh phí khuyến công); "
    "Luật Kế toán 2015, Điều 41 (lưu trữ tài liệu kế toán)"
)
"""Why the papers behind each step are kept and shown to an inspector."""


class DocumentKind(StrEnum):
    DECISION = "decision"
    APPRAISAL_MINUTES = "appraisal_minutes"
    CONTRACT = "contract"
    PROGRESS_REPORT = "progress_report"
    ACCEPTANCE_MINUTES = "acceptance_minutes"
    INVOICE = "invoice"
    PAYMENT_VOUCHER = "payment_voucher"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS: dict[DocumentKind, str] = {
    DocumentKind.DECISION: "Quyết định",
    DocumentKind.APPRAISAL_MINUTES: "Biên bản thẩm định",
    DocumentKind.CONTRACT: "Hợp đồng",
    DocumentKind.PROGRESS_REPORT: "Báo cáo tiến độ",
    DocumentKind.ACCEPTANCE_MINUTES: "Biên bản nghiệm thu",
    DocumentKind.INVOICE: "Hoá đơn",
    DocumentKind.PAYMENT_VOUCHER: "Chứng từ chi (uỷ nhiệm chi, phiếu chi)",
}

_PAYMENTS = frozenset({Action.PAY_ADVANCE, Action.PAY_SETTLEMENT, Action.RECORD_REFUND})

STEPS_OF_KIND: dict[DocumentKind, frozenset[Action]] = {
    DocumentKind.DECISION: frozenset({Action.APPROVE, Action.REJECT, Action.ADJUST, Action.STOP}),
    DocumentKind.APPRAISAL_MINUTES: frozenset({Action.APPRAISE}),
    DocumentKind.CONTRACT: frozenset({Action.SIGN_CONTRACT}),
    DocumentKind.PROGRESS_REPORT: frozenset(
        {
            Action.REPORT_PROGRESS,
            Action.CONFIRM_PROGRESS,
            Action.RECORD_VISIT,
            Action.RESOLVE_FINDINGS,
        }
    ),
    DocumentKind.ACCEPTANCE_MINUTES: frozenset({Action.ACCEPT}),
    DocumentKind.INVOICE: frozenset(
        {
            Action.REQUEST_ADVANCE,
            Action.ACCEPT,
            Action.SUBMIT_SETTLEMENT_DOSSIER,
            Action.SETTLE,
            *_PAYMENTS,
        }
    ),
    DocumentKind.PAYMENT_VOUCHER: _PAYMENTS,
}
"""The steps a document of each kind may be attached to."""


@dataclass(frozen=True)
class FileType:
    media_type: str
    extensions: tuple[str, ...]
    magic: tuple[bytes, ...]


FILE_TYPES: tuple[FileType, ...] = (
    FileType("application/pdf", (".pdf",), (b"%PDF-",)),
    FileType("image/jpeg", (".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
    FileType("image/png", (".png",), (b"\x89PNG\r\n\x1a\n",)),
    FileType("image/tiff", (".tif", ".tiff"), (b"II*\x00", b"MM\x00*")),
)
"""Scans and signed PDFs: the types an inspector can open without special software, told by
their first bytes (the name's extension must agree)."""

DEFAULT_MAX_BYTES = 25 * 1024 * 1024


class DocumentRefused(ValueError):
    """A document that cannot be attached: the message names the field, the rule and the
    legal basis."""

    def __init__(self, message: str, field: str) -> None:
        self.field = field
        super().__init__(message)


def kinds_for(action: Action) -> list[DocumentKind]:
    return [kind for kind, steps in STEPS_OF_KIND.items() if action in steps]


def check_kind_fits(kind: DocumentKind, action: Action) -> None:
    """Refuse a document of ``kind`` attached to a step of ``action`` it does not belong to."""
    if action in STEPS_OF_KIND[kind]:
        return
    fitting = ", ".join(k.value for k in kinds_for(action)) or "không loại nào"
    raise DocumentRefused(
        f"kind: {kind.label} không thuộc bước «{action.label}» (bước này nhận: {fitting}). "
        f"Căn cứ: {BASIS_DOSSIER}",
        "kind",
    )


def check_file(name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> FileType:
    """The type of a file to attach, by its first bytes; refuses an empty or too large file,
    an unknown type, or a name whose extension says another type."""
    size = len(data)
    if size == 0:
        raise DocumentRefused("file: tệp rỗng, không có gì để lưu làm chứng cứ", "file")
    if size > max_bytes:
        raise DocumentRefused(
            f"file: tệp {size} byte vượt giới hạn {max_bytes} byte "
            "(KHUYENCONG_DOCUMENT_MAX_BYTES); quét lại ở độ phân giải thấp hơn hoặc tách tệp",
            "file",
        )
    found = next(
        (t for t in FILE_TYPES if any(data.startswith(m) for m in t.magic)),
        None,
    )
    accepted = ", ".join(ext for t in FILE_TYPES for ext in t.extensions)
    if found is None:
        raise DocumentRefused(
            f"file: {name} không phải PDF, JPEG, PNG hay TIFF (nhận: {accepted}); "
            f"chứng từ phải mở được để kiểm tra. Căn cứ: {BASIS_DOSSIER}",
            "file",
        )
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in found.extensions:
        raise DocumentRefused(
            f"file: tên {name} không khớp nội dung ({found.media_type}, đuôi "
            f"{'/'.join(found.extensions)})",
            "file",
        )
    return found
