"""The descriptor reader's output, pinned byte for byte, so that its performance work (issue 13) changes no message.

Two guards: hand-written bad descriptors whose every problem is spelled out here (readable), and a golden of a few
hundred seeded random damages of the CDN, the kit's example and a generated service — each case's full problem list
(source, path, message, expected, severity, in order), or a digest of the model it reads. The golden was written by
the reader as it was before issue 13; regenerate it with OSM_L2NET_UPDATE_GOLDEN=1 only after an intended change.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
from typing import Any

import pytest
import yaml

from osm_l2net.core.errors import DescriptorError
from osm_l2net.core.sol006 import _schema, parse_nsd, parse_vnfd
from tests.conftest import MODELS, REPO
from tests.support.descriptors import service_docs
from tests.support.mutation import mutate
from tests.unit import cdn

GOLDEN = REPO / "tests" / "golden" / "sol006_problems.json"
EXAMPLES = MODELS / "examples"


def read(kind: str, document: dict[str, Any]) -> list[list[str]] | str:
    """Every problem of one document, or (when it reads) a digest of the model, warnings and paths included."""
    try:
        model: Any = parse_nsd(document, "n.yaml") if kind == "nsd" else parse_vnfd(document, "v.yaml")
    except DescriptorError as e:
        return [[p.source, p.path, p.message, p.expected, p.severity] for p in e.problems]
    return hashlib.sha256(repr(model).encode()).hexdigest()


def test_an_unknown_key_deep_in_a_vnf_profile_is_named_by_its_path() -> None:
    # in the wrapped form (nsd: {nsd: [..]}) the key check names the outer list too: nsd.nsd[0], as it always has
    nsd, _ = cdn.docs()
    cp = cdn.profile(nsd, "router-firewall")["virtual-link-connectivity"][1]["constituent-cpd-id"][0]
    cp["bogus"] = 1
    cp["ns:other"] = {"x": 1}
    assert read("nsd", nsd) == [
        ["n.yaml", "nsd.nsd[0].df[0].vnf-profile[1].virtual-link-connectivity[1].constituent-cpd-id[0].bogus",
         "unknown field 'bogus'", "one of the model's fields here: constituent-base-element-id, constituent-cpd-id, "
         "ip-address…", "error"],
        ["n.yaml", "nsd.nsd[0].df[0].vnf-profile[1].virtual-link-connectivity[1].constituent-cpd-id[0].ns:other",
         "unknown field 'ns:other'", "one of the model's fields here: constituent-base-element-id, constituent-cpd-id, "
         "ip-address…", "error"],
    ]


def test_bad_addresses_and_a_missing_reference_are_all_reported_in_order() -> None:
    nsd, _ = cdn.docs()
    body = cdn.nsd_body(nsd)
    l3 = body["df"][0]["virtual-link-profile"][0]["virtual-link-protocol-data"]["l3-protocol-data"]
    l3.update({"cidr": "10.0.0.1/24", "gateway-ip": "10.0.0.300"})
    cps = cdn.profile(nsd, "cdn-server")["virtual-link-connectivity"][1]["constituent-cpd-id"]
    cps[0]["ip-address"] = ["10.0.1.5", "fe80::zz"]
    del cdn.profile(nsd, "content-server")["vnfd-id"]
    assert read("nsd", nsd) == [
        ["n.yaml", "nsd[0].df[0].virtual-link-profile[0].virtual-link-protocol-data.l3-protocol-data.cidr",
         "'10.0.0.1/24' is not a valid network prefix (10.0.0.1/24 has host bits set): the link cannot be planned "
         "because its subnet is unknown", "a network in CIDR form, e.g. 10.0.1.0/24", "error"],
        ["n.yaml", "nsd[0].df[0].virtual-link-profile[0].virtual-link-protocol-data.l3-protocol-data.gateway-ip",
         "'10.0.0.300' is not an IP address", "an IPv4 or IPv6 address", "error"],
        ["n.yaml", "nsd[0].df[0].vnf-profile[0].virtual-link-connectivity[1].constituent-cpd-id[0].ip-address[1]",
         "'fe80::zz' is not an IP address", "an IPv4 or IPv6 address (inet:ip-address)", "error"],
        ["n.yaml", "nsd[0].df[0].vnf-profile[2].vnfd-id", "is missing", "a non-empty string", "error"],
    ]


def test_a_prefixed_known_key_reads_and_a_prefixed_unknown_one_is_refused() -> None:
    doc = yaml.safe_load((EXAMPLES / "l2net_knf_vnfd.yaml").read_text())
    cpd = doc["vnfd"]["ext-cpd"][1]
    cpd["kdu:k8s-cluster-net"] = cpd.pop("k8s-cluster-net")
    doc["vnfd"]["kdu"][0]["x:helm-chart-typo"] = "a"
    doc["vnfd"][7] = "an integer key"
    problems = read("vnfd", doc)
    assert isinstance(problems, list)
    assert [p[1:3] for p in problems] == [
        ["vnfd.kdu[0].x:helm-chart-typo", "unknown field 'x:helm-chart-typo'"], ["vnfd.7", "unknown field '7'"]]


# Every mapping the reader reads a field of, by its place in the model. The key check certifies a document free of
# module prefixes only for the levels it walks, and the reader then reads fields without looking for prefixes.
READ_LEVELS = {
    "nsd": ["nsd/nsd", "nsd/nsd/virtual-link-desc", "nsd/nsd/df", "nsd/nsd/df/virtual-link-profile",
            "nsd/nsd/df/virtual-link-profile/virtual-link-protocol-data",
            "nsd/nsd/df/virtual-link-profile/virtual-link-protocol-data/l3-protocol-data",
            "nsd/nsd/df/virtual-link-profile/virtual-link-protocol-data/l2-protocol-data", "nsd/nsd/df/vnf-profile",
            "nsd/nsd/df/vnf-profile/virtual-link-connectivity",
            "nsd/nsd/df/vnf-profile/virtual-link-connectivity/constituent-cpd-id"],
    "vnfd": ["vnfd", "vnfd/ext-cpd", "vnfd/k8s-cluster", "vnfd/k8s-cluster/nets", "vnfd/kdu", "vnfd/kdu/service",
             "vnfd/df", "vnfd/df/scaling-aspect", "vnfd/df/scaling-aspect/aspect-delta-details",
             "vnfd/df/scaling-aspect/aspect-delta-details/deltas",
             "vnfd/df/scaling-aspect/aspect-delta-details/deltas/kdu-resource-delta", "vnfd/df/kdu-resource-profile"],
}


@pytest.mark.parametrize(("kind", "place"), [(k, p) for k, places in READ_LEVELS.items() for p in places])
def test_the_key_check_walks_every_mapping_the_reader_reads(kind: str, place: str) -> None:
    root, *names = place.split("/")
    level = _schema(kind, "nsd" if kind == "nsd" else root)
    for name in names:
        assert name in level.nested, f"{place}: the key check does not descend to {name}"
        level = level.nested[name]


def damage(document: dict[str, Any], rnd: random.Random) -> None:
    """mutation.mutate, and sometimes a module prefix or a non-string key, which the reader treats apart."""
    mutate(document, rnd)
    nodes: list[dict[Any, Any]] = []

    def walk(n: Any) -> None:
        if isinstance(n, dict):
            nodes.append(n)
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(document)
    node = rnd.choice(nodes)
    keys = [k for k in node if isinstance(k, str)]
    roll = rnd.random()
    if roll < 0.25 and keys:
        key = rnd.choice(keys)
        node[f"{rnd.choice(['ns', 'kdu', 'etsi-nfv-vnfd'])}:{key}"] = node.pop(key)
    elif roll < 0.3:
        node[rnd.choice([0, 1.5, True, None])] = "junk"


def bases() -> list[tuple[str, str, dict[str, Any]]]:
    nsd, vnfds = cdn.docs()
    gen_nsd, gen_vnfds = service_docs(2, 4, 2, seed=3)
    found = [("cdn-nsd", "nsd", nsd), ("gen-nsd", "nsd", gen_nsd), ("gen-vnfd", "vnfd", gen_vnfds[0])]
    found += [(f"cdn-{k}", "vnfd", v) for k, v in vnfds.items()]
    found += [(f"example-{p.stem}", "nsd" if "nsd" in p.stem else "vnfd", yaml.safe_load(p.read_text()))
              for p in [EXAMPLES / "l2net_nsd.yaml", EXAMPLES / "l2net_knf_vnfd.yaml", *sorted((EXAMPLES / "bad").iterdir())]]
    return found


def cases() -> dict[str, list[list[str]] | str]:
    out: dict[str, list[list[str]] | str] = {}
    for name, kind, document in bases():
        out[name] = read(kind, document)
        for seed in range(25):
            rnd = random.Random(f"{name}-{seed}")
            damaged = copy.deepcopy(document)
            for _ in range(rnd.randint(1, 3)):
                damage(damaged, rnd)
            out[f"{name}-{seed}"] = read(kind, damaged)
    return out


def test_damaged_descriptors_give_the_problems_of_the_golden() -> None:
    text = json.dumps(cases(), indent=0, sort_keys=True) + "\n"
    if os.environ.get("OSM_L2NET_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


@pytest.mark.parametrize("wanted", ["unknown field", "is not an IP address", "is not a valid network prefix",
                                    "is missing", "has the wrong type", "not a list", "ns:", "kdu:"])
def test_the_golden_exercises_what_it_is_meant_to(wanted: str) -> None:
    """Guards the guard: the damages still reach each kind of problem, and prefixed keys."""
    golden = json.loads(GOLDEN.read_text())
    assert any(wanted in p[1] + p[2] for v in golden.values() if isinstance(v, list) for p in v)
