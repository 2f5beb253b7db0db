"""The NBI double's rules held against NBI v19's real code (shared/osm-v19, loaded by tests/support/nbi_source.py) so
that they cannot drift: the schema it serves is NBI's, its name patterns are the ones in NBI's syntax tree, and the
same generated bodies get the same verdicts, texts and stored encodings from both."""

from __future__ import annotations

import copy
import json
from typing import Any

from osm_l2net.core.params import PARAM_NAME
from tests.conftest import MODELS
from tests.osm.nbi_bodies import BASE, REQUIRED, random_mutations, systematic
from tests.support import nbi_double, nbi_source

SCHEMA_FILE = MODELS / "osm-nbi" / "ns_instantiate.schema.json"
BODIES: list[tuple[str, Any]] = [(what, {**REQUIRED, **c}) for what, c in
                                 [*systematic(), *random_mutations(200, seed=5)]]


def test_the_schema_the_double_serves_is_nbis_ns_instantiate() -> None:
    served = json.loads(SCHEMA_FILE.read_text())
    assert served == json.loads(json.dumps(nbi_source.validation().ns_instantiate))


def test_the_name_rules_are_the_patterns_in_nbis_code() -> None:
    assert nbi_source.format_additional_params_regexes() == [nbi_double.PARAM_NAME_PATTERN] == [PARAM_NAME.pattern]
    assert nbi_source.format_additional_params_forbidden_substrings() == list(nbi_double.FORBIDDEN_IN_PARAM_NAMES)


def test_schema_errors_read_as_nbis_validate_input_writes_them() -> None:
    v = nbi_source.validation()
    validator = nbi_double.OsmNbiDouble([], SCHEMA_FILE).validator
    wrong, refused = [], 0
    for what, body in BODIES[::8]:  # validate_input re-checks the schema on every call (slow): every 8th body
        try:
            v.validate_input(copy.deepcopy(body), v.ns_instantiate)
            theirs = None
        except v.ValidationError as e:
            theirs = str(e)
        refused += theirs is not None
        ours = nbi_double.schema_error(validator, copy.deepcopy(body))
        if ours != theirs:
            wrong.append(f"{what}: NBI {theirs!r}; double {ours!r}")
    assert not wrong, "\n".join(wrong[:10])
    assert refused > 150


LEVELS: list[tuple[str | None, dict[str, str]]] = [
    (None, {}), ("cdn-server", {}), ("cdn-server", {"vdu_id": "v1"}), ("cdn-server", {"vdu_id": "v2"}),
    ("cdn-server", {"kdu_name": "cdn-server"}), ("cdn-server", {"kdu_name": "other"}), ("router-firewall", {}),
    ("router-firewall", {"kdu_name": "router-firewall"}), ("not-in-the-nsd", {}),
]


def _run(function: Any, error: type[Exception], body: dict[str, Any], member: str | None,
         kwargs: dict[str, str]) -> tuple[Any, ...]:
    request = copy.deepcopy(body)
    try:
        return ("ok", function(request, member, **kwargs), request)  # the request: NBI encodes VDU/KDU params in place
    except error as e:
        return ("refused", str(e))


def test_the_double_formats_additional_params_as_nbi_does() -> None:
    """Same verdict, same message, same stored value (the '!!yaml' dumps, a KDU's JSON text), same request after."""
    real = nbi_source.format_additional_params
    wrong, refused = [], 0
    for what, body in BODIES:
        if str(nbi_source.nbi_verdict(copy.deepcopy(body))).startswith("422"):
            continue  # the schema stops NBI before any of this runs
        for member, kwargs in LEVELS:
            theirs = _run(real, nbi_source.StandInEngineException, body, member, kwargs)
            ours = _run(nbi_double.format_additional_params, nbi_double.ParamNameError, body, member, kwargs)
            refused += theirs[0] == "refused"
            if theirs != ours:
                wrong.append(f"{what} at {member} {kwargs}:\n  NBI    {theirs}\n  double {ours}")
    assert not wrong, f"{len(wrong)} differ:\n" + "\n".join(wrong[:8])
    assert refused > 20


def test_the_base_body_is_stored_as_nbi_stores_it() -> None:
    """The KDU params of the base body: JSON text whose structured values are '!!yaml' dumps, as LCM reads them."""
    params, entry = nbi_double.format_additional_params(copy.deepcopy({**REQUIRED, **BASE}), "cdn-server",
                                                        kdu_name="cdn-server")
    assert json.loads(params) == {"replicaCount": 2, "x-y": "!!yaml - 1\n"} and entry["kdu_name"] == "cdn-server"
