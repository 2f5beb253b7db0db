"""The helm runner with the real helm binary, on what needs no cluster: template, files, argv, errors, timeouts."""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import osm_l2net.helm.runner as helm_module
from osm_l2net.core.errors import ToolError
from osm_l2net.core.plan import KduPlan
from osm_l2net.helm.runner import (
    SCRATCH_PREFIX,
    AttachmentError,
    Helm,
    HelmSettings,
    TemporaryToolError,
    check_attachment,
    default_helm_binary,
    is_temporary,
    parse_manifests,
    private_file,
    run_process,
    verify_release,
)
from osm_l2net.local.scratch import sweep

from .conftest import HOOK_TEMPLATES, NO_HOOK_TEMPLATES, ChartFactory, make_kdu

pytestmark = pytest.mark.helm

# A post-renderer that records what the runner left in its temp dir while helm was running, then passes the stream on.
SPY = textwrap.dedent(
    """
    import json, os, stat, sys
    folder, record = sys.argv[1], sys.argv[2]
    seen = {}
    for sub in os.listdir(folder):  # one private folder per file
        folder_mode = stat.S_IMODE(os.stat(os.path.join(folder, sub)).st_mode)
        for name in os.listdir(os.path.join(folder, sub)):
            path = os.path.join(folder, sub, name)
            with open(path) as f:
                seen[name] = {"mode": stat.S_IMODE(os.stat(path).st_mode), "folder_mode": folder_mode,
                              "text": f.read()}
    with open(record, "w") as f:
        json.dump(seen, f)
    sys.stdout.write(sys.stdin.read())
    """
)


@pytest.fixture
def spy(tmp_path: Path, scratch: Path) -> tuple[list[str], Path]:
    script = tmp_path / "spy.py"
    script.write_text(SPY)
    record = tmp_path / "seen.json"
    return [sys.executable, str(script), str(scratch), str(record)], record


def test_template_parses_manifests_and_applies_values(helm: Helm, make_chart: ChartFactory) -> None:
    chart = make_chart("nohook", NO_HOOK_TEMPLATES, values="replicas: 1\n")
    manifests = helm.template("rel-a", str(chart), "osm-ns", {"replicas": 3})
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == ["CronJob", "Deployment", "Pod", "Service", "StatefulSet"]
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    assert deployment["metadata"]["name"] == "rel-a-web"
    assert deployment["spec"]["replicas"] == 3


def test_values_file_is_0600_during_the_call_and_removed_after(
    helm: Helm, make_chart: ChartFactory, spy: tuple[list[str], Path], scratch: Path
) -> None:
    post_renderer, record = spy
    chart = make_chart("nohook", NO_HOOK_TEMPLATES, values="replicas: 1\n")
    helm.template("rel-a", str(chart), "osm-ns", {"replicas": 4, "secret": "s3cr3t"}, post_renderer)
    seen = json.loads(record.read_text())
    [(name, entry)] = seen.items()
    assert name.endswith(".json")
    assert entry["mode"] == 0o600 and entry["folder_mode"] == 0o700
    assert json.loads(entry["text"]) == {"replicas": 4, "secret": "s3cr3t"}
    assert os.listdir(scratch) == [], "the values file must be removed after the call"


LOOKALIKES = {"a": "y", "b": "n", "c": "on", "d": "1e3", "e": "0755", "f": "no", "g": "2024-01-01", "h": "~"}


def test_values_that_look_like_yaml_booleans_or_numbers_stay_strings(helm: Helm, make_chart: ChartFactory) -> None:
    chart = make_chart(
        "strings",
        {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata:\n{{ toYaml .Values.data | indent 2 }}\n"},
    )
    [configmap] = helm.template("rel-a", str(chart), "osm-ns", {"data": LOOKALIKES})
    assert configmap["data"] == LOOKALIKES


def test_values_file_is_removed_when_helm_fails(helm: Helm, make_chart: ChartFactory, scratch: Path) -> None:
    chart = make_chart("broken", {"bad.yaml": "kind: {{ .Values.x | nosuchfunc }}\n"})
    with pytest.raises(ToolError):
        helm.template("rel-a", str(chart), "osm-ns", {"x": 1})
    assert os.listdir(scratch) == []


def test_private_file_is_created_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        with private_file(b"k: v\n", suffix=".yaml", directory=str(tmp_path)) as path:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert Path(path).read_bytes() == b"k: v\n"
    finally:
        os.umask(old)
    assert not os.path.exists(path)


def test_private_file_is_removed_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), private_file(b"x", suffix=".json", directory=str(tmp_path)):
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_private_file_lives_in_a_private_locked_folder(tmp_path: Path) -> None:
    with private_file(b"x", suffix=".json", directory=str(tmp_path)) as path:
        folder = Path(path).parent
        assert folder.parent == tmp_path and stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert sweep(tmp_path, SCRATCH_PREFIX, min_age=0) == 0, "a live run's folder is never swept"
    assert not folder.exists()


def test_a_folder_left_by_a_killed_run_is_removed_by_the_next(tmp_path: Path) -> None:
    code = ("import sys, os; from osm_l2net.helm.runner import private_file\n"
            "with private_file(b'secret', suffix='.json', directory=sys.argv[1]) as p:\n"
            "    print(p, flush=True); os.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.returncode == -9
    left = Path(proc.stdout.strip())
    assert left.read_bytes() == b"secret", "SIGKILL leaves the file: nothing could remove it"
    assert sweep(tmp_path, SCRATCH_PREFIX, min_age=0) == 1
    assert os.listdir(tmp_path) == []


def test_argv_is_a_list_without_shell(
    helm: Helm, make_chart: ChartFactory, monkeypatch: pytest.MonkeyPatch, helm_binary: str
) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    real_popen = subprocess.Popen

    def recording_popen(args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return real_popen(args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    chart = make_chart("hooked", HOOK_TEMPLATES)
    helm.template("rel-a", str(chart), "osm-ns", {"podLabels": {"a": "b"}})
    [(args, kwargs)] = calls
    assert isinstance(args, list) and all(isinstance(a, str) for a in args)
    assert not kwargs.get("shell", False)
    assert args[:5] == [helm_binary, "template", "rel-a", str(chart), "--namespace"]
    values_path = args[args.index("--values") + 1]
    assert values_path.startswith(str(helm.settings.tmp_dir))


def test_broken_chart_raises_tool_error_with_argv_exit_code_and_stderr(
    helm: Helm, make_chart: ChartFactory, helm_binary: str
) -> None:
    chart = make_chart("broken", {"bad.yaml": "kind: {{ .Values.x | nosuchfunc }}\n"})
    with pytest.raises(ToolError) as err:
        helm.template("rel-a", str(chart), "osm-ns", {})
    e = err.value
    assert not isinstance(e, TemporaryToolError)
    assert e.temporary is False
    assert e.argv[0] == helm_binary
    assert e.argv[1:3] == ("template", "rel-a")
    assert e.returncode == 1
    assert 'function "nosuchfunc" not defined' in e.stderr_tail
    assert "nosuchfunc" in str(e)


def test_missing_chart_is_a_permanent_error(helm: Helm, tmp_path: Path) -> None:
    with pytest.raises(ToolError) as err:
        helm.template("rel-a", str(tmp_path / "no-such-chart"), "osm-ns", {})
    assert err.value.temporary is False
    assert "no-such-chart" in err.value.stderr_tail


def test_missing_binary_says_how_to_get_helm(tmp_path: Path) -> None:
    helm = Helm(HelmSettings(binary=str(tmp_path / "nohelm")))
    with pytest.raises(ToolError) as err:
        helm.version()
    assert err.value.returncode == 127
    assert "OSM_L2NET_HELM" in str(err.value)


def test_version_is_helm_3(helm: Helm) -> None:
    assert helm.version().startswith("v3.")


def write_kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        textwrap.dedent(
            f"""
            apiVersion: v1
            kind: Config
            clusters: [{{name: c, cluster: {{server: "{server}"}}}}]
            users: [{{name: u, user: {{token: do-not-leak-this-token}}}}]
            contexts: [{{name: ctx, context: {{cluster: c, user: u}}}}]
            current-context: ctx
            """
        )
    )
    path.chmod(0o600)
    return path


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_cluster_is_temporary_and_kubeconfig_is_passed_by_path(helm: Helm, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{closed_port()}")
    unreachable = Helm(replace(helm.settings, kubeconfig=str(kubeconfig), kube_context="ctx"))
    for call in (unreachable.list_releases, lambda: unreachable.uninstall("r", "ns")):
        with pytest.raises(TemporaryToolError) as err:
            call()
        e = err.value
        assert e.temporary is True
        assert "connection refused" in e.stderr_tail
        pairs = list(itertools.pairwise(e.argv))
        assert ("--kubeconfig", str(kubeconfig)) in pairs
        assert ("--kube-context", "ctx") in pairs
        assert "do-not-leak-this-token" not in str(e)


def test_timeout_stops_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    # a parent that starts a child (as helm starts a post-renderer) and both hang
    script = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    with pytest.raises(TemporaryToolError) as err:
        run_process([sys.executable, "-c", script], timeout=1.5)
    assert time.monotonic() - started < 15
    assert err.value.temporary is True
    assert "no result after 1.5s" in str(err.value)
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the post-renderer-like child must be stopped too"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (not yet reaped by init) counts as stopped
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_sigterm_is_tried_before_sigkill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "terminated"
    script = (
        "import signal, sys, time\n"
        f"def bye(*_): open({str(marker)!r}, 'w').write('clean'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "time.sleep(60)\n"
    )
    with pytest.raises(TemporaryToolError) as err:
        run_process([sys.executable, "-c", script], timeout=1.0)
    assert err.value.returncode == -signal.SIGTERM
    assert marker.read_text() == "clean", "helm must get SIGTERM first so that it can cancel its operation"


@pytest.mark.parametrize(
    ("stderr", "temporary"),
    [
        (
            'Error: Kubernetes cluster unreachable: Get "https://10.0.0.1:6443/version": dial tcp: connection refused',
            True,
        ),
        ("Error: INSTALLATION FAILED: context deadline exceeded", True),
        ("Error: INSTALLATION FAILED: timed out waiting for the condition", True),
        ("Error: the server is currently unable to handle the request (get secrets)", True),
        ('Error: an error on the server ("unknown") has prevented the request from succeeding', True),
        ("Error: Internal error occurred: etcdserver: request timed out", True),
        ("Error: Too many requests, please try again later", True),
        ("Error: INSTALLATION FAILED: cannot re-use a name that is still in use", False),
        ("Error: INSTALLATION FAILED: secrets is forbidden: User cannot create resource", False),
        ("Error: uninstall: Release not loaded: r: release: not found", False),
        ("Error: Kubernetes cluster unreachable: invalid configuration: no configuration has been provided", False),
        ('Error: parse error at (c/templates/bad.yaml:1): function "x" not defined', False),
    ],
)
def test_error_classification(stderr: str, temporary: bool) -> None:
    assert is_temporary(stderr) is temporary


def test_default_binary_prefers_env_then_checkout_then_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OSM_L2NET_HELM", "/opt/helm3/helm")
    assert default_helm_binary() == "/opt/helm3/helm"
    assert HelmSettings().binary == "/opt/helm3/helm"
    monkeypatch.delenv("OSM_L2NET_HELM")
    monkeypatch.setattr(helm_module, "_REPO", tmp_path)
    assert default_helm_binary() == "helm", "not a checkout: helm from PATH"
    (tmp_path / "pyproject.toml").write_text("")
    assert default_helm_binary() == "helm", "a checkout without .tools/bin/helm: helm from PATH"
    tool = tmp_path / ".tools" / "bin" / "helm"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert default_helm_binary() == str(tool)


def test_parse_manifests_drops_empty_documents_and_rejects_garbage() -> None:
    assert parse_manifests("---\n# c\n---\nkind: A\n---\n\n---\nkind: B\n") == [{"kind": "A"}, {"kind": "B"}]
    with pytest.raises(ToolError, match="not an object"):
        parse_manifests("---\n- a\n")
    with pytest.raises(ToolError, match="invalid YAML"):
        parse_manifests("kind: [\n")


# --- attachment check -------------------------------------------------------------------------------------------


def test_check_attachment_names_each_pod_template_and_what_is_wrong(helm: Helm, make_chart: ChartFactory, kdu: KduPlan) -> None:
    chart = make_chart("hooked", HOOK_TEMPLATES)
    values = {"podLabels": {"l2sm": "true"}, "podAnnotations": {"l2sm/networks": "[]"}}
    problems = check_attachment(helm.template("rel-a", str(chart), "osm-ns", values), kdu)
    assert problems == [
        "Deployment/rel-a: label osm.etsi.org/ns-id missing, "
        f"annotation l2sm/networks is '[]', expected {kdu.pod_annotations['l2sm/networks']!r}"
    ]


def test_check_attachment_passes_when_the_values_hook_carries_the_plan(
    helm: Helm, make_chart: ChartFactory, kdu: KduPlan
) -> None:
    chart = make_chart("hooked", HOOK_TEMPLATES)
    assert check_attachment(helm.template("rel-a", str(chart), "osm-ns", kdu.values), kdu) == []


def test_check_attachment_without_pod_templates_is_a_problem(kdu: KduPlan) -> None:
    manifests = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]
    hook_pod = {"kind": "Pod", "metadata": {"name": "t", "annotations": {"helm.sh/hook": "test"}}, "spec": {}}
    for docs in (manifests, [*manifests, hook_pod], []):
        [problem] = check_attachment(docs, kdu)
        assert "renders no pod template" in problem
    assert check_attachment(manifests, make_kdu(labels={}, annotations={})) == [], "nothing to attach: no problem"


def test_check_attachment_ignores_hooks_but_checks_lists(kdu: KduPlan) -> None:
    good = {
        "kind": "Pod",
        "metadata": {"name": "p", "labels": dict(kdu.pod_labels), "annotations": dict(kdu.pod_annotations)},
    }
    bad_job = {
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"template": {"metadata": {"labels": {"l2sm": "true"}}}},
    }
    hook = {**bad_job, "metadata": {"name": "h", "annotations": {"helm.sh/hook": "pre-install"}}}
    problems = check_attachment([good, hook, {"kind": "List", "items": [bad_job]}], kdu)
    assert problems == [
        "Job/j: label osm.etsi.org/ns-id missing, annotation l2sm/networks missing",
    ]


def test_verify_release_before_install_explains_and_suggests_the_post_renderer(
    helm: Helm, make_chart: ChartFactory, kdu: KduPlan
) -> None:
    chart = make_chart("nohook", NO_HOOK_TEMPLATES, values="replicas: 1\n")
    with pytest.raises(AttachmentError) as err:
        verify_release(helm, kdu, "cdn-1", chart=str(chart))
    e = err.value
    assert e.exit_code == 1
    assert e.release == "cdn-1"
    assert sorted(p.split(":")[0] for p in e.problems) == [
        "CronJob/cdn-1-tick",
        "Deployment/cdn-1-web",
        "StatefulSet/cdn-1-db",
    ]
    message = str(e)
    assert "release cdn-1" in message and "Deployment/cdn-1-web" in message
    assert "osm-l2net post-render --metadata FILE" in message

    with helm.attachment_post_renderer(kdu) as post_renderer:
        manifests = verify_release(helm, kdu, "cdn-1", chart=str(chart), post_renderer=post_renderer)
    assert len([m for m in manifests if m["kind"] == "Deployment"]) == 1


def test_verify_release_without_pods_does_not_suggest_the_post_renderer(
    helm: Helm, make_chart: ChartFactory, kdu: KduPlan
) -> None:
    chart = make_chart("config-only", {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"})
    with pytest.raises(AttachmentError) as err:
        verify_release(helm, kdu, "cfg-1", chart=str(chart))
    assert "renders no pod template" in str(err.value)
    assert "post-render" not in str(err.value)


def test_debug_log_shows_argv_but_never_values(helm: Helm, make_chart: ChartFactory, caplog: pytest.LogCaptureFixture) -> None:
    chart = make_chart("hooked", HOOK_TEMPLATES)
    with caplog.at_level(logging.DEBUG, logger="osm_l2net.helm.runner"):
        helm.template("rel-a", str(chart), "osm-ns", {"password": "hunter2-secret"})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"{helm.settings.binary} template rel-a {chart}" in logged
    assert "hunter2-secret" not in logged


def test_verify_release_uses_the_plan_values_by_default(helm: Helm, make_chart: ChartFactory, kdu: KduPlan) -> None:
    chart = make_chart("hooked", HOOK_TEMPLATES)
    manifests = verify_release(helm, kdu, "cdn-1", chart=str(chart))
    assert {m["kind"] for m in manifests} == {"Deployment", "ConfigMap"}
    with pytest.raises(AttachmentError):
        verify_release(helm, kdu, "cdn-1", chart=str(chart), values={})


def test_settings_become_helm_flags(helm: Helm, make_chart: ChartFactory, tmp_path: Path, kdu: KduPlan) -> None:
    """Against an unreachable API server helm fails after parsing every flag: the argv it refused to run with is kept."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{closed_port()}")
    settings = replace(
        helm.settings,
        kubeconfig=str(kubeconfig),
        timeout=42,
        extra_flags=("--disable-openapi-validation",),
        uninstall_flags=("--cascade", "foreground"),
    )
    chart = str(make_chart("hooked", HOOK_TEMPLATES))
    runner = Helm(settings)
    with runner.attachment_post_renderer(kdu) as post_renderer, pytest.raises(TemporaryToolError) as err:
        runner.install("rel-a", chart, "osm-ns", {}, post_renderer, version="0.1.0")
    argv = err.value.argv
    assert argv[1:4] == ("install", "rel-a", chart)
    for flag in ("--atomic", "--wait", "--create-namespace", "--disable-openapi-validation"):
        assert flag in argv
    pairs = list(itertools.pairwise(argv))
    assert ("--timeout", "42s") in pairs
    assert ("--namespace", "osm-ns") in pairs
    assert ("--version", "0.1.0") in pairs
    assert f"--post-renderer={post_renderer[0]}" in argv
    assert [a.split("=", 1)[1] for a in argv if a.startswith("--post-renderer-args=")] == post_renderer[1:]

    quiet = Helm(replace(settings, atomic=False, wait=False, create_namespace=False))
    with pytest.raises(TemporaryToolError) as err:
        quiet.upgrade("rel-a", chart, "osm-ns", {}, install=True, reuse_values=True)
    argv = err.value.argv
    assert not {"--atomic", "--wait", "--create-namespace", "--reset-values"} & set(argv)
    assert {"--install", "--reuse-values", "--disable-openapi-validation"} <= set(argv)

    with pytest.raises(TemporaryToolError) as err:
        runner.uninstall("rel-a", "osm-ns")
    argv = err.value.argv
    assert ("--cascade", "foreground") in list(itertools.pairwise(argv))
    assert "--disable-openapi-validation" not in argv, "uninstall has no such flag: extra_flags stay off it"
