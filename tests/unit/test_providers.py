"""Providers as a registry: a new provider is one module (here a throw-away one, written by the test), and the planner,
the cluster judgement and the CLI take it without another edit; the built-in three keep their behaviour."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest
from click.testing import CliRunner

from osm_l2net.cli.main import cli
from osm_l2net.cli.types import ProviderChoice
from osm_l2net.core import providers
from osm_l2net.core.errors import InputError
from osm_l2net.core.plan import LABEL_NS_ID, Interface, Plan
from osm_l2net.core.providers.l2sm import ANNOTATION_NETWORKS
from osm_l2net.core.providers.l2sm import PROVIDER as L2SM
from osm_l2net.kube import state as ks
from tests.conftest import CDN_PACKAGES, REPO
from tests.unit import cdn

# The whole of a new provider: the file a contributor would add as osm_l2net/core/providers/toy.py.
TOY_MODULE = '''"""A throw-away provider: one VlanNet (example.net/v1) per virtual link, ready at status.phase Ready."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from osm_l2net.core.plan import Interface
from osm_l2net.core.providers import (
    COMPACT_JSON, Judgement, ProviderBase, ResourceRef, annotated_networks, annotations_of, register,
)

ANNOTATION = "example.net/vlans"


class ToyProvider(ProviderBase):
    name = "toy"
    resource = ResourceRef("example.net", "v1", "vlannets", "VlanNet")
    crd_owner = "Toy"
    assigns_addresses = False

    def network_manifest(self, name: str, namespace: str, cidr: str | None, mtu: int | None,
                         labels: Mapping[str, str], annotations: Mapping[str, str]) -> dict[str, Any]:
        return self.network_object(name, namespace, labels, annotations, {"vlan": 42, "cidr": cidr})

    def pod_metadata(self, interfaces: Sequence[Interface], namespace: str) -> tuple[dict[str, str], dict[str, str]]:
        return {"toy": "on"}, {ANNOTATION: COMPACT_JSON.encode([{"name": i.network} for i in interfaces])}

    def judge(self, obj: Mapping[str, Any]) -> Judgement:
        phase = (obj.get("status") or {}).get("phase")
        if phase == "Ready":
            return Judgement(True, "phase=Ready")
        return Judgement(False, f"phase={phase}", "is the toy operator running?")

    def requested_networks(self, pod: Mapping[str, Any]) -> list[str] | None:
        return annotated_networks(pod, ANNOTATION)

    def pod_problems(self, pod: Mapping[str, Any]) -> list[str]:
        error = annotations_of(pod).get("example.net/error")
        return [f"toy: {error}"] if error else []


PROVIDER = register(ToyProvider())
'''

BUILT_IN = ("l2sm", "l2sm-nad", "multus")
SCALE = {"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParamsForKdu": [
    {"kdu_name": "cdn-server", "additionalParams": {"replicaCount": 3}}]}]}


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[ModuleType]:
    """The toy module loaded from its own file (registering itself), removed from the registry afterwards."""
    path = tmp_path / "toy.py"
    path.write_text(TOY_MODULE)
    spec = importlib.util.spec_from_file_location("toy_provider", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        yield module
    finally:
        providers.unregister("toy")
    assert "toy" not in providers.names()


def unpinned_cdn() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The CDN with cdn-server's address left to the provider (a pinned one is refused with replicas anyway)."""
    nsd, vnfds = cdn.docs()
    del cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["constituent-cpd-id"][0]["ip-address"]
    return nsd, vnfds


def refusal(provider: str) -> list[tuple[str, str, str]]:
    nsd, vnfds = unpinned_cdn()
    found = cdn.problems(nsd, vnfds, config=SCALE, provider=provider)
    return [(p.path, p.message, p.expected) for p in found]


# ---------------------------------------------------------------- a new provider is one file


def test_a_provider_registered_from_one_file_is_planned(toy: ModuleType) -> None:
    assert providers.names() == tuple(sorted((*BUILT_IN, "toy")))
    plan = cdn.plan(provider="toy")
    assert plan.provider == "toy" and len(plan.networks) == 2
    for net in plan.networks:
        assert (net.manifest["apiVersion"], net.manifest["kind"]) == ("example.net/v1", "VlanNet")
        assert net.manifest["spec"] == {"vlan": 42, "cidr": net.cidr}
        assert net.manifest["metadata"]["labels"][LABEL_NS_ID] == "ns-1"
    kdu = plan.kdu("cdn-server")
    assert kdu is not None and kdu.pod_labels == {"toy": "on", LABEL_NS_ID: "ns-1"}
    assert json.loads(kdu.pod_annotations[toy.ANNOTATION]) == [{"name": i.network} for i in kdu.interfaces]
    assert kdu.values["podLabels"]["toy"] == "on", "the attachment reaches the helm values"
    assert Plan.from_dict(plan.as_dict()).as_dict() == plan.as_dict(), "the plan file carries a new provider's objects unchanged"


def test_the_cluster_judgement_takes_the_new_provider(toy: ModuleType) -> None:
    plan = cdn.plan(provider="toy")
    net = plan.networks[0]
    ref = ks.resource_of(net.manifest)
    assert ref == toy.PROVIDER.resource and ref in ks.network_kinds() and ks.resource_of_kind("VlanNet") == ref
    waiting = ks.readiness("VlanNet", net.name, net.manifest)
    assert (waiting.ready, waiting.explained) == (False, "phase=None (is the toy operator running?)")
    assert ks.readiness("VlanNet", net.name, {**net.manifest, "status": {"phase": "Ready"}}).ready
    assert ks.readiness("VlanNet", net.name, {**net.manifest, "metadata": {"deletionTimestamp": "t"},
                                              "status": {"phase": "Ready"}}).detail == "being deleted"
    assert "Toy installs it (kubectl get crd vlannets.example.net)" in ks.missing_kind_hint(ref)
    assert "Toy provides vlannets.example.net" in ks.missing_crd_hint()


def test_a_pod_attached_by_the_new_provider_is_read_by_it(toy: ModuleType) -> None:
    kdu = cdn.plan(provider="toy").kdu("router-firewall")
    assert kdu is not None and len(kdu.interfaces) == 2
    status = json.dumps([{"name": f"x/{i.network}", "interface": i.name, "ips": [i.ip]} for i in kdu.interfaces])
    pod = {"metadata": {"name": "r-0", "annotations": {**kdu.pod_annotations, "example.net/error": "no vlan left",
                                                       "k8s.v1.cni.cncf.io/network-status": status}},
           "status": {"phase": "Running"}}
    assert ks.requested_networks(pod) == [i.network for i in kdu.interfaces]
    second = ks.attachment(pod, kdu.interfaces[1].network)
    assert second is not None and second.interface == "net2"
    assert second.problems == ("toy: no vlan left",)
    assert ks.attached_pods([pod], kdu.interfaces[0].network) == ["r-0"]


def test_the_cli_offers_the_new_provider(toy: ModuleType) -> None:
    assert ProviderChoice().convert("toy", None, None) == "toy"
    with pytest.raises(click.BadParameter, match="flannel"):
        ProviderChoice().convert("flannel", None, None)
    result = CliRunner().invoke(cli, ["plan", *CDN_PACKAGES, "--provider", "toy", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert {n["manifest"]["kind"] for n in json.loads(result.stdout)["networks"]} == {"VlanNet"}


def test_dropping_the_file_into_the_package_is_the_whole_change(tmp_path: Path) -> None:
    """In a copy of the package: without the file the provider is unknown; with it, planned by the CLI."""
    shutil.copytree(REPO / "osm_l2net", tmp_path / "osm_l2net", ignore=shutil.ignore_patterns("__pycache__"))

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "osm_l2net.cli", *argv], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120, check=False, env={"PYTHONPATH": str(tmp_path), "PATH": ""})

    before = run("plan", *CDN_PACKAGES, "--provider", "toy", "-o", "json")
    assert before.returncode == 2 and "'toy' is not one of" in before.stderr, before.stderr
    (tmp_path / "osm_l2net" / "core" / "providers" / "toy.py").write_text(TOY_MODULE)
    after = run("plan", *CDN_PACKAGES, "--provider", "toy", "-o", "json")
    assert after.returncode == 0, after.stderr
    assert {n["manifest"]["kind"] for n in json.loads(after.stdout)["networks"]} == {"VlanNet"}


# ---------------------------------------------------------------- assigns_addresses decides the replicas refusal


def test_a_provider_that_assigns_no_addresses_refuses_replicas_as_before(toy: ModuleType) -> None:
    message = "KDU 'cdn-server' has replicaCount 3 but provider '{}' cannot give each replica its own address"
    for name in ("toy", "multus", "l2sm-nad"):
        found = refusal(name)
        assert [(m, e) for _, m, e in found] == [(message.format(name), "replicaCount 1, or provider l2sm")], name
        assert found[0][0].endswith("constituent-cpd-id[0]")


def test_the_planner_reads_assigns_addresses_not_the_name(toy: ModuleType) -> None:
    class AssigningToy(toy.ToyProvider):  # type: ignore[misc,name-defined,unused-ignore]
        name = "toy-ipam"
        assigns_addresses = True

    providers.register(AssigningToy())
    try:
        nsd, vnfds = unpinned_cdn()
        kdu = cdn.plan(nsd, vnfds, config=SCALE, provider="toy-ipam").kdu("cdn-server")
        assert kdu is not None and kdu.replicas == 3 and kdu.interfaces[0].ip is None
        assert refusal("toy")[0][2] == "replicaCount 1, or provider l2sm or toy-ipam", "the fix names who can"
    finally:
        providers.unregister("toy-ipam")


# ---------------------------------------------------------------- the built-in three and the registry's rules


def test_the_built_in_providers_are_registered_by_their_modules() -> None:
    assert providers.names() == BUILT_IN
    assert [p.assigns_addresses for p in providers.registered()] == [True, False, False]
    assert providers.assigning_addresses() == ("l2sm",)
    assert ks.network_kinds() == (providers.get("l2sm").resource, providers.NAD), "the shared NAD kind once"
    with pytest.raises(KeyError):
        providers.get("flannel")


def test_an_unknown_provider_is_an_input_error_naming_the_registered_ones() -> None:
    with pytest.raises(InputError) as err:
        cdn.plan(provider="flannel")
    p = err.value.problems[0]
    assert (p.message, p.expected) == ("unknown provider 'flannel'", "one of ['l2sm', 'l2sm-nad', 'multus']")


def test_a_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        providers.register(type(providers.get("l2sm"))())
    assert providers.register(providers.get("l2sm")) is providers.get("l2sm"), "registering the same one is a no-op"


def test_providers_sharing_a_kind_judge_it_alike() -> None:
    nad = {"kind": "NetworkAttachmentDefinition", "metadata": {"name": "n"}, "spec": {}}
    judged = {p.judge(nad) for p in providers.registered() if p.resource == providers.NAD}
    assert judged == {providers.Judgement(True, "present")}


def test_an_l2sm_pod_is_read_by_l2sm_although_its_webhook_adds_the_multus_annotation() -> None:
    pod = {"metadata": {"name": "p", "annotations": {
        "l2sm/networks": '[{"name":"net-a"},{"name":"net-b"}]',
        "k8s.v1.cni.cncf.io/networks": '[{"name":"veth3","namespace":"l2sm-system"},{"name":"veth4"}]',
        "l2sm/error": "No interfaces available for node n1"}}}
    assert ks.requested_networks(pod) == ["net-a", "net-b"]
    assert ks.attachment(pod, "veth3") is None, "the port NADs are L2S-M's, not networks the pod asked for"
    att = ks.attachment(pod, "net-a")
    assert att is not None and att.problems[0] == "l2sm/error: No interfaces available for node n1"
    plain = {"metadata": {"name": "q", "annotations": {"k8s.v1.cni.cncf.io/networks": "net-c",
                                                       "l2sm/error": "not ours to read"}}}
    att = ks.attachment(plain, "net-c")
    assert att is not None and not any("l2sm/error" in p for p in att.problems), "a Multus pod has no l2sm/error"


def test_l2sm_networks_annotation_is_what_the_compact_encoder_gives() -> None:
    # pod_metadata writes the JSON text itself (for speed): byte for byte the encoder's, escapes included
    interfaces = [Interface("net1", "a", "net-a", "cp1", "10.0.0.1/24"), Interface("net2", "b", 'q"\\ü\n', "cp2", None),
                  Interface("net3", "c", "net-c", "cp3", "")]
    _, annotations = L2SM.pod_metadata(interfaces, "ns")
    expected = [{"name": "net-a", "ips": ["10.0.0.1/24"]}, {"name": 'q"\\ü\n'}, {"name": "net-c"}]
    assert annotations[ANNOTATION_NETWORKS] == providers.COMPACT_JSON.encode(expected)
    assert L2SM.pod_metadata([], "ns")[1][ANNOTATION_NETWORKS] == "[]"
