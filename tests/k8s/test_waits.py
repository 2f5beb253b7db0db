"""Waits that explain themselves (issue 13, Why: "Waits are silent"): one test per message.

Against the Kubernetes API test double, a closed port, and a socket that accepts connections but never answers. The
progress interval and the first-contact timeout are settings, so these tests use small ones instead of sleeping for
minutes; elapsed times are asserted only with generous bounds (timing goals live in bench/).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from osm_l2net.core.errors import ClusterError, TemporaryClusterError, WaitTimeout
from osm_l2net.core.plan import LABEL_MANAGED_BY, LABEL_NS_ID, LABEL_VLD_ID, MANAGED_BY, NetworkPlan, owner_labels
from osm_l2net.kube.cluster import Cluster, ClusterAccess, RetryPolicy, connect
from tests.support.k8s_emulator import L2NETWORKS, NAMESPACES, FaultPlan
from tests.support.k8s_harness import EmulatedCluster

QUICK = RetryPolicy(attempts=3, base_delay_s=0.01, max_delay_s=0.05, total_s=5.0, connect_timeout_s=1.0,
                    request_timeout_s=2.0, first_contact_timeout_s=0.3, first_contact_attempts=2,
                    progress_interval_s=0.1)


def l2net(vld: str, ns_id: str = "ns-1") -> NetworkPlan:
    name = f"{vld}-{ns_id}"
    labels = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NS_ID: ns_id, LABEL_VLD_ID: vld}
    manifest = {"apiVersion": "l2sm.l2sm.k8s.local/v1", "kind": "L2Network",
                "metadata": {"name": name, "labels": labels}, "spec": {"type": "vnet", "networkCIDR": "10.0.1.0/24"}}
    return NetworkPlan(vld, name, "10.0.1.0/24", "ipv4", None, manifest)


def kubeconfig_for(path: Path, server: str, context: str = "lab") -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}},
                     {"name": "other", "context": {"cluster": "c", "user": "u"}}]}))
    path.chmod(0o600)
    return path


def closed_port() -> int:
    with socket.socket() as sock:  # free a moment ago: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A listening socket that accepts connections and never answers (a hung API server, a black-holing proxy)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def cluster(kube_emulator: EmulatedCluster) -> Iterator[tuple[Cluster, list[str]]]:
    lines: list[str] = []
    with Cluster(ClusterAccess(kubeconfig=str(kube_emulator.kubeconfig)), policy=QUICK, seed=1,
                 progress=lines.append) as c:
        yield c, lines


# ---------------------------------------------------------------- first contact


def test_closed_port_fails_at_once_naming_server_kubeconfig_and_context(tmp_path: Path) -> None:
    server = f"http://127.0.0.1:{closed_port()}"
    kubeconfig = kubeconfig_for(tmp_path / "kubeconfig", server)
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(TemporaryClusterError) as err:
        Cluster(ClusterAccess(kubeconfig=str(kubeconfig)), policy=QUICK, progress=lines.append)
    elapsed = time.monotonic() - started
    message = str(err.value)
    assert f"cannot reach the Kubernetes API server {server}" in message
    assert f"context 'lab' of kubeconfig {kubeconfig}, chosen by --kubeconfig" in message
    assert "connection refused" in message and "2 attempts" in message
    assert f"try: kubectl --kubeconfig {kubeconfig} --context lab get --raw /version" in message
    assert lines and all(server in line and "trying again" in line for line in lines), lines
    assert elapsed < 10, f"a closed port is known at once ({elapsed:.1f}s)"


def test_server_that_never_answers_fails_after_the_short_timeout(tmp_path: Path, silent_server: str) -> None:
    kubeconfig = kubeconfig_for(tmp_path / "kubeconfig", silent_server)
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(TemporaryClusterError) as err:
        Cluster(ClusterAccess(kubeconfig=str(kubeconfig), context="other"), policy=QUICK, progress=lines.append)
    elapsed = time.monotonic() - started
    message = str(err.value)
    assert "connected, but no answer within 0.3s" in message and "context 'other'" in message
    assert "--context other" in message
    assert lines == [f"Kubernetes API server {silent_server}: connected, but no answer within 0.3s; "
                     f"trying again (1/2)"]
    assert elapsed < 15, f"bounded by the first-contact timeout, not by minutes of request retries ({elapsed:.1f}s)"


def test_the_defaults_bound_first_contact_in_seconds_and_speak_during_waits() -> None:
    """The tests above use QUICK; these are what a user gets: the first contact is on (3 short tries), so a server
    that never answers ends within attempts x timeout + backoff (about 13 s; it was 41 s of request retries), and a
    wait says something every few seconds, not once before a 5-minute deadline. The CLI's flags default to these."""
    import click

    from osm_l2net.cli.main import cli
    from osm_l2net.cli.types import parse_duration

    policy = RetryPolicy()
    assert policy.first_contact_attempts >= 1
    worst = policy.first_contact_attempts * policy.first_contact_timeout_s + sum(
        min(policy.max_delay_s, policy.base_delay_s * 2.0 ** (a - 1)) for a in range(1, policy.first_contact_attempts))
    assert worst <= 15, worst
    assert policy.progress_interval_s <= 10
    apply = cli.get_command(click.Context(cli), "apply")
    assert apply is not None
    defaults = {p.name: p.default for p in apply.params}
    assert parse_duration(str(defaults["connect_timeout"])) == policy.first_contact_timeout_s
    assert parse_duration(str(defaults["progress_interval"])) == policy.progress_interval_s


def test_first_contact_is_one_get_of_version_and_not_counted_as_the_ns_cost(kube_emulator: EmulatedCluster) -> None:
    with Cluster(ClusterAccess(kubeconfig=str(kube_emulator.kubeconfig)), policy=QUICK) as c:
        assert c.stats["probe"] == 1 and c.stats["total"] == 0
    assert [e.path for e in kube_emulator.log.entries()] == ["/version/"]


def test_first_contact_can_be_switched_off(tmp_path: Path) -> None:
    kubeconfig = kubeconfig_for(tmp_path / "kubeconfig", f"http://127.0.0.1:{closed_port()}")
    off = RetryPolicy(first_contact_attempts=0)
    with Cluster(ClusterAccess(kubeconfig=str(kubeconfig)), policy=off) as c:
        assert c.stats["probe"] == 0


# ---------------------------------------------------------------- kubeconfig and context


def test_missing_kubeconfig_names_the_file_and_how_it_was_chosen(tmp_path: Path) -> None:
    with pytest.raises(ClusterError) as flag:
        connect(ClusterAccess(kubeconfig="/nonexistent"), {})
    assert str(flag.value) == "no kubeconfig: /nonexistent (given by --kubeconfig) does not exist; check the path"
    with pytest.raises(ClusterError) as env:
        connect(ClusterAccess(), {"KUBECONFIG": "/nope/a:/nope/b"})
    assert "$KUBECONFIG=/nope/a:/nope/b names no existing file" in str(env.value)
    assert "pass --kubeconfig" not in str(flag.value)


def test_no_kubeconfig_anywhere_says_where_kubectl_looks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ClusterError) as err:
        connect(ClusterAccess(), {})
    message = str(err.value)
    assert f"{tmp_path}/.kube/config does not exist and neither --kubeconfig nor $KUBECONFIG is set" in message
    assert "pass --kubeconfig FILE or set $KUBECONFIG" in message


def test_unknown_context_lists_the_contexts(tmp_path: Path) -> None:
    kubeconfig = kubeconfig_for(tmp_path / "kubeconfig", "http://127.0.0.1:1")
    with pytest.raises(ClusterError) as err:
        connect(ClusterAccess(kubeconfig=str(kubeconfig), context="prod"))
    assert str(err.value) == (f"context 'prod' is not in the kubeconfig {kubeconfig} (chosen by --kubeconfig); its "
                              f"contexts: lab, other (kubectl config get-contexts)")


# ---------------------------------------------------------------- 404s: the namespace is not a CRD problem


def test_404_creating_the_namespace_is_not_a_crd_problem(kube_emulator: EmulatedCluster,
                                                         cluster: tuple[Cluster, list[str]]) -> None:
    c, _ = cluster
    del kube_emulator.emulator.resources[NAMESPACES]  # a server that does not serve /api/v1/namespaces
    with pytest.raises(ClusterError) as err:
        c.ensure_namespace("vod")
    message = str(err.value)
    assert "create Namespace vod: HTTP 404 from" in message and kube_emulator.url in message
    assert "does not serve /api/v1/namespaces" in message and "CRD" not in message


def test_404_on_l2networks_is_the_missing_crd(kube_emulator: EmulatedCluster,
                                              cluster: tuple[Cluster, list[str]]) -> None:
    c, _ = cluster
    with pytest.raises(ClusterError, match="namespace 'nowhere' does not exist"):  # not the CRD: it is installed
        c.ensure_network(l2net("vl-b"), namespace="nowhere")
    del kube_emulator.emulator.resources[L2NETWORKS]  # L2S-M not installed: the path itself is unknown
    with pytest.raises(ClusterError) as err:
        c.ensure_network(l2net("vl-a"))
    assert str(err.value) == (
        "create L2Network default/vl-a-ns-1: HTTP 404: the API server does not serve l2networks "
        "(l2sm.l2sm.k8s.local/v1): is the CRD installed? L2S-M installs it "
        "(kubectl get crd l2networks.l2sm.l2sm.k8s.local)")


# ---------------------------------------------------------------- progress while waiting


def test_operator_down_the_wait_says_what_is_missing_every_interval(kube_emulator: EmulatedCluster,
                                                                    cluster: tuple[Cluster, list[str]]) -> None:
    c, lines = cluster
    kube_emulator.operator.start(ready_after=None)  # finalizer added, status never set: the operator is "down"
    net = l2net("vl-a")
    c.ensure_network(net)
    with pytest.raises(WaitTimeout) as err:
        c.wait_ready([net], deadline_s=1.0)
    ticks = [line for line in lines if line.startswith("L2Network default/vl-a-ns-1: no status.internalConnectivity")]
    assert len(ticks) >= 3, f"a line every 0.1s during a 1s wait, not silence: {lines}"
    assert all(t.endswith("(is the L2S-M operator running? kubectl -n l2sm-system get pods)") for t in ticks)
    assert " after 0." in ticks[0] and ticks[-1] != ticks[0], "each line says how long it has waited"
    assert "kubectl -n l2sm-system get pods" in str(err.value)
    assert c.stats["watch"] <= 3, "the lines come from a ticker, not from re-listing"


def test_ready_networks_stop_the_lines(kube_emulator: EmulatedCluster, cluster: tuple[Cluster, list[str]]) -> None:
    c, lines = cluster
    kube_emulator.operator.start(ready_after=0.0)
    net = l2net("vl-a")
    c.ensure_network(net)
    assert c.wait_ready([net], deadline_s=5)[0].ready
    time.sleep(0.3)
    assert not [line for line in lines if "vl-a" in line], "nothing to say about a wait that ended"


def test_stuck_finalizer_is_named_while_waiting_for_deletion(kube_emulator: EmulatedCluster,
                                                             cluster: tuple[Cluster, list[str]]) -> None:
    c, lines = cluster
    kube_emulator.operator.start(ready_after=0.0, release_finalizer=False)
    net = l2net("vl-a")
    c.ensure_network(net)
    c.wait_ready([net], deadline_s=5)
    c.delete_networks([net])
    notes: list[str] = []
    with pytest.raises(WaitTimeout):
        c.wait_gone([net], deadline_s=0.6, notify=notes.append)
    assert notes and not lines, "notify overrides the cluster's progress"
    assert notes[0].startswith("L2Network default/vl-a-ns-1: still present after 0.")
    assert "finalizers ['l2sm.operator.io/finalizer'] still present (the L2S-M operator removes it: is it running? " \
           "kubectl -n l2sm-system get pods)" in notes[0]


def test_pods_that_do_not_go_are_named_while_waiting(kube_emulator: EmulatedCluster,
                                                     cluster: tuple[Cluster, list[str]]) -> None:
    c, lines = cluster
    kube_emulator.create_pod("default", "knf-0", labels={LABEL_NS_ID: "ns-1"})
    with pytest.raises(WaitTimeout, match=r"kubectl -n default get pods -l osm.etsi.org/ns-id=ns-1"):
        c.wait_pods_gone(owner_labels("ns-1"), deadline_s=0.5)
    assert lines and lines[0].startswith("pods of NS ns-1 in default: 1 left after 0.")
    assert "knf-0 (" in lines[0] and lines[0].endswith("(kubectl -n default get pods -l osm.etsi.org/ns-id=ns-1)")


def test_a_streak_of_retries_is_said_not_only_logged(kube_emulator: EmulatedCluster,
                                                     cluster: tuple[Cluster, list[str]]) -> None:
    c, lines = cluster
    kube_emulator.faults = FaultPlan(seed=1, rate=1.0, kinds=(503,), match="^GET .*/l2networks", limit=2)
    assert c.list_owned() == []
    assert len(lines) == 1 and lines[0].startswith("list l2networks in all namespaces: HTTP 503 "), lines
    assert "retry 2/2 in" in lines[0], "one blip stays in the log; from the second retry on, the user hears it"
