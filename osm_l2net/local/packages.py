"""Read descriptors from YAML files, OSM package folders and OSM package archives (.tar.gz, known by content).

The only I/O of the core's input side: it reads local files and hands mappings to :mod:`osm_l2net.core.sol006`.
Archives are unpacked (safely: regular files and folders only, no absolute paths, no ``..``, within size, member-count
and compression-ratio limits) into a cache folder keyed by their sha256, so that charts shipped inside them can be
installed later. A KDU's chart is looked up where OSM's LCM looks for it, ``<package>/helm-chart-v3s/<helm-chart>``;
a chart elsewhere in the package gets a warning. YAML is read through :mod:`osm_l2net.core.yamlsafe` (size, depth and
alias-expansion limits).
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import hashlib
import io
import lzma
import os
import tarfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from osm_l2net.core import yamlsafe
from osm_l2net.core.errors import DescriptorError, Problem, quote, shorten
from osm_l2net.core.model import Descriptors, Nsd, Vnfd
from osm_l2net.core.sol006 import OLD_FORMAT_KEYS, parse_nsd, parse_vnfd
from osm_l2net.core.yamlsafe import MIB, YamlInputError, YamlLimits, check_size, limits_from, positive_int
from osm_l2net.local import scratch

# Where OSM LCM v19 looks for a KDU's chart (ns.py, deploy_kdus): "<folder>/<pkg-dir>/helm-chart-v3s/<helm-chart>", the
# whole helm-chart value, a "repo/" prefix included, as a file or a folder. When nothing is there, LCM hands the value to
# helm as it is: "repo/chart" is a repository chart, a bare name fails in helm.
OSM_CHART_DIR = "helm-chart-v3s"
# Folders packages put charts in that LCM v19 never reads ("helm-charts": helm v2's, which v19 no longer installs).
_OTHER_CHART_DIRS = ("charts", "helm-charts", "helm-chart-v3", "helm-chart")
_HELM_BARE_NAME = "non-absolute URLs should be in form of repo_name/path_to_chart"  # helm's answer to a bare name
_GZIP, _ZIP = b"\x1f\x8b", b"PK\x03\x04"
_BZIP2, _XZ = b"BZh", b"\xfd7zXZ\x00"
_OTHER_TAR_COMPRESSIONS = (_BZIP2, _XZ)  # tar reads them too (_open_stream)
_SNIFF = 512  # a tar header is 512 bytes; "ustar" sits at offset 257


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


def _documents(path: Path, *, expand: bool = True) -> Iterable[tuple[str, Mapping[str, Any], Path | None]]:
    """The descriptor documents at ``path``; ``expand``: a folder of packages (like descriptors/) stands for each of
    them, one level deep, so that a folder holding the NS's packages is planned as osm package-build's users keep it."""
    if path.is_dir():
        files = _descriptor_files(path)
        packages = [] if files or not expand else _packages_in(path)
        if not files and not packages:
            raise DescriptorError.single(str(path), "", "the folder holds no .yaml descriptor",
                                         "an OSM package folder with its descriptor YAML at the top, or a folder of "
                                         "OSM packages (folders or .tar.gz)")
        for f in files:
            for doc in _yaml_documents(f):
                yield str(f), doc, path
        for package in packages:
            yield from _documents(package, expand=False)
    elif path.is_file():
        if _is_package_archive(path):
            yield from _documents(_unpack(path), expand=expand)
        else:
            for doc in _yaml_documents(path):
                yield str(path), doc, None
    else:
        raise DescriptorError.single(str(path), "", "does not exist", "a descriptor file, package folder or .tar.gz")


def _descriptor_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _packages_in(folder: Path) -> list[Path]:
    """The OSM packages a folder holds: sub-folders with a descriptor YAML at their top, and package archives (by
    content). Anything else there (a README, a chart folder, .git) is not a package and is left alone."""
    out = []
    for child in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        if (child.is_dir() and _descriptor_files(child)) or (child.is_file() and _sniffs_as_archive(child)):
            out.append(child)
    return out


def _sniffs_as_archive(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF)
    except OSError:
        return False  # not a package to expand into; named by the error when nothing else is found
    return _archive_head(head)


def _archive_head(head: bytes) -> bool:
    return head.startswith((_GZIP, *_OTHER_TAR_COMPRESSIONS)) or head[257:262] == b"ustar"


def _is_package_archive(path: Path) -> bool:
    """By content, not by name (NBI goes by the upload's Content-Type, not the file name): gzip or tar is a package,
    text is a descriptor; anything else is refused here with what it is."""
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF)
    except OSError as e:
        raise DescriptorError.single(str(path), "", f"cannot be read: {e}", "a readable file") from e
    if _archive_head(head):
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
        docs: list[Any] = read_yaml(path, all_documents=True)
    except YamlInputError as e:
        raise DescriptorError(e.problem(str(path))) from e
    for i, doc in enumerate(docs):
        if not isinstance(doc, Mapping):
            raise DescriptorError.single(str(path), f"document {i}", f"is a {type(doc).__name__}",
                                         "a mapping with 'nsd:' or 'vnfd:'")
    return docs


def yaml_limits() -> YamlLimits:
    """The YAML limits in force: the defaults, or the ``OSM_L2NET_YAML_*`` environment variables."""
    return limits_from(os.environ)


def read_yaml(path: str | os.PathLike[str], *, all_documents: bool = False) -> Any:
    """A YAML file's document (or every document), within :func:`yaml_limits`: the size is checked before reading.

    Every failure, unreadable file included, is a :class:`YamlInputError`, which the caller turns into its own error.
    """
    limits = yaml_limits()
    try:
        with open(path, "rb") as f:
            check_size(os.fstat(f.fileno()).st_size, limits)
            data = f.read(limits.max_bytes + 1)  # a file that grows while read is still bounded
    except OSError as e:
        raise YamlInputError(f"cannot be read: {e.strerror or e}", expected="a readable file") from e
    return yamlsafe.load_all(data, limits) if all_documents else yamlsafe.load(data, limits)


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on one package archive, checked while it is unpacked (before a byte past them is written)."""

    max_members: int = 10_000
    max_bytes: int = 256 * MIB  # the archive file, and what it unpacks to (tar headers included)
    max_ratio: int = 100  # unpacked ÷ packed, past RATIO_FLOOR (tar padding alone makes tiny archives compress well)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ArchiveLimits:
        d = cls()
        return cls(positive_int(environ, "OSM_L2NET_PACKAGE_MAX_MEMBERS", d.max_members),
                   positive_int(environ, "OSM_L2NET_PACKAGE_MAX_BYTES", d.max_bytes),
                   positive_int(environ, "OSM_L2NET_PACKAGE_MAX_RATIO", d.max_ratio))


RATIO_FLOOR = 4 * MIB
_PARTIAL = ".partial-"  # an unpacking under way (or killed: swept by the next run)


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "osm-l2net" / "packages"


def _unpack(archive: Path) -> Path:
    """Unpack an OSM package archive into a cache folder named by its content hash; return the package's folder.

    Unpacking happens in a locked ``.partial-*`` folder beside the cache entry, renamed into place when complete and
    removed on every other outcome (refused member, limit passed, corrupt stream, an interruption); one left by a
    killed run is removed by the next.
    """
    limits = ArchiveLimits.from_env(os.environ)
    digest, size = _digest(archive, limits)
    cache = cache_root() / digest
    if not cache.is_dir():
        cache.parent.mkdir(parents=True, exist_ok=True)
        scratch.sweep(cache.parent, _PARTIAL)
        work = scratch.ScratchDir(cache.parent, _PARTIAL)
        try:
            _extract(archive, size, work.path, limits)
            try:
                os.replace(work.path, cache)
                work.release(keep=True)
            except OSError:
                if not cache.is_dir():  # not another run's identical copy that landed first
                    raise
        except _Refused as e:
            raise DescriptorError.single(str(archive), e.member, e.message, e.expected) from e
        except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as e:
            raise DescriptorError.single(str(archive), "", f"is not a readable package archive: "
                                         f"{shorten(str(e) or type(e).__name__, 200)}",
                                         "an OSM package (.tar.gz)") from e
        finally:
            work.release()  # removes the folder unless it was renamed into the cache
    entries = [p for p in cache.iterdir() if not p.name.startswith(".")]
    # OSM packages hold one top folder (<name>/<name>.yaml); accept a flat archive too.
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else cache


def _digest(archive: Path, limits: ArchiveLimits) -> tuple[str, int]:
    """(sha256 prefix, size) of the archive, read in chunks after its size is checked."""
    sha = hashlib.sha256()
    try:
        with open(archive, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limits.max_bytes:
                raise DescriptorError.single(str(archive), "", f"is {size:,} bytes, more than the limit of "
                                             f"{limits.max_bytes:,}", "a package archive within "
                                             "OSM_L2NET_PACKAGE_MAX_BYTES")
            for chunk in iter(lambda: f.read(MIB), b""):
                sha.update(chunk)
    except OSError as e:
        raise DescriptorError.single(str(archive), "", f"cannot be read: {e.strerror or e}", "a readable .tar.gz") from e
    return sha.hexdigest()[:16], size


class _Refused(Exception):
    """An archive member or the archive's size is refused (not an OSError: tarfile must not swallow it)."""

    def __init__(self, member: str, message: str, expected: str) -> None:
        super().__init__(message)
        self.member, self.message, self.expected = member, message, expected


class _Bounded(io.RawIOBase):
    """The unpacked stream, counted: past the size or ratio limit it raises instead of reading on."""

    def __init__(self, stream: BinaryIO, packed: int, limits: ArchiveLimits) -> None:
        self.stream, self.packed, self.limits, self.count = stream, max(packed, 1), limits, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        self.count += len(data)
        if self.count > self.limits.max_bytes:
            raise _Refused("", f"unpacks to more than {self.limits.max_bytes:,} bytes",
                           "a package within OSM_L2NET_PACKAGE_MAX_BYTES")
        if self.count > RATIO_FLOOR and self.count > self.limits.max_ratio * self.packed:
            raise _Refused("", f"unpacks to more than {self.limits.max_ratio} times its {self.packed:,} bytes "
                           "(a compression bomb?)", "a package within OSM_L2NET_PACKAGE_MAX_RATIO")
        buffer[:len(data)] = data
        return len(data)


def _open_stream(raw: BinaryIO) -> BinaryIO:
    """The archive's tar stream: gzip, bzip2 or xz by their magic bytes whatever the file name says; else plain."""
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(_GZIP):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if magic.startswith(_BZIP2):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if magic.startswith(_XZ):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    return raw


def _extract(archive: Path, packed: int, dest: Path, limits: ArchiveLimits) -> None:
    """Stream the archive member by member into ``dest``: regular files and folders only, inside ``dest``."""
    with open(archive, "rb") as raw, _open_stream(raw) as stream:
        bounded = io.BufferedReader(_Bounded(stream, packed, limits), MIB)
        with tarfile.open(fileobj=bounded, mode="r|") as tar:
            for count, member in enumerate(tar, 1):
                if count > limits.max_members:
                    raise _Refused("", f"has more than {limits.max_members:,} members",
                                   "a package within OSM_L2NET_PACKAGE_MAX_MEMBERS")
                tar.extract(member, dest, filter=_member_filter)


def _member_filter(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    name = f"member {quote(member.name, 120)}"
    if not (member.isfile() or member.isdir()):
        kind = "a symbolic link" if member.issym() else "a hard link" if member.islnk() else "a device or FIFO"
        raise _Refused(name, f"is {kind}", "an OSM package of regular files and folders only")
    if member.name.startswith("/"):  # data_filter would strip the "/": refuse instead, as the package is not OSM's
        raise _Refused(name, "is an absolute path", "member paths relative to the package")
    try:
        return tarfile.data_filter(member, dest)  # refuses absolute paths, '..' and paths leaving dest
    except tarfile.FilterError as e:
        raise _Refused(name, f"is refused: {shorten(str(e), 200)}", "member paths inside the package") from e
