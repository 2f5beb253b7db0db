"""Multi-replica KDUs in the lab: a namespace per replica, each addressed from its network's pool as L2S-M's IPAM
addresses pods (base + 1, then last + 1, never reused, never wrapping), scaled to any count the pool can still address.

Addresses, routes and links are read back with iproute2 (not with the lab's own code)."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from osm_l2net import api
from osm_l2net.cli.lab import lab as lab_cli
from osm_l2net.core.plan import Plan
from osm_l2net.lab import Lab
from osm_l2net.lab.inputs import REPO
from osm_l2net.lab.profile import Profile
from osm_l2net.lab.spec import LabConflict
from tests.lab.leftovers import kill_up_after, leftovers, netns_of
from tests.lab.plans import replica_chain_plan

pytestmark = pytest.mark.lab

TWO_ROUTERS = REPO / "examples" / "two_routers"
CONFIG = ("{additionalParamsForVnf: [{member-vnf-index: server, additionalParamsForKdu: "
          "[{kdu_name: host, additionalParams: {replicaCount: 3}}]}]}")
EMPTY_PROFILE = "schema: osm-l2net.etsi.org/lab-profile/v1\nmembers: {}\n"


def ip_json(netns: str, *args: str) -> list[dict[str, object]]:
    out = subprocess.run(["ip", "-n", netns, "-j", *args], capture_output=True, text=True, check=True).stdout
    data: list[dict[str, object]] = json.loads(out)
    return data


def addresses_of(netns: str, ifname: str = "net1") -> list[str]:
    links = [li for li in ip_json(netns, "addr", "show", "dev", ifname)]
    infos: list[dict[str, object]] = [a for li in links for a in li["addr_info"]]  # type: ignore[attr-defined]
    return [f"{a['local']}/{a['prefixlen']}" for a in infos if a["family"] == "inet"]


def routes_of(netns: str) -> set[tuple[str, str, str]]:
    return {(str(r["dst"]), str(r["gateway"]), str(r["dev"])) for r in ip_json(netns, "route", "show") if "gateway" in r}


def ping(netns: str, address: str) -> subprocess.CompletedProcess[str]:
    argv = ["ip", "netns", "exec", netns, "ping", "-n", "-c", "1", "-W", "2", address]
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)


def server_netns(lab: str) -> list[str]:
    return sorted(n for n in netns_of(lab) if n.startswith(f"l2n-{lab}-server"))


def switch_veths(lab: str) -> list[str]:
    return sorted(str(li["ifname"]) for li in ip_json(f"l2n-{lab}", "link", "show", "type", "veth"))


def assert_plan_routes(lab: str, plan: Plan) -> None:
    """Every pod (every replica) has exactly the routes its KDU's plan gives."""
    for kdu in plan.kdus:
        want = {(r.to, r.via, r.dev) for r in kdu.routes}
        for ns in netns_of(lab):
            if ns == f"l2n-{lab}-{kdu.member_vnf_index}" or ns.startswith(f"l2n-{lab}-{kdu.member_vnf_index}-"):
                assert routes_of(ns) == want, ns


def test_three_replicas_planned_from_descriptors_with_config(lab_name: str, tmp_path: Path) -> None:
    """``lab up --config`` (osmclient form, replicaCount 3): three namespaces, the first three addresses of the
    plan's pool, each one pingable from router-2 on the same network; every plan route in place; down: nothing left."""
    profile = tmp_path / "profile.yaml"
    profile.write_text(EMPTY_PROFILE)
    plan = api.plan([str(TWO_ROUTERS)], ns_name="replicas", config={"additionalParamsForVnf": [
        {"member-vnf-index": "server", "additionalParamsForKdu": [
            {"kdu_name": "host", "additionalParams": {"replicaCount": 3}}]}]})
    net_c = plan.network("net-c")
    assert net_c is not None and net_c.pod_address_range is not None
    pool = ipaddress.ip_network(net_c.pod_address_range)
    runner = CliRunner()
    up = runner.invoke(lab_cli, ["up", str(TWO_ROUTERS), "--config", CONFIG, "--ns-name", "replicas",
                                 "--profile", str(profile), "--lab", lab_name])
    assert up.exit_code == 0, up.output
    names = [f"l2n-{lab_name}-server", f"l2n-{lab_name}-server-2", f"l2n-{lab_name}-server-3"]
    assert server_netns(lab_name) == names
    got = [addresses_of(ns) for ns in names]
    assert got == [[f"{pool.network_address + i}/24"] for i in (1, 2, 3)]  # L2S-M: base + 1, then last + 1
    for (address,), ns in zip(got, names, strict=True):
        assert ipaddress.ip_interface(address).ip in pool
        assert ping(f"l2n-{lab_name}-router-2", address.split("/")[0]).returncode == 0, ns
    assert_plan_routes(lab_name, plan)
    status = runner.invoke(lab_cli, ["status", "--lab", lab_name, "-o", "json"])
    assert status.exit_code == 0, status.output
    rows = [p for p in json.loads(status.stdout)["pods"] if p["pod"] == "server/host"]
    assert [(p["replica"], p["netns"], p["addresses"], p["up"]) for p in rows] == [
        (i + 1, ns, {"net1": a[0]}, True) for i, (ns, a) in enumerate(zip(names, got, strict=True))]
    table = runner.invoke(lab_cli, ["status", "--lab", lab_name])
    assert [line.split()[3] for line in table.stdout.splitlines() if line.startswith("server/host")] == \
        ["1/3", "2/3", "3/3"]
    assert runner.invoke(lab_cli, ["down", "--lab", lab_name]).exit_code == 0
    assert leftovers(lab_name) == {}


def test_scale_3_1_3_takes_fresh_addresses_until_the_pool_runs_dry(lab_name: str) -> None:
    """3 → 1 → 3 uses five addresses (never one twice); the client reaches every replica over two routers (the
    replicas' routes are the plan's); a scale-down leaves no namespace, veth or process; the pool's last address is
    handed out, one more is refused."""
    plan = replica_chain_plan(3, pool="10.9.3.32/29")  # capacity 7: .33 … .39
    lab = Lab(lab_name)
    lab.up(plan, Profile())
    veths = switch_veths(lab_name)

    def server_addresses() -> list[str]:
        return [addresses_of(ns)[0] for ns in server_netns(lab_name)]

    def reach_all() -> None:
        for address in server_addresses():
            done = ping(f"l2n-{lab_name}-client", address.split("/")[0])
            assert done.returncode == 0 and "ttl=62" in done.stdout, (address, done.stdout)

    assert server_addresses() == ["10.9.3.33/24", "10.9.3.34/24", "10.9.3.35/24"]
    reach_all()
    lab.scale("server", 1)
    assert server_netns(lab_name) == [f"l2n-{lab_name}-server"]
    assert len(switch_veths(lab_name)) == len(veths) - 2  # the two replicas' switch ports are gone with them
    assert ping(f"l2n-{lab_name}-client", "10.9.3.34").returncode != 0
    lab.scale("server", 3)
    assert server_addresses() == ["10.9.3.33/24", "10.9.3.36/24", "10.9.3.37/24"]  # fresh, never .34/.35 again
    assert switch_veths(lab_name) == veths  # same names (replica i's), new pairs
    reach_all()
    assert_plan_routes(lab_name, plan)
    lab.scale("server", 5)
    assert server_addresses()[3:] == ["10.9.3.38/24", "10.9.3.39/24"]  # .39: the block's last address is used too
    with pytest.raises(LabConflict, match="has 0 left of 7"):
        lab.scale("server", 6)
    assert len(server_netns(lab_name)) == 5
    lab.scale("server", 0)
    assert server_netns(lab_name) == []
    with pytest.raises(LabConflict, match="never reused"):
        lab.scale("server", 1)  # all seven were used once: L2S-M never frees an address
    lab.down()
    assert leftovers(lab_name) == {}


def _state(lab: str) -> str:
    return Path(f"/run/osm-l2net/lab/{lab}.json").read_text()


def _snapshot(lab: str) -> tuple[list[str], list[list[str]], list[str], str]:
    return (netns_of(lab), [addresses_of(ns) for ns in server_netns(lab)], switch_veths(lab), _state(lab))


def test_beyond_the_pool_and_a_pinned_kdu_are_refused_with_nothing_changed(lab_name: str) -> None:
    Lab(lab_name).up(replica_chain_plan(3, pool="10.9.3.32/29"), Profile())
    before = _snapshot(lab_name)
    runner = CliRunner()
    beyond = runner.invoke(lab_cli, ["scale", "server", "--replicas", "8", "--lab", lab_name])
    assert beyond.exit_code == 3, beyond.output
    assert "5 new replica(s) need 5 address(es) from its pool 10.9.3.32/29, which has 4 left of 7" in beyond.output
    assert "Traceback" not in beyond.output
    pinned = runner.invoke(lab_cli, ["scale", "client", "--replicas", "2", "--lab", lab_name])
    assert pinned.exit_code == 2, pinned.output
    assert "10.9.1.10/24" in pinned.output and "every replica would get" in pinned.output
    assert _snapshot(lab_name) == before
    ok = runner.invoke(lab_cli, ["scale", "server", "--replicas", "7", "--lab", lab_name])  # exactly what is left
    assert ok.exit_code == 0, ok.output
    assert "10.9.3.39/24" in ok.stdout
    assert len(server_netns(lab_name)) == 7


def test_up_again_keeps_the_replicas_addresses_and_the_plans_count_wins(lab_name: str) -> None:
    """A second ``up`` (as ``helm upgrade`` with the same values): replicas kept with their addresses, those a scale
    added beyond the plan's count removed, no address used."""
    plan = replica_chain_plan(3, pool="10.9.3.32/28")
    lab = Lab(lab_name)
    lab.up(plan, Profile())
    lab.scale("server", 5)
    assert len(server_netns(lab_name)) == 5
    lab.up(plan, Profile())
    assert [addresses_of(ns) for ns in server_netns(lab_name)] == [[f"10.9.3.{i}/24"] for i in (33, 34, 35)]
    lab.scale("server", 4)
    assert addresses_of(f"l2n-{lab_name}-server-4") == ["10.9.3.38/24"]  # .36, .37 went with the replicas 4, 5
    assert [p["replica"] for p in lab.status()["pods"] if p["pod"] == "server/server"] == [1, 2, 3, 4]


def test_exec_in_a_replica(lab_name: str) -> None:
    Lab(lab_name).up(replica_chain_plan(2), Profile())
    argv = [sys.executable, "-m", "osm_l2net.cli", "lab", "exec", "--lab", lab_name, "--replica", "2", "server", "--",
            "ip", "-br", "addr", "show", "dev", "net1"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "10.9.3.34/24" in done.stdout, done.stderr
    argv[argv.index("2")] = "3"
    missing = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert missing.returncode == 1 and "no replica 3" in missing.stderr


@pytest.mark.parametrize("steps", [6, 7])
def test_killed_up_of_replicas_is_cleaned_by_down(lab_name: str, tmp_path: Path, steps: int) -> None:
    """SIGKILL while the server's replicas are being made (step 6: replica 1's namespace, 7: replica 2's)."""
    plan_file, profile = tmp_path / "plan.json", tmp_path / "profile.yaml"
    plan_file.write_text(json.dumps(replica_chain_plan(3).as_dict()))
    profile.write_text(EMPTY_PROFILE)
    argv = [sys.executable, "-m", "osm_l2net.cli", "lab", "up", str(plan_file), "--lab", lab_name,
            "--profile", str(profile)]
    kill_up_after(lab_name, argv, steps)
    assert netns_of(lab_name), "the kill left a half-built lab behind (otherwise this test proves nothing)"
    Lab(lab_name).down()
    assert leftovers(lab_name) == {}


def test_the_scenario_passes_beside_a_replicated_kdu_and_reports_each_replica(lab_name: str, tmp_path: Path) -> None:
    """The CDN scenario with a third KDU of two replicas on the cache's network: its checks all pass (the replicas
    change nothing of the path), and the report (JSON and page) shows each replica with the address it was given."""
    from dataclasses import replace

    from osm_l2net.lab.inputs import DEFAULT_PROFILE, default_path, load_profile_file
    from osm_l2net.lab.scenario import run_scenario
    from tests.lab.plans import cdn_plan, kdu

    base = cdn_plan()
    nets = tuple(replace(n, pod_address_range="10.0.1.64/28", pod_address_capacity=15)
                 if n.vld_id == "my-first-osm-net" else n for n in base.networks)
    viewer = replace(kdu("viewer", [("my-first-osm-net", None)], ns_id=base.ns_id), replicas=2)
    plan = replace(base, networks=nets, kdus=(*base.kdus, viewer))
    profile = load_profile_file(default_path(DEFAULT_PROFILE)).with_timings(isolation_instance=False, down_seconds=2)
    profile = profile.with_content(size=384 * 1024)  # at the profile's 1600 kbit: the cut-off lands mid-download
    report = run_scenario(plan, profile, lab_name, progress=lambda _: None,
                          report_path=[tmp_path / "report.json", tmp_path / "report.html"])
    assert report.ok, report.table()
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["replicas"] == {"viewer/viewer": [
        {"replica": 1, "netns": f"l2n-{lab_name}-viewer", "up": True, "addresses": {"net1": "10.0.1.65/24"}},
        {"replica": 2, "netns": f"l2n-{lab_name}-viewer-2", "up": True, "addresses": {"net1": "10.0.1.66/24"}}]}
    page = (tmp_path / "report.html").read_text()
    assert "replica 1: net1 10.0.1.65/24<br>replica 2: net1 10.0.1.66/24" in page
    assert "replica pool 10.0.1.64/28 (15 addresses)" in page
    assert leftovers(lab_name) == {}


def test_up_with_another_pool_is_refused_before_anything_changes(lab_name: str) -> None:
    """Another replicaCount plans another block; L2S-M's network is never patched, so neither is the lab's pool."""
    lab = Lab(lab_name)
    lab.up(replica_chain_plan(3, pool="10.9.3.32/29"), Profile())
    before = _snapshot(lab_name)
    with pytest.raises(LabConflict, match=re.escape("hands out addresses from 10.9.3.32/29, the plan says 10.9.3.64/27")):
        lab.up(replica_chain_plan(3, pool="10.9.3.64/27"), Profile())
    assert _snapshot(lab_name) == before
