"""TEST STAND-IN for ``osm_common.dbbase`` (see the package docstring): import-time names only."""

from typing import Any


class DbException(Exception):
    """As osm_common's: a message and an HTTP code (404 not found, 409 conflict)."""

    def __init__(self, message: str, http_code: int = 404) -> None:
        super().__init__(f"database exception {message}")
        self.http_code = http_code


class DbBase:
    """Not usable: the helm 3 connector never opens a database itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("osm_common stand-in: DbBase is not implemented (not used in helm paths)")


class Encryption:
    """Not usable: only N2VC's VCA store (juju) encrypts, never a helm path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("osm_common stand-in: Encryption is not implemented (not used in helm paths)")
