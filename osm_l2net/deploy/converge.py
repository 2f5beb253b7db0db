"""Whether a KDU's release is as its plan wants it: what a re-run of apply (and its dry runs) does with it.

Compared, for a ``deployed`` release: the user-supplied values (``helm get values``: exactly the one values file an
apply sends, so chart defaults never count, and no key helm adds is in them) with the plan's values after the same
JSON encoding; the chart's ``<name>-<version>`` (``helm list``) with the planned chart's (``helm show chart``: a new
chart version is an upgrade); and, when verification is on, that the deployed pod templates carry the attachment.
Not compared: the chart's templates when its version is unchanged (bump the version: helm's own rule for a changed
chart), and what was changed behind helm's back in the cluster (helm does not track it either).

Differences are named by key path only (``image.tag``), never with their values: values may hold secrets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from osm_l2net.core.plan import KduPlan, plain
from osm_l2net.helm.runner import DeployedRelease, Helm, check_attachment

Action = Literal["install", "upgrade", "unchanged"]
_SHOWN = 8  # key paths named per kind of change: a progress line stays one line


@dataclass(frozen=True)
class Verdict:
    """What apply does with one KDU's release, and why (``reasons``: for people; no value in them)."""

    action: Action
    reasons: tuple[str, ...] = ()
    release: DeployedRelease | None = None  # what is there now (None: nothing)

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


def judge(helm: Helm, kdu: KduPlan, chart: str, *, verify: bool) -> Verdict:
    """Reads only: ``helm status``/``list`` of the release, ``helm show chart`` of the plan's chart (offline)."""
    release = helm.deployed(kdu.release_name, kdu.namespace)
    if release is None:
        return Verdict("install")
    if release.status != "deployed":
        # a failed upgrade leaves its release "failed" over a revision that ran: upgrade it again (helm allows it);
        # a failed or pending install (revision 1) or a pending operation is uninstalled and installed again
        if release.status == "failed" and release.revision > 1:
            return Verdict("upgrade", (f"its last upgrade failed (revision {release.revision})",), release)
        return Verdict("install", (f"replaces a release left {release.status} (revision {release.revision})",),
                       release)
    reasons = values_reasons(release.config, kdu.values)
    wanted_chart = chart_id(helm.show_chart(chart)) if chart else ""
    if wanted_chart and release.chart != wanted_chart:
        reasons.append(f"chart {release.chart or '(unknown)'} → {wanted_chart}")
    if not reasons and verify and kdu.interfaces:
        problems = check_attachment(release.manifests, kdu)
        if problems:
            reasons.append(f"its pod templates lack the attachment ({len(problems)} problem(s))")
    return Verdict("upgrade" if reasons else "unchanged", tuple(reasons), release)


def chart_id(metadata: Mapping[str, Any]) -> str:
    """``<name>-<version>``, as ``helm list`` names a release's chart ("" when the metadata lacks either)."""
    name, version = metadata.get("name"), metadata.get("version")
    return f"{name}-{version}" if name and version else ""


def values_reasons(deployed: Mapping[str, Any], planned: Mapping[str, Any]) -> list[str]:
    """The key paths in which the deployed user-supplied values differ from the planned ones, by kind of change."""
    changed, added, removed = value_changes(deployed, sent_values(planned))
    kinds = (("values changed", changed), ("values added", added), ("values removed", removed))
    return [f"{label}: {_listed(paths)}" for label, paths in kinds if paths]


def sent_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values as helm receives them: the runner's JSON encoding (non-JSON leaves as strings)."""
    encoded: dict[str, Any] = json.loads(json.dumps(plain(values), default=str))
    return encoded


def value_changes(have: Mapping[str, Any], want: Mapping[str, Any],
                  prefix: str = "") -> tuple[list[str], list[str], list[str]]:
    """(changed, added, removed) key paths from ``have`` to ``want``; mappings are compared key by key, anything else
    (lists included) as a whole."""
    changed: list[str] = []
    added = [_path(prefix, k) for k in sorted(set(want) - set(have), key=str)]
    removed = [_path(prefix, k) for k in sorted(set(have) - set(want), key=str)]
    for key in sorted(set(have) & set(want), key=str):
        old, new = have[key], want[key]
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            inner = value_changes(old, new, _path(prefix, key))
            changed += inner[0]
            added += inner[1]
            removed += inner[2]
        elif not same_value(old, new):
            changed.append(_path(prefix, key))
    return changed, added, removed


def same_value(a: Any, b: Any) -> bool:
    """Equal as helm stores values: numbers pass through a float64 (1 and 1.0 are one value, and an integer beyond
    2**53 comes back rounded), booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) == set(b) and all(same_value(a[k], b[k]) for k in a)
    return bool(a == b)


def _path(prefix: str, key: object) -> str:
    text = str(key)
    part = text if text and all(c.isalnum() or c in "-_" for c in text) else json.dumps(text)
    return f"{prefix}.{part}" if prefix else part


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:_SHOWN])
    return shown + (f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else "")
