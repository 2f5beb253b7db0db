"""Private scratch folders: created 0700, held by an flock(2) lock while their process lives, removed on every outcome.

A process killed with SIGKILL cannot clean up; its lock dies with it, so the next run that looks in the same parent
(:func:`sweep`) removes what it left. A folder is only swept when it is ours (owner uid, name prefix), unlocked, and
older than ``MIN_AGE`` seconds (the lock is taken right after the folder is made; the age closes that gap).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger(__name__)

MIN_AGE = 1.0  # seconds


class ScratchDir:
    """A locked private folder; ``release()`` removes it (``keep=True``: unlock only, e.g. after renaming it)."""

    def __init__(self, parent: str | os.PathLike[str] | None, prefix: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))  # mkdtemp: mode 0700, a new name
        self._fd: int | None = None
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            self.release()
            raise

    def release(self, *, keep: bool = False) -> None:
        if not keep:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            with suppress(OSError):
                os.close(self._fd)
            self._fd = None


@contextmanager
def private_dir(parent: str | os.PathLike[str] | None, prefix: str) -> Iterator[Path]:
    """A new 0700 folder under ``parent`` (default: the temp folder), removed when the block ends, whatever happens."""
    scratch = ScratchDir(parent, prefix)
    try:
        yield scratch.path
    finally:
        scratch.release()


def sweep(parent: str | os.PathLike[str] | None, prefix: str, min_age: float = MIN_AGE) -> int:
    """Remove folders ``prefix*`` of ``parent`` left by processes that died; return how many were removed."""
    folder = Path(parent if parent is not None else tempfile.gettempdir())
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not entry.is_dir(follow_symlinks=False) or st.st_uid != os.getuid() or now - st.st_mtime < min_age:
            continue
        if _remove_if_unlocked(Path(entry.path)):
            removed += 1
    if removed:
        log.debug("removed %d scratch folder(s) %s* left in %s by killed runs", removed, prefix, folder)
    return removed


def _remove_if_unlocked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # its process is alive
        shutil.rmtree(path, ignore_errors=True)
        return not path.exists()
    finally:
        os.close(fd)
