"""The only module that touches git. Plain values go in and out: shas, paths, trailers.

Everything goes through GitPython's command runner (argument lists, never a shell), so
the user's own git configuration applies: identity, commit signing, credential helpers,
hooks. History is read in bulk with one ``git log`` and a format string.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from promoter.errors import GitError

if TYPE_CHECKING:
    from git import Repo

# Separators that never occur in commit metadata: record, unit and trailer separators.
_RS, _US, _GS = "\x1e", "\x1f", "\x1d"
# The body (%b) rather than git's %(trailers): reading the last paragraph here is faster
# than asking git to parse trailers, and promoter writes its trailers one per line.
_LOG_FORMAT = _US.join(["%H", "%an", "%ae", "%aI", "%cI", "%s", "%b"]) + _RS
_C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


class Commit(NamedTuple):
    """One commit as read from ``git log``: who, when, what it says, and its trailers.

    A NamedTuple: a long history is read as tens of thousands of these.
    """

    sha: str
    author_name: str
    author_email: str
    authored: dt.datetime
    committed: dt.datetime
    subject: str
    trailers: tuple[tuple[str, str], ...]
    fields: dict[str, list[str]] = {}  # noqa: RUF012 - trailer values by lower-cased key

    def trailer(self, key: str) -> str | None:
        """The last value of trailer ``key`` (case-insensitive), or None."""
        values = self.by_key().get(key.lower())
        return values[-1] if values else None

    def trailer_values(self, key: str) -> list[str]:
        """Every value of trailer ``key`` (case-insensitive), in order."""
        return self.by_key().get(key.lower(), [])

    def by_key(self) -> dict[str, list[str]]:
        """Trailer values by lower-cased key (built by the log reader, or here)."""
        if self.fields or not self.trailers:
            return self.fields
        index: dict[str, list[str]] = {}
        for name, value in self.trailers:
            index.setdefault(name.lower(), []).append(value)
        return index


class PushRejected(GitError):
    """The remote refused a push because it moved on (not a fast-forward)."""


def _stderr(exc: Any) -> str:
    text = getattr(exc, "stderr", "") or str(exc)
    text = str(text).strip().removeprefix("stderr:").strip().strip("'").strip()
    return " ".join(text.split())


class Git:
    """A git working copy."""

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self.root = Path(repo.working_tree_dir or ".").resolve()

    @classmethod
    def open(cls, path: Path) -> Git:
        """Open the repository that contains ``path``."""
        from git import InvalidGitRepositoryError, NoSuchPathError, Repo

        try:
            repo = Repo(path, search_parent_directories=True)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise GitError(
                f"not a git repository: {path}",
                hint="Run promoter inside your GitOps repository or pass --repo",
            ) from None
        if repo.bare:
            raise GitError(
                f"{path} is a bare repository", hint="Run promoter in a clone with a work tree"
            )
        return cls(repo)

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run ``git ARGS`` and return its stdout; raise GitError with git's own message."""
        from git import GitCommandError

        try:
            out: str = self._repo.git.execute(
                ["git", *args],
                env={**_C_LOCALE, **(env or {})},
                strip_newline_in_stdout=False,
            )
        except GitCommandError as exc:
            raise GitError(
                f"git {args[0]} failed: {_stderr(exc)}",
                hint="Check the repository state with `git status`",
            ) from None
        return out

    def run_bytes(self, *args: str) -> bytes:
        """Run ``git ARGS`` and return raw stdout: for large outputs, decoded once by the caller."""
        from git import GitCommandError

        try:
            out: bytes = self._repo.git.execute(
                ["git", *args], env=_C_LOCALE, stdout_as_string=False
            )
        except GitCommandError as exc:
            raise GitError(
                f"git {args[0]} failed: {_stderr(exc)}",
                hint="Check the repository state with `git status`",
            ) from None
        return out

    # -- state -------------------------------------------------------------------------

    def has_commits(self) -> bool:
        """False in a repository whose branch has no commit yet."""
        from git import GitCommandError

        try:
            self._repo.git.execute(["git", "rev-parse", "--verify", "--quiet", "HEAD"])
        except GitCommandError:
            return False
        return True

    def head(self) -> str:
        """The sha of HEAD."""
        return self.run("rev-parse", "HEAD").strip()

    def branch(self) -> str:
        """The current branch; refuses a detached HEAD."""
        from git import GitCommandError

        try:
            name = str(
                self._repo.git.execute(["git", "symbolic-ref", "--quiet", "--short", "HEAD"])
            ).strip()
        except GitCommandError:
            name = ""
        if not name:
            raise GitError("HEAD is detached", hint="Check out the branch to promote on")
        return name

    def upstream(self) -> tuple[str, str] | None:
        """The (remote, branch) the current branch tracks, or None."""
        from git import GitCommandError

        try:
            ref = self._repo.git.execute(
                ["git", "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"],
                env=_C_LOCALE,
            ).strip()
        except GitCommandError:
            return None
        remote, _, branch = ref.partition("/")
        return (remote, branch) if branch else None

    def dirty(self, paths: Sequence[str] = ()) -> list[str]:
        """Paths with uncommitted changes (staged, unstaged or untracked), git's short form."""
        out = self.run("status", "--porcelain=v1", "--untracked-files=all", "--", *paths)
        return [line[3:] for line in out.splitlines() if line.strip()]

    def config(self, key: str) -> str | None:
        """A git config value, or None."""
        from git import GitCommandError

        try:
            return str(self._repo.git.execute(["git", "config", "--get", key])).strip() or None
        except GitCommandError:
            return None

    def ahead_behind(self, ref: str) -> tuple[int, int]:
        """How many commits HEAD is ahead of and behind ``ref``."""
        out = self.run("rev-list", "--left-right", "--count", f"HEAD...{ref}").split()
        return int(out[0]), int(out[1])

    # -- changes -----------------------------------------------------------------------

    def commit(self, paths: Sequence[str], message: str, *, allow_empty: bool = False) -> str:
        """Commit exactly ``paths`` (or nothing, with allow_empty) and return the new sha.

        ``git commit`` itself runs, so the user's hooks and signing configuration apply.
        """
        if paths:
            self.run("add", "--", *paths)
        # The message goes through a file: a release train's trailers can exceed what one
        # command-line argument may hold.
        with tempfile.TemporaryDirectory(prefix="promoter-") as tmp:
            message_file = Path(tmp) / "COMMIT_MSG"
            message_file.write_text(message, encoding="utf-8")
            args = ["commit", "--quiet", "--cleanup=strip", f"--file={message_file}"]
            if allow_empty:
                args.append("--allow-empty")
            if paths:
                args.extend(["--", *paths])
            self.run(*args)
        return self.head()

    def reset_hard(self, sha: str) -> None:
        """Move the branch, index and work tree back to ``sha`` (undoes our own commit)."""
        self.run("reset", "--quiet", "--hard", sha)

    def fetch(self, remote: str, branch: str) -> None:
        """Fetch one branch from a remote."""
        self.run("fetch", "--quiet", remote, branch)

    def fast_forward(self, ref: str) -> None:
        """Fast-forward the current branch to ``ref``; never merges or rebases."""
        self.run("merge", "--quiet", "--ff-only", ref)

    def push(self, remote: str, branch: str) -> None:
        """Push the current branch; raise PushRejected when the remote has moved on.

        Never forces: a rejected push is retried by the caller after fetching.
        """
        from git import GitCommandError

        try:
            self._repo.git.execute(
                ["git", "push", "--porcelain", remote, f"HEAD:refs/heads/{branch}"],
                env=_C_LOCALE,
            )
        except GitCommandError as exc:
            out = f"{exc.stdout or ''}\n{exc.stderr or ''}"
            # A race shows as a rejected non-fast-forward, or, when two pushes meet at the
            # remote, as a ref it could not lock: both mean "fetch and try again".
            races = (
                "[rejected]",
                "non-fast-forward",
                "fetch first",
                "cannot lock ref",
                "incorrect old value",
                "failed to update ref",
            )
            if any(marker in out for marker in races):
                raise PushRejected(
                    f"push to {remote}/{branch} was rejected: the branch moved on",
                    hint="promoter fetches, re-checks and retries",
                ) from None
            raise GitError(
                f"push to {remote}/{branch} failed: {_stderr(exc)}",
                hint="Check your credentials and the remote's branch protection; "
                "nothing was left behind locally",
            ) from None

    # -- reading history ---------------------------------------------------------------

    def log(
        self,
        rev: str = "HEAD",
        paths: Sequence[str] = (),
        *,
        grep: str | None = None,
        fixed: Sequence[str] = (),
        max_count: int | None = None,
    ) -> Iterator[Commit]:
        """Commits reachable from ``rev``, newest first, read with one ``git log``.

        ``grep`` keeps messages matching an extended regex; ``fixed`` keeps messages that
        contain any of these strings. Either way git filters, in C, before Python parses.
        """
        args = ["log", f"--format={_LOG_FORMAT}", rev]
        if grep:
            args.extend(["--extended-regexp", f"--grep={grep}"])
        if fixed:
            args.append("--fixed-strings")
            args.extend(f"--grep={text}" for text in fixed)
        if max_count is not None:
            args.append(f"--max-count={max_count}")
        if paths:
            args.extend(["--", *paths])
        out = self.run_bytes(*args).decode("utf-8", errors="replace")
        for raw in out.split(_RS):
            record = raw.strip("\n")
            if record:
                yield _parse_record(record)

    def log_patches(self, rev: str, paths: Sequence[str]) -> Iterator[tuple[Commit, str]]:
        """Commits that touched ``paths``, newest first, each with its zero-context diff.

        One ``git log -p`` for the whole history; the diff is git's own unified format.
        """
        fmt = _RS + _LOG_FORMAT.removesuffix(_RS) + _GS
        out = self.run(
            "log",
            "-p",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            f"--format={fmt}",
            rev,
            "--",
            *paths,
        )
        for chunk in out.split(_RS):
            header, sep, diff = chunk.partition(_GS)
            if sep:
                yield _parse_record(header.strip("\n")), diff

    def show(self, rev: str, path: str) -> str | None:
        """The text of ``path`` at ``rev``, or None when it did not exist there."""
        from git import GitCommandError

        try:
            out: str = self._repo.git.execute(
                ["git", "show", f"{rev}:{path}"], env=_C_LOCALE, strip_newline_in_stdout=False
            )
        except GitCommandError:
            return None
        return out

    def verify_commit(self, sha: str) -> tuple[bool, str]:
        """Check a commit's signature with git's own verification: (ok, git's message)."""
        from git import GitCommandError

        try:
            status, out, err = self._repo.git.execute(
                ["git", "verify-commit", "--raw", sha],
                with_extended_output=True,
                env=_C_LOCALE,
            )
        except GitCommandError as exc:
            return False, _stderr(exc) or "no valid signature"
        return status == 0, " ".join(f"{out} {err}".split())


def _parse_record(record: str) -> Commit:
    sha, name, email, authored, committed, subject, body = record.split(_US, 6)
    pairs = []
    fields: dict[str, list[str]] = {}
    # Trailers are the "Key: value" lines of the message's last paragraph.
    for line in body.rstrip("\n").rpartition("\n\n")[2].split("\n"):
        key, sep, value = line.partition(":")
        if sep and key and " " not in key:
            value = value.strip()
            pairs.append((key, value))
            fields.setdefault(key.lower(), []).append(value)
    return Commit(
        sha.strip(),
        name,
        email,
        dt.datetime.fromisoformat(authored),
        dt.datetime.fromisoformat(committed),
        subject,
        tuple(pairs),
        fields,
    )
