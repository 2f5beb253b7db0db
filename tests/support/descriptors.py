"""Generated OSM descriptors for property tests and benchmarks: groups of links chained by forwarding KNFs.

In each group, KNF j attaches to a window of consecutive links overlapping its neighbour's by one, so the KNFs form a
chain of routers; groups are isolated from each other. Everything is deterministic for given arguments.
"""

from __future__ import annotations

import random
from typing import Any

from osm_l2net.core.model import Descriptors
from osm_l2net.core.sol006 import parse_nsd, parse_vnfd


def cidr_of(index: int, prefix: int = 24) -> str:
    return f"10.{index // 256 % 256}.{index % 256}.0/{prefix}"


def vnfd_doc(n_data: int) -> dict[str, Any]:
    cps = [{"id": "mgmt-ext", "k8s-cluster-net": "mgmtnet"}] + [
        {"id": f"data{i}-ext", "k8s-cluster-net": f"data{i}"} for i in range(n_data)]
    return {"vnfd": {
        "id": f"knf{n_data}", "product-name": f"knf{n_data}", "provider": "gen", "version": "1.0", "mgmt-cp": "mgmt-ext",
        "df": [{"id": "default-df"}], "ext-cpd": cps,
        "k8s-cluster": {"nets": [{"id": "mgmtnet"}] + [{"id": f"data{i}"} for i in range(n_data)]},
        "kdu": [{"name": "app", "helm-chart": "repo/app"}],
    }}


def windows(links: int, knfs: int) -> list[list[int]]:
    """Links each KNF of a group attaches to: consecutive windows, neighbours sharing one link."""
    out = []
    for j in range(knfs):
        lo = j * (links - 1) // knfs if knfs > 1 else 0
        hi = (j + 1) * (links - 1) // knfs if knfs > 1 else links - 1
        out.append(sorted(set(range(lo, max(hi, lo) + 1))))
    return out


def service_docs(groups: int, links: int, knfs: int, prefix: int = 24, pin_every: int = 2,
                 seed: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rnd = random.Random(seed)
    vlds: list[dict[str, Any]] = [{"id": "mgmtnet", "mgmt-network": True}]
    vlps: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    sizes: set[int] = set()
    for g in range(groups):
        for link in range(links):
            vld = f"g{g}-l{link}"
            vlds.append({"id": vld})
            vlps.append({"id": vld, "virtual-link-desc-id": vld, "virtual-link-protocol-data": {
                "l3-protocol-data": {"ip-version": "ipv4", "cidr": cidr_of(g * links + link, prefix), "dhcp-enabled": False}}})
        for j, window in enumerate(windows(links, knfs)):
            member = f"g{g}-k{j}"
            sizes.add(len(window))
            vlc = [{"virtual-link-profile-id": "mgmtnet", "constituent-cpd-id": [
                {"constituent-base-element-id": member, "constituent-cpd-id": "mgmt-ext"}]}]
            for i, link in enumerate(window):
                cp: dict[str, Any] = {"constituent-base-element-id": member, "constituent-cpd-id": f"data{i}-ext"}
                if pin_every and rnd.randrange(pin_every) == 0:
                    base = cidr_of(g * links + link, prefix).split("/")[0].rsplit(".", 1)[0]
                    cp["ip-address"] = f"{base}.{j + 1}"
                vlc.append({"virtual-link-profile-id": f"g{g}-l{link}", "constituent-cpd-id": [cp]})
            profiles.append({"id": member, "vnfd-id": f"knf{len(window)}", "virtual-link-connectivity": vlc})
    nsd = {"nsd": {"nsd": [{
        "id": "gen_ns", "name": "gen_ns", "designer": "gen", "version": "1.0",
        "vnfd-id": [f"knf{n}" for n in sorted(sizes)], "virtual-link-desc": vlds,
        "df": [{"id": "default-df", "virtual-link-profile": vlps, "vnf-profile": profiles}],
    }]}}
    return nsd, [vnfd_doc(n) for n in sorted(sizes)]


def descriptors(nsd: dict[str, Any], vnfds: list[dict[str, Any]]) -> Descriptors:
    # the parsers never modify their input (tests/unit/test_properties.py mutates copies of its own)
    parsed = [parse_vnfd(v, f"gen/vnfd-{i}.yaml") for i, v in enumerate(vnfds)]
    return Descriptors(parse_nsd(nsd, "gen/nsd.yaml"), {v.id: v for v in parsed})
