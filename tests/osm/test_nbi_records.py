"""What the NBI double stores (as NBI v19 stores it: kdur additionalParams as JSON text of '!!yaml'-encoded values)
read back by osm_l2net.osm.records as the LCM connector reads an NS: the user's parameters come back as sent."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from osm_l2net.osm import records
from osm_l2net.osm.nbi import NbiClient, NbiSettings
from osm_l2net.osm.workflow import NS_ID_PARAM, plan_id_of
from tests.conftest import CDN_PACKAGES, MODELS
from tests.support.nbi_double import OsmNbiDouble

SCHEMA = MODELS / "osm-nbi" / "ns_instantiate.schema.json"
VALUES = {"replicaCount": 1, "service": {"type": "NodePort", "ports": [80, 443]}, "podLabels": {"team": "a"}}


@pytest.fixture
def nbi() -> Iterator[OsmNbiDouble]:
    with OsmNbiDouble(CDN_PACKAGES, SCHEMA) as double:
        yield double


def test_kdu_params_stored_as_nbi_stores_them_read_back_as_sent(nbi: OsmNbiDouble) -> None:
    body = {"nsName": "vod", "nsdId": next(iter(nbi.nsds)), "vimAccountId": nbi.vim_accounts["openstack-site"],
            "k8s-namespace": "vod", "additionalParamsForNs": {NS_ID_PARAM: "1b2c3d4e"},
            "additionalParamsForVnf": [
                {"member-vnf-index": "cdn-server", "additionalParams": {"l2net": {"forwarding": False}},
                 "additionalParamsForKdu": [{"kdu_name": "cdn-server", "additionalParams": VALUES,
                                             "kdu-deployment-name": "cdn-1"}]}]}
    with NbiClient(NbiSettings(hostname=nbi.url, password="s3cret-pw")) as client:
        ns_id, _ = client.create_ns(body)
    nsr = nbi.nsrs[ns_id]
    vnfrs = [nbi.vnfrs[v] for v in nsr["constituent-vnfr-ref"]]
    cdn = next(v for v in vnfrs if v["member-vnf-index-ref"] == "cdn-server")
    kdur = cdn["kdur"][0]
    assert isinstance(kdur["additionalParams"], str), "NBI keeps a KDU's params as JSON text"
    assert json.loads(kdur["additionalParams"])["service"].startswith("!!yaml ")
    assert cdn["additionalParamsForVnf"]["l2net"].startswith("!!yaml ")
    instance = records.instance_from_records(nsr, vnfrs, "vod")
    vnf = instance.params.vnf("cdn-server")
    assert vnf is not None and vnf.additional_params == {"l2net": {"forwarding": False}}
    kdu = vnf.kdu("cdn-server")
    assert kdu is not None and dict(kdu.additional_params) == VALUES and kdu.kdu_deployment_name == "cdn-1"
    assert kdu.k8s_namespace == "vod", "NBI resolves each kdur's namespace (the request's here)"
    assert plan_id_of(nsr) == "1b2c3d4e"


def test_a_kdu_without_params_gets_the_projects_namespace_as_nbi_gives_it(nbi: OsmNbiDouble) -> None:
    body = {"nsName": "vod", "nsdId": next(iter(nbi.nsds)), "vimAccountId": nbi.vim_accounts["openstack-site"]}
    with NbiClient(NbiSettings(hostname=nbi.url, password="s3cret-pw")) as client:
        ns_id, _ = client.create_ns(body)
    vnfrs = [nbi.vnfrs[v] for v in nbi.nsrs[ns_id]["constituent-vnfr-ref"]]
    assert {k["k8s-namespace"] for v in vnfrs for k in v["kdur"]} == {nbi.project_id}
    assert all(k["additionalParams"] is None for v in vnfrs for k in v["kdur"])
    instance = records.instance_from_records(nbi.nsrs[ns_id], vnfrs, "default")
    assert all(not k.additional_params for v in instance.params.vnfs for k in v.kdus)
