"""The Plan: what an NS instance needs on the cluster, as sorted, immutable, serialisable data.

Every adapter (Kubernetes, OSM LCM, OSM NBI, the lab) consumes this object and re-derives nothing. ``Plan.to_dict``
is the stable JSON form (``schema: osm-l2net.etsi.org/plan/v1``, documented in docs/plan-schema.md);
``Plan.from_dict`` reads it back, so a plan saved with ``osm-l2net plan -o json`` can be applied later.
"""

from __future__ import annotations

import ipaddress
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePath, PurePosixPath
from typing import Any

from osm_l2net.core.errors import Problem
from osm_l2net.core.names import label_value

SCHEMA = "osm-l2net.etsi.org/plan/v1"
MANAGED_BY = "osm-l2net"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_NS_ID = "osm.etsi.org/ns-id"
LABEL_VLD_ID = "osm-l2net.etsi.org/vld-id"
ANNOTATION_VLD_ID = "osm-l2net.etsi.org/vld-id"
ANNOTATION_NS_NAME = "osm-l2net.etsi.org/ns-name"
ANNOTATION_NS_ID = "osm-l2net.etsi.org/ns-id"  # verbatim: the ns-id label is sanitised when the id is not a label value
# Which NS a network belongs to beyond its NS id: an NS id is derived from the NS name outside OSM, so two NSDs
# deployed under one name share it; the NSD label tells their networks apart (never adopted, never removed across
# NSDs), the name label lets status/delete find an NS by name whatever its id (ns-create's ids are random).
LABEL_NSD_ID = "osm-l2net.etsi.org/nsd-id"
LABEL_NS_NAME = "osm-l2net.etsi.org/ns-name"
# OSM's nsr id, added by ns-create once NBI has made it (the plan id is made before: see osm/workflow.py)
LABEL_NSR_ID = "osm-l2net.etsi.org/nsr-id"


def owner_labels(ns_id: str) -> dict[str, str]:
    """The labels that mark every network of NS instance ``ns_id`` as ours: the one place an NS id becomes a label
    value. The planner labels what it plans with them, and every adapter selects by them (through ``Plan.owner_labels``,
    or this function where there is no plan: gc, the LCM connector's uninstall, ns-delete). Pods carry the ns-id one."""
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: label_value(ns_id)}


def identity_labels(ns_name: str, nsd_id: str) -> dict[str, str]:
    """The labels naming which NS a network is, besides its owner labels: the NSD it was planned from and the NS
    name (label values: sanitised and hashed when needed). Selections stay by :func:`owner_labels`, so objects made
    before these labels existed are still found; the NSD label is compared after (see ``kube.state.same_nsd``)."""
    return {LABEL_NSD_ID: label_value(nsd_id), LABEL_NS_NAME: label_value(ns_name)}


def nsr_labels(nsr_id: str) -> dict[str, str]:
    """The label ns-create adds to an NS's networks once OSM has made its nsr id (the plan id was made before)."""
    return {LABEL_NSR_ID: label_value(nsr_id)}


def lookup_labels(label: str, value: str) -> dict[str, str]:
    """The selector of our networks whose ``label`` (ns-id, nsr-id or ns-name) is ``value``: how status and delete
    find an NS by what the user knows of it."""
    return {LABEL_MANAGED_BY: MANAGED_BY, label: label_value(value)}


# Route, Interface, NetworkPlan and KduPlan: frozen dataclasses with their own __init__, which puts the fields into
# the instance dict in one update. The generated one sets each field through object.__setattr__ (the class forbids
# plain assignment), a call per field: on a 10,000-link NS, some 40,000 objects and half a million calls. Frozen,
# equality, hash, repr and pickling are the dataclass's, unchanged; the parameters must stay the fields, in order (a
# unit test compares them).
@dataclass(frozen=True, init=False)
class Route:
    """A static route a KNF pod needs: ``ip route add <to> via <via> dev <dev>``."""

    to: str
    via: str
    dev: str

    def __init__(self, to: str, via: str, dev: str) -> None:
        self.__dict__.update(to=to, via=via, dev=dev)

    def as_dict(self) -> dict[str, str]:
        return {"to": self.to, "via": self.via, "dev": self.dev}


@dataclass(frozen=True, init=False)
class Interface:
    """One secondary interface of a KDU's pods; ``name`` is net1..netN in attachment order, as L2S-M/Multus name them."""

    name: str
    vld_id: str
    network: str  # the Kubernetes network object's name
    cpd_id: str
    ip: str | None  # address with prefix length, e.g. 10.0.1.10/24; None = pure L2 (link-local) or provider-assigned

    def __init__(self, name: str, vld_id: str, network: str, cpd_id: str, ip: str | None) -> None:
        self.__dict__.update(name=name, vld_id=vld_id, network=network, cpd_id=cpd_id, ip=ip)

    @property
    def address(self) -> str | None:
        return self.ip.split("/")[0] if self.ip else None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "vld": self.vld_id, "network": self.network, "cpd": self.cpd_id, "ip": self.ip}


@dataclass(frozen=True, init=False)
class NetworkPlan:
    """One virtual link realised as one cluster network object (``manifest``)."""

    vld_id: str
    name: str
    cidr: str | None
    ip_version: str
    gateway_ip: str | None
    manifest: Mapping[str, Any] = field(hash=False, compare=True)
    pod_address_range: str | None = None  # the block the provider's IPAM gives multi-replica KDUs' pods
    pod_address_capacity: int | None = None  # how many pods, ever, it can address (L2S-M never frees one)
    cluster: str = ""  # the cluster this object goes to ("": the default one); a stretched link has one per cluster
    mtu: int | None = None  # the VLD's l2-protocol-data mtu, when the descriptor gives one (the pre-flight checks it)

    def __init__(self, vld_id: str, name: str, cidr: str | None, ip_version: str, gateway_ip: str | None,
                 manifest: Mapping[str, Any], pod_address_range: str | None = None,
                 pod_address_capacity: int | None = None, cluster: str = "", mtu: int | None = None) -> None:
        self.__dict__.update(vld_id=vld_id, name=name, cidr=cidr, ip_version=ip_version, gateway_ip=gateway_ip,
                             manifest=manifest, pod_address_range=pod_address_range,
                             pod_address_capacity=pod_address_capacity, cluster=cluster, mtu=mtu)

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    def as_dict(self, copy: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "vld": self.vld_id,
            "name": self.name,
            "cidr": self.cidr,
            "ipVersion": self.ip_version,
            "gatewayIp": self.gateway_ip,
        }
        if self.pod_address_range is not None:  # only then: plans without multi-replica KDUs keep their old form
            out["podAddressRange"] = self.pod_address_range
            out["podAddressCapacity"] = self.pod_address_capacity
        if self.cluster:  # only then: single-cluster plans keep their old form
            out["cluster"] = self.cluster
        if self.mtu is not None:  # likewise: only plans whose descriptors give an MTU carry it
            out["mtu"] = self.mtu
        out["manifest"] = plain(self.manifest) if copy else self.manifest
        return out


@dataclass(frozen=True, init=False)
class KduPlan:
    """What one KDU (one helm release) gets: its interfaces, routes, pod metadata and the helm values carrying them."""

    member_vnf_index: str
    vnfd_id: str
    kdu_name: str
    helm_chart: str | None
    chart_path: str | None  # <package>/helm-chart-v3s/<helm-chart>, where LCM finds it; JSON: relative to the package
    release_name: str  # kdu-deployment-name when given, else <kdu>-<hash(ns id, member, kdu)> (OSM's LCM passes its own)
    namespace: str
    replicas: int
    forwarding: bool
    interfaces: tuple[Interface, ...]
    routes: tuple[Route, ...]
    pod_labels: Mapping[str, str] = field(hash=False)
    pod_annotations: Mapping[str, str] = field(hash=False)
    values: Mapping[str, Any] = field(hash=False)  # the user's KDU params with the attachment merged in
    cluster: str = ""  # the cluster its release goes to ("": the default one)

    def __init__(self, member_vnf_index: str, vnfd_id: str, kdu_name: str, helm_chart: str | None,
                 chart_path: str | None, release_name: str, namespace: str, replicas: int, forwarding: bool,
                 interfaces: tuple[Interface, ...], routes: tuple[Route, ...], pod_labels: Mapping[str, str],
                 pod_annotations: Mapping[str, str], values: Mapping[str, Any], cluster: str = "") -> None:
        self.__dict__.update(member_vnf_index=member_vnf_index, vnfd_id=vnfd_id, kdu_name=kdu_name,
                             helm_chart=helm_chart, chart_path=chart_path, release_name=release_name,
                             namespace=namespace, replicas=replicas, forwarding=forwarding, interfaces=interfaces,
                             routes=routes, pod_labels=pod_labels, pod_annotations=pod_annotations, values=values,
                             cluster=cluster)

    @property
    def key(self) -> str:
        return f"{self.member_vnf_index}/{self.kdu_name}"

    def interface_on(self, vld_id: str) -> Interface | None:
        return next((i for i in self.interfaces if i.vld_id == vld_id), None)

    def as_dict(self, copy: bool = True, absolute_charts: bool = False) -> dict[str, Any]:
        return {
            "memberVnfIndex": self.member_vnf_index,
            "vnfd": self.vnfd_id,
            "kdu": self.kdu_name,
            "helmChart": self.helm_chart,
            "chartPath": self.chart_path if absolute_charts else chart_in_package(self.chart_path, self.helm_chart),
            "releaseName": self.release_name,
            "namespace": self.namespace,
            "replicas": self.replicas,
            "forwarding": self.forwarding,
            "interfaces": [i.as_dict() for i in self.interfaces],
            "routes": [r.as_dict() for r in self.routes],
            "podLabels": dict(self.pod_labels) if copy else self.pod_labels,
            "podAnnotations": dict(self.pod_annotations) if copy else self.pod_annotations,
            "values": plain(self.values) if copy else self.values,
            **({"cluster": self.cluster} if self.cluster else {}),
        }


@dataclass(frozen=True)
class Plan:
    ns_id: str
    ns_name: str
    nsd_id: str
    namespace: str
    provider: str
    networks: tuple[NetworkPlan, ...]
    kdus: tuple[KduPlan, ...]
    warnings: tuple[Problem, ...] = ()

    def network(self, vld_id: str) -> NetworkPlan | None:
        return next((n for n in self.networks if n.vld_id == vld_id), None)

    @property
    def clusters(self) -> tuple[str, ...]:
        """The clusters the plan touches, in plan order ("" is the default one): one for a single-cluster NS."""
        return tuple(dict.fromkeys([*(n.cluster for n in self.networks), *(k.cluster for k in self.kdus)])) or ("",)

    def for_cluster(self, cluster: str) -> Plan:
        """The part of the plan one cluster gets: its networks (its copy of each stretched link) and its KDUs."""
        return replace(self, networks=tuple(n for n in self.networks if n.cluster == cluster),
                       kdus=tuple(k for k in self.kdus if k.cluster == cluster))

    def links(self) -> tuple[NetworkPlan, ...]:
        """One network per virtual link (a stretched link's first cluster's), for views of the NS rather than of a
        cluster."""
        first: dict[str, NetworkPlan] = {}
        for n in self.networks:
            first.setdefault(n.vld_id, n)
        return tuple(first.values())

    def link_clusters(self) -> dict[str, tuple[str, ...]]:
        """Virtual link -> the clusters its network is on (several: stretched)."""
        out: dict[str, list[str]] = {}
        for n in self.networks:
            out.setdefault(n.vld_id, []).append(n.cluster)
        return {vld: tuple(clusters) for vld, clusters in out.items()}

    def kdu(self, member_vnf_index: str, kdu_name: str | None = None) -> KduPlan | None:
        return next(
            (k for k in self.kdus if k.member_vnf_index == member_vnf_index and kdu_name in (None, k.kdu_name)), None
        )

    @property
    def owner_labels(self) -> dict[str, str]:
        """The labels on every network this plan creates (its pods carry the ns-id one): what delete, status and the
        dry run select by. Derived from ``ns_id`` by :func:`owner_labels`, so a plan read back from JSON has them too."""
        return owner_labels(self.ns_id)

    @property
    def nsd_label(self) -> str:
        """The NSD label value of this plan's networks: delete and adoption leave networks with another one alone."""
        return identity_labels(self.ns_name, self.nsd_id)[LABEL_NSD_ID]

    def as_dict(self, copy: bool = True, absolute_charts: bool = False) -> dict[str, Any]:
        """The JSON form. ``copy=False`` shares the plan's own mappings (manifests, values) instead of copying them,
        for a serialiser that only reads them (``render.dump_json``/``dump_yaml``: the same bytes, no copy of a
        large plan). ``absolute_charts`` keeps local chart folders absolute, for a state file read back on the same
        machine; the default names them relative to their VNF package (docs/plan-schema.md)."""
        return {
            "schema": SCHEMA,
            "ns": {"id": self.ns_id, "name": self.ns_name, "nsd": self.nsd_id, "namespace": self.namespace},
            "provider": self.provider,
            "networks": [n.as_dict(copy) for n in self.networks],
            "kdus": [k.as_dict(copy, absolute_charts) for k in self.kdus],
            "warnings": [w.as_dict() for w in self.warnings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], package_dirs: Mapping[str, str] | None = None) -> Plan:
        """The plan of :meth:`as_dict`. ``package_dirs`` (VNFD id -> its package folder) turns the JSON's chart
        folders, relative to their package, back into paths; without it they stay as written."""
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not an osm-l2net plan (schema {data.get('schema')!r}, expected {SCHEMA!r})")
        ns = data["ns"]
        return cls(
            ns_id=ns["id"],
            ns_name=ns["name"],
            nsd_id=ns["nsd"],
            namespace=ns["namespace"],
            provider=data["provider"],
            networks=tuple(_network_from(n) for n in data["networks"]),
            kdus=tuple(_kdu_from(k, package_dirs or {}) for k in data["kdus"]),
            warnings=tuple(Problem(**w) for w in data.get("warnings", ())),
        )


def _network_from(n: Mapping[str, Any]) -> NetworkPlan:
    return NetworkPlan(n["vld"], n["name"], n["cidr"], n["ipVersion"], n["gatewayIp"], n["manifest"],
                       n.get("podAddressRange"), n.get("podAddressCapacity"), n.get("cluster", ""), mtu=n.get("mtu"))


def _kdu_from(k: Mapping[str, Any], package_dirs: Mapping[str, str]) -> KduPlan:
    chart, package = k["chartPath"], package_dirs.get(k["vnfd"])
    if chart is not None and package is not None and not posixpath.isabs(chart):
        chart = posixpath.join(package, chart)
    return KduPlan(
        member_vnf_index=k["memberVnfIndex"],
        vnfd_id=k["vnfd"],
        kdu_name=k["kdu"],
        helm_chart=k["helmChart"],
        chart_path=chart,
        release_name=k["releaseName"],
        namespace=k["namespace"],
        replicas=k["replicas"],
        forwarding=k["forwarding"],
        interfaces=tuple(Interface(i["name"], i["vld"], i["network"], i["cpd"], i["ip"]) for i in k["interfaces"]),
        routes=tuple(Route(r["to"], r["via"], r["dev"]) for r in k["routes"]),
        pod_labels=k["podLabels"],
        pod_annotations=k["podAnnotations"],
        values=k["values"],
        cluster=k.get("cluster", ""),
    )


def chart_in_package(chart_path: str | None, helm_chart: str | None) -> str | None:
    """A local chart folder as the plan's JSON names it: relative to its VNF package folder (``<chart folder>/<chart>``,
    whatever the package calls its chart folder), so that a plan is the same bytes wherever the packages are
    unpacked. Pure: the chart was found at ``<package>/<folder>/<helm-chart>``, so its package-relative path is the
    path's last components. A path that does not end with the chart's name (a symlinked chart), or one already
    relative (read back from JSON), is given as it is."""
    if chart_path is None or helm_chart is None or not PurePath(chart_path).is_absolute():
        return chart_path
    parts, name = PurePath(chart_path).parts, PurePath(helm_chart).parts
    if len(parts) <= len(name) + 1 or parts[-len(name):] != name:
        return chart_path
    return PurePosixPath(*parts[-len(name) - 1:]).as_posix()


def plain(value: Any) -> Any:
    """A deep copy as plain dicts/lists: the plan's read-only mappings and tuples, ready for JSON/YAML/the API."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """helm's values precedence: maps merge recursively, anything else in ``over`` wins; inputs untouched."""
    out: dict[str, Any] = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def prefix_len(cidr: str) -> int:
    return ipaddress.ip_network(cidr, strict=False).prefixlen
