"""ns-create / ns-delete for an unmodified OSM: the NS's networks are made here, around OSM's own create and delete.

``ns_create``: read the NSD and its VNFDs from NBI, plan, create the networks and wait until they are ready, then
``POST /nslcm/v1/ns_instances_content`` with each KDU's attachment in ``additionalParamsForVnf[].additionalParamsForKdu[]
.additionalParams`` (merged with the user's ``--config``), then (``wait``) follow the operation. A failure rolls back:
networks created by this run are deleted; an NS that OSM failed to instantiate is terminated first (its KDUs may be
running on the networks), then its networks are removed.

The NS id of the plan (network names, ownership labels) cannot be OSM's nsr id: NBI makes that id only when it
receives the POST (``uuid4()`` in NBI; ``nsInstanceId`` in the body is ignored on create), and the KDU attachment must be
in that same POST, because NBI copies KDU parameters into the VNF records at creation (the later ``instantiate`` step
does not update them). So the plan uses a client-generated UUID, unique per NS instance, recorded in the NS itself as
``additionalParamsForNs.osm_l2net_ns_id`` (and on every network as ``osm.etsi.org/ns-id``); ``ns_delete`` reads it back
from the NS record, so the names stay stable for the NS's life without any local state. Both paths share one name
space: an NS created by the LCM connector carries no such parameter, and its nsr id is its plan id.

The parameter's name follows NBI's rule for names outside KDUs (``_format_additional_params`` in NBI's
instance_topics.py: ``^[a-zA-Z_][a-zA-Z0-9_]*$``, else ``400 Invalid param name``). Versions before this one wrote
``osm-l2net-ns-id``, which a real NBI refuses; records written with it (by an NBI that did not check) are still read.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from osm_l2net.core.errors import InputError, L2NetError, ParamsError, Problem
from osm_l2net.core.model import Descriptors, NsInstance
from osm_l2net.core.options import PlanOptions
from osm_l2net.core.params import nbi_rule_problems, parse_params, vnf_param_name_problems
from osm_l2net.core.plan import Plan, plain
from osm_l2net.core.planner import build_plan
from osm_l2net.deploy.deployer import DeploySettings
from osm_l2net.kube import cluster as kube
from osm_l2net.osm import records
from osm_l2net.osm.nbi import NbiClient, NsOperationFailed
from osm_l2net.osm.networks import create_networks, label_nsr, remove_ns_networks

NS_ID_PARAM = "osm_l2net_ns_id"
LEGACY_NS_ID_PARAMS = ("osm-l2net-ns-id",)  # read, never written: NBI v19 refuses the name (see the module doc)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class NsCreateRequest:
    ns_name: str
    nsd_name: str
    vim_account: str
    config: Mapping[str, Any] | None = None  # osmclient --config: the ns_instantiate body's optional keys
    description: str | None = None
    wait: bool = False
    wait_timeout: float = 3600.0
    options: PlanOptions = field(default_factory=PlanOptions)  # provider, namespace (default for networks and KDUs)
    config_source: str = "--config"  # what problems in the config are located in: --config, or the --config_file path


@dataclass
class NsCreateResult:
    ns_id: str  # OSM's nsr id
    plan_id: str  # the id the networks are named and labelled with
    nslcmop_id: str
    networks: list[str]
    state: str  # "PROCESSING" (not waited for) or the final operationState


@dataclass
class NsDeleteResult:
    ns_id: str
    nslcmop_id: str | None
    networks: list[str]


def fetch_descriptors(client: NbiClient, nsd_name: str) -> tuple[dict[str, Any], Descriptors]:
    """The NSD record and the NS's descriptors, as onboarded in OSM (NSD and each VNF package's VNFD)."""
    nsd_record = client.nsd(nsd_name)
    nsd_doc = client.nsd_content(str(nsd_record["_id"]))
    vnfd_ids = _vnfd_ids(nsd_record, nsd_doc)
    packages = {str(p.get("id") or p.get("vnfdId")): p for p in client.vnf_packages()}
    missing = [v for v in vnfd_ids if v not in packages]
    if missing:
        raise InputError.single(f"NSD {nsd_record.get('name')}", "vnfd-id", f"VNFD(s) {missing} are not onboarded in OSM",
                                "every VNF package the NSD refers to, onboarded first (osm vnfpkg-create)")
    vnfds = [client.vnfd_content(str(packages[v]["_id"])) for v in vnfd_ids]
    return nsd_record, records.descriptors_from_records(nsd_doc, vnfds, "OSM NBI")


def ns_create(client: NbiClient, cluster: kube.Cluster, request: NsCreateRequest, settings: DeploySettings,
              progress: Progress) -> NsCreateResult:
    nsd_record, descriptors = fetch_descriptors(client, request.nsd_name)
    vim_id = client.vim_account_id(request.vim_account)
    _refuse_duplicate_name(client, request.ns_name)
    config = dict(request.config or {})
    params = parse_params(config, request.config_source)
    plan_id = str(uuid.uuid4())
    plan = build_plan(descriptors, NsInstance(plan_id, request.ns_name, request.options.namespace, params),
                      request.options)
    body = instantiate_body(request, config, nsd_record, vim_id, plan)
    refused = _flags(nbi_rule_problems(body, request.config_source, body=True)) + vnf_param_name_problems(
        body, request.config_source, nbi_members(descriptors))
    if refused:  # NBI would answer 400/422 after the networks were made: refuse before anything is created
        raise ParamsError(refused)
    progress(f"NS {request.ns_name}: {len(plan.networks)} network(s) to create in {plan.namespace}")
    created = create_networks(cluster, plan, settings, progress)
    try:
        ns_id, op_id = client.create_ns(body)
    except L2NetError:
        progress("OSM refused the NS: removing its networks")
        remove_ns_networks(cluster, plan_id, settings, force=True, progress=progress)
        raise
    progress(f"NS {request.ns_name}: OSM instance {ns_id}, operation {op_id}")
    label_nsr(cluster, plan, ns_id, progress)  # status --ns-id <nsr id> finds the networks by it
    result = NsCreateResult(ns_id, plan_id, op_id, [n.name for n in plan.networks], "PROCESSING")
    if not request.wait:
        return result
    try:
        result.state = str(client.wait_operation(op_id, request.wait_timeout, progress).get("operationState"))
    except NsOperationFailed:
        progress(f"NS {request.ns_name} failed: terminating it in OSM, then removing its networks")
        _terminate(client, ns_id, request.wait_timeout, progress)
        remove_ns_networks(cluster, plan_id, settings, progress=progress)
        raise
    progress(f"NS {request.ns_name}: {result.state}; {len(created)} network(s) created")
    return result


def ns_delete(client: NbiClient, cluster: kube.Cluster, name: str, settings: DeploySettings, progress: Progress, *,
              force: bool = False, wait_timeout: float = 3600.0) -> NsDeleteResult:
    """Terminate (with autoremove) through NBI, wait until terminated, then remove the NS's networks."""
    record = client.ns(name)
    ns_id = str(record["_id"])
    plan_id = plan_id_of(record)
    op_id = client.delete_ns(ns_id, force=force)
    if op_id is not None:
        progress(f"NS {record.get('name', ns_id)}: terminating (operation {op_id})")
        client.wait_operation(op_id, wait_timeout, progress)
    removed = remove_ns_networks(cluster, plan_id, settings, force=force, progress=progress)
    progress(f"NS {record.get('name', ns_id)}: deleted; {len(removed)} network(s) removed")
    return NsDeleteResult(ns_id, op_id, removed)


_FLAGS = {"nsName": "--ns_name", "nsDescription": "--description"}


def _flags(problems: list[Problem]) -> list[Problem]:
    """Problems of the body's keys that come from flags, named by their flag (the rest came from --config)."""
    return [Problem(_FLAGS[p.path], "", p.message, p.expected) if p.path in _FLAGS else p for p in problems]


def nbi_members(descriptors: Descriptors) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """member-vnf-index → (vdu ids, kdu names) as NBI reads them: the vnf-profiles of the NSD's first deployment
    flavour (NBI: "TODO: Change for multiple df support"); KNFs have no VDUs."""
    profiles = descriptors.nsd.dfs[0].vnf_profiles if descriptors.nsd.dfs else ()
    return {p.id: ((), tuple(k.name for k in descriptors.vnfds[p.vnfd_id].kdus) if p.vnfd_id in descriptors.vnfds
                   else ()) for p in profiles}


def plan_id_of(nsr: Mapping[str, Any]) -> str:
    """The id an NS's networks carry: the one ns-create recorded in the NS, else the nsr id (LCM connector)."""
    for holder in ((nsr.get("instantiate_params") or {}).get("additionalParamsForNs"), nsr.get("additionalParamsForNs")):
        if not isinstance(holder, Mapping):
            continue
        for name in (NS_ID_PARAM, *LEGACY_NS_ID_PARAMS):
            if holder.get(name):
                return str(holder[name])
    return str(nsr["_id"])


def instantiate_body(request: NsCreateRequest, config: Mapping[str, Any], nsd_record: Mapping[str, Any], vim_id: str,
                     plan: Plan) -> dict[str, Any]:
    """The ns_instantiate body: the user's --config, OSM's required keys, the plan id, each KDU's attachment."""
    body: dict[str, Any] = copy.deepcopy(dict(config))
    body.update(nsName=request.ns_name, nsdId=str(nsd_record["_id"]), vimAccountId=vim_id)
    if request.description:
        body["nsDescription"] = request.description
    body["additionalParamsForNs"] = {**(body.get("additionalParamsForNs") or {}), NS_ID_PARAM: plan.ns_id}
    if not _namespace_given(body):
        body["k8s-namespace"] = plan.namespace  # the KDUs go where their networks are
    vnfs: list[dict[str, Any]] = body.setdefault("additionalParamsForVnf", [])
    for kdu in plan.kdus:
        if not kdu.interfaces:
            continue
        vnf = next((v for v in vnfs if v.get("member-vnf-index") == kdu.member_vnf_index), None)
        if vnf is None:
            vnf = {"member-vnf-index": kdu.member_vnf_index}
            vnfs.append(vnf)
        kdus: list[dict[str, Any]] = vnf.setdefault("additionalParamsForKdu", [])
        entry = next((k for k in kdus if k.get("kdu_name") == kdu.kdu_name), None)
        if entry is None:
            entry = {"kdu_name": kdu.kdu_name}
            kdus.append(entry)
        entry["additionalParams"] = plain(kdu.values)  # the user's KDU params with the attachment merged in
    if not vnfs:
        del body["additionalParamsForVnf"]
    return body


def _namespace_given(body: Mapping[str, Any]) -> bool:
    ns_params = body.get("additionalParamsForNs") or {}
    return bool(body.get("k8s-namespace") or (isinstance(ns_params, Mapping) and ns_params.get("k8s-namespace")))


def _terminate(client: NbiClient, ns_id: str, timeout: float, progress: Progress) -> None:
    op_id = client.delete_ns(ns_id)
    if op_id is not None:
        client.wait_operation(op_id, timeout, progress)


def _refuse_duplicate_name(client: NbiClient, ns_name: str) -> None:
    same = [str(n.get("_id")) for n in client.ns_instances() if n.get("name") == ns_name]
    if same:
        raise InputError.single("--ns_name", "", f"an NS named '{ns_name}' already exists in OSM ({', '.join(same)})",
                                "a name no NS instance has (ns-delete finds an NS by name)")


def _vnfd_ids(nsd_record: Mapping[str, Any], nsd_doc: Mapping[str, Any]) -> list[str]:
    ids = nsd_record.get("vnfd-id")
    if not isinstance(ids, list):
        body = records.nsd_document(nsd_doc)["nsd"]
        entry = body["nsd"][0] if isinstance(body, Mapping) and isinstance(body.get("nsd"), list) else body
        ids = entry.get("vnfd-id") if isinstance(entry, Mapping) else None
    return [str(i) for i in ids] if isinstance(ids, list) else []
