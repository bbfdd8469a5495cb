"""Reading the audit log back: promoter's commits as events, and the evidence they hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from promoter import records
from promoter.errors import GitError
from promoter.gcpause import paused_gc
from promoter.git import Git
from promoter.records import Event

MOVES = ("publish", "promote", "rollback")  # the events that change a pinned digest


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
    from promoter import eventcache  # json and hashlib: only for whole-history reads

    head = git.head_or_none()
    if head is None:
        return []  # a new repository: no history yet
    use_cache = eventcache.enabled()
    with paused_gc():
        cached = eventcache.load(git.git_dir) if use_cache else None
        known = None
        if cached is not None and (cached.tip == head or git.extends_linearly(cached.tip, head)):
            known = cached.events()
        if cached is not None and known is not None and cached.tip == head:
            return known
        if cached is not None and known is not None:
            found = git.log(f"{cached.tip}..{head}", grep=records.GREP)
            events = records.parse_all(found) + known
        else:
            events = records.parse_all(git.log(head, grep=records.GREP))
        if use_cache:
            eventcache.store(git.git_dir, eventcache.Entry(head, events))
        return events


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


@dataclass(frozen=True)
class Evidence:
    """What the history proves, indexed for gate evaluation. Built once per command."""

    events: tuple[Event, ...]
    # (environment, app, digest) -> the newest event that put that digest there
    arrivals: dict[tuple[str, str, str], Event] = field(default_factory=dict)
    # (environment, app, digest) -> every event that put that digest there, newest first
    every_arrival: dict[tuple[str, str, str], list[Event]] = field(default_factory=dict)
    # (environment, app, digest, check) -> the newest record of that check
    checks: dict[tuple[str, str, str, str], Event] = field(default_factory=dict)
    # (target environment, app, digest) -> approvals, newest first
    approvals: dict[tuple[str, str, str], list[Event]] = field(default_factory=dict)
    # (environment, app) -> every digest that was ever moved there, newest first
    ran: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def arrival(self, environment: str, app: str, digest: str) -> Event | None:
        """The newest event that put ``digest`` into ``environment`` for ``app``."""
        return self.arrivals.get((environment, app, digest))

    def arrived_by(self, environment: str, app: str, digest: str, when: dt.datetime) -> bool:
        """Whether ``digest`` had arrived in ``environment`` for ``app`` at ``when``."""
        return any(
            event.when is not None and event.when <= when
            for event in self.every_arrival.get((environment, app, digest), ())
        )

    def has_run(self, environment: str, app: str, digest: str) -> bool:
        """Whether ``environment`` ever held ``digest`` for ``app`` through promoter."""
        return digest in self.ran.get((environment, app), ())


def build_evidence(events: Sequence[Event]) -> Evidence:
    """Index newest-first events for gates, lineage and rollback."""
    evidence = Evidence(tuple(events))
    for event in events:  # newest first: the first entry for a key is the newest
        if event.kind in MOVES:
            for change in event.changes:
                key = (event.environment, change.app, change.digest)
                evidence.arrivals.setdefault(key, event)
                evidence.every_arrival.setdefault(key, []).append(event)
                ran = evidence.ran.setdefault((event.environment, change.app), [])
                if change.digest not in ran:
                    ran.append(change.digest)
        elif event.kind == "adopt":
            for environment, app, digest in event.baseline:
                evidence.arrivals.setdefault((environment, app, digest), event)
                evidence.every_arrival.setdefault((environment, app, digest), []).append(event)
                ran = evidence.ran.setdefault((environment, app), [])
                if digest not in ran:
                    ran.append(digest)
        elif event.kind == "record" and event.app and event.digest and event.check:
            key4 = (event.environment, event.app, event.digest, event.check[0])
            evidence.checks.setdefault(key4, event)
        elif event.kind == "approve" and event.app and event.digest:
            key3 = (event.environment, event.app, event.digest)
            evidence.approvals.setdefault(key3, []).append(event)
    return evidence


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
