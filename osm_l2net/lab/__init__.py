"""The local lab: a Plan realised with real kernel networking on one Linux host, and the PoC's scenario.

    from osm_l2net.lab import Lab, load_profile_file
    lab = Lab("cdn")
    lab.up(plan, load_profile_file("examples/cdn_vod/lab.yaml"))
    ...
    lab.down()
"""

from osm_l2net.lab.engine import Lab
from osm_l2net.lab.profile import Profile, load_profile
from osm_l2net.lab.spec import LabSpec, build_spec

__all__ = ["Lab", "LabSpec", "Profile", "build_spec", "load_profile"]
