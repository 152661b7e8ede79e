"""The Dockerfile: a slim Python 3.11 base, the package installed with its templates where
the code looks for them, a non-root user, a health check that works, no secret baked in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.deploy.files import DEPLOY, SECRETS, compose
from tests.support.server import start_server

DOCKERFILE = DEPLOY / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = pending + line
        pending = ""
        name, _, rest = whole.partition(" ")
        out.append((name.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    """The instructions of the last stage (the image that runs)."""
    steps = instructions()
    last = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    return steps[last:]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, rest in stage:
        if name == "ENV":
            found |= dict(re.findall(r"(\w+)=(\S+)", rest))
    return found


def healthcheck_command() -> list[str]:
    [check] = [rest for name, rest in final_stage() if name == "HEALTHCHECK"]
    command = json.loads(check[check.index("CMD") + 3 :].strip())
    assert isinstance(command, list)
    return [str(part) for part in command]


def test_base_is_slim_python_311() -> None:
    """Both stages start from the slim Python 3.11 image."""
    steps = instructions()
    [default] = [rest for name, rest in steps if name == "ARG" and "PYTHON_IMAGE=" in rest]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", default)
    assert [rest for name, rest in steps if name == "FROM"] == [
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]


def test_the_package_is_installed_with_its_templates_where_the_code_looks() -> None:
    """pip installs the checkout; the templates land in site-packages/templates, which is
    where the dashboard (services/web/render.py) and the default templates_dir look from
    an installed package, and BREACH_TEMPLATES_DIR names the same place."""
    steps = instructions()
    assert ("RUN", "pip install .") in steps
    [templates] = [rest for name, rest in steps if name == "COPY" and rest.startswith("templates")]
    destination = templates.split()[1]
    assert re.fullmatch(r"/opt/venv/lib/python3\.11/site-packages/templates", destination)
    assert env_of(final_stage())["BREACH_TEMPLATES_DIR"] == destination
    render = (DEPLOY.parent / "services" / "web" / "render.py").read_text(encoding="utf-8")
    assert 'parents[2] / "templates" / "web"' in render
    assert any(
        name == "COPY" and "--from=build /opt/venv /opt/venv" in rest for name, rest in steps
    )


def test_the_image_runs_breach_as_a_non_root_user() -> None:
    """The last USER is the unprivileged uid the useradd created; the entrypoint is
    `breach` and the default command the stateless API."""
    stage = final_stage()
    users = [rest for name, rest in stage if name == "USER"]
    assert users
    assert users[-1] == "10001:10001"
    [created] = [rest for name, rest in stage if name == "RUN" and "useradd" in rest]
    assert "--uid 10001" in created
    assert ("ENTRYPOINT", '["breach"]') in stage
    assert ("CMD", '["serve", "--no-workers"]') in stage
    env = env_of(stage)
    assert ("EXPOSE", env["BREACH_HTTP_PORT"]) in stage
    assert env["BREACH_HTTP_HOST"] == "0.0.0.0"


def test_no_secret_is_baked_in() -> None:
    """No ENV or ARG sets a secret setting, and nothing secret-looking is copied in."""
    for name, rest in instructions():
        if name in ("ENV", "ARG"):
            assert not any(secret in rest for secret in SECRETS), rest
        if name in ("COPY", "ADD"):
            assert not re.search(r"\.env\b|secret|\.key\b", rest), rest


def test_build_context_lets_in_only_what_the_image_copies() -> None:
    """The Dockerfile's ignore file excludes everything but the sources it copies."""
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "**"
    allowed = {r[1:].removesuffix("/**") for r in rules if r.startswith("!")}
    copied = {
        rest.split()[0]
        for name, rest in instructions()
        if name == "COPY" and not rest.startswith("--from")
    }
    sources = {part for rest in copied for part in rest.split() if part != "./"}
    assert sources <= allowed | {"pyproject.toml", "README.md"}
    assert allowed == {"pyproject.toml", "README.md", "events", "services", "templates"}


def test_health_checks_pass_on_a_running_api_and_fail_without_one(tmp_path: Path) -> None:
    """The image's HEALTHCHECK and compose's API check succeed against a running
    `breach serve --no-workers` and fail once it has stopped."""
    image_check = healthcheck_command()
    assert image_check[:2] == ["python", "-c"]
    compose_check = compose()["services"]["api"]["healthcheck"]["test"]
    assert compose_check[:3] == ["CMD", "python", "-c"]
    server = start_server(tmp_path / "var", "--no-workers")
    port = server.url.rsplit(":", 1)[1]
    env = {**os.environ, "BREACH_HTTP_PORT": port}
    checks = [
        [sys.executable, "-c", image_check[2]],
        [sys.executable, "-c", compose_check[3].replace(":8400/", f":{port}/")],
    ]
    try:
        for check in checks:
            done = subprocess.run(check, env=env, capture_output=True, check=False, timeout=10)
            assert done.returncode == 0, done.stderr
    finally:
        server.stop()
    for check in checks:
        done = subprocess.run(check, env=env, capture_output=True, check=False, timeout=10)
        assert done.returncode != 0
