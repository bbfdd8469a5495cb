"""Reading the audit log back: promoter's commits as events, and the evidence they hold."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from promoter import records
from promoter.errors import GitError
from promoter.gcpause import paused_gc
from promoter.git import Git
from promoter.records import Event


def read_events(
    git: Git,
    rev: str = "HEAD",
    *,
    mentioning: Sequence[str] = (),
    limit: int | None = None,
    cached: bool = True,
    shallow_ok: bool = False,
) -> list[Event]:
    """Promoter events reachable from ``rev``, newest first, from one ``git log``.

    With ``mentioning`` (digests, or trailer lines such as ``Promoter-App: web``), git keeps
    only the commits whose message contains one of them: a gate check on a long history
    parses a handful of commits, not all of them. ``limit`` stops git after that many.
    The whole log of HEAD comes from the event cache when it holds it (``eventcache``),
    unless ``cached`` is False. A shallow clone is refused unless ``shallow_ok``: for a
    caller whose missing evidence can only block it, never let something through.
    """
    if not shallow_ok:
        git.require_full_history()
    if rev == "HEAD" and not mentioning and limit is None and cached:
        return _all_events(git)
    with paused_gc():
        found = (
            git.log(rev, fixed=mentioning, max_count=limit)
            if mentioning
            else git.log(rev, grep=records.GREP, max_count=limit)
        )
        try:
            return records.parse_all(found)  # parsed while git still writes the log
        except GitError:
            if rev == "HEAD" and not git.has_commits():
                return []  # a new repository: no history yet
            raise


def _all_events(git: Git) -> list[Event]:
    """Every event reachable from HEAD: cached, extended with new commits, or read whole."""
    return _all_history(git).events


class History(NamedTuple):
    """Events, newest first, and when the moves among them that came through a merge
    reached the branch (the merge's date; every other move reached it with its commit)."""

    events: list[Event]
    landed: dict[str, dt.datetime]


def read_history(
    git: Git, *, mentioning: Sequence[str] = (), cached: bool = True, shallow_ok: bool = False
) -> History:
    """Events reachable from HEAD (only those ``mentioning`` these strings, when given),
    and when each move reached the branch. See :func:`read_events`."""
    if not shallow_ok:
        git.require_full_history()
    if not mentioning and cached:
        return _all_history(git)
    head = git.head_or_none()
    if head is None:
        return History([], {})  # a new repository: no history yet
    with paused_gc():
        events = records.parse_all(git.log(head, fixed=mentioning))
    moves = [e for e in events if e.kind in _ARRIVALS and e.when is not None]
    if not moves:
        return History(events, {})
    # Which of them lie on the branch's first-parent line: a walk back to the oldest
    # (a day's margin for clocks); the others came through a merge, dated by it.
    oldest = min(e.when for e in moves if e.when is not None) - dt.timedelta(days=1)
    chain = git.first_parents_since(head, oldest)
    return History(events, _landings(git, head, events, chain))


_ARRIVALS = ("publish", "promote", "rollback", "adopt")


def _read_with_chain(
    git: Git, head: str, mentioning: Sequence[str]
) -> tuple[list[Event], set[str]]:
    """The events, and which of their commits lie on the branch's first-parent line: two
    ``git log``s with the same filter, side by side (two processes, two cores)."""
    grep = None if mentioning else records.GREP
    box: dict[str, set[str] | BaseException] = {}

    def chain() -> None:
        try:
            box["chain"] = git.shas(head, grep=grep, fixed=mentioning, first_parent=True)
        except BaseException as exc:  # handed over to the caller's thread
            box["chain"] = exc

    worker = threading.Thread(target=chain, daemon=True)
    worker.start()
    try:
        events = records.parse_all(git.log(head, grep=grep, fixed=mentioning))
    finally:
        worker.join()
    found = box["chain"]
    if isinstance(found, BaseException):
        raise found
    return events, found


def _landings(
    git: Git, head: str, events: Sequence[Event], chain: set[str]
) -> dict[str, dt.datetime]:
    """When each move off the first-parent line reached the branch: its merge's date."""
    off_line = [e for e in events if e.sha not in chain and e.kind in _ARRIVALS]
    if not off_line:
        return {}
    dated = [e.when for e in off_line if e.when is not None]
    # a day's margin for clocks, as for the chain
    since = min(dated) - dt.timedelta(days=1) if dated else dt.datetime.fromtimestamp(0, dt.UTC)
    return git.landings([e.sha for e in off_line], head, since)


def _all_history(git: Git) -> History:
    """Every event reachable from HEAD: cached, extended with new commits, or read whole."""
    from promoter import eventcache  # json and hashlib: only for whole-history reads

    head = git.head_or_none()
    if head is None:
        return History([], {})  # a new repository: no history yet
    use_cache = eventcache.enabled()
    with paused_gc():
        cached = eventcache.load(git.git_dir) if use_cache else None
        known = None
        if cached is not None and (cached.tip == head or git.extends_linearly(cached.tip, head)):
            known = cached.events()
        if cached is not None and known is not None and cached.tip == head:
            return History(known, cached.landed)
        if cached is not None and known is not None:
            # a straight line of new commits: every one of them is on the first-parent line
            found = git.log(f"{cached.tip}..{head}", grep=records.GREP)
            history = History(records.parse_all(found) + known, cached.landed)
        else:
            events, chain = _read_with_chain(git, head, ())
            history = History(events, _landings(git, head, events, chain))
        if use_cache:
            eventcache.store(git.git_dir, eventcache.Entry(head, history.events, history.landed))
        return history


def select(
    events: Iterable[Event], environment: str | None = None, app: str | None = None
) -> list[Event]:
    """Events that concern an environment (as target or source) and/or an app."""
    chosen = []
    for event in events:
        if environment and environment != event.environment and environment not in event.sources:
            continue
        if app and app != event.app and all(change.app != app for change in event.changes):
            continue
        chosen.append(event)
    return chosen


def age(since: dt.datetime, now: dt.datetime) -> str:
    """A short human duration: ``26h``, ``3d4h``, ``45m``."""
    seconds = max(0, int((now - since).total_seconds()))
    return duration_text(seconds)


def duration_text(seconds: int) -> str:
    """``1d12h``, ``45m``, ``30s``: the same units the pipeline file uses."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    text = "".join(parts)
    return text or f"{secs}s"
