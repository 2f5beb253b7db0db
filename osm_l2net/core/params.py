"""Instantiation parameters in osmclient's ``--config`` form (the NBI ``ns_instantiate`` body) → model. Pure.

Two layers of checks, both before anything is created:

1. NBI's own rules (:func:`nbi_rule_problems`): what OSM NBI v19 accepts as the body of ``POST
   /nslcm/v1/ns_instances_content`` (its ``ns_instantiate`` JSON schema, draft 4: keys, types, name and address
   patterns, list and key counts) and the parameter-name rule ``_format_additional_params`` applies to
   ``additionalParamsForNs``. These are written here in the project's own terms (not copied from NBI); the tests hold
   them against NBI's real schema and code, so a typo such as ``vlds`` or ``subnet_address`` fails here with the
   path and what NBI expects instead of a 422 from OSM after the networks were made.
2. What the plan reads (``vld[]``, ``additionalParamsForVnf[]``, ``k8s-namespace``, ``additionalParamsForNs``): where
   this is stricter than NBI, it is because the plan cannot be made with the value, and the message says so
   (:data:`PLAN_REASON`). The other keys are OSM's and are passed on untouched by the NBI workflow.
"""

from __future__ import annotations

import datetime
import difflib
import ipaddress
import math
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from osm_l2net.core import yamlsafe
from osm_l2net.core.addressing import is_ip
from osm_l2net.core.errors import ParamsError, Problem
from osm_l2net.core.model import InstantiationParams, IpProfile, KduParams, VldParams, VnfParams

_YAML_PREFIX = "!!yaml "
PLAN_REASON = "osm-l2net cannot plan with it"  # in every message where the plan is stricter than NBI
NBI_REFUSES = "NBI refuses it"  # in every message of NBI's own rules


def parse_params(config: Mapping[str, Any] | None, source: str = "--config", *,
                 nbi_rules: bool = True) -> InstantiationParams:
    """Parse osmclient-style instantiation parameters; raise ParamsError listing every problem.

    ``nbi_rules``: check NBI's ns_instantiate rules first (user input); off for parameters read back from OSM's
    own records, which NBI has already accepted and re-encoded."""
    if not config:
        return InstantiationParams(source=source)
    if not isinstance(config, Mapping):
        raise ParamsError(Problem(source, "", f"is a {type(config).__name__}", "a mapping (osmclient --config)"))
    found = json_problems(config, source)
    if nbi_rules:
        found = found or nbi_rule_problems(config, source)
    if found:
        raise ParamsError(found)
    problems: list[Problem] = []
    vlds = tuple(_vld(v, f"vld[{i}]", source, problems) for i, v in enumerate(_list(config, "vld", source, problems)))
    vnfs = tuple(
        _vnf(v, f"additionalParamsForVnf[{i}]", source, problems)
        for i, v in enumerate(_list(config, "additionalParamsForVnf", source, problems))
    )
    ns_params = _decoded(config.get("additionalParamsForNs") or {}, "additionalParamsForNs", source, problems)
    namespace = ns_params.get("k8s-namespace")
    if problems:
        raise ParamsError(problems)
    return InstantiationParams(
        k8s_namespace=str(namespace or config.get("k8s-namespace") or "") or None,
        additional_params_for_ns=ns_params,
        vlds=vlds,
        vnfs=vnfs,
        source=source,
    )


def json_problems(config: Any, source: str, limit: int = 10) -> list[Problem]:
    """Values the JSON that goes to NBI (and into helm values) cannot carry, as YAML produces them from unquoted text:
    dates and timestamps, binary, sets, keys that are not strings, NaN and infinities."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str]] = [(config, "")]
    seen: set[int] = set()  # YAML aliases share one object: each container is walked once, so a bomb costs nothing
    while stack and len(problems) < limit:
        value, path = stack.pop()
        if isinstance(value, Mapping | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
        if isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, str):
                    stack.append((item, _join(path, key)))
                else:
                    problems.append(Problem(source, _join(path, _show(key)), f"the key {_show(key)} is {_kind(key)}, "
                                            f"not a string, and JSON keys are strings; {PLAN_REASON}",
                                            "a quoted key, e.g. '\"1\": …'"))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(source, path, f"is {value}, which JSON cannot carry; {PLAN_REASON}",
                                    "a finite number, or a quoted string"))
        elif not isinstance(value, str | int | float | bool | type(None)):
            what = "a date" if isinstance(value, datetime.date) else _kind(value)
            problems.append(Problem(source, path, f"is {what} ({_show(value)}: YAML reads it so unquoted), which the "
                                    f"JSON sent to NBI cannot carry; {PLAN_REASON}", "a quoted string"))
    return problems


def _is_yaml_string(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_YAML_PREFIX)


def decode_yaml_strings(value: Any) -> Any:
    """Undo NBI's encoding of structured values as ``"!!yaml <dump>"`` strings, as LCM does before helm: the values
    of a parameter mapping (one level: NBI encodes only those, and LCM decodes only those); raises yamlsafe.YamlInputError."""
    if _is_yaml_string(value):
        return yamlsafe.load(value[len(_YAML_PREFIX):])
    if isinstance(value, Mapping):
        return {k: yamlsafe.load(v[len(_YAML_PREFIX):]) if _is_yaml_string(v) else v for k, v in value.items()}
    return value


def _decoded(value: Any, path: str, source: str, problems: list[Problem]) -> dict[str, Any]:
    """A parameter mapping with its ``!!yaml`` values decoded; a value LCM could not decode is a problem."""
    if not isinstance(value, Mapping):
        problems.append(Problem(source, path, "is not a mapping", "a mapping of parameters"))
        return {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        try:  # this level only, as LCM: a '!!yaml' string nested deeper stays a string
            out[key] = yamlsafe.load(item[len(_YAML_PREFIX):]) if _is_yaml_string(item) else item
        except yamlsafe.YamlInputError as e:
            problems.append(Problem(source, f"{path}.{_clip(str(key))}",
                                    f"is a '!!yaml' string that is not YAML ({_first_line(e)}); "
                                    f"OSM LCM would fail to read it, and {PLAN_REASON}",
                                    "'!!yaml ' followed by a YAML document"))
            out[key] = item
    return out


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


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
                problems.append(Problem(source, f"{where}.ip-address", f"'{ip}' passes NBI's pattern but is not an IP "
                                        f"address; {PLAN_REASON}", "an IPv4 or IPv6 address in standard form"))
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
            problems.append(Problem(source, f"{path}.subnet-address", f"'{subnet}' is not a network prefix ({e}); "
                                    f"{PLAN_REASON}", "a network in CIDR form with no host bits, e.g. 10.0.1.0/24"))
            subnet = None
    gateway = node.get("gateway-address")
    if gateway is not None and not is_ip(str(gateway)):
        problems.append(Problem(source, f"{path}.gateway-address", f"'{gateway}' is not an IP address; {PLAN_REASON}",
                                "an IP address in standard form"))
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
        params = _decoded(kdu.get("additionalParams") or {}, f"{where}.additionalParams", source, problems)
        kdus.append(KduParams(name, params, _opt(kdu, "k8s-namespace"), _opt(kdu, "kdu-deployment-name"),
                              _opt(kdu, "kdu_model"), where))
    params = _decoded(node.get("additionalParams") or {}, f"{path}.additionalParams", source, problems)
    return VnfParams(member, params, _opt(node, "k8s-namespace"), tuple(kdus), path)


def _opt(node: Mapping[str, Any], key: str) -> str | None:
    value = node.get(key)
    return str(value) if value not in (None, "") else None



# ------------------------------------------------------------------------------------------------ NBI's own rules
# The ns_instantiate body as OSM NBI v19 validates it (JSON schema draft 4: "type", "additionalProperties": false,
# "required", "minProperties", "minItems", "oneOf", string lengths and patterns), in this project's own terms.
# Patterns are searched as NBI's jsonschema does (``re.search`` with ``^...$``: a trailing newline passes ``$``).

Finding = tuple[str, str, str]  # (path, what is wrong, what NBI expects)
MAX_FINDINGS = 50  # a config with 100,000 wrong items gets 50 messages (and a count), not 100,000


class _Rule:
    what = "a value"

    def check(self, value: Any, path: str, out: list[Finding]) -> None:
        raise NotImplementedError

    def fits(self, value: Any) -> bool:
        out: list[Finding] = []
        self.check(value, "", out)
        return not out


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", type(None): "null"}
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return names.get(type(value), f"a {type(value).__name__} (not JSON)")


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist = 2, 4, 4


def _show(value: Any) -> str:
    """A value as messages quote it: bounded however large or deep it is (never the whole expanded value)."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class _Text(_Rule):
    what: str
    min_len: int = 0
    max_len: int | None = None
    test: Callable[[str], bool] | None = None

    def check(self, value: Any, path: str, out: list[Finding]) -> None:
        if not isinstance(value, str):
            out.append((path, f"is {_kind(value)}", self.what))
        elif (len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len)
              or (self.test is not None and not self.test(value))):
            out.append((path, f"{_show(value)} does not fit", self.what))


@dataclass(frozen=True)
class _Int(_Rule):
    minimum: int
    maximum: int | None = None

    @property
    def what(self) -> str:  # type: ignore[override]
        return f"an integer from {self.minimum}" + (f" to {self.maximum}" if self.maximum is not None else "")

    def check(self, value: Any, path: str, out: list[Finding]) -> None:
        if not isinstance(value, int) or isinstance(value, bool):  # draft 4: 1.0 is a number, not an integer
            out.append((path, f"is {_kind(value)}", self.what))
        elif value < self.minimum or (self.maximum is not None and value > self.maximum):
            out.append((path, f"{value} is out of range", self.what))


@dataclass(frozen=True)
class _Type(_Rule):
    """A JSON type with no further constraint: boolean, null, object (any mapping)."""

    kind: type | tuple[type, ...]
    what: str

    def check(self, value: Any, path: str, out: list[Finding]) -> None:
        if isinstance(value, bool) != (self.kind is bool) or not isinstance(value, self.kind):
            out.append((path, f"is {_kind(value)}", self.what))


@dataclass(frozen=True)
class _Enum(_Rule):
    values: tuple[str, ...]

    @property
    def what(self) -> str:  # type: ignore[override]
        return " or ".join(self.values)

    def check(self, value: Any, path: str, out: list[Finding]) -> None:
        if not isinstance(value, str) or value not in self.values:
            out.append((path, f"{_show(value)} is not allowed", self.what))


@dataclass(frozen=True)
class _OneOf(_Rule):
    """Exactly one of the rules fits (draft 4 oneOf: a value fitting two is refused too)."""

    rules: tuple[_Rule, ...]
    what: str

    def check(self, value: Any, path: str, out: list[Finding]) -> None:
        fitting = sum(1 for r in self.rules if r.fits(value))
        if fitting == 0:
            out.append((path, f"{_show(value)} does not fit", self.what))
        elif fitting > 1:
            out.append((path, f"{_show(value)} fits more than one of NBI's alternatives, which NBI's schema refuses",
                        self.what))


@dataclass(frozen=True)
class _List(_Rule):
    item: _Rule
    min_items: int = 0

    @property
    def what(self) -> str:  # type: ignore[override]
        return "a list" + (" of at least one item" if self.min_items else "")

    def check(self, value: Any, path: str, out: list[Finding]) -> None:
        if not isinstance(value, list):
            out.append((path, f"is {_kind(value)}", f"{self.what} ({path.rsplit('.', 1)[-1]}: [...])"))
            return
        if len(value) < self.min_items:
            out.append((path, "is an empty list", f"{self.what}, or no '{path.rsplit('.', 1)[-1]}' key at all"))
        for i, item in enumerate(value):
            if len(out) >= MAX_FINDINGS:
                return
            self.item.check(item, f"{path}[{i}]", out)


@dataclass(frozen=True)
class _Map(_Rule):
    fields: Mapping[str, _Rule]
    required: tuple[str, ...] = ()
    min_keys: int = 0
    closed: bool = True
    what: str = "a mapping"

    def check(self, value: Any, path: str, out: list[Finding]) -> None:
        if not isinstance(value, Mapping):
            out.append((path, f"is {_kind(value)}", self.what))
            return
        for key in self.required:
            if key not in value:
                out.append((_join(path, key), "is missing", f"'{key}' (NBI requires it in {self.what})"))
        if len(value) < self.min_keys:
            others = ", ".join(k for k in self.fields if k not in self.required)
            out.append((path, f"has {len(value)} key(s)", f"at least {self.min_keys} keys in {self.what}: besides "
                        f"{', '.join(self.required) or 'them'}, one of {others}"))
        for key, item in value.items():
            if len(out) >= MAX_FINDINGS:
                return
            rule = self.fields.get(key) if isinstance(key, str) else None
            if rule is not None:
                rule.check(item, _join(path, str(key)), out)
            elif self.closed:
                out.append((_join(path, _clip(str(key))), f"is not a key of {self.what}",
                            _OSMCLIENT_ONLY.get(str(key)) or _known(key, self.fields)))


# Keys osmclient's `ns-create --config` translates on the client (its sol005 ns.create looks the names up); osm-l2net
# sends --config to NBI as it is, so NBI's own keys are needed
_OSMCLIENT_ONLY = {
    "vim_account": "vimAccountId with the VIM account's _id (osm vim-list): osmclient turns a VIM name into it on the "
                   "client, osm-l2net sends --config to NBI as it is",
    "wim_account": "wimAccountId with the WIM account's _id (osm wim-list): osmclient turns a WIM name into it on the "
                   "client, osm-l2net sends --config to NBI as it is",
    "vim-network-name": "vld: [{name: <VLD id>, vim-network-name: ...}]: osmclient renames a top-level "
                        "vim-network-name to vld on the client, osm-l2net sends --config to NBI as it is",
}


def _clip(text: str) -> str:
    """A key as a message shows it: a 10 MB key is shown by its first characters."""
    return text if len(text) <= 60 else text[:57] + "..."


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _known(key: Any, fields: Iterable[str]) -> str:
    names = sorted(fields)
    close = difflib.get_close_matches(str(key).replace("_", "-"), names, n=1, cutoff=0.6) or difflib.get_close_matches(
        str(key), names, n=1, cutoff=0.6)
    hint = f"'{close[0]}'? The keys here: " if close else "one of "
    return hint + ", ".join(names)


def _whole(pattern: str) -> Callable[[str], bool]:
    """A pattern matched as NBI's schema matches its anchored patterns (``$`` lets one trailing newline pass)."""
    compiled = re.compile(f"^(?:{pattern})$")
    return lambda text: compiled.search(text) is not None


def _octets_ok(text: str) -> bool:
    """NBI's dotted quad: four 1-3 digit fields up to 255 (leading zeros pass)."""
    parts = text.split(".")
    return len(parts) == 4 and all(0 < len(p) <= 3 and all(c in "0123456789" for c in p) and int(p) <= 255
                                   for p in parts)


def _nbi_ipv4(text: str) -> bool:
    return _octets_ok(text[:-1] if text.endswith("\n") else text)


def _nbi_prefix(text: str) -> bool:
    body = text[:-1] if text.endswith("\n") else text
    address, _, length = body.partition("/")
    return _octets_ok(address) and (length == "30" or (0 < len(length) <= 2 and all(c in "0123456789" for c in length)
                                                       and (len(length) == 1 or length[0] in "12")))


# NBI's IPv6 pattern is not anchored: any text holding '::', eight colon-separated hex groups, or a fe80 zone passes
_IPV6_FOUND = re.compile(r"::|(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|fe80:(?::[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]")
_FORBIDDEN_IN_NAMES = set(",;()'\"")
_FORBIDDEN_IN_SHORT_NAMES = set(",;().$'\"")

_NAME = _Text("a name of 1-255 characters without , ; ( ) ' \"", 1, 255, lambda t: not _FORBIDDEN_IN_NAMES & set(t))
_SHORT_NAME = _Text("a name of 1-60 characters without , ; ( ) . $ ' \"", 1, 60,
                    lambda t: not _FORBIDDEN_IN_SHORT_NAMES & set(t))
_STRING = _Text("a string of 1-255 characters", 1, 255)
_UUID = _Text("an OSM _id (a UUID such as 2f9a0c1e-7b4d-4e8a-9c3f-1a2b3c4d5e6f)", 0, None,
              _whole("[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"))
_IPV4 = _Text("an IPv4 address", 0, None, _nbi_ipv4)
_IPV6 = _Text("an IPv6 address", 0, None, lambda t: _IPV6_FOUND.search(t) is not None)
_IP = _OneOf((_IPV4, _IPV6), "an IPv4 or IPv6 address")
_PREFIX = _Text("an IPv4 network in CIDR form with a prefix length up to /30 (NBI takes no IPv6 subnet-address)",
                0, None, _nbi_prefix)
_MAC = _Text("a unicast MAC address (aa:bb:cc:dd:ee:ff)", 0, None,
             _whole("[0-9a-fA-F][02468aceACE](?::[0-9a-fA-F]{2}){5}"))
_BOOL = _Type(bool, "true or false")
_NULL = _Type(type(None), "null")
_OBJECT = _Type(dict, "a mapping")
_COUNT = _Int(1)
_DESCRIPTION = _OneOf((_Text("a text of at most 255 characters without ' or \"", 1, 255,
                             lambda t: "'" not in t and '"' not in t), _NULL), "a text or null")

_IP_PROFILE = _Map({
    "ip-version": _Enum(("ipv4", "ipv6")),
    "subnet-address": _OneOf((_NULL, _PREFIX), _PREFIX.what),
    "gateway-address": _OneOf((_NULL, _IPV4), "an IPv4 address (NBI takes no IPv6 gateway)"),
    "dns-server": _OneOf((_NULL, _List(_Map({"address": _IP}, ("address",), what="a dns-server entry"), 1)),
                         "a list of {address: <IP>}"),
    "dhcp-params": _OneOf((_NULL, _Map({"enabled": _BOOL, "count": _COUNT, "start-address": _IPV4},
                                       what="dhcp-params")), "{enabled, count, start-address}"),
}, what="an ip-profile")
_PROVIDER_NETWORK = _Map({
    "physical-network": _NAME, "segmentation-id": _NAME, "network-type": _SHORT_NAME,
    "sdn-ports": _List(_Map({"switch_id": _SHORT_NAME, "switch_port": _SHORT_NAME, "mac_address": _MAC,
                             "vlan": _Int(1, 4095)}, closed=False, what="an sdn-ports entry")),
}, closed=False, what="a provider-network")
_VDU = _Map({
    "id": _NAME, "vim-flavor-id": _NAME, "instance_name": _NAME, "vim-flavor-name": _NAME, "security-group-name": _NAME,
    "volume": _List(_Map({"name": _NAME, "vim-volume-id": _NAME}, ("name", "vim-volume-id"), what="a volume"), 1),
    "interface": _List(_Map({"name": _NAME, "ip-address": _IP, "mac-address": _MAC, "floating-ip-required": _BOOL},
                            ("name",), what="a vdu interface"), 1),
}, ("id",), what="a vnf[].vdu entry")
_INTERNAL_VLD = _Map({
    "name": _NAME, "vim-network-name": _NAME, "vim-network-id": _NAME, "ip-profile": _IP_PROFILE,
    "provider-network": _PROVIDER_NETWORK,
    "internal-connection-point": _List(_Map({"id-ref": _NAME, "ip-address": _IPV4}, ("id-ref",), 2,
                                            what="an internal-connection-point"), 1),
}, ("name",), 2, what="an internal-vld entry")
_VNF = _Map({"member-vnf-index": _NAME, "vimAccountId": _UUID, "vdu": _List(_VDU, 1),
             "internal-vld": _List(_INTERNAL_VLD, 1)}, ("member-vnf-index",), 2, what="a vnf entry")
_CP_REF = _Map({"member-vnf-index-ref": _NAME, "vnfd-connection-point-ref": _NAME, "ip-address": _IP},
               ("member-vnf-index-ref", "vnfd-connection-point-ref"), 3,
               what="a vnfd-connection-point-ref entry (NBI needs all three keys: the ip-address too)")
_VLD = _Map({
    "name": _STRING, "vim-network-name": _OneOf((_STRING, _OBJECT), "a name, or a mapping of VIM account to name"),
    "vim-network-id": _OneOf((_STRING, _OBJECT), "an id, or a mapping of VIM account to id"), "ns-net": _OBJECT,
    "wimAccountId": _OneOf((_UUID, _BOOL, _NULL), "a WIM account _id, true/false or null"),
    "ip-profile": _IP_PROFILE, "provider-network": _PROVIDER_NETWORK, "vnfd-connection-point-ref": _List(_CP_REF, 1),
}, ("name",), what="a vld entry")
_KDU_PARAMS = _Map({"kdu_name": _NAME, "additionalParams": _OBJECT, "kdu_model": _NAME, "k8s-namespace": _NAME,
                    "config-units": _COUNT, "kdu-deployment-name": _NAME}, ("kdu_name",), 2,
                   what="an additionalParamsForKdu entry")
_VDU_PARAMS = _Map({"vdu_id": _NAME, "additionalParams": _OBJECT, "config-units": _COUNT}, ("vdu_id",), 2,
                   what="an additionalParamsForVdu entry")
_VNF_PARAMS = _Map({
    "member-vnf-index": _NAME, "additionalParams": _OBJECT, "k8s-namespace": _NAME, "config-units": _COUNT,
    "additionalParamsForVdu": _List(_VDU_PARAMS), "additionalParamsForKdu": _List(_KDU_PARAMS),
    "affinity-or-anti-affinity-group": _List(_Map({"id": _NAME, "vim-affinity-group-id": _NAME}, ("id",), 2,
                                                  what="an affinity-or-anti-affinity-group entry")),
}, ("member-vnf-index",), 2, what="an additionalParamsForVnf entry")
_BODY_FIELDS: dict[str, _Rule] = {
    "lcmOperationType": _STRING, "nsInstanceId": _UUID, "netsliceInstanceId": _UUID, "nsName": _NAME,
    "nsDescription": _OneOf((_DESCRIPTION, _NULL), "a text of at most 255 characters without ' or \" (and not null, "
                                                   "which fits both of NBI's alternatives)"),
    "nsdId": _UUID, "vimAccountId": _UUID, "nsConfigTemplateId": _UUID,
    "wimAccountId": _OneOf((_UUID, _BOOL, _NULL), "a WIM account _id, true/false or null"),
    "placement-engine": _STRING, "placement-constraints": _OBJECT, "additionalParamsForNs": _OBJECT,
    "additionalParamsForVnf": _List(_VNF_PARAMS), "config-units": _COUNT, "k8s-namespace": _NAME,
    "ssh_keys": _List(_Text("a string")), "timeout_ns_deploy": _COUNT, "nsr_id": _UUID, "vduImage": _NAME,
    "vnf": _List(_VNF, 1), "vld": _List(_VLD, 1),
}
# --config is the body without the three keys ns-create fills in (nsName, nsdId, vimAccountId)
_CONFIG = _Map(_BODY_FIELDS, what="the ns_instantiate body")
NS_INSTANTIATE_REQUIRED = ("nsName", "nsdId", "vimAccountId")

# _format_additional_params: outside KDUs, a parameter name must be an identifier (names are Jinja2 variables in
# day-1/2 primitives); no name may hold '$' (a MongoDB operator). NBI answers 400 "Invalid param name at ...".
PARAM_NAME = re.compile("^[a-zA-Z_][a-zA-Z0-9_]*$")


def nbi_rule_problems(config: Mapping[str, Any], source: str, *, body: bool = False) -> list[Problem]:
    """Every way ``config`` breaks NBI's ns_instantiate rules (``body``: a whole request body, whose nsName, nsdId
    and vimAccountId are required), plus NBI's name rule on ``additionalParamsForNs``."""
    found: list[Finding] = []
    rules = _Map(_BODY_FIELDS, NS_INSTANTIATE_REQUIRED, what=_CONFIG.what) if body else _CONFIG
    rules.check(config, "", found)
    problems = [Problem(source, path, f"{message}: {NBI_REFUSES} (422)", expected) for path, message, expected in found]
    if len(found) >= MAX_FINDINGS:
        problems.append(Problem(source, "", f"more problems not listed: the first {MAX_FINDINGS} are shown",
                                "a config that fits NBI's ns_instantiate schema"))
    ns_params = config.get("additionalParamsForNs") if isinstance(config, Mapping) else None
    if isinstance(ns_params, Mapping):
        problems.extend(param_name_problems(ns_params, "additionalParamsForNs", source, kdu=False))
    return problems


def param_name_problems(params: Mapping[Any, Any], path: str, source: str, *, kdu: bool) -> list[Problem]:
    """NBI's rule on the names of one parameter mapping (``kdu``: of a KDU's additionalParams, where only '$' and
    non-string names are refused); answered 400 by NBI."""
    problems = []
    for key in params:
        shown = _clip(str(key))
        if not isinstance(key, str):
            problems.append(Problem(source, f"{path}.{shown}", f"the name {_show(key)} is not a string: {NBI_REFUSES} (400)",
                                    "a string name"))
        elif not kdu and not PARAM_NAME.match(key):
            problems.append(Problem(source, f"{path}.{shown}", f"'{shown}' is not a name NBI takes outside a KDU: "
                                    f"{NBI_REFUSES} (400 Invalid param name)",
                                    _name_hint(shown)))
        elif "$" in key:
            problems.append(Problem(source, f"{path}.{shown}", f"'{shown}' holds '$': {NBI_REFUSES} (400)",
                                    "a name without '$'"))
    return problems


def _name_hint(key: str) -> str:
    if key == "k8s-namespace":  # NBI reads it there, but its own name rule refuses it first
        return "the NS's namespace as the top-level key k8s-namespace (NBI refuses it in additionalParamsForNs)"
    fixed = re.sub("[^a-zA-Z0-9_]", "_", key)
    fixed = f"_{fixed}" if fixed[:1].isdigit() else fixed
    return f"letters, digits and '_', not starting with a digit (e.g. '{fixed}')" if fixed else "a non-empty name"


def vnf_param_name_problems(config: Mapping[str, Any], source: str,
                            members: Mapping[str, tuple[Sequence[str], Sequence[str]]]) -> list[Problem]:
    """NBI's name rule on the VNF, VDU and KDU parameters it reads: for each member-vnf-index of the NSD (``members``:
    index → (its VNFD's vdu ids, its kdu names)) the first matching entry, as NBI looks them up; entries NBI never
    reads (an unknown member-vnf-index, a second entry for one) are not checked, because NBI does not check them."""
    problems: list[Problem] = []
    entries = config.get("additionalParamsForVnf")
    if not isinstance(entries, list):
        return problems
    for member, (vdus, kdus) in members.items():
        index, entry = next(((i, e) for i, e in enumerate(entries) if isinstance(e, Mapping)
                             and e.get("member-vnf-index") == member), (-1, None))
        if entry is None:
            continue
        where = f"additionalParamsForVnf[{index}]"
        if isinstance(entry.get("additionalParams"), Mapping):
            problems.extend(param_name_problems(entry["additionalParams"], f"{where}.additionalParams", source,
                                                kdu=False))
        for key, names, id_key, kdu in (("additionalParamsForVdu", vdus, "vdu_id", False),
                                        ("additionalParamsForKdu", kdus, "kdu_name", True)):
            value = entry.get(key)
            items: list[Any] = value if isinstance(value, list) else []
            for name in names:
                j, item = next(((j, x) for j, x in enumerate(items) if isinstance(x, Mapping) and x.get(id_key) == name),
                               (-1, None))
                if item is not None and isinstance(item.get("additionalParams"), Mapping):
                    problems.extend(param_name_problems(item["additionalParams"], f"{where}.{key}[{j}].additionalParams",
                                                        source, kdu=kdu))
    return problems
