"""Finding an NS instance in the cluster by name, NS id or OSM nsr id, for ``status`` and ``delete``.

A plan's network names and labels derive from the NS id, and outside OSM the NS id from the NS name; but an NS made
by ``ns-create`` has a random id (recorded in OSM), and its nsr id is another one still. So ``status``/``delete``
first ask the cluster which NS the user means, by label (``osm-l2net.etsi.org/ns-name``, ``osm.etsi.org/ns-id``,
``osm-l2net.etsi.org/nsr-id``), then plan with the id and name found there: the plan is the one that made the
networks. Networks of another NSD (their NSD label differs) are never taken for this one. Reads only; no I/O itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from osm_l2net.core.errors import ConflictError
from osm_l2net.core.plan import LABEL_NS_ID, LABEL_NS_NAME, LABEL_NSR_ID, Plan, lookup_labels
from osm_l2net.kube.state import OwnedNetwork, same_nsd

if TYPE_CHECKING:  # the kubernetes client is slow to import
    from osm_l2net.kube.cluster import Cluster


@dataclass(frozen=True)
class Found:
    """The NS the cluster holds: its id and name, as the planner had them."""

    ns_id: str
    ns_name: str


def find_ns(cluster: Cluster, plan: Plan, *, ns_id: str | None = None, ns_name: str | None = None) -> Found | None:
    """The NS of ``plan``'s NSD, in its namespace, whose NS id or nsr id is ``ns_id`` (when given), else whose name
    is ``ns_name``; None when the cluster holds none (or only networks made before the name label existed: the plan's
    own id, derived from the name, finds those). Several NS ids under one name: ``ConflictError`` (give --ns-id)."""
    if ns_id is not None:
        nets = _of_nsd(cluster, plan, LABEL_NS_ID, ns_id) or _of_nsd(cluster, plan, LABEL_NSR_ID, ns_id)
    elif ns_name is not None:
        nets = _of_nsd(cluster, plan, LABEL_NS_NAME, ns_name)
    else:
        return None
    found = sorted({Found(o.full_ns_id or o.ns_id, o.ns_name or ns_name or o.full_ns_id) for o in nets},
                   key=lambda f: f.ns_id)
    if len(found) > 1:
        ids = ", ".join(f"{f.ns_id} ({f.ns_name})" for f in found)
        raise ConflictError(f"{'NS id ' + ns_id if ns_id else 'NS name ' + str(ns_name)} matches several NS instances "
                            f"of NSD {plan.nsd_id} in {plan.namespace}: {ids}: give the one meant with --ns-id")
    return found[0] if found else None


def _of_nsd(cluster: Cluster, plan: Plan, label: str, value: str) -> list[OwnedNetwork]:
    return [o for o in cluster.list_owned(lookup_labels(label, value), plan.namespace) if same_nsd(o.nsd_id, plan.nsd_label)]
