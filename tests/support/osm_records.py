"""OSM Release NINETEEN records built from OSM packages, shaped as NBI and LCM write them into the db, plus a replay of
what LCM's ``deploy_kdus`` / terminate do with a KDU connector. Test support only.

- ``onboard``: the ``nsds`` / ``vnfds`` records NBI stores for packages (descriptor without envelope, plus ``_id`` and
  ``_admin``; the package folder stays on the fs as ``<fs.path>/<_id>/<package>/``).
- ``create_ns``: NBI's ``POST /nslcm/v1/ns_instances_content``: an ``nsrs`` record (``nsd`` = the NSD record,
  ``instantiate_params`` = the request) and one ``vnfrs`` record per vnf-profile (``vnfd-id`` = the vnfds ``_id``,
  ``kdur`` with each KDU's ``additionalParams`` encoded as NBI does, dict/list values as ``"!!yaml ..."`` strings).
- ``LcmReplay.instantiate``: LCM's ``deploy_kdus``: write ``_admin.deployed.K8s.<i>`` for every KDU (release name:
  chart name + 10 random digits), then call ``install`` for ALL KDUs concurrently with LCM's arguments.
  ``terminate``: ``uninstall`` for every deployed KDU, concurrently, with ``vca_id`` and ``namespace``.
"""

from __future__ import annotations

import asyncio
import copy
import random
import re
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.osm_lcm_double import FsDouble, OsmDbDouble


def _load(package: Path) -> tuple[str, dict[str, Any]]:
    doc = next(yaml.safe_load(p.read_text()) for p in sorted(package.glob("*.yaml")))
    if "nsd" in doc:
        return "nsd", doc["nsd"]["nsd"][0]
    return "vnfd", doc["vnfd"]


def _admin(package: Path, record_id: str) -> dict[str, Any]:
    now = time.time()
    return {"created": now, "modified": now, "projects_read": ["admin-project"], "projects_write": ["admin-project"],
            "onboardingState": "ONBOARDED", "operationalState": "ENABLED", "usageState": "NOT_IN_USE",
            "storage": {"fs": "mongo", "path": "/app/storage/", "folder": record_id, "pkg-dir": package.name,
                        "descriptor": f"{package.name}/{next(package.glob('*.yaml')).name}", "zipfile": "package.tar.gz"}}


@dataclass
class Onboarded:
    nsd: dict[str, Any]
    vnfds: dict[str, dict[str, Any]]  # vnfd id -> record
    chart_dirs: dict[tuple[str, str], Path]  # (vnfd id, kdu name) -> chart folder on the fs


def onboard(db: OsmDbDouble, fs: FsDouble, packages: Sequence[str | Path]) -> Onboarded:
    nsd: dict[str, Any] | None = None
    vnfds: dict[str, dict[str, Any]] = {}
    charts: dict[tuple[str, str], Path] = {}
    for raw in packages:
        package = Path(raw)
        kind, body = _load(package)
        record_id = str(uuid.uuid4())
        record = {**copy.deepcopy(body), "_id": record_id, "_admin": _admin(package, record_id)}
        db.create(f"{kind}s", record)
        stored = Path(fs.path) / record_id / package.name
        shutil.copytree(package, stored)
        if kind == "nsd":
            nsd = record
            continue
        vnfds[body["id"]] = record
        for kdu in body.get("kdu", []):
            charts[(body["id"], kdu["name"])] = stored / "helm-chart-v3s" / kdu["helm-chart"]
    assert nsd is not None, "no NSD among the packages"
    return Onboarded(nsd, vnfds, charts)


def _encode(params: Mapping[str, Any]) -> dict[str, Any]:
    """NBI's _format_additional_params: dict/list values stored as "!!yaml <dump>" strings."""
    return {k: f"!!yaml {yaml.safe_dump(v)}" if isinstance(v, dict | list) else v for k, v in params.items()}


def create_ns(db: OsmDbDouble, onboarded: Onboarded, ns_name: str, vim_account: str,
              config: Mapping[str, Any] | None = None, cluster_uuid: str = "k8s-cluster-1",
              project: str = "admin-project") -> str:
    """NBI's ns create: the nsr and its vnfrs, NOT_INSTANTIATED. Returns the nsr ``_id``.

    As NBI: ``instantiate_params`` is the request without ``additionalParamsForNs`` / ``additionalParamsForVnf``
    (``_format_ns_request``); those go to ``nsr.additionalParamsForNs``, ``vnfr.additionalParamsForVnf`` and
    ``vnfr.kdur[].additionalParams``, encoded; each kdur gets its resolved ``k8s-namespace`` (project id < request
    < additionalParamsForNs < VNF < KDU).
    """
    nsr_id = str(uuid.uuid4())
    nsd = onboarded.nsd
    request = {"nsName": ns_name, "nsdId": nsd["_id"], "vimAccountId": vim_account, **copy.deepcopy(dict(config or {}))}
    ns_params = request.get("additionalParamsForNs") or {}
    ns_namespace = ns_params.get("k8s-namespace") or request.get("k8s-namespace") or project
    profiles = nsd["df"][0]["vnf-profile"]
    vnfr_ids = []
    for profile in profiles:
        vnfd = onboarded.vnfds[profile["vnfd-id"]]
        member = profile["id"]
        vnf_params: dict[str, Any] = next(
            (v for v in request.get("additionalParamsForVnf", []) if v["member-vnf-index"] == member), {})
        kdur = []
        vnf_namespace = vnf_params.get("k8s-namespace") or ns_namespace
        for kdu in vnfd.get("kdu", []):
            kdu_params: dict[str, Any] = next(
                (k for k in vnf_params.get("additionalParamsForKdu", []) if k["kdu_name"] == kdu["name"]), {})
            kdur.append({"kdu-name": kdu["name"], "helm-chart": kdu.get("helm-chart"), "k8s-cluster": {"id": cluster_uuid},
                         "additionalParams": _encode(kdu_params.get("additionalParams") or {}),
                         "k8s-namespace": kdu_params.get("k8s-namespace") or vnf_namespace,
                         "kdu-deployment-name": kdu_params.get("kdu-deployment-name") or ""})
        vnfr_id = db.create("vnfrs", {
            "_id": str(uuid.uuid4()), "nsr-id-ref": nsr_id, "member-vnf-index-ref": member, "vnfd-ref": vnfd["id"],
            "vnfd-id": vnfd["_id"], "revision": 1, "vim-account-id": vim_account, "kdur": kdur,
            "additionalParamsForVnf": _encode(vnf_params.get("additionalParams") or {}),
            "connection-point": [{"name": c["id"], "connection-point-id": c["id"]} for c in vnfd.get("ext-cpd", [])],
            "_admin": {"created": time.time(), "nsState": "NOT_INSTANTIATED", "projects_read": ["admin-project"]},
        })
        vnfr_ids.append(vnfr_id)
    db.create("nsrs", {
        "_id": nsr_id, "id": nsr_id, "name": ns_name, "name-ref": ns_name, "short-name": ns_name,
        "admin-status": "ENABLED", "nsState": "NOT_INSTANTIATED", "nsd": copy.deepcopy(nsd), "nsd-id": nsd["_id"],
        "nsd-ref": nsd["id"], "nsd-name-ref": nsd["name"], "datacenter": vim_account, "description": ns_name,
        "operational-status": "init", "config-status": "init", "detailed-status": "scheduled",
        "constituent-vnfr-ref": vnfr_ids,
        "instantiate_params": {k: v for k, v in request.items() if k not in ("additionalParamsForNs", "additionalParamsForVnf")},
        "additionalParamsForNs": _encode(ns_params) if ns_params else None,
        "vld": [{"id": v["id"], "name": v["id"], "mgmt-network": v.get("mgmt-network", False)}
                for v in nsd.get("virtual-link-desc", [])],
        "_admin": {"nsState": "NOT_INSTANTIATED", "deployed": {"RO": {}, "VCA": [], "K8s": []},
                   "projects_read": ["admin-project"], "projects_write": ["admin-project"], "created": time.time()},
    })
    return nsr_id


def _release_name(chart: str, rng: random.Random) -> str:
    """LCM's default KDU instance name: chart name (non-alnum → '-', ≤ 35, lower case) + '-' + 10 random digits."""
    name = re.sub(r"[^a-z0-9]", "-", chart.rsplit("/", 1)[-1].lower())[:35]
    return f"{name}-{rng.randint(0, 9_999_999_999):010d}"


def _decode(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: yaml.safe_load(v[len("!!yaml "):]) if isinstance(v, str) and v.startswith("!!yaml ") else v
            for k, v in params.items()}


@dataclass
class LcmReplay:
    """What LCM does with its helm 3 connector during instantiate and terminate (see the module docstring)."""

    db: OsmDbDouble
    connector: Any
    onboarded: Onboarded
    namespace: str = "admin-project"
    cluster_uuid: str = "k8s-cluster-1"
    seed: int = 0
    chart_override: dict[str, str] = field(default_factory=dict)  # kdu name -> kdu_model (e.g. a broken chart)
    clusters: dict[str, str] = field(default_factory=dict)  # member-vnf-index -> its cluster uuid (else cluster_uuid)

    def deploy_entries(self, nsr_id: str) -> list[dict[str, Any]]:
        """Write ``_admin.deployed.K8s.<i>`` for every KDU of the NS, as deploy_kdus does before installing."""
        rng = random.Random(f"{self.seed}-{nsr_id}")
        entries = []
        for vnfr in self.db.get_list("vnfrs", {"nsr-id-ref": nsr_id}):
            for kdur in vnfr["kdur"]:
                model = self.chart_override.get(kdur["kdu-name"]) or str(
                    self.onboarded.chart_dirs[(vnfr["vnfd-ref"], kdur["kdu-name"])])
                cluster = self.clusters.get(vnfr["member-vnf-index-ref"], self.cluster_uuid)
                entries.append({"kdu-instance": _release_name(kdur["helm-chart"], rng), "k8scluster-uuid": cluster,
                                "k8scluster-type": "helm-chart-v3", "member-vnf-index": vnfr["member-vnf-index-ref"],
                                "kdu-name": kdur["kdu-name"], "kdu-model": model,
                                "namespace": kdur.get("k8s-namespace") or self.namespace,
                                "kdu-deployment-name": "", "params": _decode(kdur.get("additionalParams") or {})})
        for i, entry in enumerate(entries):
            self.db.set_one("nsrs", {"_id": nsr_id}, {f"_admin.deployed.K8s.{i}": {k: v for k, v in entry.items()
                                                                                   if k != "params"}})
        self.db.set_one("nsrs", {"_id": nsr_id}, {"nsState": "BUILDING", "_admin.nsState": "INSTANTIATED"})
        return entries

    async def instantiate(self, nsr_id: str) -> list[Any]:
        """All KDU installs at once; returns each result or exception, in K8s entry order."""
        entries = self.deploy_entries(nsr_id)
        calls = [self.connector.install(
            cluster_uuid=e["k8scluster-uuid"], kdu_model=e["kdu-model"], atomic=True, params=e["params"],
            db_dict={"collection": "nsrs", "filter": {"_id": nsr_id}, "path": f"_admin.deployed.K8s.{i}"},
            timeout=1800, kdu_name=e["kdu-name"], namespace=e["namespace"], kdu_instance=e["kdu-instance"], vca_id=None)
            for i, e in enumerate(entries)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        state = "READY" if not any(isinstance(r, BaseException) for r in results) else "BROKEN"
        self.db.set_one("nsrs", {"_id": nsr_id}, {"nsState": state})
        return list(results)

    async def terminate(self, nsr_id: str) -> list[Any]:
        nsr = self.db.get_one("nsrs", {"_id": nsr_id})
        assert nsr is not None
        self.db.set_one("nsrs", {"_id": nsr_id}, {"nsState": "TERMINATING"})
        calls = [self.connector.uninstall(cluster_uuid=e["k8scluster-uuid"], kdu_instance=e["kdu-instance"], vca_id=None,
                                          namespace=e["namespace"])
                 for e in nsr["_admin"]["deployed"]["K8s"] if e.get("kdu-instance")]
        results = await asyncio.gather(*calls, return_exceptions=True)
        self.db.set_one("nsrs", {"_id": nsr_id}, {"nsState": "NOT_INSTANTIATED"})
        return list(results)

    def releases(self, nsr_id: str) -> dict[tuple[str, str], str]:
        """(member-vnf-index, kdu-name) -> kdu-instance."""
        nsr = self.db.get_one("nsrs", {"_id": nsr_id})
        assert nsr is not None
        return {(e["member-vnf-index"], e["kdu-name"]): e["kdu-instance"] for e in nsr["_admin"]["deployed"]["K8s"]}
