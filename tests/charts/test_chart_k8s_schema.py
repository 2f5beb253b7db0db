"""Every object the charts render is a valid Kubernetes object: strict validation (unknown fields are errors, as
with `kubectl apply`'s server-side field validation) against the OpenAPI schemas of Kubernetes 1.32, the version of
the kubectl that scripts/fetch-helm installs. Schemas come from the kubernetes-validate package, offline."""

from __future__ import annotations

import pytest

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is not installed (pip install 'kubernetes-validate>=1.32')")

pytestmark = pytest.mark.helm

K8S_VERSION = "1.32.0"


@pytest.mark.parametrize("injected", [False, True], ids=["bare", "injected"])
def test_rendered_objects_match_the_kubernetes_schemas(chart, render, cdn_values, injected):
    out = render(chart, cdn_values[chart] if injected else None, "--set", "service.enabled=true")
    expected = ["ConfigMap", "Deployment"] + ([] if chart == "router-firewall" else ["Service"])
    assert sorted(d["kind"] for d in out.docs) == expected
    for doc in out.docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {e.message} at {list(e.path)}")


def test_the_validator_rejects_a_misspelt_field(render):
    """The check above can fail: a misspelt securityContext key is caught."""
    doc = render("cdn-server").get("Deployment")
    doc["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
