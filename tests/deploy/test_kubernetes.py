"""The Kubernetes manifests: a valid shape for each kind, the API and every worker kind,
probes on the right paths and ports, locked-down pods, and secrets only by reference."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from tests.deploy.files import K8S, SECRETS, SHARED_SECRETS, WORKER_KINDS, manifests

API_VERSIONS = {
    "ConfigMap": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "PodDisruptionBudget": "policy/v1",
    "Job": "batch/v1",
}
SHAPES: dict[str, dict[str, type]] = {
    "ConfigMap": {"data": dict},
    "Service": {"spec.selector": dict, "spec.ports": list},
    "Deployment": {
        "spec.replicas": int,
        "spec.selector.matchLabels": dict,
        "spec.template.metadata.labels": dict,
        "spec.template.spec.containers": list,
        "spec.template.spec.securityContext": dict,
        "spec.template.spec.volumes": list,
    },
    "PodDisruptionBudget": {"spec.selector.matchLabels": dict},
    "Job": {
        "spec.template.spec.containers": list,
        "spec.template.spec.restartPolicy": str,
        "spec.template.spec.securityContext": dict,
    },
}
"""Fields each kind must have, with their type (a small schema of what the files use)."""
CONTAINER: dict[str, type] = {
    "name": str,
    "image": str,
    "resources.requests.cpu": str,
    "resources.requests.memory": str,
    "resources.limits.cpu": str,
    "resources.limits.memory": str,
    "securityContext": dict,
    "envFrom": list,
    "env": list,
    "volumeMounts": list,
}
SECRET_NAME = "breachledger-secrets"


def at(doc: Any, path: str) -> Any:
    """The value at a dotted path (KeyError when absent)."""
    for part in path.split("."):
        doc = doc[part]
    return doc


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {name: doc for name, doc in manifests().items() if doc["kind"] == kind}


def pods() -> dict[str, dict[str, Any]]:
    """The pod template of every Deployment and Job, by file name."""
    return {
        name: doc["spec"]["template"]
        for name, doc in manifests().items()
        if doc["kind"] in ("Deployment", "Job")
    }


def deployment(component: str) -> dict[str, Any]:
    [found] = [
        d
        for d in of_kind("Deployment").values()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    return found


def container(doc: dict[str, Any]) -> dict[str, Any]:
    [only] = doc["spec"]["template"]["spec"]["containers"]
    assert isinstance(only, dict)
    return only


def port_number(c: dict[str, Any], port: int | str) -> int:
    """A probe's port, by number or by the name of a container port."""
    if isinstance(port, int):
        return port
    [number] = [p["containerPort"] for p in c["ports"] if p["name"] == port]
    return int(number)


def test_every_manifest_has_a_valid_shape_for_its_kind() -> None:
    """apiVersion, kind and a name on every manifest, no namespace (they are applied with
    -n), and the fields of its kind with their types; containers complete."""
    found = manifests()
    assert {d["kind"] for d in found.values()} == set(API_VERSIONS)
    for name, doc in found.items():
        assert doc["apiVersion"] == API_VERSIONS[doc["kind"]], name
        assert doc["metadata"]["name"].startswith("breachledger-"), name
        assert "namespace" not in doc["metadata"], name
        assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "breachledger", name
        for path, kind in SHAPES[doc["kind"]].items():
            assert isinstance(at(doc, path), kind), (name, path)
        for c in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            for path, kind in CONTAINER.items():
                assert isinstance(at(c, path), kind), (name, path)
            assert c["image"] == "breachledger"


def test_kustomization_lists_every_manifest_but_the_init_job() -> None:
    """`kubectl apply -k` applies every manifest of the directory except the one-shot Job,
    and every resource it lists exists."""
    [kustomization] = list(yaml.safe_load_all((K8S / "kustomization.yaml").read_text()))
    listed = set(kustomization["resources"])
    assert all((K8S / r).is_file() for r in listed)
    assert listed == set(manifests()) - {"init-job.yaml"}
    assert of_kind("Job") == {"init-job.yaml": manifests()["init-job.yaml"]}


def test_deployments_run_the_api_and_each_worker_kind() -> None:
    """The API serves without in-process workers (two replicas); one Deployment per worker
    kind runs `breach worker KIND`, two dispatchers, one relay."""
    components = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]
        for d in of_kind("Deployment").values()
    }
    assert components == {"api", *WORKER_KINDS}
    assert container(deployment("api"))["args"] == ["serve", "--no-workers"]
    assert deployment("api")["spec"]["replicas"] == 2
    for kind in WORKER_KINDS:
        assert container(deployment(kind))["args"] == ["worker", kind]
    assert deployment("dispatcher")["spec"]["replicas"] == 2
    assert deployment("relay")["spec"]["replicas"] == 1


def test_selectors_pick_the_intended_pods() -> None:
    """Each Deployment selects its own pods; the Service and the PodDisruptionBudget select
    the API's, the Service on the API container's named port, the budget below the
    replicas."""
    for name, doc in of_kind("Deployment").items():
        selector = doc["spec"]["selector"]["matchLabels"]
        assert selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items(), name
    api = deployment("api")
    labels = api["spec"]["template"]["metadata"]["labels"]
    [service] = of_kind("Service").values()
    assert service["spec"]["selector"].items() <= labels.items()
    [port] = service["spec"]["ports"]
    assert port_number(container(api), port["targetPort"]) == 8400
    [budget] = of_kind("PodDisruptionBudget").values()
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert 0 < budget["spec"]["minAvailable"] < api["spec"]["replicas"]
    for name, doc in of_kind("Deployment").items():
        if name != "api-deployment.yaml":
            other = doc["spec"]["template"]["metadata"]["labels"]
            assert not budget["spec"]["selector"]["matchLabels"].items() <= other.items(), name


def test_api_probes_ask_readyz_and_healthz_on_the_container_port() -> None:
    """Readiness asks /readyz and liveness (and start-up) /healthz, on the port the API
    listens on (BREACH_HTTP_PORT of the ConfigMap)."""
    [configmap] = of_kind("ConfigMap").values()
    c = container(deployment("api"))
    http = int(configmap["data"]["BREACH_HTTP_PORT"])
    assert [p["containerPort"] for p in c["ports"]] == [http]
    probes = {k: c[k]["httpGet"] for k in ("readinessProbe", "livenessProbe", "startupProbe")}
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["startupProbe"]["path"] == "/healthz"
    assert {port_number(c, p["port"]) for p in probes.values()} == {http}


def test_worker_liveness_asks_the_metrics_port() -> None:
    """A worker, which has no HTTP API, is alive while its metrics endpoint answers on
    BREACH_METRICS_PORT."""
    [configmap] = of_kind("ConfigMap").values()
    metrics = int(configmap["data"]["BREACH_METRICS_PORT"])
    for kind in WORKER_KINDS:
        c = container(deployment(kind))
        probe = c["livenessProbe"]["httpGet"]
        assert probe["path"] == "/metrics"
        assert port_number(c, probe["port"]) == metrics
        assert "readinessProbe" not in c


def test_pods_run_locked_down() -> None:
    """Non-root with a fixed uid, default seccomp, no service account token, read-only
    root, no privilege escalation, no capabilities; /tmp and the folder holding the data
    directory are writable emptyDir volumes (the data directory is a folder breachledger
    creates private inside its volume: kubelet makes the volume itself writable by all)."""
    [configmap] = of_kind("ConfigMap").values()
    data_dir = PurePosixPath(configmap["data"]["BREACH_DATA_DIR"])
    writable = {str(data_dir.parent), "/tmp"}
    for name, pod in pods().items():
        spec = pod["spec"]
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True, name
        assert security["runAsUser"] != 0, name
        assert security["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in spec["containers"]:
            context = c["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert set(mounts) == writable, name
            assert all("emptyDir" in volumes[v] for v in mounts.values()), name


def test_secrets_are_referenced_never_given() -> None:
    """Secret settings come only from the Secret by reference; every pod gets the shared
    secrets (required), the dispatchers the SMTP URL; no Secret manifest is shipped."""
    [configmap] = of_kind("ConfigMap").values()
    for name, pod in pods().items():
        [c] = pod["spec"]["containers"]
        assert c["envFrom"] == [{"configMapRef": {"name": configmap["metadata"]["name"]}}]
        required = set()
        for entry in c["env"]:
            if entry["name"] in SECRETS:
                assert "value" not in entry, (name, entry["name"])
                ref = entry["valueFrom"]["secretKeyRef"]
                assert ref["name"] == SECRET_NAME
                if not ref.get("optional", False):
                    required.add(entry["name"])
        assert set(SHARED_SECRETS) <= required, name
    assert "BREACH_SMTP_URL" in {e["name"] for e in container(deployment("dispatcher"))["env"]}
    assert not [p for p in K8S.glob("*.yaml") if "kind: Secret" in p.read_text()]


def test_kustomize_renders_the_directory() -> None:
    """`kubectl kustomize` builds the directory offline: every listed object, labelled as
    part of breachledger, with the image tag set (skipped without kubectl)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    done = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    objects = [d for d in yaml.safe_load_all(done.stdout) if d]
    assert len(objects) == len(manifests()) - 1
    for doc in objects:
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "breachledger"
        for c in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            assert c["image"] == "breachledger:0.1.0"
