"""OSM's stored records (nsr, vnfr, vnfd documents as NBI/LCM keep them in the db, or as NBI returns them) → the
model the planner takes. Pure: callers fetch the documents.

OSM stores descriptors without their envelope (``nsd: {nsd: [..]}`` becomes the inner mapping) and adds its own keys
(``_id``, ``_admin``, SOL005 projections such as ``onboardingState``, ``_links``); these are removed before the
descriptor is parsed, so the loader's unknown-key check still applies to the descriptor itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from osm_l2net.core.errors import DescriptorError, InputError, Problem
from osm_l2net.core.model import Descriptors, NsInstance
from osm_l2net.core.params import parse_params
from osm_l2net.core.sol006 import parse_nsd, parse_vnfd

# Keys NBI adds to descriptor records (SOL005 projections); never part of the descriptor (IM) itself.
_RECORD_KEYS = frozenset({
    "onboardingState", "operationalState", "usageState", "nsdOnboardingState", "nsdOperationalState", "nsdUsageState",
    "vnfPkgId", "nsdId", "nsdInfoId", "userDefinedData", "vnfdId", "vnfProductName", "vnfProvider", "vnfSoftwareVersion",
    "vnfdVersion", "checksum", "softwareImages", "additionalArtifacts",
})
# K8s deployment types that LCM routes to K8sHelm3Connector (k8scluster_map of osm_lcm/ns.py, Release NINETEEN)
HELM3_TYPES = frozenset({"helm-chart-v3", "chart"})


def clean_descriptor(record: Mapping[str, Any]) -> dict[str, Any]:
    """The descriptor part of a stored record: without ``_id``/``_admin``/``_links`` and SOL005 projections."""
    return {k: v for k, v in record.items() if not str(k).startswith("_") and k not in _RECORD_KEYS}


def nsd_document(stored: Mapping[str, Any]) -> dict[str, Any]:
    """An NSD as parse_nsd reads it, from a stored record (``nsr["nsd"]``, the ``nsds`` collection) or a file."""
    if "nsd" in stored or "etsi-nfv-nsd:nsd" in stored:
        return dict(stored)
    return {"nsd": {"nsd": [clean_descriptor(stored)]}}


def vnfd_document(stored: Mapping[str, Any]) -> dict[str, Any]:
    if "vnfd" in stored or "etsi-nfv-vnfd:vnfd" in stored:
        return dict(stored)
    return {"vnfd": clean_descriptor(stored)}


def descriptors_from_records(nsd: Mapping[str, Any], vnfds: Iterable[Mapping[str, Any]], source: str) -> Descriptors:
    """Descriptors of one NS from its stored NSD and VNFD records; DescriptorError lists every problem."""
    problems: list[Problem] = []
    parsed_nsd = None
    try:
        parsed_nsd = parse_nsd(nsd_document(nsd), f"{source} nsd")
    except DescriptorError as e:
        problems.extend(e.problems)
    parsed = {}
    for vnfd in vnfds:
        name = str(vnfd.get("id") or vnfd.get("_id") or "?")
        try:
            model = parse_vnfd(vnfd_document(vnfd), f"{source} vnfd {name}")
            parsed[model.id] = model
        except DescriptorError as e:
            problems.extend(e.problems)
    if problems or parsed_nsd is None:
        raise DescriptorError(problems)
    return Descriptors(parsed_nsd, dict(sorted(parsed.items())))


@dataclass(frozen=True)
class KduEntry:
    """One ``nsrs._admin.deployed.K8s[i]`` entry that LCM writes before installing a KDU."""

    index: int
    kdu_instance: str
    member_vnf_index: str
    kdu_name: str
    namespace: str | None
    cluster_type: str | None
    cluster_uuid: str | None

    @property
    def helm3(self) -> bool:
        return self.cluster_type is None or self.cluster_type in HELM3_TYPES


def kdu_entries(nsr: Mapping[str, Any]) -> list[KduEntry]:
    deployed = ((nsr.get("_admin") or {}).get("deployed") or {}).get("K8s") or []
    out = []
    for i, entry in enumerate(deployed):
        if isinstance(entry, Mapping) and entry.get("kdu-instance"):
            out.append(KduEntry(i, str(entry["kdu-instance"]), str(entry.get("member-vnf-index") or ""),
                                str(entry.get("kdu-name") or ""), _opt(entry.get("namespace")),
                                _opt(entry.get("k8scluster-type")), _opt(entry.get("k8scluster-uuid"))))
    return out


def find_kdu(nsr: Mapping[str, Any], kdu_instance: str, db_path: str | None = None) -> KduEntry | None:
    """The K8s entry of ``kdu_instance``: the one ``db_dict["path"]`` (``_admin.deployed.K8s.<i>``) names when it
    matches, else the one with that ``kdu-instance``."""
    entries = kdu_entries(nsr)
    if db_path and db_path.startswith("_admin.deployed.K8s."):
        suffix = db_path.rsplit(".", 1)[-1]
        hit = next((e for e in entries if suffix.isdigit() and e.index == int(suffix)), None)
        if hit is not None and hit.kdu_instance == kdu_instance:
            return hit
    return next((e for e in entries if e.kdu_instance == kdu_instance), None)


def helm_kdu_instances(nsr: Mapping[str, Any], cluster_uuid: str | None = None) -> frozenset[str]:
    """The releases of the NS that LCM's helm 3 connector installs and uninstalls (on one cluster, when given)."""
    return frozenset(e.kdu_instance for e in kdu_entries(nsr)
                     if e.helm3 and (cluster_uuid is None or e.cluster_uuid in (None, cluster_uuid)))


def ns_namespace(nsr: Mapping[str, Any], fallback: str | None) -> str:
    """The NS's namespace as LCM resolved it: the one most of its KDUs use (they share it unless a KDU or VNF
    overrides ``k8s-namespace``), else ``fallback``, else ``default``."""
    counts: dict[str, int] = {}
    for e in kdu_entries(nsr):
        if e.namespace:
            counts[e.namespace] = counts.get(e.namespace, 0) + 1
    if counts:
        return max(sorted(counts), key=lambda n: counts[n])
    return fallback or "default"


def instance_from_records(nsr: Mapping[str, Any], vnfrs: Iterable[Mapping[str, Any]], namespace: str) -> NsInstance:
    """NS id = the nsr ``_id``, name = nsr ``name``, parameters as NBI split them when it created the NS.

    NBI keeps the request in ``nsr.instantiate_params`` *without* ``additionalParamsForNs`` / ``additionalParamsForVnf``
    (``_format_ns_request``); those live in ``nsr.additionalParamsForNs``, ``vnfr.additionalParamsForVnf`` and each
    ``vnfr.kdur[]`` (``additionalParams``, ``k8s-namespace``, ``kdu-deployment-name``), with structured values as
    ``"!!yaml ..."`` strings. They are put back together here in the ns_instantiate form the planner reads.
    """
    nsr_id = str(nsr.get("_id") or "")
    if not nsr_id:
        raise InputError.single("nsrs", "_id", "the NS record has no _id", "an OSM nsr document")
    request = nsr.get("instantiate_params") or {}
    if not isinstance(request, Mapping):
        raise InputError.single(f"nsrs/{nsr_id}", "instantiate_params", "is not a mapping", "the ns_instantiate body")
    params = dict(request)
    if "additionalParamsForNs" not in params and isinstance(nsr.get("additionalParamsForNs"), Mapping):
        params["additionalParamsForNs"] = nsr["additionalParamsForNs"]
    if "additionalParamsForVnf" not in params:
        vnfs = [_vnf_params(v) for v in vnfrs]
        params["additionalParamsForVnf"] = [v for v in vnfs if len(v) > 1]
    return NsInstance(nsr_id, str(nsr.get("name") or nsr_id), namespace,
                      parse_params(params, f"nsrs/{nsr_id} instantiation parameters", nbi_rules=False))


def _vnf_params(vnfr: Mapping[str, Any]) -> dict[str, Any]:
    """One ``additionalParamsForVnf`` entry from a VNF record (only the keys that hold something)."""
    out: dict[str, Any] = {"member-vnf-index": str(vnfr.get("member-vnf-index-ref") or "")}
    if isinstance(vnfr.get("additionalParamsForVnf"), Mapping) and vnfr["additionalParamsForVnf"]:
        out["additionalParams"] = vnfr["additionalParamsForVnf"]
    kdus = []
    for kdur in vnfr.get("kdur") or []:
        if not isinstance(kdur, Mapping) or not kdur.get("kdu-name"):
            continue
        entry = {"kdu_name": str(kdur["kdu-name"])}
        for key in ("additionalParams", "k8s-namespace", "kdu-deployment-name"):
            if kdur.get(key):
                entry[key] = kdur[key]
        if isinstance(entry.get("additionalParams"), str):  # NBI stores a KDU's params as JSON text (json.dumps)
            entry["additionalParams"] = _json_params(entry["additionalParams"], vnfr, entry["kdu_name"])
        kdus.append(entry)
    if kdus:
        out["additionalParamsForKdu"] = kdus
    return out


def _json_params(text: str, vnfr: Mapping[str, Any], kdu_name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise InputError.single(f"vnfrs/{vnfr.get('_id', '?')}", f"kdur[kdu-name={kdu_name}].additionalParams",
                                f"is not JSON ({e})", "the JSON text NBI writes there") from e


def placement(vnfrs: Iterable[Mapping[str, Any]], cluster_uuid_of: Mapping[str, str]) -> dict[str, str]:
    """member-vnf-index -> the K8s cluster its KDUs run on (the vnfr's ``kdur[].k8s-cluster.id``, which NBI chose
    from the VNF's VIM account, as N2VC's cluster uuid through ``cluster_uuid_of``), or {} when the NS runs on one
    cluster (it is then planned exactly as before)."""
    out: dict[str, str] = {}
    for vnfr in vnfrs:
        for osm_id in _k8s_cluster_ids(vnfr):
            out.setdefault(str(vnfr.get("member-vnf-index-ref") or ""), cluster_uuid_of.get(osm_id, osm_id))
    return out if len(set(out.values())) > 1 else {}


def k8s_cluster_ids(vnfrs: Iterable[Mapping[str, Any]]) -> set[str]:
    """OSM's ids of the K8s clusters the NS's KDUs run on (what :func:`placement` maps to N2VC's uuids)."""
    return {osm_id for vnfr in vnfrs for osm_id in _k8s_cluster_ids(vnfr)}


def _k8s_cluster_ids(vnfr: Mapping[str, Any]) -> list[str]:
    ids = (str(((kdur or {}).get("k8s-cluster") or {}).get("id") or "") for kdur in vnfr.get("kdur") or [])
    return [i for i in ids if i]


def has_data_links(nsd: Mapping[str, Any]) -> bool:
    """Whether the stored NSD has any virtual link that is not the management network (else there is nothing to do)."""
    body = nsd_document(nsd)["nsd"]
    inner = body.get("nsd") if isinstance(body, Mapping) else None
    entries: Sequence[Any] = inner if isinstance(inner, list) else [body]
    for entry in entries:
        for vld in (entry or {}).get("virtual-link-desc") or []:
            if isinstance(vld, Mapping) and str(vld.get("mgmt-network", False)).lower() != "true":
                return True
    return False


def _opt(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
