"""Reading the deployment files: paths, YAML documents, env files, unit files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from services.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
SYSTEMD = DEPLOY / "systemd"
VARIABLE = re.compile(r"\bBREACH_[A-Z0-9_]+\b")
SECRETS = frozenset(
    {
        "BREACH_DATABASE_URL",
        "BREACH_VAULT_MASTER_KEY",
        "BREACH_LOOKUP_SECRET",
        "BREACH_AUDIT_KEY",
        "BREACH_CIPHER_KEY",
        "BREACH_INTAKE_SECRET",
        "BREACH_KAFKA_SASL_PASSWORD",
        "BREACH_SMTP_URL",
    }
)
"""Settings that carry secrets: they never appear with a value in the deployment files."""
SHARED_SECRETS = (
    "BREACH_DATABASE_URL",
    "BREACH_VAULT_MASTER_KEY",
    "BREACH_LOOKUP_SECRET",
    "BREACH_AUDIT_KEY",
)
"""Secrets every process must receive, with the same values everywhere."""
WORKER_KINDS = ("relay", "chain", "projections", "policies", "dispatcher", "alerts", "webhooks")


def settings_variables() -> set[str]:
    """The environment variable of every settings field."""
    return {f"BREACH_{name.upper()}" for name in Settings.model_fields}


def yaml_documents(path: Path) -> list[Any]:
    """Every YAML document in a file."""
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def compose() -> dict[str, Any]:
    """The compose file, merge keys resolved."""
    [doc] = yaml_documents(DEPLOY / "compose.yaml")
    assert isinstance(doc, dict)
    return doc


def manifests() -> dict[str, dict[str, Any]]:
    """Every Kubernetes manifest (kustomization excluded), by file name."""
    out = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        [doc] = yaml_documents(path)
        out[path.name] = doc
    return out


def env_lines(path: Path) -> list[tuple[str, str, bool]]:
    """(name, value, active) of each ``NAME=value`` line of an env file, commented-out
    ones included (active False)."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        active = not line.startswith("#")
        body = line.lstrip("#").strip()
        found = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", body)
        if found:
            out.append((found.group(1), found.group(2), active))
    return out


def unit_entries(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of every assignment of a systemd unit, repeated keys kept."""
    section = ""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out
