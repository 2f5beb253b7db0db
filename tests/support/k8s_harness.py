"""Runs the ``KubernetesAPIEmulator`` test double on 127.0.0.1 in a background thread, for pytest and for ``bench/``.

``EmulatedCluster`` is a context manager: it starts the server on an ephemeral port, writes a kubeconfig (0600, removed
on exit) and offers the test hooks: ``log``, ``faults``, ``operator`` (the L2S-M operator double), ``workloads``
(Deployment/StatefulSet controllers + webhook + Multus double), ``create_pod`` and direct store access. Everything done through these hooks runs on the server's event loop, so it is ordered with the
API requests, and none of it counts as API traffic.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiohttp.web

from tests.support.k8s_controllers import WorkloadControllerDouble
from tests.support.k8s_emulator import (
    L2NETWORKS,
    NADS,
    NAMESPACES,
    PODS,
    FaultPlan,
    KubernetesAPIEmulator,
    RequestLog,
    Resource,
)
from tests.support.k8s_l2sm import HEALTHY, L2SMInstall
from tests.support.k8s_l2sm import install as install_l2sm

T = TypeVar("T")
L2SM_FINALIZER = "l2sm.operator.io/finalizer"


@dataclass(frozen=True)
class PodNetwork:
    """One secondary interface of a pod, as Multus reports it in ``k8s.v1.cni.cncf.io/network-status``."""

    network: str  # the network object's name (namespace is added in the annotation)
    interface: str  # net1, net2, ...
    ips: tuple[str, ...] = ()
    mac: str = "02:00:00:00:00:01"


def network_status_annotation(namespace: str, networks: Sequence[PodNetwork], pod_ip: str = "10.244.0.10") -> str:
    """The JSON Multus writes into ``k8s.v1.cni.cncf.io/network-status``: the default network first, then each one."""
    entries: list[dict[str, Any]] = [{"name": "cbr0", "interface": "eth0", "ips": [pod_ip], "default": True,
                                      "dns": {}}]
    for n in networks:
        entries.append({"name": f"{namespace}/{n.network}", "interface": n.interface,
                        "ips": [ip.split("/")[0] for ip in n.ips], "mac": n.mac, "dns": {}})
    return json.dumps(entries, indent=4)


class L2SMOperatorDouble:
    """Plays, visibly, what the L2S-M operator does to ``L2Network`` objects (the emulator has no controllers).

    When running: adds finalizer ``l2sm.operator.io/finalizer`` to new networks, sets ``status.internalConnectivity``
    to ``Available`` ``ready_after`` seconds later (``None`` = never), and on deletion removes the finalizer
    ``release_after`` seconds later (unless ``release_finalizer`` is False: the operator is "down", deletion hangs).
    ``actions`` records what it did, in order.
    """

    def __init__(self, cluster: EmulatedCluster) -> None:
        self._cluster = cluster
        self.running = False
        self.ready_after: float | None = 0.0
        self.add_finalizer = True
        self.release_finalizer = True
        self.release_after = 0.0
        self.actions: list[tuple[str, str, str]] = []  # (action, namespace, name)
        self.stamps: list[float] = []  # time.monotonic() of each action: orders actions across clusters
        # a stretched link's network (spec.provider): whether the cluster reaches the inter-cluster provider. L2S-M
        # asks it once, at the first reconcile, and records providerConnectivity then; it never asks again.
        self.provider_reachable = True

    def start(self, ready_after: float | None = 0.0, add_finalizer: bool = True, release_finalizer: bool = True,
              release_after: float = 0.0) -> None:
        def apply() -> None:
            self.ready_after, self.add_finalizer = ready_after, add_finalizer
            self.release_finalizer, self.release_after = release_finalizer, release_after
            self.running = True
            for obj in self._cluster.emulator.list_objects(L2NETWORKS):
                self._reconcile(obj["metadata"]["namespace"], obj["metadata"]["name"])

        self._cluster.call(apply)

    def stop(self) -> None:
        def apply() -> None:
            self.running = False

        self._cluster.call(apply)

    # -- on the server loop
    def on_event(self, event: str, res: Resource, obj: dict[str, Any]) -> None:
        if not self.running or res != L2NETWORKS or event == "DELETED":
            return
        meta = obj["metadata"]
        asyncio.get_running_loop().call_soon(self._reconcile, meta["namespace"], meta["name"])

    def _reconcile(self, namespace: str, name: str) -> None:
        emu, loop = self._cluster.emulator, asyncio.get_running_loop()
        obj = emu.get_object(L2NETWORKS, namespace, name)
        if obj is None or not self.running:
            return
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if meta.get("deletionTimestamp"):
            if L2SM_FINALIZER in finalizers and self.release_finalizer:
                loop.call_later(self.release_after, self._release, namespace, name, meta["uid"])
            return
        if self.add_finalizer and L2SM_FINALIZER not in finalizers:
            self._act("finalizer", namespace, name)
            emu.patch_object(L2NETWORKS, namespace, name, {"metadata": {"finalizers": [*finalizers, L2SM_FINALIZER]}})
            return  # the MODIFIED event brings us back here
        status = obj.get("status") or {}
        if self.ready_after is not None and status.get("internalConnectivity") != "Available":
            loop.call_later(self.ready_after, self._ready, namespace, name, meta["uid"])

    def _act(self, action: str, namespace: str, name: str) -> None:
        self.actions.append((action, namespace, name))
        self.stamps.append(time.monotonic())

    def _current(self, namespace: str, name: str, uid: str) -> dict[str, Any] | None:
        obj = self._cluster.emulator.get_object(L2NETWORKS, namespace, name)
        return obj if obj is not None and obj["metadata"]["uid"] == uid and self.running else None

    def _ready(self, namespace: str, name: str, uid: str) -> None:
        obj = self._current(namespace, name, uid)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return
        if (obj.get("status") or {}).get("internalConnectivity") == "Available":
            return
        self._act("available", namespace, name)
        status: dict[str, Any] = {"internalConnectivity": "Available", "connectedPodCount": 0}
        if (obj.get("spec") or {}).get("provider"):
            status["providerConnectivity"] = "Available" if self.provider_reachable else "Unavailable"
        self._cluster.emulator.patch_object(L2NETWORKS, namespace, name, {"status": status})

    def _release(self, namespace: str, name: str, uid: str) -> None:
        obj = self._current(namespace, name, uid)
        if obj is None or not self.release_finalizer:
            return
        remaining = [f for f in obj["metadata"].get("finalizers") or [] if f != L2SM_FINALIZER]
        if len(remaining) == len(obj["metadata"].get("finalizers") or []):
            return
        self._act("released", namespace, name)
        self._cluster.emulator.patch_object(L2NETWORKS, namespace, name, {"metadata": {"finalizers": remaining}})


class EmulatedCluster:
    """The emulator test double served on 127.0.0.1:<ephemeral port> from a background thread, plus a kubeconfig."""

    def __init__(self, workdir: Path | None = None, faults: FaultPlan | None = None,
                 namespaces: Sequence[str] = (), l2sm: L2SMInstall | None = HEALTHY) -> None:
        """``l2sm``: the L2S-M installed at start (tests/support/k8s_l2sm.py; default a healthy 2.8.7 with one
        Overlay of 10 ports on node-1, which the pre-flight of every apply checks); None: no L2S-M objects."""
        self._workdir = workdir
        self._l2sm = l2sm
        self._initial_faults = faults
        self._namespaces = tuple(namespaces)
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._own_dir: Path | None = None
        self.emulator: KubernetesAPIEmulator
        self.url = ""
        self.kubeconfig = Path()
        self.operator = L2SMOperatorDouble(self)
        self.workloads = WorkloadControllerDouble(self)

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> EmulatedCluster:
        self._thread = threading.Thread(target=self._run, name="k8s-api-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._startup_error is not None or not self.url:
            raise RuntimeError("the Kubernetes API emulator did not start") from self._startup_error
        self.kubeconfig = self._write_kubeconfig()
        for ns in self._namespaces:
            self.create_namespace(ns)
        if self._l2sm is not None:
            install_l2sm(self, self._l2sm)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)
        if self.kubeconfig.name:
            self.kubeconfig.unlink(missing_ok=True)
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as e:  # reported to __enter__ or by server_errors
            self._startup_error = e
            self._ready.set()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with KubernetesAPIEmulator(faults=self._initial_faults) as emulator:
            self.emulator = emulator
            emulator.add_listener(self.operator.on_event)
            emulator.add_listener(self.workloads.on_event)
            runner = aiohttp.web.ServerRunner(aiohttp.web.Server(emulator), shutdown_timeout=1.0)
            await runner.setup()
            site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}"
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                emulator.close_watches()
                await runner.cleanup()

    def _write_kubeconfig(self) -> Path:
        directory = self._workdir
        if directory is None:
            self._own_dir = directory = Path(tempfile.mkdtemp(prefix="k8s-emulator-"))
        path = directory / "kubeconfig-emulator"
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "emulator", "preferences": {},
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {"token": "emulator-test-double"}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "emulator",
                                                          "namespace": "default"}}],
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(config, f)  # JSON is YAML: every kubeconfig reader accepts it
        return path

    # ------------------------------------------------------------ hooks
    @property
    def log(self) -> RequestLog:
        return self.emulator.log

    @property
    def faults(self) -> FaultPlan | None:
        return self.emulator.faults

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        def apply() -> None:
            self.emulator.faults = plan

        self.call(apply)

    @property
    def server_errors(self) -> list[Exception]:
        """Unexpected exceptions inside the emulator (its own bugs); fixtures fail the test when there are any."""
        return list(self.emulator.errors)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the server's event loop (ordered with API requests) and return its result."""
        assert self._loop is not None
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as e:
                future.set_exception(e)

        self._loop.call_soon_threadsafe(run)
        return future.result(30)

    def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.call(self.emulator.get_object, res, namespace, name)

    def list(self, res: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.call(self.emulator.list_objects, res, namespace)

    def put(self, res: Resource, namespace: str | None, obj: Mapping[str, Any]) -> dict[str, Any]:
        return self.call(self.emulator.put_object, res, namespace, obj)

    def patch(self, res: Resource, namespace: str | None, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        return self.call(self.emulator.patch_object, res, namespace, name, patch)

    def delete(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.call(self.emulator.delete_object, res, namespace, name)

    def create_namespace(self, name: str) -> dict[str, Any]:
        return self.put(NAMESPACES, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def create_pod(self, namespace: str, name: str, *, labels: Mapping[str, str] | None = None,
                   annotations: Mapping[str, str] | None = None, networks: Sequence[PodNetwork] = (),
                   node: str = "node-1", phase: str = "Running") -> dict[str, Any]:
        """Create a pod as the scheduler + Multus would leave it (there are no controllers to do it)."""
        notes = dict(annotations or {})
        if networks:
            notes.setdefault("k8s.v1.cni.cncf.io/network-status", network_status_annotation(namespace, networks))
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "labels": dict(labels or {}), "annotations": notes},
               "spec": {"nodeName": node, "containers": [{"name": "main", "image": "busybox"}]},
               "status": {"phase": phase, "podIP": "10.244.0.10"}}
        return self.put(PODS, namespace, pod)

    def history(self, res: Resource, namespace: str | None, name: str) -> builtins.list[dict[str, Any] | None]:
        """Every stored version of an object, oldest first; None marks a deletion."""
        def read() -> builtins.list[dict[str, Any] | None]:
            key = (res, namespace, name)
            if key not in self.emulator.objects:
                return []
            return [None if v is None else dict(v.raw) for v in self.emulator.objects[key].history]

        return self.call(read)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        """Poll ``predicate`` (e.g. on the store) until true; AssertionError naming ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.02)

    def l2network(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.get(L2NETWORKS, namespace, name)

    def nad(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.get(NADS, namespace, name)
