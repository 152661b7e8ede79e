"""The settings the deployment files name exist, and the values they give are valid."""

from __future__ import annotations

import base64
import ipaddress
import os
import re

import pytest

from services.config import Settings
from tests.deploy.files import (
    DEPLOY,
    K8S,
    SECRETS,
    SHARED_SECRETS,
    VARIABLE,
    compose,
    env_lines,
    settings_variables,
    yaml_documents,
)

EXAMPLE = DEPLOY / "breachledger.env.example"


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings read from exactly ``env`` (other BREACH_* variables removed)."""
    for name in list(os.environ):
        if name.startswith("BREACH_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_every_variable_named_in_deploy_is_a_settings_field() -> None:
    """Each BREACH_* name in any file under deploy/ is the variable of a Settings field."""
    named: dict[str, set[str]] = {}
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            for name in VARIABLE.findall(path.read_text(encoding="utf-8")):
                named.setdefault(name, set()).add(str(path.relative_to(DEPLOY)))
    assert len(named) > 30
    unknown = {n: sorted(files) for n, files in named.items() if n not in settings_variables()}
    assert unknown == {}


def test_env_example_names_every_setting() -> None:
    """The example env file lists every setting, each once."""
    names = [name for name, _, _ in env_lines(EXAMPLE)]
    assert len(names) == len(set(names))
    assert set(names) == settings_variables()


def test_env_example_carries_no_secret() -> None:
    """Secret settings in the example are empty, commented out, or an obvious placeholder."""
    for name, value, active in env_lines(EXAMPLE):
        if name not in SECRETS or not active:
            continue
        if name == "BREACH_DATABASE_URL":
            assert "CHANGE-ME" in value
        elif name == "BREACH_SMTP_URL":
            assert "@" not in value
        else:
            assert value == "", name
    active = {name for name, _, on in env_lines(EXAMPLE) if on}
    assert set(SHARED_SECRETS) <= active


def test_env_example_is_valid_once_the_secrets_are_filled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The example's active lines, with the three keys filled in, are valid settings of a
    distributed deployment."""
    env = {name: value for name, value, active in env_lines(EXAMPLE) if active}
    env |= {
        n: key() for n in ("BREACH_VAULT_MASTER_KEY", "BREACH_LOOKUP_SECRET", "BREACH_AUDIT_KEY")
    }
    settings = settings_from(env, monkeypatch)
    assert settings.database_url is not None
    assert settings.kafka_bootstrap_servers
    assert (settings.http_host, settings.http_port, settings.metrics_port) == (
        "0.0.0.0",
        8400,
        9400,
    )
    assert settings.smtp_url is not None
    assert settings.smtp_url.get_secret_value().startswith("smtp://")


def test_configmap_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ConfigMap's data reads as valid settings, and holds no secret."""
    [configmap] = yaml_documents(K8S / "configmap.yaml")
    data = configmap["data"]
    assert all(isinstance(v, str) for v in data.values())
    assert not set(data) & SECRETS
    settings = settings_from(data, monkeypatch)
    assert settings.kafka_bootstrap_servers
    assert settings.metrics_port == 9400


def test_compose_environment_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment compose gives breachledger's services reads as valid settings once
    its interpolations are given values."""
    env = compose()["services"]["api"]["environment"]
    filled = {name: re.sub(r"\$\{[^}]+\}", "s3cret", str(value)) for name, value in env.items()}
    settings = settings_from(filled, monkeypatch)
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value().startswith("postgresql://breachledger:s3cret@")
    assert settings.smtp_url is not None
    assert settings.smtp_url.get_secret_value() == "smtp://mailpit:1025"


def test_forwarding_headers_are_believed_only_from_a_named_ingress() -> None:
    """By default no forwarding header is believed; the ConfigMap trusts single addresses
    only (never a network or '*'), under a comment marking them as the placeholder for the
    ingress controller's; the env example leaves the setting at its default."""
    name = "BREACH_HTTP_FORWARDED_ALLOW_IPS"
    assert Settings.model_fields["http_forwarded_allow_ips"].default == ""
    [configmap] = yaml_documents(K8S / "configmap.yaml")
    trusted = [entry.strip() for entry in configmap["data"][name].split(",")]
    assert trusted
    for entry in trusted:
        ipaddress.ip_address(entry)  # a single address: a network or '*' raises
    lines = (K8S / "configmap.yaml").read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{name}:"))
    comment = []
    for line in reversed(lines[:at]):
        if not line.strip().startswith("#"):
            break
        comment.append(line)
    assert "PLACEHOLDER" in " ".join(comment)
    assert "ingress controller" in " ".join(comment)
    assert (name, "", False) in env_lines(EXAMPLE)
