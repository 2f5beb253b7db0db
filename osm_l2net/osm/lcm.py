"""OSM LCM integration: a helm 3 KDU connector that gives every KDU its L2 attachment, and a launcher that makes LCM
use it. OSM has no plugin mechanism for this, so ``python -m osm_l2net.osm.lcm [LCM args]`` replaces the module-global
``osm_lcm.ns.K8sHelm3Connector`` with the connector class, then starts LCM exactly as ``python3 -m osm_lcm.lcm`` does
(no LCM file is edited). See docs/lcm-integration.md.

``install`` (LCM calls it for all KDUs of an NS concurrently): the first KDU of an NS reads the NS from LCM's db
(nsr, vnfrs, vnfds), plans it, creates its networks and waits until they are ready; the others wait on a per-NS lock
and reuse that plan. Then each KDU's attachment (interfaces, IPs, routes, pod metadata) is merged into its ``params``
and the real helm 3 connector installs it. ``uninstall``: after the helm release is gone, the last KDU of the NS (on
that cluster) removes the NS's networks: wait until its pods are gone, delete, wait until gone.

Failure policy: ANY exception while preparing an NS's networks (the project's own errors, a cluster fault, or a
foreign one such as a client's ``TypeError``) deletes again the networks this attempt created (never adopted ones)
and fails every KDU of that attempt ONCE with the same error; the networks are not prepared again per KDU. An
attempt's KDUs are the NS's helm KDU instances recorded when it failed; an install call for one of them that has
already been told, or for a KDU instance that was not recorded then (LCM writes new release names when it retries
an instantiate), is a new attempt and prepares afresh. Once the networks are ready they stay until the NS is
terminated, even if a KDU's chart fails: the NS's other KDUs may be running on them, and OSM's terminate (which
uninstalls every KDU, failed ones included) removes them. If that removal raises a foreign exception, the NS's
networks are deleted by ownership label without waiting for pods; only if that fails too does the uninstall fail.
(When helm's own uninstall fails, the release may still run on the networks: they stay until LCM's next terminate
succeeds.) Anything left by an LCM crash is found by ownership label: ``osm-l2net gc``.

Everything blocking (db, file sync, planning, the Kubernetes API) runs in worker threads (``asyncio.to_thread``); the
per-NS state lives on the connector instance and is touched only on the event loop. Heavy modules (the planner, the
Kubernetes client) are imported on first use so that LCM starts fast.

This module is the import path LCM users configure; it holds the connector class and its per-NS coordination. The
settings are :mod:`.lcm_settings`, what is read from and asked of LCM itself :mod:`.lcm_records`, the launcher
:mod:`.lcm_launcher`; the networks are created and removed through :mod:`osm_l2net.osm.networks` (the Deployer's
creation and rollback, and the one removal by label of :mod:`osm_l2net.deploy.removal`).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osm_l2net.core.errors import L2NetError
from osm_l2net.core.plan import deep_merge
from osm_l2net.osm.lcm_records import ensure_namespace, logger_of, nsr_id_of, vnfd_record
from osm_l2net.osm.lcm_settings import ENV_PREFIX, ConnectorSettings

if TYPE_CHECKING:
    from osm_l2net.core.plan import KduPlan, Plan
    from osm_l2net.deploy.deployer import DeploySettings

__all__ = ["ENV_PREFIX", "ConnectorSettings", "NsNetworks", "OsmNotInstalled", "PreparationError", "connector_class",
           "load_base", "main", "make_connector_class", "merge_values"]

BASE_MODULES = ("osm_lcm.n2vc.k8s_helm3_conn", "n2vc.k8s_helm3_conn")  # Release NINETEEN, then the old N2VC package


class OsmNotInstalled(L2NetError):
    """OSM LCM / N2VC cannot be imported here (they are not on PyPI: this runs inside OSM's LCM image)."""

    exit_code = 2


# ---------------------------------------------------------------- per-NS coordination


class PreparationError(L2NetError):
    """The networks of an NS could not be prepared; every KDU install of that attempt fails with this same message."""

    def __init__(self, nsr_id: str, cause: BaseException) -> None:
        detail = str(cause) if isinstance(cause, L2NetError) else f"unexpected {type(cause).__name__}: {cause}"
        super().__init__(f"the networks of NS {nsr_id} could not be prepared: {detail}")
        self.nsr_id, self.cause = nsr_id, cause
        if isinstance(cause, L2NetError):
            self.exit_code, self.temporary = cause.exit_code, cause.temporary


@dataclass
class _Failure:
    """Why an attempt to prepare an NS's networks failed, and which KDU installs of that attempt have been told."""

    error: PreparationError
    batch: frozenset[str]  # the NS's helm KDU instances on the cluster at the time
    told: set[str] = field(default_factory=set)

    def tell(self, kdu_instance: str) -> PreparationError:
        """The attempt's error, as a new exception with the same message (each KDU's task raises its own)."""
        self.told.add(kdu_instance)
        again = PreparationError(self.error.nsr_id, self.error.cause)
        again.__cause__ = self.error.cause
        return again


@dataclass(frozen=True)
class Attached:
    """A KDU with L2 interfaces, and the plan of its NS."""

    plan: Plan
    kdu: KduPlan


@dataclass
class _Ready:
    plan: Plan | None  # None: the NS has no network for us (only the management network)


Key = tuple[str, str]  # (nsr id, cluster uuid)


class NsNetworks:
    """The networks of the NS instances one connector serves, coordinated across concurrent KDU operations."""

    def __init__(self, settings: ConnectorSettings) -> None:
        self.settings = settings
        self._locks: dict[Key, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}
        self._ready: dict[Key, _Ready] = {}
        self._failed: dict[Key, _Failure] = {}
        self._gone: dict[Key, set[str]] = {}

    def _lock(self, key: Key) -> asyncio.Lock:
        """The NS's lock on the running loop (LCM has one loop; a connector reused on a new loop gets new locks)."""
        loop = asyncio.get_running_loop()
        held = self._locks.get(key)
        if held is None or held[0] is not loop:
            held = self._locks[key] = (loop, asyncio.Lock())
        return held[1]

    async def attach(self, conn: Any, cluster_uuid: str, kdu_instance: str, namespace: str | None,
                     params: dict[str, Any] | None, db_dict: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """``params`` with this KDU's attachment merged in, once the NS's networks are ready on the cluster."""
        found = await self.prepare(conn, cluster_uuid, kdu_instance, namespace, db_dict)
        if found is None:
            return params
        logger_of(conn).info("osm-l2net: %s (%s) attached to %s", kdu_instance, found.kdu.key,
                             ", ".join(f"{i.name}={i.network}{' ' + i.ip if i.ip else ''}" for i in found.kdu.interfaces))
        return merge_values(params or {}, found.kdu.values)

    async def prepare(self, conn: Any, cluster_uuid: str, kdu_instance: str, namespace: str | None,
                      db_dict: Mapping[str, Any] | None) -> Attached | None:
        """The NS's plan and this KDU's part of it, once the NS's networks are ready on the cluster (created if
        missing: install, and every day-2 operation); None when the KDU has no L2 interface."""
        from osm_l2net.osm import records

        nsr_id = nsr_id_of(db_dict)
        if nsr_id is None:
            logger_of(conn).debug("osm-l2net: %s has no NS record reference (db_dict): no attachment", kdu_instance)
            return None
        nsr = await asyncio.to_thread(conn.db.get_one, "nsrs", {"_id": nsr_id})
        entry = records.find_kdu(nsr, kdu_instance, str((db_dict or {}).get("path") or ""))
        if entry is None:
            raise L2NetError(f"KDU instance {kdu_instance} is not in nsrs/{nsr_id} _admin.deployed.K8s "
                             "(LCM records every KDU there before installing it)")
        key = (nsr_id, cluster_uuid)
        async with self._lock((nsr_id, "")):  # per NS: an NS on several clusters prepares them all at once
            ready = self._ready.get(key)
            if ready is None and not records.has_data_links(nsr.get("nsd") or {}):
                ready = self._ready[key] = _Ready(None)  # only the management network: nothing to do
            if ready is None:
                self._raise_earlier_failure(key, kdu_instance)
                try:
                    plan = await asyncio.to_thread(self._plan, conn, nsr, namespace)
                    clusters = [cluster_uuid] if plan is None or plan.clusters == ("",) else list(plan.clusters)
                    if plan is not None:
                        await self._prepare_clusters(conn, plan, clusters)
                except Exception as e:  # any exception: one error for the whole attempt (see the module docstring)
                    failure = await self._record_failure(conn, key, e)
                    raise failure.tell(kdu_instance) from e
                for cluster in clusters:  # every cluster of the NS is ready now, not only this KDU's
                    self._ready[(nsr_id, cluster)] = _Ready(plan)
                    self._failed.pop((nsr_id, cluster), None)
                ready = self._ready[key]
        kdu = ready.plan.kdu(entry.member_vnf_index, entry.kdu_name) if ready.plan else None
        if ready.plan is None or kdu is None or not kdu.interfaces:
            return None
        return Attached(ready.plan, kdu)

    async def _prepare_clusters(self, conn: Any, plan: Plan, clusters: Sequence[str]) -> None:
        """Every cluster's networks, before any KDU of the NS is installed on any (an NS on several clusters: a
        stretched link is only whole once each of its clusters has its part): all pre-flights first, then each
        cluster's namespace and networks; a failure deletes again what this attempt created on the others."""
        def part(cluster: str) -> Plan:
            return plan if plan.clusters == ("",) else plan.for_cluster(cluster)

        for cluster in clusters:
            await asyncio.to_thread(self._preflight, conn, cluster, part(cluster))
        created: list[tuple[str, list[str]]] = []
        try:
            for cluster in clusters:  # the networks go where the plan put them: that namespace must exist
                await ensure_namespace(conn, cluster, plan.namespace)
                created.append((cluster, await asyncio.to_thread(self._create, conn, cluster, part(cluster))))
        except Exception:
            for cluster, names in created:
                await asyncio.to_thread(self._undo, conn, cluster, part(cluster), names)
            raise

    def _undo(self, conn: Any, cluster_uuid: str, plan: Plan, names: Sequence[str]) -> None:
        """(worker thread) Delete the networks of ``names`` that this attempt created on the cluster."""
        from osm_l2net.osm.networks import delete_created

        if not names:
            return
        log = logger_of(conn)
        with self._cluster(conn, cluster_uuid, plan.namespace) as cluster:
            try:
                delete_created(cluster, plan, names, self.settings.deploy_settings())
            except Exception as e:  # the attempt's own error matters more; say what is left
                log.error("osm-l2net: NS %s: could not delete %s on cluster %s after a failure elsewhere (%s): left "
                          "for 'osm-l2net gc'", plan.ns_id, ", ".join(names), cluster_uuid, e)

    async def pool_rooms(self, conn: Any, cluster_uuid: str, found: Attached) -> list[Any]:
        """What is left of each address pool the KDU's pods are addressed from, read from the networks' status."""
        from osm_l2net.osm import day2

        nets = day2.pool_networks(found.plan, found.kdu)
        if not nets:
            return []

        def read() -> list[day2.PoolRoom]:
            with self._cluster(conn, cluster_uuid, found.plan.namespace) as cluster:
                return [day2.room(n, cluster.network_object(n)) for n in nets]

        return await asyncio.to_thread(read)

    async def _record_failure(self, conn: Any, key: Key, error: Exception) -> _Failure:
        """Remember the failed attempt: its error and its KDUs (the NS's helm KDU instances recorded by now)."""
        from osm_l2net.osm import records

        try:  # re-read: LCM writes each KDU's release name as its install task starts, the others' after ours
            nsr = await asyncio.to_thread(conn.db.get_one, "nsrs", {"_id": key[0]})
            batch = records.helm_kdu_instances(nsr, key[1])
        except Exception as e:  # the attempt's error matters more than why its KDUs could not be listed
            logger_of(conn).warning("osm-l2net: NS %s: could not re-read the KDU instances after a failure: %s", key[0], e)
            batch = frozenset()
        failure = self._failed[key] = _Failure(PreparationError(key[0], error), batch)
        logger_of(conn).error("osm-l2net: %s", failure.error)
        return failure

    def _raise_earlier_failure(self, key: Key, kdu_instance: str) -> None:
        """KDUs of an attempt whose network preparation failed share its error instead of each retrying for minutes;
        a KDU seen again, or one of another batch, is a new attempt (LCM retried) and prepares afresh."""
        failure = self._failed.get(key)
        if failure is None:
            return
        if kdu_instance in failure.batch and kdu_instance not in failure.told:
            raise failure.tell(kdu_instance) from failure.error.cause
        del self._failed[key]

    def _plan(self, conn: Any, nsr: Mapping[str, Any], namespace: str | None) -> Plan | None:
        """(worker thread) Plan the NS from LCM's records; None when it has no network for us."""
        from osm_l2net.core.planner import build_plan
        from osm_l2net.osm import records

        nsr_id = str(nsr["_id"])
        vnfrs = conn.db.get_list("vnfrs", {"nsr-id-ref": nsr_id})
        descriptors = records.descriptors_from_records(nsr["nsd"], [vnfd_record(conn.db, v) for v in vnfrs],
                                                       f"nsrs/{nsr_id}")
        instance = records.instance_from_records(nsr, vnfrs, records.ns_namespace(nsr, namespace))
        placement = records.placement(vnfrs, _cluster_uuids(conn.db, vnfrs))
        plan = build_plan(descriptors, instance, self.settings.plan_options(instance.namespace, placement))
        return plan if plan.networks else None

    def _preflight(self, conn: Any, cluster_uuid: str, plan: Plan) -> None:
        """(worker thread) L2S-M's readiness for the plan (kube/preflight.py), before its namespace or any network is
        created: an error fails the attempt, once, for all of the NS's KDUs."""
        if not self.settings.preflight:
            return
        log = logger_of(conn)
        with self._cluster(conn, cluster_uuid, plan.namespace) as cluster:
            cluster.preflight(plan, lambda message: log.warning("osm-l2net: NS %s: %s", plan.ns_id, message))

    def _create(self, conn: Any, cluster_uuid: str, plan: Plan) -> list[str]:
        """(worker thread) Create the plan's networks and wait until they are ready; the names this call created."""
        from osm_l2net.osm.networks import create_networks

        nsr_id, log = plan.ns_id, logger_of(conn)
        with self._cluster(conn, cluster_uuid, plan.namespace) as cluster:
            # any exception, foreign ones too, deletes what this attempt created (DeploySettings.roll_back_foreign)
            created = create_networks(cluster, plan, self.settings.deploy_settings(),
                                      lambda message: log.info("osm-l2net: NS %s: %s", nsr_id, message))
        log.info("osm-l2net: NS %s: %d networks ready in %s (%d created)", nsr_id, len(plan.networks), plan.namespace,
                 len(created))
        return created

    async def detach(self, conn: Any, cluster_uuid: str, kdu_instance: str) -> None:
        """After a KDU's release is gone: when it was the NS's last one on this cluster, remove the NS's networks."""
        from osm_l2net.osm import records

        nsr = await asyncio.to_thread(conn.db.get_one, "nsrs", {"_admin.deployed.K8s.kdu-instance": kdu_instance},
                                      fail_on_empty=False, fail_on_more=False)
        if not nsr:
            logger_of(conn).warning("osm-l2net: no NS record holds KDU instance %s; its NS's networks, if any, are left "
                                  "for 'osm-l2net gc'", kdu_instance)
            return
        if not records.has_data_links(nsr.get("nsd") or {}):
            return  # nothing of ours to remove: do not contact the cluster
        key = (str(nsr["_id"]), cluster_uuid)
        async with self._lock((key[0], "")):
            self._ready.pop(key, None)  # terminating: a later instantiate must check the networks again
            self._failed.pop(key, None)
            gone = self._gone.setdefault(key, set())
            gone.add(kdu_instance)
            left = records.helm_kdu_instances(nsr, cluster_uuid) - gone
            if left:
                logger_of(conn).debug("osm-l2net: NS %s: %d KDU(s) still installed", key[0], len(left))
                return
            await asyncio.to_thread(self._remove, conn, cluster_uuid, key[0])
            del self._gone[key]
        if not any(k[0] == key[0] for k in (*self._ready, *self._gone)):  # the NS's last cluster: its lock goes too
            self._locks.pop((key[0], ""), None)

    def _remove(self, conn: Any, cluster_uuid: str, nsr_id: str) -> None:
        """(worker thread) Remove every network labelled with the NS's id from the cluster."""
        from osm_l2net.osm.networks import remove_ns_networks

        log = logger_of(conn)
        settings = self.settings.deploy_settings()
        with self._cluster(conn, cluster_uuid, None) as cluster:
            try:
                removed = remove_ns_networks(cluster, nsr_id, settings,
                                             progress=lambda message: log.info("osm-l2net: NS %s: %s", nsr_id, message))
            except L2NetError:
                raise
            except Exception as e:  # foreign: do not leave the networks behind; delete them by label, without waiting
                removed = _remove_by_label(cluster, nsr_id, settings, e, log)
        if removed:
            log.info("osm-l2net: NS %s: networks removed: %s", nsr_id, ", ".join(sorted(removed)))

    @staticmethod
    def _cluster(conn: Any, cluster_uuid: str, namespace: str | None) -> Any:
        """The cluster as LCM's helm connector reaches it: its own copy of the credentials, synced from OSM's fs."""
        from osm_l2net.kube import cluster as kube
        conn.fs.sync(from_path=cluster_uuid)
        kubeconfig = Path(conn.fs.path) / cluster_uuid / ".kube" / "config"
        if not kubeconfig.is_file():
            raise L2NetError(f"no kubeconfig for K8s cluster {cluster_uuid} at {kubeconfig} (is the cluster registered?)")
        return kube.Cluster(kube.ClusterAccess(kubeconfig=str(kubeconfig), namespace=namespace))


def _cluster_uuids(db: Any, vnfrs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """OSM's K8s cluster id (a vnfr's ``kdur[].k8s-cluster.id``) -> the uuid LCM hands its helm 3 connector for it
    (``k8sclusters._admin.helm-chart-v3.id``, as ns.py's ``_get_cluster_id`` reads it); an id without a record maps
    to itself."""
    from osm_l2net.osm import records

    out: dict[str, str] = {}
    for osm_id in sorted(records.k8s_cluster_ids(vnfrs)):
        record = db.get_one("k8sclusters", {"_id": osm_id}, fail_on_empty=False) or {}
        out[osm_id] = str(((record.get("_admin") or {}).get("helm-chart-v3") or {}).get("id") or osm_id)
    return out


def _remove_by_label(cluster: Any, nsr_id: str, settings: DeploySettings, cause: Exception,
                     log: logging.Logger | logging.LoggerAdapter[Any]) -> list[str]:
    """(worker thread) After a foreign exception in the removal: the same removal by label, at once (helm's release
    is already gone) and without waiting (the waits may be what failed); raise only if some network is left undeleted."""
    from osm_l2net.osm.networks import remove_ns_networks

    log.error("osm-l2net: NS %s: %s while removing its networks: %s; deleting them by label without waiting",
              nsr_id, type(cause).__name__, cause)
    try:
        return remove_ns_networks(cluster, nsr_id, settings, force=True, wait=False)
    except Exception as e:
        raise L2NetError(f"the networks of NS {nsr_id} could not be removed ({type(cause).__name__}: {cause}; "
                         f"then {type(e).__name__}: {e}): left for 'osm-l2net gc'") from e



merge_values = deep_merge  # the name LCM-side callers and tests know


def _warn_node_choice(conn: Any, found: Attached, kdu_instance: str, labels: Mapping[str, Any]) -> None:
    """A migration (targetHostK8sLabels: N2VC adds a nodeSelector with its post-renderer) cannot choose the node of
    an L2S-M port: the webhook runs at pod admission, before the scheduler, sees no spec.nodeName and picks a random
    node's switch port. The pod may then land on the wanted node with a port of another node (no L2 traffic)."""
    if found.plan.provider != "l2sm":
        return
    logger_of(conn).warning(
        "osm-l2net: migration of %s (%s) to nodes %s: L2S-M's webhook picks the switch port of a RANDOM node for pods "
        "without spec.nodeName and ignores the nodeSelector, so the migrated pods may be attached through another "
        "node's port and lose their L2 traffic on %s; check 'osm-l2net status' after the migration and delete a pod "
        "whose port is on another node (the new pod gets another draw)", kdu_instance, found.kdu.key,
        dict(labels), ", ".join(i.network for i in found.kdu.interfaces))


def _db_dict_of(conn: Any, kdu_instance: str) -> dict[str, Any] | None:
    """LCM's get_scale_count gets no db_dict: find the NS record by the KDU instance, as uninstall does."""
    nsr = conn.db.get_one("nsrs", {"_admin.deployed.K8s.kdu-instance": kdu_instance}, fail_on_empty=False,
                          fail_on_more=False)
    if not nsr:
        return None
    from osm_l2net.osm import records

    entry = records.find_kdu(nsr, kdu_instance)
    path = f"_admin.deployed.K8s.{entry.index}" if entry else ""
    return {"collection": "nsrs", "filter": {"_id": nsr["_id"]}, "path": path}


def _kdu_model(conn: Any, db_dict: Mapping[str, Any] | None, kdu_instance: str) -> str | None:
    """The chart LCM installed the KDU from (``_admin.deployed.K8s[i].kdu-model``), for the re-attaching upgrade."""
    nsr_id = nsr_id_of(db_dict)
    nsr = conn.db.get_one("nsrs", {"_id": nsr_id}, fail_on_empty=False) if nsr_id else None
    for entry in ((nsr or {}).get("_admin") or {}).get("deployed", {}).get("K8s") or []:
        if isinstance(entry, Mapping) and entry.get("kdu-instance") == kdu_instance:
            return str(entry.get("kdu-model")) if entry.get("kdu-model") else None
    return None


# ---------------------------------------------------------------- the connector


class Day2Operations:
    """upgrade, rollback, get_scale_count and scale of OSM's helm 3 connector, keeping the KDU's L2 attachment (see
    :mod:`osm_l2net.osm.day2`). A mixin before OSM's class in the connector's bases: ``_base(self)`` is OSM's."""

    async def upgrade(self, cluster_uuid: str, kdu_instance: str, kdu_model: str | None = None,
                      atomic: bool = True, timeout: float = 300, params: dict[str, Any] | None = None,
                      db_dict: dict[str, Any] | None = None, namespace: str | None = None,
                      targetHostK8sLabels: dict[str, Any] | None = None, reset_values: bool = False,
                      reuse_values: bool = True, reset_then_reuse_values: bool = False, force: bool = False,
                      **kwargs: Any) -> Any:
        from osm_l2net.osm import day2

        found = await _l2net(self).prepare(self, cluster_uuid, kdu_instance, namespace, db_dict)
        values = params
        if found is not None:
            day2.refuse_pinned_replicas(found.kdu, kdu_instance, day2.replicas_asked(params) or 1, "upgrade")
            if targetHostK8sLabels:
                _warn_node_choice(self, found, kdu_instance, targetHostK8sLabels)
            # always, whatever the values mode: with --reset-values the attachment would otherwise be gone
            values = merge_values(params or {}, day2.attachment_values(found.kdu, _l2net(self).settings.values_layout))
        revision = await _base(self).upgrade(
            cluster_uuid, kdu_instance, kdu_model=kdu_model, atomic=atomic, timeout=timeout, params=values,
            db_dict=db_dict, namespace=namespace, targetHostK8sLabels=targetHostK8sLabels,
            reset_values=reset_values, reuse_values=reuse_values, reset_then_reuse_values=reset_then_reuse_values,
            force=force, **kwargs)
        if found is not None:
            await self._l2net_check(cluster_uuid, kdu_instance, found, "upgrade", raise_on_values=True)
        return revision

    async def rollback(self, cluster_uuid: str, kdu_instance: str, revision: Any = 0,
                       db_dict: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """helm rollback, then the attachment: a revision without it (made by an upgrade that dropped it, or
        before osm-l2net) is re-attached at once by an upgrade that reuses the rolled-back values and adds the
        attachment; the result is checked as after an upgrade."""
        found = await _l2net(self).prepare(self, cluster_uuid, kdu_instance, None, db_dict)
        result = await _base(self).rollback(cluster_uuid, kdu_instance, revision=revision, db_dict=db_dict, **kwargs)
        if found is None:
            return result
        lacking = await self._l2net_check(cluster_uuid, kdu_instance, found, "rollback", raise_on_values=False)
        if not lacking:
            return result
        logger_of(self).warning("osm-l2net: rollback of %s reached a revision without its L2 attachment (%s): "
                                "re-applying it", kdu_instance, "; ".join(lacking))
        model = await asyncio.to_thread(_kdu_model, self, db_dict, kdu_instance)
        if model is None:
            from osm_l2net.osm import day2

            raise day2.AttachmentLost(f"rollback of {kdu_instance} reached a revision without its L2 attachment "
                                      f"({'; '.join(lacking)}) and the NS record names no kdu-model to re-apply it "
                                      "with: upgrade the KDU (its attachment is added to every upgrade)")
        return await self.upgrade(cluster_uuid, kdu_instance, kdu_model=model, atomic=True, params={},
                                  db_dict=db_dict, reuse_values=True)

    async def get_scale_count(self, resource_name: str, kdu_instance: str, cluster_uuid: str, kdu_model: str,
                              **kwargs: Any) -> Any:
        count = await _base(self).get_scale_count(resource_name, kdu_instance, cluster_uuid, kdu_model, **kwargs)
        db_dict = await asyncio.to_thread(_db_dict_of, self, kdu_instance)
        found = await _l2net(self).prepare(self, cluster_uuid, kdu_instance, None, db_dict) if db_dict else None
        if found is not None and int(count) > 1:
            from osm_l2net.osm import day2

            if day2.pinned(found.kdu):
                logger_of(self).error("osm-l2net: %s runs %s replicas with pinned addresses (%s): they share one "
                                      "address", kdu_instance, count, "; ".join(day2.pinned(found.kdu)))
        return count

    async def scale(self, kdu_instance: str, scale: int, resource_name: str, total_timeout: float = 1800,
                    cluster_uuid: str | None = None, kdu_model: str | None = None, atomic: bool = True,
                    db_dict: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        from osm_l2net.osm import day2

        found = (await _l2net(self).prepare(self, cluster_uuid, kdu_instance, None, db_dict)
                 if cluster_uuid else None)
        if found is not None:
            day2.refuse_pinned_replicas(found.kdu, kdu_instance, int(scale), "scale")
            rooms = await _l2net(self).pool_rooms(self, cluster_uuid or "", found)
            if rooms:
                current = await _base(self).get_scale_count(resource_name, kdu_instance, cluster_uuid, kdu_model)
                day2.refuse_beyond_pools(found.kdu, kdu_instance, int(current), int(scale), rooms)
        return await _base(self).scale(kdu_instance, scale, resource_name, total_timeout=total_timeout,
                                   cluster_uuid=cluster_uuid, kdu_model=kdu_model, atomic=atomic, db_dict=db_dict,
                                   **kwargs)

    async def _l2net_check(self, cluster_uuid: str, kdu_instance: str, found: Attached, operation: str, *,
                           raise_on_values: bool) -> list[str]:
        """Read the release back (helm get values / manifest, as N2VC runs helm) and say what of the attachment
        it lacks; after an upgrade that is an error, after a rollback the caller re-applies it."""
        from osm_l2net.osm import day2

        instance = await _base(self).get_instance_info(cluster_uuid, kdu_instance)
        if not instance:
            raise day2.AttachmentLost(f"{operation} of {kdu_instance}: the release is gone")
        namespace = instance["namespace"]
        paths, _ = _base(self)._init_paths_env(cluster_name=cluster_uuid, create_if_not_exist=True)
        values = await _base(self).get_values_kdu(kdu_instance, namespace, paths["kube_config"])
        # our own helm runner (an argv list, no command string), with N2VC's helm binary and its copy of the
        # cluster's kubeconfig: N2VC's _get_get_command adds '--output yaml', which 'helm get manifest' refuses
        manifest = await asyncio.to_thread(_manifest, self, paths["kube_config"], kdu_instance, namespace)
        lacking = (day2.values_problems(values, found.kdu, _l2net(self).settings.values_layout)
                   + day2.manifest_problems(manifest, found.kdu))
        if lacking and raise_on_values:
            raise day2.AttachmentLost(
                f"{operation} of KDU {found.kdu.key} ({kdu_instance}) left a release without its L2 attachment: "
                f"{'; '.join(lacking)}. Expected: the chart renders the values at "
                f"{_l2net(self).settings.values_layout.pod_labels} and {_l2net(self).settings.values_layout.pod_annotations} "
                "into its pod templates (as at install)")
        return lacking


def _manifest(conn: Any, kubeconfig: str, release: str, namespace: str) -> list[dict[str, Any]]:
    """(worker thread) The release's manifests, as ``helm get manifest`` stores them, by the connector's helm."""
    from osm_l2net.helm.runner import Helm, HelmSettings

    return Helm(HelmSettings(binary=conn._helm_command, kubeconfig=kubeconfig)).get_manifest(release, namespace)


def _base(conn: Any) -> Any:
    """OSM's connector methods below the mixin (``super()`` of Day2Operations in the connector's MRO)."""
    return super(Day2Operations, conn)


def _l2net(conn: Any) -> NsNetworks:
    state: NsNetworks = conn.l2net
    return state


def make_connector_class(base: type) -> type:
    """A subclass of ``base`` (OSM's ``K8sHelm3Connector``, or any class with its ``install``/``uninstall``) whose
    install and uninstall also manage the NS's networks. Keeps LCM's constructor and every other method as they are."""

    class L2NetK8sHelm3Connector(Day2Operations, base):  # type: ignore[misc]
        """OSM's helm 3 KDU connector, plus the NS's L2 networks (osm-l2net)."""

        @property
        def l2net(self) -> NsNetworks:
            # created on first use: LCM constructs the connector with its own signature, which is kept untouched
            state: NsNetworks | None = self.__dict__.get("_l2net_networks")
            if state is None:
                state = self.__dict__["_l2net_networks"] = NsNetworks(ConnectorSettings.from_env())
            return state

        async def install(self, cluster_uuid: str, kdu_model: str, kdu_instance: str, atomic: bool = True,
                          timeout: float = 300, params: dict[str, Any] | None = None,
                          db_dict: dict[str, Any] | None = None, kdu_name: str | None = None,
                          namespace: str | None = None, **kwargs: Any) -> Any:
            values = await self.l2net.attach(self, cluster_uuid, kdu_instance, namespace, params, db_dict)
            return await super().install(cluster_uuid, kdu_model, kdu_instance, atomic=atomic, timeout=timeout,
                                         params=values, db_dict=db_dict, kdu_name=kdu_name, namespace=namespace,
                                         **kwargs)

        async def uninstall(self, cluster_uuid: str, kdu_instance: str, **kwargs: Any) -> Any:
            result = await super().uninstall(cluster_uuid, kdu_instance, **kwargs)
            await self.l2net.detach(self, cluster_uuid, kdu_instance)
            return result

    L2NetK8sHelm3Connector.__module__ = __name__
    L2NetK8sHelm3Connector.__qualname__ = L2NetK8sHelm3Connector.__name__
    return L2NetK8sHelm3Connector


def load_base() -> type:
    """OSM's ``K8sHelm3Connector`` class: from LCM (Release NINETEEN: ``osm_lcm.n2vc``), else the old ``n2vc``."""
    for name in BASE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and name.startswith(e.name):
                continue  # this layout is not installed: try the next one
            raise  # installed but broken: show the real cause
        base: type = module.K8sHelm3Connector
        return base
    raise OsmNotInstalled(f"OSM's helm 3 connector is not importable (tried {', '.join(BASE_MODULES)}): run this "
                          "inside OSM's LCM image (see docs/lcm-integration.md)")


def connector_class() -> type:
    """The connector class over the installed OSM's ``K8sHelm3Connector``."""
    return make_connector_class(load_base())



def main(argv: list[str] | None = None) -> None:
    """``python -m osm_l2net.osm.lcm [LCM's arguments]``: LCM with the connector (see :mod:`.lcm_launcher`)."""
    from osm_l2net.osm.lcm_launcher import main as launch

    launch(argv)


if __name__ == "__main__":
    # run the importable module's main, not this __main__ copy: the connector class must live in osm_l2net.osm.lcm
    from osm_l2net.osm.lcm import main as _main

    _main()
