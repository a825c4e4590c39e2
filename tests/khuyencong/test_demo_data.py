"""The shipped demo: Bắc Giang's 2019 plan, and the ready-to-paste appraisal example."""

from __future__ import annotations

import json
import shlex
from datetime import date
from importlib import resources

import pytest

from domain.authority import check_authority
from domain.model import ContentArea, Level, Role
from domain.rules import load_packs, pack_in_force, packs_for
from domain.stages import Action, Stage
from khuyencong.demo_data import DEMO_OFFICIALS, demo_entries
from khuyencong.devstack import appraise_command, appraise_example
from khuyencong.dossier_file import validate_rows
from khuyencong.registration import RegistrationEntry
from workflows.de_an_contract import DeAnAppraise

DISTRICTS = {
    "TP Bắc Giang",
    "Hiệp Hòa",
    "Lạng Giang",
    "Lục Nam",
    "Lục Ngạn",
    "Sơn Động",
    "Tân Yên",
    "Việt Yên",
    "Yên Dũng",
    "Yên Thế",
}
PLAN_APPROVED_ON = date(2019, 3, 9)
"""The day the 2019 plan is taken as approved: the rule packs in force then apply."""


@pytest.fixture(scope="module")
def entries() -> list[RegistrationEntry]:
    return demo_entries()


def test_the_plan_has_23_provincial_and_2_national_de_an(entries: list[RegistrationEntry]) -> None:
    levels = [e.dossier.level for e in entries]
    assert len(entries) == 25
    assert levels.count(Level.DIA_PHUONG) == 23
    assert levels.count(Level.QUOC_GIA) == 2


def test_codes_run_from_dp_01_to_dp_23_and_qg_01_to_qg_02(entries: list[RegistrationEntry]) -> None:
    expected = [f"BG-2019-DP-{n:02d}" for n in range(1, 24)] + ["BG-2019-QG-01", "BG-2019-QG-02"]
    assert [e.dossier.code for e in entries] == expected
    for entry in entries:
        prefix = "BG-2019-QG-" if entry.dossier.level is Level.QUOC_GIA else "BG-2019-DP-"
        assert entry.dossier.code.startswith(prefix)
        assert entry.workflow_id == f"de-an/{entry.dossier.code}"


def test_every_entry_is_a_2019_de_an_of_bac_giang(entries: list[RegistrationEntry]) -> None:
    for entry in entries:
        d = entry.dossier
        assert d.province == "Bắc Giang"
        assert d.plan_year == 2019
        assert d.schedule.start.year == 2019 and d.schedule.end <= date(2019, 11, 30)
        assert d.implementing_unit == (
            "Trung tâm Khuyến công và Xúc tiến thương mại tỉnh Bắc Giang"
        )


def test_the_plan_covers_all_ten_districts_and_seven_content_areas(
    entries: list[RegistrationEntry],
) -> None:
    assert {e.dossier.district for e in entries} == DISTRICTS
    assert len({e.dossier.content_area for e in entries}) == 7
    assert ContentArea.HOP_TAC_QUOC_TE not in {e.dossier.content_area for e in entries}


def test_every_entry_is_registered_by_the_provincial_centre(
    entries: list[RegistrationEntry],
) -> None:
    for entry in entries:
        actor = entry.registered_by
        assert actor.role is Role.TRUNG_TAM
        assert actor.province == "Bắc Giang"
        assert actor.organisation == "Trung tâm Khuyến công và Xúc tiến thương mại tỉnh Bắc Giang"
        assert entry.registered_on is not None and entry.registered_on < PLAN_APPROVED_ON


def test_beneficiaries_are_distinct_and_of_the_rural_industry_kinds(
    entries: list[RegistrationEntry],
) -> None:
    tax_codes = [e.dossier.beneficiary.tax_code for e in entries]
    assert len(set(tax_codes)) == len(tax_codes)
    kinds = {e.dossier.beneficiary.type.value for e in entries}
    assert {"doanh_nghiep", "hop_tac_xa", "ho_kinh_doanh"} <= kinds


def test_every_requested_support_is_within_the_cap_of_its_item(
    entries: list[RegistrationEntry],
) -> None:
    packs = load_packs()
    for entry in entries:
        d = entry.dossier
        pack = pack_in_force(packs_for(packs, d.level, d.province), PLAN_APPROVED_ON)
        assert pack is not None, d.code
        expected_pack = (
            "quoc-gia-tt-28-2018" if d.level is Level.QUOC_GIA else "dia-phuong-bac-giang-vi-du"
        )
        assert pack.id == expected_pack
        item = pack.item(d.support_item)
        assert item is not None, f"{d.code}: {d.support_item} is not in {pack.id}"
        assert 0 < d.requested_support <= item.max_support(d.eligible_cost), d.code
        assert d.requested_support + d.counterpart_funds == d.total_cost, d.code


def test_the_national_de_an_are_machinery_for_concrete_pipes_and_unfired_bricks(
    entries: list[RegistrationEntry],
) -> None:
    national = [e.dossier for e in entries if e.dossier.level is Level.QUOC_GIA]
    assert all(d.support_item == "machinery" for d in national)
    assert "ống cống bê tông" in national[0].title
    assert "gạch không nung" in national[1].title


def test_the_demo_passes_the_starters_validation_with_the_shipped_rule_packs() -> None:
    text = (resources.files("khuyencong") / "demo" / "bac_giang_2019.json").read_text("utf-8")
    rows = list(enumerate(json.loads(text), start=1))
    assert len(validate_rows(rows, rule_packs=load_packs())) == 25


def test_the_appraisal_example_is_a_valid_appraisal_by_the_so_cong_thuong_of_bac_giang(
    entries: list[RegistrationEntry],
) -> None:
    command = DeAnAppraise.model_validate(appraise_example())
    first = entries[0]
    assert command.actor.role is Role.SO_CONG_THUONG
    assert command.actor.province == "Bắc Giang"
    check_authority(command.actor, Action.APPRAISE, first.dossier, Stage.REGISTERED)
    assert first.registered_on is not None and command.appraised_on >= first.registered_on
    assert command.actor.official_id != first.registered_by.official_id
    seeded = {o.official_id: o for o in DEMO_OFFICIALS}  # what `khuyencong dev` seeds
    assert seeded[command.actor.official_id] == command.actor


def test_the_appraisal_command_is_ready_to_paste() -> None:
    words = shlex.split(appraise_command())
    assert words[1:4] == ["workflow", "update", "execute"]
    assert words[words.index("--workflow-id") + 1] == "de-an/BG-2019-DP-01"
    assert words[words.index("--name") + 1] == "appraise"
    assert json.loads(words[words.index("--input") + 1]) == appraise_example()
    header = words[words.index("--headers") + 1]  # the official's signed statement
    assert header.startswith('khuyencong_identity="$(khuyencong token --as BG-SCT-003 ')
    assert words[words.index("--update-id") + 1] in header
    assert "--address" not in words
    assert "127.0.0.1:7300" in shlex.split(appraise_command(port=7300))
