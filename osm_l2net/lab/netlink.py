"""Kernel networking for the lab over netlink (pyroute2): namespaces, bridges, veths, addresses, routes, tc, sysctl.

The only module that imports pyroute2. Every function is idempotent ("already exists" → make it so) and turns
netlink/OS failures into LabError, chained.

No helper process per namespace: pyroute2's ``IPRoute(netns=…)`` and ``netns.create`` fork a child to enter the
namespace (a fork whose cost grows with the caller's memory: 200 forks for a 50-pod lab). Here a short-lived thread
joins the namespace instead (``setns``/``unshare`` act on the calling thread only, and a socket stays in the namespace
it was created in), opens the netlink socket there and hands its file descriptor to an ``IPRoute`` in the caller.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from osm_l2net.core.errors import LabError
from osm_l2net.lab.spec import BridgeSpec, LinkSpec, PodSpec

IFA_F_NODAD = 0x02
CLONE_NEWNET = 0x40000000
_LIBC = ctypes.CDLL(None, use_errno=True)
BRIDGE_NF = ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables")


def list_netns() -> list[str]:
    return sorted(netns.listnetns())


def ensure_netns(name: str) -> None:
    if name not in netns.listnetns():
        _in_thread(name, lambda: _join(name, create=True), "cannot create network namespace")


def _join(name: str, create: bool = False) -> None:
    """Move the calling thread (always a worker of ``_in_thread``) into ``name``, creating it first with ``create``."""
    if name in netns.listnetns():
        netns.setns(name, flags=0)
        return
    if not create:
        raise OSError(errno.ENOENT, f"no network namespace {name}")
    if _LIBC.unshare(CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"unshare: {os.strerror(code)}")
    try:  # bind THIS thread's new namespace (/proc/self/ns/net would be the main thread's, i.e. the host's)
        netns.attach(name, f"{os.getpid()}/task/{threading.get_native_id()}")
    except FileExistsError:  # made meanwhile by someone else: use theirs
        netns.setns(name, flags=0)


def delete_netns(name: str) -> bool:
    if name not in netns.listnetns():
        return False
    try:
        netns.remove(name)
    except OSError as e:
        raise LabError(f"cannot delete network namespace {name}: {e}") from e
    return True


def netns_pids(names: set[str]) -> dict[str, list[int]]:
    """Processes living in each of ``names`` (what keeps a deleted namespace alive)."""
    return {n: pids for n, pids in netns.ns_pids().items() if n in names}


@contextmanager
def rtnl(ns: str | None) -> Iterator[Any]:
    """An IPRoute whose netlink socket lives in ``ns`` (the host's when None), without a helper process."""
    try:
        fd = _in_thread(ns, lambda: _netlink_socket(ns), "cannot open netlink") if ns else None
        with IPRoute(fileno=fd) if fd is not None else IPRoute() as ipr:
            yield ipr
    except NetlinkError as e:
        raise LabError(f"netlink error in {ns or 'the host namespace'}: {e}") from e


def _netlink_socket(ns: str) -> int:
    _join(ns)
    return socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, socket.NETLINK_ROUTE).detach()


def in_netns(ns: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a short-lived thread that has joined ``ns`` (setns is per thread), e.g. to write /proc/sys/net
    or to start a process there (a child inherits its parent thread's namespace)."""
    def joined() -> Any:
        _join(ns)
        return fn()

    return _in_thread(ns, joined, "in namespace")


def _in_thread(ns: str, fn: Callable[[], Any], what: str) -> Any:
    """``fn()`` in a thread of its own, so the namespace it joins never leaks into the caller's thread."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = fn()
        except BaseException as e:  # re-raised in the caller's thread
            result["error"] = e

    worker = threading.Thread(target=target, name=f"netns-{ns}")
    worker.start()
    worker.join()
    if "error" in result:
        error = result["error"]
        if isinstance(error, LabError):
            raise error
        raise LabError(f"{what} {ns}: {error}") from error
    return result.get("value")


def write_sysctl(ns: str, key: str, value: str) -> str | None:
    """Set /proc/sys/<key> inside ``ns``; returns the value read back (None when the knob does not exist there)."""
    path = Path("/proc/sys") / key.replace(".", "/")

    def write() -> str | None:
        if not path.exists():
            return None
        path.write_text(value)
        return path.read_text().strip()

    out: str | None = in_netns(ns, write)
    return out


def setup_switch(switch: str, bridges: tuple[BridgeSpec, ...]) -> dict[str, str | None]:
    """The lab's switch namespace: one bridge per network. br_netfilter's knobs are per namespace, so turning them off
    here keeps bridged lab traffic out of the host's iptables without touching the host's settings."""
    ensure_netns(switch)
    nf = {k: write_sysctl(switch, f"net/bridge/{k}", "0") for k in BRIDGE_NF}
    with rtnl(switch) as ipr:
        _up(ipr, "lo")
        for br in bridges:
            if not _lookup(ipr, br.name):
                _ignore_exists(ipr.link, "add", ifname=br.name, kind="bridge", address=br.mac,
                               br_forward_delay=0, br_stp_state=0)
            idx = _lookup(ipr, br.name)[0]
            ipr.link("set", index=idx, address=br.mac, ifalias=br.alias, state="up")
    return nf


def setup_pod_links(switch: str, pod: PodSpec, sw_handle: Any = None) -> None:
    """Veths from the switch's bridges into the pod, addresses, routes, ip_forward. ``sw_handle``: an open rtnl of the
    switch namespace to reuse across pods. In a namespace made just now there is nothing stale to look for."""
    fresh = pod.netns not in netns.listnetns()
    ensure_netns(pod.netns)
    if pod.forwarding:
        write_sysctl(pod.netns, "net/ipv4/ip_forward", "1")
    with (nullcontext(sw_handle) if sw_handle is not None else rtnl(switch)) as sw, rtnl(pod.netns) as ipr:
        _up(ipr, "lo")
        for link in pod.links:
            _ensure_veth(sw, ipr, pod.netns, link, fresh)
            _configure_pod_end(ipr, link, fresh)
        for route in pod.routes:
            oif = _lookup(ipr, route.dev)
            if not oif:
                raise LabError(f"{pod.key}: route {route.to} uses {route.dev}, which the pod does not have")
            ipr.route("replace", dst=route.to, gateway=route.via, oif=oif[0])
        verify_pod(pod, ipr)


def verify_pod(pod: PodSpec, handle: Any = None) -> None:
    """Read back what the kernel has and compare it with the spec: 'make it so, then verify'. ``handle``: an open
    rtnl of the pod's namespace."""
    with nullcontext(handle) if handle is not None else rtnl(pod.netns) as ipr:
        have = {str(li["name"]): li for li in _describe(ipr)}
        routes = {(f"{r.get_attr('RTA_DST')}/{r['dst_len']}", r.get_attr("RTA_GATEWAY"))
                  for family in (socket.AF_INET, socket.AF_INET6) for r in ipr.get_routes(family=family)}
    problems = []
    for link in pod.links:
        got = have.get(link.ifname)
        if got is None or got["mac"] != link.mac or (link.ip and got["addresses"] != [link.ip]):
            problems.append(f"{link.ifname}: want {link.mac} {link.ip}, have {got and (got['mac'], got['addresses'])}")
    problems += [f"route {r.to} via {r.via} missing" for r in pod.routes
                 if (str(ipaddress.ip_network(r.to, strict=False)), r.via) not in routes]
    if problems:
        raise LabError(f"{pod.key} is not as planned after setup: {'; '.join(problems)}")


def _ensure_veth(sw: Any, ipr: Any, pod_ns: str, link: LinkSpec, fresh: bool = False) -> None:
    inside, outside = [] if fresh else _lookup(ipr, link.ifname), _lookup(sw, link.peer)
    if inside and outside and _peer_index(ipr, inside[0]) == outside[0]:
        pass  # already wired as planned
    else:
        for idx in outside:  # a half-made pair from an interrupted run
            sw.link("del", index=idx)
        for idx in _lookup(ipr, link.ifname) if inside else []:  # deleting `outside` may have taken it along
            ipr.link("del", index=idx)
        sw.link("add", ifname=link.peer, kind="veth", address=link.peer_mac,
                peer={"ifname": link.ifname, "net_ns_fd": pod_ns, "address": link.mac})
    bridge = _lookup(sw, link.bridge)
    if not bridge:
        raise LabError(f"bridge {link.bridge} is missing from the lab switch")
    peer = _lookup(sw, link.peer)[0]
    sw.link("set", index=peer, master=bridge[0], address=link.peer_mac, ifalias=link.alias, state="up")


def _peer_index(ipr: Any, index: int) -> int | None:
    msg = ipr.link("get", index=index)[0]
    return msg.get_attr("IFLA_LINK") if msg.get_attr("IFLA_LINKINFO") else None


def _configure_pod_end(ipr: Any, link: LinkSpec, fresh: bool = False) -> None:
    idx = _lookup(ipr, link.ifname)[0]
    ipr.link("set", index=idx, address=link.mac, ifalias=link.alias, state="up")
    if link.ip:
        address, prefix = link.ip.split("/")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        for current in [] if fresh else ipr.get_addr(index=idx, family=family):
            if current["scope"] != 0:
                continue  # keep the kernel's link-local (IPv6) addresses
            if (current.get_attr("IFA_ADDRESS"), current["prefixlen"]) != (address, int(prefix)):
                ipr.addr("del", index=idx, address=current.get_attr("IFA_ADDRESS"), prefixlen=current["prefixlen"])
        nodad = {"flags": IFA_F_NODAD} if family == socket.AF_INET6 else {}  # usable at once, no DAD wait
        _ignore_exists(ipr.addr, "add", index=idx, address=address, prefixlen=int(prefix), **nodad)


def unplug_pod(switch: str, pod: PodSpec) -> None:
    """Delete the pod's veths from the switch side first: namespace teardown is asynchronous in the kernel and
    its interfaces can outlive ``ip netns del`` for a while; deleting one veth end removes both at once."""
    if switch not in netns.listnetns():
        return
    with rtnl(switch) as sw:
        for link in pod.links:
            for idx in _lookup(sw, link.peer):
                sw.link("del", index=idx)


def shape(ns: str, ifname: str, rate_bps: int | None) -> None:
    """tbf on ``ifname``'s egress: a steady rate on local links, where curl --limit-rate is erratic."""
    with rtnl(ns) as ipr:
        idx = _lookup(ipr, ifname)[0]
        if not rate_bps:
            ipr.tc("del", index=idx) if _has_root_qdisc(ipr, idx) else None
            return
        burst = max(rate_bps // 8 // 20, 6000)  # ≈50 ms of data, at least a few frames
        ipr.tc("replace", "tbf", index=idx, handle="1:", rate=f"{rate_bps}bit", burst=burst, latency="200ms")


def _has_root_qdisc(ipr: Any, idx: int) -> bool:
    return any(q["handle"] == 0x10000 and q.get_attr("TCA_KIND") == "tbf" for q in ipr.get_qdiscs(index=idx))


def host_links_with_alias(prefix: str) -> list[str]:
    with rtnl(None) as ipr:
        return [str(m.get_attr("IFLA_IFNAME")) for m in ipr.get_links()
                if (m.get_attr("IFLA_IFALIAS") or "").startswith(prefix)]


def delete_host_link(name: str) -> None:
    with rtnl(None) as ipr:
        for idx in _lookup(ipr, name):
            ipr.link("del", index=idx)


def describe_links(ns: str) -> list[dict[str, Any]]:
    with rtnl(ns) as ipr:
        return _describe(ipr)


def _describe(ipr: Any) -> list[dict[str, Any]]:
    addrs: dict[int, list[str]] = {}
    for a in ipr.get_addr():
        if a["scope"] != 0:  # global addresses only (not IPv6 link-local)
            continue
        addrs.setdefault(a["index"], []).append(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")
    return [{"name": m.get_attr("IFLA_IFNAME"), "mac": m.get_attr("IFLA_ADDRESS"),
             "state": m.get_attr("IFLA_OPERSTATE"), "master": m.get_attr("IFLA_MASTER"),
             "addresses": addrs.get(m["index"], [])} for m in ipr.get_links()
            if m.get_attr("IFLA_IFNAME") != "lo"]


def _lookup(ipr: Any, ifname: str) -> list[int]:
    """[index] of ``ifname``, or []: one RTM_GETLINK by name (link_lookup dumps every link: quadratic in a big lab)."""
    try:
        return [int(ipr.link("get", ifname=ifname)[0]["index"])]
    except NetlinkError as e:
        if e.code == errno.ENODEV:
            return []
        raise


def _up(ipr: Any, ifname: str) -> None:
    ipr.link("set", index=_lookup(ipr, ifname)[0], state="up")


def _ignore_exists(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        call(*args, **kwargs)
    except NetlinkError as e:
        if e.code != errno.EEXIST:
            raise
