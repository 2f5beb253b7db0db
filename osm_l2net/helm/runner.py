"""The only module that runs helm (helm 3 CLI).

Every call is an argv list (never a shell). Values and post-renderer metadata travel in files created 0600 with
``os.open`` in a private 0700 folder, removed in ``finally`` (and by a later run if this one was killed); the
kubeconfig is passed by path with ``--kubeconfig`` and never read here.
Failures raise :class:`~osm_l2net.core.errors.ToolError` with argv, exit code and the tail of stderr; faults a retry may
cure (API unreachable, 5xx, deadlines) raise :class:`TemporaryToolError`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shlex
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osm_l2net.core import yamlsafe
from osm_l2net.core.errors import NO_POD_TEMPLATE, AttachmentError, TemporaryToolError, ToolAccessDenied, ToolError
from osm_l2net.core.plan import KduPlan, plain
from osm_l2net.helm.postrender import PodMetadata, is_hook, pod_templates
from osm_l2net.helm.postrender import command as post_render_command
from osm_l2net.local import scratch

log = logging.getLogger(__name__)

ENV_HELM = "OSM_L2NET_HELM"
_REPO = Path(__file__).resolve().parents[2]
GRACE_SECONDS = 30.0  # helm gets this long beyond its own --timeout before we stop it
STOP_SECONDS = 10.0  # after SIGTERM (helm then cancels the operation) before SIGKILL

# helm prints the client-go error text; these mean the API server was unreachable, overloaded or slow.
_TEMPORARY = re.compile(
    r"connection refused|connection reset|i/o timeout|context deadline exceeded|tls handshake timeout"
    r"|timed out waiting|too many requests|unable to handle the request|try again later|service unavailable|bad gateway"
    r"|gateway timeout|internal ?error|an error on the server|no route to host|unexpected eof|etcdserver"
    r"|server sent goaway|status code 5\d\d|request did not complete within|unable to return a response in the time",
    re.IGNORECASE,
)
# helm's text when the API server refused its credentials (401) or its RBAC (403)
# (RBAC: 'is forbidden: User "u" cannot create resource …'; not an admission refusal such as PodSecurity's)
_DENIED = re.compile(r"forbidden: user |\bunauthorized\b|provide credentials|you must be logged in", re.IGNORECASE)
# a whole release's manifests: larger than one input file may be, same depth and alias bounds
_MANIFEST_LIMITS = yamlsafe.YamlLimits(max_bytes=256 * yamlsafe.MIB)
_NOT_FOUND = re.compile(r"release: not found|release not found", re.IGNORECASE)


def default_helm_binary() -> str:
    """``$OSM_L2NET_HELM``; else ``.tools/bin/helm`` (scripts/fetch-helm) when run from a checkout; else ``helm``."""
    configured = os.environ.get(ENV_HELM)
    if configured:
        return configured
    local = _REPO / ".tools" / "bin" / "helm"
    is_checkout = (_REPO / ".git").exists() or (_REPO / "pyproject.toml").is_file()
    if is_checkout and os.access(local, os.X_OK):
        return str(local)
    return "helm"


@dataclass(frozen=True)
class HelmSettings:
    binary: str = field(default_factory=default_helm_binary)
    kubeconfig: str | None = None  # a path; None = helm's default ($KUBECONFIG, ~/.kube/config)
    kube_context: str | None = None
    atomic: bool = True  # as OSM's helm 3 connector: a failed install/upgrade is rolled back
    wait: bool = True
    timeout: float = 300.0  # seconds; helm's --timeout, and (plus a grace) the limit on every helm process
    extra_flags: tuple[str, ...] = ()  # added to install/upgrade, e.g. ("--disable-openapi-validation",)
    uninstall_flags: tuple[str, ...] = ()  # uninstall rejects most install flags, hence a separate tuple
    create_namespace: bool = True
    tmp_dir: str | None = None  # where values/metadata files go (default: the system temp dir)


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    revision: int
    status: str
    chart: str = ""
    app_version: str = ""

    @classmethod
    def from_listing(cls, item: Mapping[str, Any]) -> Release:
        """One entry of ``helm list -o json``."""
        return cls(
            str(item["name"]),
            str(item["namespace"]),
            int(item["revision"]),
            str(item["status"]),
            str(item.get("chart", "")),
            str(item.get("app_version", "")),
        )

    @classmethod
    def from_release(cls, data: Mapping[str, Any]) -> Release:
        """The release object printed by ``helm install|upgrade|status -o json``."""
        meta = (data.get("chart") or {}).get("metadata") or {}
        chart = f"{meta['name']}-{meta['version']}" if "name" in meta and "version" in meta else ""
        return cls(
            str(data["name"]),
            str(data["namespace"]),
            int(data["version"]),
            str((data.get("info") or {}).get("status", "")),
            chart,
            str(meta.get("appVersion", "")),
        )


@dataclass(frozen=True)
class DeployedRelease:
    """A release as it is in the cluster: what an apply compares with its plan (``config``: the user-supplied
    values, not merged with the chart's defaults; ``chart``: ``<name>-<version>`` as ``helm list`` prints it)."""

    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    config: Mapping[str, Any] = field(hash=False, repr=False)  # may hold secrets: never in a repr or a log
    manifests: tuple[Mapping[str, Any], ...] = field(hash=False, repr=False)


class Helm:
    def __init__(self, settings: HelmSettings | None = None) -> None:
        self.settings = settings or HelmSettings()
        sweep_once(self.settings.tmp_dir)  # a killed run's values files go even if this run writes none

    # --- mutations -------------------------------------------------------------------------------------------
    def install(
        self,
        release: str,
        chart: str,
        namespace: str,
        values: Mapping[str, Any] | None = None,
        post_renderer: Sequence[str] | None = None,
        *,
        version: str | None = None,
    ) -> Release:
        args = ["install", release, chart, *self._change_flags(namespace, version)]
        if self.settings.create_namespace:
            args.append("--create-namespace")
        return self._change(args, values, post_renderer)

    def upgrade(
        self,
        release: str,
        chart: str,
        namespace: str,
        values: Mapping[str, Any] | None = None,
        post_renderer: Sequence[str] | None = None,
        *,
        version: str | None = None,
        install: bool = False,
        reuse_values: bool = False,
    ) -> Release:
        """Upgrade; ``values`` replace the release's values unless ``reuse_values`` (then they are merged in)."""
        args = ["upgrade", release, chart, *self._change_flags(namespace, version)]
        args.append("--reuse-values" if reuse_values else "--reset-values")
        if install:
            args.append("--install")
            if self.settings.create_namespace:
                args.append("--create-namespace")
        return self._change(args, values, post_renderer)

    def rollback(self, release: str, namespace: str, revision: int) -> None:
        """Roll ``release`` back to ``revision`` (a new revision with that one's chart and values), waiting as
        install does: how an apply undoes an upgrade it made when a later step of the same run fails."""
        args = ["rollback", release, str(revision), "--namespace", namespace, "--timeout", self._timeout_flag()]
        if self.settings.wait:
            args.append("--wait")
        self._run(args, timeout=self._op_timeout())

    def uninstall(self, release: str, namespace: str) -> bool:
        """Uninstall; True if the release existed, False if it was already absent (idempotent)."""
        args = ["uninstall", release, "--namespace", namespace, "--timeout", self._timeout_flag()]
        if self.settings.wait:
            args.append("--wait")
        try:
            self._run([*args, *self.settings.uninstall_flags], timeout=self._op_timeout())
        except ToolError as e:
            if _NOT_FOUND.search(e.stderr_tail):
                log.debug("helm release %s/%s already absent", namespace, release)
                return False
            raise
        return True

    # --- queries ---------------------------------------------------------------------------------------------
    def list_releases(self, namespace: str | None = None) -> list[Release]:
        """Releases in every state (deployed, failed, pending…) of ``namespace``, or of all namespaces when None."""
        scope = ["--all-namespaces"] if namespace is None else ["--namespace", namespace]
        out = self._run(["list", *scope, "--all", "--max", "0", "--output", "json"])
        items = self._json(out, ["list", *scope])
        if not isinstance(items, list):
            raise ToolError([self.settings.binary, "list"], 0, f"expected a JSON list, got {type(items).__name__}")
        return [Release.from_listing(i) for i in items]

    def status(self, release: str, namespace: str) -> dict[str, Any] | None:
        """``helm status -o json`` as a dict, or None when the release does not exist."""
        try:
            out = self._run(["status", release, "--namespace", namespace, "--output", "json"])
        except ToolError as e:
            if _NOT_FOUND.search(e.stderr_tail):
                return None
            raise
        data = self._json(out, ["status", release])
        return data if isinstance(data, dict) else None

    def deployed(self, release: str, namespace: str) -> DeployedRelease | None:
        """What is deployed under ``release`` (None: no such release): from ``helm status -o json`` (state,
        revision, the user-supplied values as ``helm get values`` prints them, the manifest) and ``helm list`` (the
        chart: ``status`` omits it). Reads only."""
        status = self.status(release, namespace)
        if status is None:
            return None
        listed = self._run(["list", "--namespace", namespace, "--all", "--max", "0", "--output", "json",
                            "--filter", f"^{re.escape(release)}$"])
        rows = self._json(listed, ["list", "--filter", release])
        chart = next((str(r.get("chart", "")) for r in rows or [] if r.get("name") == release), "")
        config = status.get("config")
        manifest = str(status.get("manifest") or "")
        return DeployedRelease(release, namespace, int(status.get("version") or 0),
                               str((status.get("info") or {}).get("status", "")), chart,
                               config if isinstance(config, dict) else {},
                               tuple(parse_manifests(manifest, [self.settings.binary, "status", release])))

    def show_chart(self, chart: str, *, version: str | None = None) -> dict[str, Any]:
        """The chart's metadata (its Chart.yaml), as ``helm show chart`` reads it: a folder, an archive or a repo
        reference (the repo's index, as install would use). Does not contact the cluster."""
        args = ["show", "chart", chart, *(["--version", version] if version else [])]
        docs = parse_manifests(self._run(args, cluster=False), [self.settings.binary, *args])
        return docs[0] if docs else {}

    def get_values(self, release: str, namespace: str, *, all_values: bool = False) -> dict[str, Any]:
        """The user-supplied values of a release (chart defaults merged in when ``all_values``)."""
        args = ["get", "values", release, "--namespace", namespace, "--output", "json"]
        data = self._json(self._run([*args, "--all"] if all_values else args), args)
        return data if isinstance(data, dict) else {}

    def get_manifest(self, release: str, namespace: str) -> list[dict[str, Any]]:
        """The installed release's manifests (hooks excluded, as helm stores them)."""
        args = ["get", "manifest", release, "--namespace", namespace]
        return parse_manifests(self._run(args), [self.settings.binary, *args])

    def template(
        self,
        release: str,
        chart: str,
        namespace: str,
        values: Mapping[str, Any] | None = None,
        post_renderer: Sequence[str] | None = None,
        *,
        version: str | None = None,
    ) -> list[dict[str, Any]]:
        """Render offline (no cluster contacted) and parse: what install would send, hooks included."""
        args = ["template", release, chart, "--namespace", namespace, *(["--version", version] if version else [])]
        with self._values_file(values) as path:
            argv = [*args, "--values", path, *_post_renderer_flags(post_renderer)]
            out = self._run(argv, cluster=False)
        return parse_manifests(out, [self.settings.binary, *args])

    def version(self) -> str:
        return self._run(["version", "--short"], cluster=False).strip()

    # --- files ------------------------------------------------------------------------------------------------
    @contextmanager
    def attachment_post_renderer(self, pod: PodMetadata | KduPlan) -> Iterator[list[str]]:
        """Yield the argv of a post-renderer attaching pods as ``pod`` says; its metadata file is 0600, then removed."""
        metadata = pod if isinstance(pod, PodMetadata) else pod_metadata(pod)
        content = json.dumps(metadata.as_dict(), sort_keys=True).encode()
        with private_file(content, suffix=".json", directory=self.settings.tmp_dir) as path:
            yield post_render_command(path)

    @contextmanager
    def _values_file(self, values: Mapping[str, Any] | None) -> Iterator[str]:
        # JSON is YAML without YAML 1.1's traps: helm would read an unquoted "y" or "1e3" as a bool or a number
        content = json.dumps(plain(values or {}), indent=1, default=str).encode()
        with private_file(content, suffix=".json", directory=self.settings.tmp_dir) as path:
            yield path

    # --- plumbing ---------------------------------------------------------------------------------------------
    def _change(
        self, args: list[str], values: Mapping[str, Any] | None, post_renderer: Sequence[str] | None
    ) -> Release:
        with self._values_file(values) as path:
            argv = [*args, "--values", path, *_post_renderer_flags(post_renderer), *self.settings.extra_flags]
            out = self._run(argv, timeout=self._op_timeout(self.settings.atomic))
        data = self._json(out, args[:2])
        if not isinstance(data, dict):
            raise ToolError([self.settings.binary, *args], 0, f"expected a release object, got {type(data).__name__}")
        return Release.from_release(data)

    def _change_flags(self, namespace: str, version: str | None) -> list[str]:
        flags = ["--namespace", namespace, "--output", "json", "--timeout", self._timeout_flag()]
        if version:
            flags += ["--version", version]
        if self.settings.atomic:
            flags.append("--atomic")
        if self.settings.wait:
            flags.append("--wait")
        return flags

    def _timeout_flag(self) -> str:
        return f"{max(1, round(self.settings.timeout))}s"

    def _op_timeout(self, atomic: bool = False) -> float:
        # --atomic: after a failure helm waits for its rollback (or uninstall) as long again: it must not be stopped
        # in the middle of restoring the release
        return self.settings.timeout * (2 if atomic else 1) + GRACE_SECONDS

    def _global_flags(self) -> list[str]:
        flags = ["--kubeconfig", self.settings.kubeconfig] if self.settings.kubeconfig else []
        return flags + (["--kube-context", self.settings.kube_context] if self.settings.kube_context else [])

    def _run(self, args: Sequence[str], *, cluster: bool = True, timeout: float | None = None) -> str:
        argv = [self.settings.binary, *args, *(self._global_flags() if cluster else [])]
        returncode, out, err = run_process(argv, timeout or self._op_timeout())
        if returncode != 0:
            raise _tool_error(argv, returncode, err)
        if err.strip():
            log.debug("helm stderr: %s", err.strip()[-500:])
        return out

    def _json(self, out: str, what: Sequence[str]) -> Any:
        # the output is not quoted in the error: release objects carry the values, which may hold secrets
        try:
            return json.loads(out) if out.strip() else None
        except json.JSONDecodeError as e:
            raise ToolError([self.settings.binary, *what], 0, f"helm printed invalid JSON ({e})") from e


def _tool_error(argv: Sequence[str], returncode: int, err: str) -> ToolError:
    if is_temporary(err):
        return TemporaryToolError(argv, returncode, err)
    if _DENIED.search(err):
        return ToolAccessDenied(argv, returncode, err)
    return ToolError(argv, returncode, err)


def is_temporary(stderr: str) -> bool:
    """Whether helm's error text says the API server was unreachable, overloaded or slow (a retry may help)."""
    return _TEMPORARY.search(stderr) is not None


def run_process(argv: Sequence[str], timeout: float) -> tuple[int, str, str]:
    """Run ``argv`` (no shell) in a new process group; on timeout or interruption stop it (helm + post-renderer)."""
    log.debug("running %s", shlex.join(argv))
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as e:
        hint = f"; set {ENV_HELM} or run scripts/fetch-helm" if isinstance(e, FileNotFoundError) else ""
        raise ToolError(argv, 127, f"cannot run {argv[0]}: {e.strerror or e}{hint}") from e
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as e:
        _stop(proc)
        raise TemporaryToolError(argv, -signal.SIGTERM, f"no result after {timeout:g}s; stopped") from e
    except BaseException:
        _stop(proc)
        raise
    return proc.returncode, out, err


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM lets helm cancel its operation cleanly; SIGKILL if it does not exit in time."""
    for sig, wait in ((signal.SIGTERM, STOP_SECONDS), (signal.SIGKILL, None)):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.communicate(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


SCRATCH_PREFIX = "osm-l2net-helm-"  # folders of values/metadata files (only these are swept)
_swept: set[str] = set()


def sweep_once(directory: str | None) -> None:
    """Remove, once per process and folder, the scratch folders of runs that were killed (SIGKILL)."""
    parent = directory or tempfile.gettempdir()
    if parent not in _swept:
        _swept.add(parent)
        scratch.sweep(parent, SCRATCH_PREFIX)


@contextmanager
def private_file(content: bytes, *, suffix: str, directory: str | None = None) -> Iterator[str]:
    """A new file readable by us only (0600 in a new 0700 folder), removed with its folder whatever happens.

    The folder is locked while we live (:mod:`osm_l2net.local.scratch`): one left by a run killed with SIGKILL is removed
    by a later run's first :class:`Helm` or values file in the same temp folder. SIGTERM/SIGINT unwind through ``finally``
    when the process turns them into exceptions, as the CLI does.
    """
    parent = directory or tempfile.gettempdir()
    sweep_once(parent)
    with scratch.private_dir(parent, SCRATCH_PREFIX) as folder:
        path = str(folder / f"file-{secrets.token_hex(4)}{suffix}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        yield path


def parse_manifests(text: str, argv: Sequence[str] = ("helm",)) -> list[dict[str, Any]]:
    """A helm manifest stream as a list of objects (empty documents dropped, order kept)."""
    try:
        docs = yamlsafe.load_all(text, _MANIFEST_LIMITS, keep_empty=True)
    except yamlsafe.YamlInputError as e:
        raise ToolError(argv, 0, f"helm printed invalid YAML: {e}") from e
    bad = [d for d in docs if d is not None and not isinstance(d, dict)]
    if bad:
        raise ToolError(argv, 0, f"helm printed a document that is not an object: {str(bad[0])[:200]}")
    return [d for d in docs if d is not None]


def pod_metadata(kdu: KduPlan) -> PodMetadata:
    return PodMetadata(labels=dict(kdu.pod_labels), annotations=dict(kdu.pod_annotations))


def check_attachment(manifests: Sequence[Mapping[str, Any]], kdu: KduPlan) -> list[str]:
    """Problems with the KDU's attachment in rendered manifests: every pod template must carry its labels/annotations.

    Hooks are skipped: helm 3 does not post-render them and they are not the KNF's pods (test pods, jobs).
    A KDU with nothing to attach has no problems.
    """
    if not kdu.pod_labels and not kdu.pod_annotations:
        return []
    templates = [t for doc in manifests if not is_hook(doc) for t in pod_templates(dict(doc))]
    if not templates:
        return [f"KDU {kdu.key}: {NO_POD_TEMPLATE} (nothing that could be attached to its networks)"]
    problems = []
    for template in templates:
        wrong = _mismatches(template.meta("labels"), kdu.pod_labels, "label")
        wrong += _mismatches(template.meta("annotations"), kdu.pod_annotations, "annotation")
        if wrong:
            problems.append(f"{template.ref}: {', '.join(wrong)}")
    return problems


def _mismatches(have: Mapping[str, Any], want: Mapping[str, str], what: str) -> list[str]:
    return [
        f"{what} {key} missing" if key not in have else f"{what} {key} is {have[key]!r}, expected {value!r}"
        for key, value in sorted(want.items())
        if have.get(key) != value
    ]


def verify_release(
    helm: Helm,
    kdu: KduPlan,
    release: str,
    *,
    chart: str | None = None,
    values: Mapping[str, Any] | None = None,
    post_renderer: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Check the attachment before install (``chart`` given: ``helm template``) or after (``helm get manifest``).

    Returns the manifests checked; raises :class:`AttachmentError` naming each pod template missing its attachment.
    """
    if chart is not None:
        values = kdu.values if values is None else values
        manifests = helm.template(release, chart, kdu.namespace, values, post_renderer)
    else:
        manifests = helm.get_manifest(release, kdu.namespace)
    problems = check_attachment(manifests, kdu)
    if problems:
        raise AttachmentError(release, problems)
    return manifests


def _post_renderer_flags(post_renderer: Sequence[str] | None) -> list[str]:
    if not post_renderer:
        return []
    # "--flag=value" so that arguments starting with "-" (python's "-m") are not taken for flags
    return [f"--post-renderer={post_renderer[0]}", *(f"--post-renderer-args={a}" for a in post_renderer[1:])]
