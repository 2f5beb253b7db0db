"""The lab's state file: an intent log written BEFORE each creation step, so a crash mid-``up`` stays cleanable.

``lab down`` does not rely on it alone: it also scans for the lab's own namespace names and link aliases.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from osm_l2net.core.errors import LabError
from osm_l2net.core.plan import Plan
from osm_l2net.lab.profile import External, Member, Profile, Timings

DEFAULT_ROOT = Path(os.environ.get("OSM_L2NET_LAB_DIR", "/run/osm-l2net/lab"))


class LabState:
    def __init__(self, root: Path, lab: str) -> None:
        self.path = root / f"{lab}.json"
        self.run_dir = root / lab
        # addresses: pod key -> replica -> interface -> pool address; ipam: vld -> the pool's record (spec.allocate)
        self.data: dict[str, Any] = {"lab": lab, "steps": [], "pids": {}, "replicas": {}, "addresses": {}, "ipam": {}}

    @classmethod
    def load(cls, root: Path, lab: str) -> LabState:
        state = cls(root, lab)
        if state.path.exists():
            try:
                state.data.update(json.loads(state.path.read_text()))
            except (OSError, ValueError) as e:
                raise LabError(f"unreadable lab state {state.path}: {e} (lab down removes the lab anyway)") from e
        return state

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.parent.chmod(0o755)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            # compact: the C encoder (indent= falls back to pure Python, which dominated a 50-pod 'up')
            out.write(json.dumps(self.data, separators=(",", ":")))
        tmp.replace(self.path)

    def intend(self, kind: str, name: str, force: bool = False) -> None:
        """Record a step before doing it (saved when the step is new, or with ``force`` to save other changes too)."""
        step = {"kind": kind, "name": name}
        if step not in self.data["steps"]:
            self.data["steps"].append(step)
        elif not force:
            return
        self.save()

    def set_inputs(self, plan: Plan, profile: Profile) -> None:
        """Not saved here: the next ``intend`` saves it, before anything is created."""
        self.data["plan"] = plan.as_dict(absolute_charts=True)  # read back on this machine: charts stay findable
        self.data["profile"] = asdict(profile)

    @property
    def plan(self) -> Plan | None:
        return Plan.from_dict(self.data["plan"]) if "plan" in self.data else None

    @property
    def profile(self) -> Profile:
        raw = self.data.get("profile")
        if not raw:
            return Profile()
        ext = External(**raw["external"]) if raw.get("external") else None
        return Profile(tuple(Member(**m) for m in raw["members"]), ext, Timings(**raw["timings"]), raw["source"])

    def netns_names(self) -> set[str]:
        return {s["name"] for s in self.data["steps"] if s["kind"] == "netns"}

    def all_pids(self) -> set[int]:
        return {p for pids in self.data["pids"].values() for p in pids}

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        self.path.with_suffix(".tmp").unlink(missing_ok=True)
