"""``python -m osm_l2net.osm.lcm [LCM args]``: OSM has no plugin mechanism for KDU connectors, so this replaces the
module-global ``osm_lcm.ns.K8sHelm3Connector`` with the connector class, then starts LCM exactly as
``python3 -m osm_lcm.lcm`` does (no LCM file is edited). See docs/lcm-integration.md."""

from __future__ import annotations

import importlib
import logging
import sys
import threading

from osm_l2net.core.errors import L2NetError
from osm_l2net.osm.lcm import OsmNotInstalled, make_connector_class
from osm_l2net.osm.lcm_settings import ConnectorSettings

LCM_NS_MODULE = "osm_lcm.ns"
LCM_MAIN_MODULE = "osm_lcm.lcm"
_log = logging.getLogger("osm_l2net.osm.lcm")


def install_into_lcm() -> type:
    """Replace ``osm_lcm.ns.K8sHelm3Connector`` (the name ``NsLcm`` instantiates) with the connector class."""
    try:
        ns_module = importlib.import_module(LCM_NS_MODULE)
    except ModuleNotFoundError as e:
        if e.name is not None and LCM_NS_MODULE.startswith(e.name):
            raise OsmNotInstalled(f"OSM LCM is not installed here (cannot import {LCM_NS_MODULE}): run "
                                  "'python -m osm_l2net.osm.lcm' inside OSM's LCM image (see docs/lcm-integration.md)") from e
        raise
    current = getattr(ns_module, "K8sHelm3Connector", None)
    if not isinstance(current, type):
        raise OsmNotInstalled(f"{LCM_NS_MODULE} has no K8sHelm3Connector class: this LCM release is not supported")
    if current.__name__ == "L2NetK8sHelm3Connector":
        return current
    patched = make_connector_class(current)
    setattr(ns_module, "K8sHelm3Connector", patched)  # noqa: B010 (a module we do not type)
    return patched


def _warm_up() -> None:
    """Import the planner and the Kubernetes client in the background while LCM starts, so that the first NS does not
    wait for them (about a second); the connector module itself stays light to import."""
    def run() -> None:
        for name in ("osm_l2net.core.planner", "osm_l2net.osm.networks"):
            try:
                importlib.import_module(name)
            except Exception as e:  # the first install will raise it where LCM reports it
                _log.warning("osm-l2net: could not pre-load %s: %s", name, e)

    threading.Thread(target=run, name="osm-l2net-warm-up", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """``python -m osm_l2net.osm.lcm [LCM's arguments]``: LCM with the connector, started as ``python3 -m osm_lcm.lcm``."""
    import runpy

    args = sys.argv[1:] if argv is None else argv
    try:
        ConnectorSettings.from_env()  # a bad setting stops LCM now, not at the first KDU
        patched = install_into_lcm()
    except L2NetError as e:
        print(f"osm-l2net: {e}", file=sys.stderr)
        raise SystemExit(e.exit_code) from None
    _log.info("osm-l2net: LCM's helm 3 connector is %s.%s", patched.__module__, patched.__qualname__)
    _warm_up()
    sys.argv = [LCM_MAIN_MODULE, *args]
    runpy.run_module(LCM_MAIN_MODULE, run_name="__main__", alter_sys=True)
