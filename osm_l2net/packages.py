"""Read descriptors from YAML files, OSM package folders and OSM package archives (.tar.gz, known by content).

The only I/O of the core's input side: it reads local files and hands mappings to :mod:`osm_l2net.sol006`.
Archives are unpacked (safely: no links, no absolute paths, no ``..``) into a cache folder keyed by their sha256,
so that charts shipped inside them can be installed later. A KDU's chart is looked up where OSM's LCM looks for it,
``<package>/helm-chart-v3s/<helm-chart>``; a chart elsewhere in the package gets a warning.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from osm_l2net.errors import DescriptorError, Problem
from osm_l2net.model import Descriptors, Nsd, Vnfd
from osm_l2net.sol006 import OLD_FORMAT_KEYS, parse_nsd, parse_vnfd

# Where OSM LCM v19 looks for a KDU's chart (ns.py, deploy_kdus): "<folder>/<pkg-dir>/helm-chart-v3s/<helm-chart>", the
# whole helm-chart value, a "repo/" prefix included, as a file or a folder. When nothing is there, LCM hands the value to
# helm as it is: "repo/chart" is a repository chart, a bare name fails in helm.
OSM_CHART_DIR = "helm-chart-v3s"
# Folders packages put charts in that LCM v19 never reads ("helm-charts": helm v2's, which v19 no longer installs).
_OTHER_CHART_DIRS = ("charts", "helm-charts", "helm-chart-v3", "helm-chart")
_HELM_BARE_NAME = "non-absolute URLs should be in form of repo_name/path_to_chart"  # helm's answer to a bare name
_GZIP, _ZIP = b"\x1f\x8b", b"PK\x03\x04"
_SNIFF = 512  # a tar header is 512 bytes; "ustar" sits at offset 257
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader when built in: several times faster


def load_descriptors(paths: Iterable[str | os.PathLike[str]]) -> Descriptors:
    """Load one NSD and its VNFDs from files, package folders or .tar.gz packages; raise DescriptorError on any problem."""
    nsds: list[Nsd] = []
    vnfds: dict[str, Vnfd] = {}
    problems: list[Problem] = []
    for raw in paths:
        for source, document, package_dir in _documents(Path(raw)):
            try:
                _add(source, document, package_dir, nsds, vnfds)
            except DescriptorError as e:
                problems.extend(e.problems)
    if not nsds and not problems:
        problems.append(Problem(", ".join(str(p) for p in paths) or "(no paths)", "", "no NSD found",
                                "one NSD (a file or package with 'nsd:') among the paths"))
    if len(nsds) > 1:
        problems.append(Problem(nsds[1].source, "nsd[0]", f"a second NSD '{nsds[1].id}' (first: '{nsds[0].id}' in "
                                f"{nsds[0].source})", "exactly one NSD per plan"))
    if problems:
        raise DescriptorError(problems)
    return Descriptors(nsds[0], dict(sorted(vnfds.items())))


def _add(source: str, document: Mapping[str, Any], package_dir: Path | None, nsds: list[Nsd], vnfds: dict[str, Vnfd]) -> None:
    keys = {str(k).split(":")[-1] for k in document}
    old = next((str(k) for k in document if str(k) in OLD_FORMAT_KEYS), None)
    if old is not None:
        raise DescriptorError.single(source, old, "is the pre-SOL006 OSM descriptor format, which OSM v19 does not "
                                     "onboard; NBI answers: Unsupported descriptor format. Please, use an ETSI SOL006 "
                                     "descriptor.",
                                     "a SOL006 descriptor: convert the package with 'osm package-translate'")
    if "nsd" in keys:
        nsds.append(parse_nsd(document, source))
    elif "vnfd" in keys:
        vnfd = parse_vnfd(document, source, str(package_dir) if package_dir else None)
        if vnfd.id in vnfds:
            raise DescriptorError.single(source, "vnfd.id", f"VNFD '{vnfd.id}' is given twice (also in "
                                         f"{vnfds[vnfd.id].source})", "each VNFD once")
        charts, warnings = _local_charts(vnfd, package_dir)
        vnfds[vnfd.id] = replace(vnfd, local_charts=charts, warnings=vnfd.warnings + warnings)
    else:
        raise DescriptorError.single(source, "", f"top-level keys {sorted(keys)} are neither 'nsd' nor 'vnfd'",
                                     "an OSM descriptor: 'nsd:' or 'vnfd:'")


def _local_charts(vnfd: Vnfd, package_dir: Path | None) -> tuple[dict[str, str], tuple[Problem, ...]]:
    """The charts the package ships where LCM finds them, and a warning for each KDU whose chart OSM will not find."""
    if package_dir is None:  # a loose descriptor: how it will be onboarded is unknown
        return {}, ()
    found: dict[str, str] = {}
    warnings: list[Problem] = []
    for kdu in vnfd.kdus:
        chart = kdu.helm_chart
        if not chart or "://" in chart:
            continue
        where = package_dir / OSM_CHART_DIR / chart
        if where.is_dir() or where.is_file():
            found[chart] = str(where.resolve())
            continue
        problem = _chart_not_found(vnfd, kdu.path, chart, package_dir)
        if problem is not None:
            warnings.append(problem)
    return found, tuple(warnings)


def _chart_not_found(vnfd: Vnfd, kdu_path: str, chart: str, package_dir: Path) -> Problem | None:
    """A warning when OSM will not find the KDU's chart in the package: a chart elsewhere in it, or a bare name."""
    looks = f"{package_dir.name}/{OSM_CHART_DIR}/{chart}"
    bare = "/" not in chart
    then = (f"without a chart there it hands '{chart}' to helm, which refuses a bare chart name ({_HELM_BARE_NAME})" if bare
            else f"without a chart there it installs '{chart}' from the helm repository '{chart.split('/', maxsplit=1)[0]}'")
    name = chart.rsplit("/", 1)[-1]
    places = [f"{d}/{n}" for d in _OTHER_CHART_DIRS for n in dict.fromkeys((chart, name))]
    if not bare:  # helm-chart 'repo/x' with the chart at helm-chart-v3s/x: LCM looks for helm-chart-v3s/repo/x
        places.append(f"{OSM_CHART_DIR}/{name}")
    misplaced = next((place for place in places if (package_dir / place).exists()), None)
    if misplaced is not None:
        message = (f"the package ships the chart in {misplaced}, where OSM does not look: LCM v19 takes a package's "
                   f"chart from <package>/{OSM_CHART_DIR}/<helm-chart>, and {then}")
    elif bare:
        message = f"the package has no {OSM_CHART_DIR}/{chart}, where OSM's LCM v19 looks for the chart, and {then}"
    else:
        return None  # a repository chart, as intended
    return Problem(vnfd.source, f"{kdu_path}.helm-chart", message, f"the chart at {looks}" + ("" if bare else
                   f", or no local chart and '{chart}' from the repository"), "warning")


def _documents(path: Path) -> Iterable[tuple[str, Mapping[str, Any], Path | None]]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise DescriptorError.single(str(path), "", "the folder holds no .yaml descriptor",
                                         "an OSM package folder with its descriptor YAML at the top")
        for f in files:
            for doc in _yaml_documents(f):
                yield str(f), doc, path
    elif path.is_file():
        if _is_package_archive(path):
            yield from _documents(_unpack(path))
        else:
            for doc in _yaml_documents(path):
                yield str(path), doc, None
    else:
        raise DescriptorError.single(str(path), "", "does not exist", "a descriptor file, package folder or .tar.gz")


def _is_package_archive(path: Path) -> bool:
    """By content, not by name (NBI goes by the upload's Content-Type, not the file name): gzip or tar is a package,
    text is a descriptor; anything else is refused here with what it is."""
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF)
    except OSError as e:
        raise DescriptorError.single(str(path), "", f"cannot be read: {e}", "a readable file") from e
    if head.startswith(_GZIP) or head[257:262] == b"ustar":
        return True
    expected = "a descriptor YAML in UTF-8, an OSM package folder or a .tar.gz OSM package"
    if head.startswith(_ZIP):
        raise DescriptorError.single(str(path), "", "is a zip archive: it cannot be planned because osm-l2net reads "
                                     "OSM packages as folders or tar.gz archives (osm package-build makes one)", expected)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the end is fine
        binary = b"\x00" in head
    except UnicodeDecodeError:
        binary = True
    if binary:
        raise DescriptorError.single(str(path), "", "is neither a YAML descriptor nor an OSM package: it is binary "
                                     "and not a gzip or tar archive", expected)
    return False


def _yaml_documents(path: Path) -> list[Mapping[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
        docs = [d for d in yaml.load_all(text, Loader=_LOADER) if d is not None]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DescriptorError.single(str(path), where, f"is not valid YAML: {getattr(e, 'problem', e)}",
                                     "a YAML document") from e
    except (OSError, UnicodeDecodeError) as e:
        raise DescriptorError.single(str(path), "", f"cannot be read: {e}", "a readable UTF-8 file") from e
    for i, doc in enumerate(docs):
        if not isinstance(doc, Mapping):
            raise DescriptorError.single(str(path), f"document {i}", f"is a {type(doc).__name__}",
                                         "a mapping with 'nsd:' or 'vnfd:'")
    return docs


def _unpack(archive: Path) -> Path:
    """Unpack an OSM package archive into a cache folder named by its content hash; return the package's folder."""
    try:
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    except OSError as e:
        raise DescriptorError.single(str(archive), "", f"cannot be read: {e}", "a readable .tar.gz") from e
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "osm-l2net" / "packages" / digest
    if not cache.is_dir():
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=cache.parent))
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(tmp, filter="data")  # refuses links out of tree, absolute paths and '..'
        except (tarfile.TarError, OSError) as e:
            raise DescriptorError.single(str(archive), "", f"is not a readable package archive: {e}",
                                         "an OSM package (.tar.gz)") from e
        os.replace(tmp, cache)
    entries = [p for p in cache.iterdir() if not p.name.startswith(".")]
    # OSM packages hold one top folder (<name>/<name>.yaml); accept a flat archive too.
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else cache
