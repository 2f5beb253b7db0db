"""A plan realised with real netlink objects, verified with iproute2 (not with the lab's own code), and removed."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from osm_l2net.lab import Lab, build_spec
from osm_l2net.lab.inputs import DEFAULT_PROFILE, default_path, load_profile_file
from osm_l2net.lab.profile import Profile
from tests.lab.leftovers import alive, leftovers, pids_in
from tests.lab.plans import cdn_plan

pytestmark = pytest.mark.lab


def ip_json(netns: str, *args: str) -> list[dict[str, object]]:
    out = subprocess.run(["ip", "-n", netns, "-j", *args], capture_output=True, text=True, check=True).stdout
    data: list[dict[str, object]] = json.loads(out)
    return data


def in_ns(netns: str, *argv: str) -> subprocess.CompletedProcess[str]:
    argv_ = ["ip", "netns", "exec", netns, *argv]
    return subprocess.run(argv_, capture_output=True, text=True, timeout=30, check=False)


def test_plan_is_realised_as_planned(lab_name: str) -> None:
    plan = cdn_plan()
    spec = Lab(lab_name).up(plan, Profile())
    for kdu in plan.kdus:
        pod = spec.pod(kdu.member_vnf_index)
        links = {str(li["ifname"]): li for li in ip_json(pod.netns, "addr", "show") if li["ifname"] != "lo"}
        assert sorted(links) == [i.name for i in kdu.interfaces]
        for iface, link in zip(kdu.interfaces, pod.links, strict=True):
            addrs = [f"{a['local']}/{a['prefixlen']}" for a in links[iface.name]["addr_info"] if a["family"] == "inet"]
            assert addrs == [iface.ip]
            assert links[iface.name]["address"] == link.mac
        routes = {str(r["dst"]): r for r in ip_json(pod.netns, "route", "show")}
        for route in kdu.routes:
            assert routes[route.to]["gateway"] == route.via and routes[route.to]["dev"] == route.dev
        forward = in_ns(pod.netns, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip()
        assert forward == ("1" if kdu.forwarding else "0")
    bridges = {str(b["ifname"]) for b in ip_json(spec.switch, "link", "show", "type", "bridge")}
    assert bridges == {b.name for b in spec.bridges}
    nf = in_ns(spec.switch, "cat", "/proc/sys/net/bridge/bridge-nf-call-iptables")
    assert nf.stdout.strip() in ("0", "")  # off in the lab's switch, whatever the host says


def test_up_is_idempotent_and_down_leaves_nothing(lab_name: str) -> None:
    lab = Lab(lab_name)
    profile = load_profile_file(default_path(DEFAULT_PROFILE)).with_content(size=64 * 1024)
    lab.up(cdn_plan(), profile)
    spec = lab.up(cdn_plan(), profile)  # again: everything exists → made so, verified
    cache = spec.pod("cdn-server").netns
    assert in_ns(cache, "ping", "-c", "1", "-W", "2", "10.0.2.10").returncode == 0
    assert len(lab.status()["pods"]) == len(spec.pods)
    running = pids_in(lab_name)
    assert running, "nginx and the cache agent run inside the lab's namespaces"
    done = lab.down()
    assert set(done["netns"]) == set(spec.netns_names)
    assert leftovers(lab_name) == {}
    assert alive(running) == set()


def test_a_recreated_pod_keeps_its_macs(lab_name: str) -> None:
    lab = Lab(lab_name)
    spec = lab.up(cdn_plan(), Profile())
    router = spec.pod("router-firewall")
    before = {li["ifname"]: li["address"] for li in ip_json(router.netns, "link", "show")}
    lab.scale("router-firewall", 0)
    assert router.netns not in subprocess.run(["ip", "netns"], capture_output=True, text=True, check=True).stdout
    assert in_ns(spec.pod("cdn-server").netns, "ping", "-c", "1", "-W", "1", "10.0.2.10").returncode != 0
    lab.scale("router-firewall", 1)
    after = {li["ifname"]: li["address"] for li in ip_json(router.netns, "link", "show")}
    assert before == after
    assert in_ns(spec.pod("cdn-server").netns, "ping", "-c", "1", "-W", "2", "10.0.2.10").returncode == 0


def test_the_lab_spec_matches_what_status_reports(lab_name: str) -> None:
    lab = Lab(lab_name)
    lab.up(cdn_plan(), Profile())
    status = lab.status()
    spec = build_spec(lab_name, cdn_plan(), Profile())
    assert [p["netns"] for p in status["pods"]] == [p.netns for p in spec.pods]
    assert all(p["up"] and p["replicas"] == 1 for p in status["pods"])


def test_up_and_down_fork_no_helper_per_namespace(lab_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyroute2 enters a namespace through a forked helper (``IPRoute(netns=…)``, ``netns.create``): 205 forks for a
    50-KNF up and down, each dearer the bigger the caller. The lab enters namespaces from threads: no ``os.fork``
    at all (its daemons and tools start through subprocess's fork-exec), and every namespace it makes is a new one,
    not the host's (a thread's namespace is bound from /proc/<pid>/task/<tid>, never /proc/self)."""
    def no_fork() -> int:
        raise AssertionError("os.fork() called in the lab process: a helper process per namespace")

    monkeypatch.setattr(os, "fork", no_fork)
    lab = Lab(lab_name)
    profile = load_profile_file(default_path(DEFAULT_PROFILE)).with_content(size=64 * 1024)
    spec = lab.up(cdn_plan(), profile)
    host = os.stat("/proc/self/ns/net")
    inodes = {n: os.stat(f"/run/netns/{n}").st_ino for n in spec.netns_names}
    assert host.st_ino not in inodes.values() and len(set(inodes.values())) == len(inodes), inodes
    assert in_ns(spec.pod("cdn-server").netns, "ping", "-c", "1", "-W", "2", "10.0.2.10").returncode == 0
    assert {p["pod"]: bool(p["processes"]) for p in lab.status()["pods"]} == {
        pod.key: pod.role is not None and pod.role.role != "router" for pod in spec.pods}
    lab.down()
    assert leftovers(lab_name) == {}


def test_up_starts_only_the_knfs_programs_each_directly_in_its_namespace(lab_name: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """What lab up runs (issue 13, Why 5: 13x the plain ``ip`` script for the CDN service): no ``ip`` or ``ip netns
    exec`` per object or per daemon (namespaces, links, addresses and routes are netlink calls from this process, the
    daemons start from a thread inside the namespace), and the cache agent by its path under ``python -I -S`` (``-m
    osm_l2net.lab.agent`` imported the whole package first). Each program once per pod that has it."""
    import sys

    from osm_l2net.lab import roles

    started: list[list[str]] = []
    real = subprocess.Popen.__init__

    def recording(self: subprocess.Popen[bytes], args: list[str], *rest: Any, **kwargs: Any) -> None:
        started.append([str(a) for a in args])
        real(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", recording)
    lab = Lab(lab_name)
    profile = load_profile_file(default_path(DEFAULT_PROFILE)).with_content(size=64 * 1024)
    spec = lab.up(cdn_plan(), profile)
    monkeypatch.undo()
    programs = sorted(os.path.basename(argv[0]) for argv in started)
    assert not [argv for argv in started if os.path.basename(argv[0]) in ("ip", "nsenter", "tc", "sysctl")], started
    agents = [argv for argv in started if argv[0] == sys.executable]
    assert agents and all(argv[:4] == list(roles.AGENT) for argv in agents), agents
    assert set(programs) <= {"nginx", "nft", os.path.basename(sys.executable)}, programs
    assert len(started) <= 2 * len(spec.pods), started  # per pod, not per namespace, link or address
    lab.down()
