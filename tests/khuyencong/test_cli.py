"""khuyencong.cli: the commands of other modules are imported and built only when one of
theirs runs, so a quick command (``de-an show``) does not pay for the whole tool."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer
import typer.main

from khuyencong.cli import LAZY_COMMANDS, app, lazy_command

ROOT = Path(__file__).parents[2]


def loaded_by(args: list[str]) -> set[str]:
    """The modules a fresh interpreter has imported after running ``khuyencong ARGS``."""
    probe = (
        "import sys\n"
        f"sys.argv = ['khuyencong', *{args!r}]\n"
        "from khuyencong.cli import app\n"
        "try:\n"
        "    app()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.split())


def test_each_installer_adds_exactly_the_commands_the_table_names_for_it() -> None:
    for installer, names in LAZY_COMMANDS.items():
        module, function = installer.split(":")
        staging = typer.Typer()
        __import__(module, fromlist=[function])
        getattr(sys.modules[module], function)(staging)
        assert set(typer.main.get_group(staging).commands) == set(names), installer
        for name in names:
            assert lazy_command(installer, name).name == name


def test_every_command_is_listed_in_the_order_of_before() -> None:
    group = typer.main.get_command(app)
    assert group.list_commands(typer.Context(group))[:7] == [  # type: ignore[attr-defined]
        "dev",
        "worker",
        "web",
        "migrate",
        "register",
        "search-attributes",
        "codec-server",
    ]
    names = list(group.commands)  # type: ignore[attr-defined]
    assert names[-5:] == ["plan", "chaos", "audit", "units", "calendar"]
    assert len(names) == len(set(names))


def test_de_an_show_loads_neither_the_other_commands_nor_the_worker_half_of_the_sdk() -> None:
    loaded = loaded_by(["de-an", "show", "--help"])
    assert "khuyencong.admin.cli" in loaded
    for heavy in (
        "khuyencong.plans.cli",
        "khuyencong.chaos.cli",
        "khuyencong.cli_ops",
        "temporalio.worker",
        "openpyxl",
        "yaml",
    ):
        assert heavy not in loaded, heavy


def test_a_command_of_the_root_module_imports_none_of_the_others_nor_the_sdk() -> None:
    loaded = loaded_by(["migrate", "--help"])
    assert not {m for m in loaded if m.startswith("temporalio")}
    assert not {m.split(":")[0] for m in LAZY_COMMANDS} & loaded
