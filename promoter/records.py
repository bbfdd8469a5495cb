"""What promoter writes into commit messages, and reads back: the audit log's vocabulary.

Every promoter commit has a conventional subject, a short human summary, and git trailers
(``Key: value`` lines at the end) that make it machine-readable from git alone::

    promote(web): staging → prod sha256:1a2b3c4d

    web 1.4.3 (sha256:1a2b3c4d) replaces 1.4.2 (sha256:0f9e8d7c) in prod.

    Promoter-Kind: promote
    Promoter-From: staging
    Promoter-To: prod
    Promoter-App: web
    Promoter-Change: web sha256:0f9e…(64 hex) -> sha256:1a2b…(64 hex)
    Promoter-Gate: web checks pass: regression, security-scan passed in staging
    Promoter-Actor: Alice <alice@example.com>
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal, NamedTuple

from promoter.actor import Actor, parse_actor
from promoter.git import Commit

Kind = Literal["publish", "promote", "rollback", "record", "approve", "adopt", "acknowledge"]
KINDS: tuple[Kind, ...] = (
    "publish",
    "promote",
    "rollback",
    "record",
    "approve",
    "adopt",
    "acknowledge",
)
GREP = "^Promoter-Kind: "  # finds promoter commits in `git log --grep`


class Change(NamedTuple):
    """One app's digest moving in an environment."""

    app: str
    previous: str | None
    digest: str
    version: str | None = None


class GateNote(NamedTuple):
    """A gate's result as recorded in a promotion commit."""

    app: str
    gate: str
    status: str
    reason: str


class Event(NamedTuple):
    """One promoter commit, parsed: what happened, where, by whom and when."""

    kind: Kind
    environment: str
    actor: Actor
    sources: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    gates: tuple[GateNote, ...] = ()
    hotfix: bool = False
    app: str | None = None  # record, approve
    digest: str | None = None  # record, approve
    check: tuple[str, str] | None = None  # record: (name, passed|failed)
    url: str | None = None  # record: link to the evidence
    # adopt: (environment, app, digest, since): since is when git shows the digest entered
    # the file (ISO 8601), or "" when unknown
    baseline: tuple[tuple[str, str, str, str], ...] = ()
    sha: str = ""
    when: dt.datetime | None = None
    author: str = ""
    acknowledged: tuple[str, str] | None = None  # acknowledge: (commit sha, finding code or "")
    reason: str | None = None  # acknowledge: why the finding is dealt with


def short(digest: str | None) -> str:
    """``sha256:1a2b3c4d`` for subjects and tables (``none`` for a missing digest)."""
    if not digest:
        return "none"
    if digest.startswith("sha256:"):  # the usual case; history renders tens of thousands
        return digest[:15]
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:8]}"


def _subject(event: Event) -> str:
    if event.kind == "adopt":
        envs = len({entry[0] for entry in event.baseline})
        return f"adopt: baseline of {len(event.baseline)} pinned digests in {envs} environments"
    apps = sorted({c.app for c in event.changes} | ({event.app} if event.app else set()))
    scope = apps[0] if len(apps) == 1 else f"{len(apps)} apps"
    kind = "hotfix" if event.hotfix else event.kind
    if event.kind == "promote":
        route = f"{', '.join(event.sources)} → {event.environment}"
        one = event.changes[0].digest if len(event.changes) == 1 else None
        return f"{kind}({scope}): {route}" + (f" {short(one)}" if one else "")
    if event.kind in ("publish", "rollback"):
        change = event.changes[0] if len(event.changes) == 1 else None
        if change is None:
            return f"{kind}({scope}): {event.environment}"
        if event.kind == "rollback":
            return f"rollback({scope}): {event.environment} {short(change.previous)} → " + short(
                change.digest
            )
        version = f" {change.version}" if change.version else ""
        return f"publish({scope}): {event.environment} {short(change.digest)}{version}"
    if event.kind == "acknowledge":
        sha, code = event.acknowledged or ("?", "")
        what = f" {code}" if code else ""
        return f"acknowledge: audit finding{what} of {sha[:12]}"
    if event.kind == "record":
        name, result = event.check or ("?", "?")
        return f"record({scope}): {name} {result} in {event.environment} for {short(event.digest)}"
    return f"approve({scope}): {event.environment} for {short(event.digest)}"


def _summary(event: Event) -> list[str]:
    lines = []
    for change in event.changes:
        version = f"{change.version} " if change.version else ""
        if change.previous:
            lines.append(
                f"{change.app} {version}({short(change.digest)}) replaces "
                f"{short(change.previous)} in {event.environment}."
            )
        else:
            lines.append(
                f"{change.app} {version}({short(change.digest)}) enters {event.environment}."
            )
    if event.gates:
        lines.append("")
        lines.append("Gates:")
        lines.extend(f"  {n.app}: {n.gate} {n.status}: {n.reason}" for n in event.gates)
    return lines


def message(event: Event) -> str:
    """The full commit message for an event: subject, summary, trailers."""
    trailers: list[tuple[str, str]] = [("Promoter-Kind", event.kind)]
    trailers += [("Promoter-From", source) for source in event.sources]
    if event.kind == "record":
        trailers.append(("Promoter-Env", event.environment))
    elif event.kind in ("adopt", "acknowledge"):
        if event.environment:
            trailers.append(("Promoter-Env", event.environment))
    else:
        trailers.append(("Promoter-To", event.environment))
    trailers += [("Promoter-Baseline", " ".join(filter(None, entry))) for entry in event.baseline]
    apps = sorted({c.app for c in event.changes} | ({event.app} if event.app else set()))
    trailers += [("Promoter-App", app) for app in apps]
    trailers += [
        ("Promoter-Change", f"{c.app} {c.previous or 'none'} -> {c.digest}") for c in event.changes
    ]
    if event.digest:
        trailers.append(("Promoter-Digest", event.digest))
    if event.check:
        trailers.append(("Promoter-Check", f"{event.check[0]}={event.check[1]}"))
    if event.url:
        trailers.append(("Promoter-Url", event.url))
    if event.acknowledged:
        trailers.append(("Promoter-Acknowledge", " ".join(filter(None, event.acknowledged))))
    if event.reason:
        trailers.append(("Promoter-Reason", event.reason))
    trailers += [("Promoter-Gate", f"{n.app} {n.gate} {n.status}: {n.reason}") for n in event.gates]
    if event.hotfix:
        trailers.append(("Promoter-Hotfix", "true"))
    if event.kind == "rollback":
        trailers.append(("Promoter-Rollback", "true"))
    trailers.append(("Promoter-Actor", event.actor.display))
    if event.actor.run_url:
        trailers.append(("Promoter-Run", event.actor.run_url))
    body = "\n".join(_summary(event))
    block = "\n".join(f"{key}: {' '.join(value.split())}" for key, value in trailers)
    return (
        f"{_subject(event)}\n\n{body}\n\n{block}\n" if body else f"{_subject(event)}\n\n{block}\n"
    )


_NONE: tuple[None] = (None,)


def parse(commit: Commit, actors: dict[str, Actor] | None = None) -> Event | None:
    """The event a promoter commit records, or None for any other commit.

    ``actors`` memoises identities across the commits of one log (a history repeats the
    same few thousand times). This runs once per commit of a long history, so it looks
    each trailer up once and calls no helpers on the common path.
    """
    get = commit.fields.get
    kind = get("promoter-kind", _NONE)[-1]
    if kind not in KINDS:
        return None
    changes = []
    for value in get("promoter-change", ()):
        parts = value.split()
        if len(parts) == 4 and parts[2] == "->":
            changes.append(Change(parts[0], None if parts[1] == "none" else parts[1], parts[3]))
    gates = []
    for value in get("promoter-gate", ()):
        head, _, reason = value.partition(": ")
        parts = head.split()
        if len(parts) == 3:
            gates.append(GateNote(parts[0], parts[1], parts[2], reason))
    check = None
    checked = get("promoter-check", _NONE)[-1]
    if checked:
        name, _, result = checked.partition("=")
        check = (name, result)
    apps = get("promoter-app", ())
    baseline = tuple(
        (parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else "")
        for parts in (value.split() for value in get("promoter-baseline", ()))
        if len(parts) in (3, 4)
    )
    who = get("promoter-actor", _NONE)[-1] or commit.author_email
    actor = actors.get(who) if actors is not None else None
    if actor is None:
        actor = parse_actor(who)
        if actors is not None:
            actors[who] = actor
    run = get("promoter-run", _NONE)[-1]
    if run:
        actor = Actor(actor.id, actor.name, run)
    hotfix = get("promoter-hotfix", _NONE)[-1]
    acknowledged = None
    ack = get("promoter-acknowledge", _NONE)[-1]
    if ack:
        target, _, code = ack.partition(" ")
        acknowledged = (target, code.strip())
    return Event(
        kind,
        get("promoter-to", _NONE)[-1] or get("promoter-env", _NONE)[-1] or "",
        actor,
        tuple(get("promoter-from", ())),
        tuple(changes),
        tuple(gates),
        hotfix is not None and hotfix.lower() == "true",
        apps[0] if apps and kind in ("record", "approve") else None,
        get("promoter-digest", _NONE)[-1],
        check,
        get("promoter-url", _NONE)[-1],
        baseline,
        commit.sha,
        commit.committed,
        f"{commit.author_name} <{commit.author_email}>",
        acknowledged,
        get("promoter-reason", _NONE)[-1],
    )


def parse_all(commits: Iterable[Commit]) -> list[Event]:
    """Events of every promoter commit among ``commits``, in the same order."""
    actors: dict[str, Actor] = {}
    return [event for commit in commits if (event := parse(commit, actors)) is not None]
