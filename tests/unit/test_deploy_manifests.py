"""deploy/ is code too: the Kubernetes manifests validate against the API schemas."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

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


def test_every_deployment_probes_grpc_health() -> None:
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            if document and document["kind"] == "Deployment":
                (container,) = document["spec"]["template"]["spec"]["containers"]
                assert "grpc" in container["readinessProbe"], path.name
