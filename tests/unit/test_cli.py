"""The ``osm-l2net`` command: output formats, exit codes, files written, and no traceback on bad input."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from osm_l2net.cli.main import cli
from osm_l2net.core.plan import Plan
from tests.conftest import CDN_PACKAGES, MODELS, REPO
from tests.support.tools import in_ci

BAD = MODELS / "examples" / "bad"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_plan_json_is_the_documented_schema() -> None:
    code, out, _ = invoke("plan", *CDN_PACKAGES, "--ns-name", "vod-service-deployment", "-o", "json")
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == "osm-l2net.etsi.org/plan/v1"
    assert [n["cidr"] for n in data["networks"]] == ["10.0.1.0/24", "10.0.2.0/24"]
    assert {k["memberVnfIndex"]: k["routes"] for k in data["kdus"]}["cdn-server"] == [
        {"to": "10.0.2.0/24", "via": "10.0.1.1", "dev": "net1"}]


def test_plan_yaml_and_table() -> None:
    code, out, _ = invoke("plan", *CDN_PACKAGES, "-o", "yaml", "--provider", "multus", "-n", "vod")
    assert code == 0 and yaml.safe_load(out)["networks"][0]["manifest"]["kind"] == "NetworkAttachmentDefinition"
    code, out, _ = invoke("plan", *CDN_PACKAGES)
    assert code == 0
    assert "10.0.2.0/24 via 10.0.1.1" in out and "router-firewall*(10.0.1.1)" in out


def test_out_dir_writes_one_file_per_network_and_kdu_privately(tmp_path: Path) -> None:
    code, _, err = invoke("plan", *CDN_PACKAGES, "--out-dir", str(tmp_path / "out"))
    assert code == 0 and "wrote 6 files" in err
    nets = sorted((tmp_path / "out" / "networks").iterdir())
    values = sorted((tmp_path / "out" / "values").iterdir())
    assert len(nets) == 2 and len(values) == 3
    assert yaml.safe_load(nets[0].read_text())["kind"] == "L2Network"
    for f in nets + values:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600


def test_config_inline_and_file(tmp_path: Path) -> None:
    inline = "{vld: [{name: my-first-osm-net, ip-profile: {subnet-address: 10.7.0.0/24}}]}"
    code, _, err = invoke("plan", *CDN_PACKAGES, "--config", inline, "-o", "json")
    assert code == 2 and "outside the link's cidr 10.7.0.0/24" in err  # the pinned 10.0.1.x addresses no longer fit
    conf = tmp_path / "params.yaml"
    conf.write_text("vld: [{name: ghost}]\n")
    code, _, err = invoke("plan", *CDN_PACKAGES, "--config", str(conf))
    assert code == 2 and f"{conf}: vld[0].name: 'ghost' matches no VLD" in err
    code, _, err = invoke("plan", *CDN_PACKAGES, "--config", "[1, 2]")
    assert code == 2 and "expected a YAML mapping" in err


def test_validate_ok_warning_and_broken() -> None:
    code, out, _ = invoke("validate", *CDN_PACKAGES)
    assert code == 0 and "valid" in out
    code, out, _ = invoke("validate", str(BAD / "warn_nsd_ip_outside_cidr.yaml"), str(MODELS / "examples" / "l2net_knf_vnfd.yaml"))
    assert code == 2 and "outside the link's cidr" in out  # OSM only warns; here it cannot be planned
    code, out, _ = invoke("validate", str(BAD / "nsd_vl_ref.yaml"), str(MODELS / "examples" / "l2net_knf_vnfd.yaml"), "-o", "json")
    data = json.loads(out)
    assert code == 2 and data["valid"] is False
    assert data["problems"][0]["path"].startswith("nsd[0].df[0].vnf-profile[0]")


def test_graph_dot_and_svg(tmp_path: Path) -> None:
    code, out, _ = invoke("graph", *CDN_PACKAGES, "--format", "dot")
    assert code == 0 and out.startswith("digraph ns {") and "rankdir=TB" in out
    if shutil.which("dot") is None:
        assert not in_ci(), "graphviz's dot is missing under CI: ./scripts/setup installs it (Debian package graphviz)"
        code, _, err = invoke("graph", *CDN_PACKAGES, "--format", "svg", "--out", str(tmp_path / "t.svg"))
        assert code == 2 and "apt-get install graphviz" in err
    else:
        code, _, _ = invoke("graph", *CDN_PACKAGES, "--format", "svg", "--out", str(tmp_path / "t.svg"))
        assert code == 0 and "<svg" in (tmp_path / "t.svg").read_text()


@pytest.mark.parametrize("args", [
    ["validate", str(BAD / "vnfd_unknown_field.yaml")],
    ["plan", str(BAD / "nsd_cidr.yaml"), str(MODELS / "examples" / "l2net_knf_vnfd.yaml")],
    ["plan", str(REPO / "pyproject.toml")],
])
def test_the_real_command_never_prints_a_traceback(args: list[str]) -> None:
    exe = Path(sys.executable).with_name("osm-l2net")
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.startswith("error: ") and args[1] in done.stderr


def test_internal_errors_are_one_line_with_exit_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from osm_l2net import api
    from osm_l2net.cli import main as cli_module
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(api, "plan", boom)
    with pytest.raises(SystemExit) as exit_info:
        cli_module.main(["plan", *CDN_PACKAGES])
    assert exit_info.value.code == 1
    assert "internal error: RuntimeError: kaboom" in capsys.readouterr().err


def test_validate_json_carries_the_planners_problems_too() -> None:
    """Problems only the planner can see (a pinned address on a KDU with replicas) come out as JSON, not as an error."""
    scale = ("{additionalParamsForVnf: [{member-vnf-index: cdn-server, additionalParamsForKdu: "
             "[{kdu_name: cdn-server, additionalParams: {replicaCount: 2}}]}]}")
    code, out, err = invoke("validate", *CDN_PACKAGES, "-o", "json", "--config", scale)
    data = json.loads(out)
    assert code == 2 and data["valid"] is False and err == ""
    assert any("every replica would get the same address" in p["message"] for p in data["problems"])


def osm_l2net() -> str:
    return str(Path(sys.executable).with_name("osm-l2net"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot (Debian: graphviz; scripts/setup installs it)")
def test_png_is_refused_on_a_terminal_and_written_to_a_pipe(tmp_path: Path) -> None:
    import os
    import pty

    master, slave = pty.openpty()  # a real terminal as stdout, as when a person types the command
    try:
        done = subprocess.run([osm_l2net(), "graph", *CDN_PACKAGES, "--format", "png"], stdout=slave,
                              stderr=subprocess.PIPE, text=True, timeout=60, check=False)
        os.set_blocking(master, False)
        try:
            on_terminal = os.read(master, 4096)
        except BlockingIOError:
            on_terminal = b""
    finally:
        os.close(master)
        os.close(slave)
    assert done.returncode == 2
    assert "PNG is binary and stdout is a terminal" in done.stderr and "--out" in done.stderr
    assert on_terminal == b""
    piped = subprocess.run([osm_l2net(), "graph", *CDN_PACKAGES, "--format", "png"], capture_output=True, timeout=60,
                           check=False)
    assert piped.returncode == 0 and piped.stdout.startswith(b"\x89PNG\r\n")


def test_validate_json_reports_unreadable_input_as_a_document(tmp_path: Path) -> None:
    empty = tmp_path / "empty_package"
    empty.mkdir()
    broken = tmp_path / "broken.yaml"
    broken.write_text("nsd: [unclosed\n")
    for path, message in ((empty, "holds no .yaml"), (broken, "is not valid YAML")):
        for fmt, load in (("json", json.loads), ("yaml", yaml.safe_load)):
            code, out, _ = invoke("validate", str(path), "-o", fmt)
            data = load(out)
            assert code == 2 and data["valid"] is False, out
            assert data["problems"][0]["source"] == str(path) and message in data["problems"][0]["message"]


def test_out_dir_removes_only_the_files_it_wrote_before(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, _ = invoke("plan", *CDN_PACKAGES, "--ns-name", "first", "--out-dir", str(out))
    assert code == 0
    first = sorted(p.name for p in (out / "networks").iterdir())
    mine = out / "networks" / "notes.txt"  # a file of the user's own, in a folder osm-l2net writes to
    mine.write_text("keep me\n")
    code, _, err = invoke("plan", *CDN_PACKAGES, "--ns-name", "second", "--out-dir", str(out))
    assert code == 0 and "wrote 6 files" in err
    now = sorted(p.name for p in (out / "networks").iterdir())
    assert not set(first) & set(now), "the first plan's network manifests are gone"
    assert "notes.txt" in now and mine.read_text() == "keep me\n"
    assert len([n for n in now if n.startswith("second-")]) == 2
    listed = (out / ".osm-l2net-files").read_text().splitlines()
    assert sorted(listed) == sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                                    if p.is_file() and p.name not in ("notes.txt", ".osm-l2net-files"))


def test_out_dir_manifest_cannot_reach_outside_the_folder(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "precious.txt"
    outside.write_text("x")
    out.mkdir()
    (out / ".osm-l2net-files").write_text(f"../precious.txt\n{outside}\n")
    code, _, _ = invoke("plan", *CDN_PACKAGES, "--out-dir", str(out))
    assert code == 0 and outside.read_text() == "x"


def test_plan_json_names_charts_relative_to_their_package(tmp_path: Path) -> None:
    """The same bytes wherever the packages are; each chartPath, joined to its VNF package folder, is the chart."""
    code, here, _ = invoke("plan", *CDN_PACKAGES, "-o", "json")
    moved = tmp_path / "elsewhere"
    shutil.copytree(REPO / "descriptors", moved)
    code2, there, _ = invoke("plan", *sorted(str(p) for p in moved.iterdir() if p.is_dir()), "-o", "json")
    assert code == code2 == 0 and here == there
    packages = {yaml.safe_load(f.read_text())["vnfd"]["id"]: f.parent for f in moved.glob("*_knf/*_vnfd.yaml")}
    charts = {k["vnfd"]: k["chartPath"] for k in json.loads(there)["kdus"]}
    assert set(charts) == set(packages)
    for vnfd, chart in charts.items():
        assert not Path(chart).is_absolute() and (packages[vnfd] / chart / "Chart.yaml").is_file(), chart
    plan = Plan.from_dict(json.loads(there), package_dirs={v: str(p) for v, p in packages.items()})
    assert all(Path(k.chart_path or "").is_absolute() and (Path(k.chart_path or "") / "Chart.yaml").is_file()
               for k in plan.kdus)
    assert Plan.from_dict(json.loads(there)).as_dict() == json.loads(there)  # read back without packages: as written
