"""Which values differ between a deployed release and its plan (deploy.converge): key paths only, as helm stores
values (numbers through a float64, booleans apart), JSON-encoded as the runner sends them."""

from __future__ import annotations

from osm_l2net.deploy.converge import chart_id, same_value, sent_values, value_changes, values_reasons


def test_key_paths_by_kind_of_change() -> None:
    have = {"image": {"tag": "1.0", "repo": "x"}, "old": 1, "list": [1, 2], "same": {"a": None}}
    want = {"image": {"tag": "1.1", "repo": "x", "pull": "Always"}, "list": [1, 2, 3], "same": {"a": None}}
    assert value_changes(have, want) == (["image.tag", "list"], ["image.pull"], ["old"])


def test_reasons_name_paths_never_values() -> None:
    reasons = values_reasons({"auth": {"password": "old-secret"}}, {"auth": {"password": "new-secret"}, "b.c": 1})
    assert reasons == ['values changed: auth.password', 'values added: "b.c"']
    assert not any("secret" in r for r in reasons)


def test_helm_storage_is_not_a_change() -> None:
    big = 2**60 + 1
    assert values_reasons({"n": float(big), "f": 1, "e": {}, "l": []}, {"n": big, "f": 1.0, "e": {}, "l": []}) == []
    assert not same_value(True, 1) and not same_value(0, False) and same_value([1.0, {"a": 2}], [1, {"a": 2.0}])


def test_values_are_compared_as_sent_and_many_paths_stay_one_line() -> None:
    assert sent_values({"t": ("a", "b")}) == {"t": ["a", "b"]}
    reasons = values_reasons({}, {f"k{i}": i for i in range(12)})
    assert reasons == ["values added: k0, k1, k10, k11, k2, k3, k4, k5 and 4 more"]


def test_chart_id_as_helm_list_prints_it() -> None:
    assert chart_id({"name": "cdn-server", "version": "1.0.0"}) == "cdn-server-1.0.0"
    assert chart_id({"name": "cdn-server"}) == ""
