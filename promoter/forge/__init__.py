"""Forges (GitHub, GitLab, Gitea): the small interface a pull-request promotion needs.

Each adapter lives in a module of its own and imports its client library only when it
is used, so ``promoter --help`` never pays for it. The core talks to :class:`Forge` with
plain values; tokens stay inside the adapter (from the environment, see :func:`token`)
and never reach a message, a log or git.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from promoter.errors import ForgeError

Kind = Literal["github"]
KINDS: tuple[Kind, ...] = ("github",)

# The variables a token is read from, per forge, first found wins. GitHub Actions sets
# GITHUB_TOKEN; the gh CLI reads GH_TOKEN.
TOKENS: Mapping[Kind, tuple[str, ...]] = {"github": ("GITHUB_TOKEN", "GH_TOKEN")}


@dataclass(frozen=True)
class PullRequest:
    """A pull request as promoter needs it."""

    number: int
    url: str
    head: str  # the branch it proposes
    head_sha: str
    base: str  # the branch it goes into
    title: str
    body: str
    state: Literal["open", "closed", "merged"]
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Review:
    """A review of a pull request, as the forge authenticated its author."""

    id: int
    login: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
    commit: str  # the head commit it was made on
    when: dt.datetime | None


StatusState = Literal["success", "failure", "pending", "error"]
CONTEXT = "promoter/gates"  # the stable name branch protection requires


@dataclass(frozen=True)
class Location:
    """Which forge, where its API is, and which repository on it."""

    kind: Kind
    api: str  # the API's base URL
    repository: str  # owner/name (GitLab: the project path)


class Forge(Protocol):
    """What a pull-request promotion asks of a forge."""

    location: Location

    def open_pulls(self, base: str, prefix: str) -> list[PullRequest]:
        """Open pull requests into ``base`` whose branch starts with ``prefix``."""
        ...

    def open_pull(
        self, head: str, base: str, title: str, body: str, labels: Sequence[str]
    ) -> PullRequest:
        """Open a pull request of ``head`` into ``base``, labelled."""
        ...

    def update_pull(self, number: int, title: str, body: str, labels: Sequence[str]) -> PullRequest:
        """Give an open pull request a new title, body and labels."""
        ...

    def request_reviewers(self, number: int, logins: Sequence[str]) -> None:
        """Ask these people to review."""
        ...

    def close_pull(self, number: int, comment: str) -> None:
        """Comment on a pull request, then close it."""
        ...

    def get_pull(self, number: int) -> PullRequest:
        """One pull request, as it is now."""
        ...

    def reviews(self, number: int) -> list[Review]:
        """Every review of a pull request, oldest first."""
        ...

    def set_status(
        self, sha: str, state: StatusState, description: str, url: str | None, context: str
    ) -> None:
        """Set the commit status ``context`` on ``sha``."""
        ...


# git@github.com:owner/name.git, ssh://git@github.com[:22]/owner/name, https://github.com/o/n
_REMOTE = re.compile(
    r"^(?:(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/"
    r"|(?:[^@/]+@)?(?P<scp>[^/:]+):)(?P<path>[^?#]+?)(?:\.git)?/?$"
)


def parse_remote(url: str) -> tuple[str, str] | None:
    """``(host, owner/name)`` of a remote URL in https, ssh or scp form; None otherwise
    (a local path, a bundle)."""
    found = _REMOTE.match(url.strip())
    if found is None:
        return None
    host = (found.group("host") or found.group("scp") or "").lower()
    path = found.group("path").strip("/")
    if not host or "/" not in path or ".." in path.split("/"):
        return None
    return host, path


def locate(remote_url: str, environ: Mapping[str, str] | None = None) -> Location:
    """Where the forge of this repository is: from the remote URL, or from the
    environment (``PROMOTER_FORGE``, ``GITHUB_API_URL``, ``GITHUB_REPOSITORY``, as GitHub
    Actions sets the last two), which wins where set."""
    env = os.environ if environ is None else environ
    parsed = parse_remote(remote_url)
    kind = env.get("PROMOTER_FORGE", "").strip().lower()
    if not kind and parsed is not None and parsed[0] == "github.com":
        kind = "github"
    if not kind and env.get("GITHUB_API_URL"):
        kind = "github"
    if kind not in KINDS:
        what = f"{kind!r} is not a forge promoter knows" if kind else "no forge is known"
        raise ForgeError(
            f"{what} for this repository (remote {_safe(remote_url)})",
            hint="Set PROMOTER_FORGE=github, and GITHUB_API_URL for GitHub Enterprise "
            "(https://HOST/api/v3) with GITHUB_REPOSITORY=owner/name where the remote URL "
            "does not name the repository",
        )
    repository = env.get("GITHUB_REPOSITORY") or (parsed[1] if parsed else "")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
        raise ForgeError(
            f"cannot tell which GitHub repository this is (remote {_safe(remote_url)})",
            hint="Set GITHUB_REPOSITORY=owner/name",
        )
    api = env.get("GITHUB_API_URL") or "https://api.github.com"
    return Location("github", api.rstrip("/"), repository)


def token(kind: Kind, environ: Mapping[str, str] | None = None) -> str:
    """The forge token, from the environment; never printed."""
    env = os.environ if environ is None else environ
    for name in TOKENS[kind]:
        value = env.get(name, "").strip()
        if value:
            return value
    raise ForgeError(
        f"no token for {kind}: {' or '.join(TOKENS[kind])} is not set",
        hint=f"Export {TOKENS[kind][0]} with a token that may push branches and open pull "
        "requests (GitHub Actions: `permissions: contents: write, pull-requests: write`)",
    )


def connect(location: Location, environ: Mapping[str, str] | None = None) -> Forge:
    """The adapter for ``location``, authenticated from the environment."""
    from promoter.forge.github import GitHub

    return GitHub(location, token(location.kind, environ))


def _safe(url: str) -> str:
    from promoter.reference import without_credentials

    return without_credentials(url)[0]
