"""The L2S-M pre-flight's reads: the cluster as :class:`~osm_l2net.core.preflight.Observations`, judged by the core.

Reads only (deploy/rbac.yaml lists them): discovery of the L2S-M and Multus API groups; the operator's Deployment and
the webhook's Service and EndpointSlices in L2S-M's namespace; the Overlays and port NADs (``app=l2sm``) where the
webhook looks for them; this NS's own pods. A read the identity may not make (403) is named in a warning instead of
failing the apply: the pre-flight guards against L2S-M's faults, it must not add one of its own.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from osm_l2net.core import preflight as rules
from osm_l2net.core.errors import AccessDenied
from osm_l2net.core.plan import LABEL_NS_ID, Plan
from osm_l2net.core.preflight import Finding, Observations, Operator, Overlay, Port, PreflightError
from osm_l2net.core.providers import ANNOTATION_MULTUS_NETWORKS, NAD, ResourceRef, annotated_networks
from osm_l2net.kube.client import Client

GROUP, VERSION = "l2sm.l2sm.k8s.local", "v1"
OVERLAYS = ResourceRef(GROUP, VERSION, "overlays", "Overlay")
NEDS = ResourceRef(GROUP, VERSION, "networkedgedevices", "NetworkEdgeDevice")
T = TypeVar("T")


def run(client: Client, plan: Plan, progress: Callable[[str], None],
        l2sm_namespace: str = rules.L2SM_NAMESPACE) -> tuple[Finding, ...]:
    """Judge the cluster for ``plan``: warnings go to ``progress``; any error raises :class:`PreflightError` (before
    anything is created). Returns the findings (warnings only, then)."""
    if not rules.needs_preflight(plan):
        return ()
    findings = rules.judge(plan, observe(client, plan, l2sm_namespace))
    for f in findings:
        if not f.error:
            progress(f"warning: {f.problem}")
    if any(f.error for f in findings):
        raise PreflightError(findings)
    return findings


def observe(client: Client, plan: Plan, l2sm_namespace: str = rules.L2SM_NAMESPACE) -> Observations:
    unreadable: dict[str, str] = {}

    def guard(what: str, read: Callable[[], T], default: T) -> T:
        try:
            return read()
        except AccessDenied as e:
            unreadable[what] = str(e)
            return default

    served = client.served(GROUP, VERSION)
    nads = NAD.plural in client.served(NAD.group, NAD.version)
    deployment = guard("operator", lambda: client.read_builtin("Deployment", l2sm_namespace, rules.OPERATOR), None)
    operator = _operator(deployment) if deployment else None
    where = rules.ports_namespace(operator, l2sm_namespace, plan.namespace)
    obs = Observations(l2sm_namespace=l2sm_namespace, served=served, nads_served=nads, operator=operator,
                       ports_namespace=where, unreadable=unreadable)
    if plan.provider != "l2sm" or "l2networks" not in served:
        return obs
    none: list[dict[str, Any]] = []
    overlays = guard("overlays", lambda: client.list_objects(OVERLAYS, where, "")[0], none)
    ports = [_port(o) for o in guard("ports", lambda: client.list_objects(NAD, where, rules.PORT_SELECTOR)[0], none)]
    service = guard("webhook", lambda: client.read_builtin("Service", l2sm_namespace, rules.WEBHOOK_SERVICE), None)
    slices = guard("webhook", lambda: client.endpoint_slices(
        l2sm_namespace, f"kubernetes.io/service-name={rules.WEBHOOK_SERVICE}"), none) if service else none
    edges = guard("edge devices", lambda: client.list_objects(NEDS, None, "")[0], none) \
        if any(rules.edge_provider(n.manifest) for n in plan.networks) else none  # inter-cluster networks only
    pods = guard("pods", lambda: client.pods(plan.namespace, f"{LABEL_NS_ID}={plan.owner_labels[LABEL_NS_ID]}"), none)
    return Observations(l2sm_namespace=l2sm_namespace, served=served, nads_served=nads, operator=operator,
                        ports_namespace=where, overlays=tuple(_overlay(o) for o in overlays), ports=tuple(ports),
                        webhook_service=service is not None, webhook_ready=sum(_ready(s) for s in slices),
                        held=_held(pods, {p.name for p in ports}), edge_providers=_providers(edges),
                        unreadable=unreadable)


def _operator(deployment: Mapping[str, Any]) -> Operator:
    containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    manager = next((c for c in containers if c.get("name") == rules.OPERATOR_CONTAINER), containers[0] if containers
                   else {})
    env = {e.get("name"): e.get("value") for e in manager.get("env") or []}
    return Operator(manager.get("image"), env.get("SWITCHES_NAMESPACE") or None)


def _overlay(obj: Mapping[str, Any]) -> Overlay:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    number = spec.get("interfaceNumber")
    return Overlay(str(meta.get("name")), str(meta.get("namespace")), number if isinstance(number, int) else 10,
                   tuple(str(n) for n in (spec.get("topology") or {}).get("nodes") or []))


def _port(obj: Mapping[str, Any]) -> Port:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    used = frozenset(k.removeprefix(rules.USED_PREFIX) for k, v in labels.items()
                     if k.startswith(rules.USED_PREFIX) and v == "true")
    try:
        mtu = json.loads((obj.get("spec") or {}).get("config") or "{}").get("mtu")
    except (ValueError, AttributeError):
        mtu = None
    return Port(str(meta.get("name")), str(meta.get("namespace")), used, mtu if isinstance(mtu, int) else None)


def _providers(edge_devices: list[dict[str, Any]]) -> frozenset[str]:
    names = (((d.get("spec") or {}).get("provider") or {}).get("name") for d in edge_devices)
    return frozenset(str(n) for n in names if n)


def _ready(endpoint_slice: Mapping[str, Any]) -> int:
    """Ready endpoints of a slice: EndpointSlice's contract reads an unset ``conditions.ready`` as ready."""
    return sum(1 for e in endpoint_slice.get("endpoints") or []
               if (e.get("conditions") or {}).get("ready") is not False)


def _held(pods: list[dict[str, Any]], ports: set[str]) -> dict[str, int]:
    """Ports this NS's own pods hold, per node (the webhook wrote the port NADs into their Multus annotation)."""
    held: Counter[str] = Counter()
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and not (pod.get("metadata") or {}).get("deletionTimestamp"):
            held[str(node)] += sum(1 for n in annotated_networks(pod, ANNOTATION_MULTUS_NETWORKS) or [] if n in ports)
    return dict(held)
