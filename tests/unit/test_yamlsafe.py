"""The bounded YAML reader, the package unpacker's limits and clean-up, and the one exit-code table."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from osm_l2net.core import yamlsafe
from osm_l2net.core.errors import (
    EXIT_ACCESS,
    EXIT_CONFLICT,
    EXIT_DEADLINE,
    EXIT_FAILURE,
    EXIT_INPUT,
    AccessDenied,
    ClusterError,
    ConflictError,
    InputError,
    Problem,
    ToolError,
    WaitTimeout,
    quote,
)
from osm_l2net.core.params import parse_params
from osm_l2net.core.yamlsafe import YamlInputError, YamlLimits
from osm_l2net.local.packages import load_descriptors


def bomb(levels: int, width: int = 9) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_plain_documents_read_as_with_the_safe_loader() -> None:
    text = "a: [1, 2.5, null, true, '3']\nb: {c: d}\n---\n---\nx: 1\n"
    assert yamlsafe.load_all(text) == [d for d in yaml.safe_load_all(text) if d is not None]
    assert yamlsafe.load("") is None and yamlsafe.load("3") == 3
    with pytest.raises(YamlInputError, match="more than one document"):
        yamlsafe.load("a: 1\n---\nb: 2\n")


def test_anchors_and_merge_keys_are_allowed_within_the_expansion_limit() -> None:
    data = yamlsafe.load("base: &b {x: 1, y: 2}\nmore: {<<: *b, y: 3}\nlist: [*b, *b]\n")
    assert data["more"] == {"x": 1, "y": 3} and data["list"] == [{"x": 1, "y": 2}] * 2
    assert yamlsafe.load(bomb(3))["l2"][0][0] == ["lol"] * 9  # 729 strings: fine


def test_an_alias_bomb_is_refused_at_the_level_that_passes_the_limit() -> None:
    limits = YamlLimits(max_bytes=10_000)  # expansion limit 20,000
    with pytest.raises(YamlInputError) as e:
        yamlsafe.load(bomb(9), limits)
    # l0 is 1 + 9 * (1 + 3) = 37 characters-and-nodes, l1 334, l2 3,007 (under), l3 27,064 (over): line 4
    assert e.value.where == "line 4, column 5" and "20,000" in e.value.message
    assert "OSM_L2NET_YAML_MAX_EXPANDED" in e.value.expected


def test_aliases_of_collections_are_bounded_by_what_they_add() -> None:
    # a 300-byte config like this one took 15 s and 741 MB of `plan` when only the written-out size was bounded
    with pytest.raises(YamlInputError, match="has aliases that add more than 1,000,000") as e:
        yamlsafe.load(bomb(12, 4))
    assert "OSM_L2NET_YAML_MAX_ALIAS_EXPANSION" in e.value.expected
    assert len(yamlsafe.load(bomb(5, 10))["l4"]) == 10  # 10 × (41 + 411 + 4,111 + 41,111) = 457,740 added: allowed
    with pytest.raises(YamlInputError, match="add more than 1,000 "):
        yamlsafe.load(bomb(5, 10), YamlLimits(max_alias_expansion=1000))


def test_scalar_aliases_count_their_length() -> None:
    text = f"a: &a {'x' * 1000}\nb: [{', '.join(['*a'] * 30)}]\n"
    assert len(yamlsafe.load(text)["b"]) == 30
    with pytest.raises(YamlInputError, match="aliases written out"):
        yamlsafe.load(text, YamlLimits(max_bytes=10_000))


@pytest.mark.parametrize("text", ["[" * 101 + "]" * 101, "{a: " * 101 + "1" + "}" * 101,
                                  "".join("  " * i + "k:\n" for i in range(101))])
def test_nesting_past_the_depth_limit_is_refused_with_its_line(text: str) -> None:
    with pytest.raises(YamlInputError, match="nests deeper than 100 levels") as e:
        yamlsafe.load(text)
    assert e.value.where.startswith("line ")
    assert yamlsafe.measure(yaml.compose("[" * 100 + "]" * 100))[0] == 100


def test_depth_through_an_alias_counts_the_aliased_subtree() -> None:
    deep = "[" * 60 + "]" * 60
    assert yamlsafe.load(f"a: &a {deep}\n")  # 61 levels
    with pytest.raises(YamlInputError, match="nests deeper"):
        yamlsafe.load(f"a: &a {deep}\nb: {'[' * 50}*a{']' * 50}\n")


def test_size_encoding_and_syntax_errors_are_located() -> None:
    with pytest.raises(YamlInputError, match="more than the limit of 10 bytes"):
        yamlsafe.load("a: 123456789\n", YamlLimits(max_bytes=10))
    with pytest.raises(YamlInputError, match=r"not UTF-8 text \(byte 3"):
        yamlsafe.load(b"a: \xff\n")
    with pytest.raises(YamlInputError, match="U\\+0007") as e:
        yamlsafe.load("a: 1\nb: \x07\n")
    assert e.value.where == "line 2, column 4"
    with pytest.raises(YamlInputError, match="could not determine a constructor"):
        yamlsafe.load("!!python/object:os.system ls")


def test_limits_come_from_the_environment_and_bad_values_name_the_variable() -> None:
    limits = yamlsafe.limits_from({"OSM_L2NET_YAML_MAX_DEPTH": "7", "OSM_L2NET_YAML_MAX_BYTES": "1_000"})
    assert limits == YamlLimits(max_bytes=1000, max_depth=7) and limits.expanded_limit == 2000
    assert yamlsafe.limits_from({"OSM_L2NET_YAML_MAX_ALIAS_EXPANSION": "5"}).max_alias_expansion == 5
    with pytest.raises(InputError, match="OSM_L2NET_YAML_MAX_DEPTH: '-1' is not a whole number above 0"):
        yamlsafe.limits_from({"OSM_L2NET_YAML_MAX_DEPTH": "-1"})


def test_messages_quote_values_cut_short() -> None:
    problem = Problem("f.yaml", "nsd[0]." + "k" * 5000, f"'{'v' * 100_000}' is not an IP address", "an address")
    assert len(str(problem)) < 1200 and str(problem).endswith("is not an IP address (expected an address)")
    assert "characters cut" in problem.message and len(problem.path) < 400
    assert quote("x" * 500, 10) == "'xxxxxxxxxx…' (500 characters)" and quote("ok") == "'ok'"


def test_a_yaml_string_parameter_that_is_not_yaml_is_a_located_params_error() -> None:
    config = {"additionalParamsForVnf": [{"member-vnf-index": "a", "additionalParams": {"v": "!!yaml [[["}}]}
    with pytest.raises(InputError, match=r"additionalParamsForVnf\[0\]\.additionalParams\.v: is a '!!yaml' string that is not YAML \(line 2"):
        parse_params(config)


# --- archives ------------------------------------------------------------------------------------------------------

def archive(path: Path, members: list[tuple[str, bytes]], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "osm-l2net" / "packages"


@pytest.mark.parametrize(("variable", "value", "members", "message"), [
    ("OSM_L2NET_PACKAGE_MAX_MEMBERS", "3", [(f"p/f{i}", b"") for i in range(5)], "more than 3 members"),
    ("OSM_L2NET_PACKAGE_MAX_BYTES", "20000", [("p/big", b"a" * 30_000)], "unpacks to more than 20,000 bytes"),
    ("OSM_L2NET_PACKAGE_MAX_RATIO", "2", [("p/zeros", b"\0" * 6 * 2**20)], "more than 2 times"),
])
def test_archive_limits_refuse_and_leave_no_partial_unpack(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                           variable: str, value: str, members: list[tuple[str, bytes]],
                                                           message: str) -> None:
    monkeypatch.setenv(variable, value)
    path = archive(tmp_path / "p.tar.gz", members)
    with pytest.raises(InputError, match=message):
        load_descriptors([path])
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE])
def test_links_and_special_files_are_refused_by_name(tmp_path: Path, cache: Path, kind: bytes) -> None:
    path = tmp_path / "p.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        good = tarfile.TarInfo("p/p.yaml")
        good.size = 8
        tar.addfile(good, io.BytesIO(b"nsd: {}\n"))
        odd = tarfile.TarInfo("p/odd")
        odd.type, odd.linkname = kind, "p/p.yaml"
        tar.addfile(odd)
    with pytest.raises(InputError, match="member 'p/odd': is a "):
        load_descriptors([path])
    assert list(cache.iterdir()) == []


def test_compression_is_read_from_the_bytes_not_the_name(tmp_path: Path, cache: Path) -> None:
    nsd = (Path(__file__).resolve().parents[2] / "descriptors" / "vod_service_ns" / "vod_service_nsd.yaml").read_bytes()
    for mode in ("w", "w:bz2", "w:xz"):
        path = archive(tmp_path / f"{mode[-2:]}.tar.gz", [("vod/vod.yaml", nsd)], mode)
        assert load_descriptors([path]).nsd.id == "vod_service_ns"
    assert sorted(p.name for p in cache.iterdir() if not p.name.isalnum()) == []


def test_a_partial_unpack_left_by_a_killed_run_is_removed_by_the_next(tmp_path: Path, cache: Path) -> None:
    code = ("import os, sys; from osm_l2net.local import scratch\n"
            "work = scratch.ScratchDir(sys.argv[1], '.partial-'); (work.path / 'half').write_text('x')\n"
            "print(work.path, flush=True); os.kill(os.getpid(), 9)\n")
    cache.mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-c", code, str(cache)], capture_output=True, text=True, check=False)
    left = Path(proc.stdout.strip())
    assert proc.returncode == -9 and left.is_dir()
    os.utime(left, (0, 0))  # older than scratch.MIN_AGE
    path = archive(tmp_path / "p.tar.gz", [("p/x.txt", b"x")])
    with pytest.raises(InputError, match=r"holds no \.yaml"):
        load_descriptors([path])
    assert not left.exists() and all(p.name.isalnum() for p in cache.iterdir())


# --- the exit-code table -------------------------------------------------------------------------------------------

def test_one_code_per_kind_of_failure_whichever_adapter() -> None:
    from kubernetes.client.exceptions import ApiException

    from osm_l2net.helm.runner import _tool_error
    from osm_l2net.kube.cluster import to_error

    assert (InputError(Problem("f", "", "m")).exit_code, ClusterError("x").exit_code, ConflictError("x").exit_code,
            WaitTimeout("x").exit_code) == (EXIT_INPUT, EXIT_FAILURE, EXIT_CONFLICT, EXIT_DEADLINE)
    for status in (401, 403):
        kube = to_error(ApiException(status=status, reason="Refused"), "create L2Network")
        assert isinstance(kube, AccessDenied) and kube.exit_code == EXIT_ACCESS
    for stderr in ('Error: secrets is forbidden: User "u" cannot list resource "secrets"',
                   "Error: Kubernetes cluster unreachable: the server has asked for the client to provide credentials",
                   "Error: query: failed to query with labels: Unauthorized"):
        helm = _tool_error(["helm", "install"], 1, stderr)
        assert isinstance(helm, ToolError) and helm.exit_code == EXIT_ACCESS, stderr
    admission = _tool_error(["helm"], 1, 'pods "p" is forbidden: violates PodSecurity "restricted:latest"')
    assert admission.exit_code == EXIT_FAILURE, "an admission refusal is not a credential problem"


def test_nbi_refusals_are_the_same_code() -> None:
    import requests

    from osm_l2net.osm.nbi import _error

    for status in (401, 403):
        response = requests.Response()
        response.status_code, response._content = status, b'{"detail": "no"}'
        assert _error(response, "log in").exit_code == EXIT_ACCESS
