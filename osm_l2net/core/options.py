"""Planning options: the knobs a user or integrator sets once, built at the edge (CLI flags, LCM config)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PROVIDER = "l2sm"  # the registered providers: osm_l2net.core.providers.names()


@dataclass(frozen=True)
class ValuesLayout:
    """Where the attachment goes in each KDU's helm values (dotted paths; charts disagree on these)."""

    pod_labels: str = "podLabels"
    pod_annotations: str = "podAnnotations"
    l2net: str = "l2net"


@dataclass(frozen=True)
class PlanOptions:
    provider: str = DEFAULT_PROVIDER
    namespace: str = "default"
    df_id: str | None = None  # the NSD deployment flavour; default: the first
    interface_capacity: int = 10  # L2 attachments a pod may have (L2S-M: the Overlay's interfaceNumber per node)
    values_layout: ValuesLayout = ValuesLayout()
