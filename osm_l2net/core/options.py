"""Planning options: the knobs a user or integrator sets once, built at the edge (CLI flags, LCM config)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PROVIDER = "l2sm"  # the registered providers: osm_l2net.core.providers.names()
#: the cluster of every KNF that no placement names: the one the command or LCM call is connected to
DEFAULT_CLUSTER = ""


@dataclass(frozen=True)
class ValuesLayout:
    """Where the attachment goes in each KDU's helm values (dotted paths; charts disagree on these)."""

    pod_labels: str = "podLabels"
    pod_annotations: str = "podAnnotations"
    l2net: str = "l2net"


@dataclass(frozen=True)
class InterClusterProvider:
    """The inter-cluster provider (L2S-M: the SDN controller every cluster's NetworkEdgeDevice connects to) that a
    stretched link's network names in each cluster (L2S-M ``spec.provider``)."""

    name: str
    domain: str  # one address: L2S-M formats spec.provider.domain wrongly when it has more than one entry


@dataclass(frozen=True)
class PlanOptions:
    provider: str = DEFAULT_PROVIDER
    namespace: str = "default"
    df_id: str | None = None  # the NSD deployment flavour; default: the first
    interface_capacity: int = 10  # L2 attachments a pod may have (L2S-M: the Overlay's interfaceNumber per node)
    values_layout: ValuesLayout = ValuesLayout()
    # member-vnf-index -> the cluster its KNF runs on (a kube context; OSM: the vnfr's kdur[].k8s-cluster.id);
    # members not named run on DEFAULT_CLUSTER. A link whose KNFs run on several clusters is stretched across them.
    placement: Mapping[str, str] = field(default_factory=dict)
    inter_cluster: InterClusterProvider | None = None
