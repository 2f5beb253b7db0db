"""Which cluster each KNF runs on, and what that makes of each virtual link: local (one cluster) or stretched. Pure.

A link whose KNFs all run on one cluster is that cluster's network, as in a single-cluster NS. A link whose KNFs run
on several is *stretched*: the provider's inter-cluster form in every cluster it touches (L2S-M: an ``L2Network`` of
the same name, ``spec.provider`` naming the inter-cluster provider, the same ``networkCIDR``), each cluster with its
own ``podAddressRange`` so that the clusters' IPAMs never hand out one address twice. The blocks hold none of the
addresses the plan gives out on the link (pinned, allocated, the gateway), and are disjoint from each other.

Applied to a finished single-cluster plan (``place``), so that placing changes nothing for an NS on one cluster.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from osm_l2net.core import providers
from osm_l2net.core.addressing import IPAddress, address, block_capacity, network_text, replica_block
from osm_l2net.core.checks import Knf, Link, Service
from osm_l2net.core.errors import InputError, Problem
from osm_l2net.core.options import DEFAULT_CLUSTER, PlanOptions
from osm_l2net.core.plan import KduPlan, NetworkPlan, Plan

SOURCE = "--cluster"  # where a placement comes from on the CLI; LCM's come from the vnfrs


def cluster_label(cluster: str) -> str:
    """A cluster as messages name it."""
    return cluster or "(default)"


def place(plan: Plan, service: Service, options: PlanOptions, provider: providers.Provider) -> Plan:
    """``plan`` with every network and KDU on its cluster, stretched links split per cluster; raise InputError when a
    placement names an unknown member or a link cannot be stretched (at the link's path in the NSD)."""
    if not options.placement:
        return plan
    knfs, links, nsd = service.knfs, service.links, service.nsd_source
    problems = _unknown_members(options.placement, knfs)
    if problems:
        raise InputError(problems)
    cluster_of = {k.member_vnf_index: options.placement.get(k.member_vnf_index, DEFAULT_CLUSTER) for k in knfs}
    users: dict[str, list[KduPlan]] = defaultdict(list)
    for kdu in plan.kdus:
        for interface in kdu.interfaces:
            users[interface.vld_id].append(kdu)
    networks: list[NetworkPlan] = []
    for net in plan.networks:
        clusters = sorted({cluster_of[k.member_vnf_index] for k in users[net.vld_id]}) or [DEFAULT_CLUSTER]
        if len(clusters) == 1:
            networks.append(replace(net, cluster=clusters[0]))
            continue
        found = _stretch_problems(nsd, net, links[net.vld_id], clusters, users[net.vld_id], cluster_of, options,
                                  provider)
        if found:
            problems.append(found)
            continue
        networks.extend(_stretched(nsd, net, links[net.vld_id], clusters, users[net.vld_id], cluster_of, options,
                                   provider, problems))
    if problems:
        raise InputError(problems)
    kdus = tuple(replace(k, cluster=cluster_of[k.member_vnf_index]) for k in plan.kdus)
    return replace(plan, networks=tuple(networks), kdus=kdus)


def _unknown_members(placement: Mapping[str, str], knfs: Sequence[Knf]) -> list[Problem]:
    members = [k.member_vnf_index for k in knfs]
    return [Problem(SOURCE, member, f"member-vnf-index '{member}' is not a KNF of the NSD's deployment flavour",
                    f"one of {', '.join(members)}")
            for member in placement if member not in members]


def _stretch_problems(nsd: str, net: NetworkPlan, link: Link, clusters: Sequence[str], kdus: Sequence[KduPlan],
                      cluster_of: Mapping[str, str], options: PlanOptions,
                      provider: providers.Provider) -> Problem | None:
    members = {c: sorted({k.member_vnf_index for k in kdus if cluster_of[k.member_vnf_index] == c}) for c in clusters}
    where = ", ".join(f"{cluster_label(c)} ({', '.join(members[c])})" for c in clusters)
    joined = f"virtual link '{net.vld_id}' joins KNFs on {len(clusters)} clusters: {where}"
    if not provider.stretches:
        able = [p.name for p in providers.registered() if p.stretches]
        return Problem(nsd, link.path, f"{joined}; provider {provider.name} cannot stretch a link across clusters",
                       f"provider {' or '.join(able) or '(none)'}, or its KNFs on one cluster")
    if options.inter_cluster is None:
        return Problem(nsd, link.path, f"{joined}; a stretched link needs the inter-cluster provider that every "
                       "cluster's NetworkEdgeDevice connects to", "--inter-cluster-provider NAME=ADDRESS")
    return None


def _stretched(nsd: str, net: NetworkPlan, link: Link, clusters: Sequence[str], kdus: Sequence[KduPlan],
               cluster_of: Mapping[str, str], options: PlanOptions, provider: providers.Provider,
               problems: list[Problem]) -> list[NetworkPlan]:
    """One network per cluster, each with its own block of the link's cidr (when it has one)."""
    assert options.inter_cluster is not None  # _stretch_problems refuses a stretched link without it
    inter = options.inter_cluster
    base = _without_range(net)
    if link.cidr is None or not provider.pod_address_ranges:  # pure L2: no cluster's IPAM hands out addresses
        return [replace(net, manifest=provider.stretched(base, inter.name, inter.domain), cluster=c,
                        pod_address_range=None, pod_address_capacity=None) for c in clusters]
    reserved: list[IPAddress] = [address(i.ip.split("/")[0]) for k in kdus for i in k.interfaces
                                 if i.vld_id == net.vld_id and i.ip]
    if link.gateway is not None:
        reserved.append(link.gateway)
    out: list[NetworkPlan] = []
    for cluster in clusters:
        need = sum(k.replicas for k in kdus if cluster_of[k.member_vnf_index] == cluster and _unpinned(k, net.vld_id))
        pool = replica_block(link.cidr, reserved, max(need, 1))
        if pool is None or pool.capacity < need:
            problems.append(Problem(nsd, link.path, f"virtual link '{net.vld_id}' ({network_text(link.cidr)}) is "
                                    f"stretched, and cluster {cluster_label(cluster)} needs a block of its own for "
                                    f"{need} replica address(es), but "
                                    + (f"its largest free block holds {pool.capacity}" if pool else "no block is free"),
                                    "a larger cidr, or fewer replicas"))
            return []
        reserved.extend(ipaddress.ip_network(pool.block).hosts())
        reserved.extend((pool.block.network_address, pool.block.broadcast_address))
        block = network_text(pool.block)
        manifest = provider.stretched(provider.with_pod_address_range(base, block), inter.name, inter.domain)
        out.append(replace(net, manifest=manifest, pod_address_range=block,
                           pod_address_capacity=block_capacity(pool.block), cluster=cluster))
    return out


def _unpinned(kdu: KduPlan, vld_id: str) -> bool:
    interface = kdu.interface_on(vld_id)
    return interface is not None and not interface.ip


def _without_range(net: NetworkPlan) -> dict[str, Any]:
    """The network's manifest without the single-cluster block: each cluster gets its own instead."""
    spec = {k: v for k, v in dict(net.manifest["spec"]).items() if k != "podAddressRange"}
    return {**dict(net.manifest), "spec": spec}
