"""The lab's replica rules, pure (no root needed): names, L2S-M's address order, the refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osm_l2net.cli.lab import lab
from osm_l2net.core.errors import InputError
from osm_l2net.lab.profile import Profile
from osm_l2net.lab.spec import LabConflict, PoolSpec, allocate, build_spec, remaining, replica_index, replica_of
from tests.lab.plans import chain_plan, kdu, replica_chain_plan

POOL = PoolSpec("net-c", "10.9.3.32/29", 7, 24)


def test_addresses_come_as_l2sm_hands_them_out_and_never_wrap() -> None:
    record: dict[str, Any] | None = None
    given = []
    for _ in range(7):
        address, record = allocate(record, POOL)
        given.append(address)
    assert given == [f"10.9.3.{i}/24" for i in range(33, 40)]  # base + 1 … the block's last address
    assert record is not None and record["assigned"] == [a.split("/")[0] for a in given]
    assert remaining(record, POOL) == 0 and remaining(None, POOL) == 7
    with pytest.raises(LabConflict, match="no address left"):
        allocate(record, POOL)


def test_replica_one_keeps_the_pods_names_and_others_get_their_own() -> None:
    spec = build_spec("lab1", replica_chain_plan(3), Profile())
    server = spec.pod("server")
    assert server.netns == "l2n-lab1-server" and server.pools == (replace(POOL, capacity=7),)
    first = replica_of("lab1", spec.ns_id, server, 1, {"net1": "10.9.3.33/24"})
    third = replica_of("lab1", spec.ns_id, server, 3, {"net1": "10.9.3.35/24"})
    assert (first.netns, first.links[0].peer, first.links[0].mac) == (server.netns, server.links[0].peer,
                                                                        server.links[0].mac)
    assert third.netns == "l2n-lab1-server-3" and third.ident == "server/server#3"
    assert third.links[0].ip == "10.9.3.35/24" and third.links[0].peer != server.links[0].peer
    assert third.routes == server.routes
    assert [replica_index(server, n) for n in ("l2n-lab1-server", "l2n-lab1-server-3", "l2n-lab1-server-0",
                                               "l2n-lab1-server-x", "l2n-lab1-client")] == [1, 3, None, None, None]


def test_several_replicas_need_every_address_from_a_pool() -> None:
    spec = build_spec("lab1", chain_plan(), Profile())
    with pytest.raises(InputError, match=r"pins 10\.9\.1\.10/24"):
        spec.pod("client").check_replicas(2)
    spec.pod("client").check_replicas(1)
    bare = build_spec("lab1", replace(chain_plan(), kdus=(kdu("l2only", [("net-a", None)]),)), Profile())
    with pytest.raises(InputError, match="none of its networks has a per-replica address pool"):
        bare.pod("l2only").check_replicas(3)


def test_a_member_named_like_a_replica_is_refused() -> None:
    plan = replica_chain_plan(3)
    plan = replace(plan, kdus=(*plan.kdus, kdu("server-2", [("net-c", "10.9.3.20/24")], ns_id=plan.ns_id)))
    with pytest.raises(InputError, match="would clash"):
        build_spec("lab1", plan, Profile())


def test_config_with_a_plan_file_is_refused(tmp_path: Path) -> None:
    """A plan already holds its instantiation parameters: --config beside one would be silently ignored."""
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(chain_plan().as_dict()))
    done = CliRunner().invoke(lab, ["up", str(plan_file), "--config", "{additionalParamsForVnf: []}", "--lab", "x"])
    assert done.exit_code == 2 and "instantiation parameters given with the plan file" in done.output
