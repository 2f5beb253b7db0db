"""Plan + profile → the concrete lab: namespaces, bridges, veths, addresses, routes (pure, no I/O).

Like containerlab, the topology is resolved into concrete, named links before anything is created, so a name that the
kernel would refuse is an input error at plan time, not a half-built lab.

Replicas: a KDU's replica 1 is the pod as named here (``l2n-<lab>-<member>``); replica i > 1 is the same pod under the
name ``<member>-<i>`` (its own namespace, veths and MACs). An interface the plan leaves unpinned on a network with a
``podAddressRange`` gets each replica's address from that pool as L2S-M's IPAM hands them out (:func:`allocate`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from osm_l2net.core.errors import EXIT_CONFLICT, InputError, LabError
from osm_l2net.core.plan import KduPlan, NetworkPlan, Plan, Route
from osm_l2net.lab import names
from osm_l2net.lab.profile import Member, Profile

if TYPE_CHECKING:
    from osm_l2net.lab.clusters import ClusterSpec

EXTERNAL_VLD = "lab-external-user"


@dataclass(frozen=True)
class BridgeSpec:
    vld_id: str
    name: str
    mac: str
    alias: str


class LabConflict(LabError):
    """What the lab already did rules the request out (a pool's addresses are used up, a pool changed); exit 3."""

    exit_code = EXIT_CONFLICT


@dataclass(frozen=True)
class PoolSpec:
    """A network's ``podAddressRange``: where the replicas of unpinned interfaces get their addresses."""

    vld_id: str
    block: str
    capacity: int
    prefixlen: int  # the network cidr's: a replica's address carries it, as L2S-M applies networkCIDR's mask


@dataclass(frozen=True)
class LinkSpec:
    ifname: str  # the pod-side end, named as the plan's interface (net1..netN)
    mac: str
    ip: str | None
    bridge: str
    peer: str  # the switch-side end, enslaved to ``bridge``
    peer_mac: str
    alias: str
    vld_id: str = ""
    pool: PoolSpec | None = None  # the plan leaves this interface unpinned on a network with a pool


@dataclass(frozen=True)
class PodSpec:
    key: str  # member/kdu, or the external user's name
    member: str
    netns: str
    forwarding: bool
    links: tuple[LinkSpec, ...]
    routes: tuple[Route, ...]
    role: Member | None
    replicas: int = 1  # the plan's: 0 = planned but not started
    name: str = ""  # the name part of netns, veths and MACs (replica 1's; replica i's is ``<name>-<i>``)
    replica: int = 1
    cluster: str = ""  # a placed plan's cluster of the KNF (lab/clusters.py); "" also in a single-cluster lab

    @property
    def ident(self) -> str:
        """The replica's key in the lab's state: the pod's key for replica 1 (as before replicas), else key#i."""
        return self.key if self.replica == 1 else f"{self.key}#{self.replica}"

    @property
    def pinned(self) -> tuple[str, ...]:
        return tuple(li.ip for li in self.links if li.ip and li.pool is None)

    @property
    def pools(self) -> tuple[PoolSpec, ...]:
        return tuple(li.pool for li in self.links if li.pool is not None)

    def check_replicas(self, replicas: int) -> None:
        """More than one replica needs every address from a pool: a pinned one would be every replica's."""
        if replicas <= 1:
            return
        if self.pinned:
            raise InputError.single("lab", self.key, f"cannot run {replicas} replicas: the plan pins "
                                    f"{', '.join(self.pinned)} on it, which every replica would get",
                                    "--replicas 0 or 1 (several replicas need the KDU planned without ip-address)")
        if not self.pools:
            raise InputError.single("lab", self.key, f"cannot run {replicas} replicas: none of its networks has a "
                                    "per-replica address pool (podAddressRange) in the plan",
                                    "--replicas 0 or 1 (several need a podAddressRange: replicaCount > 1 on l2sm)")


@dataclass(frozen=True)
class LabSpec:
    lab: str
    ns_id: str
    switch: str
    bridges: tuple[BridgeSpec, ...]
    pods: tuple[PodSpec, ...]
    # a placed plan: one switch per cluster, ``switch`` is then the WAN between them (lab/clusters.py)
    clusters: tuple[ClusterSpec, ...] = ()

    def switch_of(self, pod: PodSpec) -> str:
        """The switch namespace holding the pod's bridges: its cluster's, or the lab's one switch."""
        return next((c.switch for c in self.clusters if c.cluster == pod.cluster), self.switch)

    def pod(self, name: str) -> PodSpec:
        """The pod named by member, member/kdu or its (replica 1's) namespace."""
        found = [p for p in self.pods if name in (p.key, p.member, p.netns)]
        if len(found) != 1:
            raise InputError.single("lab", name, "no such pod" if not found else "ambiguous member (give member/kdu)",
                                    ", ".join(p.key for p in self.pods))
        return found[0]

    @property
    def netns_names(self) -> tuple[str, ...]:
        return (self.switch, *(c.switch for c in self.clusters), *(p.netns for p in self.pods))


def build_spec(lab: str, plan: Plan, profile: Profile) -> LabSpec:
    names.check_lab_name(lab)
    bridges = [_bridge(lab, plan.ns_id, n.vld_id) for n in plan.networks]
    known = {b.vld_id for b in bridges}
    members = [k.member_vnf_index for k in plan.kdus]
    multi = {m for m in members if members.count(m) > 1}
    pools = {n.vld_id: _pool(n) for n in plan.networks if n.pod_address_range}
    pods = []
    for kdu in plan.kdus:
        pod_name = f"{kdu.member_vnf_index}-{kdu.kdu_name}" if kdu.member_vnf_index in multi else kdu.member_vnf_index
        pods.append(_pod(lab, plan, kdu, pod_name, known=known, role=profile.member(kdu.key, kdu.member_vnf_index),
                         pools=pools))
    if profile.external:
        bridges.append(_bridge(lab, plan.ns_id, EXTERNAL_VLD))
        pods = _with_external(lab, plan.ns_id, pods, profile)
    _check_unique([p.netns for p in pods], "pod network namespaces")
    _check_replica_names(pods)
    spec = LabSpec(lab, plan.ns_id, names.switch_netns(lab), tuple(bridges), tuple(pods))
    from osm_l2net.lab import clusters  # it builds on this module's types

    return clusters.place(lab, plan, spec) if clusters.is_placed(plan) else spec


def _bridge(lab: str, ns_id: str, vld_id: str) -> BridgeSpec:
    return BridgeSpec(vld_id, names.bridge_name(lab, ns_id, vld_id), names.stable_mac(ns_id, "bridge", vld_id),
                      names.link_alias(lab, ns_id, f"vld={vld_id}"))


def _pool(net: NetworkPlan) -> PoolSpec:
    assert net.pod_address_range is not None and net.cidr is not None  # the planner gives a pool only with a cidr
    capacity = net.pod_address_capacity
    block = ipaddress.ip_network(net.pod_address_range)
    return PoolSpec(net.vld_id, net.pod_address_range, block.num_addresses - 1 if capacity is None else capacity,
                    ipaddress.ip_network(net.cidr, strict=False).prefixlen)


def _link(lab: str, ns_id: str, pod: str, *, ifname: str, ip: str | None, vld_id: str,
          pool: PoolSpec | None = None) -> LinkSpec:
    names.check_ifname(ifname, f"lab pod {pod}")
    return LinkSpec(
        ifname=ifname,
        mac=names.stable_mac(ns_id, pod, ifname),
        ip=ip,
        bridge=names.bridge_name(lab, ns_id, vld_id),
        peer=names.veth_name(lab, ns_id, pod, ifname),
        peer_mac=names.stable_mac(ns_id, pod, ifname, "switch-port"),
        alias=names.link_alias(lab, ns_id, f"pod={pod} if={ifname} vld={vld_id}"),
        vld_id=vld_id,
        pool=pool,
    )


def _pod(lab: str, plan: Plan, kdu: KduPlan, pod: str, *, known: set[str], role: Member | None,
         pools: Mapping[str, PoolSpec]) -> PodSpec:
    links = []
    for iface in kdu.interfaces:
        if iface.vld_id not in known:
            raise InputError.single("plan", f"{kdu.key}.{iface.name}", f"network {iface.vld_id!r} is not in the plan",
                                    ", ".join(sorted(known)))
        pool = pools.get(iface.vld_id) if iface.ip is None else None  # pinned: the plan's address, in every replica
        links.append(_link(lab, plan.ns_id, pod, ifname=iface.name, ip=iface.ip, vld_id=iface.vld_id, pool=pool))
    _check_unique([li.ifname for li in links], f"interfaces of {kdu.key}")
    return PodSpec(kdu.key, kdu.member_vnf_index, names.pod_netns(lab, pod), kdu.forwarding, tuple(links),
                   kdu.routes, role, kdu.replicas, pod)


def replica_of(lab: str, ns_id: str, pod: PodSpec, replica: int, addresses: Mapping[str, str]) -> PodSpec:
    """Replica ``replica`` of ``pod`` (1: the pod's own names), its pooled interfaces addressed by ``addresses``
    (interface name → address with the network's prefix length)."""
    if replica == 1 and not addresses:
        return pod
    name = pod.name if replica == 1 else f"{pod.name}-{replica}"
    links = tuple(_link(lab, ns_id, name, ifname=li.ifname, ip=addresses.get(li.ifname, li.ip), vld_id=li.vld_id,
                        pool=li.pool) for li in pod.links)
    return replace(pod, netns=names.pod_netns(lab, name), links=links, replica=replica)


def replica_index(pod: PodSpec, netns: str) -> int | None:
    """Which replica of ``pod`` the namespace ``netns`` is, or None when it is none of them."""
    if netns == pod.netns:
        return 1
    match = re.fullmatch(re.escape(pod.netns) + r"-([1-9][0-9]*)", netns)
    return int(match.group(1)) if match and int(match.group(1)) > 1 else None


def allocate(record: Mapping[str, Any] | None, pool: PoolSpec) -> tuple[str, dict[str, Any]]:
    """The next address of ``pool`` as L2S-M's IPAM gives it, and the pool's record after it.

    L2S-M's Go code: the first address is the range's base + 1, each next one the last assigned + 1; an address is
    never freed nor reused, and allocation never wraps. So every replica ever created uses one (scale 3 → 1 → 3: 5).
    """
    block = ipaddress.ip_network(pool.block)
    last = record.get("last") if record else None
    nxt = block.network_address + 1 if last is None else ipaddress.ip_address(last) + 1
    if nxt not in block:
        raise LabConflict(f"network {pool.vld_id}: its pool {pool.block} has no address left "
                          f"(L2S-M never frees one; {pool.capacity} used)")
    assigned = [*(record.get("assigned", []) if record else []), str(nxt)]
    return f"{nxt}/{pool.prefixlen}", {"range": pool.block, "last": str(nxt), "assigned": assigned}


def remaining(record: Mapping[str, Any] | None, pool: PoolSpec) -> int:
    """How many more addresses ``pool`` hands out after what ``record`` says it gave."""
    block = ipaddress.ip_network(pool.block)
    last = record.get("last") if record else None
    start = int(block.network_address) if last is None else int(ipaddress.ip_address(last))
    return max(0, int(block.broadcast_address) - start)


def _with_external(lab: str, ns_id: str, pods: list[PodSpec], profile: Profile) -> list[PodSpec]:
    ext = profile.external
    assert ext is not None
    target = [p for p in pods if ext.attach in (p.key, p.member)]
    if len(target) != 1:
        raise InputError.single(profile.source, "external-user.attach", f"no pod {ext.attach!r}",
                                ", ".join(p.key for p in pods))
    att = target[0]
    ifname = f"net{len(att.links) + 1}"
    extra = _link(lab, ns_id, att.key, ifname=ifname, ip=ext.member_ip, vld_id=EXTERNAL_VLD)
    user_link = _link(lab, ns_id, ext.name, ifname="net1", ip=ext.user_ip, vld_id=EXTERNAL_VLD)
    user = PodSpec(ext.name, ext.name, names.pod_netns(lab, ext.name), False, (user_link,), (), None, name=ext.name)
    out = [replace(p, links=(*p.links, extra)) if p is att else p for p in pods]
    return [*out, user]


def _check_replica_names(pods: list[PodSpec]) -> None:
    """Replica i of a pod that may have several is ``<netns>-<i>``: no other pod may already be called that."""
    for pod in pods:
        if not pod.pools or pod.pinned:
            continue
        clash = [p.key for p in pods if p is not pod and replica_index(pod, p.netns)]
        if clash:
            raise InputError.single("lab", pod.key, f"its replicas' namespaces {pod.netns}-<i> would clash with "
                                    f"the pod(s) {', '.join(clash)}", "member-vnf-index values that are not "
                                    f"'{pod.name}-<number>'")


def _check_unique(items: list[str], what: str) -> None:
    dup = sorted({i for i in items if items.count(i) > 1})
    if dup:
        raise InputError.single("lab", what, f"duplicate names {dup}", "unique names")
