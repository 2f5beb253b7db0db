"""A placed plan in the lab (pure, no I/O): one switch namespace per cluster, joined over a routed WAN.

What L2S-M does between real clusters (an inter-cluster network: each cluster's NetworkEdgeDevice tunnels the link
to the others), the lab does with the kernel's own parts:

- each cluster is a switch namespace ``l2n-<lab>-@<cluster>`` holding the bridges of the links it has (a stretched
  link has a bridge in every cluster it touches, with a MAC of its own there: one MAC in two joined bridges would
  flap in each other's forwarding table);
- the lab's namespace ``l2n-<lab>`` is the WAN: a router with one uplink veth to each cluster's switch, each on a
  /24 of its own from 198.18.0.0/15 (RFC 2544's benchmarking range, never routed on the Internet);
- a stretched link is one VXLAN (one VNI per link) in each of its clusters, enslaved to that cluster's bridge, with
  one flood entry per other cluster (head-end replication: a VXLAN device never forwards from one remote to another,
  so three clusters make no loop, where a mesh of bridged point-to-point tunnels would);
- the WAN's uplinks carry MTU 1550, so the 50 bytes of VXLAN over IPv4 fit and the pods keep their 1500.

Cutting the inter-cluster link of two clusters is a pair of blackhole policy rules in the WAN router (both
directions): their tunnels lose their underlay, every other pair keeps its own.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from dataclasses import dataclass, replace

from osm_l2net.core.errors import InputError
from osm_l2net.core.plan import Plan
from osm_l2net.lab import names
from osm_l2net.lab.spec import EXTERNAL_VLD, BridgeSpec, LabSpec

UNDERLAY = ipaddress.ip_network("198.18.0.0/15")
UPLINK_ROUTE = str(UNDERLAY)
UNDERLAY_MTU = 1550  # the overlay's 1500 + VXLAN over IPv4 (14 Ethernet + 20 IP + 8 UDP + 8 VXLAN)
OVERLAY_MTU = 1500
VXLAN_PORT = 4789
FIRST_VNI = 100
CUT_PRIORITY = 100  # before the main table's rule (32766)
DEFAULT_LABEL = "default"  # the plan's "" (KNFs no --cluster names): a switch of that name in the lab
UPLINK = "wan0"  # the cluster switch's end of its uplink (one per namespace, so a fixed name)
WAN_PREFIX = "l2w"
TUNNEL_PREFIX = "l2x"
_CLUSTER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,48}$")


@dataclass(frozen=True)
class TunnelSpec:
    vld_id: str
    name: str  # the VXLAN device in the cluster's switch
    vni: int
    bridge: str  # the link's bridge it is enslaved to
    local: str  # this cluster's underlay address
    peers: tuple[str, ...]  # the other clusters' underlay addresses (flood entries)
    alias: str


@dataclass(frozen=True)
class ClusterSpec:
    cluster: str  # as in the plan ("" = the default cluster)
    label: str  # as the lab names it
    switch: str  # the cluster's switch namespace
    bridges: tuple[BridgeSpec, ...]
    uplink_wan: str  # the WAN's end of the cluster's uplink
    address: str  # the cluster's end, with prefix
    gateway: str  # the WAN's end, with prefix
    uplink_alias: str
    tunnels: tuple[TunnelSpec, ...]

    @property
    def ip(self) -> str:
        return self.address.split("/")[0]


@dataclass(frozen=True)
class InterClusterLink:
    """Two clusters sharing at least one stretched link: the underlay path their tunnels use."""

    a: ClusterSpec
    b: ClusterSpec
    vlds: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.a.label}<->{self.b.label}"


def is_placed(plan: Plan) -> bool:
    """A plan that names clusters: the lab builds it per cluster. Any other plan keeps the single-switch lab."""
    return any(n.cluster for n in plan.networks) or any(k.cluster for k in plan.kdus)


def label(cluster: str) -> str:
    return cluster or DEFAULT_LABEL


def switch_netns(lab: str, cluster: str) -> str:
    """``l2n-<lab>-@<cluster>``: owned by the lab's scan (``l2n-<lab>-*``); no pod has an ``@`` in its name."""
    return f"{names.NETNS_PREFIX}{lab}-@{label(cluster)}"


def check_clusters(plan: Plan) -> tuple[str, ...]:
    clusters = plan.clusters
    labels = [label(c) for c in clusters]
    for c in clusters:
        if c and not _CLUSTER_RE.match(c):
            raise InputError.single("plan", f"cluster {c!r}", "cannot name a lab switch namespace after it",
                                    "letters, digits, '_', '.', '-' (at most 48)")
    if len(set(labels)) < len(labels):
        raise InputError.single("plan", "clusters", f"the default cluster and a cluster named {DEFAULT_LABEL!r} "
                                "would share one lab switch", f"place the KNFs on a cluster not named {DEFAULT_LABEL!r}")
    if len(clusters) > 254:
        raise InputError.single("plan", "clusters", f"{len(clusters)} clusters", "at most 254 in the lab")
    return clusters


def underlay(index: int) -> tuple[str, str]:
    """(cluster end, WAN end) of the ``index``-th cluster's uplink, each /24 its own."""
    base = int(UNDERLAY.network_address) + (index + 1) * 256
    return f"{ipaddress.IPv4Address(base + 2)}/24", f"{ipaddress.IPv4Address(base + 1)}/24"


def place(lab: str, plan: Plan, spec: LabSpec) -> LabSpec:
    """``spec`` (built as for one cluster) split over the plan's clusters: each pod on its KNF's cluster (the
    external user on the cluster of the pod it is attached to), each bridge in its cluster's switch, the lab's own
    namespace the WAN with no bridge."""
    clusters = check_clusters(plan)
    # by member-vnf-index: a placement names KNFs, every pod of one (each KDU, each replica) runs on its cluster
    where = {k.member_vnf_index: k.cluster for k in plan.kdus}
    by_bridge = {li.bridge: where[p.member] for p in spec.pods if p.member in where for li in p.links}
    pods = tuple(replace(p, cluster=where.get(p.member, by_bridge.get(p.links[0].bridge, "") if p.links else ""))
                 for p in spec.pods)
    wanted = [(n.cluster, n.vld_id) for n in plan.networks]
    wanted += [(p.cluster, EXTERNAL_VLD) for p in pods if p.member not in where]
    bridges = {(c, vld): _bridge(lab, plan.ns_id, vld, c) for c, vld in wanted}
    return replace(spec, bridges=(), pods=pods, clusters=build(lab, plan, clusters, bridges))


def _bridge(lab: str, ns_id: str, vld: str, cluster: str) -> BridgeSpec:
    """A link's bridge in one cluster, with a MAC of its own there (joined copies must not share one)."""
    return BridgeSpec(vld, names.bridge_name(lab, ns_id, vld), names.stable_mac(ns_id, "bridge", vld, "@", cluster),
                      names.link_alias(lab, ns_id, f"cluster={label(cluster)} vld={vld}"))


def build(lab: str, plan: Plan, clusters: tuple[str, ...],
          bridges: dict[tuple[str, str], BridgeSpec]) -> tuple[ClusterSpec, ...]:
    spans = plan.link_clusters()
    stretched = sorted(vld for vld, cs in spans.items() if len(cs) > 1)
    vnis = {vld: FIRST_VNI + i for i, vld in enumerate(stretched)}
    addresses = {c: underlay(i) for i, c in enumerate(clusters)}
    out = []
    for c in clusters:
        local, gateway = addresses[c]
        tunnels = tuple(
            TunnelSpec(vld, TUNNEL_PREFIX + names.short_hash(lab, plan.ns_id, vld, c), vnis[vld],
                       names.bridge_name(lab, plan.ns_id, vld), local.split("/")[0],
                       tuple(addresses[o][0].split("/")[0] for o in spans[vld] if o != c),
                       names.link_alias(lab, plan.ns_id, f"cluster={label(c)} vxlan vld={vld} vni={vnis[vld]}"))
            for vld in stretched if c in spans[vld])
        out.append(ClusterSpec(
            c, label(c), switch_netns(lab, c), tuple(b for (bc, _), b in bridges.items() if bc == c),
            WAN_PREFIX + names.short_hash(lab, plan.ns_id, "uplink", c), local, gateway,
            names.link_alias(lab, plan.ns_id, f"cluster={label(c)} uplink"), tunnels))
    return tuple(out)


def inter_cluster_links(clusters: tuple[ClusterSpec, ...]) -> tuple[InterClusterLink, ...]:
    """Every pair of clusters joined by a stretched link, in plan order."""
    out = []
    for a, b in itertools.combinations(clusters, 2):
        shared = tuple(t.vld_id for t in a.tunnels if any(u.vld_id == t.vld_id for u in b.tunnels))
        if shared:
            out.append(InterClusterLink(a, b, shared))
    return tuple(out)


def find_link(clusters: tuple[ClusterSpec, ...], a: str, b: str) -> InterClusterLink:
    links = inter_cluster_links(clusters)
    for link in links:
        if {link.a.label, link.b.label} == {a, b} or {link.a.cluster, link.b.cluster} == {a, b}:
            return link
    known = ", ".join(f"{li.a.label} {li.b.label}" for li in links) or "none: the plan stretches no link"
    raise InputError.single("lab link", f"{a} {b}", "no inter-cluster link between these clusters", known)
