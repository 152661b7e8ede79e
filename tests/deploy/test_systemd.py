"""The systemd units: they parse, run the right `breach` command with the shared env file,
restart on failure, are hardened, and refuse to start without the shared secrets."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.files import SHARED_SECRETS, SYSTEMD, unit_entries

BREACH = "/opt/breachledger/venv/bin/breach"
SERVICES = {
    "breachledger-api.service": f"{BREACH} serve --no-workers",
    "breachledger-relay.service": f"{BREACH} worker relay",
    "breachledger-worker@.service": f"{BREACH} worker %i",
}
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "CapabilityBoundingSet": "",
    "SystemCallArchitectures": "native",
}


def values(path: Path, section: str, key: str) -> list[str]:
    return [v for s, k, v in unit_entries(path) if (s, k) == (section, key)]


def one(path: Path, section: str, key: str) -> str:
    [value] = values(path, section, key)
    return value


def guard(path: Path) -> str:
    """The shell script of a unit's ExecStartPre, as systemd hands it to /bin/sh."""
    shell, flag, script = shlex.split(one(path, "Service", "ExecStartPre"))
    assert (shell, flag) == ("/bin/sh", "-c")
    return script.replace("$$", "$")


def test_units_parse() -> None:
    """Every unit file reads as an INI file with the sections its type needs."""
    files = sorted(SYSTEMD.iterdir())
    assert {f.name for f in files} == {*SERVICES, "breachledger.target"}
    for path in files:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(path, encoding="utf-8")
        needed = {"Unit", "Install"} | ({"Service"} if path.suffix == ".service" else set())
        assert needed <= set(parser.sections()), path.name
        assert parser["Unit"]["Description"], path.name


def test_services_run_the_api_the_relay_and_a_worker_per_kind() -> None:
    """The API runs `breach serve --no-workers`, the relay `breach worker relay`, and the
    template `breach worker %i` with the kind as its instance."""
    for name, command in SERVICES.items():
        assert one(SYSTEMD / name, "Service", "ExecStart") == command


def test_services_read_the_shared_env_file_and_restart_on_failure() -> None:
    """Each service reads the shared env file (required) and its own (optional), runs as
    an unprivileged user with its state directory, and restarts after a failure."""
    for name in SERVICES:
        path = SYSTEMD / name
        assert values(path, "Service", "EnvironmentFile") == [
            "/etc/breachledger/breachledger.env",
            "-/etc/breachledger/%N.env",
        ]
        assert one(path, "Service", "User") not in ("root", "0")
        assert one(path, "Service", "StateDirectory") == "breachledger"
        assert one(path, "Service", "Restart") == "on-failure"
        assert one(path, "Service", "RestartSec")
        assert int(one(path, "Unit", "StartLimitBurst")) > 0
        assert "breachledger.target" in one(path, "Install", "WantedBy")


def test_services_are_hardened() -> None:
    """Each service sets the sandboxing options (no privileges, read-only system, private
    /tmp and devices, no capabilities, a system-call filter)."""
    for name in SERVICES:
        path = SYSTEMD / name
        for key, expected in HARDENING.items():
            assert one(path, "Service", key) == expected, (name, key)
        filters = values(path, "Service", "SystemCallFilter")
        assert "@system-service" in filters
        assert "~@privileged" in filters


def test_target_wants_every_unit() -> None:
    """breachledger.target starts the API, the relay and a worker of each kind."""
    wanted = " ".join(values(SYSTEMD / "breachledger.target", "Unit", "Wants")).split()
    assert set(wanted) == {
        "breachledger-api.service",
        "breachledger-relay.service",
        "breachledger-worker@projections.service",
        "breachledger-worker@policies.service",
        "breachledger-worker@dispatcher.service",
        "breachledger-worker@chain.service",
        "breachledger-worker@alerts.service",
        "breachledger-worker@webhooks.service",
    }


@pytest.mark.parametrize("missing", SHARED_SECRETS)
def test_a_service_refuses_to_start_without_a_shared_secret(missing: str) -> None:
    """The ExecStartPre guard fails naming the missing secret, and passes with them all."""
    script = guard(SYSTEMD / "breachledger-api.service")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREACH_")}
    env |= {name: "set" for name in SHARED_SECRETS}
    passed = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, check=False)
    assert passed.returncode == 0
    del env[missing]
    refused = subprocess.run(
        ["/bin/sh", "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 1
    assert f"{missing} is not set" in refused.stderr
    for name in SERVICES:
        assert guard(SYSTEMD / name) == script


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing to report in any unit (with ExecStart
    pointing at this checkout's `breach`; skipped where systemd-analyze is absent)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    breach = Path(sys.executable).parent / "breach"
    assert breach.exists()
    for path in SYSTEMD.iterdir():
        text = path.read_text(encoding="utf-8").replace(BREACH, str(breach))
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    instance = tmp_path / "breachledger-worker@dispatcher.service"
    shutil.copy(tmp_path / "breachledger-worker@.service", instance)
    units = [
        tmp_path / "breachledger-api.service",
        tmp_path / "breachledger-relay.service",
        instance,
        tmp_path / "breachledger.target",
    ]
    done = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    mentions = [line for line in done.stderr.splitlines() if "breachledger" in line]
    assert mentions == []
