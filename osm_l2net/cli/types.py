"""Click parameter types the commands share (kept apart from osm_l2net/cli/main.py so adapters' CLIs import only click)."""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import click

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)")
DURATION_FORMS = "a Go-style duration (1h30m, 5m, 90s, 500ms) or plain seconds (300, 2.5)"


def parse_duration(text: str) -> float | None:
    """Seconds of ``text`` as Go's time.ParseDuration reads it (no sign), or plain seconds; None if neither."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        pos, total = 0, 0.0
        for m in _PART.finditer(text):
            if m.start() != pos:
                return None
            total += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        return total if text and pos == len(text) else None
    return seconds if math.isfinite(seconds) else None


def format_duration(seconds: float) -> str:
    """The shortest Go-style form of a whole number of seconds (for defaults in --help); else plain seconds."""
    if seconds != int(seconds) or seconds <= 0:
        return f"{seconds:g}s"
    s, parts = int(seconds), []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return "".join(parts)


class Duration(click.ParamType):  # type: ignore[type-arg,unused-ignore]  # generic from click 8.2 on
    """A timeout or interval option: Go-style duration or plain seconds, at least ``minimum`` seconds; yields float s."""

    name = "duration"

    def __init__(self, minimum: float = 0.0) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds: float | None = float(value)
        else:
            seconds = parse_duration(str(value))
        if seconds is None:
            self.fail(f"{value!r} is not a duration: use {DURATION_FORMS}.", param, ctx)
        if seconds < self.minimum:
            self.fail(f"{value!r} is shorter than the minimum {format_duration(self.minimum)}; use {DURATION_FORMS}.",
                      param, ctx)
        return seconds

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "DURATION"


class BareValueCommand(click.Command):
    """A command whose ``bare_values`` options take their value only as ``--opt=VALUE`` and mean a default when bare,
    as Go's pflag does for kubectl's ``--dry-run`` (bare: client): ``apply --dry-run PATH`` must not read PATH as the
    option's value, which click's optional-value options would."""

    bare_values: ClassVar[dict[str, str]] = {}

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {opt for p in self.params if isinstance(p, click.Option) and not p.is_flag and not p.count
                       for opt in p.opts + p.secondary_opts}
        out, i = [], 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                out.extend(args[i:])
                break
            if arg in self.bare_values:
                arg = f"{arg}={self.bare_values[arg]}"
            elif arg in takes_value and i + 1 < len(args):  # the next word is this option's value, whatever it is
                out.append(arg)
                i += 1
                arg = args[i]
            out.append(arg)
            i += 1
        return super().parse_args(ctx, out)


class DryRunCommand(BareValueCommand):
    bare_values: ClassVar[dict[str, str]] = {"--dry-run": "client"}


class ProviderChoice(click.Choice):  # type: ignore[type-arg,unused-ignore]  # generic from click 8.2 on
    """``--provider``: click's Choice over the registered providers, read from the registry when first needed, so that
    starting the CLI loads no provider and a new provider module is offered without editing the CLI."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override,unused-ignore]
    def choices(self) -> tuple[str, ...]:
        from osm_l2net.core import providers

        return providers.names()

    @choices.setter
    def choices(self, value: object) -> None:
        """click's constructor sets the choices; the registry holds them."""


class KeyValue(click.ParamType):  # type: ignore[type-arg,unused-ignore]  # generic from click 8.2 on
    """``KEY=VALUE`` (``--cluster cdn-server=edge``), both sides non-empty; converts to a (key, value) pair."""

    name = "key=value"

    def __init__(self, key: str, value: str) -> None:
        self.key, self.value = key, value

    def get_metavar(self, *args: Any, **kwargs: Any) -> str:
        return f"{self.key}={self.value}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, rest = str(value).partition("=")
        if not sep or not key.strip() or not rest.strip():
            self.fail(f"{value!r} is not {self.key}={self.value}", param, ctx)
        return key.strip(), rest.strip()
