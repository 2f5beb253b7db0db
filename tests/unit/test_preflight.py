"""The L2S-M pre-flight's pure rules (osm_l2net/core/preflight.py): observations of a cluster -> findings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from osm_l2net.core.errors import EXIT_FAILURE, EXIT_INPUT
from osm_l2net.core.plan import Interface, KduPlan, NetworkPlan, Plan
from osm_l2net.core.preflight import (
    Observations,
    Operator,
    Overlay,
    Port,
    PreflightError,
    image_version,
    judge,
    ports_namespace,
)

SERVED = frozenset({"l2networks", "overlays", "networkedgedevices"})


def ports(n: int = 10, used: dict[str, int] | None = None, mtu: int | None = 1400) -> tuple[Port, ...]:
    """``n`` port NADs; ``used``: node -> how many of them are taken there (the first ones)."""
    taken = used or {}
    return tuple(Port(f"ov-veth{i}", "l2sm-system", frozenset(node for node, k in taken.items() if i <= k), mtu)
                 for i in range(1, n + 1))


def healthy(nodes: tuple[str, ...] = ("node-1",), **changes: object) -> Observations:
    obs = Observations(served=SERVED, nads_served=True,
                       operator=Operator("alexdecb/l2sm-controller-manager:2.8.7", "l2sm-system"),
                       overlays=(Overlay("ov", "l2sm-system", 10, nodes),), ports=ports(),
                       webhook_service=True, webhook_ready=1)
    return replace(obs, **changes)  # type: ignore[arg-type]


def plan(provider: str = "l2sm", interfaces: int = 2, replicas: int = 1, mtu: int | None = None) -> Plan:
    nets = tuple(NetworkPlan(f"vld{i}", f"net-{i}", f"10.0.{i}.0/24", "ipv4", None,
                             {"kind": "L2Network", "metadata": {"name": f"net-{i}"}}, mtu=mtu)
                 for i in range(1, interfaces + 1))
    ifaces = tuple(Interface(f"net{i}", n.vld_id, n.name, "cp", None) for i, n in enumerate(nets, start=1))
    kdu = KduPlan("m1", "vnfd", "kdu", "chart", None, "rel", "ns", replicas, False, ifaces, (), {}, {}, {})
    return Plan("ns-id", "ns", "nsd", "ns", provider, nets, (kdu,))


def errors(findings: tuple[object, ...]) -> list[str]:
    return [str(f.problem) for f in findings if f.error]  # type: ignore[attr-defined]


def warnings(findings: tuple[object, ...]) -> list[str]:
    return [str(f.problem) for f in findings if not f.error]  # type: ignore[attr-defined]


def test_a_healthy_l2sm_gives_no_finding() -> None:
    assert judge(plan(), healthy()) == ()


def test_multus_and_plans_without_networks_need_no_preflight() -> None:
    assert judge(plan("multus"), Observations()) == ()
    assert judge(replace(plan(), networks=()), Observations()) == ()


def test_l2sm_not_installed_is_a_cluster_error() -> None:
    found = judge(plan(), healthy(served=frozenset(), operator=None))
    assert len(errors(found)) == 1 and "serves no l2networks.l2sm.l2sm.k8s.local/v1" in errors(found)[0]
    assert PreflightError(found).exit_code == EXIT_FAILURE


def test_an_l2sm_older_than_2_8_asks_for_the_nad_provider() -> None:
    found = judge(plan(), healthy(served=frozenset(), operator=Operator("alexdecb/l2sm-operator:2.7.1", None)))
    assert "--provider l2sm-nad" in errors(found)[0]
    assert PreflightError(found).exit_code == EXIT_INPUT


def test_a_2023_plan_on_a_current_l2sm_asks_for_the_l2sm_provider() -> None:
    found = judge(plan("l2sm-nad"), healthy())
    assert len(errors(found)) == 1 and "--provider l2sm" in errors(found)[0]
    assert "2.8.7" in errors(found)[0]
    assert PreflightError(found).exit_code == EXIT_INPUT


def test_a_2023_plan_on_a_2023_cluster_passes() -> None:
    obs = Observations(nads_served=True, operator=None)
    assert errors(judge(plan("l2sm-nad"), obs)) == []
    assert "no network-attachment-definitions" in errors(judge(plan("l2sm-nad"), Observations()))[0]


def test_no_overlay_and_no_ports_are_errors_naming_where_the_webhook_looks() -> None:
    found = errors(judge(plan(), healthy(overlays=(), ports=())))
    assert len(found) == 2
    assert "namespace l2sm-system: has no Overlay" in found[0]
    assert "has no L2S-M port NetworkAttachmentDefinitions (app=l2sm" in found[1]


def test_a_webhook_without_ready_endpoints_is_an_error() -> None:
    assert "has no ready endpoint" in errors(judge(plan(), healthy(webhook_ready=0)))[0]
    assert "l2sm-webhook-service: not found" in errors(judge(plan(), healthy(webhook_service=False)))[0]


def test_more_attachments_than_free_ports_is_an_error() -> None:
    found = errors(judge(plan(interfaces=2, replicas=6), healthy()))  # 12 ports, 10 on the only node
    assert len(found) == 1 and "needs 12 port(s)" in found[0] and "node-1: 10 free" in found[0]
    taken = errors(judge(plan(interfaces=2), healthy(ports=ports(used={"node-1": 9}))))
    assert "node-1: 1 free" in taken[0]


def test_ports_held_by_the_ns_own_pods_count_as_free_on_a_reapply() -> None:
    assert errors(judge(plan(interfaces=2), healthy(ports=ports(used={"node-1": 10}), held={"node-1": 2}))) == []


def test_a_node_short_of_ports_is_a_warning_as_the_webhook_picks_random_nodes() -> None:
    obs = healthy(nodes=("node-a", "node-b"), ports=ports(used={"node-b": 8}))
    found = judge(plan(interfaces=2, replicas=2), obs)  # 4 ports: node-a has 10, node-b 2
    assert errors(found) == []
    assert "node(s) node-b have fewer free" in warnings(found)[0]


def test_an_mtu_above_the_overlay_is_an_input_error() -> None:
    found = judge(plan(mtu=9000), healthy())
    assert len(errors(found)) == 2 and "MTU 9000 is above the L2S-M overlay's 1400" in errors(found)[0]
    assert "network net-1 (vld vld1)" in errors(found)[0]
    assert PreflightError(found).exit_code == EXIT_INPUT
    assert judge(plan(mtu=1400), healthy()) == ()
    assert "overlay's 1350" in errors(judge(plan(mtu=1400), healthy(ports=ports(mtu=1350))))[0]


def test_unreadable_objects_are_warnings_never_errors() -> None:
    obs = healthy(operator=None, webhook_service=False, ports=(), overlays=(),
                  unreadable={"operator": "HTTP 403", "webhook": "HTTP 403", "ports": "HTTP 403"})
    found = judge(plan(), obs)
    assert errors(found) == []
    assert len(warnings(found)) == 3 and all("could not be checked: HTTP 403" in w for w in warnings(found))


def test_a_mixed_failure_exits_1_and_lists_every_error_with_the_skip_hint() -> None:
    found = judge(plan(mtu=9000), healthy(webhook_ready=0))
    error = PreflightError(found)
    assert error.exit_code == EXIT_FAILURE
    assert str(error).count("\n  - ") == 3 and "--skip-preflight" in str(error)


@pytest.mark.parametrize(("image", "version"), [
    ("alexdecb/l2sm-controller-manager:2.8.1", (2, 8)), ("registry:5000/l2sm/op:v2.10", (2, 10)),
    ("alexdecb/l2sm-operator:latest", None), ("alexdecb/l2sm-operator", None), (None, None),
    ("registry:5000/op@sha256:abc", None)])
def test_image_version(image: str | None, version: tuple[int, int] | None) -> None:
    assert image_version(image) == version


def test_ports_namespace_follows_the_operator_switches_namespace() -> None:
    assert ports_namespace(Operator("i", "l2sm-system"), "l2sm-system", "kdus") == "l2sm-system"
    assert ports_namespace(Operator("i", None), "l2sm-system", "kdus") == "kdus"  # unset: Multus looks in the pod's
    assert ports_namespace(None, "l2sm-system", "kdus") == "l2sm-system"


def test_capacity_without_known_nodes() -> None:
    no_nodes = healthy(nodes=())
    assert "overlay topology: names no node" in errors(judge(plan(), no_nodes))[0]
    hidden = replace(no_nodes, overlays=(), unreadable={"overlays": "HTTP 403"})
    assert errors(judge(plan(), hidden)) == [] and len(warnings(judge(plan(), hidden))) == 1


def test_an_inter_cluster_network_needs_a_network_edge_device_of_its_provider() -> None:
    base = plan()
    manifest = {"kind": "L2Network", "spec": {"type": "vnet", "provider": {"name": "idco", "domain": ["10.0.0.1"]}}}
    inter = replace(base, networks=(replace(base.networks[0], manifest=manifest), *base.networks[1:]))
    assert "names inter-cluster provider 'idco', and no NetworkEdgeDevice has it" in errors(judge(inter, healthy()))[0]
    assert judge(inter, healthy(edge_providers=frozenset({"idco"}))) == ()
    assert errors(judge(inter, healthy(unreadable={"edge devices": "HTTP 403"}))) == []


def test_the_descriptor_mtu_reaches_the_plan_and_its_json() -> None:
    from tests.unit import cdn

    nsd, vnfds = cdn.docs()
    vlp = cdn.nsd_body(nsd)["df"][0]["virtual-link-profile"][0]
    vlp.setdefault("virtual-link-protocol-data", {})["l2-protocol-data"] = {"mtu": 9000}
    made = cdn.plan(nsd, vnfds)
    net = made.network(vlp["virtual-link-desc-id"])
    assert net is not None and net.mtu == 9000
    assert [n.mtu for n in made.networks if n is not net] == [None] * (len(made.networks) - 1)
    assert Plan.from_dict(made.as_dict()).network(net.vld_id).mtu == 9000  # type: ignore[union-attr]
    assert "mtu" not in cdn.plan().as_dict()["networks"][0], "plans without an MTU keep their form"
    assert "MTU 9000 is above" in errors(judge(made, healthy()))[0]
