"""Read descriptors from YAML files, OSM package folders and OSM package archives (.tar.gz).

The only I/O of the core's input side: it reads local files and hands mappings to :mod:`osm_l2net.sol006`.
Archives are unpacked (safely: no links, no absolute paths, no ``..``) into a cache folder keyed by their sha256,
so that charts shipped inside them can be installed later.
"""

from __future__ import annotations

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
from osm_l2net.sol006 import parse_nsd, parse_vnfd

_CHART_DIRS = ("charts", "helm-charts")
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
    if "nsd" in keys:
        nsds.append(parse_nsd(document, source))
    elif "vnfd" in keys:
        vnfd = parse_vnfd(document, source, str(package_dir) if package_dir else None)
        if vnfd.id in vnfds:
            raise DescriptorError.single(source, "vnfd.id", f"VNFD '{vnfd.id}' is given twice (also in "
                                         f"{vnfds[vnfd.id].source})", "each VNFD once")
        vnfds[vnfd.id] = replace(vnfd, local_charts=_local_charts(vnfd, package_dir))
    else:
        raise DescriptorError.single(source, "", f"top-level keys {sorted(keys)} are neither 'nsd' nor 'vnfd'",
                                     "an OSM descriptor: 'nsd:' or 'vnfd:'")


def _local_charts(vnfd: Vnfd, package_dir: Path | None) -> dict[str, str]:
    if package_dir is None:
        return {}
    found = {}
    for kdu in vnfd.kdus:
        for folder in _CHART_DIRS:
            chart = package_dir / folder / (kdu.helm_chart or "")
            if kdu.helm_chart and (chart / "Chart.yaml").is_file():
                found[kdu.helm_chart] = str(chart.resolve())
                break
    return found


def _documents(path: Path) -> Iterable[tuple[str, Mapping[str, Any], Path | None]]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise DescriptorError.single(str(path), "", "the folder holds no .yaml descriptor",
                                         "an OSM package folder with its descriptor YAML at the top")
        for f in files:
            for doc in _yaml_documents(f):
                yield str(f), doc, path
    elif path.name.endswith((".tar.gz", ".tgz")):
        yield from _documents(_unpack(path))
    elif path.is_file():
        for doc in _yaml_documents(path):
            yield str(path), doc, None
    else:
        raise DescriptorError.single(str(path), "", "does not exist", "a descriptor file, package folder or .tar.gz")


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
