"""What the history proves, indexed for gates, lineage and rollback.

Built event by event, oldest first, so the same index serves a command (every event up
to HEAD) and ``audit`` (the events before each promotion it judges again). Besides what
moved where, it keeps when each arrival reached the branch, which digests a rollback took
out (their earlier evidence no longer counts), and git's verdict on the signatures of the
commits whose identity matters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from promoter.git import Signature
from promoter.model import Person
from promoter.records import Event
from promoter.trust import Directory, binding

MOVES = ("publish", "promote", "rollback")  # the events that change a pinned digest
Key = tuple[str, str, str]  # (environment, app, digest)


@dataclass
class Evidence:
    """The index. ``events`` are newest first, as ``git log`` lists them."""

    events: tuple[Event, ...] = ()
    # (environment, app, digest) -> the newest event that put that digest there
    arrivals: dict[Key, Event] = field(default_factory=dict)
    # (environment, app, digest) -> every event that put that digest there, oldest first
    every_arrival: dict[Key, list[Event]] = field(default_factory=dict)
    # (environment, app, digest, check) -> every record of that check, oldest first
    checks: dict[tuple[str, str, str, str], list[Event]] = field(default_factory=dict)
    # (app, digest) -> every check record for it, in any environment, oldest first
    recorded: dict[tuple[str, str], list[Event]] = field(default_factory=dict)
    # (target environment, app, digest) -> approvals, oldest first
    approvals: dict[Key, list[Event]] = field(default_factory=dict)
    # (environment, app) -> every digest that was ever moved there, newest first
    ran: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # (environment, app, digest) -> the newest rollback that took that digest out
    quarantine: dict[Key, Event] = field(default_factory=dict)
    # (environment, app, digest) -> the newest move that took that digest out
    departures: dict[Key, Event] = field(default_factory=dict)
    # sha -> its place in history, oldest first (evidence after a rollback comes later)
    position: dict[str, int] = field(default_factory=dict)
    # sha -> when the commit reached the branch, where that is not its own date (a merge)
    landed: Mapping[str, dt.datetime] = field(default_factory=dict)
    # sha -> git's verdict on the commit's signature, for the commits that were asked about
    signatures: dict[str, Signature] = field(default_factory=dict)
    people: Directory = field(default_factory=lambda: Directory({}))
    # adopt: (environment, app, digest) -> when git shows the digest entered the file
    since: dict[Key, dt.datetime] = field(default_factory=dict)

    def add(self, event: Event) -> None:
        """Index one more event, newer than every event added before."""
        self.position[event.sha] = len(self.position)
        if event.kind in MOVES:
            for change in event.changes:
                self._arrive((event.environment, change.app, change.digest), event)
                if change.previous and change.previous != change.digest:
                    self.departures[(event.environment, change.app, change.previous)] = event
                if event.kind == "rollback" and change.previous:
                    self.quarantine[(event.environment, change.app, change.previous)] = event
        elif event.kind == "adopt":
            for environment, app, digest, since in event.baseline:
                key = (environment, app, digest)
                self._arrive(key, event)
                if since:
                    self.since[key] = dt.datetime.fromisoformat(since)
        elif event.kind == "record" and event.app and event.digest and event.check:
            key4 = (event.environment, event.app, event.digest, event.check[0])
            self.checks.setdefault(key4, []).append(event)
            self.recorded.setdefault((event.app, event.digest), []).append(event)
        elif event.kind == "approve" and event.app and event.digest:
            self.approvals.setdefault((event.environment, event.app, event.digest), []).append(
                event
            )

    def _arrive(self, key: Key, event: Event) -> None:
        self.arrivals[key] = event
        self.every_arrival.setdefault(key, []).append(event)
        ran = self.ran.setdefault(key[:2], [])
        if ran and ran[0] == key[2]:
            return
        if key[2] in ran:
            ran.remove(key[2])
        ran.insert(0, key[2])

    def arrival(self, environment: str, app: str, digest: str) -> Event | None:
        """The newest event that put ``digest`` into ``environment`` for ``app``."""
        return self.arrivals.get((environment, app, digest))

    def arrived_at(self, event: Event, key: Key | None = None) -> dt.datetime | None:
        """When ``event``'s change reached the branch: the commit's date, the merge's date
        for a change that came through a merge, and for a digest adopted as the baseline,
        when git history shows it entered the file."""
        if event.kind == "adopt" and key is not None and key in self.since:
            return self.since[key]
        return self.landed.get(event.sha, event.when)

    def arrived_by(self, environment: str, app: str, digest: str, when: dt.datetime) -> bool:
        """Whether ``digest`` had arrived in ``environment`` for ``app`` at ``when``."""
        key = (environment, app, digest)
        for event in self.every_arrival.get(key, ()):
            at = self.arrived_at(event, key)
            if at is not None and at <= when:
                return True
        return False

    def has_run(self, environment: str, app: str, digest: str) -> bool:
        """Whether ``environment`` ever held ``digest`` for ``app`` through promoter."""
        return digest in self.ran.get((environment, app), ())

    def rolled_back(self, environment: str, app: str, digest: str) -> Event | None:
        """The rollback that took ``digest`` out of ``environment``, while it still holds:
        the digest has not come back since, and no check or approval for it was recorded
        after it (fresh evidence makes a digest promotable again)."""
        rollback = self.quarantine.get((environment, app, digest))
        if rollback is None:
            return None
        after = self.position[rollback.sha]
        back = self.arrivals.get((environment, app, digest))
        if back is not None and self.position.get(back.sha, -1) > after:
            return None
        fresh = self.recorded.get((app, digest), []) + self.approvals.get(
            (environment, app, digest), []
        )
        if any(self.position.get(event.sha, -1) > after for event in fresh):
            return None
        return rollback

    def why_not_counted(
        self, event: Event, *, since: int, signed: bool, before: str = "the rollback"
    ) -> str | None:
        """None when ``event`` (a check record or an approval) counts for a gate; else why
        not. ``since``: the position of the event (``before`` names it) before which
        evidence is void."""
        if self.position.get(event.sha, -1) <= since:
            return f"recorded before {before}"
        if signed:
            return binding(event.actor.id, self.signatures.get(event.sha), self.people)
        return None

    def void_before(self, target: str, app: str, digest: str) -> int:
        """The position before which evidence for ``digest`` into ``target`` is void: that
        of the rollback that took it out of ``target`` (-1 when there was none)."""
        rollback = self.quarantine.get((target, app, digest))
        return self.position[rollback.sha] if rollback is not None else -1

    def left_at(self, environment: str, app: str, digest: str) -> int:
        """The position of the move that last took ``digest`` out of ``environment`` (-1
        when none did): approvals of a rollback to it must come after."""
        gone = self.departures.get((environment, app, digest))
        return self.position[gone.sha] if gone is not None else -1


def build_evidence(
    events: Sequence[Event],
    *,
    landed: Mapping[str, dt.datetime] | None = None,
    people: Mapping[str, Person] | None = None,
) -> Evidence:
    """Index newest-first events (as read from ``git log``)."""
    evidence = Evidence(tuple(events), landed=landed or {}, people=Directory(people or {}))
    for event in reversed(events):
        evidence.add(event)
    return evidence


def evidence_shas(evidence: Evidence, keys: Iterable[Key], sources: Sequence[str]) -> list[str]:
    """The commits whose signatures decide the checks and approvals for moving each
    ``(target, app, digest)`` of ``keys`` from ``sources``."""
    shas: list[str] = []
    for target, app, digest in keys:
        shas.extend(event.sha for event in evidence.approvals.get((target, app, digest), ()))
        shas.extend(
            event.sha
            for event in evidence.recorded.get((app, digest), ())
            if event.environment in sources
        )
    return shas
