"""SIGINT and SIGTERM for every ``osm-l2net`` command, in one place: the first unwinds the run (its ``finally``
clean-ups: helm stopped, values files and partial unpacks removed, the lab taken down), and the command exits
128 + the signal (130, 143). The library installs no handler of its own, except the lab's scenario around its
teardown (osm_l2net/lab/scenario.py ``_shielded``, which says why)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

import click

SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def unwinding(*, until_exit: bool = False) -> Iterator[list[int]]:
    """SIGTERM/SIGINT raise KeyboardInterrupt in the main thread (click prints "Aborted!"), once: a later signal, in
    the clean-up, is noted, not raised, so the clean-up finishes. A process forked from us (pyroute2's helpers) gets
    the default action back and dies as it would have. Yields the signals received, the first first.

    ``until_exit`` (the console script, which leaves this block only to exit): the handlers are not given back but
    set to ignore. The command's work and clean-ups are done and the process is only exiting, with the command's own
    exit code. A Python handler cannot cover that: the interpreter's shutdown puts the default action back
    (``_PySignal_Fini``) before the process is gone, and a signal landing then killed it (-15, which reads as
    "killed mid-work"; seen in CI). Our executors are joined inside the command, so no thread can hold the exit up.
    """
    received: list[int] = []
    owner = os.getpid()

    def handler(signum: int, _frame: FrameType | None) -> None:
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        received.append(signum)
        if len(received) == 1:
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, signal.SIG_IGN if until_exit else old)


def exit_interrupted(signum: int) -> None:
    from osm_l2net.core.errors import EXIT_SIGNAL_BASE  # here: every command's start-up imports this module

    click.echo(f"interrupted by {signal.Signals(signum).name}: stopped, temporary files removed", err=True)
    sys.exit(EXIT_SIGNAL_BASE + signum)
