"""Instantiation parameters in osmclient's ``--config`` form (the NBI ``ns_instantiate`` body) → model. Pure.

Only the keys osm-l2net uses are interpreted (``vld[]``, ``additionalParamsForVnf[]``, ``k8s-namespace``,
``additionalParamsForNs``); the others are OSM's and are passed on untouched by the NBI workflow.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from osm_l2net import yamlsafe
from osm_l2net.addressing import is_ip
from osm_l2net.errors import ParamsError, Problem
from osm_l2net.model import InstantiationParams, IpProfile, KduParams, VldParams, VnfParams

_YAML_PREFIX = "!!yaml "


def parse_params(config: Mapping[str, Any] | None, source: str = "--config") -> InstantiationParams:
    """Parse osmclient-style instantiation parameters; raise ParamsError listing every problem."""
    if not config:
        return InstantiationParams(source=source)
    if not isinstance(config, Mapping):
        raise ParamsError(Problem(source, "", f"is a {type(config).__name__}", "a mapping (osmclient --config)"))
    problems: list[Problem] = []
    vlds = tuple(_vld(v, f"vld[{i}]", source, problems) for i, v in enumerate(_list(config, "vld", source, problems)))
    vnfs = tuple(
        _vnf(v, f"additionalParamsForVnf[{i}]", source, problems)
        for i, v in enumerate(_list(config, "additionalParamsForVnf", source, problems))
    )
    ns_params = decode_yaml_strings(config.get("additionalParamsForNs") or {}, source,
                                    "additionalParamsForNs")
    namespace = ns_params.get("k8s-namespace") if isinstance(ns_params, Mapping) else None
    if problems:
        raise ParamsError(problems)
    return InstantiationParams(
        k8s_namespace=str(namespace or config.get("k8s-namespace") or "") or None,
        additional_params_for_ns=ns_params if isinstance(ns_params, Mapping) else {},
        vlds=vlds,
        vnfs=vnfs,
        source=source,
    )


def decode_yaml_strings(value: Any, source: str = "--config", path: str = "") -> Any:
    """Undo NBI's encoding of structured values as ``"!!yaml <dump>"`` strings (LCM does the same before helm).

    Read within the default limits of :mod:`osm_l2net.yamlsafe`; a string that is not YAML raises ParamsError."""
    if isinstance(value, str) and value.startswith(_YAML_PREFIX):
        try:
            return yamlsafe.load(value[len(_YAML_PREFIX):])
        except yamlsafe.YamlInputError as e:
            where = f" ('!!yaml' string, {e.where})" if e.where else " ('!!yaml' string)"
            raise ParamsError(Problem(source, path + where, e.message, e.expected)) from e
    if isinstance(value, Mapping):
        return {k: decode_yaml_strings(v, source, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [decode_yaml_strings(v, source, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _list(node: Mapping[str, Any], key: str, path: str, problems: list[Problem]) -> list[Mapping[str, Any]]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        problems.append(Problem(path, key, "is not a list of mappings", f"{key}: [{{...}}, …]"))
        return []
    return value


def _vld(node: Mapping[str, Any], path: str, source: str, problems: list[Problem]) -> VldParams:
    name = str(node.get("name") or "")
    if not name:
        problems.append(Problem(source, f"{path}.name", "is missing", "the VLD id of the NSD"))
    profile = node.get("ip-profile")
    ip_profile = _ip_profile(profile, f"{path}.ip-profile", source, problems) if profile is not None else None
    cp_ips: dict[tuple[str, str], str] = {}
    for i, ref in enumerate(_list(node, "vnfd-connection-point-ref", source, problems)):
        where = f"{path}.vnfd-connection-point-ref[{i}]"
        member, cpd, ip = (ref.get(k) for k in ("member-vnf-index-ref", "vnfd-connection-point-ref", "ip-address"))
        if member is None or cpd is None:
            problems.append(Problem(source, where, "lacks member-vnf-index-ref or vnfd-connection-point-ref",
                                    "both keys, naming a vnf-profile id and one of its VNFD's ext-cpd ids"))
            continue
        if ip is not None:
            if not is_ip(str(ip)):
                problems.append(Problem(source, f"{where}.ip-address", f"'{ip}' is not an IP address",
                                        "an IPv4 or IPv6 address"))
                continue
            cp_ips[(str(member), str(cpd))] = str(ip)
    return VldParams(name, ip_profile, cp_ips, path)


def _ip_profile(node: Any, path: str, source: str, problems: list[Problem]) -> IpProfile | None:
    if not isinstance(node, Mapping):
        problems.append(Problem(source, path, "is not a mapping", "ip-profile: {ip-version, subnet-address, …}"))
        return None
    version = node.get("ip-version")
    if version is not None and version not in ("ipv4", "ipv6"):
        problems.append(Problem(source, f"{path}.ip-version", f"'{version}' is not an IP version", "ipv4 or ipv6"))
    subnet = node.get("subnet-address")
    if subnet is not None:
        try:
            subnet = str(ipaddress.ip_network(str(subnet), strict=True))
        except ValueError as e:
            problems.append(Problem(source, f"{path}.subnet-address", f"'{subnet}' is not a network prefix ({e})",
                                    "a network in CIDR form, e.g. 10.0.1.0/24"))
            subnet = None
    gateway = node.get("gateway-address")
    if gateway is not None and not is_ip(str(gateway)):
        problems.append(Problem(source, f"{path}.gateway-address", f"'{gateway}' is not an IP address", "an IP address"))
        gateway = None
    dhcp = node.get("dhcp-params")
    enabled = dhcp.get("enabled") if isinstance(dhcp, Mapping) else None
    return IpProfile(version, subnet, str(gateway) if gateway else None, enabled)


def _vnf(node: Mapping[str, Any], path: str, source: str, problems: list[Problem]) -> VnfParams:
    member = str(node.get("member-vnf-index") or "")
    if not member:
        problems.append(Problem(source, f"{path}.member-vnf-index", "is missing", "a vnf-profile id of the NSD"))
    kdus = []
    for i, kdu in enumerate(_list(node, "additionalParamsForKdu", source, problems)):
        where = f"{path}.additionalParamsForKdu[{i}]"
        name = str(kdu.get("kdu_name") or "")
        if not name:
            problems.append(Problem(source, f"{where}.kdu_name", "is missing", "the name of a KDU of the VNFD"))
        params = decode_yaml_strings(kdu.get("additionalParams") or {}, source, f"{where}.additionalParams")
        if not isinstance(params, Mapping):
            problems.append(Problem(source, f"{where}.additionalParams", "is not a mapping", "helm values (a mapping)"))
            params = {}
        kdus.append(KduParams(name, params, _opt(kdu, "k8s-namespace"), _opt(kdu, "kdu-deployment-name"),
                              _opt(kdu, "kdu_model"), where))
    params = decode_yaml_strings(node.get("additionalParams") or {}, source, f"{path}.additionalParams")
    return VnfParams(member, params if isinstance(params, Mapping) else {}, _opt(node, "k8s-namespace"), tuple(kdus), path)


def _opt(node: Mapping[str, Any], key: str) -> str | None:
    value = node.get(key)
    return str(value) if value not in (None, "") else None

