"""Pure judgement of cluster objects (osm_l2net.kube.state): ownership, readiness, attachments, backoff."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from osm_l2net.core import providers
from osm_l2net.core.plan import LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_VLD_ID, MANAGED_BY, owner_labels
from osm_l2net.core.providers.l2sm import FINALIZER as L2SM_FINALIZER
from osm_l2net.kube import state as ks

OURS = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: "ns-1", LABEL_VLD_ID: "vl-a"}


def obj(labels: dict[str, str], spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {"kind": "L2Network", "metadata": {"name": "n", "labels": labels, **meta}, "spec": spec or {}}


def pod(annotations: dict[str, str], phase: str = "Running") -> dict[str, Any]:
    return {"metadata": {"name": "p", "annotations": annotations}, "status": {"phase": phase}}


def status(*entries: tuple[str, str, list[str]]) -> str:
    default = {"name": "cbr0", "interface": "eth0", "ips": ["10.244.0.5"], "default": True}
    return json.dumps([default] + [{"name": n, "interface": i, "ips": ips} for n, i, ips in entries])


def test_ownership() -> None:
    assert ks.same_owner(obj(OURS), obj(OURS))
    assert not ks.same_owner(obj({**OURS, LABEL_NS_ID: "ns-2"}), obj(OURS))
    assert not ks.same_owner(obj({**OURS, LABEL_VLD_ID: "vl-b"}), obj(OURS)), "another VL of the same NS"
    assert ks.same_owner(obj({LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: "ns-1"}), obj(OURS))
    assert not ks.same_owner(obj({LABEL_NS_ID: "ns-1"}), obj(OURS))
    assert not ks.is_ours(obj({LABEL_MANAGED_BY: MANAGED_BY}))
    assert ks.label_selector(owner_labels("ns-1")) == f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_NS_ID}=ns-1"


def test_spec_drift_ignores_keys_only_the_server_set() -> None:
    live = obj(OURS, {"type": "vnet", "networkCIDR": "10.0.1.0/24", "defaulted": 1})
    assert ks.spec_drift(live, obj(OURS, {"type": "vnet", "networkCIDR": "10.0.1.0/24"})) == {}
    assert ks.spec_drift(live, obj(OURS, {"type": "vnet", "networkCIDR": "10.0.9.0/24"})) == {
        "networkCIDR": "10.0.9.0/24"}


@pytest.mark.parametrize(("kind", "o", "ready", "detail"), [
    ("L2Network", None, False, "not found"),
    ("L2Network", obj(OURS), False, "is the L2S-M operator running?"),
    ("L2Network", {**obj(OURS), "status": {"internalConnectivity": "Unavailable"}}, False, "=Unavailable"),
    ("L2Network", {**obj(OURS), "status": {"internalConnectivity": "Available"}}, True, "=Available"),
    ("L2Network", {**obj(OURS, deletionTimestamp="t"), "status": {"internalConnectivity": "Available"}}, False,
     "being deleted"),
    ("NetworkAttachmentDefinition", obj(OURS), True, "present"),
])
def test_readiness(kind: str, o: dict[str, Any] | None, ready: bool, detail: str) -> None:
    state = ks.readiness(kind, "n", o)
    assert state.ready is ready and detail in state.explained


def test_not_ready_summary_groups_by_reason_and_stays_short() -> None:
    waiting = [ks.readiness("L2Network", f"net-{i}", obj(OURS)) for i in range(1000)]
    odd = ks.readiness("L2Network", "odd", {**obj(OURS), "status": {"internalConnectivity": "Unavailable"}})
    done = ks.readiness("L2Network", "fine", {**obj(OURS), "status": {"internalConnectivity": "Available"}})
    lines = ks.not_ready_summary("L2Network", "default", [*waiting, odd, done], 12.4)
    assert lines == [
        "L2Network default/net-0, default/net-1, default/net-2, default/net-3, default/net-4 and 995 more: "
        "no status.internalConnectivity yet after 12s (is the L2S-M operator running? kubectl -n l2sm-system get pods)",
        "L2Network default/odd: internalConnectivity=Unavailable after 12s (the L2S-M operator has not connected it: "
        "kubectl -n l2sm-system get pods, then its logs)"]
    assert ks.not_ready_summary("L2Network", "default", [done], 3.0) == []


def test_still_present_and_pods_left_summaries() -> None:
    stuck = obj(OURS, deletionTimestamp="t", finalizers=[L2SM_FINALIZER])
    lines = ks.still_present_summary("L2Network", "ns1", {"a": stuck, "b": obj(OURS)}, ["a", "b", "gone"], 2.25)
    assert lines == [
        "L2Network ns1/a: still present after 2.2s: finalizers ['l2sm.operator.io/finalizer'] still present (the "
        "L2S-M operator removes it: is it running? kubectl -n l2sm-system get pods)",
        "L2Network ns1/b: still present after 2.2s: no deletionTimestamp (the delete request did not reach it)"]
    pods = {"p1": {"metadata": {"name": "p1"}, "status": {"phase": "Running"}}}
    assert ks.pods_left_summary("x", "ns1", pods, "osm.etsi.org/ns-id=x", 30) == [
        "pods of NS x in ns1: 1 left after 30s: p1 (Running) (kubectl -n ns1 get pods -l osm.etsi.org/ns-id=x)"]
    assert ks.pods_left_summary("x", "ns1", {}, "s", 1) == []


def test_kubeconfig_and_crd_messages_say_what_to_do() -> None:
    assert "L2S-M installs it (kubectl get crd l2networks.l2sm.l2sm.k8s.local)" in ks.missing_kind_hint(providers.get("l2sm").resource)
    assert "Multus installs it" in ks.missing_kind_hint(providers.NAD)
    assert ks.missing_kubeconfig("--kubeconfig", "/x").startswith("no kubeconfig: /x (given by --kubeconfig)")


def test_attachment_by_position_for_l2sm_port_nads() -> None:
    p = pod({"l2sm/networks": '[{"name":"net-a"},{"name":"net-b","ips":["10.0.2.10/24"]}]',
             "k8s.v1.cni.cncf.io/network-status": status(("l2sm-system/veth3", "net1", ["fe80::1"]),
                                                         ("l2sm-system/veth4", "net2", ["10.0.2.10"]))})
    b = ks.attachment(p, "net-b")
    assert b is not None and (b.interface, b.ips, b.problems) == ("net2", ("10.0.2.10",), ())
    assert ks.attachment(p, "net-c") is None
    assert ks.requested_networks(p) == ["net-a", "net-b"]


def test_attachment_by_name_for_multus_and_problems() -> None:
    p = pod({"k8s.v1.cni.cncf.io/networks": "ns1/net-a@eth9, net-b",
             "k8s.v1.cni.cncf.io/network-status": status(("ns1/net-b", "net2", ["10.0.2.1"]))}, phase="Pending")
    assert ks.requested_networks(p) == ["net-a", "net-b"]
    b, a = ks.attachment(p, "net-b"), ks.attachment(p, "net-a")
    assert b is not None and b.interface == "net2" and b.phase == "Pending"
    assert a is not None and a.interface is None and "no interface for net-a" in a.problems[0]
    broken = pod({"l2sm/networks": "net-a", "l2sm/error": "No interfaces available for node n1",
                  "k8s.v1.cni.cncf.io/network-status": "not json"})
    att = ks.attachment(broken, "net-a")
    assert att is not None and att.problems[0] == "l2sm/error: No interfaces available for node n1"


def test_stuck_reason_names_finalizers_and_pods() -> None:
    o = obj(OURS, finalizers=[L2SM_FINALIZER], deletionTimestamp="t")
    reason = ks.stuck_reason(o, ["cdn-0"])
    assert L2SM_FINALIZER in reason and "is it running?" in reason and "pods still attached: cdn-0" in reason
    assert "no deletionTimestamp" in ks.stuck_reason(obj(OURS), [])


def test_backoff_grows_is_bounded_jittered_and_honours_retry_after() -> None:
    policy = ks.RetryPolicy(base_delay_s=0.1, max_delay_s=1.0)
    rng = random.Random(0)
    delays = [policy.delay(n, rng) for n in range(1, 9)]
    for n, d in enumerate(delays, start=1):
        step = min(1.0, 0.1 * 2 ** (n - 1))
        assert step / 2 <= d <= step
    assert len(set(delays)) == len(delays), "jittered"
    assert policy.delay(1, rng, retry_after=7) == 7


def test_every_progress_summary_is_bounded_the_same_way() -> None:
    """Networks still present and pods still left are listed alike: the first five, then how many more."""
    pods = {f"knf-{i}": {"metadata": {"name": f"knf-{i}"}, "status": {"phase": "Running"}} for i in range(7)}
    [pods_line] = ks.pods_left_summary("ns-1", "default", pods, "osm.etsi.org/ns-id=ns-1", 12.0)
    assert "knf-4 (Running) and 2 more" in pods_line and "knf-5" not in pods_line
    objs = {f"net-{i}": {"metadata": {"name": f"net-{i}", "deletionTimestamp": "t"}} for i in range(7)}
    [nets_line] = ks.still_present_summary("L2Network", "default", objs, sorted(objs), 12.0)
    assert "default/net-4 and 2 more" in nets_line and "net-5" not in nets_line
