"""Landing a change: commit, then push; on a race, fetch, plan again and retry.

Nothing is ever force-pushed. A worktree with uncommitted changes, or a branch with
commits the remote does not have, is refused before anything is written. Whatever goes
wrong after the commit, the branch is reset to where it was, so no stray commit remains.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from promoter import recovery
from promoter.clock import CLOCK_SKEW
from promoter.errors import GitError
from promoter.fileio import write_atomic
from promoter.git import Git, PushRejected, Worktree
from promoter.records import Event
from promoter.yamlio import Document


@dataclass(frozen=True)
class Commitable:
    """What to commit: new file texts by repository-relative path, the message, and the
    time the change was judged at, which dates the commit."""

    files: Mapping[str, str]
    message: str
    when: dt.datetime | None = None
    sign: bool = False  # sign the commit (git commit -S), with the user's signing key
    # called with the new commit's sha before it is pushed; raising undoes the commit
    check: Callable[[str], None] | None = field(default=None, compare=False)
    event: Event | None = field(default=None, compare=False)  # what the message records
    # files parsed already, by name relative to the repository layout: the new text of
    # the written ones, the others as on disk (the write is checked with them)
    documents: Mapping[str, Document] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Landed:
    """Where a change landed."""

    sha: str
    pushed_to: str | None  # "origin/main", or None for a local commit
    attempts: int


def check_clean(git: Git) -> Worktree:
    """Refuse a worktree with uncommitted changes, or with git's own lock left in it;
    return its state."""
    locks = git.lock_files()
    if locks:
        running = git.running_here()
        now = f" (running now: {'; '.join(running[:3])})" if running else " (none runs now)"
        names = " ".join(str(lock) for lock in locks[:5])
        raise GitError(
            f"git's lock file{'s' * (len(locks) > 1)} {names} exist{'s' * (len(locks) == 1)}: "
            f"another git command is working in this working copy, or one was killed while "
            f"it did{now}",
            hint=f"If no git command is running here, remove {'them' if len(locks) > 1 else 'it'}"
            f" (`rm {names}`) and run the command again",
        )
    state = git.worktree()
    if state.dirty:
        dirty = state.dirty
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise GitError(
            f"the worktree has uncommitted changes ({shown})",
            hint="Commit your own edits, or stash them (`git stash --include-untracked`), "
            "first: promoter writes only its own change. (What a killed promoter run left, "
            "promoter puts right by itself: a file still changed here is not its)",
        )
    return state


def preflight(git: Git, *, push: bool) -> tuple[tuple[str, str] | None, str | None]:
    """Refuse a dirty worktree or unpushed commits; return the upstream to push to, and
    its remote-tracking ref. One ``git status`` answers all of it.
    """
    state = check_clean(git)
    branch = state.branch
    if branch is None:
        raise GitError("HEAD is detached", hint="Check out the branch to promote on")
    upstream = state.upstream if push else None
    if push and upstream is None:
        raise GitError(
            f"{branch} has no upstream branch to push to",
            hint=f"Set one (git push -u origin {branch}), or pass --no-push to commit locally",
        )
    if upstream is not None:
        check_pushed_state(git, state, upstream)
    return upstream, state.tracking


def check_pushed_state(git: Git, state: Worktree, upstream: tuple[str, str]) -> None:
    """Refuse a branch with commits its upstream lacks, naming them: a promotion never
    publishes them."""
    if not state.ahead:
        return
    ahead = state.ahead
    tracking = state.tracking or "/".join(upstream)
    shown = 5
    listed = git.run("log", f"--max-count={shown}", "--format=%h %s", f"{tracking}..HEAD")
    lines = listed.splitlines()
    if ahead > shown:
        lines.append(f"and {ahead - shown} more")
    them, are = ("it", "it is") if ahead == 1 else ("them", "they are")
    raise GitError(
        f"{state.branch} has {ahead} commit{'s' * (ahead != 1)} that "
        f"{upstream[0]}/{upstream[1]} does not have: {'; '.join(lines)}",
        hint=f"Push {them} (`git push`) if {are} meant for {upstream[0]}/{upstream[1]}; "
        f"if not, keep {them} on a branch of {'its' if ahead == 1 else 'their'} own "
        f"(`git branch my-work`) and take {them} off this one (`git reset --keep {tracking}`). "
        "A promotion never publishes other work",
    )


LOCK_WAIT = 300.0  # seconds to wait for another promoter in the same working copy
_HELD: dict[str, int] = {}  # lock files this process holds, and how deeply


@contextmanager
def exclusive(
    git: Git, wait: float = LOCK_WAIT, notify: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold this working copy's promoter lock: one writing promoter at a time.

    Two runs in one checkout would share its index, branch and files, and one could
    commit or reset the other's change, or read it before its push was refused. A
    writing command holds it from before it reads the repository to its last push or
    reset (see :func:`promoter.actions.writing_context`); taking it again inside is free.
    Separate clones need no lock: the remote orders their pushes. An OS file lock
    (``flock``), so a killed run never leaves it held.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: git's own index.lock still guards
        yield
        return
    path = git.worktree_git_dir / "promoter.lock"
    key = str(path.resolve())
    if _HELD.get(key):  # this process holds it already (a command around its landing)
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    try:
        handle = path.open("a")
    except OSError as exc:
        raise GitError(
            f"cannot create the lock file {path}: {exc.strerror or exc}",
            hint="promoter commits here, so the git directory must be writable; check its "
            "permissions (or remove what is in the way)",
        ) from None
    with handle:
        started = time.monotonic()
        deadline = started + wait
        said = notify is None
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said and time.monotonic() - started >= 1.0:
                    said = True
                    assert notify is not None
                    notify(f"waiting for another promoter run in this working copy ({path})")
                if time.monotonic() >= deadline:
                    raise GitError(
                        f"another promoter has been changing this working copy for over "
                        f"{wait:.0f} s ({path})",
                        hint="Let it finish, or run promoters in separate clones",
                    ) from None
                time.sleep(0.05)
        _HELD[key] = 1
        try:
            yield
        finally:
            _HELD.pop(key, None)
            fcntl.flock(handle, fcntl.LOCK_UN)


def catch_up(git: Git) -> bool:
    """Fetch the branch's upstream and fast-forward to it; True when that moved HEAD.
    Nothing happens on a branch without an upstream, or one that has diverged from it
    (the pre-flight check refuses that)."""
    state = git.worktree()
    if state.upstream is None or state.head is None:
        return False
    remote, branch = state.upstream
    git.fetch(remote, branch)
    tracking = git.resolve_commit(state.tracking or f"{remote}/{branch}")
    if tracking is None or tracking == state.head or not git.is_ancestor(state.head, tracking):
        return False
    git.fast_forward(tracking)
    return True


RACE_BUDGET = 300.0  # seconds a run keeps retrying pushes that lost a race
BACKOFF_CAP = 4.0  # the longest pause between two attempts, in seconds
STUCK = 5  # rejections of a push to a branch that did not move, before giving up


def backoff(attempt: int) -> float:
    """The pause after losing race number ``attempt``: "full jitter" (a random time up to
    an exponentially growing cap), so runs that lost together do not retry together."""
    return random.uniform(0, min(BACKOFF_CAP, 0.1 * 2 ** min(attempt, 10)))  # noqa: S311


def land(
    git: Git,
    prepare: Callable[[str], Commitable | None],
    *,
    push: bool = True,
    budget: float = RACE_BUDGET,
    sleep: Callable[[float], None] = time.sleep,
) -> Landed | None:
    """Commit what ``prepare`` returns and push it, retrying races; None if nothing to do.

    ``prepare`` is called with the sha of HEAD, and again after every fetch, so the
    change is planned on the newest state of the branch (another promotion may have
    landed, or made this one moot). Races are retried for ``budget`` seconds, however
    many other writers there are.
    """
    with exclusive(git):
        return _land(git, prepare, push=push, budget=budget, sleep=sleep)


def _land(
    git: Git,
    prepare: Callable[[str], Commitable | None],
    *,
    push: bool,
    budget: float,
    sleep: Callable[[float], None],
) -> Landed | None:
    upstream, tracking = preflight(git, push=push)
    deadline = time.monotonic() + budget
    attempt = 0
    stuck = 0  # rejections while the remote branch stayed where it was
    while True:
        attempt += 1
        base, dated = git.head_commit()  # the point to reset to on failure, and its date
        change = prepare(base)
        if change is None and attempt == 1 and upstream is not None and catch_up(git):
            continue  # "nothing to do" is said of what the remote holds, not a stale clone
        if change is None:
            return None
        if change.when is not None and change.when < dated - CLOCK_SKEW:
            raise GitError(
                f"HEAD ({base[:12]}) is dated {dated.isoformat()}, after this machine's clock "
                f"({change.when.isoformat()}): a commit on top of it would be dated before "
                "its parent, which `promoter audit` reports",
                hint="Check this machine's clock (NTP). If it is right, that commit's date is "
                "wrong: `promoter audit` reports it as future-date. Nothing was written",
            )
        intent = recovery.begin(
            git,
            recovery.Intent(
                command=change.event.kind if change.event else "commit",
                branch=upstream[1] if upstream else None,
                base=base,
                files=tuple(change.files),
                writes=tuple(
                    (path, recovery.blob_id(text.encode("utf-8")))
                    for path, text in change.files.items()
                ),
                upstream=upstream,
                started=recovery.now(),
                pid=os.getpid(),
                summary=change.message.split("\n", 1)[0],
            ),
        )
        try:
            new = [path for path in change.files if not (git.root / path).exists()]
            for path, text in change.files.items():
                write_atomic(git.root / path, text)
            sha = git.commit(
                list(change.files),
                change.message,
                new=new,
                allow_empty=not change.files,
                when=change.when,
                sign=change.sign,
            )
            intent = recovery.committed(git, intent, sha)
            if change.check is not None:
                change.check(sha)
        except BaseException:
            git.reset_hard(base)  # the worktree was clean: this only undoes our own writes
            recovery.finish(git)
            raise
        if upstream is None:
            recovery.finish(git)
            return Landed(sha, None, attempt)
        remote, branch = upstream
        try:
            git.push(remote, branch)
        except PushRejected as rejected:
            git.reset_hard(base)
            recovery.finish(git)
            pause = backoff(attempt)
            if time.monotonic() + pause > deadline:
                raise GitError(
                    f"the push lost the race {attempt} times in {budget:.0f} s: "
                    f"{remote}/{branch} keeps moving (last: {rejected.said})",
                    hint="Nothing was left behind locally; run the command again",
                ) from None
            sleep(pause)
            git.fetch(remote, branch)
            ref = tracking or f"{remote}/{branch}"
            if git.resolve_commit(ref) == base:
                # Refused as if it moved on, yet it has not: a ref the remote cannot lock
                # (a stale lock file there) is not a race that waiting wins.
                stuck += 1
                if stuck >= STUCK:
                    raise GitError(
                        f"{remote} refused the push {stuck} times although {remote}/{branch} "
                        f"has not moved: {rejected.said}",
                        hint=f"Ask whoever runs {remote} to check the repository (a killed "
                        "push can leave a stale lock file, such as refs/heads/"
                        f"{branch}.lock); nothing was left behind locally",
                    ) from None
            else:
                stuck = 0
            git.fast_forward(ref)
            continue
        except BaseException:
            git.reset_hard(base)
            recovery.finish(git)
            raise
        recovery.finish(git)
        return Landed(sha, f"{remote}/{branch}", attempt)
