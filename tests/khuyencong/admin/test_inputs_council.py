"""``de-an appraise --council FILE``: the council's members, with their declarations of
interest, from a JSON or YAML list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from khuyencong.admin.errors import BadInput
from khuyencong.admin.inputs import field_options
from workflows.de_an_contract import DeAnAppraise


def test_the_council_is_read_from_a_list_file(tmp_path: Path) -> None:
    option = next(o for o in field_options(DeAnAppraise, skip=frozenset()) if o.field == "council")
    members = [{"full_name": "Ngô Văn Sơn", "organisation": "Sở Công Thương"}]
    file = tmp_path / "hoi-dong.json"
    file.write_text(json.dumps(members, ensure_ascii=False), encoding="utf-8")

    assert option.kind == "list-file" and option.decls == ("--council",)
    assert option.value(str(file)) == members


def test_a_council_file_that_is_not_a_list_is_refused(tmp_path: Path) -> None:
    option = next(o for o in field_options(DeAnAppraise, skip=frozenset()) if o.field == "council")
    file = tmp_path / "hoi-dong.json"
    file.write_text('{"full_name": "x"}', encoding="utf-8")
    with pytest.raises(BadInput, match="danh sách"):
        option.value(str(file))
