"""deploy/ is code too: the Kubernetes manifests validate against the API schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from harbour.runtime.settings import SERVICES

MANIFESTS = sorted((Path(__file__).resolve().parents[2] / "deploy" / "kubernetes").glob("*.yaml"))
KUBERNETES_VERSION = "1.30"


def test_there_are_manifests() -> None:
    assert MANIFESTS, "deploy/kubernetes/ holds no manifests"


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_kubernetes(path: Path) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        labels = document["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "harbour-ledger", path.name


def _deployments() -> list[dict[str, Any]]:
    return [
        document
        for path in MANIFESTS
        for document in yaml.safe_load_all(path.read_text())
        if document and document["kind"] == "Deployment"
    ]


def _served(deployment: dict[str, Any]) -> str | None:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    return str(args[1]) if args[0] == "serve" else None


def test_every_service_has_a_deployment_and_a_projector_runs() -> None:
    served = {_served(d) for d in _deployments()}
    assert set(SERVICES) <= served
    assert any(
        d["spec"]["template"]["spec"]["containers"][0]["args"] == ["project"]
        for d in _deployments()
    )


def test_every_service_deployment_listens_where_it_is_probed() -> None:
    for deployment in _deployments():
        if _served(deployment) is None:
            continue
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        (port,) = container["ports"]
        # `serve` listens on HARBOUR_PORT; without it, on base + index — not the probed port.
        assert env.get("HARBOUR_PORT") == str(port["containerPort"]), _served(deployment)
        assert container["readinessProbe"]["grpc"]["port"] == port["containerPort"]


def test_compose_runs_every_service_and_the_projector() -> None:
    compose = yaml.safe_load((MANIFESTS[0].parents[1] / "compose.yaml").read_text())
    commands = {tuple(s.get("command", ())) for s in compose["services"].values()}
    assert {("serve", name) for name in SERVICES} <= commands
    assert ("project",) in commands
