"""Day-2 operations through the project's connector over OSM v19's REAL ``K8sHelm3Connector``: LCM's NS action
``upgrade`` / ``rollback`` and LCM's ``scale`` of a kdu-resource-delta, replayed from ns.py (``lcm_replay.py``),
with the real helm (``upgrade --reset-values``, ``rollback <rel> 0 --wait``, ``upgrade --reuse-values --set
replicaCount=N``, ``get values`` / ``get manifest``) against the Kubernetes API test double, whose L2S-M IPAM double
addresses pool pods as L2S-M's webhook does (base + 1, then lastAssignedIP + 1, nothing given back)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from osm_l2net.osm.day2 import Day2Refused
from tests.conftest import CDN_PACKAGES
from tests.lcm_real.lcm_world import L2NET, Lcm, scalable_packages, start_lcm

pytestmark = pytest.mark.helm


@pytest.fixture
def lcm(n2vc: Any, served: Any, helm_wrapper: Path, kubectl: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Lcm:
    return start_lcm(n2vc, served, helm_wrapper, kubectl, tmp_path, monkeypatch, CDN_PACKAGES)


def release_pods(lcm: Lcm, namespace: str, release: str) -> list[dict[str, Any]]:
    return [p for p in lcm.pods(namespace) if p["metadata"]["labels"].get("app.kubernetes.io/instance") == release]


def l2_addresses(pod: dict[str, Any]) -> list[str]:
    status = json.loads(pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"])
    return [ip for entry in status[1:] for ip in entry["ips"]]


def is_attached(pod: dict[str, Any], nsr_id: str) -> bool:
    meta = pod["metadata"]
    return (meta["labels"].get("l2sm") == "true" and meta["labels"].get("osm.etsi.org/ns-id") == nsr_id
            and bool(meta["annotations"].get("l2sm/networks")))


def revisions(lcm: Lcm, namespace: str, release: str) -> int:
    return sum(1 for s in lcm.served.objects("", "v1", "secrets", namespace)
               if s.get("type") == "helm.sh/release.v1" and s["metadata"]["labels"]["name"] == release)


def test_upgrade_with_reset_values_keeps_the_attachment(lcm: Lcm) -> None:
    """LCM's action passes ONLY the primitive params with kdu_reset_values (desc_params = primitive_params) and N2VC
    runs helm upgrade --reset-values: without the connector the new revision has no attachment at all."""
    nsr_id, namespace = lcm.new_ns()

    async def lifecycle() -> tuple[Any, Any]:
        await lcm.replay.instantiate(nsr_id)
        release = lcm.replay.releases(nsr_id)[("cdn-server", "cdn-server")]
        before = [(p["metadata"]["annotations"]["l2sm/networks"]) for p in release_pods(lcm, namespace, release)]
        revision = await lcm.replay.upgrade(nsr_id, "cdn-server", "cdn-server",
                                            {"kdu_reset_values": "yes", "cdn": {"limitRate": "200k"}})
        return before, revision

    before, revision = asyncio.run(lifecycle())
    release = lcm.replay.releases(nsr_id)[("cdn-server", "cdn-server")]
    assert revision == 2
    lcm.served.wait_for(lambda: all(is_attached(p, nsr_id) for p in release_pods(lcm, namespace, release))
                        and len(release_pods(lcm, namespace, release)) == 1, what="the upgraded pod")
    pods = release_pods(lcm, namespace, release)
    assert [p["metadata"]["annotations"]["l2sm/networks"] for p in pods] == before
    assert l2_addresses(pods[0]) == ["10.0.1.10"]
    asyncio.run(lcm.replay.terminate(nsr_id))


def test_an_upgrade_that_loses_the_attachment_is_an_error(lcm: Lcm, monkeypatch: pytest.MonkeyPatch) -> None:
    """The release is read back after helm (get values, get manifest): a chart that no longer renders podAnnotations
    into its pod template leaves pods off their networks; the upgrade says so instead of succeeding."""
    nsr_id, _ = lcm.new_ns()
    asyncio.run(lcm.replay.instantiate(nsr_id))
    from osm_l2net.osm import day2

    monkeypatch.setattr(day2, "manifest_problems", lambda text, kdu: ["no pod template carries them (injected)"])
    with pytest.raises(day2.AttachmentLost, match="without its L2 attachment: no pod template carries them"):
        asyncio.run(lcm.replay.upgrade(nsr_id, "cdn-server", "cdn-server", {"kdu_reset_values": "yes"}))
    monkeypatch.undo()
    asyncio.run(lcm.replay.terminate(nsr_id))


def test_rollback_to_a_revision_without_the_attachment_ends_attached(lcm: Lcm, n2vc: Any) -> None:
    nsr_id, namespace = lcm.new_ns()

    async def lifecycle() -> Any:
        await lcm.replay.instantiate(nsr_id)
        kdu, db_dict = lcm.replay._deployed(nsr_id, "cdn-server", "cdn-server")
        # revision 2: what plain N2VC makes of a reset-values upgrade (no attachment: the pod is off its network)
        await n2vc.K8sHelm3Connector.upgrade(lcm.connector, kdu["k8scluster-uuid"], kdu["kdu-instance"],
                                             kdu_model=kdu["kdu-model"], params={}, db_dict=db_dict, reset_values=True,
                                             reuse_values=False, timeout=1800)
        await lcm.replay.upgrade(nsr_id, "cdn-server", "cdn-server", {})  # revision 3: attached again
        return await lcm.replay.rollback(nsr_id, "cdn-server", "cdn-server")  # helm: back to revision 2

    revision = asyncio.run(lifecycle())
    release = lcm.replay.releases(nsr_id)[("cdn-server", "cdn-server")]
    assert revision == 5, "the rollback made revision 4 (unattached), the connector re-attached it as revision 5"
    assert revisions(lcm, namespace, release) == 5
    lcm.served.wait_for(lambda: [is_attached(p, nsr_id) for p in release_pods(lcm, namespace, release)] == [True],
                        what="the re-attached pod")
    assert l2_addresses(release_pods(lcm, namespace, release)[0]) == ["10.0.1.10"]
    asyncio.run(lcm.replay.terminate(nsr_id))


def test_a_pinned_kdu_is_never_scaled_beyond_one_replica(lcm: Lcm) -> None:
    """LCM's _scale_kdu call for the router (10.0.1.1 and 10.0.2.1 pinned): refused before helm runs."""
    nsr_id, namespace = lcm.new_ns()
    asyncio.run(lcm.replay.instantiate(nsr_id))
    kdu, db_dict = lcm.replay._deployed(nsr_id, "router-firewall", "router-firewall")
    since = lcm.served.last_seq()
    with pytest.raises(Day2Refused, match=r"to 2 replicas refused: it has pinned addresses \(net1 10\.0\.1\.1/24"):
        asyncio.run(lcm.connector.scale(kdu_instance=kdu["kdu-instance"], scale=2, resource_name="",
                                        total_timeout=1800, vca_id=None, cluster_uuid=kdu["k8scluster-uuid"],
                                        kdu_model=kdu["kdu-model"], atomic=True, db_dict=db_dict))
    assert lcm.served.select("POST", "/secrets", since) == [], "helm did not run"
    assert revisions(lcm, namespace, kdu["kdu-instance"]) == 1
    asyncio.run(lcm.replay.terminate(nsr_id))


def test_scale_out_in_out_gives_each_replica_its_own_address_and_refuses_beyond_the_pool(
        n2vc: Any, served: Any, helm_wrapper: Path, kubectl: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    lcm = start_lcm(n2vc, served, helm_wrapper, kubectl, tmp_path, monkeypatch, scalable_packages(tmp_path / "pkgs"))
    nsr_id, namespace = lcm.new_ns()
    net_name: list[str] = []

    def addresses() -> list[str]:
        release = lcm.replay.releases(nsr_id)[("cdn-server", "cdn-server")]
        return sorted(a for p in release_pods(lcm, namespace, release) for a in l2_addresses(p))

    def network() -> dict[str, Any]:
        return next(n for n in lcm.networks(namespace) if n["metadata"]["name"] == net_name[0])

    async def lifecycle() -> list[Any]:
        installed = await lcm.replay.instantiate(nsr_id)
        net_name.append(next(n["metadata"]["name"] for n in lcm.networks(namespace)
                             if n["spec"].get("podAddressRange")))
        seen = [installed, addresses()]
        for direction in ("SCALE_OUT", "SCALE_IN", "SCALE_OUT"):
            seen += [await lcm.replay.scale(nsr_id, "cdn-server", "cdn-scale", direction), addresses()]
        return seen

    (installed, first, out1, three, in1, one, out2, three_again) = asyncio.run(lifecycle())
    assert installed == [True, True, True]
    assert network()["spec"]["podAddressRange"] == "10.0.1.32/27", "the planner's pool (clear of 10.0.1.1)"
    assert first == ["10.0.1.33"], "L2S-M's first address: the range's base + 1"
    assert (out1, in1, out2) == ([3], [1], [3])
    assert three == ["10.0.1.33", "10.0.1.34", "10.0.1.35"]
    assert one == ["10.0.1.33"]
    assert three_again == ["10.0.1.33", "10.0.1.36", "10.0.1.37"], "scale in gives nothing back to L2S-M"
    assert network()["status"]["lastAssignedIP"] == "10.0.1.37" and len(network()["status"]["assignedIPs"]) == 5

    # a long history (many pods created): one address left in the block; 1 -> 3 needs two: refused before helm
    asyncio.run(lcm.replay.scale(nsr_id, "cdn-server", "cdn-scale", "SCALE_IN"))
    set_last_assigned(lcm, namespace, net_name[0], "10.0.1.62")
    since = lcm.served.last_seq()
    with pytest.raises(Day2Refused, match=r"from 1 to 3 replicas refused: its 2 new pod\(s\) need 2 address\(es\) "
                                          r".*podAddressRange 10\.0\.1\.32/27, lastAssignedIP 10\.0\.1\.62\) has 1 left"):
        asyncio.run(lcm.replay.scale(nsr_id, "cdn-server", "cdn-scale", "SCALE_OUT"))
    assert lcm.served.select("POST", "/secrets", since) == [], "helm did not run"
    assert lcm.served.refusals() == []
    assert asyncio.run(lcm.replay.terminate(nsr_id))


def set_last_assigned(lcm: Lcm, namespace: str, name: str, ip: str) -> None:
    """Play L2S-M having addressed many pods: its status, written through the status subresource."""
    import kubernetes

    client = kubernetes.config.new_client_from_config(str(lcm.served.kubeconfig))
    api = kubernetes.client.CustomObjectsApi(client)
    api.patch_namespaced_custom_object_status(*L2NET[:2], namespace, L2NET[2], name,
                                              {"status": {"lastAssignedIP": ip}})
    client.close()
