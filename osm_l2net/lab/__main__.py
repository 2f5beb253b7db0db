"""``python -m osm_l2net.lab …`` runs the lab's command group on its own (``osm-l2net lab …`` is the same)."""

from osm_l2net.lab.cli import lab

lab()
