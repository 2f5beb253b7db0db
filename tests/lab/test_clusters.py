"""One NS on several lab clusters (issue 12, bullet 3): a switch namespace per cluster, a stretched link's bridges
joined by VXLAN over a routed WAN namespace; the inter-cluster link cut and restored; nothing left behind."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from osm_l2net import api
from osm_l2net.core.errors import LabError
from osm_l2net.core.model import NsInstance
from osm_l2net.core.options import InterClusterProvider, PlanOptions
from osm_l2net.core.params import parse_params
from osm_l2net.core.plan import Plan
from osm_l2net.core.planner import build_plan
from osm_l2net.lab import Lab
from osm_l2net.lab.expect import expected_ttl
from osm_l2net.lab.inputs import DEFAULT_PROFILE, REPO, default_path
from osm_l2net.lab.observe import parse_ping
from osm_l2net.lab.profile import Profile
from tests.lab.leftovers import alive, kill_up_after, leftovers, netns_of, pids_in
from tests.lab.plans import check_client_reaches_server
from tests.support.descriptors import descriptors, service_docs

pytestmark = pytest.mark.lab

CDN_FLAGS = ["--cluster", "cdn-server=edge", "--cluster", "router-firewall=core", "--cluster", "content-server=core",
             "--inter-cluster-provider", "idco=10.0.0.5"]
IDCO = InterClusterProvider("idco", "10.0.0.5")
CLI = [sys.executable, "-m", "osm_l2net.cli", "lab"]


def _cdn_plan() -> Plan:
    return api.plan([str(p) for p in sorted((REPO / "descriptors").iterdir()) if p.is_dir()], ns_name="vod-mc",
                    options=PlanOptions(placement={"cdn-server": "edge", "router-firewall": "core",
                                                   "content-server": "core"}, inter_cluster=IDCO))


def _three_cluster_plan() -> Plan:
    nsd, vnfds = service_docs(1, 1, 3, pin_every=0)  # one link, three KNFs on it
    return build_plan(descriptors(nsd, vnfds), NsInstance("gen-3c", "gen-3c", "gen", parse_params({})),
                      PlanOptions(placement={"g0-k0": "east", "g0-k1": "west", "g0-k2": "north"}, inter_cluster=IDCO))


def _ping(lab: Lab, member: str, dst: str, *extra: str) -> int:
    out = lab.exec(member, ["ping", "-n", "-c", "1", "-W", "1", *extra, dst], timeout=10, capture=True)
    return parse_ping(out.stdout).received


def _fast_profile(tmp_path: Path) -> Path:
    data = yaml.safe_load(default_path(DEFAULT_PROFILE).read_text())
    data["scenario"].update({"down-seconds": 2, "cutoff-at": 0.25, "download-timeout": 60})
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_lab_run_of_the_cdn_on_two_clusters_passes_with_the_inter_cluster_cut(lab_name: str, tmp_path: Path) -> None:
    """The cache at the edge, the router and the content server in the core: the PoC's checks hold across the
    clusters, and cutting the inter-cluster link stalls the download until it is restored."""
    report_file = tmp_path / "report.json"
    argv = [*CLI, "run", "--lab", lab_name, "--size", "1536KiB", "--profile", str(_fast_profile(tmp_path)),
            *CDN_FLAGS, "--report", str(report_file)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(report_file.read_text())
    checks = {c["name"]: c for c in report["checks"]}
    assert all(c["ok"] for c in checks.values()), done.stdout
    assert checks["ping 10.0.2.10 from cdn-server"]["observed"] == "3/3 received, 0% loss, ttl=63"
    assert checks["traceroute -n -I 10.0.2.10"]["observed"] == "10.0.1.1 > 10.0.2.10"
    assert checks["transfer while router-firewall is down"]["observed"] == "stalled (+0 bytes)"
    assert checks["lab link edge core --down"]["observed"] == "cut"
    assert checks["cdn-server -> 10.0.2.10 without the inter-cluster link"]["observed"] == "unreachable"
    assert checks["transfer while edge <-> core is cut"]["observed"] == "stalled (+0 bytes)"
    assert checks["lab link edge core --up: transfer resumes"]["ok"]
    assert checks["sha256 of the cached video.avi"]["ok"]
    assert "wan_resume_seconds" in report["facts"]
    assert leftovers(lab_name) == {}
    assert leftovers(f"{lab_name}_b") == {}


def test_one_link_on_three_clusters_every_knf_reaches_every_other(lab_name: str) -> None:
    plan = _three_cluster_plan()
    lab = Lab(lab_name)
    spec = lab.up(plan, Profile())
    addr = {k.member_vnf_index: k.interfaces[0].address for k in plan.kdus}
    assert {p.member: spec.switch_of(p) for p in spec.pods} == {
        m: f"l2n-{lab_name}-@{c}" for m, c in (("g0-k0", "east"), ("g0-k1", "west"), ("g0-k2", "north"))}
    for a, b in itertools.permutations(addr, 2):
        assert _ping(lab, a, str(addr[b])) == 1, f"{a} cannot reach {b} at {addr[b]}"
    # a full 1500-byte frame crosses (the underlay carries the 50 bytes of VXLAN), with DF set
    assert _ping(lab, "g0-k0", str(addr["g0-k2"]), "-M", "do", "-s", "1472") == 1
    for c in spec.clusters:  # the kernel's VXLAN, one VNI for the link, in every cluster's switch
        shown = subprocess.run(["ip", "-n", c.switch, "-d", "-o", "link", "show", "type", "vxlan"],
                               capture_output=True, text=True, check=True).stdout
        assert " vxlan id 100 " in shown and f"local {c.ip}" in shown
    status = lab.status()
    assert [p["cluster"] for p in status["pods"]] == ["east", "west", "north"]
    assert sorted(s["state"] for s in status["inter_cluster_links"]) == ["up", "up", "up"]

    lab.link("east", "west", up=False)  # one pair cut: the others keep their underlay
    assert _ping(lab, "g0-k0", str(addr["g0-k1"])) == 0
    assert _ping(lab, "g0-k1", str(addr["g0-k0"])) == 0
    assert _ping(lab, "g0-k0", str(addr["g0-k2"])) == 1
    assert _ping(lab, "g0-k1", str(addr["g0-k2"])) == 1
    states = {tuple(s["clusters"]): s["state"] for s in lab.status()["inter_cluster_links"]}
    assert states == {("east", "north"): "up", ("east", "west"): "cut", ("north", "west"): "up"}
    lab.link("west", "east", up=True)
    assert _ping(lab, "g0-k0", str(addr["g0-k1"])) == 1
    lab.down()
    assert leftovers(lab_name) == {}


def test_the_cli_cuts_restores_and_shows_the_inter_cluster_link(lab_name: str, tmp_path: Path) -> None:
    env = {**os.environ, "OSM_L2NET_LAB": lab_name}
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, check=False, env=env)

    up = cli("up", "--size", "64KiB", *CDN_FLAGS)
    assert up.returncode == 0, up.stderr
    assert "on 2 clusters (core, edge)" in up.stdout
    table = cli("status").stdout
    assert "core <-> edge" in table and " up " in table and "CLUSTER" in table
    cut = cli("link", "edge", "core", "--down")
    assert (cut.returncode, cut.stdout.strip()) == (0, "inter-cluster link core <-> edge: cut")
    gone = cli("exec", "cdn-server", "--", "ping", "-c", "1", "-W", "1", "10.0.2.10")
    assert gone.returncode != 0
    shown = json.loads(cli("status", "-o", "json").stdout)
    assert [(li["clusters"], li["state"], li["vni"]) for li in shown["inter_cluster_links"]] == [
        (["core", "edge"], "cut", [100])]
    assert {p["pod"]: p["cluster"] for p in shown["pods"]}["cdn-server/cdn-server"] == "edge"
    back = cli("link", "edge", "core", "--up", "-o", "json")
    assert json.loads(back.stdout)["state"] == "up"
    assert cli("exec", "cdn-server", "--", "ping", "-c", "1", "-W", "2", "10.0.2.10").returncode == 0
    wrong = cli("link", "edge", "mars", "--down")
    assert wrong.returncode == 2 and "no inter-cluster link" in wrong.stderr and "Traceback" not in wrong.stderr
    assert cli("down").returncode == 0
    assert leftovers(lab_name) == {}


def test_a_plan_file_cannot_be_placed_again(lab_name: str, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(_cdn_plan().as_dict()))
    done = subprocess.run([*CLI, "up", str(plan_file), "--lab", lab_name, *CDN_FLAGS], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--cluster cannot place it" in done.stderr
    assert leftovers(lab_name) == {}


@pytest.mark.parametrize(("steps", "lose_state"), [(2, False), (3, False), (4, False), (6, False), (4, True)])
def test_a_killed_up_of_a_placed_plan_is_cleaned_by_down(lab_name: str, tmp_path: Path, steps: int,
                                                         lose_state: bool) -> None:
    """Killed while making the WAN (2), a cluster's switch (3, 4) or the pods (6): down removes it all, the
    cluster switches, uplinks and tunnels too, also without the state file."""
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(_cdn_plan().as_dict()))
    state = Path(f"/run/osm-l2net/lab/{lab_name}.json")
    kill_up_after(lab_name, [*CLI, "up", str(plan_file), "--lab", lab_name, "--size", "64KiB"], steps)
    assert leftovers(lab_name), "the kill left nothing behind (otherwise this test proves nothing)"
    if steps >= 4:
        assert any("@" in n for n in netns_of(lab_name))  # a cluster switch was made
    running = pids_in(lab_name)
    if lose_state:
        state.unlink()
    Lab(lab_name).down()
    assert leftovers(lab_name) == {}
    assert alive(running) == set()


def test_two_routers_on_three_clusters_route_over_two_stretched_links(lab_name: str) -> None:
    """examples/two_routers with each hop on another cluster: two stretched links, a VNI each; the routes and the
    TTL are the single-cluster plan's, and each inter-cluster link carries its own link only."""
    plan = api.plan([str(REPO / "examples" / "two_routers")], ns_name="two-routers-mc", options=PlanOptions(
        placement={"client": "east", "router-1": "east", "router-2": "west", "server": "north"}, inter_cluster=IDCO))
    lab = Lab(lab_name)
    lab.up(plan, Profile())
    dst, path = check_client_reaches_server(lab, plan)
    assert expected_ttl(path) == 62 and len(path) == 3
    links = {tuple(s["clusters"]): (s["links"], s["vni"]) for s in lab.status()["inter_cluster_links"]}
    assert links == {("east", "west"): (["net-b"], [100]), ("west", "north"): (["net-c"], [101])}
    lab.link("north", "west", up=False)  # the server's side: the client still reaches router-2, not the server
    assert _ping(lab, "client", "10.1.2.2") == 1
    assert _ping(lab, "client", dst) == 0
    lab.link("north", "west", up=True)
    assert _ping(lab, "client", dst) == 1


def test_a_re_up_restores_a_cut_link_and_another_layout_is_refused(lab_name: str) -> None:
    placed = _cdn_plan()
    lab = Lab(lab_name)
    lab.up(placed, Profile())
    assert lab.link("core", "edge", up=False)["state"] == "cut"
    lab.up(placed, Profile())  # as a re-up brings back a pod scaled to 0
    assert [s["state"] for s in lab.status()["inter_cluster_links"]] == ["up"]
    assert _ping(lab, "cdn-server", "10.0.2.10") == 1
    single = replace(placed, networks=tuple(replace(n, cluster="") for n in placed.links()),
                     kdus=tuple(replace(k, cluster="") for k in placed.kdus))
    with pytest.raises(LabError, match=r"on clusters core, edge, not \(default\); run 'lab down' first"):
        lab.up(single, Profile())
    lab.down()
    assert leftovers(lab_name) == {}
