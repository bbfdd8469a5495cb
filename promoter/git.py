"""The only module that touches git. Plain values go in and out: shas, paths, trailers.

Everything goes through GitPython's command runner (argument lists, never a shell), so
the user's own git configuration applies: identity, commit signing, credential helpers,
hooks. History is read in bulk with one ``git log`` and a format string.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import os
import queue
import threading
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from promoter.errors import GitError
from promoter.patches import FileDiff, Lines, PatchError, read_diffs

if TYPE_CHECKING:
    from git import Repo

# Every field of a log record is followed by a NUL (`-z` ends each record with one), and
# git's formatted output never holds a NUL inside a field: git cuts names and messages at
# their first NUL. So no commit content can shift the framing: a body that contains other
# control characters, or text shaped like a record, stays inside its own field.
# The body (%b) rather than git's %(trailers): reading the last paragraph here is faster
# than asking git to parse trailers, and promoter writes its trailers one per line.
_FIELDS = ("%H", "%P", "%an", "%ae", "%aI", "%cI", "%s", "%b")
_LOG_FORMAT = "%x00".join(_FIELDS)
_HEX = frozenset("0123456789abcdef")
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
    fields: dict[str, list[str]]  # trailer values by lower-cased key, in message order
    parents: tuple[str, ...] = ()

    def trailer(self, key: str) -> str | None:
        """The last value of trailer ``key`` (case-insensitive), or None."""
        values = self.fields.get(key.lower())
        return values[-1] if values else None

    def trailer_values(self, key: str) -> list[str]:
        """Every value of trailer ``key`` (case-insensitive), in order."""
        return self.fields.get(key.lower(), [])


class Signature(NamedTuple):
    """What git's own verification says of a commit: ``%G?``, the signer and the key."""

    status: str  # G good, B bad, U unknown key or validity, X/Y expired, R revoked, E, N none
    signer: str = ""  # the allowed-signers principal (SSH), or the key's user ID (GPG)
    key: str = ""  # the key's fingerprint


class Worktree(NamedTuple):
    """The state of the working copy, as ``git status`` reports it."""

    head: str | None  # None before the first commit
    branch: str | None  # None on a detached HEAD
    upstream: tuple[str, str] | None  # (remote, branch) it tracks, when git can compare
    ahead: int  # commits the upstream does not have
    behind: int  # commits only the upstream has
    dirty: list[str]  # paths with staged, unstaged or untracked changes
    tracking: str | None = None  # the remote-tracking ref for upstream, e.g. origin/main


class PushRejected(GitError):
    """The remote refused a push because it moved on (not a fast-forward)."""

    said = ""  # what git and the remote said of it, one line


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
        status, out, err = self._call(args, env)
        if status != 0:
            raise GitError(
                f"git {args[0]} failed: {' '.join(err.split())}",
                hint="Check the repository state with `git status`",
            )
        return out

    def _call(
        self, args: Sequence[str], env: dict[str, str] | None = None, stdin: bytes | None = None
    ) -> tuple[int, str, str]:
        """Run ``git ARGS``: (exit status, stdout, stderr).

        If promoter is interrupted (Ctrl-C, SIGTERM) while git runs, git is killed before
        the interruption goes on: a ``git commit`` must not finish after promoter has
        reset its branch, nor a ``git push`` run on after promoter said it stopped.
        """
        import subprocess

        process = self._repo.git.execute(
            ["git", *args],
            env={**_C_LOCALE, **(env or {})},
            as_process=True,
            istream=subprocess.PIPE if stdin is not None else None,
        )
        proc = process.proc
        if proc is None:  # pragma: no cover - GitPython always starts one
            raise GitError(f"git {args[0]} did not start", hint="Check that git is installed")
        try:
            out, err = proc.communicate(stdin)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        decode = codecs.decode
        return proc.returncode, decode(out, "utf-8", "replace"), decode(err, "utf-8", "replace")

    def stream(self, *args: str) -> Iterator[str]:
        """Run ``git ARGS`` and yield its stdout, decoded, in chunks while git still runs.

        Reader threads drain stdout and stderr so that git never waits for the caller:
        parsing a long ``git log`` then overlaps with git producing it (two processes, two
        cores), and a git that writes much to stderr (warnings, GIT_TRACE) cannot block
        on a full pipe. Stopping early kills git. Raise GitError with git's own message
        if it fails.
        """
        process = self._repo.git.execute(["git", *args], env=_C_LOCALE, as_process=True)
        proc = process.proc
        if proc is None or proc.stdout is None or proc.stderr is None:  # pragma: no cover
            raise GitError(f"git {args[0]} did not start", hint="Check that git is installed")
        chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        complaints: list[bytes] = []
        readers = [
            threading.Thread(target=_drain, args=(proc.stdout.fileno(), chunks.put, True)),
            threading.Thread(target=_drain, args=(proc.stderr.fileno(), complaints.append)),
        ]
        for reader in readers:
            reader.daemon = True
            reader.start()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        finished = False
        try:
            while data := chunks.get():
                yield decoder.decode(data)
            yield decoder.decode(b"", final=True)
            finished = True
        finally:
            if not finished:
                proc.kill()
            for reader in readers:
                reader.join()
            status = proc.wait()
        if status != 0:
            message = b"".join(complaints).decode("utf-8", errors="replace")
            raise GitError(
                f"git {args[0]} failed: {' '.join(message.split())}",
                hint="Check the repository state with `git status`",
            )

    # -- state -------------------------------------------------------------------------

    def head_or_none(self) -> str | None:
        """The sha of HEAD, or None in a repository whose branch has no commit yet."""
        status, out, err = self._call(["rev-parse", "--verify", "--quiet", "HEAD"])
        if status == 0 and out.strip():
            return out.strip()
        if status == 1 and not err.strip():  # --quiet: no such commit (an unborn branch)
            return None
        raise GitError(
            f"git rev-parse failed: {' '.join(err.split())}",
            hint="Check the repository state with `git status`",
        )

    def has_commits(self) -> bool:
        """False in a repository whose branch has no commit yet."""
        return self.head_or_none() is not None

    def head(self) -> str:
        """The sha of HEAD."""
        return self.run("rev-parse", "HEAD").strip()

    def resolve_commit(self, rev: str) -> str | None:
        """The full sha of commit ``rev`` (a sha, a prefix, a ref), or None."""
        status, out, _ = self._call(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"]
        )
        return out.strip() if status == 0 and out.strip() else None

    def is_ancestor(self, ancestor: str, rev: str = "HEAD") -> bool:
        """Whether ``ancestor`` is reachable from ``rev``."""
        status, _, _ = self._call(["merge-base", "--is-ancestor", ancestor, rev])
        return status == 0

    def head_commit(self) -> tuple[str, dt.datetime]:
        """The sha of HEAD and its committer date."""
        sha, _, when = self.run("log", "-1", "--format=%H %cI", "HEAD").strip().partition(" ")
        return sha, dt.datetime.fromisoformat(when)

    @property
    def git_dir(self) -> Path:
        """The repository's git directory (shared by its worktrees)."""
        return Path(self._repo.common_dir)

    @property
    def worktree_git_dir(self) -> Path:
        """This working copy's own git directory (a linked worktree has one of its own)."""
        return Path(self._repo.git_dir)

    def require_full_history(self) -> None:
        """Refuse a shallow clone: the evidence in its missing history would be unseen.

        Read from git's own marker file (``shallow`` in the git directory), no process.
        """
        if (self.git_dir / "shallow").is_file():
            raise GitError(
                f"{self.root} is a shallow clone: promoter's evidence (arrivals, checks, "
                "approvals, soak) lives in the whole history, and a shallow clone hides the "
                "older part of it, so gates and lineage would be judged on a fraction",
                hint="Fetch the rest with `git fetch --unshallow`, or clone with full "
                "history (GitHub Actions: actions/checkout with fetch-depth: 0; GitLab CI: "
                "GIT_DEPTH: 0)",
            )

    def changed(self, old: str, new: str, path: str) -> bool:
        """Whether ``path`` differs between commits ``old`` and ``new`` (trees compared,
        no history walked)."""
        status, _, err = self._call(["diff", "--quiet", old, new, "--", path])
        if status > 1:
            raise GitError(f"git diff failed: {' '.join(err.split())}")
        return status == 1

    def extends_linearly(self, ancestor: str, head: str) -> bool:
        """Whether ``head`` is ``ancestor`` plus a straight line of single-parent commits."""
        try:
            lines = self.run("rev-list", "--parents", f"{ancestor}..{head}").split("\n")
        except GitError:
            return False  # e.g. the ancestor no longer exists
        chain = [line.split() for line in lines if line]
        expected = head
        for entry in chain:
            if len(entry) != 2 or entry[0] != expected:
                return False
            expected = entry[1]
        return expected == ancestor

    def worktree(self) -> Worktree:
        """HEAD, the branch, its upstream, and uncommitted paths, from one ``git status``."""
        out = self.run("status", "--porcelain=v2", "--branch", "--untracked-files=all", "-z")
        head = branch = tracked = None
        ahead = behind = 0
        counted = False
        dirty: list[str] = []
        entries = iter(out.split("\0"))
        for entry in entries:
            if entry.startswith("# "):
                name, _, value = entry[2:].partition(" ")
                if name == "branch.oid" and value != "(initial)":
                    head = value
                elif name == "branch.head" and value != "(detached)":
                    branch = value
                elif name == "branch.upstream":
                    tracked = value
                elif name == "branch.ab":
                    plus, minus = value.split()
                    ahead, behind, counted = int(plus), -int(minus), True
            elif entry:
                # "1 XY ... path", "2 XY ... path" + the original path, "u ...", "? path"
                fields = {"1": 8, "2": 9, "u": 10, "?": 1, "!": 1}.get(entry[0], 0)
                dirty.append(entry.split(" ", fields)[-1])
                if entry[0] == "2":
                    next(entries, None)  # a rename's original path
        # An upstream git cannot compare with (configured, never fetched) counts as none.
        upstream = self._push_target(branch) if branch and tracked and counted else None
        return Worktree(head, branch, upstream, ahead, behind, dirty, tracked)

    def _push_target(self, branch: str) -> tuple[str, str] | None:
        """The remote and remote branch ``branch`` tracks, from the repository's config.

        Not from ``origin/main`` as git prints it: a remote's name may contain "/".
        None for a local upstream (remote ".").
        """
        reader = self._repo.config_reader("repository")
        section = f'branch "{branch}"'
        remote = str(reader.get_value(section, "remote", default=""))
        merge = str(reader.get_value(section, "merge", default=""))
        if remote in ("", ".") or not merge.startswith("refs/heads/"):
            return None
        return remote, merge.removeprefix("refs/heads/")

    def identity(self) -> tuple[str | None, str | None]:
        """git's ``user.name`` and ``user.email`` (the last of each), from one call; None
        for one that is not set. A configuration git cannot read is an error."""
        status, out, err = self._call(["config", "--get-regexp", r"^user\.(name|email)$"])
        if status == 1:  # git config: no such key
            return None, None
        if status != 0:
            raise GitError(
                f"git config failed: {' '.join(err.split())}",
                hint="Check your git configuration (`git config --list --show-origin`)",
            )
        found: dict[str, str] = {}
        for line in out.splitlines():
            key, _, value = line.partition(" ")
            found[key.lower()] = value.strip()
        return found.get("user.name") or None, found.get("user.email") or None

    # -- changes -----------------------------------------------------------------------

    def commit(
        self,
        paths: Sequence[str],
        message: str,
        *,
        new: Sequence[str] = (),
        allow_empty: bool = False,
        when: dt.datetime | None = None,
        sign: bool = False,
    ) -> str:
        """Commit exactly ``paths`` (or nothing, with allow_empty) and return the new sha.

        ``paths`` git already tracks are committed as they are in the work tree (``git
        commit -- PATHS``); the ``new`` ones among them are added first. ``git commit``
        itself runs, so the user's hooks and signing configuration apply. ``when`` dates
        the commit (author and committer), to the second. ``sign`` asks git to sign it
        (``-S``) with the configured ``user.signingkey``.
        """
        if new:
            self.run("add", "--", *new)
        # The message goes through stdin: a release train's trailers can exceed what one
        # command-line argument may hold, and a killed run leaves no message file behind.
        args = ["commit", "--quiet", "--cleanup=strip", "--file=-"]
        if allow_empty:
            args.append("--allow-empty")
        if sign:
            args.append("--gpg-sign")
        if paths:
            args.extend(["--", *paths])
        dates = None
        if when is not None:
            stamp = when.astimezone(dt.UTC).replace(microsecond=0).isoformat()
            dates = {"GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp}
        status, _, err = self._call(args, dates, stdin=message.encode("utf-8"))
        if status != 0 and sign and ("sign" in err or "gpg" in err or "ssh" in err):
            raise GitError(
                f"git could not sign the commit: {' '.join(err.split())}",
                hint="This evidence counts only when signed: configure git to sign as "
                "yourself (user.signingkey; gpg.format ssh for an SSH key), see SECURITY.md",
            )
        if status != 0:
            raise GitError(
                f"git commit failed: {' '.join(err.split())}",
                hint="Check the repository state with `git status`",
            )
        return self.head()

    def running_here(self) -> list[str]:
        """The git commands running in this working copy now, as ``pid: command line``
        (read from Linux's /proc; elsewhere, none can be seen)."""
        found = []
        me = os.getpid()
        roots = {str(self.root), str(self.worktree_git_dir.resolve())}
        with contextlib.suppress(OSError):
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit() or int(entry.name) == me:
                    continue
                try:
                    cwd = str(Path(f"/proc/{entry.name}/cwd").readlink())
                    argv = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                program = Path(argv[0].decode(errors="replace")).name if argv else ""
                inside = any(cwd == root or cwd.startswith(root + os.sep) for root in roots)
                if inside and (program == "git" or program.startswith("git-")):
                    words = " ".join(a.decode(errors="replace") for a in argv if a)
                    found.append(f"{entry.name}: {words[:80]}")
        return found

    def lock_files(self) -> list[Path]:
        """git's own lock files in this working copy: ``index.lock``, ``HEAD.lock``,
        ``next-index-*.lock`` and the like, and those of refs (``refs/heads/main.lock``,
        ``packed-refs.lock``). A killed git leaves them; every later git then fails."""
        found = [
            path
            for path in self.worktree_git_dir.glob("*.lock")
            if path.name != "promoter.lock"  # promoter's own, an OS lock held while it runs
        ]
        common = self.git_dir
        found += [path for path in (common / "refs").rglob("*.lock") if path.is_file()]
        found += [path for path in (common / "packed-refs.lock",) if path.exists()]
        return sorted(set(found))

    def reset_hard(self, sha: str) -> None:
        """Move the branch, index and work tree back to ``sha`` (undoes our own commit)."""
        self.run("reset", "--quiet", "--hard", sha)

    def fetch(self, remote: str, branch: str) -> None:
        """Fetch one branch from a remote."""
        self.run("fetch", "--quiet", remote, branch)

    def parent(self, sha: str) -> str | None:
        """The first parent of ``sha`` (None for a root commit)."""
        parents = self.run("rev-list", "--parents", "-n", "1", sha).split()[1:]
        return parents[0] if parents else None

    def commit_paths(self, sha: str) -> list[str]:
        """The paths commit ``sha`` changed against its first parent."""
        out = self.run("diff-tree", "--no-commit-id", "--name-only", "-r", "-z", "--root", sha)
        return [path for path in out.split("\0") if path]

    def fast_forward(self, ref: str) -> None:
        """Fast-forward the current branch to ``ref``; never merges or rebases."""
        self.run("merge", "--quiet", "--ff-only", ref)

    def push(self, remote: str, branch: str) -> None:
        """Push the current branch; raise PushRejected when the remote has moved on.

        Never forces: a rejected push is retried by the caller after fetching. Whether it
        was a race is read from git's own per-ref status (``--porcelain``), never from the
        remote's messages, which a hook writes as it likes.
        """
        ref = f"refs/heads/{branch}"
        status, stdout, stderr = self._call(["push", "--porcelain", remote, f"HEAD:{ref}"])
        if status == 0:
            return
        said = " ".join(
            line.strip()
            for line in f"{_push_summary(stdout, ref)}\n{stderr}".splitlines()
            if line.strip()
        )
        if _push_race(stdout, ref):
            rejected = PushRejected(
                f"push to {remote}/{branch} was rejected: the branch moved on",
                hint="promoter fetches, re-checks and retries",
            )
            rejected.said = said
            raise rejected from None
        raise GitError(
            f"push to {remote}/{branch} failed: {said}",
            hint="Check your credentials and the remote's branch protection; "
            "nothing was left behind locally",
        )

    # -- promotion branches (pull requests): written without touching the work tree ------

    def commit_files(
        self,
        base: str,
        files: Mapping[str, str],
        message: str,
        *,
        when: dt.datetime | None = None,
        sign: bool = False,
    ) -> str:
        """A new commit on top of ``base`` holding ``files`` (path to text) and nothing else
        changed; no branch, index or work tree moves. The tree is built in a private index
        file, so the user's index and files are never touched."""
        import tempfile

        folder = self.worktree_git_dir / "promoter"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="index.", suffix=".tmp", dir=folder)
        os.close(fd)
        index = {"GIT_INDEX_FILE": name}
        try:
            Path(name).unlink()  # git wants to create it
            self.run("read-tree", base, env=index)
            for path, text in files.items():
                status, blob, err = self._call(
                    ["hash-object", "-w", "--stdin"], stdin=text.encode("utf-8")
                )
                if status != 0:
                    raise GitError(f"git hash-object failed: {' '.join(err.split())}")
                self.run("update-index", "--add", "--cacheinfo", f"100644,{blob.strip()},{path}",
                         env=index)  # fmt: skip
            tree = self.run("write-tree", env=index).strip()
        finally:
            Path(name).unlink(missing_ok=True)
        args = ["commit-tree", tree, "-p", base, "-F", "-"]
        if sign:
            args.insert(1, "-S")
        dates: dict[str, str] = {}
        if when is not None:
            stamp = when.astimezone(dt.UTC).replace(microsecond=0).isoformat()
            dates = {"GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp}
        status, out, err = self._call(args, dates, stdin=message.encode("utf-8"))
        if status != 0:
            raise GitError(
                f"git commit-tree failed: {' '.join(err.split())}",
                hint="Check git's identity and signing configuration",
            )
        return out.strip()

    def remote_branch(self, remote: str, branch: str) -> str | None:
        """The sha ``branch`` has on ``remote`` now (asked of the remote), or None."""
        out = self.run("ls-remote", "--heads", remote, f"refs/heads/{branch}")
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/heads/{branch}":
                return sha
        return None

    def remote_url(self, remote: str) -> str:
        """The URL git pushes ``remote`` to."""
        return self.run("remote", "get-url", "--push", remote).strip()

    def push_branch(self, remote: str, sha: str | None, branch: str, expected: str | None) -> None:
        """Set ``branch`` on ``remote`` to ``sha`` only if it still is ``expected`` (None:
        only if it does not exist): a forced push with a lease, for promotion branches
        only. ``sha`` None deletes the branch, under the same lease. PushRejected when the
        lease fails (someone else moved it)."""
        ref = f"refs/heads/{branch}"
        lease = f"--force-with-lease={ref}:{expected or ''}"
        spec = f"{sha}:{ref}" if sha else f":{ref}"
        status, stdout, stderr = self._call(["push", "--porcelain", lease, remote, spec])
        if status == 0:
            return
        if _push_race(stdout, ref):
            raise PushRejected(
                f"{remote}/{branch} moved while promoter was updating it",
                hint="Someone else pushed to the promotion branch; run the command again",
            )
        said = " ".join(
            line.strip()
            for line in f"{_push_summary(stdout, ref)}\n{stderr}".splitlines()
            if line.strip()
        )
        raise GitError(
            f"push to {remote}/{branch} failed: {said}",
            hint="Check your credentials and whether the remote lets you push promotion "
            "branches (promoter/*)",
        )

    # -- reading history ---------------------------------------------------------------

    def log(
        self,
        rev: str = "HEAD",
        paths: Sequence[str] = (),
        *,
        grep: str | None = None,
        fixed: Sequence[str] = (),
        max_count: int | None = None,
        topo: bool = False,
    ) -> Iterator[Commit]:
        """Commits reachable from ``rev``, newest first, read with one ``git log``.

        ``grep`` keeps messages matching an extended regex; ``fixed`` keeps messages that
        contain any of these strings. Either way git filters, in C, before Python parses.
        """
        args = ["log", "-z", f"--format={_LOG_FORMAT}", rev, *_filters(grep, fixed)]
        if topo:
            args.append("--topo-order")
        if max_count is not None:
            args.append(f"--max-count={max_count}")
        if paths:
            args.extend(["--", *paths])
        yield from _records(self.stream(*args))

    def shas(
        self,
        rev: str,
        *,
        grep: str | None = None,
        fixed: Sequence[str] = (),
        first_parent: bool = False,
    ) -> set[str]:
        """The shas of the commits :meth:`log` would list with the same filters; with
        ``first_parent``, only those on ``rev``'s first-parent line."""
        args = ["log", "-z", "--format=%H", rev, *_filters(grep, fixed)]
        if first_parent:
            args.append("--first-parent")
        return {sha for sha in "".join(self.stream(*args)).split("\0") if sha}

    def first_parents_since(self, rev: str, since: dt.datetime) -> set[str]:
        """The commits on ``rev``'s first-parent line dated after ``since``: a walk that
        stops at ``since`` (commit dates that run backwards may end it early)."""
        out = self.run("rev-list", "--first-parent", f"--since={int(since.timestamp())}", rev)
        return set(out.split())

    def landings(
        self, shas: Collection[str], rev: str, since: dt.datetime
    ) -> dict[str, dt.datetime]:
        """When each of ``shas`` reached ``rev``'s first-parent line through a merge (see
        :meth:`landing`), for all of them at once: one walk of the commit graph back to
        ``since``. A sha the walk cannot place (behind a commit dated before ``since``) is
        asked about alone; one on the line itself is left out."""
        wanted = set(shas)
        if not wanted:
            return {}
        out = self.run(
            "log", "-z", "--format=%H%x00%P%x00%cI", f"--since={int(since.timestamp())}", rev
        )
        fields = out.split("\0")
        graph = {
            fields[i].strip(): (fields[i + 1].split(), fields[i + 2].strip())
            for i in range(0, len(fields) - 2, 3)
        }
        head = self.run("rev-parse", rev).strip()
        line, reached = first_parent_arrivals({sha: p for sha, (p, _) in graph.items()}, head)
        found = {
            sha: dt.datetime.fromisoformat(graph[line[reached[sha]]][1])
            for sha in wanted
            if sha in reached and line[reached[sha]] != sha
        }
        for sha in wanted - reached.keys():
            when = self.landing(sha, rev)
            if when is not None:
                found[sha] = when
        return found

    def landing(self, sha: str, rev: str = "HEAD") -> dt.datetime | None:
        """When ``sha`` reached ``rev``'s first-parent line, if it came through a merge:
        the committer date of the oldest commit on that line that contains it. None when
        ``sha`` is on that line itself (it reached the branch with its own date)."""
        head = self.run("rev-parse", rev).strip()
        if head == sha:
            return None
        out = self.run("log", "--ancestry-path", "-z", "--format=%H%x00%P%x00%cI", f"{sha}..{rev}")
        fields = out.split("\0")
        found = {
            fields[i].strip(): (fields[i + 1].split(), fields[i + 2])
            for i in range(0, len(fields) - 2, 3)
        }
        # descendants of sha: follow first parents from rev while they stay among them
        current, landed, parents = head, None, [head]
        while current in found:
            parents, landed = found[current]
            current = parents[0] if parents else ""
        if current == sha:
            return None  # the line runs through sha itself
        return dt.datetime.fromisoformat(landed.strip()) if landed else None

    def log_patches(
        self, rev: str, paths: Sequence[str], *, first_parent: bool = False, reverse: bool = False
    ) -> Generator[tuple[Commit, list[FileDiff]], None, None]:
        """Commits that touched ``paths``, newest first, each with its zero-context diffs.

        One ``git log -p`` for the whole history, read strictly (see :mod:`promoter.patches`):
        the commit header is NUL-framed like :meth:`log`, and hunks are taken by their
        counts, so no file content or commit message can forge a record. With
        ``first_parent``, only the branch's own line of commits, each merge diffed against
        its first parent: the changes as they reached the branch.
        """
        args = [
            "log",
            "-p",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--no-textconv",
            "--diff-merges=first-parent" if first_parent else "--diff-merges=off",
            f"--format=%x00{_LOG_FORMAT}%x00",
            *(["--first-parent"] if first_parent else []),
            *(["--reverse"] if reverse else []),
            rev,
            "--",
            *paths,
        ]
        lines = Lines(_lines(self.stream(*args)))
        width = len(_FIELDS)
        try:
            while (line := lines.peek()) is not None:
                if not line.startswith("\0"):
                    raise PatchError(f"unexpected line {line[:60]!r} before a commit")
                header = lines.take()[1:]
                while header.count("\0") < width:
                    header += "\n" + lines.take()
                fields, _, after = header.rpartition("\0")
                if after:
                    raise PatchError(f"unexpected text {after[:60]!r} after a commit header")
                commit = _parse_record(fields.split("\0"))
                yield commit, read_diffs(lines, "\0")
        except PatchError as exc:
            raise GitError(
                f"git log -p printed output promoter cannot read: {exc}",
                hint="Check the repository with `git fsck`; promoter reads history only "
                "when every record is whole",
            ) from None

    def files_at(self, rev: str, folder: str) -> list[str]:
        """The paths of the files ``rev`` holds under ``folder`` (repository-relative)."""
        out = self.run("ls-tree", "-r", "-z", "--name-only", rev, "--", folder)
        return [path for path in out.split("\0") if path]

    def show(self, rev: str, path: str) -> str | None:
        """The text of ``path`` at ``rev``, or None when ``rev`` has no such file. Any
        other failure (an unknown revision, a damaged repository) is an error."""
        status, out, err = self._call(["show", "--no-textconv", f"{rev}:{path}"])
        if status == 0:
            return out
        missing = "does not exist in" in err or "exists on disk, but not in" in err
        if missing and self.resolve_commit(rev) is not None:  # git says so of any rev
            return None
        raise GitError(
            f"git show {rev}:{path} failed: {' '.join(err.split())}",
            hint="Check the repository with `git fsck`",
        )

    def signatures(self, shas: Sequence[str]) -> dict[str, Signature]:
        """git's verification of each commit's signature, from one ``git log``: it checks
        SSH signatures against ``gpg.ssh.allowedSignersFile`` and GPG ones against the
        keyring, as ``git verify-commit`` does."""
        if not shas:
            return {}
        status, out, err = self._call(
            ["log", "--no-walk=unsorted", "--stdin", "-z", "--format=%H%x00%G?%x00%GS%x00%GK"],
            stdin="".join(f"{sha}\n" for sha in dict.fromkeys(shas)).encode(),
        )
        if status != 0:
            raise GitError(
                f"git log failed to read signatures: {' '.join(err.split())}",
                hint="Check the repository state with `git status`",
            )
        tokens = out.split("\0")
        found: dict[str, Signature] = {}
        for start in range(0, len(tokens) - 3, 4):
            sha, letter, signer, key = tokens[start : start + 4]
            found[sha.strip()] = Signature(letter.strip() or "N", signer, key)
        return found

    def verify_commit(self, sha: str) -> tuple[bool, str]:
        """Check a commit's signature with git's own verification: (ok, git's message)."""
        status, out, err = self._call(["verify-commit", "--raw", sha])
        said = " ".join(f"{out} {err}".split())
        return status == 0, said or ("" if status == 0 else "no valid signature")


def first_parent_arrivals(
    parents: Mapping[str, Sequence[str]], head: str
) -> tuple[list[str], dict[str, int]]:
    """The first-parent line of ``head`` (oldest first, as far as ``parents`` reaches), and
    for every commit reachable from it the index on that line where it reached the branch:
    its own, or that of the oldest merge that brought it."""
    line: list[str] = []
    sha: str | None = head
    while sha is not None and sha in parents:
        line.append(sha)
        sha = parents[sha][0] if parents[sha] else None
    line.reverse()
    reached: dict[str, int] = {}
    for index, commit in enumerate(line):
        reached[commit] = index
        todo = list(parents[commit][1:])
        while todo:
            side = todo.pop()
            if side in reached or side not in parents:
                continue
            reached[side] = index
            todo.extend(parents[side])
    return line, reached


def _filters(grep: str | None, fixed: Sequence[str]) -> list[str]:
    """git log's message filters: an extended regex, or any of some fixed strings."""
    if grep:
        return ["--extended-regexp", f"--grep={grep}"]
    if fixed:
        return ["--fixed-strings", *(f"--grep={text}" for text in fixed)]
    return []


def _drain(fd: int, sink: Callable[[bytes], object], grow: bool = False) -> None:
    """Read ``fd`` to its end into ``sink``; an empty chunk marks the end."""
    if grow:
        with contextlib.suppress(ImportError, AttributeError, OSError):
            import fcntl  # Linux: a bigger pipe lets git run further ahead of the reader

            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    try:
        while data := os.read(fd, 1 << 20):
            sink(data)
    except OSError:
        pass  # the process was killed: the reader just stops
    finally:
        sink(b"")


def trailer_fields(message: str) -> dict[str, list[str]]:
    """The trailers of a commit message, values by lower-cased key, in order.

    Trailers are the ``Key: value`` lines of the message's last paragraph (git's own rule,
    without its continuation lines: promoter writes one trailer per line).
    """
    fields: dict[str, list[str]] = {}
    # Runs for every line of every commit in a long history: no helpers, one dict lookup.
    for line in message.rstrip("\n").rpartition("\n\n")[2].split("\n"):
        key, sep, value = line.partition(":")
        if sep and key and " " not in key:
            key = key.lower()
            values = fields.get(key)
            if values is None:
                fields[key] = [value.strip()]
            else:
                values.append(value.strip())
    return fields


def _lines(chunks: Iterator[str]) -> Iterator[str]:
    """The lines of streamed output, split on newlines only (never on the other line
    breaks Python knows: a file's content may hold them)."""
    rest = ""
    for chunk in chunks:
        parts = (rest + chunk).split("\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def _records(chunks: Iterator[str]) -> Iterator[Commit]:
    """Commits from the NUL-framed output of ``git log -z --format=_LOG_FORMAT``."""
    width = len(_FIELDS)
    rest = ""
    for chunk in chunks:
        tokens = (rest + chunk).split("\0")
        rest = tokens.pop()  # a field still being written, or ""
        whole = len(tokens) - len(tokens) % width
        for start in range(0, whole, width):
            yield _parse_record(tokens[start : start + width])
        if whole < len(tokens):
            rest = "\0".join([*tokens[whole:], rest])
    if rest:
        raise _framing_error(rest[:40])


# A remote-rejected ref whose reason is one of these lost a race inside the remote: two
# pushes met and the other one moved the ref first. receive-pack writes these reasons
# itself; a hook can only decline ("pre-receive hook declined", "hook declined").
_REMOTE_RACES = ("cannot lock ref", "failed to update ref", "incorrect old value")


def _push_status(stdout: str, ref: str) -> tuple[str, str] | None:
    """The flag and summary ``git push --porcelain`` gives the line of ``ref``:
    ``FLAG\tFROM:TO\tSUMMARY (REASON)``."""
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].rpartition(":")[2] == ref:
            return parts[0], parts[2]
    return None


def _push_summary(stdout: str, ref: str) -> str:
    found = _push_status(stdout, ref)
    return found[1] if found else ""


def _push_race(stdout: str, ref: str) -> bool:
    """Whether git says the push of ``ref`` was refused because the remote moved on."""
    found = _push_status(stdout, ref)
    if found is None or found[0] != "!":
        return False
    summary = found[1]
    if summary.startswith("[rejected]"):  # git's own check: not a fast-forward, or stale
        return True
    if summary.startswith("[remote rejected]"):
        reason = summary.removeprefix("[remote rejected]").strip().removeprefix("(")
        return reason.startswith(_REMOTE_RACES)
    return False


def _framing_error(seen: str) -> GitError:
    return GitError(
        f"git log printed a record promoter cannot read ({seen!r})",
        hint="Check the repository with `git fsck`; promoter reads history only when every "
        "record is whole",
    )


def _parse_record(fields: Sequence[str]) -> Commit:
    sha, parents, name, email, authored, committed, subject, body = fields
    if len(sha) not in (40, 64) or not _HEX.issuperset(sha):
        raise _framing_error(sha[:40])  # never parse on from a record that is not whole
    try:
        authored_at = dt.datetime.fromisoformat(authored)
        committed_at = dt.datetime.fromisoformat(committed)
    except ValueError:
        raise _framing_error(authored[:40]) from None
    return Commit(
        sha,
        name,
        email,
        authored_at,
        committed_at,
        subject,
        trailer_fields(body),
        tuple(parents.split()),
    )
