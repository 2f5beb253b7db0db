"""TEST STAND-IN for ``osm_common.dbmongo`` (see the package docstring): import-time names only."""

from osm_common.dbbase import DbBase, DbException

__all__ = ["DbException", "DbMongo"]


class DbMongo(DbBase):
    """Not usable (``DbBase`` raises): the helm 3 connector is given the LCM db test double instead."""
