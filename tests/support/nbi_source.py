"""OSM NBI v19's own code, loaded at test time from ``../shared/osm-v19`` (override: ``OSM_L2NET_OSM_SOURCE``) and
never copied into the project: the oracle the project's rules and the NBI double are held against.

``validation()`` is NBI's ``osm_nbi/validation.py`` as it is (its imports are jsonschema and the standard library).
``instance_topics()`` is NBI's ``osm_nbi/instance_topics.py``; its imports of the rest of NBI and of ``osm_common``
(not in shared, not on PyPI) are satisfied by STAND-INS defined here, named as such: only the names it imports, and
only what ``NsrTopic._format_additional_params`` (a static method that touches no db) needs of them works; the rest
raises. ``format_additional_params(...)`` calls the real method.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import sys
import types
import warnings
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

OSM_SOURCE = Path(os.environ.get("OSM_L2NET_OSM_SOURCE", REPO.parent / "shared" / "osm-v19"))
NBI = OSM_SOURCE / "nbi" / "osm_nbi"


def available() -> bool:
    return (NBI / "validation.py").is_file()


def require() -> Path:
    if not (NBI / "validation.py").is_file():
        pytest.fail(f"OSM NBI v19 source is not at {NBI} (set OSM_L2NET_OSM_SOURCE to the shared osm-v19 folder)")
    return NBI


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ inside shared/
    with warnings.catch_warnings():  # OSM's file has a pattern with an invalid escape ('\.'): its warning, not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        try:
            spec.loader.exec_module(module)
        finally:
            sys.dont_write_bytecode = dont_write
    return module


@functools.lru_cache(maxsize=1)
def validation() -> types.ModuleType:
    return _load("osm_nbi_v19_validation", require() / "validation.py")


class StandInEngineException(Exception):
    """STAND-IN for osm_nbi.base_topic.EngineException (message + http_code, 400 by default, as NBI's)."""

    def __init__(self, message: Any, http_code: HTTPStatus = HTTPStatus.BAD_REQUEST) -> None:
        self.http_code = http_code
        super().__init__(message)


def _stand_in_get_iterable(value: Any) -> Any:
    return () if value is None else value


def _stand_in_deep_get(target: Any, keys: Any) -> Any:
    for key in keys:
        if not isinstance(target, dict) or key not in target:
            return None
        target = target[key]
    return target


def _unavailable(*_: Any, **__: Any) -> Any:
    raise NotImplementedError("stand-in: not needed by the functions the tests call")


def _stand_in_modules() -> dict[str, types.ModuleType]:
    """Modules instance_topics.py imports, as STAND-INS (osm_nbi.validation is the real one)."""
    modules: dict[str, types.ModuleType] = {}

    def module(name: str, **attrs: Any) -> None:
        m = types.ModuleType(name, "STAND-IN for a module of OSM that is not in shared/osm-v19")
        m.__dict__.update(attrs)
        modules[name] = m

    module("osm_nbi", __path__=[])
    modules["osm_nbi.validation"] = validation()
    base_topic = type("BaseTopic", (), {"__init__": lambda self, db, fs, msg, auth: None,
                                        "__doc__": "STAND-IN for osm_nbi.base_topic.BaseTopic"})
    module("osm_nbi.base_topic", BaseTopic=base_topic, EngineException=StandInEngineException,
           get_iterable=_stand_in_get_iterable, deep_get=_stand_in_deep_get, increment_ip_mac=_unavailable,
           update_descriptor_usage_state=_unavailable)
    module("osm_nbi.utils", find_in_list=_unavailable, filter_in_list=_unavailable)
    module("osm_common", __path__=[])
    for sub, exc in (("dbbase", "DbException"), ("msgbase", "MsgException"), ("fsbase", "FsException")):
        module(f"osm_common.{sub}", **{exc: type(exc, (Exception,), {"__doc__": f"STAND-IN for {exc}"})})
    return modules


@functools.lru_cache(maxsize=1)
def instance_topics() -> types.ModuleType:
    path = require() / "instance_topics.py"
    stand_ins = _stand_in_modules()
    saved = {name: sys.modules.get(name) for name in stand_ins}
    sys.modules.update(stand_ins)
    try:
        return _load("osm_nbi_v19_instance_topics", path)
    finally:  # the stand-ins never leak into other tests' imports
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


def format_additional_params(request: dict[str, Any], member_vnf_index: str | None = None, *,
                             vdu_id: str | None = None, kdu_name: str | None = None,
                             descriptor: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """NBI's real ``NsrTopic._format_additional_params``; raises StandInEngineException where NBI answers 400."""
    method = instance_topics().NsrTopic._format_additional_params
    return method(request, member_vnf_index, vdu_id=vdu_id, kdu_name=kdu_name, descriptor=descriptor or {})


def format_additional_params_regexes() -> list[str]:
    """The patterns ``_format_additional_params`` passes to ``re.match``, read from its syntax tree."""
    tree = ast.parse((require() / "instance_topics.py").read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "_format_additional_params":
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "match"
                        and call.args and isinstance(call.args[0], ast.Constant)):
                    found.append(str(call.args[0].value))
    return found


def format_additional_params_forbidden_substrings() -> list[str]:
    """The ``"<s>" in k`` tests of ``_format_additional_params`` (NBI's '$' rule), read from its syntax tree."""
    tree = ast.parse((require() / "instance_topics.py").read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "_format_additional_params":
            for cmp in ast.walk(node):
                if (isinstance(cmp, ast.Compare) and isinstance(cmp.left, ast.Constant) and isinstance(cmp.ops[0], ast.In)
                        and isinstance(cmp.comparators[0], ast.Name) and cmp.comparators[0].id == "k"):
                    found.append(str(cmp.left.value))
    return found


@functools.lru_cache(maxsize=1)
def _ns_instantiate_validator() -> Any:
    import jsonschema  # type: ignore[import-untyped,unused-ignore]

    schema = validation().ns_instantiate
    return jsonschema.validators.validator_for(schema)(schema)  # as jsonschema.validate picks it, checked once


def nbi_verdict(body: dict[str, Any]) -> str | None:
    """What real NBI code says of an ns_instantiate body before it reads any descriptor: None (accepted) or the
    error (schema, 422: NBI's ns_instantiate with the validator class jsonschema.validate picks for it, without
    re-checking the schema on every call as validate_input does, and the first error it finds rather than the best
    match; additionalParamsForNs names, 400: NBI's own _format_additional_params)."""
    error = next(iter(_ns_instantiate_validator().iter_errors(body)), None)  # the verdict; the double's test
    if error is not None:                                                      # compares NBI's own texts
        return f"422 {error.message}"
    try:
        format_additional_params(body)
    except StandInEngineException as e:
        return f"400 {e}"
    return None
