#!/usr/bin/env python3
"""Regenerate osm_l2net/core/data/im_keys.json from the SOL006 + OSM IM YANG models (dev-time only; needs pyang).

The loader uses the result to reject unknown fields the way OSM NBI does (pyangbind, skip_unknown=False), with the
descriptor path of the offending key. Usage: scripts/gen-im-keys.py ../shared/models
"""

import json
import re
import subprocess
import sys
from pathlib import Path

LINE = re.compile(r"^(?P<indent>[ |]*)\+--(?P<flags>rw|ro|:)\s*(?P<name>\S+)")


def tree(models: Path, module: str) -> list[str]:
    augments = sorted(str(p) for p in (models / "osm-im-augments").glob("*.yang"))
    argv = ["pyang", "-f", "tree", "-p", f"{models / 'sol006'}:{models / 'osm-im-augments'}",
            str(models / "sol006" / module), *augments]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.splitlines()


def parse(lines: list[str], root: str) -> dict[str, dict[str, str]]:
    keys: dict[str, dict[str, str]] = {}
    stack: list[tuple[int, str]] = []  # (depth, path) of data nodes and choices
    modules = 0
    for line in lines:
        if line.startswith("module:"):
            modules += 1
        if modules > 1 or line.lstrip().startswith(("augment", "grouping", "rpcs", "notifications")):
            break  # only the first module's data tree, where pyang already shows the augments in place
        m = LINE.match(line)
        if not m:
            continue
        depth = len(m["indent"]) // 3
        name = m["name"]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        if m["flags"] == ":" or name.startswith("("):  # choice or case: not a data node, children go to parent
            stack.append((depth, parent))
            continue
        bare = name.split(":")[-1].rstrip("?*!")
        kind = "list" if name.endswith("*") or " [" in line or "*  " in line else "node"
        path = f"{parent}/{bare}" if parent else bare
        if parent or bare == root:
            keys.setdefault(parent, {})[bare] = kind
        stack.append((depth, path))
    keys.pop("", None)
    return keys


def main() -> None:
    models = Path(sys.argv[1])
    out = {"vnfd": parse(tree(models, "etsi-nfv-vnfd.yang"), "vnfd"), "nsd": parse(tree(models, "etsi-nfv-nsd.yang"), "nsd")}
    dest = Path(__file__).resolve().parent.parent / "osm_l2net" / "core" / "data" / "im_keys.json"
    dest.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    counts = {kind: sum(len(v) for v in tree_keys.values()) for kind, tree_keys in out.items()}
    print(f"wrote {dest}: {counts['vnfd']} vnfd keys, {counts['nsd']} nsd keys")


if __name__ == "__main__":
    main()
