"""The L2S-M pre-flight: what the cluster must offer before an NS's networks are created, judged from observations.

Pure: the adapter (``osm_l2net.kube.preflight``) reads the cluster into :class:`Observations`; :func:`judge` turns them
and the plan into findings. Without the pre-flight these faults show only after the networks exist and the charts are
installed: pods without an interface (annotation ``l2sm/error``), pods refused by the webhook, or frames dropped.

The facts, from L2S-M's own repository (github.com/Networks-it-uc3m/L2S-M, read in 2026):

- ``config/default/kustomization.yaml``: everything goes to namespace ``l2sm-system`` with the name prefix ``l2sm-``, so
  the webhook's Service is ``l2sm-webhook-service`` and the operator is Deployment ``l2sm-controller-manager``
  (``config/webhook/service.yaml``, ``config/manager/manager.yaml``: container ``manager``, env
  ``SWITCHES_NAMESPACE=l2sm-system``; image ``alexdecb/l2sm-controller-manager:<version>`` in
  ``config/manager/kustomization.yaml``). The webhook's failurePolicy is Fail (``internal/controller/pod_webhook.go``).
- ``internal/controller/overlay_controller.go``: an Overlay makes ``spec.interfaceNumber`` (CRD default 10) port
  NetworkAttachmentDefinitions ``<overlay>-veth<i>`` in the Overlay's own namespace, labelled ``app=l2sm`` and
  ``overlay=<overlay>``, whose CNI config carries ``"mtu": 1400``; its switches run on ``spec.topology.nodes``.
- ``pod_webhook.go``/``pod_utils.go``: a pod without ``spec.nodeName`` is put on a random node; the node's free ports are
  the ``app=l2sm`` NADs of the switches namespace whose label ``used-<node>`` is not ``"true"``; fewer than the pod's
  networks and the pod is admitted without any, with annotation ``l2sm/error``. ``internal/env/env.go``: without
  ``SWITCHES_NAMESPACE`` that namespace is "" (the webhook counts ports in every namespace and writes Multus references
  without a namespace, which Multus resolves in the pod's namespace): the ports must then be in the KDU's namespace.
- ``internal/utils`` ``GetNetworkEdgeDevice``: an inter-cluster L2Network (``spec.provider.name``) needs a
  NetworkEdgeDevice whose ``spec.provider.name`` is the same, looked up in every namespace.
- The L2Network/Overlay/NetworkEdgeDevice API (``l2sm.l2sm.k8s.local/v1``) exists since 2.8 (October 2024); the 2023
  operator realised plain NADs (provider ``l2sm-nad``), which a 2.8 operator ignores.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from osm_l2net.core.errors import EXIT_FAILURE, EXIT_INPUT, L2NetError, Problem
from osm_l2net.core.plan import Plan

L2SM_NAMESPACE = "l2sm-system"
OPERATOR = "l2sm-controller-manager"
OPERATOR_CONTAINER = "manager"
WEBHOOK_SERVICE = "l2sm-webhook-service"
PORT_SELECTOR = "app=l2sm"
USED_PREFIX = "used-"
OVERLAY_MTU = 1400  # the MTU of L2S-M's port NADs (VXLAN over the nodes' network, Open vSwitch)
CURRENT_API = (2, 8)  # the first release with the L2Network API
SOURCE = "L2S-M pre-flight"
SKIP_HINT = "fix the cluster, or pass --skip-preflight to go on anyway"

Kind = Literal["input", "cluster"]


@dataclass(frozen=True)
class Operator:
    """The L2S-M operator's Deployment as read: its image and the switches namespace its webhook uses."""

    image: str | None
    switches_namespace: str | None  # None: SWITCHES_NAMESPACE unset ("" in the operator: every namespace)


@dataclass(frozen=True)
class Overlay:
    name: str
    namespace: str
    interface_number: int
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Port:
    """One L2S-M port NAD (``<overlay>-veth<i>``): the nodes on which it is taken, and the MTU of its CNI config."""

    name: str
    namespace: str
    used_on: frozenset[str]
    mtu: int | None


@dataclass(frozen=True)
class Observations:
    """What the adapter read. ``unreadable`` names what could not be read and why (RBAC): it is warned about, never
    guessed; ``held`` is the ports this NS's own pods hold per node (a re-apply makes no new pods)."""

    l2sm_namespace: str = L2SM_NAMESPACE
    served: frozenset[str] = frozenset()  # plurals of l2sm.l2sm.k8s.local/v1 the API serves
    nads_served: bool = False
    operator: Operator | None = None
    ports_namespace: str = L2SM_NAMESPACE
    overlays: tuple[Overlay, ...] = ()
    ports: tuple[Port, ...] = ()
    webhook_service: bool = False
    webhook_ready: int = 0
    held: Mapping[str, int] = field(default_factory=dict)
    edge_providers: frozenset[str] = frozenset()  # spec.provider.name of every NetworkEdgeDevice (read when needed)
    unreadable: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """A problem and its kind: ``input`` (the plan does not fit this L2S-M: the fix is in the descriptors or the flags)
    or ``cluster`` (L2S-M is missing, unready or full: the fix is on the cluster)."""

    problem: Problem
    kind: Kind = "cluster"

    @property
    def error(self) -> bool:
        return self.problem.severity == "error"


class PreflightError(L2NetError):
    """The pre-flight found errors; nothing was created. Exit code 2 when every error is the plan's (MTU, provider),
    else 1."""

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        self.findings = findings
        errors = [f for f in findings if f.error]
        self.exit_code = EXIT_INPUT if errors and all(f.kind == "input" for f in errors) else EXIT_FAILURE
        lines = "\n".join(f"  - {f.problem}" for f in errors)
        super().__init__(f"L2S-M pre-flight failed, nothing was created:\n{lines}\n({SKIP_HINT})")


def needs_preflight(plan: Plan) -> bool:
    """Only L2S-M plans with networks: Multus alone has no operator to check."""
    return plan.provider in ("l2sm", "l2sm-nad") and bool(plan.networks)


def ports_namespace(operator: Operator | None, l2sm_namespace: str, kdu_namespace: str) -> str:
    """Where the webhook looks for port NADs and Multus then finds them: the operator's SWITCHES_NAMESPACE; unset, the
    pod's (the KDU's) namespace; an unreadable operator: L2S-M's shipped default, its own namespace."""
    if operator is None:
        return l2sm_namespace
    return operator.switches_namespace or kdu_namespace


def image_version(image: str | None) -> tuple[int, int] | None:
    """(major, minor) of an image tag such as ``alexdecb/l2sm-controller-manager:2.8.1`` or ``…:v2.7``; None for
    ``latest``, a digest, or no tag."""
    if not image:
        return None
    tag = image.rsplit("@", 1)[0].rsplit("/", 1)[-1]
    if ":" not in tag:
        return None
    m = re.match(r"v?(\d+)\.(\d+)", tag.split(":", 1)[1])
    return (int(m.group(1)), int(m.group(2))) if m else None


def judge(plan: Plan, obs: Observations) -> tuple[Finding, ...]:
    """The findings for ``plan`` on the cluster ``obs`` describes (errors first). Empty when the plan needs none."""
    if not needs_preflight(plan):
        return ()
    found = [_unreadable(what, why) for what, why in sorted(obs.unreadable.items())]
    if plan.provider == "l2sm-nad":
        found += _nad_era(obs)
    else:
        found += _current(plan, obs)
    found += _mtu(plan, obs)
    return tuple(sorted(found, key=lambda f: not f.error))


def _problem(path: str, message: str, expected: str, kind: Kind = "cluster", severity: str = "error") -> Finding:
    return Finding(Problem(SOURCE, path, message, expected, severity), kind)


def _unreadable(what: str, why: str) -> Finding:
    return _problem(what, f"could not be checked: {why}",
                    "read access to it (deploy/rbac.yaml grants the pre-flight's reads)", severity="warning")


def _version(obs: Observations) -> tuple[int, int] | None:
    return image_version(obs.operator.image) if obs.operator else None


def _nad_era(obs: Observations) -> list[Finding]:
    found: list[Finding] = []
    version = _version(obs)
    if "l2networks" in obs.served or (version is not None and version >= CURRENT_API):
        seen = f"image {obs.operator.image}" if obs.operator and version else "it serves l2networks.l2sm.l2sm.k8s.local"
        found.append(_problem("provider l2sm-nad", f"this cluster runs L2S-M 2.8 or later ({seen}), whose operator "
                              "ignores the 2023 NetworkAttachmentDefinition networks",
                              "--provider l2sm (OSM_L2NET_PROVIDER=l2sm for the LCM connector)", "input"))
    if not obs.nads_served:
        found.append(_problem("provider l2sm-nad", "the API serves no network-attachment-definitions.k8s.cni.cncf.io "
                              "(Multus is not installed)", "Multus and the 2023 L2S-M operator installed"))
    return found


def _current(plan: Plan, obs: Observations) -> list[Finding]:
    version = _version(obs)
    if "l2networks" not in obs.served:
        if version is not None and version < CURRENT_API:
            return [_problem("provider l2sm", f"L2S-M {version[0]}.{version[1]} (image {obs.operator and obs.operator.image})"
                             " predates the L2Network API", "--provider l2sm-nad, or L2S-M 2.8 or later", "input")]
        return [_problem("provider l2sm", "the API serves no l2networks.l2sm.l2sm.k8s.local/v1: L2S-M 2.8 or later "
                         "is not installed", "L2S-M 2.8+ installed (namespace l2sm-system), or --provider l2sm-nad "
                         "for a 2023 L2S-M")]
    found = _operator(obs, version) + _webhook(obs) + _overlay(obs) + _edge(plan, obs)
    if obs.ports:
        found += _capacity(plan, obs)
    return found


def _operator(obs: Observations, version: tuple[int, int] | None) -> list[Finding]:
    where = f"deployment {obs.l2sm_namespace}/{OPERATOR}"
    if obs.operator is None:
        if "operator" in obs.unreadable:
            return []
        return [_problem(where, "not found: the L2S-M operator (and its webhook) is not running there",
                         "L2S-M installed in namespace l2sm-system", severity="warning")]
    if version is None:
        return [_problem(where, f"image {obs.operator.image!r} names no version: L2S-M 2.8 or later is assumed from "
                         "the served API", "an image tagged with its release", severity="warning")]
    if version < CURRENT_API:
        return [_problem(where, f"image {obs.operator.image} is L2S-M {version[0]}.{version[1]}, older than the "
                         "L2Network API it serves", "L2S-M 2.8 or later", "input")]
    return []


def _webhook(obs: Observations) -> list[Finding]:
    where = f"service {obs.l2sm_namespace}/{WEBHOOK_SERVICE}"
    if "webhook" in obs.unreadable:
        return []
    if not obs.webhook_service:
        return [_problem(where, "not found: pods labelled l2sm=true would be created without their interfaces "
                         "(or refused, while the webhook configuration remains)", "L2S-M's webhook installed")]
    if obs.webhook_ready <= 0:
        return [_problem(where, "has no ready endpoint: the webhook's failurePolicy is Fail, so every pod labelled "
                         "l2sm=true would be refused", f"the operator ready: kubectl -n {obs.l2sm_namespace} get deployment "
                         f"{OPERATOR}; kubectl -n {obs.l2sm_namespace} get endpointslices "
                         f"-l kubernetes.io/service-name={WEBHOOK_SERVICE}")]
    return []


def _overlay(obs: Observations) -> list[Finding]:
    ns = obs.ports_namespace
    if "ports" in obs.unreadable:
        return []
    found: list[Finding] = []
    if "overlays" not in obs.served:
        found.append(_problem("overlays.l2sm.l2sm.k8s.local", "not served: L2S-M's install is incomplete",
                              "all of L2S-M's CRDs installed"))
    elif not obs.overlays and "overlays" not in obs.unreadable:
        found.append(_problem(f"namespace {ns}", "has no Overlay: the nodes have no L2S-M switch, so pods get no "
                              "interface", f"an Overlay in {ns} whose spec.topology.nodes covers the nodes"))
    if not obs.ports:
        found.append(_problem(f"namespace {ns}", f"has no L2S-M port NetworkAttachmentDefinitions ({PORT_SELECTOR}, "
                              "<overlay>-veth<N>), where the webhook looks for them: pods would get annotation "
                              "l2sm/error", f"the Overlay's ports in {ns} (the operator's SWITCHES_NAMESPACE)"))
    return found


def edge_provider(manifest: Mapping[str, Any]) -> str | None:
    """The inter-cluster provider an L2Network names (``spec.provider.name``), if any."""
    provider = (manifest.get("spec") or {}).get("provider")
    name = provider.get("name") if isinstance(provider, Mapping) else None
    return str(name) if name else None


def _edge(plan: Plan, obs: Observations) -> list[Finding]:
    if "edge devices" in obs.unreadable:
        return []
    return [_problem(f"network {n.name} (vld {n.vld_id})", f"names inter-cluster provider {name!r}, and no "
                     "NetworkEdgeDevice has it: the operator would never connect the network to the other clusters",
                     f"a NetworkEdgeDevice with spec.provider.name {name!r}")
            for n in plan.networks if (name := edge_provider(n.manifest)) and name not in obs.edge_providers]


def _capacity(plan: Plan, obs: Observations) -> list[Finding]:
    """Each pod takes one port per interface on its node; the webhook picks a random node when the chart sets no
    nodeName, so every node should hold the NS's whole demand; no node holding one pod's, or all nodes together not
    holding the demand, is certain failure."""
    demand = sum(len(k.interfaces) * k.replicas for k in plan.kdus)
    widest = max((len(k.interfaces) for k in plan.kdus), default=0)
    if demand == 0:
        return []
    nodes = sorted({n for o in obs.overlays for n in o.nodes} | {n for p in obs.ports for n in p.used_on})
    free = {n: sum(1 for p in obs.ports if n not in p.used_on) + obs.held.get(n, 0) for n in nodes}
    if not free:  # no node known: an Overlay without nodes, or Overlays this identity may not list (warned already)
        return [] if "overlays" in obs.unreadable else [
            _problem("overlay topology", "names no node: no port can be used", "spec.topology.nodes")]
    counts = ", ".join(f"{n}: {c}" for n, c in free.items())
    expected = f"more ports: a larger Overlay spec.interfaceNumber (now {len(obs.ports)}), or fewer replicas/interfaces"
    if max(free.values()) < widest or sum(free.values()) < demand:
        return [_problem("port capacity", f"the NS needs {demand} port(s) ({widest} per pod at most) and the nodes "
                         f"have {counts} free: pods would get annotation l2sm/error", expected)]
    short = [n for n, c in free.items() if c < demand]
    if short:
        return [_problem("port capacity", f"the NS needs {demand} port(s); node(s) {', '.join(short)} have fewer free "
                         f"({counts}); the webhook puts a pod without nodeName on a random node", expected,
                         severity="warning")]
    return []


def _mtu(plan: Plan, obs: Observations) -> list[Finding]:
    limits = [p.mtu for p in obs.ports if p.mtu is not None]
    limit = min(limits) if limits else OVERLAY_MTU
    return [_problem(f"network {n.name} (vld {n.vld_id})", f"MTU {n.mtu} is above the L2S-M overlay's {limit}: larger "
                     "frames are dropped", f"mtu <= {limit} in the VLD's virtual-link-protocol-data "
                     "l2-protocol-data", "input")
            for n in plan.networks if n.mtu is not None and n.mtu > limit]
