"""Day-2 operations of the LCM connector, the parts that need no LCM: the attachment a KDU's helm values must carry,
whether a release's values and manifest still carry it, and whether a KDU may get more replicas.

Why each rule (OSM v19's code, L2S-M's Go code):

- ``upgrade``: LCM's NS action passes ``reset_values=True`` with the primitive's params only (ns.py, action:
  ``desc_params = primitive_params``) and N2VC turns it into ``helm upgrade --reset-values``: without the attachment
  in ``params`` the new revision has none. So the attachment is merged into ``params`` on every upgrade, whatever the
  values mode; with ``--reuse-values`` it changes nothing.
- ``scale``: N2VC's scale is ``helm upgrade --reuse-values --set replicaCount=N``: every replica gets the same pod
  annotation, so a pinned address would be on N pods of one L2 segment. A pool KDU's replicas are addressed by
  L2S-M's IPAM from the network's ``podAddressRange``, which never gives an address back (see
  ``core.addressing.addresses_left``): a scale that needs more addresses than are left is refused before helm runs.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from osm_l2net.core.addressing import addresses_left, network
from osm_l2net.core.errors import L2NetError
from osm_l2net.core.options import ValuesLayout
from osm_l2net.core.plan import KduPlan, NetworkPlan, Plan

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")


class Day2Refused(L2NetError):
    """A day-2 operation that would break a KDU's L2 attachment: refused before helm runs."""

    exit_code = 2


class AttachmentLost(L2NetError):
    """After helm ran, the release does not carry the KDU's attachment (its pods are not on their networks)."""


def _at(values: Mapping[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _put(values: dict[str, Any], dotted: str, data: Mapping[str, Any]) -> None:
    node = values
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = copy.deepcopy(dict(data))


def attachment_values(kdu: KduPlan, layout: ValuesLayout) -> dict[str, Any]:
    """Only the attachment of a KDU's values (pod labels, pod annotations, the l2net block), at the layout's paths:
    what an upgrade adds to the caller's params (the user's own instantiation params are not re-applied: the
    upgrade's params decide those)."""
    out: dict[str, Any] = {}
    if not kdu.interfaces:
        return out
    _put(out, layout.pod_labels, kdu.pod_labels)
    _put(out, layout.pod_annotations, kdu.pod_annotations)
    block = _at(kdu.values, layout.l2net)
    if isinstance(block, Mapping):
        _put(out, layout.l2net, block)
    return out


def _missing(found: Any, wanted: Mapping[str, Any]) -> list[str]:
    have = found if isinstance(found, Mapping) else {}
    return [k for k, v in wanted.items() if have.get(k) != v]


def values_problems(values_text: str, kdu: KduPlan, layout: ValuesLayout) -> list[str]:
    """What of the attachment the release's user values (``helm get values -o yaml``) lack."""
    try:
        values = yaml.safe_load(values_text or "") or {}
    except yaml.YAMLError as e:
        return [f"its values are not YAML ({e})"]
    if not isinstance(values, Mapping):
        return [f"its values are not a mapping ({type(values).__name__})"]
    problems = []
    for dotted, wanted in ((layout.pod_labels, kdu.pod_labels), (layout.pod_annotations, kdu.pod_annotations)):
        missing = _missing(_at(values, dotted), wanted)
        if missing:
            problems.append(f"values {dotted} lack {', '.join(missing)}")
    return problems


def manifest_problems(documents: Sequence[Mapping[str, Any]], kdu: KduPlan) -> list[str]:
    """Whether the release's rendered manifest (``helm get manifest``) gives some workload's pod template the
    attachment's labels and annotations: the values are only what the chart was given."""
    templates = [(f"{d.get('kind')} {(d.get('metadata') or {}).get('name')}", _at(d, "spec.template.metadata") or {})
                 for d in documents if d.get("kind") in WORKLOAD_KINDS]
    if not templates:
        return ["its manifest has no workload (Deployment, StatefulSet, ...) whose pods could be attached"]
    for _, meta in templates:
        if not _missing(meta.get("annotations"), kdu.pod_annotations) and not _missing(meta.get("labels"),
                                                                                       kdu.pod_labels):
            return []
    names = ", ".join(name for name, _ in templates)
    return [f"no pod template in its manifest ({names}) carries the pod labels and annotations "
            f"{sorted({**kdu.pod_labels, **kdu.pod_annotations})}"]


def pinned(kdu: KduPlan) -> list[str]:
    """The KDU's interfaces with a fixed address in the pod annotation (the same on every replica)."""
    return [f"{i.name} {i.ip} on {i.vld_id}" for i in kdu.interfaces if i.ip]


def replicas_asked(params: Mapping[str, Any] | None) -> int | None:
    """The replica count an upgrade's params set at the top level (N2VC's replica keys: replicaCount, replicas)."""
    for key in ("replicaCount", "replicas"):
        value = (params or {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def refuse_pinned_replicas(kdu: KduPlan, kdu_instance: str, count: int, operation: str) -> None:
    fixed = pinned(kdu)
    if count > 1 and fixed:
        raise Day2Refused(
            f"{operation} of KDU {kdu.key} ({kdu_instance}) to {count} replicas refused: it has pinned addresses "
            f"({'; '.join(fixed)}), which every replica would get on the same L2 segment. Expected: 1 replica, or a "
            "descriptor without ip-address for this KDU's connection points and a kdu-resource-profile "
            "max-number-of-instances > 1 (then each replica gets its own address from a pool)")


@dataclass(frozen=True)
class PoolRoom:
    network: str
    block: str
    last_assigned: str | None
    left: int


def pool_networks(plan: Plan, kdu: KduPlan) -> list[NetworkPlan]:
    """The networks whose podAddressRange addresses this KDU's pods (interfaces without an address)."""
    names = {i.network for i in kdu.interfaces if not i.ip}
    return [n for n in plan.networks if n.name in names and n.pod_address_range]


def room(net: NetworkPlan, obj: Mapping[str, Any] | None) -> PoolRoom:
    status = (obj or {}).get("status") or {}
    last = status.get("lastAssignedIP") if isinstance(status, Mapping) else None
    block = str(net.pod_address_range)
    left = addresses_left(network(block), str(last) if last else None) if obj is not None else 0
    return PoolRoom(net.name, block, str(last) if last else None, left)


def refuse_beyond_pools(kdu: KduPlan, kdu_instance: str, current: int, target: int,
                        rooms: Iterable[PoolRoom]) -> None:
    """L2S-M addresses each NEW pod from what is left of the block (scaling in gives nothing back)."""
    new = target - current
    if new <= 0:
        return
    short = [r for r in rooms if r.left < new]
    if short:
        detail = "; ".join(f"{r.network} (podAddressRange {r.block}, lastAssignedIP {r.last_assigned or 'none'}) has "
                           f"{r.left} left" for r in short)
        raise Day2Refused(
            f"scale of KDU {kdu.key} ({kdu_instance}) from {current} to {target} replicas refused: its {new} new "
            f"pod(s) need {new} address(es) from each pool, but {detail}. L2S-M never gives an address back (every pod "
            "ever created used one). Expected: at most "
            f"{current + min(r.left for r in short)} replicas, or a new NS instance (its networks get fresh pools)")
