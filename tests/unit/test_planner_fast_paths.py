"""The planner's addresses and the allocator's cursor against a brute-force reading of the rules, and the values of
the default layout (a fast path) against the path-by-path merge."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from osm_l2net.core.addressing import Allocator, IPAddress, network, usable
from osm_l2net.core.checks import Attachment, Link, Service
from osm_l2net.core.options import ValuesLayout
from osm_l2net.core.planner import _FLAT_LAYOUT, _addresses, _layout, _values

CIDRS = ["10.0.1.0/24", "10.0.2.0/30", "10.0.3.0/31", "10.0.4.7/32", "10.0.5.0/29", "fd00::/126", "fd00:1::/127",
         "fd00:2::1/128", "::/120"]


@st.composite
def services(draw: st.DrawFn) -> tuple[Service, dict[tuple[str, str], int]]:
    links: dict[str, Link] = {}
    for i, text in enumerate(draw(st.lists(st.sampled_from([*CIDRS, None]), min_size=1, max_size=4))):
        cidr = network(text) if text else None
        hosts = list(cidr) if cidr else []
        gateway = draw(st.sampled_from([None, *hosts[:3]])) if hosts else None
        pools: tuple[tuple[IPAddress, IPAddress], ...] = ()
        if hosts and draw(st.booleans()):
            first = draw(st.sampled_from(hosts))
            pools = ((first, draw(st.sampled_from([h for h in hosts if h >= first]))),)
        links[f"v{i}"] = Link(f"v{i}", cidr, f"ipv{cidr.version if cidr else 4}", gateway, pools, None, f"vld[{i}]")
    attachments = []
    for n in range(draw(st.integers(0, 12))):
        vld = draw(st.sampled_from(sorted(links)))
        cidr = links[vld].cidr
        ip = draw(st.sampled_from([None, *list(cidr)[:6]])) if cidr else None
        attachments.append(Attachment(f"m{n}", "cp", vld, "kdu", ip, f"cp[{n}]"))
    service = Service("nsd", "nsd.yaml", links, [], attachments)
    return service, {(a.member_vnf_index, a.kdu_name): 1 for a in attachments}


def candidates(link: Link) -> list[int]:
    """Every address the link may hand out, in order, as the rules say it: its pools (else its whole cidr), in pool
    order, each address once and only the ones :func:`usable` accepts."""
    assert link.cidr is not None
    spans = [(int(a), int(b)) for a, b in link.pools] or [(int(link.cidr[0]), int(link.cidr[-1]))]
    found = dict.fromkeys(v for first, last in spans for v in range(first, last + 1)
                          if usable(link.cidr, ipaddress.ip_address(v) if link.cidr.version == 4
                                    else ipaddress.IPv6Address(v)))
    return list(found)


def by_rules(service: Service) -> list[str | None]:
    """What each attachment gets: its pinned address, else the first candidate that no pinned address, the gateway
    or an earlier attachment took."""
    taken: dict[str, set[int]] = {}
    out: list[str | None] = []
    for a in service.attachments:
        link = service.links[a.vld_id]
        if link.cidr is None:
            out.append(None)
            continue
        if a.ip is not None:
            out.append(f"{a.ip}/{link.cidr.prefixlen}")
            continue
        if a.vld_id not in taken:
            taken[a.vld_id] = {int(p.ip) for p in service.attachments if p.vld_id == a.vld_id and p.ip is not None}
            taken[a.vld_id] |= {int(link.gateway)} if link.gateway else set()
        free = [v for v in candidates(link) if v not in taken[a.vld_id]]
        if not free:
            out.append(None)
            continue
        taken[a.vld_id].add(free[0])
        ip = ipaddress.IPv4Address(free[0]) if link.cidr.version == 4 else ipaddress.IPv6Address(free[0])
        out.append(f"{ip}/{link.cidr.prefixlen}")
    return out


@settings(max_examples=400, deadline=None)
@given(services())
def test_the_planner_allocates_what_the_rules_say(case: tuple[Service, dict[tuple[str, str], int]]) -> None:
    service, replicas = case
    with_prefix, bare = _addresses(service, replicas)
    assert with_prefix == by_rules(service)
    assert bare == [None if t is None else t.split("/")[0] for t in with_prefix]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CIDRS), st.data())
def test_the_allocator_hands_out_every_candidate_once_in_order(text: str, data: st.DataObject) -> None:
    cidr = network(text)
    hosts = list(cidr)
    taken = data.draw(st.lists(st.sampled_from(hosts), max_size=4))
    pools = data.draw(st.lists(st.tuples(st.sampled_from(hosts), st.sampled_from(hosts)).map(sorted).map(tuple),
                               max_size=3))  # overlapping pools included
    link = Link("v", cidr, f"ipv{cidr.version}", None, tuple(pools), None, "vld[0]")
    allocator = Allocator(cidr, taken, pools)
    given_out = []
    while (value := allocator.next_value()) is not None:
        given_out.append(value)
    assert given_out == [v for v in candidates(link) if v not in {int(t) for t in taken}]
    assert allocator.next_value() is None  # a full link stays full


def test_a_full_link_gives_no_address_and_an_ipv6_link_low_in_the_space_is_written_as_ipv6() -> None:
    links = {"a": Link("a", network("10.0.0.0/30"), "ipv4", None, (), None, "vld[0]"),
             "b": Link("b", network("::/120"), "ipv6", None, (), None, "vld[1]")}
    attachments = [Attachment(f"m{n}", "cp", "a", "kdu", None, f"cp[{n}]") for n in range(3)]
    attachments.append(Attachment("m9", "cp", "b", "kdu", None, "cp[9]"))
    service = Service("nsd", "nsd.yaml", links, [], attachments)
    with_prefix, _ = _addresses(service, {(a.member_vnf_index, "kdu"): 1 for a in attachments})
    assert with_prefix == ["10.0.0.1/30", "10.0.0.2/30", None, "::1/120"]
    assert ipaddress.ip_interface(with_prefix[3]).version == 6


def test_the_default_layout_is_known_and_its_values_are_those_of_the_general_merge() -> None:
    assert _layout(ValuesLayout()) is _FLAT_LAYOUT
    assert _layout(ValuesLayout(pod_labels="pod.labels")) == (["pod", "labels"], ["podAnnotations"], ["l2net"])
    general = tuple(list(path) for path in _FLAT_LAYOUT)  # equal paths, not the known object: the merge runs
    labels, annotations = {"l2sm": "true", "osm.etsi.org/ns-id": "x"}, {"l2sm/networks": "[]"}
    fast = _values(_FLAT_LAYOUT, None, labels, annotations, {"nsId": "x", "interfaces": []})
    merged = _values(general, None, labels, annotations, {"nsId": "x", "interfaces": []})
    assert fast == merged == {"podLabels": labels, "podAnnotations": annotations,
                              "l2net": {"nsId": "x", "interfaces": []}}
    assert list(fast) == list(merged)  # the same key order in the values file
    assert fast["podLabels"] is not labels  # a copy: the plan's pod labels and its values are separate objects
    user = {"podLabels": {"app": "cache"}, "replicaCount": 1}
    assert _values(_FLAT_LAYOUT, user, labels, annotations, {})["podLabels"] == {"app": "cache", **labels}
