"""Test doubles of the OSM LCM parts the connector touches (OSM is not installable here: not on PyPI).

- ``OsmDbDouble``: osm_common's db interface (``get_one``, ``get_list``, ``set_one``, ``create``, ``del_one``) over
  in-memory collections, with MongoDB's dotted-path filter semantics (``_admin.deployed.K8s.kdu-instance`` matches any
  list element), returning copies as MongoDB does.
- ``FsDouble``: osm_common's fs (``path``, ``sync``, ``reverse_sync``, ``file_exists``) over a local folder; ``sync``
  is recorded.
- ``K8sHelm3ConnectorDouble``: OSM Release NINETEEN's ``K8sHelm3Connector`` constructor and ``install``/``uninstall``
  signatures (shared/reference/osm.md). ``install`` creates the namespace with the real kubectl, then runs the real
  helm binary against the cluster whose kubeconfig is at ``<fs.path>/<cluster_uuid>/.kube/config``, the values (``params``)
  in a 0600 file given with ``-f``; ``uninstall`` finds the release with ``helm list --all-namespaces`` and runs
  ``helm uninstall``. Differences from the real one, because the Kubernetes API test double has no controllers and no
  OpenAPI document: ``--atomic`` is not passed (it implies ``--wait``) and ``--disable-openapi-validation`` is.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class DbExceptionDouble(Exception):
    """osm_common's DbException: ``http_code`` 404 when nothing matches, 409 on duplicates."""

    def __init__(self, message: str, http_code: int = 404) -> None:
        super().__init__(message)
        self.http_code = http_code


def _values_at(doc: Any, parts: list[str]) -> list[Any]:
    """Every value at a dotted path, descending into lists as MongoDB does (a numeric part indexes a list)."""
    if not parts:
        return [doc]
    head, rest = parts[0], parts[1:]
    if isinstance(doc, list):
        if head.isdigit():
            return _values_at(doc[int(head)], rest) if int(head) < len(doc) else []
        return [v for item in doc for v in _values_at(item, parts)]
    if isinstance(doc, Mapping) and head in doc:
        return _values_at(doc[head], rest)
    return []


def _matches(doc: Mapping[str, Any], q_filter: Mapping[str, Any] | None) -> bool:
    for key, wanted in (q_filter or {}).items():
        found = _values_at(doc, key.split("."))
        flat = [x for v in found for x in (v if isinstance(v, list) else [v])]
        if wanted not in found and wanted not in flat:
            return False
    return True


def _set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    node: Any = doc
    parts = dotted.split(".")
    for i, part in enumerate(parts[:-1]):
        nxt_is_index = parts[i + 1].isdigit()
        if isinstance(node, list):
            node = node[int(part)]
            continue
        if part not in node or node[part] is None:
            node[part] = [] if nxt_is_index else {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        index = int(last)
        node.extend([None] * (index + 1 - len(node)))
        node[index] = value
    else:
        node[last] = value


class OsmDbDouble:
    """In-memory osm_common db (see the module docstring). Thread-safe; ``calls`` records (method, table, filter)."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def _record(self, method: str, table: str, q_filter: Mapping[str, Any] | None) -> None:
        self.calls.append((method, table, dict(q_filter or {})))

    def get_list(self, table: str, q_filter: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            self._record("get_list", table, q_filter)
            return [copy.deepcopy(d) for d in self.tables.get(table, []) if _matches(d, q_filter)]

    def get_one(self, table: str, q_filter: Mapping[str, Any] | None = None, fail_on_empty: bool = True,
                fail_on_more: bool = True) -> dict[str, Any] | None:
        with self._lock:
            self._record("get_one", table, q_filter)
            found = [d for d in self.tables.get(table, []) if _matches(d, q_filter)]
        if not found:
            if fail_on_empty:
                raise DbExceptionDouble(f"Not found entry with filter='{q_filter}'", 404)
            return None
        if len(found) > 1 and fail_on_more:
            raise DbExceptionDouble(f"Found more than one {table} with filter='{q_filter}'", 409)
        return copy.deepcopy(found[0])

    def create(self, table: str, indata: Mapping[str, Any]) -> str:
        with self._lock:
            doc = copy.deepcopy(dict(indata))
            doc.setdefault("_id", str(uuid.uuid4()))
            if any(d["_id"] == doc["_id"] for d in self.tables.get(table, [])):
                raise DbExceptionDouble(f"database exception Duplicate _id {doc['_id']}", 409)
            self.tables.setdefault(table, []).append(doc)
            self._record("create", table, {"_id": doc["_id"]})
            return str(doc["_id"])

    def set_one(self, table: str, q_filter: Mapping[str, Any], update_dict: Mapping[str, Any],
                fail_on_empty: bool = True, **kwargs: Any) -> dict[str, Any] | None:
        with self._lock:
            self._record("set_one", table, q_filter)
            found = [d for d in self.tables.get(table, []) if _matches(d, q_filter)]
            if not found:
                if fail_on_empty:
                    raise DbExceptionDouble(f"Not found entry with filter='{q_filter}'", 404)
                return None
            for key, value in update_dict.items():
                _set_path(found[0], key, copy.deepcopy(value))
            return {"updated": 1}

    def del_one(self, table: str, q_filter: Mapping[str, Any] | None = None,
                fail_on_empty: bool = True) -> dict[str, Any] | None:
        with self._lock:
            self._record("del_one", table, q_filter)
            docs = self.tables.get(table, [])
            for i, d in enumerate(docs):
                if _matches(d, q_filter):
                    del docs[i]
                    return {"deleted": 1}
        if fail_on_empty:
            raise DbExceptionDouble(f"Not found entry with filter='{q_filter}'", 404)
        return None


class FsDouble:
    """osm_common's fs over a local folder: ``path`` ends with '/', as OSM's does; ``sync`` only records."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.path = str(root) + "/"
        self.synced: list[str | None] = []
        self._lock = threading.Lock()

    def sync(self, from_path: str | None = None) -> None:
        with self._lock:
            self.synced.append(from_path)

    def reverse_sync(self, from_path: str) -> None:
        with self._lock:
            self.synced.append(f"reverse:{from_path}")

    def file_exists(self, storage: str | list[str], mode: str | None = None) -> bool:
        """osm_common's fsbase.file_exists: ``storage`` relative to ``path`` (a str or path parts); ``mode`` "file"
        or "dir" (None: either). LCM's deploy_kdus asks it where a package's chart is."""
        target = Path(self.path, *([storage] if isinstance(storage, str) else storage))
        if mode == "file":
            return target.is_file()
        if mode == "dir":
            return target.is_dir()
        return target.exists()

    def add_cluster(self, cluster_uuid: str, kubeconfig: Path) -> Path:
        """Store a cluster's credentials where N2VC keeps them: ``<path>/<cluster_uuid>/.kube/config`` (0600)."""
        target = Path(self.path) / cluster_uuid / ".kube" / "config"
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(kubeconfig.read_text())
        return target


class K8sExceptionDouble(Exception):
    """N2VC's K8sException."""


class K8sHelm3ConnectorDouble:
    """Stand-in for OSM's ``K8sHelm3Connector`` (see the module docstring). ``installs`` records every install's
    (kdu_instance, params, namespace) in call order; ``events`` records ('install'|'uninstall', kdu_instance, 'start'|'end')."""

    def __init__(self, fs: Any, db: Any, kubectl_command: str = "/usr/bin/kubectl", helm_command: str = "/usr/bin/helm3",
                 log: Any = None, on_update_db: Any = None) -> None:
        for name, command in (("kubectl", kubectl_command), ("helm", helm_command)):
            if not Path(command).is_file():  # as the real constructor
                raise K8sExceptionDouble(f"Invalid {name} command path: {command}")
        self.fs, self.db = fs, db
        self.kubectl_command, self._helm_command = kubectl_command, helm_command
        self.log = log or logging.getLogger("lcm.k8s")
        self.on_update_db = on_update_db
        self.installs: list[tuple[str, dict[str, Any], str | None]] = []
        self.events: list[tuple[str, str, str]] = []

    # ---- helpers -----------------------------------------------------------------------------------------------
    def _env(self, cluster_uuid: str) -> dict[str, str]:
        base = Path(self.fs.path) / cluster_uuid
        return {"KUBECONFIG": str(base / ".kube" / "config"), "HOME": str(base),
                "HELM_CACHE_HOME": str(base / ".cache" / "helm"), "HELM_CONFIG_HOME": str(base / ".config" / "helm"),
                "HELM_DATA_HOME": str(base / ".local" / "share" / "helm"), "PATH": os.environ.get("PATH", "")}

    async def _run(self, argv: list[str], env: dict[str, str], check: bool = True,
                   stdin: str | None = None) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE,
                                                    stdin=asyncio.subprocess.PIPE if stdin is not None else None)
        out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
        rc = proc.returncode or 0
        if check and rc != 0:
            raise K8sExceptionDouble(f"Error executing command: {' '.join(argv[:3])}: {err.decode()[-1000:]}")
        return rc, out.decode(), err.decode()

    # the real connector's private namespace helpers (same names and arguments; the osm-l2net connector uses them)
    async def _namespace_exists(self, cluster_id: str, namespace: str) -> bool:
        _, out, _ = await self._run([self.kubectl_command, "get", "namespaces", "-o=json"], self._env(cluster_id))
        return namespace in [item["metadata"]["name"] for item in json.loads(out)["items"]]

    async def _create_namespace(self, cluster_id: str, namespace: str) -> int:
        self.events.append(("create-namespace", namespace, "start"))
        # the real one runs 'kubectl create namespace <ns>', which sends protobuf; the API test double decodes only
        # the protobuf kinds helm writes, so the same object goes as JSON from a manifest
        manifest = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        rc, _, _ = await self._run([self.kubectl_command, "create", "--validate=false", "-f", "-"], self._env(cluster_id),
                                   stdin=manifest)
        return rc

    # ---- the v19 interface ----------------------------------------------------------------------------------
    async def install(self, cluster_uuid: str, kdu_model: str, kdu_instance: str, atomic: bool = True,
                      timeout: float = 300, params: dict[str, Any] | None = None,
                      db_dict: dict[str, Any] | None = None,
                      kdu_name: str | None = None, namespace: str | None = None, **kwargs: Any) -> bool:
        self.events.append(("install", kdu_instance, "start"))
        self.fs.sync(from_path=cluster_uuid)
        env = self._env(cluster_uuid)
        namespace = namespace or "kube-system"
        if namespace != "kube-system" and not await self._namespace_exists(cluster_uuid, namespace):
            try:  # concurrent installs race to create it, as in the real one: only a still-missing one is an error
                await self._create_namespace(cluster_uuid, namespace)
            except K8sExceptionDouble:
                if not await self._namespace_exists(cluster_uuid, namespace):
                    raise
        fd, values = tempfile.mkstemp(prefix="values-", suffix=".yaml")  # mkstemp: 0600
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(params or {}, f)  # JSON is YAML; no PyYAML/go-yaml scalar ambiguity
            argv = [self._helm_command, "install", kdu_instance, "--output", "yaml", "-f", values,
                    "--timeout", f"{int(timeout)}s", "--namespace", namespace, "--disable-openapi-validation", kdu_model]
            await self._run(argv, env)
        finally:
            os.unlink(values)
        self.installs.append((kdu_instance, copy.deepcopy(params or {}), namespace))
        self.events.append(("install", kdu_instance, "end"))
        return True

    async def uninstall(self, cluster_uuid: str, kdu_instance: str, **kwargs: Any) -> bool:
        self.events.append(("uninstall", kdu_instance, "start"))
        self.fs.sync(from_path=cluster_uuid)
        env = self._env(cluster_uuid)
        _, out, _ = await self._run([self._helm_command, "list", "--all-namespaces", "--output", "json"], env)
        release = next((r for r in json.loads(out or "[]") if r["name"] == kdu_instance), None)
        if release is not None:
            await self._run([self._helm_command, "uninstall", kdu_instance, f"--namespace={release['namespace']}"], env)
        self.events.append(("uninstall", kdu_instance, "end"))
        return True
