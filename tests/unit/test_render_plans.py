"""``osm-l2net plan -o json|yaml`` of real plans, byte for byte against the libraries' own text of ``plan.as_dict()``
(json.dumps indent 2, yaml.safe_dump block style width 120), written before the writers were made faster (issue 13) so
that no speed-up can change a byte: generated plans of every provider, with parameters, multi-replica KDUs and on
several clusters, and the CDN service through the command itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from osm_l2net import api
from osm_l2net.cli.main import cli
from osm_l2net.core.model import NsInstance
from osm_l2net.core.options import InterClusterProvider, PlanOptions
from osm_l2net.core.params import parse_params
from osm_l2net.core.plan import Plan
from osm_l2net.core.planner import build_plan
from osm_l2net.core.render import plan_json, plan_yaml
from tests.conftest import CDN_PACKAGES
from tests.support.descriptors import descriptors, service_docs
from tests.unit.test_generated_golden import CASES


def pyyaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120)


def generated(case: str) -> Plan:
    shape, kwargs, config, options = CASES[case]
    nsd, vnfds = service_docs(*shape, **kwargs)
    return build_plan(descriptors(nsd, vnfds), NsInstance(f"gen-{case}", f"gen-{case}", "gen", parse_params(config)),
                      options)


def plans() -> dict[str, Plan]:
    out = {case: generated(case) for case in sorted(CASES)}
    out["cdn"] = api.plan(CDN_PACKAGES, ns_name="vod-service-deployment")
    out["cdn-two-clusters"] = api.plan(CDN_PACKAGES, ns_name="vod", options=PlanOptions(
        placement={"cdn-server": "edge"}, inter_cluster=InterClusterProvider("idco", "10.0.0.5")))
    return out


PLANS = plans()


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_json_is_json_dumps_of_the_plans_dict(name: str) -> None:
    plan = PLANS[name]
    assert "".join(plan_json(plan)) == json.dumps(plan.as_dict(), indent=2)


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_yaml_is_pyyamls_text_of_the_plans_dict(name: str) -> None:
    plan = PLANS[name]
    text = "".join(plan_yaml(plan))
    assert text == pyyaml(plan.as_dict())
    assert yaml.safe_load(text) == json.loads(json.dumps(plan.as_dict()))


def test_the_plans_exercise_what_they_are_meant_to() -> None:
    """Guards the guard: values, routes, replicas' address ranges and a second cluster are in the compared text."""
    docs = {name: plan.as_dict() for name, plan in PLANS.items()}
    assert any(n.get("podAddressRange") for d in docs.values() for n in d["networks"])
    assert any(n.get("cluster") for n in docs["cdn-two-clusters"]["networks"])
    assert all(any(k["routes"] for k in d["kdus"]) for name, d in docs.items() if name != "cdn-two-clusters")
    assert any(d["warnings"] for d in docs.values())


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_the_command_prints_that_text_and_one_newline(fmt: str) -> None:
    result = CliRunner().invoke(cli, ["plan", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "-o", fmt])
    assert result.exit_code == 0, (result.output, result.exception)
    data = PLANS["cdn"].as_dict()
    assert result.stdout == (json.dumps(data, indent=2) + "\n" if fmt == "json" else pyyaml(data))
