"""The post-renderer: pure stream transformation, its entry point, and a real `helm template --post-renderer` run."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from osm_l2net.core.plan import KduPlan
from osm_l2net.helm.postrender import (
    BadInput,
    PodMetadata,
    command,
    main,
    pod_templates,
    render,
    split_documents,
)
from osm_l2net.helm.runner import Helm, check_attachment

from .conftest import NO_HOOK_TEMPLATES, POD_ANNOTATIONS, POD_LABELS, ChartFactory

POD = PodMetadata(POD_LABELS, POD_ANNOTATIONS)
POD_SPEC: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}


def _template(labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"labels": dict(labels)} if labels else {}
    return {"metadata": meta, "spec": POD_SPEC}


def workload(kind: str, name: str = "w", labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A minimal manifest of each workload kind, with the pod template where Kubernetes puts it."""
    head: dict[str, Any] = {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}}
    if kind == "Pod":
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": dict(labels or {})},
            "spec": POD_SPEC,
        }
    if kind == "Job":
        return {**head, "apiVersion": "batch/v1", "spec": {"template": _template(labels)}}
    if kind == "CronJob":
        job = {"spec": {"template": _template(labels)}}
        return {**head, "apiVersion": "batch/v1", "spec": {"schedule": "* * * * *", "jobTemplate": job}}
    return {**head, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": _template(labels)}}


def pod_meta_node(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod metadata of a manifest, found by hand (independently of the module's own path table)."""
    paths: dict[str, list[str]] = {"Pod": [], "CronJob": ["spec", "jobTemplate", "spec", "template"]}
    node = doc
    for key in paths.get(doc["kind"], ["spec", "template"]):
        node = node[key]
    meta: dict[str, Any] = node["metadata"]
    return meta


def pod_meta(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(pod_meta_node(doc))


def stream(*docs: Any) -> str:
    return "".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in docs)


KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_workload_kind_gets_labels_and_annotations(kind: str) -> None:
    out, notes = render(stream(workload(kind, labels={"app": "x"})), POD)
    [doc] = list(yaml.safe_load_all(out))
    meta = pod_meta(doc)
    assert meta["labels"] == {"app": "x", **POD_LABELS}
    assert meta["annotations"] == POD_ANNOTATIONS
    assert notes == []


@pytest.mark.parametrize("kind", KINDS)
def test_only_pod_metadata_changes(kind: str) -> None:
    original = workload(kind, labels={"app": "x"})
    [doc] = list(yaml.safe_load_all(render(stream(original), POD)[0]))
    expected = copy.deepcopy(original)
    meta = pod_meta_node(expected)
    meta["labels"].update(POD_LABELS)
    meta["annotations"] = dict(POD_ANNOTATIONS)
    assert doc == expected


def test_workload_metadata_itself_is_not_labelled() -> None:
    [doc] = list(yaml.safe_load_all(render(stream(workload("Deployment")), POD)[0]))
    assert "labels" not in doc["metadata"]
    assert "annotations" not in doc["metadata"]


def test_ours_win_on_our_keys_and_others_are_kept() -> None:
    doc = workload("Deployment", labels={"l2sm": "false", "app": "web"})
    doc["spec"]["template"]["metadata"]["annotations"] = {"l2sm/networks": "[]", "prometheus.io/scrape": "true"}
    out, notes = render(stream(doc), POD)
    meta = pod_meta(next(yaml.safe_load_all(out)))
    assert meta["labels"] == {"l2sm": "true", "app": "web", "osm.etsi.org/ns-id": "ns-0001"}
    assert meta["annotations"] == {"l2sm/networks": NETWORKS_JSON, "prometheus.io/scrape": "true"}
    assert sorted(notes) == [
        "Deployment/w: replaced annotation l2sm/networks='[]' with " + repr(NETWORKS_JSON),
        "Deployment/w: replaced label l2sm='false' with 'true'",
    ]


NETWORKS_JSON = POD_ANNOTATIONS["l2sm/networks"]


def test_null_metadata_and_null_labels_are_filled() -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
        "spec:\n  template:\n    metadata:\n      labels:\n    spec: {containers: []}\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata:\nspec: {containers: []}\n"
    )
    docs = list(yaml.safe_load_all(render(text, POD)[0]))
    assert pod_meta(docs[0])["labels"] == POD_LABELS
    assert docs[1]["metadata"] == {"labels": POD_LABELS, "annotations": POD_ANNOTATIONS}


def test_other_documents_come_back_byte_for_byte_in_order() -> None:
    service = "---\n# Source: c/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:   {name: s}  # odd spacing\n"
    configmap = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  x: |\n    ---\n    not a doc start\n"
    deployment = stream(workload("Deployment", name="d"))
    empty = "---\n# only a comment\n"
    text = service + deployment + empty + configmap
    out, _ = render(text, POD)
    chunks = split_documents(out)
    assert len(chunks) == 4
    assert chunks[0] == service
    assert chunks[2] == empty
    assert chunks[3] == configmap
    kinds = [d["kind"] if d else None for d in yaml.safe_load_all(out)]
    assert kinds == ["Service", "Deployment", None, "ConfigMap"]


def test_changed_document_keeps_its_source_comment() -> None:
    text = "---\n# Source: c/templates/deploy.yaml\n" + yaml.safe_dump(workload("Deployment"))
    out, _ = render(text, POD)
    assert out.startswith("---\n# Source: c/templates/deploy.yaml\n")
    assert pod_meta(yaml.safe_load(out))["labels"] == POD_LABELS


def test_rewritten_strings_that_helm_would_read_as_bool_or_number_are_quoted() -> None:
    lookalikes = {"a": "y", "b": "N", "c": "1e3", "d": "-2.5E-3", "e": ".5", "f": "yes", "g": "plain"}
    out, _ = render(stream(workload("Deployment", labels=lookalikes)), POD)
    for key in "abcdef":
        assert f"{key}: '{lookalikes[key]}'" in out
    assert "g: plain" in out
    assert pod_meta(yaml.safe_load(out))["labels"] == {**lookalikes, **POD_LABELS}


def test_list_kinds_are_descended_into() -> None:
    items = [workload("Deployment", name="a"), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]
    doc = {"apiVersion": "v1", "kind": "List", "items": [*items, workload("Job", name="j")]}
    out, _ = render(stream(doc), POD)
    result = yaml.safe_load(out)
    assert pod_meta(result["items"][0])["labels"] == POD_LABELS
    assert pod_meta(result["items"][2])["annotations"] == POD_ANNOTATIONS
    assert result["items"][1] == items[1]
    assert [t.ref for t in pod_templates(result)] == ["Deployment/a", "Job/j"]


def test_empty_stream_and_inline_document_marker() -> None:
    assert render("", POD) == ("", [])
    out, _ = render("--- " + json.dumps(workload("Pod", name="p")) + "\n", POD)
    assert yaml.safe_load(out)["metadata"]["labels"] == POD_LABELS


@given(st.lists(st.sampled_from(["---\n", "--- x\n", "a: 1\n", "  ---\n", "#c\n", "----\n", "\n", "b: 2"]), max_size=12))
def test_split_keeps_every_character(parts: list[str]) -> None:
    text = "".join(parts)
    chunks = split_documents(text)
    assert "".join(chunks) == text
    assert all(c.startswith("---") for c in chunks[1:])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: [\n", "document 1 is not valid YAML"),
        ("---\nkind: Service\n---\n- just\n- a list\n", "document 2: a Kubernetes manifest must be a mapping"),
        ("kind: Deployment\nmetadata: {name: d}\nspec: {template: {metadata: {labels: [a]}}}\n", "labels is a list"),
        ("kind: Pod\nmetadata: just-a-string\n", "metadata is a string"),
    ],
)
def test_bad_streams_are_reported(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        render(text, POD)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object"),
        ({"labels": {"a": 1}}, "labels: expected an object of string to string"),
        ({"labels": {}, "extra": {}}, "unknown keys"),
    ],
)
def test_bad_metadata_is_rejected(data: object, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        PodMetadata.from_dict(data)


# --- the entry point, run as helm runs it: a separate process ---------------------------------------------------


def run_entry(metadata: Path | str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(str(metadata)), input=stdin, capture_output=True, text=True, check=False, timeout=60)


def write_metadata(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_entry_point_renders_stdin_to_stdout(tmp_path: Path) -> None:
    meta = write_metadata(tmp_path / "m.json", POD.as_dict())
    text = stream({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}, workload("DaemonSet"))
    proc = run_entry(meta, text)
    assert proc.returncode == 0, proc.stderr
    service, daemonset = yaml.safe_load_all(proc.stdout)
    assert service == {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
    assert pod_meta(daemonset)["annotations"] == POD_ANNOTATIONS


@pytest.mark.parametrize(
    ("metadata", "stdin", "message"),
    [
        ("missing.json", "", "cannot read pod metadata file"),
        ("bad.json", "", "is not valid JSON"),
        ("good.json", "kind: Pod\nmetadata: {name: [\n", "document 1 is not valid YAML"),
        ("good.json", "- 1\n", "must be a mapping"),
    ],
)
def test_entry_point_bad_input_exits_2_without_traceback(tmp_path: Path, metadata: str, stdin: str, message: str) -> None:
    (tmp_path / "bad.json").write_text("{labels:")
    write_metadata(tmp_path / "good.json", POD.as_dict())
    proc = run_entry(tmp_path / metadata, stdin)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert message in proc.stderr
    assert proc.stderr.startswith("osm-l2net post-render: ")
    assert "Traceback" not in proc.stderr


def test_entry_point_rejects_non_utf8_and_missing_argument(tmp_path: Path) -> None:
    meta = write_metadata(tmp_path / "m.json", POD.as_dict())
    proc = subprocess.run(command(str(meta)), input=b"kind: \xff\n", capture_output=True, check=False, timeout=60)
    assert proc.returncode == 2
    assert b"not UTF-8" in proc.stderr
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_main_in_process_reports_replacements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = write_metadata(tmp_path / "m.json", POD.as_dict())
    text = stream(workload("StatefulSet", name="db", labels={"l2sm": "no"}))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    stdout = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["--metadata", str(meta)]) == 0
    stdout.seek(0)
    assert pod_meta(yaml.safe_load(stdout.read()))["labels"]["l2sm"] == "true"
    assert "StatefulSet/db: replaced label l2sm='no' with 'true'" in capsys.readouterr().err


# --- for real: helm template --post-renderer on a chart without a values hook -------------------------------------


@pytest.mark.helm
def test_helm_post_renderer_attaches_pods_of_a_chart_without_hook(
    helm: Helm, make_chart: ChartFactory, kdu: KduPlan, scratch: Path
) -> None:
    chart = make_chart("nohook", NO_HOOK_TEMPLATES, values="replicas: 1\n")
    plain = helm.template("r1", str(chart), "osm-ns", {"replicas": 2})
    problems = check_attachment(plain, kdu)
    assert len(problems) == 3 and all("label l2sm" in p for p in problems), problems

    with helm.attachment_post_renderer(kdu) as post_renderer:
        [folder] = os.listdir(scratch)  # the values file is created later, inside template()
        [metadata_file] = os.listdir(scratch / folder)
        assert os.stat(scratch / folder).st_mode & 0o777 == 0o700
        assert os.stat(scratch / folder / metadata_file).st_mode & 0o777 == 0o600
        rendered = helm.template("r1", str(chart), "osm-ns", {"replicas": 2}, post_renderer)
    assert os.listdir(scratch) == []

    assert check_attachment(rendered, kdu) == []
    by_kind = {m["kind"]: m for m in rendered}
    assert by_kind["Deployment"]["spec"]["replicas"] == 2, "the values still reached the chart"
    assert pod_meta(by_kind["Deployment"])["labels"] == {"app": "web", **POD_LABELS}
    assert pod_meta(by_kind["StatefulSet"])["annotations"] == {"keep": "me", **POD_ANNOTATIONS}
    assert pod_meta(by_kind["CronJob"])["labels"] == POD_LABELS
    assert by_kind["Service"] == next(m for m in plain if m["kind"] == "Service")
    assert "labels" not in by_kind["Pod"]["metadata"], "helm 3 does not post-render hooks (the test pod)"


@pytest.mark.helm
def test_helm_post_renderer_failure_surfaces_its_message(helm: Helm, make_chart: ChartFactory, tmp_path: Path) -> None:
    from osm_l2net.core.errors import ToolError

    chart = make_chart("nohook", NO_HOOK_TEMPLATES, values="replicas: 1\n")
    with pytest.raises(ToolError) as err:
        helm.template("r1", str(chart), "osm-ns", {}, command(str(tmp_path / "absent.json")))
    assert "osm-l2net post-render: cannot read pod metadata file" in err.value.stderr_tail
    assert err.value.returncode == 1
