"""osmclient's conventions for reaching NBI, and TLS help that matches the cause, over real HTTPS: the NBI double
serves TLS with a throw-away CA and server certificates made here with the openssl command (argv, no shell)."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from osm_l2net.cli.osm import register
from osm_l2net.osm.nbi import NbiClient, NbiSettings, NbiTlsError, NbiUnreachable
from tests.conftest import CDN_PACKAGES, MODELS
from tests.support.k8s_harness import EmulatedCluster
from tests.support.nbi_double import OsmNbiDouble
from tests.support.tools import find_tool

PASSWORD = "s3cret-pw"
SCHEMA = MODELS / "osm-nbi" / "ns_instantiate.schema.json"


@dataclass(frozen=True)
class Pki:
    ca: Path
    good: tuple[str, str]  # for localhost and 127.0.0.1
    other_name: tuple[str, str]  # for nbi.example only


def _openssl(*args: str, cwd: Path) -> None:
    openssl = find_tool("openssl")
    if openssl is None:
        pytest.fail("no openssl binary (Debian package openssl; ./scripts/setup installs it)")
    subprocess.run([openssl, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _server_cert(tmp: Path, name: str, san: str) -> tuple[str, str]:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={name}", cwd=tmp)
    (tmp / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=tmp)
    return str(tmp / f"{name}.pem"), str(tmp / f"{name}.key")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    tmp = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=osm-l2net test CA", cwd=tmp)
    return Pki(tmp / "ca.pem", _server_cert(tmp, "good", "DNS:localhost,IP:127.0.0.1"),
               _server_cert(tmp, "other", "DNS:nbi.example"))


@pytest.fixture
def https_nbi(pki: Pki) -> Iterator[OsmNbiDouble]:
    with OsmNbiDouble(CDN_PACKAGES, SCHEMA, tls=pki.good) as nbi:
        yield nbi


def port(nbi: OsmNbiDouble) -> str:
    return nbi.url.rsplit(":", 1)[1]


def client(hostname: str, verify: bool | str = True) -> NbiClient:
    return NbiClient(NbiSettings(hostname=hostname, password=PASSWORD, verify=verify, timeout=5))


@pytest.mark.parametrize(("hostname", "url"), [
    ("osm.example.org", "https://osm.example.org:443/osm"),
    ("10.0.0.5:8443", "https://10.0.0.5:8443/osm"),
    ("[2001:db8::5]:8443", "https://[2001:db8::5]:8443/osm"),
    ("[2001:db8::5]", "https://[2001:db8::5]:443/osm"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/osm"),
    ("https://nbi.example/osm/", "https://nbi.example/osm"),
    ("https://nbi.example/prefix/osm", "https://nbi.example/prefix/osm"),
])
def test_osm_hostname_as_osmclient_reads_it(hostname: str, url: str) -> None:
    assert NbiSettings(hostname=hostname).base_url == url


def test_host_port_means_https_and_a_ca_bundle_verifies_it(https_nbi: OsmNbiDouble, pki: Pki) -> None:
    with client(f"127.0.0.1:{port(https_nbi)}", str(pki.ca)) as c:
        assert c.vim_account_id("openstack-site") == https_nbi.vim_accounts["openstack-site"]
    with client(f"localhost:{port(https_nbi)}", str(pki.ca)) as c:
        assert c.ns_instances() == []


def test_an_unknown_ca_points_at_the_ca_bundle_or_insecure(https_nbi: OsmNbiDouble) -> None:
    with client(f"127.0.0.1:{port(https_nbi)}") as c, pytest.raises(NbiTlsError) as e:
        c.ns_instances()
    text = str(e.value)
    assert "no CA this machine trusts signed it" in text and "--ca-cert" in text and "--insecure" in text
    assert e.value.exit_code == 2 and not e.value.temporary


def test_a_ca_bundle_without_the_signing_ca_says_so(https_nbi: OsmNbiDouble, pki: Pki, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-ca.pem"  # a bundle that holds some certificate, not the CA that signed NBI's
    wrong.write_text(Path(pki.other_name[0]).read_text())
    with client(f"127.0.0.1:{port(https_nbi)}", str(wrong)) as c, pytest.raises(NbiTlsError) as e:
        c.ns_instances()
    assert f"the CA bundle {wrong} does not hold the CA that signed it" in str(e.value)


def test_a_certificate_for_another_name_says_which_name_it_is_not_valid_for(pki: Pki) -> None:
    with (OsmNbiDouble(CDN_PACKAGES, SCHEMA, tls=pki.other_name) as nbi,
          client(f"127.0.0.1:{port(nbi)}", str(pki.ca)) as c, pytest.raises(NbiTlsError) as e):
        c.ns_instances()
    text = str(e.value)
    assert "not valid for '127.0.0.1'" in text and "subjectAltName" in text and "--ca-cert" not in text


def test_https_to_a_plain_http_server_points_at_http_url() -> None:
    with (OsmNbiDouble(CDN_PACKAGES, SCHEMA) as nbi, client(f"127.0.0.1:{port(nbi)}") as c,
          pytest.raises(NbiTlsError) as e):
        c.ns_instances()
    text = str(e.value)
    assert "plain HTTP" in text and f"OSM_HOSTNAME=http://127.0.0.1:{port(nbi)}" in text and "--insecure" not in text


def test_plain_http_to_a_tls_server_points_at_https(https_nbi: OsmNbiDouble) -> None:
    with client(f"http://127.0.0.1:{port(https_nbi)}") as c, pytest.raises(NbiUnreachable) as e:
        c.ns_instances()
    assert "if NBI serves HTTPS" in str(e.value)


def run(kube: EmulatedCluster, monkeypatch: pytest.MonkeyPatch, hostname: str, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("OSM_HOSTNAME", hostname)
    monkeypatch.setenv("OSM_PASSWORD", PASSWORD)
    group = click.Group("osm-l2net")
    register(group)
    result = CliRunner().invoke(group, ["ns-delete", "ghost", "--kubeconfig", str(kube.kubeconfig), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr


def test_insecure_prints_one_line_of_its_own_and_no_urllib3_warning(https_nbi: OsmNbiDouble, kube_emulator: EmulatedCluster,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, err = run(kube_emulator, monkeypatch, f"127.0.0.1:{port(https_nbi)}", "--insecure")
    assert code == 2 and "'ghost'" in err, err  # it got through TLS, logged in and looked the NS up
    assert [line for line in err.splitlines() if "warning" in line.lower()] == [
        f"warning: --insecure: the TLS certificate of https://127.0.0.1:{port(https_nbi)}/osm is not verified"]
    assert "InsecureRequestWarning" not in err and "Unverified HTTPS" not in err
    assert [w for w in caught if "Unverified HTTPS" in str(w.message)] == []


def test_the_cli_gives_the_tls_hint_and_exit_2(https_nbi: OsmNbiDouble, kube_emulator: EmulatedCluster,
                                               monkeypatch: pytest.MonkeyPatch, pki: Pki) -> None:
    code, err = run(kube_emulator, monkeypatch, f"127.0.0.1:{port(https_nbi)}")
    assert code == 2 and "--ca-cert" in err and "Traceback" not in err
    code, err = run(kube_emulator, monkeypatch, f"127.0.0.1:{port(https_nbi)}", "--ca-cert", str(pki.ca))
    assert code == 2 and "no record named 'ghost'" in err, err
