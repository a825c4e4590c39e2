"""load_rule_packs: shipped packs plus a province's own files, filtered by level and province."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.rule_packs import RulePackActivities
from domain.model import Level
from domain.rules import SHIPPED_PACK_DIR
from workflows.de_an_contract import DeAnRulePackQuery

BAC_GIANG_PACK = "dia-phuong-bac-giang-vi-du"


async def test_a_bac_giang_de_an_gets_the_bac_giang_pack() -> None:
    query = DeAnRulePackQuery(level="dia_phuong", province="Bắc Giang")

    packs = await ActivityEnvironment().run(RulePackActivities().load_rule_packs, query)

    assert [p.id for p in packs] == [BAC_GIANG_PACK]


async def test_province_names_match_without_accents_or_the_word_tinh() -> None:
    query = DeAnRulePackQuery(level="dia_phuong", province="tỉnh Bac Giang")
    packs = await RulePackActivities().load_rule_packs(query)
    assert [p.id for p in packs] == [BAC_GIANG_PACK]


async def test_a_national_de_an_gets_only_national_packs() -> None:
    query = DeAnRulePackQuery(level="quoc_gia", province="Bắc Giang")
    packs = await RulePackActivities().load_rule_packs(query)
    assert len(packs) >= 2
    assert all(p.level is Level.QUOC_GIA for p in packs)


async def test_a_province_without_a_pack_gets_none() -> None:
    query = DeAnRulePackQuery(level="dia_phuong", province="Lạng Sơn")
    assert await RulePackActivities().load_rule_packs(query) == []


async def test_a_pack_in_an_extra_folder_is_loaded(tmp_path: Path) -> None:
    shipped = json.loads(
        (SHIPPED_PACK_DIR / "provincial-bac-giang-example.json").read_text(encoding="utf-8")
    )
    lang_son = {**shipped, "id": "dia-phuong-lang-son", "province": "Lạng Sơn"}
    (tmp_path / "lang-son.json").write_text(json.dumps(lang_son), encoding="utf-8")
    query = DeAnRulePackQuery(level="dia_phuong", province="Lạng Sơn")

    packs = await RulePackActivities(extra_dirs=[tmp_path]).load_rule_packs(query)

    assert [(p.id, p.province) for p in packs] == [("dia-phuong-lang-son", "Lạng Sơn")]


async def test_an_unknown_level_is_refused_without_retries() -> None:
    query = DeAnRulePackQuery(level="cap_huyen", province="Bắc Giang")
    with pytest.raises(ApplicationError) as refused:
        await RulePackActivities().load_rule_packs(query)
    assert (refused.value.type, refused.value.non_retryable) == ("InvalidQuery", True)
