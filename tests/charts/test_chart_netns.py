"""The three charts' init scripts and firewall, run in network namespaces wired like the CDN service.

One namespace per KNF pod, a veth pair per virtual link (cdn.net1 - router.net1, router.net2 - content.net1).
Each namespace runs exactly the l2net script its chart renders for the CDN plan's values, and the router applies
the rendered nftables file first, as its pod does. Then the PoC's checks: ping with ttl=63, HTTP allowed, the rest
to the content server dropped by the firewall's own rule.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.helm, pytest.mark.lab]

PODS = {"cdn-server": "cdn", "router-firewall": "rtr", "content-server": "cnt"}


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, f"ip {' '.join(args)}: {proc.stderr}"
    return proc


@pytest.fixture
def pods() -> Iterator[dict[str, str]]:
    """chart → network namespace name, wired as the CDN service; removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces")
    for tool in ("ip", "nft", "ping", "curl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    tag = uuid.uuid4().hex[:6]
    names = {chart: f"l2c-{short}-{tag}" for chart, short in PODS.items()}
    created: list[str] = []
    try:
        for name in names.values():
            _ip("netns", "add", name)
            created.append(name)
            _ip("-n", name, "link", "set", "lo", "up")
        cdn, rtr, cnt = names["cdn-server"], names["router-firewall"], names["content-server"]
        _ip("link", "add", "net1", "netns", cdn, "type", "veth", "peer", "name", "net1", "netns", rtr)
        _ip("link", "add", "net2", "netns", rtr, "type", "veth", "peer", "name", "net1", "netns", cnt)
        yield names
    finally:
        for name in created:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def _in(ns: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture
def servers(pods: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def _serve(port: int) -> None:
        (tmp_path / "index.html").write_text("content\n")
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", pods["content-server"], sys.executable, "-m", "http.server", str(port),
             "--bind", "10.0.2.10", "--directory", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # reachable from inside its own pod first
            probe = _in(pods["content-server"], "curl", "-s", "-o", "/dev/null", f"http://10.0.2.10:{port}/")
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        pytest.fail(f"http.server on {port} did not start")

    try:
        yield _serve
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


def _busybox_env(tmp_path: Path) -> dict[str, str]:
    """PATH where ip, arping, sysctl and sh are busybox applets, as in the busybox:1.36 init image."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox is not installed (Debian package: busybox)")
    applets = tmp_path / "busybox-bin"
    applets.mkdir(exist_ok=True)
    for applet in ("ip", "arping", "sysctl", "sh"):
        if not (applets / applet).exists():
            (applets / applet).symlink_to(busybox)
    return {**os.environ, "PATH": f"{applets}:{os.environ['PATH']}"}


def _configure(pods: dict[str, str], render, cdn_values, tmp_path: Path,  # type: ignore[no-untyped-def]
               busybox: bool = False) -> None:
    """Apply each pod's init containers in pod order: router firewall, then every l2net script (concurrently).

    With busybox, the cache's and the content server's scripts run with busybox applets, as in their init image;
    the router's always with iproute2/iputils, as in netshoot.
    """
    router = render("router-firewall", cdn_values["router-firewall"])
    ruleset = tmp_path / "firewall.nft"
    ruleset.write_text(router.get("ConfigMap")["data"]["firewall.nft"])
    applied = _in(pods["router-firewall"], "nft", "-f", str(ruleset))
    assert applied.returncode == 0, applied.stderr
    running = []
    for chart, ns in pods.items():
        out = router if chart == "router-firewall" else render(chart, cdn_values[chart])
        env = _busybox_env(tmp_path) if busybox and chart != "router-firewall" else None
        host_ip = shutil.which("ip") or "ip"  # resolved before PATH points at the busybox applets
        argv = [host_ip, "netns", "exec", ns, "sh", "-c", out.script(out.init_container("l2net"))]
        running.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    results = [(proc.communicate(timeout=30), proc.returncode) for proc in running]  # reap all before asserting
    for (stdout, stderr), returncode in results:
        assert returncode == 0, stderr
        assert "l2net: interfaces, routes and forwarding configured" in stdout


def _addresses(ns: str) -> dict[str, set[str]]:
    links = json.loads(_ip("-n", ns, "-j", "addr", "show").stdout)
    return {link["ifname"]: {f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"}
            for link in links if link["ifname"] != "lo"}


def _routes(ns: str) -> set[tuple[str, str, str]]:
    return {(r["dst"], r["gateway"], r["dev"]) for r in json.loads(_ip("-n", ns, "-j", "route", "show").stdout)
            if "gateway" in r}


@pytest.fixture(params=["iproute2", "busybox"])
def configure(request, pods, render, cdn_values, tmp_path):  # type: ignore[no-untyped-def]
    """Configure the pods once, with the cache's and content server's scripts run by `request.param` tools."""
    return lambda: _configure(pods, render, cdn_values, tmp_path, busybox=request.param == "busybox")


def test_cdn_service_data_plane_from_the_rendered_charts(pods, configure, servers):
    configure()
    cdn, rtr, cnt = pods["cdn-server"], pods["router-firewall"], pods["content-server"]
    assert _addresses(cdn) == {"net1": {"10.0.1.10/24"}}
    assert _addresses(rtr) == {"net1": {"10.0.1.1/24"}, "net2": {"10.0.2.1/24"}}
    assert _addresses(cnt) == {"net1": {"10.0.2.10/24"}}
    assert _routes(cdn) == {("10.0.2.0/24", "10.0.1.1", "net1")}
    assert _routes(cnt) == {("10.0.1.0/24", "10.0.2.1", "net1")}
    assert _in(rtr, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    assert _in(cdn, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "0"

    ping = _in(cdn, "ping", "-c", "1", "-W", "2", "10.0.2.10")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert "ttl=63" in ping.stdout  # one routed hop, as in the PoC

    servers(80)
    servers(8080)
    http = _in(cdn, "curl", "-s", "--max-time", "5", "http://10.0.2.10:80/index.html")
    assert http.returncode == 0 and http.stdout == "content\n"
    blocked = _in(cdn, "curl", "-s", "--connect-timeout", "1", "http://10.0.2.10:8080/index.html")
    assert blocked.returncode == 28  # dropped (timeout), not refused: the firewall, not a missing server

    chain = json.loads(_in(rtr, "nft", "-j", "list", "chain", "inet", "osm_l2net", "forward").stdout)
    rules = [e["rule"] for e in chain["nftables"] if "rule" in e]
    drop = next(r for r in rules if any("drop" in x for x in r["expr"]))
    counter = next(x["counter"] for x in drop["expr"] if "counter" in x)
    assert counter["packets"] >= 1  # the SYN to 8080 hit the firewall's drop rule


def test_reapplying_the_init_scripts_is_harmless(pods, render, cdn_values, tmp_path):
    """A restarted init container in the same pod sandbox runs again over configured interfaces."""
    for values in cdn_values.values():
        values["l2netInit"] = {"gratuitousArp": False}  # covered above; saves the arping seconds here
    _configure(pods, render, cdn_values, tmp_path)
    _configure(pods, render, cdn_values, tmp_path)
    assert _addresses(pods["router-firewall"]) == {"net1": {"10.0.1.1/24"}, "net2": {"10.0.2.1/24"}}
    tables = _in(pods["router-firewall"], "nft", "-j", "list", "tables").stdout
    assert [e["table"]["name"] for e in json.loads(tables)["nftables"] if "table" in e] == ["osm_l2net"]


def test_missing_interface_is_reported(pods, render, cdn_values):
    values = cdn_values["cdn-server"]
    values["l2net"]["interfaces"][0]["name"] = "net7"
    out = render("cdn-server", values)
    proc = _in(pods["cdn-server"], "/bin/sh", "-c", out.script(out.init_container("l2net")))
    assert proc.returncode == 1
    assert "l2net: interface net7 is missing" in proc.stderr
