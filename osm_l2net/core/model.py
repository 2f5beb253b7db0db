"""Descriptor and NS-instance model: frozen dataclasses, no I/O.

Names follow OSM's IM: an NSD's vnf-profile id is the *member-vnf-index*, a VNFD's ext-cpd is a KNF's connection
point, ``virtual-link-profile-id`` names a VLD (OSM's reading). Each element keeps ``path``, its place in the
descriptor file (``nsd[0].df[0].vnf-profile[1]``), so that later checks can point at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from osm_l2net.core.errors import Problem


@dataclass(frozen=True)
class ExtCpd:
    id: str
    k8s_cluster_net: str | None
    path: str


@dataclass(frozen=True)
class KduService:
    name: str
    external_connection_point_ref: str | None


@dataclass(frozen=True)
class Kdu:
    name: str
    helm_chart: str | None
    helm_version: str
    juju_bundle: str | None
    services: tuple[KduService, ...]
    path: str


@dataclass(frozen=True)
class KduScaling:
    """A KDU that OSM's ``scale`` can grow: a ``df[].kdu-resource-profile[]`` (OSM IM scaling augment) that some
    ``scaling-aspect[].aspect-delta-details.deltas[].kdu-resource-delta[]`` refers to. LCM v19 (ns.py, scale) grows
    the KDU's helm release up to ``max-number-of-instances`` replicas."""

    profile_id: str
    kdu_name: str
    resource_name: str
    min_instances: int
    max_instances: int
    path: str  # the profile's place: vnfd.df[0].kdu-resource-profile[1]
    aspect_path: str  # the first delta that refers to it


@dataclass(frozen=True)
class Vnfd:
    id: str
    product_name: str
    version: str
    provider: str
    mgmt_cp: str | None
    ext_cpds: tuple[ExtCpd, ...]
    k8s_nets: tuple[str, ...]
    kdus: tuple[Kdu, ...]
    source: str
    package_dir: str | None = None  # folder of the OSM package it came from
    local_charts: Mapping[str, str] = field(default_factory=dict)  # helm-chart -> its chart in <package>/helm-chart-v3s/
    warnings: tuple[Problem, ...] = ()  # found while reading it: what OSM accepts but does not use, or will not find
    scaling: tuple[KduScaling, ...] = ()  # the KDU resource profiles a scaling aspect refers to, in descriptor order

    def max_instances(self, kdu_name: str) -> tuple[int, KduScaling | None]:
        """The most replicas OSM's scale may give the KDU (1 when no scaling aspect refers to a profile of it), and
        the profile that allows the most."""
        best: KduScaling | None = None
        for s in self.scaling:
            if s.kdu_name == kdu_name and (best is None or s.max_instances > best.max_instances):
                best = s
        return (best.max_instances if best and best.max_instances > 1 else 1), best

    def ext_cpd(self, cpd_id: str) -> ExtCpd | None:
        return next((c for c in self.ext_cpds if c.id == cpd_id), None)


@dataclass(frozen=True)
class L3ProtocolData:
    ip_version: str = "ipv4"
    cidr: str | None = None
    gateway_ip: str | None = None
    ip_allocation_pools: tuple[str, ...] = ()
    dhcp_enabled: bool = True


@dataclass(frozen=True)
class VirtualLinkDesc:
    id: str
    mgmt_network: bool
    vim_network_name: str | None
    path: str


@dataclass(frozen=True)
class VirtualLinkProfile:
    id: str
    vld_id: str
    l3: L3ProtocolData | None
    mtu: int | None
    path: str


@dataclass(frozen=True)
class CpAttachment:
    """One KNF connection point on one virtual link (``constituent-cpd-id`` entry of a vnf-profile)."""

    member_vnf_index: str  # constituent-base-element-id as written
    cpd_id: str
    vld_id: str  # virtual-link-profile-id as written; OSM matches it against VLD ids
    ip_addresses: tuple[str, ...]
    path: str


@dataclass(frozen=True)
class VnfProfile:
    id: str  # OSM's member-vnf-index
    vnfd_id: str
    attachments: tuple[CpAttachment, ...]
    path: str


@dataclass(frozen=True)
class NsDeploymentFlavour:
    id: str
    virtual_link_profiles: tuple[VirtualLinkProfile, ...]
    vnf_profiles: tuple[VnfProfile, ...]
    path: str


@dataclass(frozen=True)
class Nsd:
    id: str
    name: str
    version: str
    designer: str
    vnfd_ids: tuple[str, ...]
    vlds: tuple[VirtualLinkDesc, ...]
    dfs: tuple[NsDeploymentFlavour, ...]
    source: str
    path: str = "nsd[0]"
    warnings: tuple[Problem, ...] = ()  # found while reading it (references OSM accepts and the plan does not use)

    def vld(self, vld_id: str) -> VirtualLinkDesc | None:
        return next((v for v in self.vlds if v.id == vld_id), None)


@dataclass(frozen=True)
class Descriptors:
    """An NSD with the VNFDs it refers to, as loaded from files or packages."""

    nsd: Nsd
    vnfds: Mapping[str, Vnfd] = field(default_factory=dict)


# ---- instantiation parameters (osmclient's --config / NBI ns_instantiate body) ------------------------------------


@dataclass(frozen=True)
class IpProfile:
    ip_version: str | None = None
    subnet_address: str | None = None
    gateway_address: str | None = None
    dhcp_enabled: bool | None = None


@dataclass(frozen=True)
class VldParams:
    name: str  # the VLD id
    ip_profile: IpProfile | None
    cp_ips: Mapping[tuple[str, str], str]  # (member-vnf-index, cpd id) -> ip-address
    path: str


@dataclass(frozen=True)
class KduParams:
    kdu_name: str
    additional_params: Mapping[str, Any]
    k8s_namespace: str | None
    kdu_deployment_name: str | None
    kdu_model: str | None
    path: str


@dataclass(frozen=True)
class VnfParams:
    member_vnf_index: str
    additional_params: Mapping[str, Any]
    k8s_namespace: str | None
    kdus: tuple[KduParams, ...]
    path: str

    def kdu(self, name: str) -> KduParams | None:
        return next((k for k in self.kdus if k.kdu_name == name), None)


@dataclass(frozen=True)
class InstantiationParams:
    k8s_namespace: str | None = None
    additional_params_for_ns: Mapping[str, Any] = field(default_factory=dict)
    vlds: tuple[VldParams, ...] = ()
    vnfs: tuple[VnfParams, ...] = ()
    source: str = "instantiation parameters"

    def vld(self, vld_id: str) -> VldParams | None:
        return next((v for v in self.vlds if v.name == vld_id), None)

    def vnf(self, member_vnf_index: str) -> VnfParams | None:
        return next((v for v in self.vnfs if v.member_vnf_index == member_vnf_index), None)


@dataclass(frozen=True)
class NsInstance:
    """Who the plan is for: the NS instance id and name, its namespace, and the user's instantiation parameters."""

    ns_id: str
    ns_name: str
    namespace: str = "default"
    params: InstantiationParams = field(default_factory=InstantiationParams)
