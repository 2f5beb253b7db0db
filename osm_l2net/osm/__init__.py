"""ETSI OSM integration: the LCM connector (:mod:`osm_l2net.osm.lcm`) and the NBI workflow (:mod:`osm_l2net.osm.nbi`).

Nothing is imported here on purpose: LCM imports the connector module at start-up and its import time matters;
OSM's own packages (``osm_lcm``, ``n2vc``) are never a dependency and are imported lazily.
"""
