"""Plans built by hand for the lab tests (the same shape the planner produces), generated topologies, and the check
that a lab routes as its plan says."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_network
from typing import Any

from osm_l2net.core.plan import Interface, KduPlan, NetworkPlan, Plan, Route
from osm_l2net.lab import Lab
from osm_l2net.lab.expect import expected_path, expected_ttl
from osm_l2net.lab.observe import parse_ping, parse_traceroute

CDN_FIREWALL: dict[str, Any] = {
    "enabled": True,
    "protected": ["10.0.2.10/32"],
    "allow": [{"from": "10.0.1.0/24", "proto": "tcp", "port": 80}, {"from": "10.0.1.0/24", "proto": "icmp"}],
}


def network(ns_id: str, vld: str, cidr: str) -> NetworkPlan:
    name = f"{vld}-{ns_id[:8]}"
    return NetworkPlan(vld, name, cidr, "ipv4", None, {"kind": "L2Network", "metadata": {"name": name}})


def kdu(member: str, ifaces: list[tuple[str, str | None]], routes: tuple[tuple[str, str, str], ...] = (), *,
        forwarding: bool = False, values: dict[str, Any] | None = None, ns_id: str = "ns") -> KduPlan:
    interfaces = tuple(Interface(f"net{i + 1}", vld, f"{vld}-{ns_id[:8]}", f"cp{i + 1}", ip)
                       for i, (vld, ip) in enumerate(ifaces))
    return KduPlan(member, f"{member}_knf", member, member, None, None, "default", 1, forwarding, interfaces,
                   tuple(Route(*r) for r in routes), {}, {}, values or {})


def cdn_plan(ns_id: str = "0a1b2c3d-cdn", firewall: dict[str, Any] | None = CDN_FIREWALL) -> Plan:
    nets = (network(ns_id, "my-first-osm-net", "10.0.1.0/24"), network(ns_id, "my-second-osm-net", "10.0.2.0/24"))
    kdus = (
        kdu("cdn-server", [("my-first-osm-net", "10.0.1.10/24")], (("10.0.2.0/24", "10.0.1.1", "net1"),), ns_id=ns_id),
        kdu("router-firewall", [("my-first-osm-net", "10.0.1.1/24"), ("my-second-osm-net", "10.0.2.1/24")],
            forwarding=True, values={"firewall": firewall} if firewall else {}, ns_id=ns_id),
        kdu("content-server", [("my-second-osm-net", "10.0.2.10/24")], (("10.0.1.0/24", "10.0.2.1", "net1"),),
            ns_id=ns_id),
    )
    return Plan(ns_id, "vod-service-deployment", "vod_service_ns", "default", "l2sm", nets, kdus)


def chain_plan(ns_id: str = "chain-0001") -> Plan:
    """client — r1 — r2 — server over three networks: two routed hops."""
    nets = tuple(network(ns_id, f"net-{c}", f"10.9.{i}.0/24") for i, c in enumerate("abc", start=1))
    kdus = (
        kdu("client", [("net-a", "10.9.1.10/24")], (("10.9.0.0/16", "10.9.1.1", "net1"),), ns_id=ns_id),
        kdu("r1", [("net-a", "10.9.1.1/24"), ("net-b", "10.9.2.1/24")], (("10.9.3.0/24", "10.9.2.2", "net2"),),
            forwarding=True, ns_id=ns_id),
        kdu("r2", [("net-b", "10.9.2.2/24"), ("net-c", "10.9.3.1/24")], (("10.9.1.0/24", "10.9.2.1", "net1"),),
            forwarding=True, ns_id=ns_id),
        kdu("server", [("net-c", "10.9.3.10/24")], (("10.9.0.0/16", "10.9.3.1", "net1"),), ns_id=ns_id),
    )
    return Plan(ns_id, "chain", "chain_ns", "default", "l2sm", nets, kdus)


def replica_chain_plan(replicas: int = 3, pool: str = "10.9.3.32/29", ns_id: str = "chain-replicas") -> Plan:
    """:func:`chain_plan` with a multi-replica server: unpinned on net-c, whose pool addresses its replicas (as the
    planner plans a replicaCount > 1 KDU on l2sm), and with its route, so that the client reaches every replica."""
    base = chain_plan(ns_id)
    block = ip_network(pool)
    nets = tuple(replace(n, pod_address_range=pool, pod_address_capacity=block.num_addresses - 1)
                 if n.vld_id == "net-c" else n for n in base.networks)
    server = kdu("server", [("net-c", None)], (("10.9.0.0/16", "10.9.3.1", "net1"),), ns_id=ns_id)
    kdus = tuple(replace(server, replicas=replicas) if k.member_vnf_index == "server" else k for k in base.kdus)
    return replace(base, networks=nets, kdus=kdus)


def check_client_reaches_server(lab: Lab, plan: Plan) -> tuple[str, list[str]]:
    """The two-routers topology in a lab: the client pings the server 3/3 at the TTL the plan's path gives, and the
    traceroute shows that path; returns the server's address and the path."""
    server = plan.kdu("server")
    assert server is not None and server.interfaces[0].address
    dst = server.interfaces[0].address
    path = expected_path(plan, "client", dst)
    ping = parse_ping(lab.exec("client", ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", dst], 20, True).stdout)
    assert (ping.received, set(ping.ttls)) == (3, {expected_ttl(path)})
    trace = lab.exec("client", ["traceroute", "-n", "-I", "-q", "1", "-w", "2", "-m", "6", dst], 30, True).stdout
    assert parse_traceroute(trace) == path
    return dst, path
