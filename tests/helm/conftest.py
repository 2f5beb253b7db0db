"""Fixtures for the helm tests: the real helm binary, charts generated in tmp_path, a KDU plan."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from osm_l2net.core.plan import Interface, KduPlan, Route
from osm_l2net.helm.runner import Helm, HelmSettings, default_helm_binary
from tests.support.tools import executable, require_tool

NETWORKS = '[{"name":"my-first-osm-net","ips":["10.0.1.10/24"]}]'
POD_LABELS = {"l2sm": "true", "osm.etsi.org/ns-id": "ns-0001"}
POD_ANNOTATIONS = {"l2sm/networks": NETWORKS}


def make_kdu(
    labels: Mapping[str, str] = POD_LABELS,
    annotations: Mapping[str, str] = POD_ANNOTATIONS,
    namespace: str = "osm-ns",
) -> KduPlan:
    """The CDN server KDU of the PoC, built by hand (the planner is not needed to test attachment)."""
    return KduPlan(
        member_vnf_index="cdn-server",
        vnfd_id="cdn_server_knf",
        kdu_name="cdn-server",
        helm_chart="cdn-server",
        chart_path=None,
        release_name="cdn-server-0000000001",
        namespace=namespace,
        replicas=1,
        forwarding=False,
        interfaces=(Interface("net1", "my-first-osm-net", "my-first-osm-net", "data-ext", "10.0.1.10/24"),),
        routes=(Route("10.0.2.0/24", "10.0.1.1", "net1"),),
        pod_labels=dict(labels),
        pod_annotations=dict(annotations),
        values={"podLabels": dict(labels), "podAnnotations": dict(annotations)},
    )


@pytest.fixture
def kdu() -> KduPlan:
    return make_kdu()


@pytest.fixture(scope="session")
def helm_binary() -> str:
    """What the library runs (``default_helm_binary``: $OSM_L2NET_HELM, .tools/bin/helm, else ``helm`` on PATH),
    as an absolute path; missing: a failure under CI, a skip saying how to get it elsewhere."""
    found = executable(default_helm_binary())  # a bare "helm" is looked up on PATH, as the library's exec is
    return found or require_tool("helm")


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """The runner's private temp dir, so tests can see what it leaves behind."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


@pytest.fixture
def helm(helm_binary: str, scratch: Path) -> Helm:
    return Helm(HelmSettings(binary=helm_binary, tmp_dir=str(scratch)))


ChartFactory = Callable[..., Path]


@pytest.fixture
def make_chart(tmp_path: Path) -> ChartFactory:
    def make(name: str, templates: Mapping[str, str], values: str = "{}\n") -> Path:
        chart = tmp_path / "charts" / name
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\nappVersion: '1.0'\n")
        (chart / "values.yaml").write_text(values)
        for file, text in templates.items():
            target = chart / "templates" / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text).lstrip())
        return chart

    return make


# A chart that has NO podLabels/podAnnotations values hook: only a post-renderer can attach its pods.
NO_HOOK_TEMPLATES = {
    "deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}-web
        spec:
          replicas: {{ .Values.replicas }}
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels:
                app: web
                l2sm: "false"
            spec:
              containers:
              - {name: web, image: nginx}
        """,
    "statefulset.yaml": """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: {{ .Release.Name }}-db
        spec:
          serviceName: db
          selector:
            matchLabels: {app: db}
          template:
            metadata:
              annotations: {keep: me}
            spec:
              containers:
              - {name: db, image: postgres}
        """,
    "cronjob.yaml": """
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: {{ .Release.Name }}-tick
        spec:
          schedule: "*/5 * * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  restartPolicy: Never
                  containers:
                  - {name: tick, image: busybox}
        """,
    "service.yaml": """
        # a document without pod template: must come back byte for byte
        apiVersion: v1
        kind: Service
        metadata:
          name: {{ .Release.Name }}-web
        spec:
          selector: {app: web}
          ports: [{port: 80}]
        """,
    "tests/test-pod.yaml": """
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{ .Release.Name }}-test
          annotations: {"helm.sh/hook": test}
        spec:
          restartPolicy: Never
          containers:
          - {name: t, image: busybox}
        """,
}

# A chart with the values hook: the plan's podLabels/podAnnotations values reach the pod template.
HOOK_TEMPLATES = {
    "deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
        spec:
          replicas: 1
          selector:
            matchLabels: {app: hooked}
          template:
            metadata:
              labels:
                app: hooked
                {{- with .Values.podLabels }}
                {{- toYaml . | nindent 8 }}
                {{- end }}
              {{- with .Values.podAnnotations }}
              annotations:
                {{- toYaml . | nindent 8 }}
              {{- end }}
            spec:
              containers:
              - {name: app, image: nginx}
        """,
    "configmap.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-cfg
        data:
          greeting: hello
        """,
}
