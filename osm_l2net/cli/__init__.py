"""The ``osm-l2net`` command (click); the only package that imports click."""
