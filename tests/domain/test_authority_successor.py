"""Jurisdiction follows the successor province: after 1/7/2025 Bắc Ninh's officials act on a
former Bắc Giang đề án, Bắc Giang's former officials no longer."""

from __future__ import annotations

from datetime import date

import pytest

from domain.authority import check_authority, check_jurisdiction
from domain.errors import Refusal, RefusalCode
from domain.model import Role
from domain.stages import Action, Stage
from khuyencong.places import SHIPPED_UNITS
from tests.support.builders import make_actor, make_dossier

REGISTERED = date(2025, 3, 1)
AFTER, BEFORE = date(2025, 7, 1), date(2025, 6, 30)
SO_BG = make_actor(Role.SO_CONG_THUONG, province="Bắc Giang")
SO_BN = make_actor(Role.SO_CONG_THUONG, province="Bắc Ninh")


def _check(actor_province: str, on: date, dossier_province: str = "Bắc Giang") -> None:
    actor = make_actor(Role.SO_CONG_THUONG, province=actor_province)
    check_jurisdiction(
        actor,
        make_dossier(province=dossier_province),
        units=SHIPPED_UNITS,
        registered_on=REGISTERED,
        on=on,
    )


def test_bac_ninh_acts_on_a_former_bac_giang_de_an_after_the_merger() -> None:
    _check("Bắc Ninh", AFTER)
    check_authority(
        SO_BN,
        Action.APPRAISE,
        make_dossier(),
        Stage.REGISTERED,
        units=SHIPPED_UNITS,
        registered_on=REGISTERED,
        on=AFTER,
    )


def test_bac_giang_former_officials_no_longer_can_and_the_refusal_names_the_merger() -> None:
    with pytest.raises(Refusal) as caught:
        _check("Bắc Giang", AFTER)
    assert caught.value.code == RefusalCode.WRONG_JURISDICTION
    assert "Bắc Ninh" in caught.value.message and "01/07/2025" in caught.value.message
    assert "202/2025/QH15" in (caught.value.legal_basis or "")


def test_before_the_merger_each_province_keeps_its_own() -> None:
    _check("Bắc Giang", BEFORE)
    with pytest.raises(Refusal):
        _check("Bắc Ninh", BEFORE)


def test_a_bac_ninh_de_an_stays_bac_ninh_s() -> None:
    _check("Bắc Ninh", AFTER, dossier_province="Bắc Ninh")
    with pytest.raises(Refusal):
        _check("Bắc Giang", AFTER, dossier_province="Bắc Ninh")


def test_without_units_the_province_name_alone_decides_as_before() -> None:
    check_jurisdiction(SO_BG, make_dossier())
    with pytest.raises(Refusal):
        check_jurisdiction(SO_BN, make_dossier())
