"""The compose file: the services of the distributed mode, their images, health checks,
start order, environment files, and no secret written into it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.files import DEPLOY, SECRETS, WORKER_KINDS, compose
from tests.support.smtp import free_port

BREACH = ("init", "api", *WORKER_KINDS)
"""The services running the breachledger image."""
INFRASTRUCTURE = ("postgres", "kafka", "mailpit")
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
INTERPOLATED = re.compile(r"^\$\{[A-Z_]+(:?[-?][^}]*)?\}$")


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def depends(service: dict[str, Any]) -> dict[str, str]:
    """What a service waits for, and on which condition."""
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


def test_every_service_of_the_distributed_mode_is_there() -> None:
    """PostgreSQL, Kafka, Mailpit, the one-shot init, the API and every worker kind."""
    assert set(services()) == {*INFRASTRUCTURE, *BREACH}


def test_images_are_the_intended_ones() -> None:
    """Official PostgreSQL and Apache Kafka images (KRaft, no ZooKeeper), Mailpit, and the
    breachledger image built from deploy/Dockerfile for every breachledger service."""
    s = services()
    assert s["postgres"]["image"].startswith("postgres:")
    kafka = s["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in k for k in kafka["environment"])
    assert s["mailpit"]["image"].startswith("axllent/mailpit:")
    for name in BREACH:
        build = s[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (
            DEPLOY / "Dockerfile"
        ).resolve()
        assert s[name]["image"] == s["api"]["image"]


def test_commands_run_the_api_and_each_worker_kind() -> None:
    """The API serves without in-process workers; each worker service runs its kind; two
    API replicas and two dispatchers."""
    s = services()
    assert s["api"]["command"] == ["serve", "--no-workers"]
    for kind in WORKER_KINDS:
        assert s[kind]["command"] == ["worker", kind]
    assert s["api"]["deploy"]["replicas"] == 2
    assert s["dispatcher"]["deploy"]["replicas"] == 2


def test_long_running_services_have_health_checks() -> None:
    """Every service but the one-shot init has a health check command; the API's asks
    /readyz, a worker's its metrics endpoint on BREACH_METRICS_PORT."""
    s = services()
    for name, service in s.items():
        check = service.get("healthcheck", {})
        if name == "init":
            assert check.get("disable") is True
            continue
        assert check.get("test"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    assert "/readyz" in " ".join(s["api"]["healthcheck"]["test"])
    port = s["api"]["environment"]["BREACH_METRICS_PORT"]
    for kind in WORKER_KINDS:
        assert f"127.0.0.1:{port}/metrics" in " ".join(s[kind]["healthcheck"]["test"])


def test_start_order_waits_on_health_and_the_init() -> None:
    """Every condition names a service that exists (healthy only for one with a check);
    breachledger services wait for a healthy PostgreSQL and a completed init, Kafka users
    for a healthy Kafka, dispatchers for a healthy Mailpit."""
    s = services()
    for name, service in s.items():
        for target, condition in depends(service).items():
            assert target in s, (name, target)
            assert condition in CONDITIONS
            if condition == "service_healthy":
                assert not s[target].get("healthcheck", {}).get("disable"), (name, target)
    assert depends(s["init"]) == {"postgres": "service_healthy"}
    for name in ("api", *WORKER_KINDS):
        wanted = depends(s[name])
        assert wanted["postgres"] == "service_healthy"
        assert wanted["init"] == "service_completed_successfully"
    for name in ("relay", "projections", "policies"):
        assert depends(s[name])["kafka"] == "service_healthy"
    assert depends(s["dispatcher"])["mailpit"] == "service_healthy"


def test_settings_and_secrets_come_from_env_files() -> None:
    """breachledger services read the required breachledger.env; the database password is
    interpolated from the environment (deploy/.env), never written here."""
    s = services()
    for name in BREACH:
        files = s[name]["env_file"]
        assert {"path": "breachledger.env", "required": True} in files
    password = s["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert INTERPOLATED.match(password)
    url = s["api"]["environment"]["BREACH_DATABASE_URL"]
    assert re.match(r"^postgresql://breachledger:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:", url)


def test_no_literal_secret_is_written_in_the_compose_file() -> None:
    """No secret setting has a literal value in any service, and nothing in the file looks
    like a key."""
    for name, service in services().items():
        env = service.get("environment", {})
        for variable in SECRETS - {"BREACH_DATABASE_URL", "BREACH_SMTP_URL"}:
            assert variable not in env or INTERPOLATED.match(str(env[variable])), (name, variable)
        smtp = str(env.get("BREACH_SMTP_URL", ""))
        assert "@" not in smtp
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    assert not re.search(r"[A-Za-z0-9+/]{40,}={0,2}", text)


def test_init_refuses_to_go_on_without_the_shared_secrets() -> None:
    """The one-shot checks the three keys before creating anything, then runs `breach init`
    (the operator's command that creates the first account only when there is none)."""
    script = "\n".join(services()["init"]["command"])
    for name in ("BREACH_VAULT_MASTER_KEY", "BREACH_LOOKUP_SECRET", "BREACH_AUDIT_KEY"):
        assert name in script
    assert script.index("exit 1") < script.index("breach init")


def test_breachledger_containers_are_locked_down() -> None:
    """Read-only root file systems, no capabilities, no privilege escalation, no root user."""
    for name in BREACH:
        service = services()[name]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
        assert str(service.get("user", "breach")) not in ("0", "root")


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    """`docker compose config` validates the file with an env file made from the example
    (skipped where the compose plugin is not installed)."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed")
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    for name in ("compose.yaml", "Dockerfile"):
        shutil.copy(DEPLOY / name, tmp_path / name)
    shutil.copy(DEPLOY / "breachledger.env.example", tmp_path / "breachledger.env")
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=0123456789abcdef\n", encoding="utf-8")
    done = subprocess.run(
        [docker, "compose", "-f", str(tmp_path / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr


def test_worker_health_check_passes_on_a_running_worker(tmp_path: Path) -> None:
    """The workers' check succeeds against a `breach worker dispatcher` serving metrics on
    BREACH_METRICS_PORT, and fails once it has stopped."""
    test = services()["dispatcher"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    port = free_port()
    check = [sys.executable, "-c", test[3].replace(":9400/", f":{port}/")]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BREACH_")},
        "BREACH_DATA_DIR": str(tmp_path / "var"),
        "BREACH_METRICS_PORT": str(port),
        "BREACH_LOG_FORMAT": "json",
    }
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "breach"), "worker", "dispatcher"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(check, capture_output=True, check=False, timeout=10).returncode:
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "the worker's metrics never answered"
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    assert subprocess.run(check, capture_output=True, check=False, timeout=10).returncode != 0
