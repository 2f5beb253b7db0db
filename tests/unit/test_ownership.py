"""Ownership is decided once, in the plan: ``core.plan.owner_labels(ns_id)`` is the one place an NS id becomes a
label value; the planner labels with it, ``Plan.owner_labels`` returns it, and no adapter re-derives it."""

from __future__ import annotations

import ast

import pytest

from osm_l2net import api
from osm_l2net.core.names import LABEL_VALUE
from osm_l2net.core.options import PlanOptions
from osm_l2net.core.plan import LABEL_MANAGED_BY, LABEL_NS_ID, MANAGED_BY, Plan, owner_labels
from osm_l2net.kube.state import is_ours, label_selector
from tests.conftest import CDN_PACKAGES, REPO

NS_IDS = ["6f1c9a52-3c43-4c1e-9d6b-1f2a3b4c5d6e",  # OSM's nsr ids are valid label values: kept verbatim
          "NS 42/ünïcode " + "x" * 60]  # not one: sanitised and hashed, the same way everywhere


@pytest.mark.parametrize("provider", ["l2sm", "l2sm-nad", "multus"])
@pytest.mark.parametrize("ns_id", NS_IDS)
def test_the_plans_owner_labels_are_on_every_object_it_creates(ns_id: str, provider: str) -> None:
    plan = api.plan(CDN_PACKAGES, ns_name="vod", ns_id=ns_id, options=PlanOptions(provider=provider))
    owner = plan.owner_labels
    assert owner == owner_labels(ns_id) == {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: owner[LABEL_NS_ID]}
    assert all(LABEL_VALUE.fullmatch(v) and len(v) <= 63 for v in owner.values()), owner
    for net in plan.networks:
        labels = net.manifest["metadata"]["labels"]
        assert {k: labels[k] for k in owner} == owner, net.name
        assert is_ours(net.manifest)
    attached = [k for k in plan.kdus if k.interfaces]
    assert attached and all(k.pod_labels[LABEL_NS_ID] == owner[LABEL_NS_ID] for k in attached), \
        "the pods carry the ns-id label the removal waits on"
    assert Plan.from_dict(plan.as_dict()).owner_labels == owner, "a plan read back from JSON selects the same"
    assert label_selector(owner) == f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_NS_ID}={owner[LABEL_NS_ID]}"


def test_the_selector_of_all_ours_needs_no_ns() -> None:
    assert label_selector(None) == f"{LABEL_MANAGED_BY}={MANAGED_BY}"


def _calls_label_value(path: str) -> bool:
    tree = ast.parse((REPO / "osm_l2net" / path).read_text())
    return any(isinstance(n, ast.Name | ast.Attribute) and getattr(n, "id", getattr(n, "attr", None)) == "label_value"
               for n in ast.walk(tree))


def test_no_adapter_turns_an_ns_id_into_a_label_value_itself() -> None:
    """Outside the core, the ownership labels are read from the plan or from ``owner_labels``, never re-derived."""
    files = sorted(str(p.relative_to(REPO / "osm_l2net")) for p in (REPO / "osm_l2net").rglob("*.py"))
    offenders = [f for f in files if not f.startswith("core/") and _calls_label_value(f)]
    assert "core/plan.py" in files and _calls_label_value("core/plan.py"), "the check must be able to see a use"
    assert offenders == []
