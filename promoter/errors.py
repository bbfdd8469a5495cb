"""The one error root, its subclasses, and the exit codes they map to.

Every error a user can cause is a ``PromoterError``. It renders as one paragraph: what is
wrong, where (``file:line:col`` when known), and what to do next. The CLI turns it into the
class's exit code in one place; the core never exits.
"""

from __future__ import annotations

import re
from enum import IntEnum

# Control characters a terminal acts on (escape sequences, carriage return, backspace),
# but not tab or newline: a file name or commit subject can hold them, a message must not.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every control character a terminal would act on escaped (``\\x1b``)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class ExitCode(IntEnum):
    """Process exit codes; documented in README.md ("Exit codes")."""

    OK = 0
    FINDINGS = 1  # validation problems, pending promotions with --exit-code, refusals
    USAGE = 2  # bad command line: unknown option, environment or app
    CONFIG = 3  # the GitOps files cannot be read: missing, malformed, invalid
    GIT = 4  # a git operation failed
    FORGE = 5  # the forge API failed
    REGISTRY = 6  # the registry or a live-state endpoint failed
    PENDING = 7  # gate-status: gates that time or evidence will clear; nothing is wrong
    INTERNAL = 70  # a bug in promoter
    INTERRUPTED = 130  # Ctrl-C


class PromoterError(Exception):
    """Root of every error promoter reports to a user."""

    exit_code: ExitCode = ExitCode.CONFIG

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.hint = hint

    @property
    def location(self) -> str | None:
        """``file:line:col`` as far as it is known, else ``None``."""
        if self.file is None:
            return None
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def detail(self) -> str:
        """What is wrong and what to do, without the location."""
        if not self.hint:
            return self.message
        joiner = " " if self.message.endswith((".", "?", "!")) else ". "
        return f"{self.message}{joiner}{self.hint}"

    def render(self) -> str:
        """The one-paragraph message shown to the user: ``file:line:col: what. Fix.``, with
        any control character that came from a name or a file escaped."""
        text = f"{self.location}: {self.detail()}" if self.location else self.detail()
        return printable(text)

    def __str__(self) -> str:
        return self.render()


class UsageError(PromoterError):
    """The command line names something that does not exist (environment, app, path)."""

    exit_code = ExitCode.USAGE


class ConfigError(PromoterError):
    """A GitOps file cannot be read or does not describe a valid state."""

    exit_code = ExitCode.CONFIG


class GitError(PromoterError):
    """A git operation failed."""

    exit_code = ExitCode.GIT


class ForgeError(PromoterError):
    """The forge (GitHub, GitLab) refused or failed a request."""

    exit_code = ExitCode.FORGE


class RegistryError(PromoterError):
    """An OCI registry or a live-state endpoint failed."""

    exit_code = ExitCode.REGISTRY


class Refused(PromoterError):
    """promoter refuses to act: a rule or gate says no. Nothing was written."""

    exit_code = ExitCode.FINDINGS
