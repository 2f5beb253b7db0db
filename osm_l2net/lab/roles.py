"""What runs inside each KNF pod of the lab: nginx content server, nftables router/firewall, caching CDN server.

Addresses and routes come from the plan, the firewall from the router chart's values; the profile only picks roles,
sizes and rates. Every file a role writes lives under the lab's run directory; every daemon's pid is returned so
the lab can stop it (and ``lab down`` also stops anything else found in the lab's namespaces).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osm_l2net.core import yamlsafe
from osm_l2net.core.errors import InputError, LabError
from osm_l2net.core.plan import KduPlan, Plan, deep_merge
from osm_l2net.lab import agent as pull_agent
from osm_l2net.lab import netlink, procs
from osm_l2net.lab.firewall import NO_FIREWALL, Firewall, firewall_from_values
from osm_l2net.lab.profile import Member
from osm_l2net.lab.spec import LabSpec, PodSpec

_CHUNK = 1 << 20
# the agent by its path, stdlib only (-I -S): ``-m osm_l2net.lab.agent`` would import the osm_l2net package first,
# 4× the interpreter's start-up, and the cache's start waits for the agent to detach
AGENT = (sys.executable, "-I", "-S", str(Path(pull_agent.__file__).resolve()))


@dataclass(frozen=True)
class Content:
    url_path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Context:
    spec: LabSpec
    plan: Plan
    run_dir: Path

    def pod_dir(self, pod: PodSpec) -> Path:
        path = self.run_dir / "pods" / pod.netns
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o755)
        return path

    def kdu(self, pod: PodSpec) -> KduPlan | None:
        return next((k for k in self.plan.kdus if k.key == pod.key), None)


def start(ctx: Context, pod: PodSpec) -> list[procs.Pending]:
    """Start the pod's role: its daemons are on their way up, its firewall being loaded, when this returns
    (``pid()`` of each waits: the daemon's pid, None for a tool that has finished)."""
    role = pod.role.role if pod.role else "none"
    if role == "content-server":
        return [*_content_server(ctx, pod)]
    if role == "router":
        return [apply_firewall(pod, router_firewall(ctx, pod))]
    if role == "cache":
        return [*_cache(ctx, pod)]
    return []


def generate_content(path: Path, size: int, seed: str) -> str:
    """Deterministic content (SHAKE-256 of seed:block) of ``size`` bytes; returns its sha256."""
    sidecar = path.with_name(path.name + ".sha256")
    if path.exists() and path.stat().st_size == size and sidecar.exists():
        return sidecar.read_text().strip()
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for block in range((size + _CHUNK - 1) // _CHUNK):
            data = hashlib.shake_256(f"{seed}:{block}".encode()).digest(min(_CHUNK, size - block * _CHUNK))
            digest.update(data)
            out.write(data)
    path.chmod(0o644)
    sidecar.write_text(digest.hexdigest())
    return digest.hexdigest()


def content_of(ctx: Context, member: Member, pod: PodSpec) -> Content:
    www = ctx.pod_dir(pod) / "www"
    www.mkdir(exist_ok=True)
    www.chmod(0o755)
    sha = generate_content(www / member.file, member.size, f"osm-l2net:{member.file}:{member.size}")
    return Content("/" + member.file, member.size, sha)


def _content_server(ctx: Context, pod: PodSpec) -> list[procs.Launch]:
    member = pod.role
    assert member is not None
    content_of(ctx, member, pod)
    addresses = [li.ip.split("/")[0] for li in pod.links if li.ip]
    for link in pod.links:
        netlink.shape(pod.netns, link.ifname, member.rate_bps)
    return [_nginx(ctx, pod, addresses, (member.port, member.probe_port), ctx.pod_dir(pod) / "www")]


def _cache(ctx: Context, pod: PodSpec) -> list[procs.Launch]:
    member = pod.role
    assert member is not None
    source_pod, source = cache_source(ctx.spec, pod)
    content = content_of(ctx, source, source_pod)
    src_ip = next(li.ip.split("/")[0] for li in source_pod.links if li.ip)
    base = ctx.pod_dir(pod)
    (base / "www").mkdir(exist_ok=True)
    (base / "www").chmod(0o755)
    (base / "partial").mkdir(exist_ok=True)
    addresses = [li.ip.split("/")[0] for li in pod.links if li.ip]
    web = _nginx(ctx, pod, addresses, (member.port,), base / "www")  # comes up while the agent's interpreter starts
    agent = [*AGENT, "--url", f"http://{src_ip}:{source.port}{content.url_path}",
             "--part", str(base / "partial" / member.output), "--final", str(base / "www" / member.output),
             "--sha256", content.sha256, "--size", str(content.size), "--status", str(base / "agent.json"),
             "--pidfile", str(base / "agent.pid"), "--log", str(base / "agent.log")]
    if member.pull == "manual":
        agent += ["--start-file", str(base / "pull")]
    return [web, procs.launch_daemon(pod.netns, agent, base / "agent.pid", base / "agent.log")]


def cache_source(spec: LabSpec, pod: PodSpec) -> tuple[PodSpec, Member]:
    assert pod.role is not None
    wanted = pod.role.source
    found = [p for p in spec.pods if p.role and p.role.role == "content-server" and wanted in (None, p.key, p.member)]
    if len(found) != 1 or found[0].role is None:
        raise InputError.single("lab profile", f"members.{pod.member}.source",
                                f"cannot tell which content server the cache pulls from ({wanted!r})",
                                "the member-vnf-index of a content-server member")
    return found[0], found[0].role


def start_pull(ctx: Context, pod: PodSpec) -> None:
    (ctx.pod_dir(pod) / "pull").touch()


def cache_status(ctx: Context, pod: PodSpec) -> dict[str, Any]:
    base = ctx.run_dir / "pods" / pod.netns
    assert pod.role is not None
    status: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        status = json.loads((base / "agent.json").read_text())
    part, final = base / "partial" / pod.role.output, base / "www" / pod.role.output
    status["bytes"] = final.stat().st_size if final.exists() else (part.stat().st_size if part.exists() else 0)
    status["complete"] = final.exists()
    return status


def router_firewall(ctx: Context, pod: PodSpec) -> Firewall:
    kdu = ctx.kdu(pod)
    return firewall_of(kdu) if kdu else NO_FIREWALL


def firewall_of(kdu: KduPlan) -> Firewall:
    """The chart's values.yaml (when the plan points at a local chart) merged with the plan's values, as helm would."""
    values: Mapping[str, Any] = {}
    source = f"{kdu.key} values"
    if kdu.chart_path and (Path(kdu.chart_path) / "values.yaml").is_file():
        source = str(Path(kdu.chart_path) / "values.yaml")
        try:
            values = yamlsafe.load((Path(kdu.chart_path) / "values.yaml").read_text()) or {}
        except (OSError, yamlsafe.YamlInputError) as e:
            raise InputError.single(source, "", f"cannot read chart values: {e}", "a YAML mapping") from e
    return firewall_from_values(deep_merge(values, kdu.values), source)


def apply_firewall(pod: PodSpec, firewall: Firewall) -> procs.Job:
    """Load the rules (``nft -f -``); the returned job's ``pid()`` waits for nft and raises if it failed."""
    return procs.run_in_background(pod.netns, ["nft", "-f", "-"], firewall.nft_script())


def announce(*pods: PodSpec) -> None:
    """Gratuitous ARP from (re)created pods so neighbours refresh at once (their MACs are stable anyway). All at
    once: each arping waits out its one-second deadline, so replicas made together would otherwise add a second each."""
    if shutil.which("arping") is None:
        return
    children = [subprocess.Popen(procs.netns_argv(pod.netns, ["arping", "-q", "-U", "-c", "1", "-w", "1", "-I",
                                                               li.ifname, li.ip.split("/")[0]]),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for pod in pods for li in pod.links if li.ip]
    for child in children:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _nginx(ctx: Context, pod: PodSpec, addresses: list[str], ports: tuple[int, ...], root: Path) -> procs.Launch:
    base = ctx.pod_dir(pod)
    for sub in ("spool", "logs"):
        (base / sub).mkdir(exist_ok=True)
    if not addresses:
        raise LabError(f"{pod.key}: a web server needs an address, and the plan gives this pod none")
    listens = "".join(f"    listen {a}:{p};\n" for a in addresses for p in sorted(set(ports)))
    temp = "".join(f"  {k}_temp_path {base}/spool/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = base / "nginx.conf"
    conf.write_text(
        f"user www-data;\nworker_processes 1;\npid {base}/nginx.pid;\nerror_log {base}/logs/error.log;\n"
        f"events {{ worker_connections 256; }}\nhttp {{\n  access_log {base}/logs/access.log;\n{temp}"
        f"  default_type application/octet-stream;\n  sendfile on;\n  keepalive_timeout 5;\n"
        f"  server {{\n{listens}    root {root};\n    location / {{ autoindex on; }}\n  }}\n}}\n"
    )
    argv = ["nginx", "-p", str(base), "-c", str(conf), "-e", str(base / "logs" / "error.log")]
    return procs.launch_daemon(pod.netns, argv, base / "nginx.pid", base / "logs" / "start.log")
