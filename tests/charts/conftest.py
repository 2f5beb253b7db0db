"""Fixtures for the KNF helm chart tests: the real helm binary, the charts, and the values the CDN plan injects."""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from osm_l2net.core.plan import Interface, Route

REPO_ROOT = Path(__file__).resolve().parents[2]
DESCRIPTORS = REPO_ROOT / "descriptors"
CHARTS = {
    "cdn-server": DESCRIPTORS / "cdn_server_knf" / "helm-chart-v3s" / "cdn-server",
    "router-firewall": DESCRIPTORS / "router_firewall_knf" / "helm-chart-v3s" / "router-firewall",
    "content-server": DESCRIPTORS / "content_server_knf" / "helm-chart-v3s" / "content-server",
}
NS_ID = "0f1e2d3c-aaaa-4bbb-8ccc-000000000001"
NET1 = "vod-my-first-osm-net-1a2b3c"
NET2 = "vod-my-second-osm-net-4d5e6f"


def find_helm() -> str | None:
    """OSM_L2NET_HELM, else the repository's .tools/bin/helm (scripts/fetch-helm), else helm on PATH."""
    env = os.environ.get("OSM_L2NET_HELM")
    if env:
        return env
    local = REPO_ROOT / ".tools" / "bin" / "helm"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("helm")


@pytest.fixture(scope="session")
def chart_helm() -> str:
    helm = find_helm()
    if helm is None:
        pytest.skip("helm binary not found (set OSM_L2NET_HELM or run scripts/fetch-helm)")
    if not (Path(helm).is_file() and os.access(helm, os.X_OK)) and shutil.which(helm) is None:
        pytest.fail(f"OSM_L2NET_HELM={helm} is not an executable file")
    return helm


def _injected(interfaces: list[Interface], routes: list[Route], forwarding: bool) -> dict[str, Any]:
    """The helm values the plan gives one KDU (default layout of the common brief), built from plan objects."""
    networks = [{"name": i.network, "ips": [i.ip]} for i in interfaces]
    return {
        "podLabels": {"l2sm": "true", "osm.etsi.org/ns-id": NS_ID},
        "podAnnotations": {"l2sm/networks": json.dumps(networks, separators=(",", ":"))},
        "l2net": {
            "nsId": NS_ID,
            "forwarding": forwarding,
            "interfaces": [i.as_dict() for i in interfaces],
            "routes": [r.as_dict() for r in routes],
        },
    }


# The CDN/VoD plan of the common brief, per KDU.
CDN_VALUES: dict[str, dict[str, Any]] = {
    "cdn-server": _injected(
        [Interface("net1", "my-first-osm-net", NET1, "data-ext", "10.0.1.10/24")],
        [Route("10.0.2.0/24", "10.0.1.1", "net1")],
        forwarding=False,
    ),
    "router-firewall": _injected(
        [
            Interface("net1", "my-first-osm-net", NET1, "cache-side-ext", "10.0.1.1/24"),
            Interface("net2", "my-second-osm-net", NET2, "content-side-ext", "10.0.2.1/24"),
        ],
        [],
        forwarding=True,
    ),
    "content-server": _injected(
        [Interface("net1", "my-second-osm-net", NET2, "data-ext", "10.0.2.10/24")],
        [Route("10.0.1.0/24", "10.0.2.1", "net1")],
        forwarding=False,
    ),
}


@dataclass(frozen=True)
class Rendered:
    """The parsed output of one `helm template`."""

    chart: str
    release: str
    docs: list[dict[str, Any]]

    def get(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
        assert len(found) == 1, f"expected one {kind} {name or ''}, got {[d['metadata']['name'] for d in found]}"
        return found[0]

    def find(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    @property
    def pod_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.get("Deployment")["spec"]["template"]["metadata"]
        return meta

    @property
    def pod_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.get("Deployment")["spec"]["template"]["spec"]
        return spec

    @property
    def selector_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.chart, "app.kubernetes.io/instance": self.release}

    def init_container(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.pod_spec.get("initContainers", []) if c["name"] == name), None)

    def container(self, name: str) -> dict[str, Any]:
        return next(c for c in self.pod_spec["containers"] if c["name"] == name)

    def script(self, container: dict[str, Any]) -> str:
        """The shell script a container runs as ["/bin/sh", "-c", script]."""
        command = container["command"]
        assert command[:2] == ["/bin/sh", "-c"] and len(command) == 3, command
        return str(command[2])


Render = Callable[..., Rendered]


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, timeout=60, check=False)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that takes a `chart` argument runs once per KNF chart."""
    if "chart" in metafunc.fixturenames:
        metafunc.parametrize("chart", sorted(CHARTS))


@pytest.fixture
def chart_dirs() -> dict[str, Path]:
    return dict(CHARTS)


@pytest.fixture
def cdn_values() -> dict[str, dict[str, Any]]:
    """The values the CDN plan injects, per chart (a fresh copy per test)."""
    return copy.deepcopy(CDN_VALUES)


@pytest.fixture
def values_file(tmp_path: Path) -> Callable[[str, Mapping[str, Any]], Path]:
    def _write(stem: str, values: Mapping[str, Any]) -> Path:
        path = tmp_path / f"{stem}-values.yaml"
        path.touch(mode=0o600)
        path.write_text(yaml.safe_dump(dict(values)))
        return path

    return _write


@pytest.fixture
def helm_run(chart_helm: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_helm(chart_helm, *args)

    return _run


@pytest.fixture
def render(chart_helm: str, values_file: Callable[[str, Mapping[str, Any]], Path]) -> Iterator[Render]:
    """helm template <release> <chart> [-f values] [extra args] → parsed documents; a helm error fails the test."""

    def _render(
        chart: str, values: Mapping[str, Any] | None = None, *extra: str, release: str | None = None
    ) -> Rendered:
        release = release or f"{chart}-0123456789"
        args = ["template", release, str(CHARTS[chart])]
        if values is not None:
            args += ["-f", str(values_file(chart, values))]
        proc = run_helm(chart_helm, *args, *extra)
        assert proc.returncode == 0, f"helm {' '.join(args + list(extra))} failed: {proc.stderr}"
        return Rendered(chart, release, [d for d in yaml.safe_load_all(proc.stdout) if d])

    yield _render


@pytest.fixture
def render_error(chart_helm: str, values_file: Callable[[str, Mapping[str, Any]], Path]) -> Callable[..., str]:
    """helm template that must fail → its stderr."""

    def _fail(chart: str, values: Mapping[str, Any], *extra: str) -> str:
        proc = run_helm(chart_helm, "template", "r", str(CHARTS[chart]), "-f", str(values_file(chart, values)), *extra)
        assert proc.returncode != 0, f"helm template {chart} succeeded, expected a failure:\n{proc.stdout}"
        return proc.stderr

    return _fail


COMMANDS = ("need", "garp", "ip", "sysctl", "nft", "curl", "head", "mv")


def script_commands(script: str) -> list[list[str]]:
    """The argv of each top-level command line of a script, split the way sh splits it (quotes removed)."""
    commands = []
    for line in script.splitlines():
        argv = shlex.split(line, comments=True)
        if argv and argv[0] in COMMANDS:
            commands.append(argv)
    return commands


def expected_l2net_commands(l2net: Mapping[str, Any], gratuitous_arp: bool = True) -> list[list[str]]:
    """What the l2net init script must run for these injected values, in order (the contract, written out)."""
    commands: list[list[str]] = []
    for i in l2net.get("interfaces", []):
        commands.append(["need", i["name"]])
        if i.get("ip"):
            commands.append(["ip", "addr", "replace", i["ip"], "dev", i["name"]])
        commands.append(["ip", "link", "set", i["name"], "up"])
    commands += [["ip", "route", "replace", r["to"], "via", r["via"], "dev", r["dev"]] for r in l2net.get("routes", [])]
    if l2net.get("forwarding"):
        commands.append(["sysctl", "-w", "net.ipv4.ip_forward=1"])
        if any(":" in (i.get("ip") or "") for i in l2net.get("interfaces", [])):
            commands.append(["sysctl", "-w", "net.ipv6.conf.all.forwarding=1"])
    if gratuitous_arp:
        commands += [["garp", i["name"], i["ip"].split("/")[0]] for i in l2net.get("interfaces", [])
                     if i.get("ip") and ":" not in i["ip"]]
    return commands


@pytest.fixture
def commands_of() -> Callable[[str], list[list[str]]]:
    return script_commands


@pytest.fixture
def l2net_expected() -> Callable[..., list[list[str]]]:
    return expected_l2net_commands
