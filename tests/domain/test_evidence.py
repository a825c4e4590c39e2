"""Which documents a step takes, and which files are accepted as evidence."""

from __future__ import annotations

import pytest

from domain.evidence import (
    STEPS_OF_KIND,
    DocumentKind,
    DocumentRefused,
    check_file,
    check_kind_fits,
    kinds_for,
)
from domain.stages import Action


def test_every_kind_of_the_issue_has_a_label_and_steps_it_belongs_to() -> None:
    assert {k.value for k in DocumentKind} == {
        "decision",
        "appraisal_minutes",
        "contract",
        "progress_report",
        "acceptance_minutes",
        "invoice",
        "payment_voucher",
    }
    assert all(STEPS_OF_KIND[k] and k.label for k in DocumentKind)
    assert kinds_for(Action.PAY_ADVANCE) == [DocumentKind.INVOICE, DocumentKind.PAYMENT_VOUCHER]
    assert kinds_for(Action.APPROVE) == [DocumentKind.DECISION]


def test_a_kind_on_a_step_it_does_not_belong_to_is_refused_with_the_rule() -> None:
    check_kind_fits(DocumentKind.CONTRACT, Action.SIGN_CONTRACT)
    with pytest.raises(DocumentRefused) as refused:
        check_kind_fits(DocumentKind.CONTRACT, Action.APPRAISE)
    assert refused.value.field == "kind"
    assert "appraisal_minutes" in str(refused.value) and "Luật Kế toán" in str(refused.value)


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        ("qd.pdf", b"%PDF-1.7\n", "application/pdf"),
        ("Anh.JPG", b"\xff\xd8\xff\xe0", "image/jpeg"),
        ("scan.png", b"\x89PNG\r\n\x1a\n", "image/png"),
        ("scan.tif", b"II*\x00", "image/tiff"),
    ],
)
def test_files_are_known_by_their_first_bytes(name: str, data: bytes, media_type: str) -> None:
    assert check_file(name, data).media_type == media_type


@pytest.mark.parametrize(
    ("name", "data", "max_bytes", "says"),
    [
        ("qd.pdf", b"", 100, "tệp rỗng"),
        ("qd.pdf", b"%PDF-" + b"x" * 100, 50, "vượt giới hạn"),
        ("qd.exe", b"MZ\x90\x00", 100, "không phải PDF"),
        ("qd.png", b"%PDF-1.7", 100, "không khớp nội dung"),
        ("qd", b"%PDF-1.7", 100, "không khớp nội dung"),
    ],
)
def test_empty_large_unknown_or_misnamed_files_are_refused(
    name: str, data: bytes, max_bytes: int, says: str
) -> None:
    with pytest.raises(DocumentRefused) as refused:
        check_file(name, data, max_bytes)
    assert says in str(refused.value) and refused.value.field == "file"
