"""Which NS a network is (issue 10, items 3 and 5): the cluster commands must be told the NS, an NS name is one NS
(another NSD under the same name is refused, never adopted, never deleted), and ``apply --replace`` recreates a
network whose spec differs only when no pod is attached. The real ``osm-l2net`` executable against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

from osm_l2net import api
from osm_l2net.core.plan import LABEL_NSD_ID, Plan
from tests.conftest import CDN_PACKAGES, REPO
from tests.deploy.conftest import Env
from tests.deploy.test_cli_cluster import run
from tests.support.k8s_emulator import L2NETWORKS, PODS

TWO_ROUTERS = sorted(str(p) for p in (REPO / "examples" / "two_routers").glob("*.yaml"))
NETS_ONLY = ["--no-kdus"]


def _names(env: Env) -> dict[str, str]:
    """name -> uid of every L2Network in default."""
    return {o["metadata"]["name"]: o["metadata"]["uid"] for o in env.emulator.list(L2NETWORKS, "default")}


def _plan(paths: list[str], ns_name: str) -> Plan:
    return api.plan(paths, ns_name=ns_name)


def test_the_cluster_commands_need_the_ns_named_before_any_contact(env: Env) -> None:
    """No shared default: an NS id derives from the name, so one default for every NSD made them share networks."""
    emulated = env.emulator
    for command in ("apply", "delete", "status"):
        done = run(env, command, *CDN_PACKAGES, *([] if command == "status" else NETS_ONLY), check_code=2)
        assert "--ns-name" in done.stderr and "--ns-id" in done.stderr, done.stderr
    assert emulated.log.entries() == [], "refused before the cluster was contacted"


def test_plan_names_the_ns_after_its_nsd_without_ns_name() -> None:
    """plan/graph keep a default, but one per NSD: two NSDs planned without --ns-name get distinct NS ids."""
    from osm_l2net.cli.planning import build_plan

    common = {"ns_name": None, "ns_id": None, "namespace": None, "provider": "l2sm", "config": None, "df_id": None,
              "interface_capacity": 10, "values_labels_path": "podLabels", "values_annotations_path": "podAnnotations"}
    cdn, routers = build_plan(CDN_PACKAGES, **common), build_plan(TWO_ROUTERS, **common)  # type: ignore[arg-type]
    assert (cdn.ns_name, routers.ns_name) == ("vod_service_ns", "two_routers_ns")
    assert cdn.ns_id != routers.ns_id


def test_a_second_nsd_under_the_same_ns_name_is_refused_and_touches_nothing(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    run(env, "apply", *CDN_PACKAGES, "--ns-name", "shared", *NETS_ONLY)
    before = {n: emulated.history(L2NETWORKS, "default", n) for n in _names(env)}
    writes = len(emulated.log.writes())
    for dry in ([], ["--dry-run"], ["--dry-run=server"]):
        done = run(env, "apply", *TWO_ROUTERS, "--ns-name", "shared", *NETS_ONLY, *dry, check_code=3)
        assert "vod_service_ns" in done.stderr and "two_routers_ns" in done.stderr, done.stderr
    assert len(emulated.log.writes()) == writes, "nothing written, not even the other NSD's own networks"
    assert {n: emulated.history(L2NETWORKS, "default", n) for n in _names(env)} == before, "first NS untouched"
    assert all(o["metadata"]["labels"][LABEL_NSD_ID] == "vod_service_ns"
               for o in emulated.list(L2NETWORKS, "default"))


def test_a_network_of_another_nsd_with_our_name_is_never_adopted(env: Env) -> None:
    """Same NS id and network name, another NSD label: another NS's network (exit 3 naming both), not ours to label."""
    emulated = env.emulator
    env.operator()
    plan = _plan(CDN_PACKAGES, "shared")
    net = plan.networks[0]
    foreign = json.loads(json.dumps(dict(net.manifest)))
    foreign["metadata"]["labels"][LABEL_NSD_ID] = "other_nsd"
    emulated.put(L2NETWORKS, "default", foreign)
    done = run(env, "apply", *CDN_PACKAGES, "--ns-name", "shared", *NETS_ONLY, check_code=3)
    assert net.name in done.stderr and "other_nsd" in done.stderr and "vod_service_ns" in done.stderr, done.stderr
    left = emulated.get(L2NETWORKS, "default", net.name)
    assert left is not None and left["metadata"]["labels"][LABEL_NSD_ID] == "other_nsd", "not relabelled"


def test_delete_of_one_nsd_leaves_the_other_nsds_networks(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    run(env, "apply", *CDN_PACKAGES, "--ns-name", "shared", *NETS_ONLY)
    kept = _names(env)
    done = run(env, "delete", *TWO_ROUTERS, "--ns-name", "shared", *NETS_ONLY, "-o", "json")
    assert json.loads(done.stdout)["deleted"] == []
    assert _names(env) == kept, "the other NSD's networks (same NS id) are still there, the same objects"
    assert not [e for e in emulated.log.writes() if e.method == "DELETE"]
    run(env, "delete", *CDN_PACKAGES, "--ns-name", "shared", *NETS_ONLY)
    assert _names(env) == {}


def test_networks_made_before_the_nsd_label_stay_this_ns_ids(env: Env) -> None:
    """Objects of older versions lack the NSD label: adopted (the label added) and removed by NS id as before."""
    emulated = env.emulator
    env.operator()
    plan = _plan(CDN_PACKAGES, "old")
    for net in plan.networks:
        old = json.loads(json.dumps(dict(net.manifest)))
        del old["metadata"]["labels"][LABEL_NSD_ID]
        emulated.put(L2NETWORKS, "default", old)
    done = run(env, "apply", *CDN_PACKAGES, "--ns-name", "old", *NETS_ONLY, "-o", "json")
    assert sorted(json.loads(done.stdout)["adopted"]) == sorted(n.name for n in plan.networks)
    run(env, "delete", *CDN_PACKAGES, "--ns-name", "old", *NETS_ONLY)
    assert _names(env) == {}


def _drift(env: Env, name: str) -> None:
    env.emulator.patch(L2NETWORKS, "default", name, {"spec": {"networkCIDR": "10.9.9.0/24"}})


def test_replace_recreates_a_changed_network_only_when_asked_and_no_pod_is_attached(env: Env) -> None:
    emulated = env.emulator
    env.operator()
    plan = _plan(CDN_PACKAGES, "rep")
    run(env, "apply", *CDN_PACKAGES, "--ns-name", "rep", *NETS_ONLY)
    net = plan.networks[0]
    _drift(env, net.name)
    uid = _names(env)[net.name]

    refused = run(env, "apply", *CDN_PACKAGES, "--ns-name", "rep", *NETS_ONLY, check_code=3)
    assert "10.9.9.0/24" in refused.stderr and "--replace" in refused.stderr, refused.stderr

    emulated.create_pod("default", "knf-0", annotations={"l2sm/networks": net.name})
    for dry in ([], ["--dry-run"], ["--dry-run=server"]):
        busy = run(env, "apply", *CDN_PACKAGES, "--ns-name", "rep", *NETS_ONLY, "--replace", *dry, check_code=3)
        assert "knf-0" in busy.stderr and net.name in busy.stderr, busy.stderr
    assert _names(env)[net.name] == uid, "with a pod attached the network stays"

    emulated.delete(PODS, "default", "knf-0")
    writes = len(emulated.log.writes())
    for mode in ("client", "server"):
        shown = run(env, "apply", *CDN_PACKAGES, "--ns-name", "rep", *NETS_ONLY, "--replace", f"--dry-run={mode}",
                    "-o", "json")
        actions = {c["name"]: c["action"] for c in json.loads(shown.stdout)["changes"]}
        assert actions[net.name] == "replace" and actions[plan.networks[1].name] == "unchanged", actions
    assert [e for e in emulated.log.writes()[writes:] if "dryRun" not in e.query] == [], "a dry run replaces nothing"

    done = run(env, "apply", *CDN_PACKAGES, "--ns-name", "rep", *NETS_ONLY, "--replace", "-o", "json")
    assert json.loads(done.stdout)["replaced"] == [net.name]
    live = emulated.get(L2NETWORKS, "default", net.name)
    assert live is not None and live["metadata"]["uid"] != uid and live["spec"]["networkCIDR"] == net.cidr
    cidrs = [None if h is None else h["spec"]["networkCIDR"] for h in emulated.history(L2NETWORKS, "default", net.name)]
    assert None in cidrs[cidrs.index("10.9.9.0/24"):] and cidrs[-1] == net.cidr, "deleted, then created again"


def test_status_and_delete_find_an_ns_by_name_whatever_its_id(env: Env, tmp_path: Path) -> None:
    """An NS applied with an explicit --ns-id is found by its name alone (the name label), and by its id alone."""
    env.operator()
    run(env, "apply", *CDN_PACKAGES, "--ns-name", "named", "--ns-id", "id-7", *NETS_ONLY)
    by_name = json.loads(run(env, "status", *CDN_PACKAGES, "--ns-name", "named", "-o", "json").stdout)
    by_id = json.loads(run(env, "status", *CDN_PACKAGES, "--ns-id", "id-7", "-o", "json").stdout)
    assert by_name["ns"] == by_id["ns"] == "id-7"
    assert all(n["exists"] and n["ready"] for n in by_name["networks"] + by_id["networks"])
    done = run(env, "delete", *CDN_PACKAGES, "--ns-name", "named", *NETS_ONLY, "-o", "json")
    assert len(json.loads(done.stdout)["deleted"]) == 2 and _names(env) == {}

