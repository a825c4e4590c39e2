"""Rule packs: shipped caps and advance rules, effective dates, provinces and overrides."""

from __future__ import annotations

import json
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.model import Level
from domain.rules import (
    SHIPPED_PACK_DIR,
    AdvanceKind,
    RulePack,
    load_pack,
    load_packs,
    pack_in_force,
    packs_for,
    province_key,
    shared,
)
from domain.strict import UNKNOWN_FIELD

TT28 = "quoc-gia-tt-28-2018"
TTLT26 = "quoc-gia-ttlt-26-2014"
BAC_GIANG = "dia-phuong-bac-giang-vi-du"

PACKS = load_packs()
BY_ID = {p.id: p for p in PACKS}

# README §4: (item, TT 28/2018 cap, TTLT 26/2014 cap); None = no separate cap in 2014
CAP_TABLE: list[tuple[str, int, int | None]] = [
    ("demonstration_model", 1_000_000_000, 500_000_000),
    ("machinery", 300_000_000, 200_000_000),
    ("machinery_full_line", 450_000_000, None),
    ("typical_product_regional", 200_000_000, 100_000_000),
    ("typical_product_national", 400_000_000, 200_000_000),
    ("cluster_infrastructure", 6_000_000_000, 3_000_000_000),
]


def _unprefixed_key(name: str) -> str:
    """province_key without the prefix stripping (a leading word shields the prefix)."""
    return province_key("x " + name)[2:]


def _national() -> list[RulePack]:
    return packs_for(PACKS, Level.QUOC_GIA, "Bắc Giang")


def _pack_json(pack_id: str) -> dict[str, Any]:
    for path in SHIPPED_PACK_DIR.glob("*.json"):
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data["id"] == pack_id:
            return data
    raise LookupError(pack_id)


# --- shipped packs ------------------------------------------------------------------------


def test_the_three_shipped_packs_load() -> None:
    assert set(BY_ID) == {TT28, TTLT26, BAC_GIANG}
    assert len(PACKS) == 3


def test_every_shipped_file_is_a_valid_pack() -> None:
    files = sorted(SHIPPED_PACK_DIR.glob("*.json"))
    assert len(files) == 3
    assert {load_pack(f).id for f in files} == set(BY_ID)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_every_pack_and_item_cites_its_legal_basis(pack: RulePack) -> None:
    assert pack.citation.strip()
    assert pack.advance_ceiling_citation.strip()
    for key, item in pack.items.items():
        assert item.citation.strip(), key
        assert item.label.strip(), key
        assert item.advance.citation.strip(), key


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_every_pack_cites_its_deadlines(pack: RulePack) -> None:
    d = pack.deadlines
    for citation in (
        d.progress_report_citation,
        d.settlement_dossier_citation,
        d.settlement_citation,
    ):
        assert citation.strip()


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_every_pack_offers_the_same_support_items(pack: RulePack) -> None:
    assert set(pack.items) == set(BY_ID[TT28].items)


@pytest.mark.parametrize(("item", "cap_2018", "cap_2014"), CAP_TABLE)
def test_tt_28_2018_caps_follow_the_readme_table(
    item: str, cap_2018: int, cap_2014: int | None
) -> None:
    assert BY_ID[TT28].items[item].cap == cap_2018


@pytest.mark.parametrize(("item", "cap_2018", "cap_2014"), CAP_TABLE)
def test_ttlt_26_2014_caps_follow_the_readme_table(
    item: str, cap_2018: int, cap_2014: int | None
) -> None:
    rule = BY_ID[TTLT26].items[item]
    if cap_2014 is None:  # no full-line cap in 2014: the machinery cap applies
        assert rule.cap == BY_ID[TTLT26].items["machinery"].cap == 200_000_000
    else:
        assert rule.cap == cap_2014


@pytest.mark.parametrize(
    "item",
    [
        "demonstration_model",
        "typical_product_regional",
        "typical_product_national",
        "cluster_infrastructure",
    ],
)
def test_tt_28_2018_doubles_the_2014_caps(item: str) -> None:
    new, old = BY_ID[TT28].items[item].cap, BY_ID[TTLT26].items[item].cap
    assert new is not None and old is not None
    assert new == 2 * old


@pytest.mark.parametrize(("item", "rate_bp"), [("demonstration_model", 3000), ("machinery", 5000)])
@pytest.mark.parametrize("pack_id", [TT28, TTLT26])
def test_national_rates_follow_the_readme_table(pack_id: str, item: str, rate_bp: int) -> None:
    assert BY_ID[pack_id].items[item].rate_bp == rate_bp


@pytest.mark.parametrize("pack_id", [TT28, TTLT26])
def test_enterprise_setup_is_at_most_ten_million_in_both_national_packs(pack_id: str) -> None:
    assert BY_ID[pack_id].items["enterprise_setup"].cap == 10_000_000


@pytest.mark.parametrize("item", ["fair_abroad", "study_tour_air_tickets"])
@pytest.mark.parametrize("pack_id", [TT28, TTLT26])
def test_fairs_abroad_and_air_tickets_are_paid_in_full(pack_id: str, item: str) -> None:
    rule = BY_ID[pack_id].items[item]
    assert rule.rate_bp == 10_000
    assert rule.cap is None


@pytest.mark.parametrize("item", ["brand", "consulting"])
def test_brand_and_consulting_are_unconfirmed_for_2018_and_keep_the_2014_level(item: str) -> None:
    new, old = BY_ID[TT28].items[item], BY_ID[TTLT26].items[item]
    assert new.confirmed is False
    assert old.confirmed is True
    assert (new.rate_bp, new.cap) == (old.rate_bp, old.cap) == (5000, 35_000_000)


def test_the_confirmed_2018_items_are_all_but_brand_and_consulting() -> None:
    unconfirmed = {k for k, v in BY_ID[TT28].items.items() if not v.confirmed}
    assert unconfirmed == {"brand", "consulting"}


@pytest.mark.parametrize("pack_id", [TT28, TTLT26])
def test_national_advance_rules_follow_tt_36_2013(pack_id: str) -> None:
    items = BY_ID[pack_id].items
    for key in ("training", "consulting", "fair_domestic", "media"):
        assert items[key].advance.kind is AdvanceKind.ON_CONTRACT, key
        assert items[key].advance.max_bp == 7000, key
    for key in ("demonstration_model", "machinery", "machinery_full_line"):
        adv = items[key].advance
        assert (adv.kind, adv.max_bp, adv.progress_bp) == (AdvanceKind.AFTER_PROGRESS, 7000, 7000)
    cluster = items["cluster_infrastructure"].advance
    assert (cluster.kind, cluster.max_bp, cluster.progress_bp) == (
        AdvanceKind.AFTER_PROGRESS,
        3000,
        5000,
    )
    setup = items["enterprise_setup"].advance
    assert (setup.kind, setup.max_bp) == (AdvanceKind.AFTER_ACCEPTANCE, 10_000)
    assert BY_ID[pack_id].advance_ceiling_bp == 7000


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_advances_before_acceptance_stay_under_the_pack_ceiling(pack: RulePack) -> None:
    for key, item in pack.items.items():
        if item.advance.kind is not AdvanceKind.AFTER_ACCEPTANCE:
            assert item.advance.max_bp <= pack.advance_ceiling_bp, key


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_only_after_progress_rules_require_progress(pack: RulePack) -> None:
    for key, item in pack.items.items():
        if item.advance.kind is AdvanceKind.AFTER_PROGRESS:
            assert item.advance.progress_bp > 0, key
        else:
            assert item.advance.progress_bp == 0, key


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_shipped_deadlines_are_the_25th_15_days_and_22_january(pack: RulePack) -> None:
    d = pack.deadlines
    assert d.progress_report_day == 25
    assert d.settlement_dossier_days == 15
    assert (d.settlement_month, d.settlement_day) == (1, 22)


def test_the_national_packs_take_effect_on_their_legal_dates() -> None:
    assert BY_ID[TTLT26].effective_from == date(2014, 4, 8)
    assert BY_ID[TT28].effective_from == date(2018, 5, 11)
    assert BY_ID[TT28].level is BY_ID[TTLT26].level is Level.QUOC_GIA
    assert BY_ID[TT28].province is None


def test_the_bac_giang_pack_is_an_example_with_unconfirmed_values() -> None:
    pack = BY_ID[BAC_GIANG]
    assert pack.example is True
    assert pack.level is Level.DIA_PHUONG
    assert pack.province == "Bắc Giang"
    assert pack.note and "VÍ DỤ" in pack.note
    assert all(item.confirmed is False for item in pack.items.values())


@pytest.mark.parametrize("pack_id", [TT28, TTLT26])
def test_national_packs_are_adopted_law_not_examples(pack_id: str) -> None:
    assert BY_ID[pack_id].example is False


# --- an item's maximum support ------------------------------------------------------------


def test_machinery_support_under_tt_28_is_half_the_cost_up_to_300_million() -> None:
    machinery = BY_ID[TT28].items["machinery"]
    assert machinery.max_support(400_000_000) == 200_000_000
    assert machinery.max_support(1_000_000_000) == 300_000_000


def test_the_same_machine_got_less_support_under_ttlt_26_2014() -> None:
    assert BY_ID[TTLT26].items["machinery"].max_support(1_000_000_000) == 200_000_000


def test_training_has_no_cap() -> None:
    assert BY_ID[TT28].items["training"].max_support(12_345_678_901) == 12_345_678_901


@given(cost=st.integers(min_value=0, max_value=10**13))
def test_no_item_ever_allows_more_than_its_cap_or_its_rate(cost: int) -> None:
    for pack in PACKS:
        for item in pack.items.values():
            support = item.max_support(cost)
            assert support * 10_000 <= cost * item.rate_bp
            if item.cap is not None:
                assert support <= item.cap


def test_an_unknown_item_is_none() -> None:
    assert BY_ID[TT28].item("rocket_launch") is None
    assert BY_ID[TT28].item("machinery") is BY_ID[TT28].items["machinery"]


# --- which pack applies -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2014, 4, 7), None),
        (date(2014, 4, 8), TTLT26),
        (date(2016, 6, 30), TTLT26),
        (date(2018, 5, 10), TTLT26),
        (date(2018, 5, 11), TT28),
        (date(2019, 3, 9), TT28),
        (date(2026, 1, 1), TT28),
    ],
)
def test_the_national_pack_in_force_is_the_newest_started_one(
    on: date, expected: str | None
) -> None:
    pack = pack_in_force(_national(), on)
    assert (pack.id if pack else None) == expected


def test_no_pack_is_in_force_when_there_are_no_packs() -> None:
    assert pack_in_force([], date(2019, 1, 1)) is None


@given(on=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_the_pack_in_force_has_started_and_no_newer_one_has(on: date) -> None:
    national = _national()
    pack = pack_in_force(national, on)
    started = [p for p in national if p.effective_from <= on]
    if pack is None:
        assert started == []
    else:
        assert pack.effective_from <= on
        assert all(p.effective_from <= pack.effective_from for p in started)


def test_national_packs_apply_in_every_province() -> None:
    for province in ("Bắc Giang", "Bắc Ninh", "Hà Nội"):
        assert {p.id for p in packs_for(PACKS, Level.QUOC_GIA, province)} == {TT28, TTLT26}


@pytest.mark.parametrize(
    "province",
    ["Bắc Giang", "bắc giang", "BẮC GIANG", "Bac Giang", "Tỉnh Bắc Giang", " bắc  giang "],
)
def test_a_provincial_pack_matches_its_province_however_it_is_spelt(province: str) -> None:
    assert [p.id for p in packs_for(PACKS, Level.DIA_PHUONG, province)] == [BAC_GIANG]


@pytest.mark.parametrize("province", ["Bắc Ninh", "Bắc Kạn", "Giang", "Hà Nội"])
def test_a_provincial_pack_does_not_apply_to_another_province(province: str) -> None:
    assert packs_for(PACKS, Level.DIA_PHUONG, province) == []


def test_a_provincial_de_an_never_gets_a_national_pack() -> None:
    local = packs_for(PACKS, Level.DIA_PHUONG, "Bắc Giang")
    assert all(p.level is Level.DIA_PHUONG for p in local)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Bắc Giang", "bac giang"),
        ("Tỉnh Bắc Giang", "bac giang"),
        ("tỉnh  Bắc   Giang ", "bac giang"),
        ("ĐỒNG THÁP", "dong thap"),
        ("Đắk Lắk", "dak lak"),
        ("Thành phố Hà Nội", "ha noi"),
        ("Thừa Thiên Huế", "thua thien hue"),
        ("Bà Rịa - Vũng Tàu", "ba ria - vung tau"),
    ],
)
def test_province_key_ignores_case_accents_and_the_word_tinh(name: str, key: str) -> None:
    assert province_key(name) == key


def test_province_key_treats_composed_and_decomposed_accents_alike() -> None:
    name = "Bắc Giang"
    assert province_key(unicodedata.normalize("NFC", name)) == province_key(
        unicodedata.normalize("NFD", name)
    )


@given(
    name=st.text(
        alphabet=st.sampled_from(list("abcdeghiklmnopqrstuvxyàáảãạăắằâấđêếìíòóôốơớùúưứýỳ ")),
        min_size=1,
        max_size=30,
    ).filter(lambda s: s.strip() and not _unprefixed_key(s).startswith(("tinh", "thanh pho")))
)
def test_province_key_is_the_same_for_any_casing_and_with_the_tinh_prefix(name: str) -> None:
    key = province_key(name)
    assert province_key(name.upper()) == key
    assert province_key(name.title()) == key
    assert province_key("Tỉnh " + name) == key
    assert key.isascii()
    assert key == key.strip()


# --- pack validation ----------------------------------------------------------------------


def test_a_provincial_pack_without_a_province_is_refused() -> None:
    data = _pack_json(BAC_GIANG) | {"province": None}
    with pytest.raises(ValidationError, match="province"):
        RulePack.model_validate(data)


def test_a_national_pack_naming_a_province_is_refused() -> None:
    data = _pack_json(TT28) | {"province": "Bắc Giang"}
    with pytest.raises(ValidationError, match="province"):
        RulePack.model_validate(data)


def test_a_pack_with_a_float_cap_is_refused() -> None:
    data = _pack_json(TT28)
    data["items"]["machinery"]["cap"] = 300_000_000.0
    with pytest.raises(ValidationError):
        RulePack.model_validate(data)


def test_a_pack_with_a_rate_above_one_hundred_percent_is_refused() -> None:
    data = _pack_json(TT28)
    data["items"]["machinery"]["rate_bp"] = 10_001
    with pytest.raises(ValidationError, match="rate_bp"):
        RulePack.model_validate(data)


def test_a_pack_with_an_item_without_citation_is_refused() -> None:
    data = _pack_json(TT28)
    data["items"]["machinery"]["citation"] = ""
    with pytest.raises(ValidationError, match="citation"):
        RulePack.model_validate(data)


def test_a_pack_file_with_a_misspelt_nested_field_is_refused_naming_it(tmp_path: Path) -> None:
    data = _pack_json(TT28) | {"caps_doubled": True}
    data["items"]["machinery"]["advance"]["max_pb"] = data["items"]["machinery"]["advance"].pop(
        "max_bp"
    )
    path = tmp_path / "tinh.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValidationError) as refused:
        load_pack(path)
    unknown = {e["loc"]: e["msg"] for e in refused.value.errors() if e["type"] == UNKNOWN_FIELD}
    assert set(unknown) == {("caps_doubled",), ("items", "machinery", "advance", "max_pb")}
    assert unknown[("caps_doubled",)].startswith("trường «caps_doubled» không có trong mẫu")


def test_a_pack_carried_in_a_workflow_input_ignores_a_field_it_does_not_know() -> None:
    carried = RulePack.model_validate(_pack_json(TT28) | {"added_by_a_newer_worker": 1})
    assert carried == BY_ID[TT28]


def test_a_pack_without_items_is_refused() -> None:
    data = _pack_json(TT28) | {"items": {}}
    with pytest.raises(ValidationError, match="items"):
        RulePack.model_validate(data)


@pytest.mark.parametrize("day", [0, 29])
def test_a_progress_report_day_outside_1_to_28_is_refused(day: int) -> None:
    data = _pack_json(TT28)
    data["deadlines"]["progress_report_day"] = day
    with pytest.raises(ValidationError, match="progress_report_day"):
        RulePack.model_validate(data)


def test_a_pack_is_immutable() -> None:
    with pytest.raises(ValidationError):
        BY_ID[TT28].advance_ceiling_bp = 10_000  # type: ignore[misc]


# --- packs from a province's folder -------------------------------------------------------


def _write(folder: Path, name: str, data: dict[str, Any]) -> None:
    (folder / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_a_pack_in_an_extra_folder_replaces_the_shipped_pack_with_its_id(tmp_path: Path) -> None:
    data = _pack_json(TT28)
    data["items"]["machinery"]["cap"] = 350_000_000
    _write(tmp_path, "override.json", data)
    packs = load_packs([tmp_path])
    assert len(packs) == 3
    assert {p.id: p for p in packs}[TT28].items["machinery"].cap == 350_000_000
    assert {p.id: p for p in load_packs()}[TT28].items["machinery"].cap == 300_000_000


def test_a_province_pack_in_an_extra_folder_is_added(tmp_path: Path) -> None:
    data = _pack_json(BAC_GIANG) | {
        "id": "dia-phuong-bac-ninh",
        "province": "Tỉnh Bắc Ninh",
        "effective_from": "2020-01-01",
        "example": False,
    }
    _write(tmp_path, "bac-ninh.json", data)
    (tmp_path / "README.txt").write_text("not a pack", encoding="utf-8")
    packs = load_packs([tmp_path])
    assert len(packs) == 4
    found = packs_for(packs, Level.DIA_PHUONG, "bắc ninh")
    assert [p.id for p in found] == ["dia-phuong-bac-ninh"]
    assert pack_in_force(found, date(2019, 12, 31)) is None
    assert pack_in_force(found, date(2020, 1, 1)) is found[0]


def test_a_later_extra_folder_wins_over_an_earlier_one(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    for folder, cap in ((first, 111), (second, 222)):
        data = _pack_json(TT28)
        data["items"]["machinery"]["cap"] = cap
        _write(folder, "tt28.json", data)
    packs = {p.id: p for p in load_packs([first, second])}
    assert packs[TT28].items["machinery"].cap == 222


def test_a_newer_provincial_pack_takes_over_from_its_date(tmp_path: Path) -> None:
    data = _pack_json(BAC_GIANG) | {
        "id": "dia-phuong-bac-giang-2021",
        "effective_from": "2021-03-09",
    }
    _write(tmp_path, "bg-2021.json", data)
    local = packs_for(load_packs([tmp_path]), Level.DIA_PHUONG, "Bắc Giang")
    assert pack_in_force(local, date(2021, 3, 8)).id == BAC_GIANG  # type: ignore[union-attr]
    assert pack_in_force(local, date(2021, 3, 9)).id == "dia-phuong-bac-giang-2021"  # type: ignore[union-attr]


def test_an_invalid_pack_in_an_extra_folder_fails_loudly(tmp_path: Path) -> None:
    data = _pack_json(TT28) | {"advance_ceiling_bp": 12_000}
    _write(tmp_path, "broken.json", data)
    with pytest.raises(ValidationError, match="advance_ceiling_bp"):
        load_packs([tmp_path])


def test_loaded_packs_are_ordered_by_level_province_and_date() -> None:
    keys = [(p.level.value, p.province or "", p.effective_from) for p in PACKS]
    assert keys == sorted(keys)


def test_equal_packs_are_shared_as_one_instance_and_an_edited_pack_is_not_mixed_up() -> None:
    first, again = load_packs(), load_packs()
    assert first[0] is not again[0]
    one, other = shared(first), shared(again)
    assert one == first and all(a is b for a, b in zip(one, other, strict=True))
    edited = first[0].model_copy(update={"advance_ceiling_bp": first[0].advance_ceiling_bp - 1})
    (kept,) = shared([edited])
    assert kept.id == one[0].id and kept is not one[0]
    assert kept.advance_ceiling_bp == first[0].advance_ceiling_bp - 1
