"""Network providers: everything that differs between L2S-M, its 2023 NAD form and Multus, behind one interface.

A provider owns its network object (manifest, kind, where the API serves it), the pod metadata that attaches a pod,
the judgement of when its network object is ready, the reading of a pod's attachment request and problems, and
whether it can give each replica its own address. Nothing outside this package branches on a provider's name.

The registry is filled by the provider modules of this package, each ending with ``register(PROVIDER)``; they are
found by listing the package (on first use, so that starting the CLI loads none), hence adding a provider is one new
module here plus its tests. See docs/providers.md.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from osm_l2net.core.plan import Interface

#: the Multus annotation a pod names its networks in, and the one the CNI reports the interfaces in (the Network
#: Plumbing Working Group's standard, written whatever provider attached the pod)
ANNOTATION_MULTUS_NETWORKS = "k8s.v1.cni.cncf.io/networks"
ANNOTATION_NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status"

#: the compact JSON of pod annotations, made once (``json.dumps`` with options builds an encoder per call)
COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)


@dataclass(frozen=True)
class ResourceRef:
    """Where a kind lives in the API: ``/apis/<group>/<version>/namespaces/<ns>/<plural>``."""

    group: str
    version: str
    plural: str
    kind: str

    @functools.cached_property  # read for every network object a plan makes: worked out once (frozen: it has no setter)
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


#: Multus's NetworkAttachmentDefinition, the network object of every provider that configures a CNI plugin directly
NAD = ResourceRef("k8s.cni.cncf.io", "v1", "network-attachment-definitions", "NetworkAttachmentDefinition")


@dataclass(frozen=True)
class Judgement:
    """A provider's verdict on one of its network objects: ``detail`` is what was seen, ``hint`` what to check."""

    ready: bool
    detail: str
    hint: str = ""


class Provider(Protocol):
    """What the planner and the adapters ask of a provider (``ProviderBase`` gives the Multus-like defaults)."""

    @property
    def name(self) -> str: ...

    @property
    def resource(self) -> ResourceRef:
        """The network object's kind, apiVersion and plural."""
        ...

    @property
    def crd_owner(self) -> str:
        """Who installs the resource's CRD ("L2S-M"), named when the API server does not serve it."""
        ...

    @property
    def assigns_addresses(self) -> bool:
        """Whether the provider gives each replica its own address from the link's cidr (L2S-M's IPAM does)."""
        ...

    @property
    def pod_address_ranges(self) -> bool:
        """Whether the network object can restrict the provider's IPAM to a block (L2S-M's ``podAddressRange``)."""
        ...

    def with_pod_address_range(self, manifest: dict[str, Any], block: str) -> dict[str, Any]:
        """``manifest`` with its IPAM restricted to ``block``; called only when ``pod_address_ranges``."""
        ...

    @property
    def precedence(self) -> int:
        """When several providers find a request on one pod, the highest wins (L2S-M's webhook adds Multus's)."""
        ...

    @property
    def finalizer_hints(self) -> Mapping[str, str]:
        """Finalizer -> who removes it and what to check when it holds a deletion."""
        ...

    def network_manifest(self, name: str, namespace: str, cidr: str | None, mtu: int | None,
                         labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
        """The network object of one link; ``labels`` and ``annotations`` are made for it and become its own."""
        ...

    def pod_metadata(self, interfaces: Sequence[Interface], namespace: str) -> tuple[dict[str, str], dict[str, str]]:
        """(labels, annotations) that attach a pod to ``interfaces``' networks: new dicts at each call (the planner
        adds its own label to them)."""
        ...

    def judge(self, obj: Mapping[str, Any]) -> Judgement:
        """Whether an existing network object, not being deleted, is ready for pods."""
        ...

    def requested_networks(self, pod: Mapping[str, Any]) -> list[str] | None:
        """The networks ``pod`` asks this provider for, in attachment order; None when it asks this provider nothing."""
        ...

    def interfaces(self, pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The pod's secondary interfaces as reported (entries with ``name``, ``interface``, ``ips``), in order."""
        ...

    def pod_problems(self, pod: Mapping[str, Any]) -> list[str]:
        """What the provider reports as wrong with the pod's attachment."""
        ...

    @property
    def stretches(self) -> bool:
        """Whether one virtual link can span clusters (L2S-M: an inter-cluster network in each, via its provider)."""
        ...

    def stretched(self, manifest: dict[str, Any], provider_name: str, domain: str) -> dict[str, Any]:
        """``manifest`` as one cluster's part of a link stretched through ``provider_name``; only when ``stretches``."""
        ...


class ProviderBase:
    """Defaults for a provider whose network object is ready once created and whose pods Multus attaches."""

    resource: ResourceRef
    crd_owner = "Multus"
    precedence = 0
    finalizer_hints: Mapping[str, str] = MappingProxyType({})
    pod_address_ranges = False
    stretches = False

    def stretched(self, manifest: dict[str, Any], provider_name: str, domain: str) -> dict[str, Any]:
        raise NotImplementedError(f"{self.kind} cannot span clusters")

    def with_pod_address_range(self, manifest: dict[str, Any], block: str) -> dict[str, Any]:
        raise NotImplementedError(f"{self.kind} cannot restrict its addresses to a block")

    @property
    def api_version(self) -> str:
        return self.resource.api_version

    @property
    def kind(self) -> str:
        return self.resource.kind

    def network_object(self, name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str],
                       spec: dict[str, Any]) -> dict[str, Any]:
        """The network manifest around ``spec``, with our ownership labels and annotations."""
        return {"apiVersion": self.api_version, "kind": self.kind,
                "metadata": metadata(name, namespace, labels, annotations), "spec": spec}

    def judge(self, obj: Mapping[str, Any]) -> Judgement:
        return Judgement(True, "present")

    def requested_networks(self, pod: Mapping[str, Any]) -> list[str] | None:
        return annotated_networks(pod, ANNOTATION_MULTUS_NETWORKS)

    def interfaces(self, pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        try:
            entries = json.loads(annotations_of(pod).get(ANNOTATION_NETWORK_STATUS) or "[]")
        except ValueError:
            return []
        if not isinstance(entries, list):
            return []
        return [e for e in entries if isinstance(e, Mapping) and not e.get("default")]

    def pod_problems(self, pod: Mapping[str, Any]) -> list[str]:
        return []


# ---------------------------------------------------------------- helpers the provider modules share


def metadata(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    """The object's metadata, holding ``labels`` and ``annotations`` themselves: the planner makes them for this
    object alone (a copy each would double the dicts of a 10,000-link plan)."""
    return {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}


def annotations_of(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return (pod.get("metadata") or {}).get("annotations") or {}


def annotated_networks(pod: Mapping[str, Any], key: str) -> list[str] | None:
    """The network names in annotation ``key`` (a JSON list of objects with ``name``, or ``ns/net@iface, …``)."""
    text = annotations_of(pod).get(key)
    if not text:
        return None
    text = str(text).strip()
    if text.startswith("["):
        try:
            entries = json.loads(text)
        except ValueError:
            return []
        return [str(e.get("name", "")) for e in entries if isinstance(e, Mapping) and e.get("name")]
    names = [n.strip() for n in text.split(",") if n.strip()]
    return [n.split("/")[-1].split("@")[0] for n in names]  # "ns/net@iface" -> net


# ---------------------------------------------------------------- the registry


class _Registry:
    """The providers by name, with the two orders kept sorted on change (the judges read them per object)."""

    def __init__(self) -> None:
        self.by_name: dict[str, Provider] = {}
        self.ordered: tuple[Provider, ...] = ()  # by name
        self.by_precedence: tuple[Provider, ...] = ()
        self.by_kind: dict[str, Provider] = {}  # the first by name of those sharing a kind
        self.by_resource: dict[tuple[str, str], Provider] = {}  # (apiVersion, kind)

    def changed(self) -> None:
        self.ordered = tuple(self.by_name[n] for n in sorted(self.by_name))
        self.by_precedence = tuple(sorted(self.ordered, key=lambda p: -p.precedence))  # stable: then by name
        self.by_kind, self.by_resource = {}, {}
        for p in self.ordered:
            self.by_kind.setdefault(p.resource.kind, p)
            self.by_resource.setdefault((p.resource.api_version, p.resource.kind), p)


_REGISTRY = _Registry()


def register(provider: Provider) -> Provider:
    """Add a provider (each module of this package registers its own on import); a name is registered once."""
    held = _REGISTRY.by_name.get(provider.name)
    if held is not None and held is not provider:
        raise ValueError(f"provider '{provider.name}' is already registered")
    _REGISTRY.by_name[provider.name] = provider
    _REGISTRY.changed()
    return provider


def unregister(name: str) -> None:
    """Remove a provider (for tests that register a throw-away one)."""
    _REGISTRY.by_name.pop(name, None)
    _REGISTRY.changed()


@functools.cache
def _load() -> None:
    """Import every module of this package once: each registers its provider (a failed import is retried)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def get(name: str) -> Provider:
    _load()
    return _REGISTRY.by_name[name]  # KeyError names the unknown provider


def registered() -> tuple[Provider, ...]:
    """Every provider, by name."""
    _load()
    return _REGISTRY.ordered


def names() -> tuple[str, ...]:
    """The registered providers' names, sorted (the order of the CLI's choices and of every listing)."""
    return tuple(p.name for p in registered())


def by_precedence() -> tuple[Provider, ...]:
    """The order in which a pod's request is read: highest precedence first, then by name."""
    _load()
    return _REGISTRY.by_precedence


def for_kind(kind: str) -> Provider | None:
    """The provider whose network objects have this kind (providers sharing a kind judge it alike)."""
    _load()
    return _REGISTRY.by_kind.get(kind)


def for_resource(api_version: object, kind: object) -> Provider | None:
    _load()
    return _REGISTRY.by_resource.get((str(api_version), str(kind)))


def resources() -> tuple[ResourceRef, ...]:
    """Every network kind some provider creates, once each (several providers may share one)."""
    return tuple(dict.fromkeys(p.resource for p in registered()))


def assigning_addresses() -> tuple[str, ...]:
    """The providers that give each replica its own address (named when a KDU with replicas needs one)."""
    return tuple(p.name for p in registered() if p.assigns_addresses)
