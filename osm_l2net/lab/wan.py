"""The clusters of a placed plan on this host (the layout is lab/clusters.py's): each cluster's switch, its uplink
to the WAN router, a VXLAN per stretched link; cutting and restoring the inter-cluster link of two clusters.

Everything is made over netlink handles of :mod:`osm_l2net.lab.netlink` (the only module importing pyroute2), carries
the lab's alias and lives in a namespace named ``l2n-<lab>*``, so ``lab down`` finds it by its scan too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from osm_l2net.core.errors import LabError
from osm_l2net.lab import netlink
from osm_l2net.lab.clusters import (
    CUT_PRIORITY,
    OVERLAY_MTU,
    UNDERLAY_MTU,
    UPLINK,
    UPLINK_ROUTE,
    VXLAN_PORT,
    ClusterSpec,
    InterClusterLink,
    TunnelSpec,
    find_link,
    inter_cluster_links,
)
from osm_l2net.lab.spec import LabSpec

FR_ACT_BLACKHOLE = 6
Intend = Callable[[str, str], None]


def setup(spec: LabSpec, intend: Intend, progress: Callable[[str], None]) -> dict[str, Any]:
    """The WAN router (``spec.switch``, made by the caller) and every cluster: the state's intent is written before
    each namespace is made. Returns each cluster switch's bridge-nf settings."""
    netlink.write_sysctl(spec.switch, "net/ipv4/ip_forward", "1")
    nf = {}
    with netlink.rtnl(spec.switch) as wan:
        for c in spec.clusters:
            progress(f"cluster {c.label}: switch {c.switch}, {len(c.bridges)} bridges, {len(c.tunnels)} VXLAN "
                     f"tunnels, uplink {c.address}")
            intend("netns", c.switch)
            nf[c.label] = netlink.setup_switch(c.switch, c.bridges)
            with netlink.rtnl(c.switch) as sw:
                _uplink(wan, sw, c)
                for tunnel in c.tunnels:
                    _tunnel(sw, tunnel)
        # a re-up restores a cut link, as it brings back a pod scaled to 0
        for link in inter_cluster_links(spec.clusters):
            _restore(wan, link)
    return nf


def _index(ipr: Any, ifname: str) -> int | None:
    found = ipr.link_lookup(ifname=ifname)
    return int(found[0]) if found else None


def _uplink(wan: Any, sw: Any, c: ClusterSpec) -> None:
    if _index(wan, c.uplink_wan) is None or _index(sw, UPLINK) is None:
        for ipr, name in ((wan, c.uplink_wan), (sw, UPLINK)):  # a half-made pair of an interrupted run
            if (idx := _index(ipr, name)) is not None:
                ipr.link("del", index=idx)
        wan.link("add", ifname=c.uplink_wan, kind="veth", mtu=UNDERLAY_MTU,
                 peer={"ifname": UPLINK, "net_ns_fd": c.switch, "mtu": UNDERLAY_MTU})
    for ipr, name, address in ((wan, c.uplink_wan, c.gateway), (sw, UPLINK, c.address)):
        idx = _index(ipr, name)
        ipr.link("set", index=idx, mtu=UNDERLAY_MTU, ifalias=c.uplink_alias, state="up")
        ip, prefix = address.split("/")
        ipr.addr("replace", index=idx, address=ip, prefixlen=int(prefix))
    # only the underlay goes to the WAN: a cluster switch has no other route, and no pod traffic is routed here
    sw.route("replace", dst=UPLINK_ROUTE, gateway=c.gateway.split("/")[0], oif=_index(sw, UPLINK))


def _tunnel(sw: Any, t: TunnelSpec) -> None:
    """Made anew each time (its flood list is the plan's, nothing stale stays in it)."""
    if (old := _index(sw, t.name)) is not None:
        sw.link("del", index=old)
    sw.link("add", ifname=t.name, kind="vxlan", vxlan_id=t.vni, vxlan_local=t.local, vxlan_port=VXLAN_PORT,
            vxlan_learning=1, mtu=OVERLAY_MTU)
    idx, bridge = _index(sw, t.name), _index(sw, t.bridge)
    if bridge is None:
        raise LabError(f"bridge {t.bridge} of {t.vld_id} is missing from its cluster switch")
    for peer in t.peers:  # head-end replication: broadcasts and unknown unicast go to every other cluster
        sw.fdb("append", ifindex=idx, lladdr="00:00:00:00:00:00", dst=peer)
    sw.link("set", index=idx, master=bridge, ifalias=t.alias, state="up")


# ---- cut and restore ---------------------------------------------------------------------------------------------
def _rules(link: InterClusterLink) -> list[dict[str, Any]]:
    return [{"action": FR_ACT_BLACKHOLE, "src": s.ip, "src_len": 32, "dst": d.ip, "dst_len": 32,
             "priority": CUT_PRIORITY} for s, d in ((link.a, link.b), (link.b, link.a))]


def _cut_pairs(wan: Any) -> set[tuple[str, str]]:
    return {(r.get_attr("FRA_SRC"), r.get_attr("FRA_DST")) for r in wan.get_rules(family=2)
            if r["action"] == FR_ACT_BLACKHOLE and r.get_attr("FRA_PRIORITY") == CUT_PRIORITY}


def set_link(spec: LabSpec, a: str, b: str, up: bool) -> InterClusterLink:
    """Cut (``up=False``) or restore the underlay between clusters ``a`` and ``b`` in the WAN router, both ways."""
    link = find_link(spec.clusters, a, b)
    with netlink.rtnl(spec.switch) as wan:
        if up:
            _restore(wan, link)
            return link
        cut = _cut_pairs(wan)
        for rule in _rules(link):
            if (rule["src"], rule["dst"]) not in cut:
                wan.rule("add", **rule)
    return link


def _restore(wan: Any, link: InterClusterLink) -> None:
    cut = _cut_pairs(wan)
    for rule in _rules(link):
        if (rule["src"], rule["dst"]) in cut:
            wan.rule("del", **rule)


def links_status(spec: LabSpec) -> list[dict[str, Any]]:
    """Each inter-cluster link: cut or up (from the WAN's rules and both uplinks' state, read from the kernel)."""
    if not spec.clusters or spec.switch not in netlink.list_netns():
        return []
    with netlink.rtnl(spec.switch) as wan:
        cut = _cut_pairs(wan)
        oper = {c.label: (wan.link("get", index=i)[0].get_attr("IFLA_OPERSTATE") if (i := _index(wan, c.uplink_wan))
                          is not None else "missing") for c in spec.clusters}
    out = []
    for link in inter_cluster_links(spec.clusters):
        state = "cut" if {(link.a.ip, link.b.ip), (link.b.ip, link.a.ip)} & cut else "up"
        if state == "up" and {oper[link.a.label], oper[link.b.label]} != {"UP"}:
            state = "down"
        vnis = sorted({t.vni for t in link.a.tunnels if t.vld_id in link.vlds})
        out.append({"clusters": [link.a.label, link.b.label], "state": state, "links": list(link.vlds),
                    "vni": vnis, "underlay": [link.a.address, link.b.address],
                    "uplinks": {link.a.label: oper[link.a.label], link.b.label: oper[link.b.label]}})
    return out


def status(spec: LabSpec, pods: list[dict[str, Any]], present: set[str]) -> dict[str, Any]:
    """A placed lab's part of ``lab status``: each pod's cluster (added to its row), each cluster's switch, and the
    inter-cluster links' state."""
    cluster_of = {p.key: p.cluster for p in spec.pods}
    labels = {c.cluster: c.label for c in spec.clusters}
    for row in pods:
        row["cluster"] = labels.get(cluster_of.get(row["pod"], ""), "")
    clusters = [{"cluster": c.label, "switch": c.switch, "up": c.switch in present, "underlay": c.address,
                 "bridges": [{"vld": b.vld_id, "name": b.name, "mac": b.mac} for b in c.bridges],
                 "tunnels": [{"vld": t.vld_id, "name": t.name, "vni": t.vni, "peers": list(t.peers)}
                             for t in c.tunnels]} for c in spec.clusters]
    return {"wan": spec.switch, "clusters": clusters, "inter_cluster_links": links_status(spec)}
