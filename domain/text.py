"""Text as it enters: Unicode NFC, no NUL.

Vietnamese can be typed precomposed (NFC: ``ũ`` is one code point) or decomposed (NFD: ``u`` +
combining tilde), and both look the same on screen. Stored as given, ``Yên Dũng`` typed one way
would not find ``Yên Dũng`` typed the other. Every text field that enters the system is
therefore normalised to NFC by :data:`Text` (contract models, CLI inputs, search filters), and
the read model was normalised once by ``migrations/0006_nfc_text.sql``.

A NUL character cannot be stored in PostgreSQL ``text`` or ``jsonb``: it is refused here, where
the field can still be named, rather than by the database after the workflow accepted it.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Final, Literal

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

NORMAL_FORM: Final[Literal["NFC"]] = "NFC"


def nfc(text: str) -> str:
    """``text`` in Unicode NFC (what PostgreSQL's ``normalize(text, NFC)`` gives)."""
    return unicodedata.normalize(NORMAL_FORM, text)


def _entered_text(value: object) -> object:
    """Before pydantic checks a text field (so lengths count NFC characters)."""
    if not isinstance(value, str):
        return value  # pydantic refuses it with its own message
    if "\x00" in value:
        raise PydanticCustomError(
            "text_nul",
            "văn bản chứa ký tự NUL (\\x00), không lưu được; hãy gõ lại hoặc dán không kèm "
            "ký tự điều khiển",
        )
    return nfc(value)


Text = Annotated[str, BeforeValidator(_entered_text)]
"""A text field as it enters: normalised to NFC, NUL refused. Constraints (``Field(min_length=
..., max_length=...)``) apply to the normalised text."""
