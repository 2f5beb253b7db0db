"""Lab benchmark (not a test; needs root): how long ``lab up``/``lab down`` take for the CDN service and for a generated
50-KNF / 20-network topology, and bulk HTTP throughput through the router/firewall versus over a direct bridge in the
same lab (the ratio is the cost of one routed, nftables-filtered hop on veth + bridge). Each up/down is set against
the same namespaces, bridges, veths, addresses and routes made by one ``ip`` command each (a shell-script lab).

    sudo .venv/bin/python bench/lab_bench.py [--size 256MiB] [--repeat 3] [--updown 3]

Each up/down pair and its ``ip`` baseline run ``--updown`` times, interleaved (so both see the same machine load);
the figures are medians. Prints a table and one JSON line (bench/run.py runs this script in a process of its own:
the lab's cost must not depend on how big the process that calls it is).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from osm_l2net import api
from osm_l2net.core.plan import Interface, KduPlan, NetworkPlan, Plan, Route
from osm_l2net.lab import Lab
from osm_l2net.lab.expect import expected_path, expected_ttl
from osm_l2net.lab.inputs import DEFAULT_PACKAGES, DEFAULT_PROFILE, default_path, load_profile_file
from osm_l2net.lab.observe import parse_ping
from osm_l2net.lab.profile import Profile, parse_size
from osm_l2net.lab.spec import build_spec


def generated_plan(knfs: int = 50, networks: int = 20) -> Plan:
    """A chain of ``networks`` subnets joined by ``networks - 1`` routers; the other KNFs are hosts spread over them."""
    nets = tuple(NetworkPlan(f"net{i}", f"bench-net{i}", f"10.60.{i}.0/24", "ipv4", None, {"kind": "L2Network"})
                 for i in range(networks))
    kdus: list[KduPlan] = []
    for r in range(networks - 1):  # router r joins net r (.1) and net r+1 (.2)
        kdus.append(_kdu(f"router{r}", [(f"net{r}", f"10.60.{r}.1/24"), (f"net{r + 1}", f"10.60.{r + 1}.2/24")],
                         _chain_routes(r, networks), forwarding=True))
    for h in range(knfs - (networks - 1)):
        n = h % networks
        gw = f"10.60.{n}.1" if n < networks - 1 else f"10.60.{n}.2"
        kdus.append(_kdu(f"host{h}", [(f"net{n}", f"10.60.{n}.{10 + h}/24")], [Route("10.60.0.0/16", gw, "net1")]))
    return Plan("bench-50-knf", "bench", "bench_ns", "default", "l2sm", nets, tuple(kdus))


def _chain_routes(r: int, networks: int) -> list[Route]:
    """Router r: everything above net r+1 via router r+1 (10.60.{r+1}.1), everything below net r via router r-1."""
    routes = []
    if r + 1 < networks - 1:
        upper = ipaddress.collapse_addresses(ipaddress.IPv4Network(f"10.60.{j}.0/24") for j in range(r + 2, networks))
        routes += [Route(str(n), f"10.60.{r + 1}.1", "net2") for n in upper]
    if r > 0:
        lower = ipaddress.collapse_addresses(ipaddress.IPv4Network(f"10.60.{j}.0/24") for j in range(r))
        routes += [Route(str(n), f"10.60.{r}.2", "net1") for n in lower]
    return routes


def _kdu(name: str, ifaces: list[tuple[str, str]], routes: list[Route], forwarding: bool = False) -> KduPlan:
    interfaces = tuple(Interface(f"net{i + 1}", vld, f"bench-{vld}", f"cp{i + 1}", ip)
                       for i, (vld, ip) in enumerate(ifaces))
    return KduPlan(name, name, name, None, None, None, "default", 1, forwarding, interfaces, tuple(routes), {}, {}, {})


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def up_down(name: str, plan: Plan, profile: Profile, probe: tuple[str, str] | None = None) -> tuple[float, float, str]:
    """Time up and down; in between, ping ``probe`` = (member, address) and compare the TTL with the plan's path."""
    lab = Lab(name)
    lab.down()
    seen = ""
    try:
        up = timed(lambda: lab.up(plan, profile))
        if probe:
            path = expected_path(plan, *probe)
            out = lab.exec(probe[0], ["ping", "-n", "-c", "1", "-W", "5", probe[1]], 20, True).stdout
            seen = f"{len(path)} hops: {parse_ping(out)} (expected ttl={expected_ttl(path)})"
    finally:
        down = timed(lab.down)
    return up, down, seen


def throughput(size: int, repeat: int) -> dict[str, float]:
    """Bytes/s of one HTTP GET of the content file: cache → router → content server, and router → content server
    (same bridge, no forwarding), unshaped."""
    plan = api.plan([str(default_path(DEFAULT_PACKAGES))], ns_name="bench-throughput")
    profile = load_profile_file(default_path(DEFAULT_PROFILE)).with_content(size=size, rate_bps=0).with_pull("manual")
    lab = Lab("benchtp")
    lab.down()
    try:
        lab.up(plan, profile)
        url = f"http://10.0.2.10/{profile.members[0].file}"
        measure = {"routed": "cdn-server", "direct": "router-firewall"}
        samples: dict[str, list[float]] = {k: [] for k in measure}
        for _ in range(repeat):
            for key, member in measure.items():
                out = lab.exec(member, ["curl", "-sS", "-o", "/dev/null", "-w", "%{speed_download}", url], 300, True)
                samples[key].append(float(out.stdout or 0))
        return {k: statistics.median(v) for k, v in samples.items()}
    finally:
        lab.down()


def ip_script(plan: Plan, profile: Profile) -> tuple[float, float]:
    """The baseline for ``lab up``/``down``: the same namespaces, bridges, veths, addresses and routes (build_spec's
    names, lab ``benchsh``) made by one ``ip`` command each, as a hand-written shell-script lab does; no KNF processes,
    no firewall. Returns (up, down) seconds."""
    spec = build_spec("benchsh", plan, profile)
    up: list[list[str]] = [["ip", "netns", "add", n] for n in spec.netns_names]
    for b in spec.bridges:
        up += [["ip", "-n", spec.switch, "link", "add", b.name, "type", "bridge"],
               ["ip", "-n", spec.switch, "link", "set", b.name, "up"]]
    for pod in spec.pods:
        for link in pod.links:
            up += [["ip", "-n", pod.netns, "link", "add", link.ifname, "type", "veth", "peer", "name", link.peer,
                    "netns", spec.switch],
                   ["ip", "-n", spec.switch, "link", "set", link.peer, "master", link.bridge, "up"],
                   ["ip", "-n", pod.netns, "link", "set", link.ifname, "up"]]
            up += [["ip", "-n", pod.netns, "addr", "add", link.ip, "dev", link.ifname]] if link.ip else []
        up += [["ip", "-n", pod.netns, "route", "add", r.to, "via", r.via] for r in pod.routes]
        up += [["ip", "netns", "exec", pod.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]] if pod.forwarding else []
    down = [["ip", "netns", "del", n] for n in reversed(spec.netns_names)]
    Lab("benchsh").down()
    try:
        return timed(lambda: [subprocess.run(a, check=True, capture_output=True) for a in up]), \
            timed(lambda: [subprocess.run(a, check=True, capture_output=True) for a in down])
    finally:
        Lab("benchsh").down()


def compare(prefix: str, lab: str, plan: Plan, profile: Profile, runs: int, rows: dict[str, Any],
            probe: tuple[str, str] | None = None) -> None:
    """``runs`` × (lab up/down, then the ``ip`` script), medians into ``rows`` (every sample under ``samples``)."""
    samples: dict[str, list[float]] = {k: [] for k in ("up_s", "down_s", "ip_script_up_s", "ip_script_down_s")}
    for _ in range(runs):
        up, down, seen = up_down(lab, plan, profile, probe)
        ip_up, ip_down = ip_script(plan, profile)
        for key, value in zip(samples, (up, down, ip_up, ip_down), strict=True):
            samples[key].append(value)
        if probe:
            rows[f"{prefix}_probe"] = seen
    for key, values in samples.items():
        rows[f"{prefix}_{key}"] = statistics.median(values)
    rows.setdefault("samples", {})[prefix] = {k: [round(v, 4) for v in vs] for k, vs in samples.items()}


def measure(size: int, repeat: int, updown: int = 3) -> dict[str, Any]:
    """Up/down of the CDN service and of the generated topology, each with its ``ip`` script baseline, then
    throughput routed vs direct."""
    cdn_plan = api.plan([str(default_path(DEFAULT_PACKAGES))], ns_name="bench-cdn")
    cdn_profile = load_profile_file(default_path(DEFAULT_PROFILE)).with_content(size=4 * 2**20).with_pull("manual")
    big = generated_plan()
    rows: dict[str, Any] = {"updown_runs": updown}
    compare("cdn", "benchcdn", cdn_plan, cdn_profile, updown, rows)
    far = next(k for k in reversed(big.kdus) if k.interfaces[0].vld_id == big.networks[-1].vld_id)
    compare("gen", "benchgen", big, Profile(), updown, rows, ("host0", str(far.interfaces[0].address)))
    rows["gen_knfs"], rows["gen_networks"] = len(big.kdus), len(big.networks)
    tp = throughput(size, repeat)
    rows["routed_MBps"], rows["direct_MBps"] = tp["routed"] / 1e6, tp["direct"] / 1e6
    rows["routed_over_direct"] = tp["routed"] / tp["direct"] if tp["direct"] else 0.0
    rows["bench_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="256MiB", help="file size for the throughput test")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs")
    parser.add_argument("--updown", type=int, default=3, help="up/down runs of each topology (and of its baseline)")
    args = parser.parse_args()
    rows = measure(parse_size(args.size, "--size"), args.repeat, args.updown)
    print(f"{'metric':<28}value")
    for key, value in rows.items():
        if key == "samples":
            continue
        print(f"{key:<28}{value:.3f}" if isinstance(value, float) else f"{key:<28}{value}")
    print(json.dumps({"bench": "lab", **{k: round(v, 4) if isinstance(v, float) else v for k, v in rows.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
