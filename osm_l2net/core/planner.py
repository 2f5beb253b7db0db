"""Descriptors + NS instance → Plan. Pure and deterministic: the same input gives the same plan, byte for byte.

Order of decisions: resolve and check everything (:mod:`checks`), pin or allocate each interface's address, compute
forwarding and routes on the graph (:mod:`topology`), then let the provider shape the network objects and pod
metadata, and merge the attachment into each KDU's helm values.
"""

from __future__ import annotations

import copy
import gc
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from osm_l2net.core import providers
from osm_l2net.core.addressing import (
    Allocator,
    IPAddress,
    ReplicaBlock,
    address,
    int_text,
    ip_text,
    network_text,
    replica_block,
)
from osm_l2net.core.checks import Attachment, Knf, Link, Service, first_by, resolve
from osm_l2net.core.errors import InputError, Problem
from osm_l2net.core.model import Descriptors, Kdu, KduParams, KduScaling, NsInstance, VnfParams
from osm_l2net.core.names import label_value, network_names, release_name
from osm_l2net.core.options import PlanOptions, ValuesLayout
from osm_l2net.core.placement import place
from osm_l2net.core.plan import (
    ANNOTATION_NS_ID,
    ANNOTATION_NS_NAME,
    ANNOTATION_VLD_ID,
    LABEL_NS_ID,
    LABEL_VLD_ID,
    Interface,
    KduPlan,
    NetworkPlan,
    Plan,
    Route,
    identity_labels,
    owner_labels,
)
from osm_l2net.core.topology import Topology, TopoRoute


def build_plan(descriptors: Descriptors, instance: NsInstance, options: PlanOptions | None = None) -> Plan:
    """Check the descriptors and parameters and return the plan; raise InputError listing every problem found."""
    # Planning allocates many small acyclic objects; the cycle collector would rescan them repeatedly for nothing
    # (a third of the time on a 10,000-link NS). Pause it for this call only.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _build_plan(descriptors, instance, options)
    finally:
        if paused:
            gc.enable()


def _build_plan(descriptors: Descriptors, instance: NsInstance, options: PlanOptions | None) -> Plan:
    options = options or PlanOptions(namespace=instance.namespace)
    provider = _provider(options.provider)
    service = resolve(descriptors, instance, options)
    params = _UserParams.of(instance)
    # sparse, by (member-vnf-index, kdu name): a KDU absent from them has 1 replica and does not scale, as nearly all
    replicas = _replica_counts(service, params)
    scaling = _scaling(service)
    # the most pods a KDU may ever run at once: its replicaCount, or what OSM's scale may grow it to
    most = {key: max(replicas.get(key, 1), scaling.get(key, (1, None))[0]) for key in dict.fromkeys([*replicas, *scaling])}
    _check_replicas(service, replicas, provider)
    _check_scaling(service, replicas, scaling, provider)
    if not service.ok:
        raise InputError(sorted(service.problems, key=lambda p: p.severity != "error"))
    addresses, bare = _addresses(service, most)
    pools = _replica_pools(service, most, provider, bare, replicas)
    if not service.ok:
        raise InputError(sorted(service.problems, key=lambda p: p.severity != "error"))
    cidrs = {vld: network_text(link.cidr) if link.cidr else None for vld, link in service.links.items()}
    topology = Topology(
        [k.member_vnf_index for k in service.knfs],
        cidrs,
        [(a.member_vnf_index, a.vld_id, _topology_address(known, a.vld_id in pools) if pools else known)
         for a, known in zip(service.attachments, bare, strict=True)],
        {k.member_vnf_index: k.forwarding for k in service.knfs},
    )
    routes, route_warnings = topology.routes()
    owner = owner_labels(instance.ns_id)
    layout = options.values_layout
    ctx = _Context(instance, options, provider, params, topology,
                   network_names(instance.ns_name, instance.ns_id, service.links), replicas,
                   instance.params.k8s_namespace or options.namespace, owner, pools,
                   {**owner, **identity_labels(instance.ns_name, service.nsd_id)},
                   {ANNOTATION_NS_NAME: instance.ns_name, ANNOTATION_NS_ID: instance.ns_id},
                   _layout(layout))
    networks = tuple([_network(ctx, link, cidrs[vld]) for vld, link in service.links.items()])
    by_kdu: dict[tuple[str, str], list[tuple[Attachment, str | None]]] = defaultdict(list)
    for a, ip in zip(service.attachments, addresses, strict=True):
        by_kdu[(a.member_vnf_index, a.kdu_name)].append((a, ip))
    by_member: dict[str, list[TopoRoute]] = defaultdict(list)
    for r in routes:
        by_member[r.member_vnf_index].append(r)
    kdus = tuple([_kdu_plan(ctx, knf, kdu, by_kdu[(knf.member_vnf_index, kdu.name)], by_member[knf.member_vnf_index])
                  for knf in service.knfs for kdu in knf.vnfd.kdus])
    plan = Plan(instance.ns_id, instance.ns_name, service.nsd_id, ctx.net_namespace, options.provider, networks, kdus,
                tuple(p for p in service.problems if p.severity != "error") + tuple(route_warnings))
    return place(plan, service, options, provider)


def _scaling(service: Service) -> dict[tuple[str, str], tuple[int, KduScaling | None]]:
    """The :meth:`Vnfd.max_instances` of each KDU that OSM may scale beyond 1, worked out once per VNFD: thousands of
    KNFs share a few VNFDs."""
    per_vnfd: dict[int, list[tuple[str, tuple[int, KduScaling | None]]]] = {}  # by id(vnfd): a Vnfd is not hashable
    out: dict[tuple[str, str], tuple[int, KduScaling | None]] = {}
    for k in service.knfs:
        kdus = per_vnfd.get(id(k.vnfd))
        if kdus is None:
            kdus = per_vnfd[id(k.vnfd)] = [(kdu.name, most) for kdu in k.vnfd.kdus
                                           if (most := k.vnfd.max_instances(kdu.name))[0] > 1]
        for name, most in kdus:
            out[(k.member_vnf_index, name)] = most
    return out


def _topology_address(known: str | None, pooled: bool) -> str | None:
    """What the topology knows of an interface's address: the plan's, or "" for one the provider's IPAM gives from
    the link's replica pool (it has an address, so its KNF gets routes, but it cannot be a next hop: no fixed one)."""
    return "" if known is None and pooled else known


@dataclass(frozen=True)
class _UserParams:
    """The instantiation parameters of each VNF and KDU, looked up by key (the first entry wins, as OSM reads them)."""

    vnfs: Mapping[str, VnfParams]
    kdus: Mapping[tuple[str, str], KduParams]  # (member-vnf-index, kdu name) -> its params

    @classmethod
    def of(cls, instance: NsInstance) -> _UserParams:
        vnfs = first_by(instance.params.vnfs, lambda v: v.member_vnf_index)
        kdus = {(member, name): kdu for member, vnf in vnfs.items()
                for name, kdu in first_by(vnf.kdus, lambda k: k.kdu_name).items()}
        return cls(vnfs, kdus)


def _replica_counts(service: Service, params: _UserParams) -> dict[tuple[str, str], int]:
    """The replicaCount of each KDU whose parameters set one other than 1, by (member-vnf-index, kdu name); without
    KDU parameters (the common case) none, found without a key made per KDU."""
    if not params.kdus:
        return {}
    keys = [(k.member_vnf_index, kdu.name) for k in service.knfs for kdu in k.vnfd.kdus]
    return {key: n for key in keys if (n := _replicas(params.kdus.get(key))) != 1}


def _replicas(params: KduParams | None) -> int:
    value = params.additional_params.get("replicaCount", 1) if params else 1
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 1


def _provider(name: str) -> providers.Provider:
    try:
        return providers.get(name)
    except KeyError:
        raise InputError.single("--provider", "", f"unknown provider '{name}'",
                                f"one of {list(providers.names())}") from None


def _check_replicas(service: Service, replicas: Mapping[tuple[str, str], int], provider: providers.Provider) -> None:
    """A pinned address on a KDU with several replicas would be given to every replica (the Multus static-IPAM trap)."""
    if max(replicas.values(), default=0) <= 1:  # max(): no generator resumed per KDU
        return  # the common case, found without a look at each attachment
    for a in service.attachments:
        n = replicas.get((a.member_vnf_index, a.kdu_name), 1)
        if n <= 1:
            continue
        if a.ip is not None:
            service.problems.append(Problem(a.ip_source, a.ip_path,
                                            f"{a.ip} is pinned but KDU '{a.kdu_name}' has replicaCount {n}: every "
                                            "replica would get the same address",
                                            "replicaCount 1, or no ip-address so that each replica gets its own"))
        elif not provider.assigns_addresses:
            service.problems.append(Problem(service.nsd_source, a.path,
                                            f"KDU '{a.kdu_name}' has replicaCount {n} but provider '{provider.name}' "
                                            "cannot give each replica its own address", _replicas_fix()))


def _check_scaling(service: Service, replicas: Mapping[tuple[str, str], int],
                   scaling: Mapping[tuple[str, str], tuple[int, KduScaling | None]],
                   provider: providers.Provider) -> None:
    """The same trap through OSM's scale: a KDU whose kdu-resource-profile allows several instances (and that a
    scaling aspect refers to) may get that many replicas of the same pod, each with the same pinned address."""
    if all(n <= 1 for n, _ in scaling.values()):
        return  # no KDU scales: the common case, found without a look at each attachment
    vnfd_of = {k.member_vnf_index: k.vnfd for k in service.knfs}
    for a in service.attachments:
        key = (a.member_vnf_index, a.kdu_name)
        n, profile = scaling.get(key, (1, None))
        if n <= 1 or profile is None or replicas.get(key, 1) > 1:
            continue  # replicaCount > 1 is reported by _check_replicas already
        source = vnfd_of[a.member_vnf_index].source
        where = f"{profile.path}.max-number-of-instances"
        if a.ip is not None:
            service.problems.append(Problem(
                source, where,
                f"is {n} for KDU '{a.kdu_name}' (kdu-resource-profile '{profile.profile_id}', scaled by "
                f"{profile.aspect_path}) but its interface on '{a.vld_id}' has the pinned address {a.ip} "
                f"({a.ip_source}: {a.ip_path}): every replica OSM's scale adds would get the same address",
                "max-number-of-instances 1, or no ip-address for this KDU's connection points so that each replica "
                "gets its own"))
        elif not provider.assigns_addresses and service.links[a.vld_id].cidr is not None:
            service.problems.append(Problem(
                source, where,
                f"is {n} for KDU '{a.kdu_name}' (kdu-resource-profile '{profile.profile_id}') but provider "
                f"'{provider.name}' cannot give each replica its own address on '{a.vld_id}'",
                "max-number-of-instances 1" + _replicas_fix().removeprefix("replicaCount 1")))


def _replicas_fix() -> str:
    able = providers.assigning_addresses()
    return "replicaCount 1" + (f", or provider {' or '.join(able)}" if able else "")


def _replica_pools(service: Service, replicas: Mapping[tuple[str, str], int], provider: providers.Provider,
                   bare: list[str | None], asked: Mapping[tuple[str, str], int]) -> dict[str, ReplicaBlock]:
    """One address block per link that multi-replica KDUs attach to unpinned, for a provider that takes one.

    A network has one ``podAddressRange``, so KDUs sharing a link share its block: their replica counts add up and
    must fit its capacity together (refusing the sharing would forbid a common topology for no gain). The block holds
    none of the plan's own addresses (pinned, allocated, gateway), so the IPAM never duplicates one.
    """
    if not provider.pod_address_ranges or max(replicas.values(), default=0) <= 1:
        return {}
    users: dict[str, list[tuple[Attachment, int]]] = defaultdict(list)
    for a in service.attachments:
        n = replicas.get((a.member_vnf_index, a.kdu_name), 1)
        if n > 1 and a.ip is None and service.links[a.vld_id].cidr is not None:
            users[a.vld_id].append((a, n))
    if not users:
        return {}
    taken: dict[str, list[IPAddress]] = defaultdict(list)
    for a, text in zip(service.attachments, bare, strict=True):
        if text is not None and a.vld_id in users:
            taken[a.vld_id].append(address(text))
    pools: dict[str, ReplicaBlock] = {}
    for vld, kdus in users.items():
        link = service.links[vld]
        assert link.cidr is not None  # users holds only links with a cidr
        total = sum(n for _, n in kdus)
        pool = replica_block(link.cidr, taken[vld] + ([link.gateway] if link.gateway else []), total)
        if pool is not None and pool.capacity >= total:
            pools[vld] = pool
            continue
        found = f"its largest free block {network_text(pool.block)} holds {pool.capacity}" if pool else "no block is free"
        for a, n in kdus:
            service.problems.append(Problem(
                service.nsd_source, a.path,
                f"KDU '{a.kdu_name}' (member-vnf-index {a.member_vnf_index}) "
                + (f"has replicaCount {n}" if asked.get((a.member_vnf_index, a.kdu_name), 1) == n else
                   f"may be scaled to {n} replicas (max-number-of-instances of its kdu-resource-profile)")
                + " on virtual link "
                f"'{vld}' ({network_text(link.cidr)}), whose replicas need {total} addresses outside the pinned and "
                f"gateway ones, but {found}",
                f"at most {pool.capacity if pool else 0} replicas on '{vld}' in total, or a larger cidr"))
    return pools


def _addresses(service: Service, replicas: Mapping[tuple[str, str], int]) -> tuple[list[str | None], list[str | None]]:
    """Pinned addresses first; then one address per single-replica interface, in descriptor order, from the cidr.

    Returns each attachment's address with its prefix length (``10.0.1.10/24``) and without it (for the topology), in
    ``service.attachments`` order (lists, not dicts keyed by attachment: no key tuple to build and hash per interface),
    each formatted once here: this runs once per attachment. Allocated addresses stay integers until formatted.
    """
    pinned: dict[str, list[IPAddress]] = defaultdict(list)
    for a in service.attachments:
        if a.ip is not None:
            pinned[a.vld_id].append(a.ip)
    allocators: dict[str, Allocator] = {}  # made at a link's first address to allocate: many links need none
    suffix = {vld: f"/{link.cidr.prefixlen}" for vld, link in service.links.items() if link.cidr is not None}
    out: list[str | None] = []
    bare: list[str | None] = []
    single = set(replicas.values()) <= {1}  # the common case: no key made and looked up per interface
    for a in service.attachments:
        vld_id, ip, text = a.vld_id, a.ip, None
        if vld_id not in suffix:  # no cidr: pure L2, nothing to address
            pass
        elif ip is not None:
            text = ip_text(ip)  # a third of str()'s time for IPv4, which is twice as fast as an f-string's format()
        elif single or replicas.get((a.member_vnf_index, a.kdu_name), 1) == 1:
            allocator = allocators.get(vld_id)
            if allocator is None:
                allocator = allocators[vld_id] = _allocator(service.links[vld_id], pinned.get(vld_id, []))
            value = allocator.next_value()
            text = None if value is None else int_text(value, allocator.version)
        bare.append(text)
        out.append(None if text is None else text + suffix[vld_id])
    return out, bare


def _allocator(link: Link, pinned: list[IPAddress]) -> Allocator:
    assert link.cidr is not None  # only links with a cidr allocate
    return Allocator(link.cidr, [*pinned, link.gateway] if link.gateway else pinned, link.pools)


@dataclass(frozen=True)
class _Context:
    """What every network and KDU plan is made from, built once so that planning stays linear in the NS size."""

    instance: NsInstance
    options: PlanOptions
    provider: providers.Provider
    params: _UserParams
    topology: Topology
    names: Mapping[str, str]
    replicas: Mapping[tuple[str, str], int]  # sparse: a KDU not in it has 1
    net_namespace: str
    owner: Mapping[str, str]  # the ownership labels of every network (and, ns-id only, every attached pod)
    pools: Mapping[str, ReplicaBlock]  # vld id -> the block its multi-replica KDUs' pods are addressed from
    # every network's labels but its vld-id: the owner's, then the NSD and NS-name ones (not on pods: they are
    # selected by id); and its annotations but its vld-id one
    network_labels: Mapping[str, str]
    network_annotations: Mapping[str, str]
    layout: tuple[list[str], ...]  # the values layout's pod labels, pod annotations and l2net paths, split once


# uncached: a big NS has more VLD ids than label_value's cache holds, and each would only evict another
_vld_label = label_value.__wrapped__


def _network(ctx: _Context, link: Link, cidr: str | None) -> NetworkPlan:
    labels = {**ctx.network_labels, LABEL_VLD_ID: _vld_label(link.vld_id)}
    annotations = {ANNOTATION_VLD_ID: link.vld_id, **ctx.network_annotations}
    name = ctx.names[link.vld_id]
    manifest = ctx.provider.network_manifest(name, ctx.net_namespace, cidr, link.mtu, labels, annotations)
    gateway = ip_text(link.gateway) if link.gateway else None
    pool = ctx.pools.get(link.vld_id)
    if pool is None:
        return NetworkPlan(link.vld_id, name, cidr, link.ip_version, gateway, manifest, mtu=link.mtu)
    block = network_text(pool.block)
    return NetworkPlan(link.vld_id, name, cidr, link.ip_version, gateway,
                       ctx.provider.with_pod_address_range(manifest, block), block, pool.capacity, mtu=link.mtu)


def _kdu_plan(ctx: _Context, knf: Knf, kdu: Kdu, attachments: list[tuple[Attachment, str | None]],
              routes: list[TopoRoute]) -> KduPlan:
    """``attachments``: the KDU's, each with its address (with the prefix length)."""
    member, names, pools = knf.member_vnf_index, ctx.names, ctx.pools
    # one loop for the interfaces and the route devices, no comprehension (each a call) per KDU: 5,000 of them
    made: list[Interface] = []
    forms: list[dict[str, Any]] = []  # their as_dict(), for the values
    dev: dict[str, str] = {}  # vld id -> the interface its routes leave through
    n = 0
    for a, ip in attachments:
        n += 1
        vld_id = a.vld_id
        interface = Interface(f"net{n}", vld_id, names[vld_id], a.cpd_id, ip)
        made.append(interface)
        forms.append(interface.as_dict())
        if ip or vld_id in pools:  # a pool-addressed interface has an address too, only not one the plan knows
            dev[vld_id] = interface.name
    interfaces = tuple(made)
    kdu_routes = tuple(sorted([Route(r.to, r.via, dev[r.out_vld]) for r in routes if r.out_vld in dev],
                              key=_TO)) if routes else ()
    kdu_params = ctx.params.kdus.get((member, kdu.name)) if ctx.params.kdus else None
    forwarding = n >= 1 and bool(ctx.topology.forwarding.get(member))
    user = kdu_params.additional_params if kdu_params else None
    if interfaces:
        labels, annotations = ctx.provider.pod_metadata(interfaces, ctx.net_namespace)
        labels[LABEL_NS_ID] = ctx.owner[LABEL_NS_ID]
        l2net = {"nsId": ctx.instance.ns_id, "forwarding": forwarding, "interfaces": forms,
                 "routes": [r.as_dict() for r in kdu_routes] if kdu_routes else []}
        values = _values(ctx.layout, user, labels, annotations, l2net)
    else:
        labels, annotations = {}, {}
        values = _user_values(user)
    return KduPlan(
        member_vnf_index=member, vnfd_id=knf.vnfd.id, kdu_name=kdu.name, helm_chart=kdu.helm_chart,
        chart_path=knf.vnfd.local_charts.get(kdu.helm_chart or ""),
        release_name=(kdu_params.kdu_deployment_name if kdu_params else None)
        or release_name(ctx.instance.ns_id, member, kdu.name), namespace=_kdu_namespace(ctx, member, kdu_params),
        replicas=ctx.replicas.get((member, kdu.name), 1), forwarding=forwarding, interfaces=interfaces, routes=kdu_routes,
        pod_labels=labels, pod_annotations=annotations, values=values,
    )


_TO = attrgetter("to")


def _kdu_namespace(ctx: _Context, member: str, kdu_params: KduParams | None) -> str:
    """The KDU's own k8s-namespace parameter, else its VNF's, else the NS's."""
    if kdu_params and kdu_params.k8s_namespace:
        return kdu_params.k8s_namespace
    vnf = ctx.params.vnfs.get(member) if ctx.params.vnfs else None
    return (vnf.k8s_namespace if vnf else None) or ctx.net_namespace


def _values(layout: tuple[list[str], ...], user: Mapping[str, Any] | None, labels: Mapping[str, str],
            annotations: Mapping[str, str], l2net: dict[str, Any]) -> dict[str, Any]:
    """The user's KDU params with the attachment merged in at the layout's paths (ours win on our own keys)."""
    if not user and layout is _FLAT_LAYOUT:
        # nothing to merge into, at the default paths: what the merges below would build (l2net is made afresh)
        return {"podLabels": dict(labels), "podAnnotations": dict(annotations), "l2net": l2net}
    values = _user_values(user)
    for path, data in zip(layout, (labels, annotations, l2net), strict=True):
        _merge_at(values, path, data)
    return values


def _user_values(user: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of the user's KDU params, the values' start: the plan never shares the caller's dicts."""
    return copy.deepcopy(dict(user)) if user else {}


#: the default ValuesLayout, split: three distinct top-level keys
_FLAT_LAYOUT = (["podLabels"], ["podAnnotations"], ["l2net"])


def _layout(layout: ValuesLayout) -> tuple[list[str], ...]:
    """The layout's paths split once; the default one as :data:`_FLAT_LAYOUT` itself, which :func:`_values` knows."""
    split = tuple(path.split(".") for path in (layout.pod_labels, layout.pod_annotations, layout.l2net))
    return _FLAT_LAYOUT if split == _FLAT_LAYOUT else split


def _merge_at(values: dict[str, Any], parts: list[str], data: Mapping[str, Any]) -> None:
    node = values
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    existing = node.get(parts[-1])
    node[parts[-1]] = {**existing, **data} if isinstance(existing, dict) else dict(data)
