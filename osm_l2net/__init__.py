"""osm-l2net: ETSI OSM network-service virtual links as isolated L2 networks for KNFs on Kubernetes.

Public API::

    import osm_l2net
    plan = osm_l2net.plan(["descriptors/"], ns_name="vod-service-deployment")
"""

from osm_l2net.api import load, plan, validate, write_plan_files
from osm_l2net.errors import DescriptorError, InputError, L2NetError, Problem
from osm_l2net.plan import Plan

__all__ = ["DescriptorError", "InputError", "L2NetError", "Plan", "Problem", "load", "plan", "validate",
           "write_plan_files"]
