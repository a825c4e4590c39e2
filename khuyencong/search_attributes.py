"""The custom search attributes of a đề án: how operators and auditors find it in the UI.

=======================  ========  ================================================================
Name                     Type      Value
=======================  ========  ================================================================
``KcStage``              Keyword   Stage code: ``registered``, ``appraised``, ``in_progress``, …
``KcLevel``              Keyword   ``quoc_gia`` (national) or ``dia_phuong`` (provincial)
``KcProvince``           Keyword   Province, as written in the dossier (NFC): ``Bắc Giang``
``KcDistrict``           Keyword   District (huyện), when the dossier names one: ``Lục Ngạn``
``KcCommune``            Keyword   Commune / ward (xã / phường), when named: ``Xã Nam Dương``
``KcPlanYear``           Int       Plan year of the dossier: ``2019``
``KcContentArea``        Keyword   Content area number (NĐ 45/2012 Điều 4): ``"3"``
``KcApprovedSupport``    Int       Approved support in whole đồng (0 before approval)
``KcOverdue``            Bool      A deadline was missed and the đề án is not finished
``KcTaxCodeHash``        Keyword   Keyed hash of the beneficiary's tax code (never the tax code)
=======================  ========  ================================================================

**Nothing secret goes into a search attribute.** Search attributes are indexed in clear by
the visibility store and shown to every UI user; the payload codec does not touch them. A tax
code of a household business (hộ kinh doanh) is a personal ID number, so only
``HMAC-SHA256(KHUYENCONG_TAX_CODE_HASH_KEY, tax_code)`` (first 32 hex digits) is stored; a
plain hash of a 10- or 12-digit number could be reversed by trying them all. Without the key
the attribute is not set at all. ``khuyencong tax-code-hash 2400123456`` prints the query.

Every registration sets all of them at start (:mod:`khuyencong.registration`;
``KcTaxCodeHash`` only there: the workflow never sees the key); ``DeAnWorkflow`` upserts those that changed after every step.

On a real cluster register them once per namespace, before the workers of this version
start, with ``khuyencong search-attributes register`` (:func:`register_search_attributes`,
idempotent; ``khuyencong search-attributes list`` checks them); ``khuyencong dev`` registers
them when it starts the dev server (``temporal server start-dev --search-attribute
KcStage=Keyword …``).

Ready queries (Web UI → Workflows → filter, or ``temporal workflow list -q '…'``), each
tested in ``tests/workflows/test_de_an_visibility.py``::

    KcStage="appraised" AND KcLevel="quoc_gia" AND KcPlanYear=2019
    KcLevel="quoc_gia" AND KcPlanYear=2019 AND KcStage IN ("registered", "base_appraised", "appraised")
    KcOverdue=true AND KcProvince="Bắc Giang" AND KcStage="accepted"
    KcDistrict="Lục Ngạn"
    KcStage="in_progress" AND KcCommune="Xã Nam Dương"
    KcApprovedSupport >= 200000000
    KcContentArea="1" AND KcPlanYear=2019
    KcTaxCodeHash="…"            (the output of ``khuyencong tax-code-hash <mã số thuế>``)
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

if TYPE_CHECKING:
    from temporalio.client import Client

    from domain.model import DeAnDossier
    from khuyencong.settings import Settings
    from workflows.de_an_contract import DeAnState

KC_STAGE = SearchAttributeKey.for_keyword("KcStage")
KC_LEVEL = SearchAttributeKey.for_keyword("KcLevel")
KC_PROVINCE = SearchAttributeKey.for_keyword("KcProvince")
KC_DISTRICT = SearchAttributeKey.for_keyword("KcDistrict")
KC_COMMUNE = SearchAttributeKey.for_keyword("KcCommune")
KC_PLAN_YEAR = SearchAttributeKey.for_int("KcPlanYear")
KC_CONTENT_AREA = SearchAttributeKey.for_keyword("KcContentArea")
KC_APPROVED_SUPPORT = SearchAttributeKey.for_int("KcApprovedSupport")
KC_OVERDUE = SearchAttributeKey.for_bool("KcOverdue")
KC_TAX_CODE_HASH = SearchAttributeKey.for_keyword("KcTaxCodeHash")

ALL_KEYS: tuple[SearchAttributeKey[Any], ...] = (
    KC_STAGE,
    KC_LEVEL,
    KC_PROVINCE,
    KC_DISTRICT,
    KC_COMMUNE,
    KC_PLAN_YEAR,
    KC_CONTENT_AREA,
    KC_APPROVED_SUPPORT,
    KC_OVERDUE,
    KC_TAX_CODE_HASH,
)
"""Every custom search attribute of the project, as registered on each namespace."""

TAX_CODE_HASH_KEY_ENV = "KHUYENCONG_TAX_CODE_HASH_KEY"
TAX_CODE_HASH_KEY_FILE_ENV = "KHUYENCONG_TAX_CODE_HASH_KEY_FILE"

# Type names as the CLI (`--search-attribute Name=Type`) and the operator service spell them.
_CLI_TYPE = {
    "KEYWORD": "Keyword",
    "INT": "Int",
    "BOOL": "Bool",
    "TEXT": "Text",
    "DOUBLE": "Double",
    "DATETIME": "Datetime",
    "KEYWORD_LIST": "KeywordList",
}


def cli_type(key: SearchAttributeKey[Any]) -> str:
    """``Keyword``, ``Int``, ``Bool``: the type as ``temporal`` CLI flags spell it."""
    return _CLI_TYPE[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")]


def dev_server_args(keys: Sequence[SearchAttributeKey[Any]] = ALL_KEYS) -> list[str]:
    """``--search-attribute KcStage=Keyword …`` for ``temporal server start-dev``."""
    args: list[str] = []
    for key in keys:
        args += ["--search-attribute", f"{key.name}={cli_type(key)}"]
    return args


def _text(value: str) -> str:
    """Keywords match exactly: store composed Unicode (what keyboards and the UI send)."""
    return unicodedata.normalize("NFC", value.strip())


# --- values ----------------------------------------------------------------------------------


def dossier_values(dossier: DeAnDossier) -> dict[SearchAttributeKey[Any], Any]:
    """What the dossier alone says (None: not set)."""
    return {
        KC_LEVEL: dossier.level.value,
        KC_PROVINCE: _text(dossier.province),
        KC_DISTRICT: _text(dossier.district) if dossier.district else None,
        KC_COMMUNE: _text(dossier.commune) if dossier.commune else None,
        KC_PLAN_YEAR: dossier.plan_year,
        KC_CONTENT_AREA: dossier.content_area.value,
    }


def state_values(state: DeAnState) -> dict[SearchAttributeKey[Any], Any]:
    """Every attribute the workflow maintains, from its state (not ``KcTaxCodeHash``); the
    district and commune as the last change of site left them."""
    site = state.current_site
    return {
        KC_STAGE: state.stage.value,
        **dossier_values(state.dossier),
        KC_DISTRICT: _text(site.district) if site.district else None,
        KC_COMMUNE: _text(site.commune) if site.commune else None,
        KC_APPROVED_SUPPORT: state.approved_support,
        KC_OVERDUE: state.overdue,
    }


def changes(
    current: TypedSearchAttributes, wanted: Mapping[SearchAttributeKey[Any], Any]
) -> list[SearchAttributeUpdate[Any]]:
    """The updates that turn ``current`` into ``wanted`` (None: unset); [] when nothing moves."""
    updates: list[SearchAttributeUpdate[Any]] = []
    for key, value in wanted.items():
        if current.get(key) == value:  # None == None: absent and meant to be
            continue
        updates.append(key.value_unset() if value is None else key.value_set(value))
    return updates


def start_attributes(dossier: DeAnDossier, *, hash_key: bytes | None) -> TypedSearchAttributes:
    """Search attributes of a đề án at registration (stage ``registered``, nothing approved).

    ``hash_key`` (:func:`tax_code_hash_key`) None or empty: no ``KcTaxCodeHash``."""
    from domain.stages import Stage

    values: dict[SearchAttributeKey[Any], Any] = {
        KC_STAGE: Stage.REGISTERED.value,
        **dossier_values(dossier),
        KC_APPROVED_SUPPORT: 0,
        KC_OVERDUE: False,
    }
    if hash_key:
        values[KC_TAX_CODE_HASH] = tax_code_hash(dossier.beneficiary.tax_code, hash_key)
    pairs = [SearchAttributePair(k, v) for k, v in values.items() if v is not None]
    return TypedSearchAttributes(pairs)


# --- the tax code ----------------------------------------------------------------------------


def tax_code_hash_key(settings: Settings) -> bytes | None:
    """``KHUYENCONG_TAX_CODE_HASH_KEY`` (any string of 16 characters or more), else the
    content of the file ``KHUYENCONG_TAX_CODE_HASH_KEY_FILE``, or None."""
    inline = settings.tax_code_hash_key
    return read_tax_code_hash_key(
        None if inline is None else inline.get_secret_value(), settings.tax_code_hash_key_file
    )


def read_tax_code_hash_key(inline: str | None, path: Path | None) -> bytes | None:
    """The hash key given inline, else read from ``path``; None when neither is given."""
    from khuyencong.settings import SettingsError

    variable = TAX_CODE_HASH_KEY_ENV
    raw = (inline or "").strip()
    if not raw and path is not None:
        variable = TAX_CODE_HASH_KEY_FILE_ENV
        try:
            raw = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError([(variable, f"cannot read the file: {exc.strerror}")]) from None
    if not raw:
        return None
    if len(raw) < 16:
        raise SettingsError([(variable, "the key must be at least 16 characters")])
    return raw.encode("utf-8")


def tax_code_hash(tax_code: str, key: bytes) -> str:
    """``HMAC-SHA256(key, tax code)`` in 32 hex digits: the value of ``KcTaxCodeHash``.

    The key is a long-lived secret (a pepper), not an encryption key: changing it changes
    every hash, and closed workflows cannot be re-indexed, so it is not rotated."""
    normalized = "".join(ch for ch in tax_code if ch.isalnum() or ch == "-")
    return hmac.new(key, normalized.encode("ascii"), hashlib.sha256).hexdigest()[:32]


# --- registration ----------------------------------------------------------------------------


async def register_search_attributes(
    client: Client, namespace: str | None = None, keys: Sequence[SearchAttributeKey[Any]] = ALL_KEYS
) -> list[str]:
    """Add the project's search attributes to ``namespace`` (default: the client's) through
    the operator service. Idempotent: returns the names added now ([] when all existed).

    Works on a self-hosted cluster and on the time-skipping test server. (Temporal Cloud
    manages search attributes in its console or ``tcld``; the operator service refuses.)
    A name that exists with another type is an error, never silently accepted."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    namespace = namespace or client.namespace
    existing: dict[str, int] = {}
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        existing = dict(listed.custom_attributes)
    except RPCError as exc:
        # The time-skipping test server has no visibility and does not implement listing.
        if exc.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
    clashes = [
        f"{k.name} is {IndexedValueType.Name(IndexedValueType.ValueType(existing[k.name]))}, "
        f"expected {cli_type(k)}"
        for k in keys
        if k.name in existing and existing[k.name] != k.indexed_value_type
    ]
    if clashes:
        raise ValueError("search attributes registered with another type: " + "; ".join(clashes))
    missing = [k for k in keys if k.name not in existing]
    if not missing:
        return []
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={
                    k.name: IndexedValueType.ValueType(int(k.indexed_value_type)) for k in missing
                },
            )
        )
    except RPCError as exc:
        if exc.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
        # Another process registered them meanwhile (or a server without listing): fine.
    return [k.name for k in missing]
