"""One exception tree for the whole project.

Every error says what is wrong and what was expected; descriptor errors also carry the file and the descriptor path
(``nsd[0].df[0].vnf-profile[1].…``). ``temporary`` tells a caller whether retrying can help.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


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

    exit_code = 2

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


class ClusterError(L2NetError):
    """The Kubernetes cluster refused or failed a request."""


class TemporaryClusterError(ClusterError):
    """A fault that a retry may cure: 429, 5xx, connection errors, timeouts."""

    temporary = True


class ConflictError(ClusterError):
    """An object with our name exists and is not ours, or differs in a way we must not overwrite."""

    exit_code = 3


class WaitTimeout(L2NetError):
    """A deadline passed while waiting for the cluster (network readiness, deletion)."""

    temporary = True
    exit_code = 4


class ToolError(L2NetError):
    """An external tool (helm, dot, ip) failed; keeps argv, exit code and the tail of stderr."""

    def __init__(self, argv: Iterable[str], returncode: int, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr_tail = stderr[-2000:]
        super().__init__(f"{self.argv[0]} exited with {returncode}: {self.stderr_tail.strip() or '(no output)'}")


class LabError(L2NetError):
    """The local lab could not be built or torn down."""


NO_POD_TEMPLATE = "the chart renders no pod template"


class TemporaryToolError(ToolError):
    """An external tool failed in a way a retry may cure (API unreachable, 429/5xx, deadline exceeded, our timeout)."""

    temporary = True


class AttachmentError(L2NetError):
    """Rendered pod templates of a release lack the KDU's network-attachment labels/annotations."""

    exit_code = 1

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
