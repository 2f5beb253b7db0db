"""Random damage to descriptor documents, for the property tests and the reliability campaign.

One change at a time, anywhere in the tree: drop a key, replace a value with junk, duplicate a list item, rename a key,
or wrap a value in a list (a list in a map). Deterministic for a given ``random.Random``.
"""

from __future__ import annotations

import copy
import random
from typing import Any

JUNK: list[Any] = [None, "", "x", -1, 0, 3.5, True, [], {}, [1], {"a": 1}, "10.0.1.300", "10.0.0.0/33", "ipv5", "../x"]
ACTIONS = ("drop", "junk", "duplicate", "rename", "wrap")


def mutate(node: Any, rnd: random.Random) -> str:
    """Apply one random change somewhere in ``node`` (in place); returns what was done, for messages."""
    paths: list[tuple[Any, Any]] = []

    def walk(n: Any) -> None:
        if isinstance(n, dict):
            for k in list(n):
                paths.append((n, k))
                walk(n[k])
        elif isinstance(n, list):
            for i in range(len(n)):
                paths.append((n, i))
                walk(n[i])

    walk(node)
    if not paths:  # an earlier change emptied the document
        return "nothing left to change"
    parent, key = rnd.choice(paths)
    action = rnd.randrange(len(ACTIONS))
    if action == 0 and isinstance(parent, dict):
        del parent[key]
    elif action == 1:
        parent[key] = copy.deepcopy(rnd.choice(JUNK))
    elif action == 2 and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    elif action == 3 and isinstance(parent, dict):
        parent[f"{key}-renamed"] = parent.pop(key)
    else:
        parent[key] = [parent[key]] if not isinstance(parent[key], list) else {"0": parent[key]}
        action = 4
    return f"{ACTIONS[action]} {key!r}"
