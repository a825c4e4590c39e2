"""starter.py: the script registers a file through khuyencong.registration, checking every
row first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import starter
from khuyencong.demo_data import demo_entries


def demo_rows() -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in demo_entries()]


def test_the_command_prints_every_error_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = demo_rows()[:3]
    rows[0]["dossier"]["plan_year"] = 1999
    rows[2]["registered_by"]["official_id"] = ""
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    # Nothing listens here: reaching Temporal would fail differently.
    monkeypatch.setenv("KHUYENCONG_TEMPORAL_ADDRESS", "127.0.0.1:1")
    assert starter.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert "row 1 (BG-2019-DP-01), dossier.plan_year" in err
    assert "row 3 (BG-2019-DP-03), registered_by.official_id" in err
    assert "cannot reach Temporal" not in err
