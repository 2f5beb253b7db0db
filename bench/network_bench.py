"""Network creation: osm-l2net against the PoC's way and the usual alternatives, in one run, on the emulated cluster.

    .venv/bin/python bench/network_bench.py [--sizes 2,50,500] [--helm-max 50] [--repeat 1]

For N networks (L2Network objects, made Available at once by the operator double) it times, each from an empty cluster:
  (a) osm-l2net: Deployer.create_networks (bounded-concurrency creates, then one watch until all are Available);
  (b) the PoC's way: one `helm install` per network (a chart holding one L2Network), as in the 2023 slides;
  (c) `kubectl apply -f` of the same manifests (one multi-document file);
  (d) one by one: create a network, wait until it is Available, then the next (the official client, no concurrency).
and counts the API requests each makes per network (from the API server's request log). Not a test: prints a table
and one JSON line. (b) is skipped above --helm-max networks (it takes ~0.2 s per release here).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubernetes import client, watch

from osm_l2net.core.model import NsInstance
from osm_l2net.core.plan import Plan
from osm_l2net.core.planner import build_plan
from osm_l2net.core.render import table
from osm_l2net.deploy.deployer import Deployer, DeploySettings
from osm_l2net.kube.cluster import Cluster, ClusterAccess, connect
from tests.support.descriptors import descriptors, service_docs
from tests.support.k8s_harness import EmulatedCluster
from tests.support.tools import find_tool


def plan_of(n: int) -> Plan:
    nsd, vnfds = service_docs(n, 1, 1)  # n isolated links, one KNF each
    return build_plan(descriptors(nsd, vnfds), NsInstance(f"bench-{n}", "bench"))


def manifests(plan: Plan) -> list[dict[str, object]]:
    return [dict(net.as_dict()["manifest"]) for net in plan.networks]


def osm_l2net(cluster: EmulatedCluster, plan: Plan, work: Path) -> None:
    with Cluster(ClusterAccess(kubeconfig=str(cluster.kubeconfig))) as c:
        settings = DeploySettings(ready_timeout=120, concurrency=8, create_namespace=False)  # 'default' exists
        Deployer(c, None, settings, progress=lambda m: None).create_networks(plan)


def poc_helm(cluster: EmulatedCluster, plan: Plan, work: Path) -> None:
    helm = find_tool("helm") or "helm"
    for i, manifest in enumerate(manifests(plan)):
        chart = work / f"net{i}"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: net{i}\nversion: 0.1.0\n")
        (chart / "templates" / "network.yaml").write_text(yaml.safe_dump(manifest))
        subprocess.run([helm, "install", f"net{i}", str(chart), "--kubeconfig", str(cluster.kubeconfig), "-n", "default",
                        "--disable-openapi-validation"], check=True, capture_output=True, timeout=120)


def kubectl_apply(cluster: EmulatedCluster, plan: Plan, work: Path) -> None:
    kubectl = find_tool("kubectl") or "kubectl"
    path = work / "networks.yaml"
    path.write_text(yaml.safe_dump_all(manifests(plan)))
    subprocess.run([kubectl, "apply", "--validate=false", "-f", str(path), "--kubeconfig", str(cluster.kubeconfig),
                    "-n", "default"], check=True, capture_output=True, timeout=300)


def one_by_one(cluster: EmulatedCluster, plan: Plan, work: Path) -> None:
    api_client, _ = connect(ClusterAccess(kubeconfig=str(cluster.kubeconfig)))
    co = client.CustomObjectsApi(api_client)
    for manifest in manifests(plan):
        name = manifest["metadata"]["name"]  # type: ignore[index]
        co.create_namespaced_custom_object("l2sm.l2sm.k8s.local", "v1", "default", "l2networks", manifest)
        for event in watch.Watch().stream(co.list_namespaced_custom_object, "l2sm.l2sm.k8s.local", "v1", "default",
                                          "l2networks", field_selector=f"metadata.name={name}", timeout_seconds=30):
            if (event["object"].get("status") or {}).get("internalConnectivity") == "Available":
                break
    api_client.close()


WAYS: dict[str, Callable[[EmulatedCluster, Plan, Path], None]] = {
    "osm-l2net": osm_l2net, "helm per network (PoC)": poc_helm, "kubectl apply": kubectl_apply, "one by one": one_by_one}


def measure(way: str, n: int) -> dict[str, float | int | str]:
    plan = plan_of(n)
    with tempfile.TemporaryDirectory() as tmp, EmulatedCluster(workdir=Path(tmp)) as cluster:
        cluster.operator.start(ready_after=0.0)
        cluster.log.clear()
        start = time.perf_counter()
        WAYS[way](cluster, plan, Path(tmp))
        seconds = time.perf_counter() - start
        entries = cluster.log.entries()
        writes = sum(1 for e in entries if e.is_write)
    return {"way": way, "n": n, "seconds": seconds, "requests_per_network": len(entries) / n,
            "writes_per_network": writes / n}


def median_of(way: str, n: int, repeat: int) -> dict[str, float | int | str]:
    """The run with the median time of ``repeat`` runs (request counts hardly vary between runs)."""
    runs = sorted((measure(way, n) for _ in range(repeat)), key=lambda r: float(r["seconds"]))
    return {**runs[len(runs) // 2], "repeat": repeat}


def compare(sizes: list[int], helm_max: int, repeat: int = 1) -> list[dict[str, float | int | str]]:
    """Every way at every size, after one warm-up round; ``ratio`` = the way's seconds ÷ osm-l2net's at that size."""
    for way in WAYS:  # warm-up: imports, connection pools and helm's first start are not what is measured
        measure(way, 1)
    rows: list[dict[str, float | int | str]] = []
    for n in sizes:
        base = median_of("osm-l2net", n, repeat)
        rows.append({**base, "ratio": 1.0})
        for way in list(WAYS)[1:]:
            if way.startswith("helm") and n > helm_max:
                continue
            r = median_of(way, n, repeat)
            rows.append({**r, "ratio": float(r["seconds"]) / float(base["seconds"])})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,50,500")
    parser.add_argument("--helm-max", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1, help="runs per way and size; the median one is reported")
    args = parser.parse_args()
    rows = compare([int(s) for s in args.sizes.split(",")], args.helm_max, args.repeat)
    print(table(["N", "WAY", "SECONDS", "× osm-l2net", "REQUESTS/NET", "WRITES/NET"],
                [(r["n"], r["way"], f"{r['seconds']:.2f}", f"{r['ratio']:.1f}", f"{r['requests_per_network']:.2f}",
                  f"{r['writes_per_network']:.2f}") for r in rows]))
    print(json.dumps({"bench": "networks", "rows": rows}))


if __name__ == "__main__":
    main()
