"""What the LCM connector reads from and asks of LCM itself: the NS record reference of a KDU operation, the VNFD
revision a VNF record was made from, the connector's logger, and the namespace creation the helm 3 connector does
before helm runs. Light on purpose: LCM imports the connector at start-up."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from osm_l2net.core.errors import L2NetError

_log = logging.getLogger("osm_l2net.osm.lcm")


async def ensure_namespace(conn: Any, cluster_uuid: str, namespace: str) -> None:
    """Create the NS's namespace before its networks, as the helm 3 connector's own install does before helm runs,
    with the connector's own helpers (``_namespace_exists`` / ``_create_namespace``: kubectl with the cluster's
    credentials). A base without them (another N2VC release) leaves it to the cluster: a missing namespace then fails
    the network creation with a clear error."""
    exists, create = getattr(conn, "_namespace_exists", None), getattr(conn, "_create_namespace", None)
    if namespace == "kube-system" or exists is None or create is None:
        return
    if await exists(cluster_uuid, namespace):
        return
    try:
        await create(cluster_uuid, namespace)
    except Exception as e:  # a concurrent creator may have won: only a still-missing namespace is an error
        if not await exists(cluster_uuid, namespace):
            raise L2NetError(f"namespace {namespace} does not exist in K8s cluster {cluster_uuid} and could not be "
                             f"created: {e}") from e


def nsr_id_of(db_dict: Mapping[str, Any] | None) -> str | None:
    if not isinstance(db_dict, Mapping) or db_dict.get("collection", "nsrs") != "nsrs":
        return None
    value = (db_dict.get("filter") or {}).get("_id")
    return str(value) if value else None


def vnfd_record(db: Any, vnfr: Mapping[str, Any]) -> Mapping[str, Any]:
    """The VNFD a VNF record was instantiated from: the package revision it names (``vnfds_revisions``, ``_id``
    ``<vnfd _id>:<revision>``, kept by NBI since package revisions exist), else the current ``vnfds`` record."""
    if vnfr.get("revision") is not None:
        revision = db.get_one("vnfds_revisions", {"_id": f"{vnfr['vnfd-id']}:{vnfr['revision']}"}, fail_on_empty=False)
        if revision:
            return dict(revision)
    record: Mapping[str, Any] = db.get_one("vnfds", {"_id": vnfr["vnfd-id"]})
    return record


def logger_of(conn: Any) -> logging.Logger | logging.LoggerAdapter[Any]:
    log = getattr(conn, "log", None)
    return log if isinstance(log, logging.Logger | logging.LoggerAdapter) else _log
