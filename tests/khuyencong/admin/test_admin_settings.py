"""The admin tool's settings: the Temporal UI it links to, the official it acts as."""

from __future__ import annotations

from datetime import date

import pytest

from domain.stages import Action
from khuyencong.admin.client import ui_url_for, update_id_for
from khuyencong.settings import Settings, SettingsError
from tests.support.builders import make_actor
from workflows.de_an_contract import DeAnRequestAdvance


def test_the_ui_url_defaults_to_the_local_dev_server_and_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).ui_url == "http://127.0.0.1:8233"
    settings = Settings.from_env(
        {"KHUYENCONG_UI_URL": "https://temporal.example.vn/", "KHUYENCONG_OFFICIAL_ID": "BG-1"}
    )
    assert (settings.ui_url, settings.official_id) == ("https://temporal.example.vn", "BG-1")


def test_a_ui_url_that_is_not_http_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"KHUYENCONG_UI_URL": "temporal.example.vn"})
    assert dict(caught.value.problems)["KHUYENCONG_UI_URL"].startswith("must be an http")


def test_the_ui_link_escapes_the_workflow_id() -> None:
    assert ui_url_for("https://t.example.vn", "kc-prod", "de-an/BG-2019-DP-01") == (
        "https://t.example.vn/namespaces/kc-prod/workflows/de-an%2FBG-2019-DP-01"
    )


def test_update_ids_name_the_de_an_the_action_the_paper_and_the_official() -> None:
    command = DeAnRequestAdvance(
        actor=make_actor(official_id="BG-TTKC-012"), amount=1, requested_on=date(2019, 6, 24)
    )
    first = update_id_for("BG-2019-DP-01", Action.REQUEST_ADVANCE, command, 2)
    assert first.startswith("BG-2019-DP-01:request_advance:2:BG-TTKC-012:")
    changed = command.model_copy(update={"amount": 2})
    again = update_id_for("BG-2019-DP-01", Action.REQUEST_ADVANCE, changed, 2)
    assert again != first  # another payload is another request: the workflow judges it
