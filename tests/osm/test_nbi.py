"""ns-create / ns-delete end to end: the CLI commands against the OSM NBI test double (real HTTP, NBI's own request
schema) and the Kubernetes API test double (real HTTP, the official client), including the failure paths."""

from __future__ import annotations

import copy
import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import requests
from click.testing import CliRunner

from osm_l2net import api
from osm_l2net.cli.osm import register
from osm_l2net.core.names import label_value
from osm_l2net.core.params import decode_yaml_strings
from osm_l2net.core.plan import LABEL_NS_ID, Plan
from osm_l2net.osm.nbi import NbiClient, NbiRejected, NbiSettings
from osm_l2net.osm.workflow import NS_ID_PARAM, plan_id_of
from tests.conftest import CDN_PACKAGES, MODELS
from tests.osm.conftest import FAST
from tests.support import nbi_source
from tests.support.k8s_emulator import L2NETWORKS, PODS
from tests.support.k8s_harness import EmulatedCluster
from tests.support.nbi_double import OsmNbiDouble

PASSWORD = "s3cret-pw"
SCHEMA = MODELS / "osm-nbi" / "ns_instantiate.schema.json"
NAMESPACE = "default"


@dataclass
class World:
    nbi: OsmNbiDouble
    cluster: EmulatedCluster

    def run(self, *args: str) -> tuple[int, str, str]:
        group = click.Group("osm-l2net")
        register(group)
        result = CliRunner().invoke(group, list(args))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    def create(self, *extra: str, name: str = "vod") -> tuple[int, str, str]:
        return self.run("ns-create", "--ns_name", name, "--nsd_name", "vod_service_ns", "--vim_account",
                        "openstack-site", "--kubeconfig", str(self.cluster.kubeconfig), "-n", NAMESPACE,
                        "--poll-interval", "0.01", "--ready-timeout", "10", *extra)

    def delete(self, name: str, *extra: str) -> tuple[int, str, str]:
        return self.run("ns-delete", name, "--kubeconfig", str(self.cluster.kubeconfig), "--poll-interval", "0.01",
                        "--ready-timeout", "10", *extra)

    def owned(self) -> list[str]:
        from osm_l2net.kube.cluster import Cluster, ClusterAccess

        with Cluster(ClusterAccess(kubeconfig=str(self.cluster.kubeconfig)), policy=FAST) as c:
            return sorted(o.name for o in c.list_owned())

    def plan_for(self, body: dict[str, Any]) -> Plan:
        """The plan from the package files with the NS id the body recorded: what each KDU must have received."""
        return api.plan(CDN_PACKAGES, ns_name=body["nsName"], ns_id=body["additionalParamsForNs"][NS_ID_PARAM],
                        namespace=NAMESPACE)


def _play_lcm(cluster: EmulatedCluster, nbi: list[OsmNbiDouble]) -> Any:
    """On a completed (or failed) instantiate, the KNF pods appear as the charts would make them from the KDU params
    LCM reads (each vnfr's kdur: NBI's JSON text, "!!yaml" values decoded as LCM does); on terminate they go: LCM's
    effect on the cluster, which the NBI double cannot have by itself."""
    pods: dict[str, list[str]] = {}

    def effect(op: dict[str, Any], nsr: dict[str, Any]) -> None:
        if op["lcmOperationType"] == "terminate":
            for name in pods.pop(nsr["_id"], []):
                cluster.delete(PODS, NAMESPACE, name)
            return
        for vnfr_id in nsr["constituent-vnfr-ref"]:
            for kdur in nbi[0].vnfrs[vnfr_id]["kdur"]:
                values = decode_yaml_strings(json.loads(kdur["additionalParams"] or "{}"))
                if "podLabels" not in values:
                    continue  # a KDU without L2 interfaces
                name = f"{nsr['_id'][:8]}-{kdur['kdu-name']}"
                cluster.create_pod(NAMESPACE, name, labels=values["podLabels"], annotations=values["podAnnotations"])
                pods.setdefault(nsr["_id"], []).append(name)
    return effect


@pytest.fixture
def world(kube_emulator: EmulatedCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    if not SCHEMA.is_file():
        pytest.fail(f"NBI's ns_instantiate schema is not at {SCHEMA} (set OSM_L2NET_MODELS)")
    holder: list[OsmNbiDouble] = []
    with OsmNbiDouble(CDN_PACKAGES, SCHEMA, on_operation=_play_lcm(kube_emulator, holder)) as nbi:
        holder.append(nbi)
        monkeypatch.setenv("OSM_HOSTNAME", nbi.url)
        monkeypatch.setenv("OSM_USER", "admin")
        monkeypatch.setenv("OSM_PASSWORD", PASSWORD)
        monkeypatch.setenv("OSM_PROJECT", "admin")
        kube_emulator.operator.start(ready_after=0.1)
        yield World(nbi, kube_emulator)


def test_ns_create_then_delete_end_to_end(world: World) -> None:
    at_post: list[list[dict[str, Any]]] = []
    world.nbi.on_create = lambda body: at_post.append(world.cluster.list(L2NETWORKS, NAMESPACE))
    code, out, err = world.create("--wait")
    assert code == 0, err
    ns_id = out.strip()
    assert ns_id in world.nbi.nsrs and world.nbi.nsrs[ns_id]["nsState"] == "READY"
    body = world.nbi.bodies[0]  # accepted: it passed NBI's own schema
    plan = world.plan_for(body)
    # the networks existed and were Available when NBI received the NS
    assert sorted(n["metadata"]["name"] for n in at_post[0]) == sorted(n.name for n in plan.networks)
    assert all(n["status"]["internalConnectivity"] == "Available" for n in at_post[0])
    # every KDU's attachment travelled in additionalParamsForKdu
    for kdu in plan.kdus:
        vnf = next(v for v in body["additionalParamsForVnf"] if v["member-vnf-index"] == kdu.member_vnf_index)
        params = next(k for k in vnf["additionalParamsForKdu"] if k["kdu_name"] == kdu.kdu_name)["additionalParams"]
        assert params["podAnnotations"] == dict(kdu.pod_annotations)
        assert params["l2net"]["interfaces"] == [i.as_dict() for i in kdu.interfaces]
    assert body["k8s-namespace"] == NAMESPACE and body["vimAccountId"] == world.nbi.vim_accounts["openstack-site"]
    assert world.owned() == sorted(n.name for n in plan.networks)
    assert "COMPLETED" in err
    code, out, err = world.delete("vod")
    assert code == 0, err
    assert world.owned() == [] and world.nbi.nsrs == {}
    assert world.cluster.list(PODS, NAMESPACE) == []


def test_user_config_is_merged_with_the_attachment(world: World) -> None:
    config = {"vld": [{"name": "my-first-osm-net", "vnfd-connection-point-ref": [
        {"member-vnf-index-ref": "cdn-server", "vnfd-connection-point-ref": "data-ext", "ip-address": "10.0.1.77"}]}],
        "additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParamsForKdu": [
            {"kdu_name": "cdn-server", "additionalParams": {"service": {"type": "NodePort"}}}]}]}
    code, _, err = world.create("--config", json.dumps(config))
    assert code == 0, err
    body = world.nbi.bodies[0]
    assert body["vld"] == config["vld"], "the user's keys reach OSM untouched"
    cdn = body["additionalParamsForVnf"][0]["additionalParamsForKdu"][0]["additionalParams"]
    assert cdn["service"] == {"type": "NodePort"}
    assert cdn["l2net"]["interfaces"][0]["ip"] == "10.0.1.77/24", "the instantiation parameters' address is used"
    assert {v["member-vnf-index"] for v in body["additionalParamsForVnf"]} == {"cdn-server", "router-firewall",
                                                                               "content-server"}


def test_two_ns_instances_of_one_nsd_get_distinct_networks_and_stable_ids(world: World) -> None:
    assert world.create(name="vod-a")[0] == 0
    assert world.create(name="vod-b")[0] == 0
    a, b = (world.plan_for(body) for body in world.nbi.bodies)
    assert a.ns_id != b.ns_id and not {n.name for n in a.networks} & {n.name for n in b.networks}
    assert world.owned() == sorted([n.name for n in a.networks] + [n.name for n in b.networks])
    code, _, err = world.delete("vod-a")
    assert code == 0, err
    assert world.owned() == sorted(n.name for n in b.networks), "ns-delete finds the NS's networks by its recorded id"


def test_a_duplicate_ns_name_is_refused_before_anything_is_created(world: World) -> None:
    assert world.create()[0] == 0
    posts = len(world.nbi.bodies)
    code, _, err = world.create()
    assert code == 2 and "already exists" in err
    assert len(world.nbi.bodies) == posts and len(world.owned()) == 2


def test_wrong_password_is_exit_5_and_never_printed(world: World, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OSM_PASSWORD", "wrong-guess-123")
    caplog.set_level(logging.DEBUG)
    code, out, err = world.create()
    assert code == 5  # refused credentials: the exit-code table of osm_l2net/core/errors.py
    assert "HTTP 401" in err and "OSM_PASSWORD" in err
    assert "wrong-guess-123" not in out + err + caplog.text
    assert world.owned() == [] and world.nbi.bodies == []


def test_unknown_nsd_is_exit_2_naming_what_exists(world: World) -> None:
    code, _, err = world.run("ns-create", "--ns_name", "x", "--nsd_name", "no_such_ns", "--vim_account", "openstack-site",
                             "--kubeconfig", str(world.cluster.kubeconfig))
    assert code == 2 and "no_such_ns" in err and "vod_service_ns" in err
    assert world.owned() == []


def test_unknown_vim_account_is_exit_2(world: World) -> None:
    code, _, err = world.run("ns-create", "--ns_name", "x", "--nsd_name", "vod_service_ns", "--vim_account", "nowhere",
                             "--kubeconfig", str(world.cluster.kubeconfig))
    assert code == 2 and "nowhere" in err and "openstack-site" in err


def test_nsd_content_missing_in_nbi_is_a_clear_404(world: World) -> None:
    world.nbi.fail[r"GET /osm/nsd/v1/ns_descriptors/[^/]+/nsd"] = 404
    code, _, err = world.create()
    assert code == 1 and "HTTP 404" in err and "/nsd" in err
    assert world.owned() == [] and world.nbi.bodies == []


def test_forbidden_is_exit_5_with_a_permission_hint(world: World) -> None:
    world.nbi.fail["GET /osm/admin/v1/vim_accounts"] = 403
    code, _, err = world.create()
    assert code == 5 and "HTTP 403" in err and "permission" in err
    assert world.owned() == []


def test_nbi_server_error_on_create_removes_the_networks(world: World) -> None:
    world.nbi.fail["POST /osm/nslcm/v1/ns_instances_content"] = 500
    code, _, err = world.create("--wait")
    assert code == 1 and "HTTP 500" in err
    assert world.owned() == [], "the networks made for the refused NS are removed"


def posts(world: World) -> list[tuple[str, str, int]]:
    return [e for e in world.nbi.log if e[0] == "POST" and e[1].endswith("/ns_instances_content")]


@pytest.mark.parametrize(("config", "where", "expected"), [
    ({"nsFlavour": "big"}, "--config: nsFlavour: is not a key of the ns_instantiate body", "vld"),
    ({"vlds": [{"name": "my-first-osm-net"}]}, "--config: vlds: is not a key of the ns_instantiate body", "'vld'?"),
    ({"vld": [{"name": "my-first-osm-net", "ip-profile": {"subnet_address": "10.0.1.0/24"}}]},
     "--config: vld[0].ip-profile.subnet_address: is not a key of an ip-profile", "'subnet-address'?"),
    ({"additionalParamsForNs": {"k8s-namespace": "vod"}}, "--config: additionalParamsForNs.k8s-namespace:",
     "top-level key k8s-namespace"),
    ({"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParams": {"cache-size": 1}}]},
     "--config: additionalParamsForVnf[0].additionalParams.cache-size: 'cache-size' is not a name NBI takes",
     "'cache_size'"),
])
def test_a_config_nbi_refuses_is_exit_2_before_anything_is_created(world: World, config: dict[str, Any], where: str,
                                                                    expected: str) -> None:
    code, _, err = world.create("--config", json.dumps(config), "--wait")
    assert code == 2, err
    assert where in err and "NBI refuses it" in err and expected in err, err
    assert "Traceback" not in err
    assert posts(world) == [] and world.owned() == [], "refused before any network or NS was made"


def test_a_config_file_nbi_refuses_is_located_in_that_file(world: World, tmp_path: Path) -> None:
    config = tmp_path / "params.yaml"
    config.write_text("vld:\n- name: my-first-osm-net\n  ip-profile: {subnet_address: 10.0.1.0/24}\n")
    code, _, err = world.create("--config_file", str(config))
    assert code == 2 and f"error: {config}: vld[0].ip-profile.subnet_address: " in err and "'subnet-address'?" in err
    assert posts(world) == [] and world.owned() == []
    # --config naming a file (osmclient's form, as plan takes it) is the same file: the message says so, not "--config"
    code, _, again = world.create("--config", str(config))
    assert code == 2 and again == err


@pytest.mark.parametrize(("flag", "value", "expected"), [
    ("--ns_name", "vod,east", "without , ; ( ) ' \""),
    ("--description", "the 'CDN' service", "without ' or \""),
])
def test_flags_nbi_would_refuse_are_exit_2_before_anything_is_created(world: World, flag: str, value: str,
                                                                      expected: str) -> None:
    args = ("--description", value) if flag == "--description" else ()
    code, _, err = world.create(*args, name=value if flag == "--ns_name" else "vod")
    assert code == 2 and f"error: {flag}: " in err and "NBI refuses it" in err and expected in err, err
    assert posts(world) == [] and world.owned() == []


def test_the_double_answers_what_nbi_answers_to_a_body_it_refuses(world: World) -> None:
    """Past our own checks (a client that skips them), the double refuses as NBI does: the ns-id name of earlier
    versions (400, NBI's text), a schema break (422, NBI's text), an unknown vld (400)."""
    nsd_id, vim_id = next(iter(world.nbi.nsds)), world.nbi.vim_accounts["openstack-site"]
    base = {"nsName": "x", "nsdId": nsd_id, "vimAccountId": vim_id}
    with NbiClient(NbiSettings(hostname=world.nbi.url, password=PASSWORD)) as client:
        with pytest.raises(NbiRejected) as old_name:
            client.create_ns({**base, "additionalParamsForNs": {"osm-l2net-ns-id": "4a1b6f9e"}})
        with pytest.raises(NbiRejected) as typo:
            client.create_ns({**base, "vlds": []})
        with pytest.raises(NbiRejected) as vld:
            client.create_ns({**base, "vld": [{"name": "no-such-vld"}]})
        ns_id, _ = client.create_ns({**base, "additionalParamsForNs": {NS_ID_PARAM: "4a1b6f9e"},
                                     "additionalParamsForVnf": [{"member-vnf-index": "not-in-the-nsd",
                                                                 "additionalParams": {"bad-name": 1}}]})
    assert old_name.value.status == 400 and (
        "Invalid param name at additionalParamsForNs:osm-l2net-ns-id. Must contain only alphanumeric characters and "
        "underscores, and cannot start with a digit while 'getting nsd id=" in str(old_name.value))
    assert typo.value.status == 422 and ("Format error  'Additional properties are not allowed ('vlds' was "
                                         "unexpected)'  while 'validating input parameters'") in str(typo.value)
    assert vld.value.status == 400 and "Invalid parameter vld:name='no-such-vld' is not present at nsd:vld" in str(
        vld.value)
    assert ns_id in world.nbi.nsrs, "an entry for a member-vnf-index the NSD lacks is ignored, as NBI ignores it"
    assert len(world.nbi.nsrs) == 1 and len(world.nbi.vnfrs) == 3, "the refused bodies left no record"


def test_an_ns_recorded_with_the_old_parameter_name_is_deleted_with_its_networks(world: World) -> None:
    """An NS made by an earlier version carries osm-l2net-ns-id (an NBI that did not check let it in): ns-delete
    still finds its networks by that id."""
    assert world.create()[0] == 0
    nsr = next(iter(world.nbi.nsrs.values()))
    plan_id = nsr["additionalParamsForNs"].pop(NS_ID_PARAM)
    nsr["additionalParamsForNs"]["osm-l2net-ns-id"] = plan_id
    assert plan_id_of(nsr) == plan_id and len(world.owned()) == 2
    code, _, err = world.delete("vod")
    assert code == 0, err
    assert world.owned() == [] and world.nbi.nsrs == {}


def test_the_recorded_ns_id_passes_nbis_own_name_rule(world: World) -> None:
    """The accepted body run through NBI's real _format_additional_params (shared/osm-v19) and its real schema."""
    assert world.create()[0] == 0
    body = world.nbi.bodies[0]
    assert NS_ID_PARAM in body["additionalParamsForNs"]
    assert nbi_source.nbi_verdict(copy.deepcopy(body)) is None
    for vnf in body["additionalParamsForVnf"]:
        for kdu in vnf["additionalParamsForKdu"]:
            nbi_source.format_additional_params(copy.deepcopy(body), vnf["member-vnf-index"], kdu_name=kdu["kdu_name"])


def test_ns_that_fails_in_osm_is_terminated_and_its_networks_removed(world: World) -> None:
    world.nbi.fail_operations = True
    code, _, err = world.create("--wait")
    assert code == 1 and "FAILED" in err and "helm install failed" in err
    assert ("DELETE", f"/osm/nslcm/v1/ns_instances_content/{next(iter(world.nbi.ops.values()))['nsInstanceId']}",
            202) in world.nbi.log
    assert world.nbi.nsrs == {} and world.owned() == []
    assert world.cluster.list(PODS, NAMESPACE) == [], "the failed NS's pods went before its networks"


def test_unreachable_nbi_is_exit_1_with_the_url(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OSM_HOSTNAME", f"http://127.0.0.1:{port}")
    code, _, err = world.create()
    assert code == 1 and "cannot reach OSM NBI" in err and f"127.0.0.1:{port}" in err
    assert world.owned() == []


def test_ns_delete_of_an_ns_never_instantiated_needs_no_operation(world: World) -> None:
    world.nbi.nsrs["4a1b6f9e-0000-4000-8000-000000000001"] = {
        "_id": "4a1b6f9e-0000-4000-8000-000000000001", "name": "idle", "nsState": "NOT_INSTANTIATED",
        "instantiate_params": {}}
    code, _, err = world.delete("idle")
    assert code == 0, err
    assert world.nbi.nsrs == {} and not any(p.startswith("/osm/nslcm/v1/ns_lcm_op_occs") for _, p, _ in world.nbi.log)


def test_ns_delete_of_an_unknown_ns_is_exit_2(world: World) -> None:
    code, _, err = world.delete("ghost")
    assert code == 2 and "ghost" in err


# ---------------------------------------------------------------- the client


class RecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self.seen.append({"method": method, "url": url, **{k: kwargs.get(k) for k in ("verify", "timeout")}})
        return super().request(method, url, *args, **kwargs)


def test_client_verifies_tls_by_default_and_always_sets_a_timeout(world: World) -> None:
    settings = NbiSettings(hostname=world.nbi.url, password=PASSWORD)
    session = RecordingSession()
    with NbiClient(settings, session) as client:
        assert client.vim_account_id("openstack-site") == world.nbi.vim_accounts["openstack-site"]
    assert session.seen and all(s["verify"] is True and s["timeout"] for s in session.seen)
    assert PASSWORD not in repr(settings) and all(PASSWORD not in str(s["url"]) for s in session.seen)
    insecure = NbiSettings(hostname=world.nbi.url, password=PASSWORD, verify=False)
    session = RecordingSession()
    with NbiClient(insecure, session) as client:
        client.ns_instances()
    assert all(s["verify"] is False for s in session.seen)


def test_an_expired_token_is_renewed_once(world: World) -> None:
    with NbiClient(NbiSettings(hostname=world.nbi.url, password=PASSWORD)) as client:
        client.ns_instances()
        world.nbi.tokens.clear()  # NBI forgot the token (expiry, restart)
        client.ns_instances()
    assert [e for e in world.nbi.log if e[1] == "/osm/admin/v1/tokens"] == [("POST", "/osm/admin/v1/tokens", 200)] * 2


def test_network_labels_carry_the_recorded_id(world: World) -> None:
    assert world.create()[0] == 0
    recorded = world.nbi.bodies[0]["additionalParamsForNs"][NS_ID_PARAM]
    nets = world.cluster.list(L2NETWORKS, NAMESPACE)
    assert nets and {n["metadata"]["labels"][LABEL_NS_ID] for n in nets} == {label_value(recorded)}
    nsr = next(iter(world.nbi.nsrs.values()))
    assert recorded != nsr["_id"], "NBI makes its own id; the networks carry ours, recorded in the NS"


def _status(world: World, *ns: str) -> tuple[int, dict[str, Any], str]:
    from osm_l2net.cli.main import cli

    result = CliRunner().invoke(cli, ["status", *CDN_PACKAGES, *ns, "--kubeconfig", str(world.cluster.kubeconfig),
                                      "-n", NAMESPACE, "-o", "json"])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, json.loads(result.stdout or "{}"), result.stderr


def test_status_finds_an_ns_made_by_ns_create_by_name_by_nsr_id_and_by_plan_id(world: World) -> None:
    """ns-create's networks carry a random plan id, and NBI's nsr id is another: status finds them by each, and by
    the NS name (before, it planned with an id derived from the name and found nothing)."""
    code, out, err = world.create("--wait")
    assert code == 0, err
    nsr_id = out.strip()
    plan_id = world.nbi.bodies[0]["additionalParamsForNs"][NS_ID_PARAM]
    names = sorted(n["metadata"]["name"] for n in world.cluster.list(L2NETWORKS, NAMESPACE))
    for ns in (["--ns-name", "vod"], ["--ns-id", nsr_id], ["--ns-id", plan_id]):
        code, found, err = _status(world, *ns)
        # exit 1: the LCM double's pods have no Multus network status, a problem of the pods, not of the lookup
        assert code == 1 and all(": pod " in p for n in found["networks"] for p in n["problems"]), (ns, found, err)
        assert found["ns"] == plan_id and sorted(n["network"] for n in found["networks"]) == names, ns
        assert all(n["exists"] and n["ready"] for n in found["networks"]), (ns, found)
    code, found, _ = _status(world, "--ns-name", "not-this-one")
    assert code == 1 and not any(n["exists"] for n in found["networks"])


def test_ns_delete_finds_the_ns_by_its_nsr_id_too(world: World) -> None:
    """ns-delete NAME takes the NS's name or NBI's id (osmclient's rule), found through NBI's own listing; the
    networks go by the plan id recorded in the NS, and the nsr id label ns-create added names the same NS."""
    code, out, err = world.create("--wait")
    assert code == 0, err
    nsr_id = out.strip()
    labels = [n["metadata"]["labels"] for n in world.cluster.list(L2NETWORKS, NAMESPACE)]
    assert labels and all(lab.get("osm-l2net.etsi.org/nsr-id") == nsr_id for lab in labels)
    code, _, err = world.delete(nsr_id)
    assert code == 0, err
    assert world.owned() == [] and world.nbi.nsrs == {}
