"""The PoC's validation, reproduced in the lab with expectations computed from the plan (never hard-coded).

ping (3 packets, 0% loss, TTL = 64 - routers on the path), traceroute hops = the plan's route chain, Range → 206,
the firewall's verdict on a non-HTTP port from the router's values, the cut-off (scale the first router on the path
to 0 mid-download → the transfer stalls; scale it to 1 → it resumes and completes with the content server's sha256),
the external user's download of the cached copy, and isolation (no path while the router is gone; a second NS
instance with the same addresses cannot reach the first). A placed plan whose download crosses clusters also has its
inter-cluster link cut mid-download (the transfer stalls) and restored (it resumes).
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

from osm_l2net.core.errors import LabError
from osm_l2net.core.plan import Plan
from osm_l2net.lab import netlink, roles
from osm_l2net.lab.agent import sha256_file
from osm_l2net.lab.engine import Lab
from osm_l2net.lab.expect import expected_path, expected_ttl, routers_on
from osm_l2net.lab.observe import parse_ping, parse_traceroute
from osm_l2net.lab.profile import Profile
from osm_l2net.lab.report_file import write_report
from osm_l2net.lab.spec import PodSpec

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Check:
    name: str
    expected: str
    observed: str
    ok: bool


@dataclass
class Report:
    lab: str
    ns_id: str
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # measured numbers: resume time, curl runs, transfer time
    replicas: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # pool-addressed KDU → its replicas

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        out = {"lab": self.lab, "ns_id": self.ns_id, "ok": self.ok, "seconds": round(self.seconds, 2),
               "error": self.error, "facts": self.facts, "checks": [asdict(c) for c in self.checks]}
        if self.replicas:  # only then: a plan without pool-addressed KDUs keeps its report's form
            out["replicas"] = self.replicas
        return out

    def table(self) -> str:
        rows = [("CHECK", "EXPECTED", "OBSERVED", "RESULT")]
        rows += [(c.name, c.expected, c.observed, "ok" if c.ok else "MISMATCH") for c in self.checks]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
        verdict = "PASS" if self.ok else f"FAIL{': ' + self.error if self.error else ''}"
        return "\n".join([*lines, f"{verdict} ({sum(c.ok for c in self.checks)}/{len(self.checks)} checks, "
                                  f"{self.seconds:.1f}s)"])


class Scenario:
    def __init__(self, lab: Lab, plan: Plan, profile: Profile, report: Report, progress: Progress,
                 second_plan: Plan | None = None) -> None:
        self.lab, self.plan, self.profile, self.report, self.say = lab, plan, profile, report, progress
        self.second_plan = second_plan or replace(plan, ns_id=f"{plan.ns_id}-b", ns_name=f"{plan.ns_name}-b")
        spec = lab.spec()
        caches = [p for p in spec.pods if p.role and p.role.role == "cache"]
        if len(caches) != 1:
            raise LabError("the scenario needs exactly one member with role: cache in the lab profile")
        self.cache = caches[0]
        self.source, self.member = roles.cache_source(spec, self.cache)
        self.dst = next(li.ip.split("/")[0] for li in self.source.links if li.ip)
        self.src = next(li.ip.split("/")[0] for li in self.cache.links if li.ip)
        self.path = expected_path(plan, self.cache.member, self.dst)
        self.routers = routers_on(plan, self.path)
        self.ctx = roles.Context(spec, plan, lab.root / lab.name)

    def check(self, name: str, expected: object, observed: object, ok: bool | None = None) -> bool:
        c = Check(name, str(expected), str(observed), (str(expected) == str(observed)) if ok is None else ok)
        self.report.checks.append(c)
        self.say(f"{'ok ' if c.ok else 'BAD'} {name}: expected {c.expected}; observed {c.observed}")
        return c.ok

    def run(self) -> None:
        self.record_replicas()
        self.check_ping()
        self.check_traceroute()
        self.check_range()
        self.check_firewall()
        self.lab.start_pull(self.cache.key)
        if self.routers:
            self.check_cutoff()
        if self.wan_hop():
            self.check_wan_cut()
        if self.profile.timings.isolation_instance:
            self.check_second_instance()
        self.check_download()
        self.check_external_user()

    def record_replicas(self) -> None:
        """Each replica of a KDU addressed from a pool, with the addresses it was given (the plan cannot say them)."""
        pooled = {p.key for p in self.lab.spec().pods if p.pools}
        for pod in self.lab.status()["pods"]:
            if pod["pod"] in pooled:
                self.report.replicas.setdefault(pod["pod"], []).append(
                    {"replica": pod["replica"], "netns": pod["netns"], "up": pod["up"], "addresses": pod["addresses"]})

    # ---- connectivity -----------------------------------------------------------------------------------------
    def check_ping(self) -> None:
        out = self.lab.exec(self.cache.key, ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", self.dst],
                            timeout=15, capture=True)
        want = f"3/3 received, 0% loss, ttl={expected_ttl(self.path)}"
        self.check(f"ping {self.dst} from {self.cache.member}", want, parse_ping(out.stdout))

    def check_traceroute(self) -> None:
        argv = ["traceroute", "-n", "-I", "-q", "1", "-w", "2", "-m", str(len(self.path) + 2), self.dst]
        out = self.lab.exec(self.cache.key, argv, timeout=30, capture=True)
        self.check(f"traceroute -n -I {self.dst}", " > ".join(self.path), " > ".join(parse_traceroute(out.stdout)))

    def check_range(self) -> None:
        url = f"http://{self.dst}:{self.member.port}/{self.member.file}"
        out = self.lab.exec(self.cache.key, ["curl", "-sS", "-o", "/dev/null", "-r", "0-99", "-m", "10",
                                             "-w", "%{http_code} %{size_download}", url], timeout=15, capture=True)
        self.check("HTTP Range request (nginx)", "206 100", out.stdout.strip() or f"curl exit {out.returncode}")

    def _tcp_probe(self, pod: PodSpec, port: int) -> str:
        out = self.lab.exec(pod.key, ["curl", "-s", "-o", "/dev/null", "--connect-timeout", "2", "-m", "4",
                                      f"http://{self.dst}:{port}/"], timeout=10, capture=True)
        return "open" if out.returncode == 0 else "blocked"

    def check_firewall(self) -> None:
        port = self.member.probe_port
        fws = [roles.firewall_of(k) for k in self.routers]
        permitted = all(fw.permits(self.src, self.dst, "tcp", port) for fw in fws)
        self.check(f"tcp/{port} {self.src} -> {self.dst} (firewall)", "open" if permitted else "blocked",
                   self._tcp_probe(self.cache, port))
        if self.routers:  # control: the listener exists, only forwarded traffic is filtered
            last = self.lab.spec().pod(self.routers[-1].key)
            self.check(f"tcp/{port} from {last.member} itself (control)", "open", self._tcp_probe(last, port))

    # ---- download and cut-off ---------------------------------------------------------------------------------
    def progress_bytes(self) -> dict[str, Any]:
        return roles.cache_status(self.ctx, self.cache)

    def wait_bytes(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> dict[str, Any]:
        deadline, last_say = time.monotonic() + timeout, 0.0
        while True:
            status = self.progress_bytes()
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                raise LabError(f"timed out after {timeout:.0f}s waiting for {what} ({status['bytes']} bytes)")
            if time.monotonic() - last_say >= 1.0:
                last_say = time.monotonic()
                pct = 100 * status["bytes"] / self.member.size
                self.say(f"... {what}: {status['bytes'] / 2**20:.2f}/{self.member.size / 2**20:.2f} MiB ({pct:.0f}%)")
            time.sleep(0.1)

    def check_cutoff(self) -> None:
        t = self.profile.timings
        router = self.lab.spec().pod(self.routers[0].key)
        cut = int(self.member.size * t.cutoff_at)
        status = self.wait_bytes(lambda s: s["bytes"] >= cut or s["complete"], t.download_timeout, "download")
        if not self.check("download in progress at the cut-off", "in progress",
                          "complete" if status["complete"] else "in progress"):
            return
        self.lab.scale(router.key, 0)
        netns_gone = router.netns not in self.lab_netns()
        self.check(f"scale {router.member} --replicas 0", "namespace gone",
                   "namespace gone" if netns_gone else "present")
        took = self._outage("the router", f"{router.member} is down", lambda: self.lab.scale(router.key, 1))
        self.report.facts["resume_seconds"] = round(took, 2)
        self.check(f"scale {router.member} --replicas 1: transfer resumes", f"within {t.resume_within:g}s",
                   f"after {took:.1f}s", ok=took <= t.resume_within)

    # ---- a placed plan: the inter-cluster link -------------------------------------------------------------------
    def wan_hop(self) -> tuple[str, str] | None:
        """The first two clusters the path from the cache to its server crosses between (None: it stays on one)."""
        spec = self.lab.spec()
        if not spec.clusters:
            return None
        labels = {c.cluster: c.label for c in spec.clusters}
        on_path = [self.cache, *(spec.pod(k.key) for k in self.routers), self.source]
        hops = [(labels[a.cluster], labels[b.cluster]) for a, b in itertools.pairwise(on_path) if a.cluster != b.cluster]
        return hops[0] if hops else None

    def check_wan_cut(self) -> None:
        """Cut the inter-cluster link the download crosses: it stalls; restored, it resumes (the sha256 is checked at
        the end, with the router's cut-off's)."""
        hop = self.wan_hop()
        assert hop is not None
        t, (a, b) = self.profile.timings, hop
        mark = int(self.member.size * (1 + t.cutoff_at) / 2)  # after the router's cut-off, before the end
        status = self.wait_bytes(lambda s: s["bytes"] >= mark or s["complete"], t.download_timeout, "download")
        if not self.check(f"download in progress at the cut of {a} <-> {b}", "in progress",
                          "complete" if status["complete"] else "in progress"):
            return
        cut = self.lab.link(a, b, up=False)
        self.check(f"lab link {a} {b} --down", "cut", cut["state"])
        restored: dict[str, Any] = {}
        took = self._outage("the inter-cluster link", f"{a} <-> {b} is cut",
                            lambda: restored.update(self.lab.link(a, b, up=True)))
        self.report.facts["wan_resume_seconds"] = round(took, 2)
        self.check(f"lab link {a} {b} --up: transfer resumes", f"up within {t.resume_within:g}s",
                   f"{restored['state']} after {took:.1f}s", ok=restored["state"] == "up" and took <= t.resume_within)

    def _outage(self, without: str, while_: str, restore: Callable[[], object]) -> float:
        """While a cut is in place: the server unreachable from the cache and the transfer stalled; then ``restore``
        and the seconds until the transfer moves again (the router's cut-off and the inter-cluster link's alike)."""
        t = self.profile.timings
        time.sleep(0.5)
        before = self.progress_bytes()["bytes"]
        reach = parse_ping(self.lab.exec(self.cache.key, ["ping", "-n", "-c", "1", "-W", "1", self.dst],
                                         timeout=10, capture=True).stdout)
        self.check(f"{self.cache.member} -> {self.dst} without {without}", "unreachable",
                   "unreachable" if reach.received == 0 else "reachable")
        time.sleep(max(0.0, t.down_seconds - 1.0))
        grown = self.progress_bytes()["bytes"] - before
        self.check(f"transfer while {while_}", "stalled (+0 bytes)",
                   "stalled (+0 bytes)" if grown == 0 else f"growing (+{grown} bytes)")
        restore()
        started = time.monotonic()
        after = self.progress_bytes()["bytes"]
        self.wait_bytes(lambda s: s["bytes"] > after or s["complete"], t.resume_within + 30, "resume")
        return time.monotonic() - started

    def lab_netns(self) -> set[str]:
        return set(netlink.list_netns())

    def check_download(self) -> None:
        status = self.wait_bytes(lambda s: s["complete"], self.profile.timings.download_timeout, "download")
        role = self.cache.role
        assert role is not None
        served = self.ctx.pod_dir(self.source) / "www" / self.member.file
        cached = self.ctx.pod_dir(self.cache) / "www" / role.output
        self.check(f"sha256 of the cached {role.output}", sha256_file(served)[:16], sha256_file(cached)[:16])
        self.report.facts.update(curl_runs=status.get("attempts"), download_seconds=status.get("seconds"),
                                 file_bytes=self.member.size, rate_bps=self.member.rate_bps,
                                 sha256=sha256_file(served))
        self.say(f"download complete: {status.get('attempts')} curl run(s), {status.get('seconds')}s")

    def check_external_user(self) -> None:
        ext = self.profile.external
        if ext is None:
            return
        target = self.ctx.pod_dir(self.cache) / "external-user-copy"
        role = self.cache.role
        assert role is not None
        url = f"http://{ext.member_ip.split('/')[0]}:{role.port}/{role.output}"
        out = self.lab.exec(ext.name, ["curl", "-sS", "-m", "60", "-o", str(target), url], timeout=70, capture=True)
        served = self.ctx.pod_dir(self.source) / "www" / self.member.file
        observed = sha256_file(target)[:16] if out.returncode == 0 and target.exists() else f"curl exit {out.returncode}"
        self.check(f"{ext.name} downloads {url}", sha256_file(served)[:16], observed)

    # ---- a second NS instance -----------------------------------------------------------------------------------
    def check_second_instance(self) -> None:
        other = Lab(sibling_name(self.lab.name), self.lab.root, self.say)
        try:
            other.up(self.second_plan, Profile(source="isolation instance (network only)"))
            pod_b = other.spec().pod(self.source.key)
            other.scale(pod_b.key, 0)  # its own 10.0.2.10 is gone; the first instance's must stay out of reach
            out = other.exec(self.cache.key, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", self.dst],
                             timeout=10, capture=True)
            got = parse_ping(out.stdout)
            self.check(f"second NS instance -> {self.dst} of the first", "unreachable",
                       "unreachable" if got.received == 0 else f"reachable ({got})")
        finally:
            other.down()


def sibling_name(lab: str) -> str:
    """The second NS instance's lab: ``<lab>_b``, kept within the lab-name limit and never equal to ``lab``."""
    base = lab if len(lab) <= 22 else lab[:22]
    return f"{base}_b" if f"{base}_b" != lab else f"{base}_c"


@contextmanager
def _shielded(progress: Progress) -> Iterator[None]:
    """No SIGINT/SIGTERM stops the teardown; each is held and handed to the handler it would have met once the
    teardown is done, so the caller still learns of it (osm-l2net exits 130/143; a plain Python caller gets its
    KeyboardInterrupt, or dies of SIGTERM). Main thread of this process only: a process forked by pyroute2 keeps the
    default behaviour.

    Not osm_l2net/cli/signals.py's job, though close: the CLI turns the *first* signal into an unwind, whereas here
    every signal, the first too (one landing in the teardown of a run that was not interrupted), must wait; and
    run_scenario is library API, called without the CLI, which this layer may not import."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()
    held: list[int] = []

    def hold(sig: int, _frame: FrameType | None) -> None:
        if os.getpid() != owner:
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
            return
        held.append(sig)
        progress("cleaning up the lab, please wait")

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for number in held:
            _deliver(number, previous[signal.Signals(number)])


def _deliver(sig: int, handler: Any) -> None:
    """``sig`` to ``handler`` as the kernel would have delivered it (SIG_IGN: nothing; SIG_DFL: its default action)."""
    if callable(handler):
        handler(sig, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), sig)


def run_scenario(plan: Plan, profile: Profile, lab_name: str = "cdn", *, root: Path | None = None,
                 report_path: Path | Sequence[Path] | None = None, progress: Progress = print, second_plan: Plan | None = None,
                 report_format: str | None = None, command: str = "") -> Report:
    """up → checks → down; nothing is left behind, also on failure or Ctrl-C. The report (JSON, or HTML with the
    picture: :mod:`osm_l2net.lab.report_file`; one or several files) is written whatever happened."""
    lab = Lab(lab_name, root, progress) if root else Lab(lab_name, progress=progress)
    report = Report(lab_name, plan.ns_id)
    started = time.monotonic()
    try:
        lab.down()  # leftovers of an interrupted earlier run
        profile = profile.with_pull("manual")  # measure a quiet network first, as the PoC did
        lab.up(plan, profile)
        Scenario(lab, plan, profile, report, progress, second_plan).run()
    except LabError as e:
        report.error = str(e)
    finally:
        progress(f"lab down {lab_name}")
        with _shielded(progress):  # the report too: a signal held in the teardown is handed on after it is written
            lab.down()
            report.seconds = time.monotonic() - started
            for path in [report_path] if isinstance(report_path, Path) else report_path or ():
                write_report(path, report.as_dict(), plan, report_format, command)
    return report
