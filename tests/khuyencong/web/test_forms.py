"""Each action's form is generated from its command model, with Vietnamese labels."""

from __future__ import annotations

from domain.stages import Action
from khuyencong.web.forms import build_form, form_fields, typed_data
from workflows.de_an_actions import BY_ACTION, CATALOGUE


def test_every_action_of_the_catalogue_has_a_form_with_a_label_on_every_field() -> None:
    for definition in CATALOGUE:
        fields = form_fields(definition)
        assert "actor" not in {f.name for f in fields}  # the logged-in official acts
        assert fields[-1].name == "note"
        for f in fields:
            assert f.label and f.label != f.name, (definition.name, f.name)


def test_the_appraisal_form_offers_the_verdicts_by_their_vietnamese_names() -> None:
    fields = {f.name: f for f in form_fields(BY_ACTION[Action.APPRAISE])}
    assert fields["verdict"].kind == "select"
    assert ("pass", "đạt") in fields["verdict"].choices
    assert fields["appraised_on"].kind == "date" and fields["appraised_on"].required
    assert fields["by_council"].kind == "checkbox"
    assert fields["minutes_number"].label == "Số biên bản"


def test_amounts_and_dates_are_read_as_officials_type_them() -> None:
    approve = BY_ACTION[Action.APPROVE]
    data = typed_data(
        approve,
        {
            "decision_number": "427/QĐ-UBND",
            "decision_date": "09/03/2019",
            "signer": "Lê Ánh Dương",
            "approved_support": "150.000.000",
            "plan_id": "",
            "note": "",
        },
    )
    assert data == {
        "decision_number": "427/QĐ-UBND",
        "decision_date": "09/03/2019",
        "signer": "Lê Ánh Dương",
        "approved_support": 150_000_000,
    }


def test_a_problem_is_shown_on_the_field_it_names_and_the_others_above_the_form() -> None:
    form = build_form(
        BY_ACTION[Action.APPROVE],
        {"approved_support": "900000000"},
        [("approved_support", "vượt kinh phí đề nghị"), ("stage", "sai giai đoạn")],
    )
    assert form.field("approved_support").errors == ("vượt kinh phí đề nghị",)
    assert form.field("approved_support").value == "900000000"
    assert form.errors == ["sai giai đoạn"]
