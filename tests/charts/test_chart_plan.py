"""The real planner's values for the CDN/VoD service, rendered by the charts the packages ship."""

from __future__ import annotations

import json

import pytest
import yaml

from osm_l2net import api
from osm_l2net.core.model import NsInstance
from osm_l2net.core.planner import build_plan
from osm_l2net.local.packages import load_descriptors

pytestmark = pytest.mark.helm

NS_ID = "5e0b7c2a-1111-4222-8333-444455556666"


@pytest.fixture(scope="module")
def plan(request):
    root = request.config.rootpath / "descriptors"
    packages = ["vod_service_ns", "cdn_server_knf", "router_firewall_knf", "content_server_knf"]
    descriptors = load_descriptors([root / p for p in packages])
    return build_plan(descriptors, NsInstance(NS_ID, "vod-service-deployment"))


def test_every_kdu_uses_the_chart_of_its_package(plan, chart_dirs):
    assert {k.kdu_name: k.chart_path for k in plan.kdus} == {name: str(d) for name, d in chart_dirs.items()}


def test_chart_renders_the_plan(chart, plan, render, commands_of, l2net_expected):
    kdu = next(k for k in plan.kdus if k.kdu_name == chart)
    out = render(chart, json.loads(json.dumps(dict(kdu.values))))  # plain data, as the helm adapter writes it
    meta = out.pod_metadata
    assert meta["labels"] == {**kdu.pod_labels, **out.selector_labels}
    assert {k: v for k, v in meta["annotations"].items() if not k.startswith("checksum/")} == dict(kdu.pod_annotations)
    commands = commands_of(out.script(out.init_container("l2net")))
    assert commands == l2net_expected({
        "interfaces": [i.as_dict() for i in kdu.interfaces],
        "routes": [r.as_dict() for r in kdu.routes],
        "forwarding": kdu.forwarding,
    })
    assert [c[3] for c in commands if c[:3] == ["ip", "addr", "replace"]] == [i.ip for i in kdu.interfaces]


def test_the_pocs_config_names_the_router_deployment(request, render):
    """examples/cdn_vod/config.yaml → KDU params → values: `kubectl scale deploy router-server-knf` finds it."""
    root = request.config.rootpath
    config = yaml.safe_load((root / "examples" / "cdn_vod" / "config.yaml").read_text())
    packages = [root / "descriptors" / p for p in ("vod_service_ns", "cdn_server_knf", "router_firewall_knf",
                                                   "content_server_knf")]
    plan = api.plan(packages, ns_name="vod-service-deployment", ns_id=NS_ID, config=config)
    names = {}
    for kdu in plan.kdus:
        out = render(kdu.kdu_name, json.loads(json.dumps(dict(kdu.values))), release=f"{kdu.kdu_name}-0123456789")
        names[kdu.kdu_name] = out.get("Deployment")["metadata"]["name"]
    assert names == {"router-firewall": "router-server-knf", "cdn-server": "cdn-server-0123456789",
                     "content-server": "content-server-0123456789"}
