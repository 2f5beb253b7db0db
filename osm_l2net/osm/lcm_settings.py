"""The LCM connector's settings, read once from ``OSM_L2NET_*`` environment variables (see docs/lcm-integration.md).
Light on purpose: LCM imports it at start-up."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from osm_l2net.core import providers
from osm_l2net.core.errors import InputError
from osm_l2net.core.options import DEFAULT_PROVIDER, InterClusterProvider, PlanOptions, ValuesLayout

if TYPE_CHECKING:
    from osm_l2net.deploy.deployer import DeploySettings

ENV_PREFIX = "OSM_L2NET_"


@dataclass(frozen=True)
class ConnectorSettings:
    """The connector's knobs, read once from ``OSM_L2NET_*`` environment variables (see docs/lcm-integration.md)."""

    provider: str = DEFAULT_PROVIDER
    ready_timeout: float = 300.0
    delete_timeout: float = 300.0
    pods_gone_timeout: float = 300.0
    concurrency: int = 8
    interface_capacity: int = 10
    values_layout: ValuesLayout = field(default_factory=ValuesLayout)
    preflight: bool = True  # check L2S-M before an NS's networks are created ($OSM_L2NET_SKIP_PREFLIGHT=true skips)
    # the provider a link stretched across K8s clusters names ($OSM_L2NET_INTER_CLUSTER_PROVIDER=NAME=ADDRESS)
    inter_cluster: InterClusterProvider | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConnectorSettings:
        env = os.environ if environ is None else environ
        default = cls()

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value.strip() if value and value.strip() else None

        provider = get("PROVIDER") or default.provider
        if provider not in providers.names():
            raise InputError.single(f"${ENV_PREFIX}PROVIDER", "", f"unknown provider '{provider}'",
                                    f"one of {providers.names()}")
        layout = ValuesLayout(get("VALUES_POD_LABELS") or default.values_layout.pod_labels,
                              get("VALUES_POD_ANNOTATIONS") or default.values_layout.pod_annotations,
                              get("VALUES_L2NET") or default.values_layout.l2net)
        return cls(provider=provider,
                   ready_timeout=_number(get, "READY_TIMEOUT", default.ready_timeout),
                   delete_timeout=_number(get, "DELETE_TIMEOUT", default.delete_timeout),
                   pods_gone_timeout=_number(get, "PODS_GONE_TIMEOUT", default.pods_gone_timeout),
                   concurrency=int(_number(get, "CONCURRENCY", default.concurrency, integer=True)),
                   interface_capacity=int(_number(get, "INTERFACE_CAPACITY", default.interface_capacity, integer=True)),
                   values_layout=layout, preflight=not _flag(get, "SKIP_PREFLIGHT"),
                   inter_cluster=_inter_cluster(get("INTER_CLUSTER_PROVIDER")))

    def plan_options(self, namespace: str, placement: Mapping[str, str] | None = None) -> PlanOptions:
        """``placement``: member-vnf-index -> K8s cluster (N2VC's cluster uuid), for an NS on several clusters."""
        return PlanOptions(provider=self.provider, namespace=namespace, interface_capacity=self.interface_capacity,
                           values_layout=self.values_layout, placement=dict(placement or {}),
                           inter_cluster=self.inter_cluster)

    def deploy_settings(self) -> DeploySettings:
        from osm_l2net.deploy.deployer import DeploySettings

        return DeploySettings(ready_timeout=self.ready_timeout, delete_timeout=self.delete_timeout,
                              pods_gone_timeout=self.pods_gone_timeout, concurrency=self.concurrency,
                              roll_back_foreign=True)


def _inter_cluster(raw: str | None) -> InterClusterProvider | None:
    if raw is None:
        return None
    name, sep, domain = raw.partition("=")
    if not sep or not name.strip() or not domain.strip() or "," in domain:
        raise InputError.single(f"${ENV_PREFIX}INTER_CLUSTER_PROVIDER", "", f"'{raw}' is not NAME=ADDRESS",
                                "the provider's name and its one address, e.g. idco=10.0.0.5")
    return InterClusterProvider(name.strip(), domain.strip())


def _number(get: Callable[[str], str | None], name: str, default: float, *, integer: bool = False) -> float:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise InputError.single(f"${ENV_PREFIX}{name}", "", f"'{raw}' is not a positive {'integer' if integer else 'number'}",
                                "a positive integer" if integer else "a positive number of seconds")
    return value



def _flag(get: Callable[[str], str | None], name: str) -> bool:
    raw = get(name)
    if raw is None:
        return False
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise InputError.single(f"${ENV_PREFIX}{name}", "", f"'{raw}' is not a boolean", "true or false")
