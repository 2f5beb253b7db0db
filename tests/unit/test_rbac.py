"""The shipped RBAC grants exactly what the cluster adapter calls: no verb more, none missing."""

from __future__ import annotations

import ast
import re

import yaml

from tests.conftest import REPO

# official-client method prefix → RBAC verb
VERBS = {"create": "create", "get": "get", "list": "list", "patch": "patch", "delete": "delete"}


def called_verbs() -> dict[str, set[str]]:
    """Verbs per resource kind, read from the client calls in osm_l2net/kube/client.py (the only kubernetes user)."""
    source = (REPO / "osm_l2net" / "kube" / "client.py").read_text()
    found: dict[str, set[str]] = {"custom": set(), "pods": set(), "namespaces": set()}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            owner, method = node.value.attr, node.attr
            verb = VERBS.get(method.split("_")[0])
            if owner == "_co" and verb:
                found["custom"].add(verb)
            elif owner == "_core" and verb and "pod" in method:
                found["pods"].add(verb)
            elif owner == "_core" and verb and method.endswith("_namespace"):
                found["namespaces"].add(verb)
    if re.search(r"watch\.Watch\(", source):  # every list is also watched while waiting
        found["custom"].add("watch")
        found["pods"].add("watch")
    return found


def test_rbac_matches_the_adapter_exactly() -> None:
    docs = list(yaml.safe_load_all((REPO / "deploy" / "rbac.yaml").read_text()))
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    rules = {(g, r): set(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    calls = called_verbs()
    assert rules[("l2sm.l2sm.k8s.local", "l2networks")] == calls["custom"]
    assert rules[("k8s.cni.cncf.io", "network-attachment-definitions")] == calls["custom"]
    assert rules[("", "pods")] == calls["pods"] == {"list", "watch"}
    assert rules[("", "namespaces")] == calls["namespaces"] == {"create"}
    assert len(rules) == 4, "nothing beyond networks, pods and namespace creation"
    assert not any("*" in verbs for verbs in rules.values())


def test_the_preflight_role_grants_exactly_its_reads_in_the_l2sm_namespace() -> None:
    from osm_l2net.core import preflight
    from osm_l2net.kube.preflight import OVERLAYS

    docs = list(yaml.safe_load_all((REPO / "deploy" / "rbac.yaml").read_text()))
    role = next(d for d in docs if d["kind"] == "Role")
    binding = next(d for d in docs if d["kind"] == "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == preflight.L2SM_NAMESPACE
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    rules = {(g, r): (set(rule["verbs"]), tuple(rule.get("resourceNames", ())))
             for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert rules == {("apps", "deployments"): ({"get"}, (preflight.OPERATOR,)),
                     ("", "services"): ({"get"}, (preflight.WEBHOOK_SERVICE,)),
                     ("discovery.k8s.io", "endpointslices"): ({"list"}, ()),
                     (OVERLAYS.group, OVERLAYS.plural): ({"list"}, ())}
    source = (REPO / "osm_l2net" / "kube" / "client.py").read_text()
    calls = set(re.findall(r"\.((?:read|list|get|create|patch|delete|watch)_[a-z_]+)", source))
    # the reads the Role is for, and no write among the pre-flight's calls
    assert {"read_namespaced_deployment", "read_namespaced_service", "list_namespaced_endpoint_slice"} <= calls
    assert not {c for c in calls if "deployment" in c or "service" in c or "endpoint" in c} - {
        "read_namespaced_deployment", "read_namespaced_service", "list_namespaced_endpoint_slice"}
