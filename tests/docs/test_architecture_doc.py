"""docs/architecture.md is drawn from the code and must not drift from it: every room (package or top module of
osm_l2net) is in its rooms table with every module it holds, and every import-linter contract is in its rules table."""

from __future__ import annotations

import configparser
import re

from tests.conftest import REPO

DOC = (REPO / "docs" / "architecture.md").read_text()
PACKAGE = REPO / "osm_l2net"


def _table(heading: str) -> dict[str, str]:
    section = DOC.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", section, re.M)
    return dict(rows)


def rooms() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for child in sorted(PACKAGE.iterdir()):
        if child.is_dir() and (child / "__init__.py").is_file():
            found[f"{child.name}/"] = sorted(p.stem for p in child.rglob("*.py") if p.stem not in {"__init__", "__main__"})
        elif child.suffix == ".py" and child.stem != "__init__":
            found[child.name] = []
    return found


def test_every_room_and_module_is_in_the_rooms_table() -> None:
    table = _table("## The rooms")
    missing_rooms = sorted(set(rooms()) - set(table))
    assert not missing_rooms, f"docs/architecture.md's rooms table lacks {missing_rooms}"
    missing = {room: [m for m in mods if f"`{m}`" not in table[room]] for room, mods in rooms().items()}
    assert not {r: m for r, m in missing.items() if m}, f"modules not named in their room's row: {missing}"


def test_every_contract_is_in_the_rules_table() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / ".importlinter")
    contracts = sorted(s.split(":", 2)[2] for s in config.sections() if s.startswith("importlinter:contract:"))
    table = _table("## Rules the code keeps")
    assert contracts, "no contract read from .importlinter: the check would pass vacuously"
    assert sorted(set(contracts) - set(table)) == [], "contracts missing from docs/architecture.md"
    assert sorted(set(table) - set(contracts)) == [], "docs/architecture.md lists contracts that do not exist"
