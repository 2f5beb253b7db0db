"""``python -m osm_l2net.cli …`` is the ``osm-l2net`` command (for a checkout whose console script is not installed)."""

from osm_l2net.cli.main import main

main()
