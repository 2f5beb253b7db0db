"""One exception tree for the whole project, and one table of exit codes for every command and adapter.

Every error says what is wrong and what was expected; descriptor errors also carry the file and the descriptor path
(``nsd[0].df[0].vnf-profile[1].…``). ``temporary`` tells a caller whether retrying can help.

Exit codes (``exit_code`` of each error; docs/troubleshooting.md and README.md carry the same table):

== ===============================================================================================================
0  success
1  internal error, or a failure of the cluster, helm or OSM (unreachable, 5xx, a failed operation)
2  invalid input: descriptors, packages, parameters, flags, environment variables; a request the server rejects as
   invalid (NBI 400/409/422)
3  conflict: an object with our name exists and is not ours
4  a deadline passed while waiting
5  credentials refused or permission denied (HTTP 401/403 from the Kubernetes API or OSM NBI, helm's "Unauthorized" /
   "forbidden"): the same code whichever server refused, because the fix is the same (credentials, RBAC, the OSM
   project's role) and neither fixing the input (2) nor retrying (1) helps
130, 143 interrupted by SIGINT / SIGTERM (128 + the signal), after the clean-up
== ===============================================================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

EXIT_OK, EXIT_FAILURE, EXIT_INPUT, EXIT_CONFLICT, EXIT_DEADLINE, EXIT_ACCESS = 0, 1, 2, 3, 4, 5
EXIT_SIGNAL_BASE = 128  # + the signal number: 130 SIGINT, 143 SIGTERM

MAX_MESSAGE = 600  # characters of a problem's message (its path: MAX_PATH); longer ones keep their head and tail
MAX_PATH = 300


def quote(value: Any, limit: int = 80) -> str:
    """``value`` in single quotes for a message, cut to ``limit`` characters (a value may be megabytes of input)."""
    text = str(value)
    if len(text) <= limit:
        return f"'{text}'"
    return f"'{text[:limit]}…' ({len(text):,} characters)"


def shorten(text: str, limit: int) -> str:
    """``text`` cut in its middle to about ``limit`` characters: the head names the value, the tail says what is wrong."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    head = limit - tail
    return f"{text[:head]} …[{len(text) - head - tail:,} characters cut]… {text[-tail:]}"


class L2NetError(Exception):
    """Root of every error osm-l2net raises on purpose."""

    temporary: bool = False
    exit_code: int = 1


@dataclass(frozen=True)
class Problem:
    """One finding about the input: where it is, what is wrong, what was expected."""

    source: str
    path: str
    message: str
    expected: str = ""
    severity: str = "error"  # "error" stops the plan; "warning" is reported only

    def __post_init__(self) -> None:
        # messages quote input values, and input may be huge (a megabyte key, an expanded alias): bound what is printed
        object.__setattr__(self, "message", shorten(self.message, MAX_MESSAGE))
        object.__setattr__(self, "path", shorten(self.path, MAX_PATH))
        object.__setattr__(self, "expected", shorten(self.expected, MAX_MESSAGE))

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        text = f"{where}: {self.message}"
        return f"{text} (expected {self.expected})" if self.expected else text

    def as_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "source": self.source,
            "path": self.path,
            "message": self.message,
            "expected": self.expected,
        }


class InputError(L2NetError):
    """The user's input (descriptors, packages, parameters) is invalid. Permanent; exit code 2."""

    exit_code = EXIT_INPUT

    def __init__(self, problems: Sequence[Problem] | Problem) -> None:
        self.problems: tuple[Problem, ...] = (problems,) if isinstance(problems, Problem) else tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"] or list(self.problems)
        head = str(errors[0]) if errors else "invalid input"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(head + more)

    @classmethod
    def single(cls, source: str, path: str, message: str, expected: str = "") -> InputError:
        return cls(Problem(source, path, message, expected))


class DescriptorError(InputError):
    """A descriptor (NSD, VNFD) or an OSM package cannot be read or is inconsistent."""


class ParamsError(InputError):
    """Instantiation parameters (osmclient's --config form) are invalid."""


class AccessDenied(L2NetError):
    """A server refused our credentials or our permission (HTTP 401/403, helm's "Unauthorized"/"forbidden").
    Exit code 5 whichever adapter met it; base of each adapter's own refusal error."""

    exit_code = EXIT_ACCESS


class ClusterError(L2NetError):
    """The Kubernetes cluster refused or failed a request."""


class ClusterAccessDenied(AccessDenied, ClusterError):
    """The Kubernetes API answered 401 or 403."""


class TemporaryClusterError(ClusterError):
    """A fault that a retry may cure: 429, 5xx, connection errors, timeouts."""

    temporary = True


class ConflictError(ClusterError):
    """An object with our name exists and is not ours, or differs in a way we must not overwrite."""

    exit_code = EXIT_CONFLICT


class WaitTimeout(L2NetError):
    """A deadline passed while waiting for the cluster (network readiness, deletion)."""

    temporary = True
    exit_code = EXIT_DEADLINE


class ToolError(L2NetError):
    """An external tool (helm, dot, ip) failed; keeps argv, exit code and the tail of stderr."""

    def __init__(self, argv: Iterable[str], returncode: int, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr_tail = stderr[-2000:]
        super().__init__(f"{self.argv[0]} exited with {returncode}: {self.stderr_tail.strip() or '(no output)'}")


class ToolAccessDenied(AccessDenied, ToolError):
    """helm was refused by the API server (its credentials or RBAC)."""

    def __init__(self, argv: Iterable[str], returncode: int, stderr: str) -> None:
        super().__init__(argv, returncode, stderr)
        self.args = (f"{self.args[0]} (check the kubeconfig credentials and RBAC)",)


class LabError(L2NetError):
    """The local lab could not be built or torn down."""


NO_POD_TEMPLATE = "the chart renders no pod template"


class TemporaryToolError(ToolError):
    """An external tool failed in a way a retry may cure (API unreachable, 429/5xx, deadline exceeded, our timeout)."""

    temporary = True


class AttachmentError(L2NetError):
    """Rendered pod templates of a release lack the KDU's network-attachment labels/annotations."""

    exit_code = EXIT_FAILURE

    def __init__(self, release: str, problems: Sequence[str]) -> None:
        self.release = release
        self.problems = tuple(problems)
        hint = (
            ". If the chart has no podLabels/podAnnotations values, install it through the osm-l2net post-renderer "
            "(helm --post-renderer running `osm-l2net post-render --metadata FILE`), or point "
            "--values-labels-path/--values-annotations-path at the chart's own keys"
        )
        no_pods = all(NO_POD_TEMPLATE in p for p in self.problems)
        super().__init__(
            f"release {release}: pods would not be attached to their networks: "
            + "; ".join(self.problems)
            + ("" if no_pods else hint)
        )
