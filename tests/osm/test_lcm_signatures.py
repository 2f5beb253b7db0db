"""The connector overrides exactly OSM Release NINETEEN's signatures (shared/reference/osm.md, parsed from its
verbatim text), plus ``**kwargs`` (LCM passes ``vca_id``, ``namespace``); the helm 3 connector test double has them too."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

from osm_l2net.osm.lcm import make_connector_class
from tests.conftest import REPO
from tests.support.osm_lcm_double import K8sHelm3ConnectorDouble

REFERENCE = REPO.parent / "shared" / "reference" / "osm.md"
# A verbatim copy, used only when the shared reference is not beside the repository.
FALLBACK = '''
async def install(self, cluster_uuid: str, kdu_model: str, kdu_instance: str, atomic: bool = True, timeout: float = 300, params: dict = None, db_dict: dict = None, kdu_name: str = None, namespace: str = None)
async def uninstall(self, cluster_uuid: str, kdu_instance: str)
- `K8sHelm3Connector(fs, db, kubectl_command="/usr/bin/kubectl", helm_command="/usr/bin/helm3", log=None, on_update_db=None)`.
'''
Param = tuple[str, str, Any, str]  # (name, kind, default, annotation base)


def reference_text() -> str:
    return REFERENCE.read_text(encoding="utf-8") if REFERENCE.is_file() else FALLBACK


def _base(annotation: str) -> str:
    """``dict[str, Any] | None`` and ``dict`` compare equal: OSM writes ``params: dict = None``, mypy --strict needs
    the explicit Optional and type arguments."""
    parts = [p.strip() for p in annotation.split("|") if p.strip() not in ("None", "")]
    return re.sub(r"\[.*\]$", "", parts[0]) if parts else ""


def reference_signature(name: str) -> list[Param]:
    line = next(x for x in reference_text().splitlines() if x.strip().startswith(f"async def {name}("))
    node = ast.parse(line.strip().rstrip(":") + ":\n    ...").body[0]
    assert isinstance(node, ast.AsyncFunctionDef)
    args = node.args.args
    defaults = [inspect.Parameter.empty] * (len(args) - len(node.args.defaults)) + [
        ast.literal_eval(d) for d in node.args.defaults]
    return [(a.arg, "POSITIONAL_OR_KEYWORD", d, _base(ast.unparse(a.annotation)) if a.annotation else "")
            for a, d in zip(args, defaults, strict=True)]


def actual_signature(fn: Callable[..., Any]) -> tuple[list[Param], list[str]]:
    params = list(inspect.signature(fn).parameters.values())
    named = [(p.name, p.kind.name, p.default, _base(str(p.annotation)) if p.annotation is not p.empty else "")
             for p in params if p.kind is not p.VAR_KEYWORD]
    return named, [p.kind.name for p in params if p.kind is p.VAR_KEYWORD]


CONNECTOR = make_connector_class(K8sHelm3ConnectorDouble)


@pytest.mark.parametrize("cls", [CONNECTOR, K8sHelm3ConnectorDouble], ids=["connector", "helm3-double"])
@pytest.mark.parametrize("method", ["install", "uninstall"])
def test_overridden_methods_have_osm_v19_signatures_plus_kwargs(cls: type, method: str) -> None:
    expected = reference_signature(method)
    named, var_keyword = actual_signature(getattr(cls, method))
    assert named == expected, f"{cls.__name__}.{method} differs from OSM's verbatim signature"
    assert var_keyword == ["VAR_KEYWORD"], "LCM passes extra keyword arguments (vca_id=..., namespace=...)"
    assert inspect.iscoroutinefunction(getattr(cls, method))


def test_the_connector_overrides_only_install_and_uninstall() -> None:
    own = {name for name, value in vars(CONNECTOR).items() if callable(value) and not name.startswith("__")}
    assert own == {"install", "uninstall"}, "anything else would silently change LCM's behaviour"
    assert "__init__" not in vars(CONNECTOR), "LCM constructs it with K8sHelm3Connector's own arguments"
    assert issubclass(CONNECTOR, K8sHelm3ConnectorDouble)


def test_the_double_has_the_helm3_connector_constructor() -> None:
    line = next(x for x in reference_text().splitlines() if "`K8sHelm3Connector(fs, db," in x)
    call = ast.parse(re.search(r"`(K8sHelm3Connector\(.*?\))`", line).group(1)).body[0]  # type: ignore[union-attr]
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
    expected = [a.id for a in call.value.args if isinstance(a, ast.Name)] + [k.arg for k in call.value.keywords]
    defaults = {str(k.arg): ast.literal_eval(k.value) for k in call.value.keywords}
    params = inspect.signature(K8sHelm3ConnectorDouble.__init__).parameters
    assert [p for p in params if p != "self"] == expected
    assert {k: params[k].default for k in defaults} == defaults


def test_the_reference_is_read_when_present() -> None:
    if not REFERENCE.is_file():
        pytest.skip(f"shared reference not beside the repository ({REFERENCE}); the fallback copy was used")
    assert reference_signature("install")[0][0] == "self" and len(reference_signature("install")) == 10
