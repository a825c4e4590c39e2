"""One decision number, one decision: the rule that ties đề án approved by the same paper.

A quyết định is identified by its number within the body that issues it and the year
(numbering restarts each year: Nghị định 30/2020/NĐ-CP on clerical work, Phụ lục I). The same
number may approve many đề án (a batch decision of the annual plan), but then it is the same
paper: same date, same signer. The register of decisions lives in PostgreSQL (one row per
number, across đề án); this module says what a number's key is and when a second use of it
contradicts the first. Pure: no Temporal, no database.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from domain.errors import Refusal, RefusalCode
from domain.model import Level
from domain.rules import province_key

BASIS_DECISION_NUMBER = (
    "Nghị định 30/2020/NĐ-CP về công tác văn thư, Phụ lục I: số của văn bản là số thứ tự đăng "
    "ký tại văn thư của cơ quan ban hành trong năm; một số, ký hiệu chỉ một văn bản"
)


@dataclass(frozen=True)
class DecisionFacts:
    """What identifies the paper of a decision as a step records it."""

    number: str
    decision_date: date
    signer: str | None = None
    de_an_id: str | None = None


def _text(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split())


def number_key(number: str) -> str:
    """``" 427/qđ-ubnd "`` → ``"427/QĐ-UBND"`` (Unicode NFC, spaces and case aside)."""
    return _text(number).replace(" ", "").upper()


def signer_key(signer: str | None) -> str | None:
    return None if signer is None or not signer.strip() else _text(signer).casefold()


def decision_scope(level: str | Level, province: str) -> str:
    """Who numbers the decision: the Ministry for national đề án, the province (its UBND and
    departments) for provincial ones. Two provinces may both issue a ``427/QĐ-UBND``."""
    if Level(level) is Level.QUOC_GIA:
        return Level.QUOC_GIA.value
    return f"{Level.DIA_PHUONG.value}:{province_key(province)}"


def check_same_decision(recorded: DecisionFacts, new: DecisionFacts) -> None:
    """Refuse ``new`` when it names the number of ``recorded`` with another date or signer
    (a signer unknown on either side is not compared)."""
    first = f" (đề án {recorded.de_an_id})" if recorded.de_an_id else ""
    if recorded.decision_date != new.decision_date:
        raise Refusal(
            RefusalCode.DECISION_NUMBER_REUSED,
            f"Quyết định {recorded.number} đã được ghi nhận với ngày "
            f"{recorded.decision_date:%d/%m/%Y}{first}; cùng số quyết định không thể mang ngày "
            f"{new.decision_date:%d/%m/%Y}. Kiểm tra lại số hoặc ngày quyết định",
            "decision_date",
            BASIS_DECISION_NUMBER,
        )
    old, now = signer_key(recorded.signer), signer_key(new.signer)
    if old is not None and now is not None and old != now:
        raise Refusal(
            RefusalCode.DECISION_NUMBER_REUSED,
            f"Quyết định {recorded.number} ngày {recorded.decision_date:%d/%m/%Y} đã được ghi "
            f"nhận do {recorded.signer} ký{first}; cùng quyết định không thể do {new.signer} "
            "ký. Kiểm tra lại số quyết định hoặc người ký",
            "signer",
            BASIS_DECISION_NUMBER,
        )
