"""Who may do what: the authority matrix, appraisers, adjustments, jurisdiction, four-eyes."""

from __future__ import annotations

import pytest

from domain.authority import (
    BASIS_ADJUST,
    BASIS_APPROVAL_LOCAL,
    BASIS_APPROVAL_NATIONAL,
    BASIS_PROCESS,
    MATRIX,
    AdjustmentKind,
    adjustment_deciders,
    appraisers,
    check_adjust_authority,
    check_authority,
    check_four_eyes,
    check_jurisdiction,
    check_role,
    roles_for,
)
from domain.errors import Refusal, RefusalCode
from domain.model import CENTRAL_ROLES, Actor, DeAnDossier, Level, Role
from domain.stages import TRANSITIONS, Action, Stage
from tests.support.builders import make_actor, make_dossier, make_national_dossier

T, S, C, B, U, F = (
    Role.TRUNG_TAM,
    Role.SO_CONG_THUONG,
    Role.CUC,
    Role.BO_TRUONG,
    Role.UBND_TINH,
    Role.TAI_CHINH,
)
N, L = Level.QUOC_GIA, Level.DIA_PHUONG

# Written out from the README (§3) rather than read from MATRIX, so a slip in either shows.
EXPECTED: dict[tuple[Action, Level], set[Role]] = {
    (Action.REGISTER, N): {T},
    (Action.REGISTER, L): {T},
    (Action.RESUBMIT, N): {T},
    (Action.RESUBMIT, L): {T},
    (Action.APPROVE, N): {B},
    (Action.APPROVE, L): {U},
    (Action.REJECT, N): {B},
    (Action.REJECT, L): {U},
    (Action.SIGN_CONTRACT, N): {C},
    (Action.SIGN_CONTRACT, L): {S},
    (Action.REPORT_PROGRESS, N): {T},
    (Action.REPORT_PROGRESS, L): {T},
    (Action.CONFIRM_PROGRESS, N): {S},
    (Action.CONFIRM_PROGRESS, L): {S},
    (Action.RECORD_VISIT, N): {S, C},
    (Action.RECORD_VISIT, L): {S},
    (Action.RESOLVE_FINDINGS, N): {S, C},
    (Action.RESOLVE_FINDINGS, L): {S},
    (Action.REQUEST_ADVANCE, N): {T},
    (Action.REQUEST_ADVANCE, L): {T},
    (Action.PAY_ADVANCE, N): {F},
    (Action.PAY_ADVANCE, L): {F},
    (Action.STOP, N): {B},
    (Action.STOP, L): {U},
    (Action.ACCEPT, N): {S, C},
    (Action.ACCEPT, L): {S},
    (Action.SUBMIT_SETTLEMENT_DOSSIER, N): {T},
    (Action.SUBMIT_SETTLEMENT_DOSSIER, L): {T},
    (Action.SETTLE, N): {C},
    (Action.SETTLE, L): {S},
    (Action.PAY_SETTLEMENT, N): {F},
    (Action.PAY_SETTLEMENT, L): {F},
    (Action.RECORD_REFUND, N): {F},
    (Action.RECORD_REFUND, L): {F},
}

_APPROVAL_ACTIONS = {Action.APPROVE, Action.REJECT, Action.STOP}


def _dossier_of(level: Level, **overrides: object) -> DeAnDossier:
    return make_national_dossier(**overrides) if level is N else make_dossier(**overrides)


def _in_jurisdiction(role: Role, level: Level) -> Actor:
    """An actor of ``role`` whose province can never be the reason for a refusal."""
    if role in CENTRAL_ROLES or (role is F and level is N):
        return make_actor(role, province=None)
    return make_actor(role, province="Bắc Giang")


def _any_stage(action: Action) -> Stage:
    """A stage where ``action`` is a transition (registration starts a đề án, so: registered)."""
    return next((s for (s, a) in TRANSITIONS if a is action), Stage.REGISTERED)


# --- the matrix ---------------------------------------------------------------------------


def test_the_matrix_is_the_readme_table() -> None:
    assert {k: set(v) for k, v in MATRIX.items()} == EXPECTED


def test_the_matrix_covers_both_levels_of_every_action_it_names() -> None:
    actions = {a for (a, _lv) in MATRIX}
    assert {(a, lv) for a in actions for lv in Level} == set(MATRIX)


def test_appraisal_and_adjustment_are_routed_outside_the_matrix() -> None:
    assert not any(a in {Action.APPRAISE, Action.ADJUST} for (a, _lv) in MATRIX)


@pytest.mark.parametrize(
    ("key", "target"),
    [(k, v) for k, v in TRANSITIONS.items() if k[1] is not Action.ADJUST],
    ids=str,
)
@pytest.mark.parametrize("level", list(Level))
def test_every_transition_has_someone_who_may_take_it(
    key: tuple[Stage, Action], target: Stage, level: Level
) -> None:
    stage, action = key
    assert roles_for(action, _dossier_of(level), stage)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("action", "level"), list(EXPECTED), ids=lambda v: str(v))
def test_the_matrix_cell_by_cell(action: Action, level: Level, role: Role) -> None:
    d = _dossier_of(level)
    official = _in_jurisdiction(role, level)
    stage = _any_stage(action)
    if role in EXPECTED[(action, level)]:
        check_authority(official, action, d, stage)
    else:
        with pytest.raises(Refusal) as refused:
            check_authority(official, action, d, stage)
        assert refused.value.code == RefusalCode.WRONG_AUTHORITY
        assert refused.value.field == "actor.role"
        assert refused.value.legal_basis
        if action in _APPROVAL_ACTIONS:
            expected_basis = BASIS_APPROVAL_NATIONAL if level is N else BASIS_APPROVAL_LOCAL
        else:
            expected_basis = BASIS_PROCESS
        assert refused.value.legal_basis == expected_basis


def test_a_refusal_names_who_holds_the_authority() -> None:
    with pytest.raises(Refusal) as refused:
        check_authority(make_actor(C), Action.APPROVE, make_national_dossier(), Stage.APPRAISED)
    assert Role.BO_TRUONG.label in refused.value.message
    assert Action.APPROVE.label in refused.value.message
    assert "Bộ trưởng" in (refused.value.legal_basis or "")


def test_the_local_approval_basis_names_the_chairman_of_ubnd() -> None:
    with pytest.raises(Refusal) as refused:
        check_authority(make_actor(S), Action.APPROVE, make_dossier(), Stage.APPRAISED)
    assert refused.value.legal_basis == BASIS_APPROVAL_LOCAL
    assert "UBND" in BASIS_APPROVAL_LOCAL


def test_an_empty_set_of_roles_refuses_everyone() -> None:
    for role in Role:
        with pytest.raises(Refusal, match="WrongAuthority"):
            check_role(_in_jurisdiction(role, L), frozenset(), Action.REGISTER, make_dossier(), "x")


# --- appraisers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "level", "roles"),
    [
        (Stage.REGISTERED, N, {S}),
        (Stage.BASE_APPRAISED, N, {C}),
        (Stage.REGISTERED, L, {S}),
    ],
)
def test_appraisers_by_stage_and_level(stage: Stage, level: Level, roles: set[Role]) -> None:
    assert appraisers(stage, level) == roles
    assert roles_for(Action.APPRAISE, _dossier_of(level), stage) == roles


def test_the_so_appraises_a_national_de_an_first_and_the_cuc_second() -> None:
    d = make_national_dossier()
    check_authority(make_actor(S), Action.APPRAISE, d, Stage.REGISTERED)
    check_authority(make_actor(C), Action.APPRAISE, d, Stage.BASE_APPRAISED)
    with pytest.raises(Refusal, match="WrongAuthority"):
        check_authority(make_actor(C), Action.APPRAISE, d, Stage.REGISTERED)
    with pytest.raises(Refusal, match="WrongAuthority"):
        check_authority(make_actor(S), Action.APPRAISE, d, Stage.BASE_APPRAISED)


@pytest.mark.parametrize("role", [T, C, B, U, F])
def test_only_the_so_appraises_a_provincial_de_an(role: Role) -> None:
    with pytest.raises(Refusal) as refused:
        check_authority(
            _in_jurisdiction(role, L), Action.APPRAISE, make_dossier(), Stage.REGISTERED
        )
    assert refused.value.code == RefusalCode.WRONG_AUTHORITY


# --- adjustments (TT 36/2013 Điều 11) -----------------------------------------------------

_TOP = [
    AdjustmentKind.INCREASE_SUPPORT,
    AdjustmentKind.CHANGE_ACTIVITY,
    AdjustmentKind.EXTEND_NEXT_YEAR,
]
_REST = [k for k in AdjustmentKind if k not in _TOP]
_GROUP_SO = [
    AdjustmentKind.CHANGE_SITE,
    AdjustmentKind.CHANGE_BENEFICIARY,
    AdjustmentKind.CHANGE_PARTNER,
]


@pytest.mark.parametrize("group", [False, True])
@pytest.mark.parametrize("kind", _TOP)
def test_more_money_another_activity_or_next_year_is_the_ministers_call(
    kind: AdjustmentKind, group: bool
) -> None:
    assert adjustment_deciders(kind, make_national_dossier(group_project=group)) == {B}


@pytest.mark.parametrize("group", [False, True])
@pytest.mark.parametrize("kind", _TOP)
def test_more_money_another_activity_or_next_year_is_ubnds_call_locally(
    kind: AdjustmentKind, group: bool
) -> None:
    assert adjustment_deciders(kind, make_dossier(group_project=group)) == {U}


@pytest.mark.parametrize("kind", _REST)
def test_other_national_adjustments_are_the_cucs_call(kind: AdjustmentKind) -> None:
    assert adjustment_deciders(kind, make_national_dossier()) == {C}


@pytest.mark.parametrize("group", [False, True])
@pytest.mark.parametrize("kind", _REST)
def test_other_local_adjustments_are_the_sos_call(kind: AdjustmentKind, group: bool) -> None:
    assert adjustment_deciders(kind, make_dossier(group_project=group)) == {S}


@pytest.mark.parametrize("kind", _GROUP_SO)
def test_the_so_may_change_site_partner_or_beneficiary_of_a_national_group_project(
    kind: AdjustmentKind,
) -> None:
    assert adjustment_deciders(kind, make_national_dossier(group_project=True)) == {C, S}


@pytest.mark.parametrize("kind", [AdjustmentKind.CHANGE_TIMING, AdjustmentKind.DECREASE_SUPPORT])
def test_the_so_gets_no_timing_or_money_changes_of_a_national_group_project(
    kind: AdjustmentKind,
) -> None:
    assert adjustment_deciders(kind, make_national_dossier(group_project=True)) == {C}


@pytest.mark.parametrize("kind", list(AdjustmentKind))
def test_every_adjustment_kind_has_a_vietnamese_label(kind: AdjustmentKind) -> None:
    assert kind.label.strip()
    assert any(ord(ch) > 127 for ch in kind.label)


def test_the_minister_may_raise_national_support_but_the_cuc_may_not() -> None:
    d = make_national_dossier()
    check_adjust_authority(make_actor(B), AdjustmentKind.INCREASE_SUPPORT, d)
    with pytest.raises(Refusal) as refused:
        check_adjust_authority(make_actor(C), AdjustmentKind.INCREASE_SUPPORT, d)
    assert refused.value.code == RefusalCode.WRONG_AUTHORITY
    assert refused.value.legal_basis == BASIS_ADJUST
    assert "Điều 11" in BASIS_ADJUST


def test_an_adjustment_by_the_so_of_another_province_is_refused() -> None:
    with pytest.raises(Refusal) as refused:
        check_adjust_authority(
            make_actor(S, province="Bắc Ninh"), AdjustmentKind.CHANGE_SITE, make_dossier()
        )
    assert refused.value.code == RefusalCode.WRONG_JURISDICTION


# --- jurisdiction -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [S, T, U])
@pytest.mark.parametrize("level", list(Level))
def test_a_provincial_body_of_another_province_is_refused(role: Role, level: Level) -> None:
    with pytest.raises(Refusal) as refused:
        check_jurisdiction(make_actor(role, province="Bắc Ninh"), _dossier_of(level))
    assert refused.value.code == RefusalCode.WRONG_JURISDICTION
    assert refused.value.field == "actor.province"
    assert refused.value.legal_basis
    assert "Bắc Ninh" in refused.value.message


@pytest.mark.parametrize("province", ["Bắc Giang", "tỉnh Bắc Giang", "BAC GIANG", "bắc giang"])
@pytest.mark.parametrize("role", [S, T, U])
def test_a_provincial_body_of_the_same_province_passes_however_spelt(
    role: Role, province: str
) -> None:
    check_jurisdiction(make_actor(role, province=province), make_dossier())


@pytest.mark.parametrize("role", sorted(CENTRAL_ROLES))
def test_ministry_bodies_pass_jurisdiction_on_national_de_an(role: Role) -> None:
    check_jurisdiction(make_actor(role), make_national_dossier())
    check_jurisdiction(make_actor(role), make_national_dossier(province="Cà Mau"))


def test_provincial_finance_pays_a_local_de_an_of_its_province() -> None:
    check_jurisdiction(make_actor(F, province="Tỉnh Bắc Giang"), make_dossier())


@pytest.mark.parametrize("province", ["Bắc Ninh", None])
def test_other_or_central_finance_may_not_pay_a_local_de_an(province: str | None) -> None:
    with pytest.raises(Refusal) as refused:
        check_jurisdiction(make_actor(F, province=province), make_dossier())
    assert refused.value.code == RefusalCode.WRONG_JURISDICTION


def test_central_finance_pays_a_national_de_an() -> None:
    check_jurisdiction(make_actor(F, province=None), make_national_dossier())


def test_provincial_finance_may_not_pay_a_national_de_an() -> None:
    with pytest.raises(Refusal) as refused:
        check_jurisdiction(make_actor(F, province="Bắc Giang"), make_national_dossier())
    assert refused.value.code == RefusalCode.WRONG_JURISDICTION
    assert "Điều 12" in (refused.value.legal_basis or "")


def test_the_role_is_checked_before_the_province() -> None:
    with pytest.raises(Refusal) as refused:
        check_authority(
            make_actor(S, province="Bắc Ninh"), Action.APPROVE, make_dossier(), Stage.APPRAISED
        )
    assert refused.value.code == RefusalCode.WRONG_AUTHORITY


def test_the_right_role_in_the_wrong_province_is_refused_for_jurisdiction() -> None:
    with pytest.raises(Refusal) as refused:
        check_authority(
            make_actor(U, province="Bắc Ninh"), Action.APPROVE, make_dossier(), Stage.APPRAISED
        )
    assert refused.value.code == RefusalCode.WRONG_JURISDICTION


def test_the_chairman_of_ubnd_approves_a_local_de_an_of_his_province() -> None:
    check_authority(make_actor(U), Action.APPROVE, make_dossier(), Stage.APPRAISED)


# --- four eyes ----------------------------------------------------------------------------


def test_an_official_who_appraised_may_not_approve() -> None:
    minister = make_actor(B, official_id="bt-01")
    with pytest.raises(Refusal) as refused:
        check_four_eyes(minister, ["so-01", "bt-01"], "thẩm định", BASIS_PROCESS)
    assert refused.value.code == RefusalCode.FOUR_EYES == "FourEyesViolation"
    assert refused.value.field == "actor.official_id"
    assert refused.value.legal_basis == BASIS_PROCESS
    assert "thẩm định" in refused.value.message


def test_another_official_passes_four_eyes() -> None:
    check_four_eyes(make_actor(B, official_id="bt-01"), ["so-01", "cuc-01"], "thẩm định", "x")
    check_four_eyes(make_actor(B, official_id="bt-01"), [], "thẩm định", "x")


def test_four_eyes_accepts_any_iterable_of_earlier_officials() -> None:
    with pytest.raises(Refusal, match="FourEyesViolation"):
        check_four_eyes(make_actor(F, official_id="kt-01"), iter(("kt-01",)), "phê duyệt", "x")
