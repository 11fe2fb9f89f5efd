"""The production stack's files: docker-compose.yaml, Dockerfile, scripts/make-env.sh.

No Docker daemon is needed: the compose file is parsed as YAML (PyYAML resolves
the ``<<`` merge keys the way compose does), ``make-env.sh`` runs for real, and
``docker compose config`` runs when a compose CLI is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from newsmarkets.config import load_config

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"
DOCKERFILE = REPO / "Dockerfile"
MAKE_ENV = REPO / "scripts" / "make-env.sh"
STACK_CONFIG = REPO / "include" / "newsmarkets" / "config" / "compose.yaml"

LONG_RUNNING = {
    "postgres",
    "redis",
    "minio",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
ONE_SHOT = {"airflow-init", "minio-init"}
AIRFLOW_SERVICES = {name for name in LONG_RUNNING | ONE_SHOT if name.startswith("airflow-")}

# Names whose values are credentials; URLs are checked separately for user:password@.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|_KEY$|TOKEN|ACCESS_KEY", re.IGNORECASE)
PATH_NAME = re.compile(r"_(FILE|PATH|DIR)$")  # where a secret is stored, not the secret
ENV_REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(:?[-?][^}]*)?\}$")
URL_CREDENTIALS = re.compile(r"://(?P<user>[^:@/\s]*):(?P<password>[^@\s]*)@")
REQUIRED_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*):\?")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # compose also allows ["KEY=value", ...]
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _make_env(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(MAKE_ENV), *args],
        env={**os.environ, "ENV_FILE": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


# --- docker-compose.yaml ------------------------------------------------------


def test_every_expected_service_exists(services):
    assert LONG_RUNNING | ONE_SHOT <= set(services), f"missing: {sorted(LONG_RUNNING | ONE_SHOT - set(services))}"
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7.2")


def test_airflow_runs_celery_with_redis_broker_and_postgres_metadata(services):
    for name in AIRFLOW_SERVICES:
        env = _environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://"), name
        assert "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert "@redis:6379/" in env["AIRFLOW__CELERY__BROKER_URL"], name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://"), name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/", name
    assert services["airflow-worker"]["command"] == "celery worker"


def test_only_the_api_server_publishes_a_port_and_it_is_8080(services):
    publishing = {name: svc["ports"] for name, svc in services.items() if svc.get("ports")}
    assert set(publishing) == {"airflow-apiserver"}, f"services publishing ports: {sorted(publishing)}"
    assert [str(p) for p in publishing["airflow-apiserver"]] == ["8080:8080"]


def test_workers_can_be_scaled(services):
    worker = services["airflow-worker"]
    # A fixed container name or host port would make `--scale airflow-worker=3` fail.
    assert "container_name" not in worker
    assert not worker.get("ports")


def test_no_literal_secret_anywhere(services):
    offenders = []
    for name, svc in services.items():
        for key, value in _environment(svc).items():
            if SECRET_NAME.search(key) and not PATH_NAME.search(key) and not ENV_REFERENCE.match(value):
                offenders.append(f"{name}.environment.{key}={value!r}")
            for match in URL_CREDENTIALS.finditer(value):
                if not ENV_REFERENCE.match(match["password"]):
                    offenders.append(f"{name}.environment.{key}: URL password {match['password']!r}")
    assert not offenders, "literal secrets (use ${VAR:?...} from .env): " + "; ".join(offenders)


def test_required_secrets_fail_clearly_when_missing(services):
    # Optional values may default; credentials must not: `${VAR:?msg}` aborts compose.
    for name, svc in services.items():
        for key, value in _environment(svc).items():
            if SECRET_NAME.search(key) and not PATH_NAME.search(key) and key != "COINGECKO_API_KEY":
                assert ":?" in value, f"{name}.environment.{key} must be ${{VAR:?...}}, got {value!r}"


def test_every_long_running_service_has_a_healthcheck(services):
    missing = sorted(name for name in LONG_RUNNING if not services[name].get("healthcheck", {}).get("test"))
    assert not missing, f"no healthcheck: {missing}"


def test_one_shot_services_are_awaited_until_they_succeed(services):
    for name in ONE_SHOT:
        assert services[name].get("restart") == "no", name
    awaited = {
        target
        for svc in services.values()
        for target, rule in (svc.get("depends_on") or {}).items()
        if rule.get("condition") == "service_completed_successfully"
    }
    assert ONE_SHOT <= awaited


def test_every_dependency_has_a_condition_it_can_meet(services):
    for name, svc in services.items():
        depends_on = svc.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}.depends_on must use conditions"
        for target, rule in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = rule.get("condition")
            assert condition in {"service_healthy", "service_completed_successfully"}, f"{name} -> {target}"
            if condition == "service_healthy":
                assert services[target].get("healthcheck"), f"{name} waits for {target}, which has no healthcheck"


def _interpolate(value: str, dotenv: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` against ``dotenv``."""
    def sub(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if dotenv.get(name):
            return dotenv[name]
        assert op != ":?", f"${{{name}}} is required: {arg}"
        return arg if op == ":-" else ""
    return re.sub(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}", sub, value)


def test_secrets_reach_airflow_only_as_connections(services, tmp_path):
    env_file = tmp_path / ".env"
    assert _make_env(env_file).returncode == 0
    dotenv = {**_read_env(env_file), "COINGECKO_API_KEY": "CG-test0123"}
    init_env = _environment(services["minio-init"])
    bucket = init_env["WAREHOUSE_BUCKET"]
    assert f'mb --ignore-existing "stack/$$WAREHOUSE_BUCKET"' in "".join(services["minio-init"]["command"])
    for name in AIRFLOW_SERVICES:
        env = _environment(services[name])
        assert env["NEWSMARKETS_WAREHOUSE"] == f"s3://{bucket}/warehouse", name
        # The environment fallback stays unused on the stack: a secrets backend can take over.
        assert not {k for k in env if k.startswith("AWS_") or k in ("NEWSMARKETS_S3_ENDPOINT_URL", "COINGECKO_API_KEY")}
        s3 = json.loads(_interpolate(env["AIRFLOW_CONN_NEWSMARKETS_S3"], dotenv))
        # Airflow uses the key minio-init creates, never MinIO's root account.
        assert s3["conn_type"] == "aws"
        assert (s3["login"], s3["password"]) == (dotenv["NEWSMARKETS_S3_ACCESS_KEY"], dotenv["NEWSMARKETS_S3_SECRET_KEY"])
        assert s3["extra"]["endpoint_url"] == "http://minio:9000", name
        assert (s3["login"], s3["password"]) == (_interpolate(init_env["NEWSMARKETS_S3_ACCESS_KEY"], dotenv),
                                                 _interpolate(init_env["NEWSMARKETS_S3_SECRET_KEY"], dotenv))
        prices = json.loads(_interpolate(env["AIRFLOW_CONN_NEWSMARKETS_PRICES"], dotenv))
        assert prices["password"] == "CG-test0123", name
        assert json.loads(_interpolate(env["AIRFLOW_CONN_NEWSMARKETS_PRICES"], {}))["password"] == ""
        # Every secret inside a connection comes from .env, the required ones with :?.
        assert "${NEWSMARKETS_S3_SECRET_KEY:?" in env["AIRFLOW_CONN_NEWSMARKETS_S3"]


def test_stack_config_is_live_and_guarded(services):
    cfg = load_config(STACK_CONFIG)
    assert cfg.warehouse.startswith("s3://")
    assert cfg.prices.base_url == "https://api.coingecko.com/api/v3"
    assert cfg.http.allow_private_networks is False
    # The DuckDB catalog must sit on a volume every Airflow container shares.
    mounts = {v.split(":")[1] for v in services["airflow-worker"]["volumes"]}
    assert str(Path(cfg.catalog_path).parent) in mounts
    # NEWSMARKETS_CONFIG points where the Dockerfile puts this file.
    config_path = _environment(services["airflow-worker"])["NEWSMARKETS_CONFIG"]
    assert f"include/newsmarkets/config/compose.yaml {config_path}" in DOCKERFILE.read_text(encoding="utf-8")


# --- Dockerfile ---------------------------------------------------------------


def test_dockerfile_base_image_matches_pinned_airflow():
    pinned = re.search(r"^apache-airflow==(\S+)$", (REPO / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned, "requirements.txt pins no apache-airflow version"
    base = re.search(r"^FROM\s+apache/airflow:(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert base, "Dockerfile is not FROM apache/airflow"
    assert base[1] == f"{pinned[1]}-python3.11", f"image tag {base[1]} vs requirements.txt apache-airflow=={pinned[1]}"
    # The pyproject's Python floor must allow the image's Python.
    assert 'requires-python = ">=3.11"' in (REPO / "pyproject.toml").read_text()


def test_dockerfile_copies_only_files_a_fresh_clone_has():
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY"):
            parts = [p for p in line.split()[1:] if not p.startswith("--")]
            sources += parts[:-1]
    assert sources, "Dockerfile copies nothing"
    for source in sources:
        path = REPO / source
        assert path.exists(), f"Dockerfile copies missing {source}"
        if path.is_dir():
            # git keeps no empty folders: an empty one is missing in a fresh clone
            # and `COPY` fails there (keep a .gitkeep in it).
            assert any(path.iterdir()), f"Dockerfile copies {source}, an empty folder git will not keep"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".env" in ignored, ".env must never enter the build context"


# --- scripts/make-env.sh ------------------------------------------------------


def test_make_env_writes_every_secret_compose_requires(tmp_path):
    from cryptography.fernet import Fernet

    env_file = tmp_path / ".env"
    result = _make_env(env_file)
    assert result.returncode == 0, result.stderr
    values = _read_env(env_file)
    required = set(REQUIRED_VAR.findall(COMPOSE_FILE.read_text()))
    assert required, "compose requires no variable from .env"
    assert required <= {k for k, v in values.items() if v}, f"not written: {sorted(required - set(values))}"
    Fernet(values["AIRFLOW_FERNET_KEY"].encode())  # raises if not a valid key
    assert int(values["AIRFLOW_UID"]) > 0
    # Values go into URLs unescaped and must differ from each other.
    secrets = [values[k] for k in required if "PASSWORD" in k or "SECRET" in k]
    assert all(re.fullmatch(r"[0-9a-f]{32,}", s) for s in secrets)
    assert len(set(secrets)) == len(secrets)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_make_env_refuses_to_overwrite_without_force(tmp_path):
    env_file = tmp_path / ".env"
    assert _make_env(env_file).returncode == 0
    before = env_file.read_text()
    refused = _make_env(env_file)
    assert refused.returncode == 1
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert env_file.read_text() == before
    forced = _make_env(env_file, "--force")
    assert forced.returncode == 0, forced.stderr
    after = _read_env(env_file)
    assert after["POSTGRES_PASSWORD"] != _read_env_text(before)["POSTGRES_PASSWORD"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"], "temp files left behind"


def _read_env_text(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_make_env_rejects_unknown_arguments(tmp_path):
    result = _make_env(tmp_path / ".env", "--frce")
    assert result.returncode == 2
    assert "unknown argument: --frce" in result.stderr
    assert not (tmp_path / ".env").exists()


# --- docker compose config (needs the compose CLI, not a daemon) ----------------


def _compose_cli() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def _compose_config(cli: list[str], env_file: Path) -> subprocess.CompletedProcess:
    # Variables in our own environment would override .env; compose must see only the file.
    referenced = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE_FILE.read_text()))
    env = {k: v for k, v in os.environ.items() if k not in referenced}
    return subprocess.run(
        [*cli, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_config_resolves_with_generated_env_and_fails_without(tmp_path):
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no compose CLI here (neither `docker compose` nor `docker-compose`); YAML checks above still ran")
    env_file = tmp_path / ".env"
    assert _make_env(env_file).returncode == 0
    ok = _compose_config(cli, env_file)
    assert ok.returncode == 0, ok.stderr
    resolved = yaml.safe_load(ok.stdout)
    values = _read_env(env_file)
    sql_conn = resolved["services"]["airflow-scheduler"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert values["POSTGRES_PASSWORD"] in sql_conn
    assert not re.search(r"(?<!\$)\$\{", ok.stdout), "unresolved variable in `compose config` output"

    empty = tmp_path / "empty.env"
    empty.write_text("")
    missing = _compose_config(cli, empty)
    assert missing.returncode != 0
    assert "set in .env" in missing.stderr


# --- what the stack's containers run, executed here against the pinned packages ---


@pytest.mark.slow  # imports Airflow in a subprocess: 10-20 s on 2 busy cores
def test_celery_executor_imports_with_the_pinned_requirements():
    # The image installs requirements.txt, so a Celery release the provider
    # cannot import breaks every worker and scheduler of the stack.
    result = subprocess.run(
        [sys.executable, "-c", "import airflow.providers.celery.executors.celery_executor as m; print(m.app.main)"],
        env={**os.environ, "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor", "AIRFLOW__CORE__LOAD_EXAMPLES": "false"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"CeleryExecutor does not import: {result.stderr.strip().splitlines()[-1:]}"


@pytest.mark.slow  # imports Airflow in a subprocess: 10-20 s on 2 busy cores
def test_init_login_file_is_what_the_simple_auth_manager_reads(services, tmp_path):
    # Run airflow-init's own one-liner, then let Airflow's SimpleAuthManager
    # start on that file: it must keep the password from .env, not generate one.
    script = "\n".join(services["airflow-init"]["command"])
    writer = re.search(r"^\s*(python -c '[^']*')", script, re.MULTILINE)
    assert writer, "airflow-init no longer writes the password file with python -c"
    passwords = tmp_path / "passwords.json"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW_ADMIN_USER": "admin",
        "AIRFLOW_ADMIN_PASSWORD": "from-dot-env-1234",
    }
    subprocess.run(["bash", "-c", f"{writer[1]} > {passwords}"], env=env, check=True, timeout=30)

    auth_env = _environment(services["airflow-apiserver"])
    env["AIRFLOW__CORE__AUTH_MANAGER"] = auth_env["AIRFLOW__CORE__AUTH_MANAGER"]
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = "admin:admin"
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(passwords)
    check = (
        "from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager as M\n"
        "M().init()\n"
        "print({u.username: u.role for u in M.get_users()}, M.get_passwords())\n"
    )
    result = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "{'admin': 'admin'} {'admin': 'from-dot-env-1234'}" in result.stdout
