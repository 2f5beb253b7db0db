"""Resolve an NSD + VNFDs + instantiation parameters into links and attachments, checking every rule on the way.

All problems are collected (errors and warnings) so the user sees everything at once, each with its file and
descriptor path. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from osm_l2net.core.addressing import IPAddress, IPNetwork, address, bounds, host_range, network, parse_pool, usable
from osm_l2net.core.errors import Problem
from osm_l2net.core.model import (
    CpAttachment,
    Descriptors,
    Kdu,
    NsDeploymentFlavour,
    NsInstance,
    VirtualLinkProfile,
    Vnfd,
    VnfProfile,
)
from osm_l2net.core.names import LABEL_VALUE, MAX_NAME, MAX_RELEASE, dns1123_problem
from osm_l2net.core.options import PlanOptions

T = TypeVar("T")


# Link, Attachment and Knf are NamedTuples, not frozen dataclasses: the planner makes one per link, attachment and
# KNF (27,500 on a 10,000-link NS), and a frozen dataclass's __init__ sets each field through object.__setattr__,
# several times the cost of a tuple. They are as immutable, and used inside the core only. Made through tuple.__new__
# (with the fields in order), not through the class: its __new__ is a Python function that only hands its arguments on
# to tuple.__new__, a call more per object.
class Link(NamedTuple):
    """A data (non-management) virtual link of the NS with its effective L3 settings."""

    vld_id: str
    cidr: IPNetwork | None
    ip_version: str
    gateway: IPAddress | None
    pools: tuple[tuple[IPAddress, IPAddress], ...]
    mtu: int | None
    path: str


class Attachment(NamedTuple):
    member_vnf_index: str
    cpd_id: str
    vld_id: str
    kdu_name: str
    ip: IPAddress | None  # pinned by the NSD or the instantiation parameters
    path: str
    ip_source: str = ""  # where the pinned address was written: the NSD file or the parameters
    ip_path: str = ""


class Knf(NamedTuple):
    member_vnf_index: str
    vnfd: Vnfd
    forwarding: bool | None  # explicit override from additionalParamsForVnf[].additionalParams.l2net.forwarding
    path: str


@dataclass
class Service:
    nsd_id: str
    nsd_source: str
    links: dict[str, Link] = field(default_factory=dict)
    knfs: list[Knf] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


class _Check:
    def __init__(self, descriptors: Descriptors, instance: NsInstance, options: PlanOptions) -> None:
        self.d = descriptors
        self.nsd = descriptors.nsd
        self.instance = instance
        self.options = options
        self.service = Service(self.nsd.id, self.nsd.source)
        self.vnfd_ids = set(self.nsd.vnfd_ids)
        # lookups built once, so that checking stays linear in the NS size (the first entry wins, as with next())
        self.vnf_params = first_by(instance.params.vnfs, lambda v: v.member_vnf_index)
        self.vld_params = first_by(instance.params.vlds, lambda v: v.name)
        self._cpds: dict[int, dict[str, str | None]] = {}  # by id(vnfd): a Vnfd holds a dict, so it is not hashable

    def cpd_kdus(self, vnfd: Vnfd) -> dict[str, str | None]:
        """The VNFD's ext-cpd ids, each with the first KDU whose service names it (None: no service names it)."""
        found = self._cpds.get(id(vnfd))
        if found is None:
            named = {s.external_connection_point_ref: kdu.name for kdu in reversed(vnfd.kdus) for s in kdu.services}
            found = self._cpds[id(vnfd)] = {e.id: named.get(e.id) for e in vnfd.ext_cpds}
        return found

    def error(self, source: str, path: str, message: str, expected: str = "") -> None:
        self.service.problems.append(Problem(source, path, message, expected))

    def warn(self, source: str, path: str, message: str, expected: str = "") -> None:
        self.service.problems.append(Problem(source, path, message, expected, "warning"))


def resolve(descriptors: Descriptors, instance: NsInstance, options: PlanOptions) -> Service:
    """Check everything and return the resolved service; ``service.problems`` holds every finding."""
    c = _Check(descriptors, instance, options)
    # what reading the descriptors found (references OSM accepts and does not use, charts where OSM will not look)
    c.service.problems.extend(descriptors.nsd.warnings)
    for vnfd in descriptors.vnfds.values():
        c.service.problems.extend(vnfd.warnings)
    df = _deployment_flavour(c)
    if df is None:
        return c.service
    mgmt = {v.id for v in c.nsd.vlds if v.mgmt_network}
    _links(c, df, mgmt)
    _overlaps(c)
    for profile in df.vnf_profiles:
        _vnf_profile(c, profile, mgmt)
    _addresses(c)
    _params(c, df)
    _names(c)
    return c.service


def _deployment_flavour(c: _Check) -> NsDeploymentFlavour | None:
    wanted = c.options.df_id
    df = next((d for d in c.nsd.dfs if wanted in (None, d.id)), None)
    if df is None:
        c.error(c.nsd.source, f"{c.nsd.path}.df", f"no deployment flavour '{wanted}'", f"one of {[d.id for d in c.nsd.dfs]}")
    return df


def _links(c: _Check, df: NsDeploymentFlavour, mgmt: set[str]) -> None:
    vld_ids = {v.id for v in c.nsd.vlds}
    profiles: dict[str, VirtualLinkProfile] = {}
    for vlp in df.virtual_link_profiles:
        if vlp.vld_id not in vld_ids:
            # LCM looks a VLD's profile up by virtual-link-desc-id (ns.py, find_in_list): this one is never found
            c.warn(c.nsd.source, f"{vlp.path}.virtual-link-desc-id", f"'{vlp.vld_id}' matches no virtual-link-desc id; "
                   "OSM does not check it and applies this profile to no virtual link; neither does osm-l2net",
                   _one_of(v.id for v in c.nsd.vlds))
        elif vlp.vld_id in mgmt and vlp.l3 is not None:
            c.error(c.nsd.source, f"{vlp.path}.virtual-link-protocol-data",
                    "protocol data on a mgmt-network virtual link; OSM NBI rejects it", "no virtual-link-protocol-data")
        else:
            profiles.setdefault(vlp.vld_id, vlp)
    for vld in c.nsd.vlds:
        if vld.id not in mgmt:
            c.service.links[vld.id] = _link(c, vld.id, profiles.get(vld.id), vld.path)


def _link(c: _Check, vld_id: str, vlp: VirtualLinkProfile | None, vld_path: str) -> Link:
    l3 = vlp.l3 if vlp else None
    cidr = network(l3.cidr) if l3 and l3.cidr else None
    version = l3.ip_version if l3 else "ipv4"
    gateway = address(l3.gateway_ip) if l3 and l3.gateway_ip else None
    path = vlp.path if vlp else vld_path
    source = c.nsd.source
    override = c.vld_params.get(vld_id)
    if override and override.ip_profile:
        ip = override.ip_profile
        source, path = c.instance.params.source, f"{override.path}.ip-profile"
        version = ip.ip_version or version
        cidr = network(ip.subnet_address) if ip.subnet_address else cidr
        gateway = address(ip.gateway_address) if ip.gateway_address else gateway
    if cidr is not None and cidr.version != int(version[-1]):
        c.error(source, path, f"cidr {cidr} is IPv{cidr.version} but ip-version is {version}: the link cannot be "
                f"planned because its IP version is ambiguous", f"an IPv{version[-1]} cidr")
    if gateway is not None and cidr is not None and gateway not in cidr:
        c.warn(source, path, f"gateway-ip {gateway} is outside the link's cidr {cidr}", f"an address inside {cidr}")
    pools = []
    for i, pool in enumerate(l3.ip_allocation_pools if l3 else ()):
        try:
            first, last = parse_pool(pool)
        except ValueError as e:
            c.error(source, f"{path}.virtual-link-protocol-data.l3-protocol-data.ip-allocation-pools[{i}]",
                    f"'{pool}' is not an address range ({e}): the link cannot be planned because its "
                    "addresses come from its pools", "first-last, a CIDR or one address inside the cidr")
            continue
        if cidr is None or first not in cidr or last not in cidr:
            c.error(source, f"{path}.virtual-link-protocol-data.l3-protocol-data.ip-allocation-pools[{i}]",
                    f"'{pool}' is not inside the link's cidr {cidr}: the link cannot be planned because "
                    "its addresses come from its pools", "a range inside the cidr")
            continue
        pools.append((first, last))
    return tuple.__new__(Link, (vld_id, cidr, version, gateway, tuple(pools), vlp.mtu if vlp else None, path))


def _overlaps(c: _Check) -> None:
    """CIDRs of one NS's L2 links must not overlap: a KNF on two of them could not route. O(n log n) on integer ranges."""
    spans = sorted((link.cidr.version, *bounds(link.cidr), i, link)
                   for i, link in enumerate(c.service.links.values()) if link.cidr is not None)
    reach: tuple[int, int, Link] | None = None  # the previous span reaching furthest: (version, last address, link)
    for version, first, last, _, link in spans:
        if reach is not None and reach[0] == version and first <= reach[1]:
            other = reach[2]
            c.error(c.nsd.source, link.path, f"cidr {link.cidr} of '{link.vld_id}' overlaps {other.cidr} of "
                    f"'{other.vld_id}': the NS cannot be planned because a KNF on both links could not route between them",
                    "non-overlapping cidrs for the NS's L2 virtual links")
        if reach is None or reach[0] != version or last > reach[1]:
            reach = (version, last, link)


def _vnf_profile(c: _Check, profile: VnfProfile, mgmt: set[str]) -> None:
    source = c.nsd.source
    if profile.vnfd_id not in c.vnfd_ids:
        c.error(source, f"{profile.path}.vnfd-id", f"'{profile.vnfd_id}' is not in the NSD's vnfd-id list; OSM NBI rejects it",
                _one_of(c.nsd.vnfd_ids))
    vnfd = c.d.vnfds.get(profile.vnfd_id)
    if vnfd is None:
        c.error(source, f"{profile.path}.vnfd-id", f"VNFD '{profile.vnfd_id}' was not given: the NS cannot be planned "
                "because its connection points and KDUs are in that VNFD", "its VNFD file or package among the paths")
        return
    if not vnfd.kdus:
        c.warn(vnfd.source, "vnfd.kdu", f"VNFD '{vnfd.id}' has no KDU: not a KNF, its connection points are ignored",
               "KNF VNFDs with kdu[]")
        return
    c.service.knfs.append(tuple.__new__(Knf, (profile.id, vnfd, _forwarding_override(c, profile), profile.path)))
    seen: set[tuple[str, str]] = set()
    count: dict[str, int] = {}
    cpd_kdus = c.cpd_kdus(vnfd)
    for cp in profile.attachments:
        if cp.vld_id in mgmt and cp.cpd_id in cpd_kdus and cp.member_vnf_index == profile.id:
            continue  # a management link, nothing to check or attach: found without the call below (one per KNF)
        attachment = _attachment(c, profile, vnfd, cpd_kdus, cp, mgmt, seen)
        if attachment is not None:
            c.service.attachments.append(attachment)
            count[attachment.kdu_name] = count.get(attachment.kdu_name, 0) + 1
    for kdu_name, n in count.items():
        if n > c.options.interface_capacity:
            c.error(source, profile.path, f"KDU '{kdu_name}' needs {n} L2 interfaces: it cannot be planned because a pod "
                    "gets no more interfaces than the per-node switch capacity",
                    f"at most {c.options.interface_capacity} (the per-node switch capacity; set --interface-capacity)")


def _attachment(c: _Check, profile: VnfProfile, vnfd: Vnfd, cpd_kdus: dict[str, str | None], cp: CpAttachment,
                mgmt: set[str], seen: set[tuple[str, str]]) -> Attachment | None:
    """``cp`` resolved (``cpd_kdus``: the VNFD's, see :meth:`_Check.cpd_kdus`), or None when it is refused or on a
    management link."""
    source = c.nsd.source
    if cp.member_vnf_index != profile.id:
        _base_element_mismatch(c, profile, cp, cp.vld_id in mgmt)
    if cp.cpd_id not in cpd_kdus:
        c.error(source, f"{cp.path}.constituent-cpd-id", f"'{cp.cpd_id}' matches no ext-cpd of VNFD '{vnfd.id}'; OSM NBI "
                "rejects it at onboarding", f"one of {[e.id for e in vnfd.ext_cpds]}")
        return None
    if cp.vld_id in mgmt:
        return None
    if cp.vld_id not in c.service.links:
        c.error(source, f"{cp.path.rsplit('.constituent-cpd-id', 1)[0]}.virtual-link-profile-id",
                f"'{cp.vld_id}' matches no virtual-link-desc id; OSM NBI looks it up among the VLD ids and "
                "fails the ns-create",
                _one_of(v.id for v in c.nsd.vlds))
        return None
    if (cp.cpd_id, cp.vld_id) in seen:
        c.error(source, cp.path, f"ext-cpd '{cp.cpd_id}' is attached to '{cp.vld_id}' twice: it cannot be planned "
                "because a connection point has one interface per link", "each once")
        return None
    seen.add((cp.cpd_id, cp.vld_id))
    ip, ip_source, ip_path = _pinned_ip(c, cp)
    named = cpd_kdus[cp.cpd_id]  # the common case, without a call: a KDU's service names the connection point
    return tuple.__new__(Attachment, (profile.id, cp.cpd_id, cp.vld_id,
                                      named if named is not None else _kdu_for(c, vnfd, cp, None), ip, cp.path,
                                      ip_source, ip_path))


def _base_element_mismatch(c: _Check, profile: VnfProfile, cp: CpAttachment, on_mgmt: bool) -> None:
    """OSM does not check constituent-base-element-id; NBI writes it as the member-vnf-index-ref of the NS record's
    vld[].vnfd-connection-point-ref and keys the NSD's fixed ip-address by it (instance_topics.py)."""
    path, expected = f"{cp.path}.constituent-base-element-id", f"'{profile.id}' (this vnf-profile's id)"
    if on_mgmt:
        c.warn(c.nsd.source, path, f"'{cp.member_vnf_index}' is not this vnf-profile's id; OSM accepts it and records "
               f"the connection point as member '{cp.member_vnf_index}''s in the NS record's vld; osm-l2net does not "
               "use management links", expected)
    else:
        c.error(c.nsd.source, path, f"'{cp.member_vnf_index}' is not this vnf-profile's id: the link cannot be planned "
                f"because it is ambiguous which KNF is attached (the entry is in vnf-profile '{profile.id}', OSM records "
                f"it and its ip-address as member '{cp.member_vnf_index}''s)", expected)


def _kdu_for(c: _Check, vnfd: Vnfd, cp: CpAttachment, named: str | None) -> str:
    """The KDU whose pods carry this connection point: the one whose service names it, else the VNFD's first KDU."""
    if named is not None:
        return named
    if len(vnfd.kdus) > 1:
        c.warn(vnfd.source, "vnfd.kdu", f"ext-cpd '{cp.cpd_id}' is named by no kdu service; attached to the first KDU "
               f"'{vnfd.kdus[0].name}'", "kdu[].service[].external-connection-point-ref naming it")
    return vnfd.kdus[0].name


def _pinned_ip(c: _Check, cp: CpAttachment) -> tuple[IPAddress | None, str, str]:
    """The pinned address and where it was written (so a problem names the parameters, not the NSD, when they set it)."""
    override = c.vld_params.get(cp.vld_id)
    if override and (cp.member_vnf_index, cp.cpd_id) in override.cp_ips:
        where = (f"{override.path}.vnfd-connection-point-ref[member-vnf-index-ref={cp.member_vnf_index}, "
                 f"vnfd-connection-point-ref={cp.cpd_id}].ip-address")
        return address(override.cp_ips[(cp.member_vnf_index, cp.cpd_id)]), c.instance.params.source, where
    if len(cp.ip_addresses) > 1:
        c.warn(c.nsd.source, f"{cp.path}.ip-address", f"{len(cp.ip_addresses)} addresses given; only the first is used",
               "one address per connection point")
    return (address(cp.ip_addresses[0]) if cp.ip_addresses else None), c.nsd.source, f"{cp.path}.ip-address"


def _forwarding_override(c: _Check, profile: VnfProfile) -> bool | None:
    vnf = c.vnf_params.get(profile.id)
    l2net = vnf.additional_params.get("l2net") if vnf else None
    value = l2net.get("forwarding") if isinstance(l2net, dict) else None
    if value is not None and not isinstance(value, bool):
        c.error(c.instance.params.source, f"{vnf.path if vnf else ''}.additionalParams.l2net.forwarding",
                f"'{value}' is not a boolean", "true or false")
        return None
    return value


def _addresses(c: _Check) -> None:
    """Each pinned address usable on its link and given once. Keyed by integers, each link's usable range worked out
    once: an address's own hash and version are Python-level (a big NS pins thousands)."""
    taken: dict[tuple[str, int, int], Attachment] = {}  # (vld id, IP version, address)
    hosts: dict[str, tuple[int, int, int]] = {}  # vld id -> (IP version, lowest, highest usable address)
    links = c.service.links
    for a in c.service.attachments:
        ip = a.ip
        if ip is None:
            continue
        cidr = links[a.vld_id].cidr
        key = (a.vld_id, ip.version, int(ip))
        span = None if cidr is None else hosts.get(a.vld_id)
        if cidr is not None and span is None:
            span = hosts[a.vld_id] = (cidr.version, *host_range(cidr))
        if span is None or key[1] != span[0] or not span[1] <= key[2] <= span[2] or key in taken:
            _address_problem(c, a, ip, cidr, taken.get(key))
        taken.setdefault(key, a)


def _address_problem(c: _Check, a: Attachment, ip: IPAddress, cidr: IPNetwork | None, first: Attachment | None) -> None:
    """Why ``ip`` cannot be ``a``'s; ``first``: the attachment given it before on the link, if any."""
    source, path = a.ip_source, a.ip_path
    if cidr is None:
        c.error(source, path, f"{ip} is given but '{a.vld_id}' has no cidr: the interface cannot be planned because an "
                "address needs the link's subnet",
                "a cidr in the link's l3-protocol-data (or the ip-profile parameter)")
    elif ip.version != cidr.version:
        c.error(source, path, f"{ip} is IPv{ip.version} on an IPv{cidr.version} link: the interface cannot be planned "
                "because the address is not on the link's subnet", f"an address in {cidr}")
    elif ip not in cidr:
        c.error(source, path, f"{ip} is outside the link's cidr {cidr}: the interface cannot be planned because the "
                "address is not on the link's subnet", f"an address in {cidr}")
    elif not usable(cidr, ip):
        c.error(source, path, f"{ip} is the network or broadcast address of {cidr}: the interface cannot be planned "
                "because no host can use it", "a host address")
    else:
        assert first is not None  # usable, on its link: refused only for being taken already
        c.error(source, path, f"{ip} is also given to '{first.member_vnf_index}' ({first.ip_source}: {first.ip_path}): "
                "the interface cannot be planned because two interfaces on one link cannot share an address",
                "a unique address per link")


def _params(c: _Check, df: NsDeploymentFlavour) -> None:
    """Instantiation parameters must name things that exist, as OSM NBI checks them."""
    params = c.instance.params
    members = {p.id: c.d.vnfds.get(p.vnfd_id) for p in df.vnf_profiles}
    vld_ids = {v.id for v in c.nsd.vlds}
    for vld in params.vlds:
        if vld.name not in vld_ids:  # NBI: "Invalid parameter vld:name='…' is not present at nsd:vld"
            c.error(params.source, f"{vld.path}.name", f"'{vld.name}' matches no VLD of the NSD; OSM NBI rejects it",
                    _one_of(v.id for v in c.nsd.vlds))
        for member, cpd in vld.cp_ips:
            vnfd = members.get(member)
            if vnfd is None or cpd not in c.cpd_kdus(vnfd):  # NBI's _update_vnfrs applies only entries that match
                c.warn(params.source, f"{vld.path}.vnfd-connection-point-ref",
                       f"({member}, {cpd}) is not a connection point of the NS; OSM NBI ignores it; so does osm-l2net",
                       "a member-vnf-index and one of its ext-cpd ids")
    for vnf in params.vnfs:
        vnfd = members.get(vnf.member_vnf_index)
        if vnfd is None:  # NBI's _format_additional_params looks entries up by the NS's member-vnf-indexes only
            c.warn(params.source, f"{vnf.path}.member-vnf-index", f"'{vnf.member_vnf_index}' is not a vnf-profile id; "
                   "OSM NBI ignores this additionalParamsForVnf entry; so does osm-l2net", f"one of {sorted(members)}")
            continue
        for kdu in vnf.kdus:
            if kdu.kdu_name not in [k.name for k in vnfd.kdus]:
                c.warn(params.source, f"{kdu.path}.kdu_name", f"'{kdu.kdu_name}' is not a KDU of '{vnfd.id}'; OSM NBI "
                       "ignores this additionalParamsForKdu entry; so does osm-l2net", f"one of {[k.name for k in vnfd.kdus]}")


def _names(c: _Check) -> None:
    """Things that become Kubernetes names must be valid ones (DNS-1123), before anything touches a cluster."""
    for name, source, path in _namespaces(c):
        if why := dns1123_problem(name):
            c.error(source, path, f"{why}: the NS cannot be planned because it cannot be a Kubernetes namespace",
                    "a DNS-1123 label of at most 63 characters")
    bad: dict[int, list[Kdu]] = {}  # by id(vnfd), checked once; reported for each KNF made from it, as before
    for knf in c.service.knfs:
        if id(knf.vnfd) not in bad:
            bad[id(knf.vnfd)] = [d for d in knf.vnfd.kdus if len(d.name) > MAX_NAME or not LABEL_VALUE.fullmatch(d.name)]
        for desc in bad[id(knf.vnfd)]:
            c.error(knf.vnfd.source, f"{desc.path}.name", f"'{desc.name}' cannot be planned because it cannot be a "
                    "Kubernetes label value (OSM labels the KDU's pods with it)",
                    "at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends")


def _namespaces(c: _Check) -> list[tuple[str, str, str]]:
    """Every namespace the NS would use (name, source, path); checks the KDUs' release names on the way."""
    params = c.instance.params
    namespaces: list[tuple[str, str, str]] = [(c.instance.namespace, "--namespace", "")]
    if params.k8s_namespace:
        namespaces.append((params.k8s_namespace, params.source, "k8s-namespace"))
    known = {k.member_vnf_index: {d.name for d in k.vnfd.kdus} for k in c.service.knfs}
    for vnf in params.vnfs:  # entries OSM ignores (an unknown member or KDU, warned in _params) name nothing it creates
        if vnf.member_vnf_index not in known:
            continue
        if vnf.k8s_namespace:
            namespaces.append((vnf.k8s_namespace, params.source, f"{vnf.path}.k8s-namespace"))
        for kdu in (k for k in vnf.kdus if k.kdu_name in known[vnf.member_vnf_index]):
            if kdu.k8s_namespace:
                namespaces.append((kdu.k8s_namespace, params.source, f"{kdu.path}.k8s-namespace"))
            if kdu.kdu_deployment_name and (why := dns1123_problem(kdu.kdu_deployment_name, MAX_RELEASE)):
                c.error(params.source, f"{kdu.path}.kdu-deployment-name",
                        f"{why}: the KDU cannot be planned because it cannot be a helm release name",
                        f"a DNS-1123 label of at most {MAX_RELEASE} characters")
    return namespaces


def _one_of(ids: Iterable[str], limit: int = 10) -> str:
    """'one of [..]' for messages, cut short for big NSDs."""
    items = list(ids)
    shown = ", ".join(repr(i) for i in items[:limit])
    return f"one of [{shown}{', …' if len(items) > limit else ''}]"


def first_by(items: Iterable[T], key: Callable[[T], str]) -> dict[str, T]:
    """``{key(item): item}`` keeping the first item of each key, as a linear ``next(...)`` search would find it."""
    out: dict[str, T] = {}
    for item in items:
        out.setdefault(key(item), item)
    return out


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
