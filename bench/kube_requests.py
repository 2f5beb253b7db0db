"""API requests per network for the cluster adapter, against the Kubernetes API test double.

    .venv/bin/python bench/kube_requests.py [--networks 50] [--fault-rate 0.0]

Prints JSON: requests per network (from the emulator's own request log and from ``Cluster.stats``) and wall time
for each phase: create, re-run (idempotent), wait until ready, delete, wait until gone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from osm_l2net.core.plan import LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_VLD_ID, MANAGED_BY, NetworkPlan
from osm_l2net.kube.cluster import Cluster, ClusterAccess, RetryPolicy
from tests.support.k8s_emulator import L2NETWORKS, FaultPlan
from tests.support.k8s_harness import EmulatedCluster


def plan(i: int) -> NetworkPlan:
    labels = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: "bench", LABEL_VLD_ID: f"vl-{i}"}
    cidr = f"10.{i // 256}.{i % 256}.0/24"
    manifest = {"apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "L2Network",
                "metadata": {"name": f"bench-vl-{i}", "labels": labels}, "spec": {"type": "vnet", "networkCIDR": cidr}}
    return NetworkPlan(f"vl-{i}", f"bench-vl-{i}", cidr, "ipv4", None, manifest)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", type=int, default=50)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    nets = [plan(i) for i in range(args.networks)]
    report: dict[str, object] = {"networks": args.networks, "fault_rate": args.fault_rate}
    with EmulatedCluster() as emu:
        emu.operator.start(ready_after=0.05, release_after=0.05)
        if args.fault_rate:
            emu.faults = FaultPlan(seed=1, rate=args.fault_rate, kinds=(500, 429, "timeout"), delay=0.5,
                                   retry_after=0)
        policy = RetryPolicy(base_delay_s=0.02, max_delay_s=0.5, request_timeout_s=0.3 if args.fault_rate else 15)
        with Cluster(ClusterAccess(kubeconfig=str(emu.kubeconfig)), policy=policy, seed=1) as cluster:
            phases = {
                "create": lambda: [cluster.ensure_network(n) for n in nets],
                "rerun": lambda: [cluster.ensure_network(n) for n in nets],
                "wait_ready": lambda: cluster.wait_ready(nets, deadline_s=60),
                "delete": lambda: cluster.delete_networks(nets),
                "wait_gone": lambda: cluster.wait_gone(nets, deadline_s=60),
            }
            for name, run in phases.items():
                before, logged = cluster.stats["total"], len(emu.log)
                started = time.perf_counter()
                run()
                report[name] = {
                    "seconds": round(time.perf_counter() - started, 3),
                    "client_requests_per_network": round((cluster.stats["total"] - before) / len(nets), 3),
                    "server_requests_per_network": round((len(emu.log) - logged) / len(nets), 3),
                }
            report["client_stats"] = dict(cluster.stats)
        report["left_over_networks"] = len(emu.list(L2NETWORKS))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
