"""The tools the tests need, and the rule for a missing one: it FAILS under CI (``CI`` set, as CI runs), and skips
elsewhere with a reason that says how to get it.

Where the real helm/kubectl binaries are: $OSM_L2NET_HELM / $OSM_L2NET_KUBECTL (a path, or a name looked up on PATH),
else <repo>/.tools/bin, else PATH. Every path returned is absolute and executable.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP = "./scripts/setup"
# the tools and where they come from (Debian packages are installed by ./scripts/setup, helm into .tools/bin)
SOURCES = {"helm": "./scripts/setup (or ./scripts/fetch-helm) puts helm in .tools/bin",
           "kubectl": "./scripts/fetch-helm puts kubectl in .tools/bin (or set OSM_L2NET_KUBECTL)",
           "dot": "Debian package graphviz", "nginx": "Debian package nginx", "nft": "Debian package nftables",
           "curl": "Debian package curl", "ping": "Debian package iputils-ping", "traceroute": "Debian package traceroute",
           "ip": "Debian package iproute2", "tc": "Debian package iproute2", "busybox": "Debian package busybox",
           "arping": "Debian package iputils-arping"}
# skips that are a mode the run did not ask for (not a missing tool): allowed under CI too
OPT_IN = ("opt-in", "OSM_L2NET_E2E_KUBECONFIG", "emulator's test hooks")


def in_ci() -> bool:
    """CI sets ``CI=true`` (so do GitHub Actions, GitLab CI and most others)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_tool(name: str) -> str | None:
    """The absolute path of an executable ``name``, or None."""
    explicit = os.environ.get(f"OSM_L2NET_{name.upper()}")
    if explicit:
        return executable(explicit)
    local = REPO_ROOT / ".tools" / "bin" / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return executable(name)


def executable(path_or_name: str) -> str | None:
    """A relative name (``helm``) is looked up on PATH, as a shell would; an absolute path must be executable."""
    found = shutil.which(path_or_name)
    return os.path.abspath(found) if found else None  # not resolved: busybox-style tools dispatch on their name


def missing(what: str, how: str) -> None:
    """A test cannot run because ``what`` is missing: fail under CI, skip (saying ``how`` to get it) elsewhere."""
    message = f"{what}: {how}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing requirement fails the run instead of skipping)", pytrace=False)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """``find_tool(name)``, or fail (CI) / skip (elsewhere) naming where it was looked for and how to get it."""
    found = find_tool(name)
    if found is None:
        env = f"OSM_L2NET_{name.upper()}"
        where = f"${env}={os.environ[env]!r} is not an executable" if os.environ.get(env) else \
            f"not in $OSM_L2NET_{name.upper()}, {REPO_ROOT / '.tools' / 'bin'} or PATH"
        missing(f"{name} not found ({where})", f"run {SETUP} ({SOURCES.get(name, 'install it')})")
    assert found is not None
    return found


# Skips that say "this runs in the other Python tier of the same CI run" (scripts/test runs both): the real N2VC
# imports only on 3.10, kmock only on 3.11.
OTHER_TIER = ("the 'as OSM runs' tier needs Python 3.10", "the in-process Kubernetes API emulator needs kmock==0.8",
              "import-linter runs in the 3.11 tier")


def skip_allowed_under_ci(reason: str) -> bool:
    return any(marker in reason for marker in OPT_IN + OTHER_TIER)


def models_dir() -> Path:
    """The shared conformance models (CRDs, validators): $OSM_L2NET_MODELS, else <repo>/../shared/models."""
    return Path(os.environ.get("OSM_L2NET_MODELS") or REPO_ROOT.parent / "shared" / "models")
