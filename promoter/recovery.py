"""What a killed writing run leaves behind, and how the next run puts it right.

A writing run records its intent before it changes anything: one small JSON file,
``.git/promoter/intent.json``, written atomically, saying which branch and commit it
started from, which files it will write and, once made, its commit. It removes the file
when it is done (landed, found nothing to do, or undid its own change after a failure).
So if the file is there when a run takes the working copy's lock, the run that wrote it
was killed (``kill -9``, an out-of-memory kill, a lost machine): nothing alive holds the
lock, which dies with its process.

The next writing run, and ``promoter recover``, then put right exactly what that run could
have left, and nothing else:

- git's ``index.lock``, if it appeared after the run started (its own ``git commit`` was
  killed with it);
- its temporary files (``.qa.yaml.XXXXXXXX.tmp`` beside the file it was writing);
- its commit: if the remote holds it (the push landed; only the remote-tracking ref was not
  updated), a fetch is all it needs; if not, it is undone (``git reset --hard`` to where the
  run started), and the command that runs next plans again, with every gate checked anew;
- its environment files, written but not committed: restored from HEAD.

A leftover that is not promoter's (a person's edit, a commit that is not the one the run
made, an ``index.lock`` older than the run) is never touched: the run refuses with a
message that says exactly what to run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from promoter.errors import GitError
from promoter.git import Git, Worktree

_INTENT = Path("promoter") / "intent.json"
# `kill -9` of promoter leaves the git it was running alive (a commit waiting on a hook, a
# push): recovery waits this long for such a git to end before it refuses to touch anything.
GIT_WAIT = 10.0


@dataclass(frozen=True)
class Intent:
    """What a writing run is about to do."""

    command: str
    branch: str | None
    base: str  # HEAD when it started: where an undo goes back to
    files: tuple[str, ...]  # repository-relative paths it writes
    upstream: tuple[str, str] | None  # (remote, branch) it pushes to; None: local only
    started: float  # seconds since the epoch
    pid: int
    commit: str | None = None  # its commit, once made
    summary: str = ""  # what it does: its commit's subject
    # git's blob id of the text it writes, by path: a file is restored only while it still
    # holds exactly that (an edit made since the kill is someone's, and stays)
    writes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Step:
    """One thing recovery did: a stable ``action`` name for machines, the sentence for
    people, and the paths or commit it concerned."""

    # removed-index-lock, removed-git-lock, removed-temporary-file, found-pushed,
    # kept-local-commit, undid-commit, restored-files, nothing-changed
    action: str
    text: str
    paths: tuple[str, ...] = ()
    commit: str | None = None


@dataclass(frozen=True)
class Recovery:
    """What was put right of one killed run's leftovers."""

    intent: Intent
    steps: tuple[Step, ...]

    @property
    def run(self) -> str:
        """The killed run, in words: ``a killed publish run (publish(web): dev …)``."""
        summary = f" ({self.intent.summary})" if self.intent.summary else ""
        return f"a killed {self.intent.command} run{summary}"

    def lines(self) -> list[str]:
        """One sentence per step, each naming the run."""
        return [f"{self.run}: {step.text}" for step in self.steps]


def _path(git: Git) -> Path:
    return git.worktree_git_dir / _INTENT


def begin(git: Git, intent: Intent) -> Intent:
    """Record ``intent`` before the first change (atomically: never half a record)."""
    _write(_path(git), json.dumps(asdict(intent), indent=2) + "\n")
    return intent


def committed(git: Git, intent: Intent, sha: str) -> Intent:
    """Add the run's commit to its record."""
    return begin(git, replace(intent, commit=sha))


def finish(git: Git) -> None:
    """The run is done, or undid its change: forget its intent."""
    with contextlib.suppress(FileNotFoundError):
        _path(git).unlink()


def pending(git: Git) -> Intent | None:
    """The intent a killed run left, if any (call with the lock held)."""
    path = _path(git)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Intent(
            command=str(data["command"]),
            branch=data["branch"],
            base=str(data["base"]),
            files=tuple(str(f) for f in data["files"]),
            upstream=(str(data["upstream"][0]), str(data["upstream"][1]))
            if data["upstream"]
            else None,
            started=float(data["started"]),
            pid=int(data["pid"]),
            commit=data.get("commit"),
            summary=str(data.get("summary", "")),
            writes=tuple((str(p), str(b)) for p, b in data.get("writes", [])),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        raise GitError(
            f"{path} is not a record promoter can read",
            hint=f"A killed run left it damaged; check `git status` and `git log -1`, put "
            f"right what it changed by hand, then delete {path}",
        ) from None


def killed_here(root: Path) -> bool:
    """Whether a killed run's intent record is in the git directory of the working copy
    that holds ``root`` (found without starting git: read-only commands use it to warn)."""
    for folder in (root, *root.parents):
        marker = folder / ".git"
        if marker.is_dir():
            return (marker / _INTENT).is_file() and not _lock_held(marker / "promoter.lock")
        if marker.exists():  # a linked worktree's .git file: not looked into
            return False
    return False


def _lock_held(path: Path) -> bool:
    """Whether a live promoter run holds the working copy's lock (its intent record is
    then its own, not a killed run's)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no flock: cannot tell, assume not
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False


def recover(git: Git) -> Recovery | None:
    """Put right what a killed run left behind; return what was done (None: no run had
    been killed here).

    Call it with the working copy's lock held. Nothing happens without an intent record.
    """
    intent = pending(git)
    if intent is None:
        return None
    running = git.running_here()
    deadline = time.monotonic() + GIT_WAIT
    while running and time.monotonic() < deadline:  # its git, killed with it, or not
        time.sleep(0.1)
        running = git.running_here()
    if running:
        raise GitError(
            f"a promoter run ({intent.command}, pid {intent.pid}) was killed here, and git is "
            f"still running in this working copy ({'; '.join(running[:3])}): its own git "
            "may still finish what it began",
            hint=f"Wait until it ends (or stop it: `kill {running[0].split(':')[0]}`), then run "
            "the command again, or `promoter recover`; nothing was touched. (Stopping a push "
            "may not stop the remote from taking it: the next run then finds it done)",
        )
    done: list[Step] = []
    for lock in git.lock_files():  # those its killed git left: made after the run began
        with contextlib.suppress(FileNotFoundError):
            if lock.stat().st_mtime >= intent.started - 1:
                lock.unlink()
                name = _relative(git, lock)
                action = "removed-index-lock" if lock.name == "index.lock" else "removed-git-lock"
                done.append(Step(action, f"removed {name}, left by its git", (name,)))
    for tmp in (git.worktree_git_dir / "promoter").glob("index.*.tmp"):
        tmp.unlink(missing_ok=True)  # the private index of a promotion-branch commit
    for name in intent.files:
        target = git.root / name
        for tmp in target.parent.glob(f".{target.name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                where = _relative(git, tmp)
                done.append(
                    Step("removed-temporary-file", f"removed its temporary file {where}", (where,))
                )
    state = git.worktree()
    theirs = [path for path in state.dirty if path not in intent.files]
    if theirs:
        raise GitError(
            f"a promoter run ({intent.command}, pid {intent.pid}) was killed here, and the "
            f"worktree also holds changes that are not promoter's ({', '.join(theirs[:5])})",
            hint="Commit or stash your own changes (`git stash --include-untracked`), then run "
            "`promoter recover`; promoter puts right only what its own run left",
        )
    head = state.head
    if head is not None and head != intent.base and _landed_since(git, intent, head, state):
        done.append(
            Step(
                "found-pushed",
                f"found its commit {str(intent.commit)[:12]} on the remote: its push had "
                "landed, and the branch has moved on since",
                commit=intent.commit,
            )
        )
    elif head is not None and head != intent.base:
        if not _is_ours(git, intent, head):
            raise GitError(
                f"a promoter run ({intent.command}) was killed here, and the branch has "
                f"since moved to {head[:12]}, which is not the commit it made",
                hint="Check `git log -3`"
                + (
                    f"; if its commit {intent.commit[:12]} is among them, take it out "
                    f"(`git rebase --onto {intent.commit[:12]}^ {intent.commit[:12]}`)"
                    if intent.commit
                    else "; if its commit is among them, take it out (`git rebase --onto SHA^ SHA`)"
                )
                + f", then delete {_path(git)}",
            )
        if intent.upstream is None:
            done.append(
                Step(
                    "kept-local-commit",
                    f"kept its local commit {head[:12]} (it was run with --no-push)",
                    commit=head,
                )
            )
        else:
            remote, branch = intent.upstream
            git.fetch(remote, branch)
            tracking = state.tracking or f"{remote}/{branch}"
            if git.is_ancestor(head, tracking):
                done.append(
                    Step(
                        "found-pushed",
                        f"found its commit {head[:12]} on {remote}/{branch}: its push had landed",
                        commit=head,
                    )
                )
            else:
                git.reset_hard(intent.base)
                done.append(
                    Step(
                        "undid-commit",
                        f"undid its commit {head[:12]}, which {remote}/{branch} did not "
                        "hold: run that command again to land it, with every gate checked "
                        "anew (a push still in flight when the run was killed may land it "
                        "yet; the next run then finds it done)",
                        commit=head,
                    )
                )
    left = git.worktree().dirty
    changed = [path for path in left if not _as_written(git, intent, path)]
    if changed:
        raise GitError(
            f"a promoter run ({intent.command}) was killed while writing "
            f"{', '.join(changed)}, and the file has been edited since: it holds neither "
            "what the run wrote nor what HEAD holds",
            hint="Keep your edit elsewhere if you need it (`git stash`), restore the file "
            f"(`git checkout HEAD -- {' '.join(changed)}`), then run `promoter recover`",
        )
    if left:
        git.run("reset", "--quiet", "--", *left)  # staged by its `git add`, or not
        kept = set(git.run("ls-tree", "-z", "--name-only", "HEAD", "--", *left).split("\0"))
        if kept - {""}:
            git.run("checkout", "--", *sorted(kept - {""}))
        for path in set(left) - kept:
            (git.root / path).unlink(missing_ok=True)
        done.append(
            Step(
                "restored-files",
                f"restored {', '.join(left)}, which it had begun to write",
                tuple(left),
            )
        )
    finish(git)
    return Recovery(intent, tuple(done) or (Step("nothing-changed", "it had changed nothing"),))


def _landed_since(git: Git, intent: Intent, head: str, state: Worktree) -> bool:
    """Whether the run's recorded commit reached the remote and the branch has only moved
    on along it since (someone pulled after the kill)."""
    if intent.commit is None or intent.upstream is None or head == intent.commit:
        return False
    remote, branch = intent.upstream
    tracking = state.tracking or f"{remote}/{branch}"
    git.fetch(remote, branch)
    return git.is_ancestor(intent.commit, tracking) and git.is_ancestor(head, tracking)


def blob_id(data: bytes) -> str:
    """git's object id of a file holding ``data`` (SHA-1 repositories)."""
    digest = hashlib.sha1(b"blob %d\0" % len(data))  # noqa: S324 - git's object id
    digest.update(data)
    return digest.hexdigest()


def _as_written(git: Git, intent: Intent, path: str) -> bool:
    """Whether ``path`` holds exactly what the killed run wrote there (or is gone, as an
    undone new file is). A record without contents (an older promoter) trusts the name."""
    wanted = dict(intent.writes).get(path)
    if wanted is None:
        return not intent.writes
    try:
        data = (git.root / path).read_bytes()
    except FileNotFoundError:
        return True
    return blob_id(data) == wanted


def _is_ours(git: Git, intent: Intent, head: str) -> bool:
    """Whether ``head`` is the commit the killed run made: the one it recorded, or (killed
    before it could record it) a single commit on top of its base touching only its files."""
    if intent.commit is not None:
        return head == intent.commit
    if git.parent(head) != intent.base:
        return False
    return set(git.commit_paths(head)) <= set(intent.files)


def _relative(git: Git, path: Path) -> str:
    try:
        return path.relative_to(git.root).as_posix()
    except ValueError:
        return str(path)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".intent.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(name).replace(path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def now() -> float:
    """The time an intent is stamped with."""
    return dt.datetime.now(dt.UTC).timestamp()
