"""What OSM LCM v19's ``NsLcm`` does with its helm 3 KDU connector, replayed line by line from
``../shared/osm-v19/lcm/osm_lcm/ns.py`` (``NsLcm`` itself cannot be imported: ns.py's other modules, ROclient,
data_utils, lcm_utils, ..., are not in the shared source).

``instantiate`` = ``deploy_kdus`` + ``_install_kdu``: reset ``_admin.deployed.K8s``; for every vnfr and kdur, in db
order: params = ``parse_yaml_strings(kdur.additionalParams)``; the chart is ``<fs.path><folder>/<pkg-dir>/
helm-chart-v3s/<helm-chart>`` when ``fs.file_exists`` says so (else the bare name: a repo chart); write
``_admin.deployed.K8s.<index>`` (kdu-instance None); start a task that names the release with the connector's own
``generate_kdu_instance_name``, writes ``<path>.kdu-instance``, calls ``install(cluster_uuid, kdu_model,
atomic=True, params, db_dict={collection, filter: {_id}, path}, timeout=1800, kdu_name, namespace, kdu_instance,
vca_id=None)`` and then ``get_services`` (written to ``vnfrs.kdur.<i>.services``); all tasks run concurrently.
``terminate``: ``uninstall(cluster_uuid, kdu_instance, vca_id=None, namespace)`` for every deployed KDU, concurrently.
``action`` (day 2, ns.py ``NsLcm.action``, primitive ``upgrade`` / ``rollback`` of a KDU): the K8s entry of the
KDU, ``db_dict`` with its index; upgrade: ``kdu_model`` from the params or the entry, ``kdu_atomic_upgrade``, the
values mode (no ``kdu_reset_values``/``kdu_reuse_values``/``kdu_reset_then_reuse_values``: reuse; two true: refused),
``desc_params`` = the kdur's ``additionalParams``, REPLACED by the primitive params with reset_values, else updated
with them; rollback: ``rollback(cluster_uuid, kdu_instance, db_dict)`` (revision 0: the previous one).
``scale`` (ns.py ``NsLcm.scale`` for a ``kdu-resource-delta`` + ``_scale_kdu``): the profile of the delta, its
``max-number-of-instances`` (default 10) / ``min-number-of-instances`` (default 0), ``get_scale_count(resource_name,
kdu_instance, vca_id, cluster_uuid, kdu_model)``, the new count with LCM's own limits, then ``scale(kdu_instance,
scale, resource_name, total_timeout, vca_id, cluster_uuid, kdu_model, atomic=True, db_dict)``.
Not replayed (no connector call, or not reached in a helm KDU path): synchronize_repos, VCA/juju, RO, the mgmt IP,
kafka, the nslcmop records, config primitives around a scale.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import yaml

HELM3 = "helm-chart-v3"


def parse_yaml_strings(params: dict[str, Any] | None) -> dict[str, Any]:
    """LCM's data_utils.dict_utils.parse_yaml_strings: ``"!!yaml <text>"`` values loaded as YAML."""
    out = dict(params or {})
    for key, value in out.items():
        if isinstance(value, str) and value.startswith("!!yaml "):
            out[key] = yaml.safe_load(value[7:])
    return out


class LcmException(Exception):
    """ns.py's LcmException: LCM refuses the operation itself."""


@dataclass
class NsLcmReplay:
    db: Any
    fs: Any
    connector: Any  # the project's connector class over the REAL K8sHelm3Connector
    timeout: int = 1800  # deploy_kdus' KDU install timeout

    def _kdu_model(self, vnfd: dict[str, Any], chart: str) -> str:
        storage = (vnfd.get("_admin") or {}).get("storage")
        if not storage:
            return chart
        if storage["pkg-dir"]:
            filename = f"{storage['folder']}/{storage['pkg-dir']}/{HELM3}s/{chart}"
        else:
            filename = f"{storage['folder']}/Scripts/{HELM3}s/{chart}"
        if self.fs.file_exists(filename, mode="file") or self.fs.file_exists(filename, mode="dir"):
            return str(self.fs.path) + filename
        return chart

    def _k8s_id(self, cluster_id: str) -> str:
        record = self.db.get_one("k8sclusters", {"_id": cluster_id}, fail_on_empty=False)
        if not record:
            raise RuntimeError(f"K8s cluster {cluster_id} cannot be found")
        k8s_id = ((record.get("_admin") or {}).get(HELM3) or {}).get("id")
        if not k8s_id:
            raise RuntimeError(f"K8s cluster '{cluster_id}' has not been initialized for '{HELM3}'")
        return str(k8s_id)

    async def _install_kdu(self, nsr_id: str, db_path: str, vnfr_id: str, kdu_index: int, info: dict[str, Any],
                           params: dict[str, Any]) -> Any:
        db_dict = {"collection": "nsrs", "filter": {"_id": nsr_id}, "path": db_path}
        kdu_instance = info.get("kdu-deployment-name") or self.connector.generate_kdu_instance_name(
            db_dict=db_dict, kdu_model=info["kdu-model"], kdu_name=info["kdu-name"])
        self.db.set_one("nsrs", {"_id": nsr_id}, {db_path + ".kdu-instance": kdu_instance})
        await self.connector.install(
            cluster_uuid=info["k8scluster-uuid"], kdu_model=info["kdu-model"], atomic=True, params=params,
            db_dict=db_dict, timeout=self.timeout, kdu_name=info["kdu-name"], namespace=info["namespace"],
            kdu_instance=kdu_instance, vca_id=None)
        services = await self.connector.get_services(cluster_uuid=info["k8scluster-uuid"], kdu_instance=kdu_instance,
                                                     namespace=info["namespace"])
        if services:
            self.db.set_one("vnfrs", {"_id": vnfr_id}, {f"kdur.{kdu_index}.services": services})
        return True

    async def instantiate(self, nsr_id: str) -> list[Any]:
        """deploy_kdus: every KDU's install task at once; each task's result or exception, in K8s entry order."""
        self.db.set_one("nsrs", {"_id": nsr_id}, {"_admin.deployed.K8s": []})
        vnfds = {v["_id"]: v for v in self.db.get_list("vnfds")}
        tasks = []
        index = 0
        for vnfr in self.db.get_list("vnfrs", {"nsr-id-ref": nsr_id}):
            for kdu_index, kdur in enumerate(vnfr.get("kdur") or []):
                params = parse_yaml_strings(kdur.get("additionalParams"))
                vnfd = vnfds[vnfr["vnfd-id"]]
                info = {"kdu-instance": None, "k8scluster-uuid": self._k8s_id(kdur["k8s-cluster"]["id"]),
                        "k8scluster-type": HELM3, "member-vnf-index": vnfr["member-vnf-index-ref"],
                        "kdu-name": kdur["kdu-name"], "kdu-model": self._kdu_model(vnfd, kdur["helm-chart"]),
                        "namespace": kdur.get("k8s-namespace"), "kdu-deployment-name": kdur.get("kdu-deployment-name")}
                db_path = f"_admin.deployed.K8s.{index}"
                self.db.set_one("nsrs", {"_id": nsr_id}, {db_path: info})
                tasks.append(asyncio.ensure_future(
                    self._install_kdu(nsr_id, db_path, vnfr["_id"], kdu_index, info, params)))
                index += 1
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    async def terminate(self, nsr_id: str) -> list[Any]:
        nsr = self.db.get_one("nsrs", {"_id": nsr_id})
        tasks = [asyncio.ensure_future(self.connector.uninstall(
            cluster_uuid=kdu.get("k8scluster-uuid"), kdu_instance=kdu["kdu-instance"], vca_id=None,
            namespace=kdu.get("namespace")))
            for kdu in nsr["_admin"]["deployed"]["K8s"] if kdu and kdu.get("kdu-instance")]
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    def releases(self, nsr_id: str) -> dict[tuple[str, str], str]:
        """(member-vnf-index, kdu-name) -> kdu-instance, as deploy_kdus recorded them."""
        nsr = self.db.get_one("nsrs", {"_id": nsr_id})
        return {(e["member-vnf-index"], e["kdu-name"]): e["kdu-instance"] for e in nsr["_admin"]["deployed"]["K8s"]}

    # ---------------------------------------------------------------- day 2

    def _deployed(self, nsr_id: str, member: str, kdu_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        nsr = self.db.get_one("nsrs", {"_id": nsr_id})
        for index, kdu in enumerate(nsr["_admin"]["deployed"]["K8s"]):
            if kdu_name == kdu["kdu-name"] and kdu["member-vnf-index"] == member:
                return kdu, {"collection": "nsrs", "filter": {"_id": nsr_id}, "path": f"_admin.deployed.K8s.{index}"}
        raise LcmException(f"KDU '{kdu_name}' for vnf '{member}' not deployed")

    def _kdur(self, nsr_id: str, member: str, kdu_name: str) -> dict[str, Any]:
        vnfr = self.db.get_one("vnfrs", {"nsr-id-ref": nsr_id, "member-vnf-index-ref": member})
        return next(x for x in vnfr["kdur"] if x["kdu-name"] == kdu_name)

    async def upgrade(self, nsr_id: str, member: str, kdu_name: str, primitive_params: dict[str, Any],
                      timeout: int = 1800) -> Any:
        """``action`` with primitive ``upgrade`` (ns.py NsLcm.action, the kdu_name branch)."""
        kdu, db_dict = self._deployed(nsr_id, member, kdu_name)
        primitive_params = dict(primitive_params)
        desc_params = parse_yaml_strings(self._kdur(nsr_id, member, kdu_name).get("additionalParams"))
        if primitive_params.get("kdu_model"):
            kdu_model = primitive_params.pop("kdu_model")
        else:
            kdu_model = kdu.get("kdu-model")
            if kdu_model.count("/") < 2:  # helm chart is not embedded
                parts = kdu_model.split(sep=":")
                kdu_model = parts[0] if len(parts) == 2 else kdu_model
        atomic_upgrade = True
        if primitive_params.get("kdu_atomic_upgrade"):
            atomic_upgrade = primitive_params.pop("kdu_atomic_upgrade").lower() in ("yes", "true", "1")
        reset_values = reuse_values = reset_then_reuse_values = False
        if not {"kdu_reset_values", "kdu_reuse_values", "kdu_reset_then_reuse_values"} & set(primitive_params):
            reuse_values = True
        else:
            if primitive_params.get("kdu_reset_values"):
                reset_values = primitive_params.pop("kdu_reset_values").lower() in ("yes", "true", "1")
            if primitive_params.get("kdu_reuse_values"):
                reuse_values = primitive_params.pop("kdu_reuse_values").lower() in ("yes", "true", "1")
            if primitive_params.get("kdu_reset_then_reuse_values"):  # ns.py: .get, the key stays in the params
                reset_then_reuse_values = primitive_params.get("kdu_reset_then_reuse_values").lower() in (
                    "yes", "true", "1")
            if sum([reset_values, reuse_values, reset_then_reuse_values]) >= 2:
                raise LcmException("Cannot upgrade the KDU simultaneously with two true options to handle values")
        if reset_values:
            desc_params = primitive_params
        else:
            desc_params.update(primitive_params)
        return await self.connector.upgrade(
            cluster_uuid=kdu.get("k8scluster-uuid"), kdu_instance=kdu.get("kdu-instance"), atomic=atomic_upgrade,
            reset_values=reset_values, reuse_values=reuse_values, reset_then_reuse_values=reset_then_reuse_values,
            kdu_model=kdu_model, params=desc_params, db_dict=db_dict, timeout=timeout)

    async def rollback(self, nsr_id: str, member: str, kdu_name: str) -> Any:
        """``action`` with primitive ``rollback``."""
        kdu, db_dict = self._deployed(nsr_id, member, kdu_name)
        return await self.connector.rollback(cluster_uuid=kdu.get("k8scluster-uuid"),
                                             kdu_instance=kdu.get("kdu-instance"), db_dict=db_dict)

    async def scale(self, nsr_id: str, member: str, aspect_id: str, direction: str) -> list[int]:
        """``scale`` (SCALE_OUT / SCALE_IN) of one scaling aspect's kdu-resource-deltas; the new counts."""
        vnfr = self.db.get_one("vnfrs", {"nsr-id-ref": nsr_id, "member-vnf-index-ref": member})
        vnfd = self.db.get_one("vnfds", {"_id": vnfr["vnfd-id"]})
        df = vnfd["df"][0]
        aspect = next(a for a in df.get("scaling-aspect", []) if a["id"] == aspect_id)
        counts = []
        for delta in aspect["aspect-delta-details"]["deltas"]:
            for kdu_delta in delta.get("kdu-resource-delta", {}):
                profile = next(p for p in df.get("kdu-resource-profile", []) if p["id"] == kdu_delta["id"])
                kdu_name, resource_name = profile["kdu-name"], profile.get("resource-name", "")
                deployed, db_dict = self._deployed(nsr_id, member, kdu_name)
                instance_num = await self.connector.get_scale_count(
                    resource_name, deployed.get("kdu-instance"), vca_id=None,
                    cluster_uuid=deployed.get("k8scluster-uuid"), kdu_model=deployed.get("kdu-model"))
                step = kdu_delta.get("number-of-instances", 1)
                if direction == "SCALE_OUT":
                    high = profile.get("max-number-of-instances", 10)
                    count = instance_num + step
                    if count > high > instance_num:
                        count = high
                    if count > high:
                        raise LcmException(f"reached the limit of {instance_num} (max-instance-count) scaling-out "
                                           f"operations for the scaling-group-descriptor '{aspect_id}'")
                else:
                    low = profile.get("min-number-of-instances", 0)
                    count = instance_num - step
                    if count < low < instance_num:
                        count = low
                    if count < low:
                        raise LcmException(f"reached the limit of {instance_num} (min-instance-count) scaling-in "
                                           f"operations for the scaling-group-descriptor '{aspect_id}'")
                await self.connector.scale(
                    kdu_instance=deployed["kdu-instance"], scale=count, resource_name=resource_name,
                    total_timeout=self.timeout, vca_id=None, cluster_uuid=deployed["k8scluster-uuid"],
                    kdu_model=deployed.get("kdu-model"), atomic=True, db_dict=db_dict)
                counts.append(count)
        return counts
