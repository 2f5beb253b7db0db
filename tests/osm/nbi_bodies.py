"""Generated ns_instantiate bodies for the conformance tests: one rich valid ``--config`` that touches every key of
NBI's schema, and systematic + seeded random mutations of it (every key dropped, renamed as people misspell it,
every value replaced by values of every JSON type and by the strings NBI's patterns are picky about)."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

UUID_A = "2f9a0c1e-7b4d-4e8a-9c3f-1a2b3c4d5e6f"
UUID_B = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
REQUIRED = {"nsName": "vod", "nsdId": UUID_A, "vimAccountId": UUID_B}

BASE: dict[str, Any] = {
    "nsDescription": "CDN service",
    "wimAccountId": False,
    "k8s-namespace": "vod",
    "config-units": 1,
    "timeout_ns_deploy": 3600,
    "ssh_keys": ["ssh-ed25519 AAAAC3Nza user@host"],
    "placement-engine": "PLA",
    "placement-constraints": {},
    "vduImage": "ubuntu",
    "additionalParamsForNs": {"tenant": "a", "nested_1": {"x": [1, 2]}, "_x": "!!yaml {a: 1}"},
    "vld": [
        {"name": "my-first-osm-net", "vim-network-name": "datanet",
         "ip-profile": {"ip-version": "ipv4", "subnet-address": "10.0.1.0/24", "gateway-address": "10.0.1.254",
                        "dns-server": [{"address": "8.8.8.8"}, {"address": "2001:db8::53"}],
                        "dhcp-params": {"enabled": True, "count": 10, "start-address": "10.0.1.10"}},
         "provider-network": {"physical-network": "physnet1", "segmentation-id": "100", "network-type": "vlan",
                              "sdn-ports": [{"switch_id": "sw1", "switch_port": "p1", "mac_address": "fa:16:3e:00:00:01",
                                             "vlan": 100, "other": 1}]},
         "vnfd-connection-point-ref": [{"member-vnf-index-ref": "cdn-server", "vnfd-connection-point-ref": "data-ext",
                                        "ip-address": "10.0.1.77"}]},
        {"name": "my-second-osm-net", "vim-network-id": {UUID_B: "net-id"}, "wimAccountId": None, "ns-net": {}},
    ],
    "vnf": [{"member-vnf-index": "cdn-server", "vimAccountId": UUID_B,
             "vdu": [{"id": "v1", "vim-flavor-name": "m1", "volume": [{"name": "root", "vim-volume-id": "vol-1"}],
                      "interface": [{"name": "eth0", "ip-address": "10.0.0.5", "mac-address": "fa:16:3e:00:00:02",
                                     "floating-ip-required": False}]}],
             "internal-vld": [{"name": "int", "ip-profile": {"ip-version": "ipv6"},
                               "internal-connection-point": [{"id-ref": "cp1", "ip-address": "10.0.9.1"}]}]}],
    "additionalParamsForVnf": [
        {"member-vnf-index": "cdn-server", "additionalParams": {"a": 1}, "k8s-namespace": "vod", "config-units": 2,
         "additionalParamsForVdu": [{"vdu_id": "v1", "additionalParams": {}}],
         "additionalParamsForKdu": [{"kdu_name": "cdn-server", "additionalParams": {"replicaCount": 2, "x-y": [1]},
                                     "kdu_model": "stable/cdn", "k8s-namespace": "vod", "config-units": 1,
                                     "kdu-deployment-name": "cdn-1"}],
         "affinity-or-anti-affinity-group": [{"id": "g1", "vim-affinity-group-id": "x"}]},
        {"member-vnf-index": "router-firewall", "additionalParams": {"l2net": {"forwarding": True}}},
    ],
}

# Values every node is replaced with (every JSON type), and the strings NBI's patterns are picky about, each given
# to the string leaves it concerns
TYPE_VALUES: list[Any] = [None, True, 0, 1, -1, 1.5, 2.0, "", "x", [], [{}], ["x"], {}, {"k": 1}]
NAME_STRINGS = ["a" * 61, "a" * 256, "a,b", "a;b", "a(b", "a'b", 'a"b', "a.b", "a$b", "a b", "x\n", "!!yaml {a: ["]
ADDRESS_STRINGS = ["10.0.1.77", "10.0.1.077", "256.0.0.1", "10.0.1", "10.0.1.7\n", "1.2.3.4.5", "::1", "2001:db8::1",
                   "fe80::1%eth0", "fe80:%e", "0:0:0:0:0:ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "abc::xyz", "10.0.1.0/24",
                   "10.0.1.5/24", "10.0.0.0/30", "10.0.0.0/31", "10.0.0.0/0", "10.0.0.0/08", "10.0.0.0/24\n",
                   "2001:db8::/64"]
ID_STRINGS = [UUID_A, UUID_A + "\n", UUID_A.upper(), UUID_A[:-1], "ipv4", "ipv6", "IPv4"]
MAC_STRINGS = ["fa:16:3e:00:00:01", "fb:16:3e:00:00:01", "FA:16:3E:00:00:0A", "fa-16-3e-00-00-01"]
VALUES = TYPE_VALUES + NAME_STRINGS + ADDRESS_STRINGS + ID_STRINGS + MAC_STRINGS  # for the random mutations


def strings_for(key: Any) -> list[str]:
    text = str(key).lower()
    if "mac" in text:
        return NAME_STRINGS + MAC_STRINGS
    if "address" in text or text.startswith("ip"):
        return NAME_STRINGS + ADDRESS_STRINGS
    if text.endswith("id") or "version" in text:
        return NAME_STRINGS + ID_STRINGS
    return NAME_STRINGS


TYPOS = (lambda k: k + "s", lambda k: k.replace("-", "_"), lambda k: k.replace("_", "-"), lambda k: k.upper(),
         lambda k: k[:-1])
NAME_KEYS = ["ok", "_ok1", "1bad", "bad-name", "k8s-namespace", "a$b", "$set", "", "a.b", "ü", "ok\n", "x" * 100]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths(value, (*prefix, i))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    if not path:
        return value
    _at(out, path[:-1])[path[-1]] = copy.deepcopy(value)
    return out


def _deleted(doc: Any, path: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(doc)
    parent = _at(out, path[:-1])
    del parent[path[-1]]
    return out


def _renamed(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    out = copy.deepcopy(doc)
    parent = _at(out, path[:-1])
    parent[new] = parent.pop(path[-1])
    return out


def systematic(base: dict[str, Any] = BASE) -> Iterator[tuple[str, Any]]:
    """(what was changed, the changed config) for every path of ``base``."""
    yield "base", copy.deepcopy(base)
    for path in paths(base):
        if not path:
            continue
        node = _at(base, path)
        yield f"drop {path}", _deleted(base, path)
        if isinstance(path[-1], str):
            for typo in TYPOS:
                new = typo(path[-1])
                if new and new != path[-1]:
                    yield f"rename {path} -> {new}", _renamed(base, path, new)
        if isinstance(node, list):
            yield f"double {path}", _replaced(base, path, node + node)
        if isinstance(node, dict) and path[-1] in ("additionalParamsForNs", "additionalParams"):
            for key in NAME_KEYS:
                yield f"param name {key!r} at {path}", _replaced(base, path, {**node, key: 1})
        for value in TYPE_VALUES + (strings_for(path[-1]) if isinstance(node, str) else []):
            yield f"{path} = {value!r}", _replaced(base, path, value)


def random_mutations(count: int, seed: int, base: dict[str, Any] = BASE) -> Iterator[tuple[str, Any]]:
    """``count`` configs with 2-4 changes each, reproducible from ``seed``."""
    rng = random.Random(seed)
    for n in range(count):
        doc: Any = copy.deepcopy(base)
        done = []
        for _ in range(rng.randint(2, 4)):
            candidates = [p for p in paths(doc) if p]
            if not candidates:
                break
            path = rng.choice(candidates)
            choice = rng.random()
            if choice < 0.25:
                doc = _deleted(doc, path)
                done.append(f"drop {path}")
            elif choice < 0.4 and isinstance(path[-1], str):
                new = rng.choice(TYPOS)(path[-1]) or "x"
                doc = _renamed(doc, path, new) if new not in _at(doc, path[:-1]) else doc
                done.append(f"rename {path} -> {new}")
            else:
                value = rng.choice(VALUES)
                doc = _replaced(doc, path, value)
                done.append(f"{path} = {value!r}")
        yield f"random #{n} (seed {seed}): " + "; ".join(done), doc
