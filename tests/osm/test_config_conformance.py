"""``--config`` against NBI's real verdict: for every generated and mutated config (tests/osm/nbi_bodies.py), the
project's own NBI rules (osm_l2net/core/params.py) refuse exactly what NBI v19's real code refuses (its ns_instantiate
schema via its own ``validate_input``, and ``_format_additional_params`` on additionalParamsForNs, both loaded from
shared/osm-v19); ``parse_params`` is stricter than NBI only where the plan cannot be made, and then says so."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from osm_l2net.core.errors import ParamsError, Problem
from osm_l2net.core.params import NBI_REFUSES, PLAN_REASON, nbi_rule_problems, parse_params, vnf_param_name_problems
from tests.osm.nbi_bodies import BASE, REQUIRED, random_mutations, systematic
from tests.support import nbi_source

CASES: list[tuple[str, Any]] = [*systematic(), *random_mutations(300, seed=1), *random_mutations(300, seed=2)]
_VERDICTS: dict[int, str | None] = {}


def nbi(config: Any) -> str | None:
    key = id(config)  # the cases live as long as the module: one real verdict per case for all the tests
    if key not in _VERDICTS:
        _VERDICTS[key] = nbi_source.nbi_verdict(copy.deepcopy({**REQUIRED, **config}))
    return _VERDICTS[key]


def ours(config: Any) -> list[Problem]:
    try:
        parse_params(config, "config.yaml")
    except ParamsError as e:
        return list(e.problems)
    return []


def test_the_base_config_is_one_nbi_and_the_plan_accept() -> None:
    assert nbi(BASE) is None and ours(BASE) == []


def test_our_nbi_rules_give_nbis_verdict_on_every_generated_config() -> None:
    wrong = []
    verdicts = {"accepted": 0, "refused": 0}
    for what, config in CASES:
        theirs = nbi(config)
        found = nbi_rule_problems(config, "config.yaml")
        verdicts["refused" if theirs else "accepted"] += 1
        if (theirs is None) != (not found):
            wrong.append(f"{what}: NBI {theirs or 'accepts'}; ours {[str(p) for p in found] or 'accepts'}")
    assert not wrong, f"{len(wrong)} of {len(CASES)} differ:\n" + "\n".join(wrong[:20])
    assert verdicts["accepted"] > 300 and verdicts["refused"] > 1000, verdicts  # the cases exercise both sides


def test_whole_bodies_with_the_required_keys_get_nbis_verdict_too() -> None:
    wrong = []
    bodies = random_mutations(300, seed=3, base={**REQUIRED, **BASE})
    for what, body in [("base", {**REQUIRED, **BASE}), *bodies]:
        theirs = nbi_source.nbi_verdict(copy.deepcopy(body))
        found = nbi_rule_problems(body, "body", body=True)
        if (theirs is None) != (not found):
            wrong.append(f"{what}: NBI {theirs or 'accepts'}; ours {[str(p) for p in found] or 'accepts'}")
    assert not wrong, "\n".join(wrong[:20])


def test_parse_params_is_stricter_than_nbi_only_where_the_plan_cannot_be_made() -> None:
    looser, unexplained = [], []
    stricter = 0
    for what, config in CASES:
        theirs, found = nbi(config), ours(config)
        if theirs is not None and not any(NBI_REFUSES in p.message for p in found):
            looser.append(f"{what}: NBI {theirs}; ours {[str(p) for p in found] or 'accepts'}")
        elif theirs is None and found:
            stricter += 1
            if not all(PLAN_REASON in p.message for p in found):
                unexplained.append(f"{what}: {[str(p) for p in found]}")
    assert not looser, "NBI refuses, we do not:\n" + "\n".join(looser[:20])
    assert not unexplained, "stricter than NBI without saying the plan cannot be made:\n" + "\n".join(unexplained[:20])
    assert stricter > 10  # leading zeros, host bits, '!!yaml' that is no YAML: the plan's own limits are exercised


@pytest.mark.parametrize(("config", "path", "expected"), [
    ({"vlds": [{"name": "net"}]}, "vlds", "'vld'?"),
    ({"vld": [{"name": "net", "ip-profile": {"subnet_address": "10.0.1.0/24"}}]}, "vld[0].ip-profile.subnet_address",
     "'subnet-address'?"),
    ({"vld": [{"name": "net", "vnfd-connection-point-ref": [{"member-vnf-index-ref": "a",
                                                             "vnfd-connection-point-ref": "b"}]}]},
     "vld[0].vnfd-connection-point-ref[0]", "the ip-address too"),
    ({"vld": [{"name": "net", "ip-profile": {"gateway-address": "2001:db8::1"}}]}, "vld[0].ip-profile.gateway-address",
     "NBI takes no IPv6 gateway"),
    ({"vld": [{"name": "net", "ip-profile": {"subnet-address": "10.0.0.0/31"}}]}, "vld[0].ip-profile.subnet-address",
     "up to /30"),
    ({"additionalParamsForVnf": [{"member-vnf-index": "cdn-server"}]}, "additionalParamsForVnf[0]", "at least 2 keys"),
    ({"nsDescription": None}, "nsDescription", "not null"),
    ({"timeout_ns_deploy": 1.0}, "timeout_ns_deploy", "an integer"),
    ({"additionalParamsForNs": {"osm-l2net-ns-id": "x"}}, "additionalParamsForNs.osm-l2net-ns-id", "'osm_l2net_ns_id'"),
    ({"vnf": [{"member-vnf-index": "cdn-server", "vim_account": "site2"}]}, "vnf[0].vim_account",
     "osmclient turns a VIM name into it on the client"),
    ({"wim_account": "wan"}, "wim_account", "wimAccountId"),
])
def test_a_refused_config_names_the_file_the_path_and_what_nbi_expects(config: dict[str, Any], path: str,
                                                                         expected: str) -> None:
    assert nbi(config) is not None, "NBI itself refuses it"
    found = [p for p in ours(config) if p.path == path]
    assert found and found[0].source == "config.yaml" and NBI_REFUSES in found[0].message, ours(config)
    assert expected in found[0].expected, found[0]


MEMBERS = {"cdn-server": (("v1",), ("cdn-server", "other-kdu")), "router-firewall": ((), ("router-firewall",)),
           "content-server": ((), ("content-server",))}


def nbi_vnf_levels(config: dict[str, Any]) -> str | None:
    """NBI's real _format_additional_params at each level NsrTopic.new formats for these members."""
    for member, (vdus, kdus) in MEMBERS.items():
        calls: list[dict[str, Any]] = [{}, *({"vdu_id": v} for v in vdus), *({"kdu_name": k} for k in kdus)]
        for kwargs in calls:
            try:
                nbi_source.format_additional_params(copy.deepcopy({**REQUIRED, **config}), member, **kwargs)
            except nbi_source.StandInEngineException as e:
                return str(e)
    return None


def test_vnf_kdu_and_vdu_names_get_nbis_verdict_for_the_entries_nbi_reads() -> None:
    wrong, refused = [], 0
    for what, config in CASES:
        if nbi(config) is not None:
            continue  # NBI stops at the schema; the name rules are never reached
        theirs = nbi_vnf_levels(config)
        found = vnf_param_name_problems(config, "config.yaml", MEMBERS)
        refused += theirs is not None
        if (theirs is None) != (not found):
            wrong.append(f"{what}: NBI {theirs or 'accepts'}; ours {[str(p) for p in found] or 'accepts'}")
    assert not wrong, "\n".join(wrong[:20])
    assert refused > 5


def test_values_the_json_to_nbi_cannot_carry_are_refused_with_the_plan_reason() -> None:
    import datetime

    config = {"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParamsForKdu": [
        {"kdu_name": "cdn-server", "additionalParams": {"release": datetime.date(2024, 1, 1), 1: "x",
                                                        "ratio": float("nan"), "blob": b"\x00"}}]}]}
    found = ours(config)
    where = "additionalParamsForVnf[0].additionalParamsForKdu[0].additionalParams"
    assert {p.path for p in found} == {f"{where}.release", f"{where}.1", f"{where}.ratio", f"{where}.blob"}
    assert all(PLAN_REASON in p.message for p in found)


def test_a_refused_value_is_quoted_bounded_however_big() -> None:
    big: Any = list(range(100_000))
    for _ in range(50):
        big = [big, big]  # shared sub-lists, as a YAML alias bomb expands: 2**50 items if walked
    found = ours({"vld": [{"name": big}]})
    assert [p.path for p in found] == ["vld[0].name"]
    assert len(str(found[0])) < 400


def test_a_config_with_100000_wrong_items_gets_a_bounded_answer() -> None:
    found = ours({"vld": [{"nam": i} for i in range(100_000)], **{f"k{i}": i for i in range(100_000)}})
    assert 0 < len(found) <= 60 and "more problems not listed" in str(found[-1])


def test_yaml_strings_are_decoded_one_level_deep_as_lcm_decodes_them() -> None:
    config = {"additionalParamsForVnf": [{"member-vnf-index": "cdn-server", "additionalParamsForKdu": [
        {"kdu_name": "cdn-server", "additionalParams": {"top": "!!yaml {a: 1}", "deep": {"b": "!!yaml {c: 2}"}}}]}]}
    kdu = parse_params(config).vnfs[0].kdus[0]
    assert kdu.additional_params == {"top": {"a": 1}, "deep": {"b": "!!yaml {c: 2}"}}
