"""The LCM side of the 'as OSM runs' tier: LCM's db/fs doubles with a registered cluster and onboarded packages,
and the project's connector made over OSM v19's REAL K8sHelm3Connector (shared by the tier's test modules)."""

from __future__ import annotations

import hashlib
import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from osm_l2net.osm.lcm import make_connector_class
from tests.conftest import CDN_PACKAGES
from tests.lcm_real.lcm_replay import NsLcmReplay
from tests.support.osm_lcm_double import FsDouble, OsmDbDouble
from tests.support.osm_records import Onboarded, create_ns, onboard

CLUSTER = "9d3f4c1e-2b6a-4e8f-a1c0-5e7d9b2a4c61"  # OSM's k8sclusters _id, also its helm-chart-v3 id (as v19 registers)
VIM = "3c0b8f0a-6d3e-4a57-9d7e-2b1f6c9e8a01"
L2NET = ("l2sm.l2sm.k8s.local", "v1", "l2networks")
SCALING = {"kdu-resource-profile": [{"id": "cdn-server-replicas", "kdu-name": "cdn-server",
                                     "min-number-of-instances": 1, "max-number-of-instances": 3}],
           "scaling-aspect": [{"id": "cdn-scale", "name": "cdn-scale", "max-scale-level": 1,
                               "aspect-delta-details": {"deltas": [{"id": "cdn-delta", "kdu-resource-delta": [
                                   {"id": "cdn-server-replicas", "number-of-instances": 2}]}]}}]}


@dataclass
class Lcm:
    db: OsmDbDouble
    fs: FsDouble
    connector: Any
    onboarded: Onboarded
    served: Any
    replay: NsLcmReplay

    def new_ns(self, name: str = "vod-service") -> tuple[str, str]:
        """An NS record (NBI's ns create) in a namespace of its own; (nsr id, namespace)."""
        namespace = f"p-{uuid.uuid4().hex[:8]}"  # LCM's default KDU namespace is the project id
        return create_ns(self.db, self.onboarded, name, VIM, cluster_uuid=CLUSTER, project=namespace), namespace

    def networks(self, namespace: str) -> list[dict[str, Any]]:
        return self.served.objects(*L2NET, namespace)

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        return self.served.objects("", "v1", "pods", namespace)

    def releases(self, namespace: str) -> list[str]:
        secrets = self.served.objects("", "v1", "secrets", namespace)
        return sorted(s["metadata"]["labels"]["name"] for s in secrets if s.get("type") == "helm.sh/release.v1")


def place_charts_where_lcm_looks(fs: FsDouble, onboarded: Onboarded) -> None:
    """LCM v19 finds a package's chart only at ``<package>/helm-chart-v3s/<chart>`` (ns.py, deploy_kdus). Packages
    of descriptors/ that still keep it in ``charts/`` (issue 9, item 3, is moving them) get a copy there in the
    STORED package, so this tier tests the connector, not the package layout."""
    for record in onboarded.vnfds.values():
        stored = Path(fs.path) / record["_admin"]["storage"]["folder"] / record["_admin"]["storage"]["pkg-dir"]
        if not (stored / "helm-chart-v3s").is_dir() and (stored / "charts").is_dir():
            shutil.copytree(stored / "charts", stored / "helm-chart-v3s")


def start_lcm(n2vc: Any, served: Any, helm_wrapper: Path, kubectl: Path, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch, packages: list[str]) -> Lcm:
    """LCM's db/fs with the cluster registered and the packages onboarded, and the connector over the real N2VC."""
    monkeypatch.chdir(tmp_path)  # N2VC writes each KDU's values file (-f <random>.yaml) into the working directory
    for name, value in (("READY_TIMEOUT", "20"), ("DELETE_TIMEOUT", "20"), ("PODS_GONE_TIMEOUT", "20")):
        monkeypatch.setenv(f"OSM_L2NET_{name}", value)
    served.faults(None)
    served.operator(ready_after=0.3)  # L2S-M marks a network Available 0.3 s after its finalizer
    served.workloads(pods_ready=True)
    db, fs = OsmDbDouble(), FsDouble(tmp_path / "storage")
    fs.add_cluster(CLUSTER, served.kubeconfig)
    db.create("k8sclusters", {"_id": CLUSTER, "name": "emulated", "_admin": {"helm-chart-v3": {"id": CLUSTER}}})
    onboarded = onboard(db, fs, packages)
    place_charts_where_lcm_looks(fs, onboarded)
    connector_class = make_connector_class(n2vc.K8sHelm3Connector)
    connector = connector_class(fs=fs, db=db, kubectl_command=str(kubectl), helm_command=str(helm_wrapper),
                                log=logging.getLogger("lcm.k8s"), on_update_db=None)
    return Lcm(db, fs, connector, onboarded, served, NsLcmReplay(db, fs, connector))


def scalable_packages(root: Path) -> list[str]:
    """The CDN packages with cdn-server scalable: its VNFD declares a kdu-resource-profile (max 3) that a scaling
    aspect's kdu-resource-delta refers to, and the NSD pins no address for it (the planner refuses both at once)."""
    out = []
    for package in map(Path, CDN_PACKAGES):
        copy = root / package.name
        shutil.copytree(package, copy)
        out.append(str(copy))
    vnfd_file = root / "cdn_server_knf" / "cdn_server_vnfd.yaml"
    vnfd = yaml.safe_load(vnfd_file.read_text())
    vnfd["vnfd"]["df"][0].update(SCALING)
    vnfd_file.write_text(yaml.safe_dump(vnfd, sort_keys=False))
    nsd_file = next((root / "vod_service_ns").glob("*.yaml"))
    nsd = yaml.safe_load(nsd_file.read_text())
    for profile in nsd["nsd"]["nsd"][0]["df"][0]["vnf-profile"]:
        if profile["id"] == "cdn-server":
            for link in profile["virtual-link-connectivity"]:
                for cpd in link["constituent-cpd-id"]:
                    cpd.pop("ip-address", None)
    nsd_file.write_text(yaml.safe_dump(nsd, sort_keys=False))
    for package in (root / "cdn_server_knf", root / "vod_service_ns"):  # keep the packages' checksums true
        sums = package / "checksums.txt"
        if sums.is_file():
            lines = [f"{hashlib.md5((package / name).read_bytes()).hexdigest()}  {name}"  # OSM packages list md5 sums
                     for name in (line.split()[1] for line in sums.read_text().splitlines() if line.strip())]
            sums.write_text("\n".join(lines) + "\n")
    return out
