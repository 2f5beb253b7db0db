"""Plan + profile → the concrete lab: namespaces, bridges, veths, addresses, routes (pure, no I/O).

Like containerlab, the topology is resolved into concrete, named links before anything is created, so a name that the
kernel would refuse is an input error at plan time, not a half-built lab.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from osm_l2net.core.errors import InputError
from osm_l2net.core.plan import KduPlan, Plan, Route
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


@dataclass(frozen=True)
class LinkSpec:
    ifname: str  # the pod-side end, named as the plan's interface (net1..netN)
    mac: str
    ip: str | None
    bridge: str
    peer: str  # the switch-side end, enslaved to ``bridge``
    peer_mac: str
    alias: str


@dataclass(frozen=True)
class PodSpec:
    key: str  # member/kdu, or the external user's name
    member: str
    netns: str
    forwarding: bool
    links: tuple[LinkSpec, ...]
    routes: tuple[Route, ...]
    role: Member | None
    replicas: int = 1  # the plan's: 0 = planned but not started; the lab runs at most one
    cluster: str = ""  # a placed plan's cluster of the KNF (lab/clusters.py); "" also in a single-cluster lab


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
    pods = []
    for kdu in plan.kdus:
        pod_name = f"{kdu.member_vnf_index}-{kdu.kdu_name}" if kdu.member_vnf_index in multi else kdu.member_vnf_index
        pods.append(_pod(lab, plan, kdu, pod_name, known=known, role=profile.member(kdu.key, kdu.member_vnf_index)))
    if profile.external:
        bridges.append(_bridge(lab, plan.ns_id, EXTERNAL_VLD))
        pods = _with_external(lab, plan.ns_id, pods, profile)
    _check_unique([p.netns for p in pods], "pod network namespaces")
    spec = LabSpec(lab, plan.ns_id, names.switch_netns(lab), tuple(bridges), tuple(pods))
    from osm_l2net.lab import clusters  # it builds on this module's types

    return clusters.place(lab, plan, spec) if clusters.is_placed(plan) else spec


def _bridge(lab: str, ns_id: str, vld_id: str) -> BridgeSpec:
    return BridgeSpec(vld_id, names.bridge_name(lab, ns_id, vld_id), names.stable_mac(ns_id, "bridge", vld_id),
                      names.link_alias(lab, ns_id, f"vld={vld_id}"))


def _link(lab: str, ns_id: str, pod: str, *, ifname: str, ip: str | None, vld_id: str) -> LinkSpec:
    names.check_ifname(ifname, f"lab pod {pod}")
    return LinkSpec(
        ifname=ifname,
        mac=names.stable_mac(ns_id, pod, ifname),
        ip=ip,
        bridge=names.bridge_name(lab, ns_id, vld_id),
        peer=names.veth_name(lab, ns_id, pod, ifname),
        peer_mac=names.stable_mac(ns_id, pod, ifname, "switch-port"),
        alias=names.link_alias(lab, ns_id, f"pod={pod} if={ifname} vld={vld_id}"),
    )


def _pod(lab: str, plan: Plan, kdu: KduPlan, pod: str, *, known: set[str], role: Member | None) -> PodSpec:
    links = []
    for iface in kdu.interfaces:
        if iface.vld_id not in known:
            raise InputError.single("plan", f"{kdu.key}.{iface.name}", f"network {iface.vld_id!r} is not in the plan",
                                    ", ".join(sorted(known)))
        links.append(_link(lab, plan.ns_id, pod, ifname=iface.name, ip=iface.ip, vld_id=iface.vld_id))
    _check_unique([li.ifname for li in links], f"interfaces of {kdu.key}")
    return PodSpec(kdu.key, kdu.member_vnf_index, names.pod_netns(lab, pod), kdu.forwarding, tuple(links),
                   kdu.routes, role, min(kdu.replicas, 1))


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
    user = PodSpec(ext.name, ext.name, names.pod_netns(lab, ext.name), False, (user_link,), (), None)
    out = [replace(p, links=(*p.links, extra)) if p is att else p for p in pods]
    return [*out, user]


def _check_unique(items: list[str], what: str) -> None:
    dup = sorted({i for i in items if items.count(i) > 1})
    if dup:
        raise InputError.single("lab", what, f"duplicate names {dup}", "unique names")
