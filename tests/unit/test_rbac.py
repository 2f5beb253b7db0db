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
