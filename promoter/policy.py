"""Policy changes: what a change of the pipeline file did to each environment's gates.

A pipeline change is part of the audit log like a promotion: ``history`` shows who changed
which gate, when, from what to what (``prod approvals 2 → 0``), and ``audit`` reports the
changes that weaken a protected environment. A change weakens an environment when a
digest could reach it more easily afterwards: a check, soak, approval, window or freeze
less; more people who may approve; no longer protected or reviewed through pull requests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from promoter import schemas
from promoter.filehistory import FileModel, document_of
from promoter.git import Git
from promoter.history import duration_text
from promoter.model import Environment, GateSet, Pipeline, pipeline_from_data
from promoter.pipeline_rules import pipeline_semantics
from promoter.trust import Directory


class PolicyChange(NamedTuple):
    """One change to one environment's policy."""

    environment: str
    text: str  # e.g. "prod approvals 2 → 0"
    weakens: bool


class PolicyEvent(NamedTuple):
    """A commit that changed the pipeline's policy: who, when, and what changed."""

    sha: str
    when: dt.datetime
    author: str  # the commit's author: a git identity, as claimed
    changes: tuple[PolicyChange, ...]


def pipeline_of(model: FileModel) -> Pipeline | None:
    """The pipeline a version of the file declares, or None when it is not valid."""
    doc = document_of(model)
    if doc is None or not schemas.is_valid(doc.data, "Pipeline"):
        return None
    # The gates read what only the rules beyond the schema check (a known time zone, real
    # dates): a version they refuse is one promoter refused to act on, like a broken one.
    if pipeline_semantics(doc, PurePosixPath(model.path).stem):
        return None
    return pipeline_from_data(doc.data)


_CACHE = "policy.json"


def policy_history(git: Git, pipeline_path: str) -> list[PolicyEvent]:
    """:func:`policy_events` of HEAD, kept beside the event cache (``.git/promoter/``): a
    later run reads only what changed the pipeline file since, when HEAD continues the
    cached commit in a straight line, and nothing at all when the file did not change."""
    from promoter import eventcache

    head = git.head_or_none()
    if head is None:
        return []
    use = eventcache.enabled()
    cached = eventcache.load_document(git.git_dir, _CACHE, Path(__file__)) if use else None
    events: list[PolicyEvent] | None = None
    if cached is not None and cached.get("path") == pipeline_path:
        tip, known = str(cached.get("tip")), _read(cached.get("events"))
        if known is not None and (tip == head or git.extends_linearly(tip, head)):
            events = known
            if tip != head and git.changed(tip, head, pipeline_path):
                newer = policy_events(git, pipeline_path, f"{tip}..{head}", base=tip)
                events = None if newer is None else newer + known
    if events is None:
        events = policy_events(git, pipeline_path) or []
    if use:
        document = {"path": pipeline_path, "tip": head, "events": [_row(e) for e in events]}
        eventcache.store_document(git.git_dir, _CACHE, Path(__file__), document)
    return events


def _row(event: PolicyEvent) -> list[Any]:
    return [event.sha, event.when.isoformat(), event.author, [list(c) for c in event.changes]]


def _read(rows: Any) -> list[PolicyEvent] | None:
    try:
        return [
            PolicyEvent(
                str(sha),
                dt.datetime.fromisoformat(when),
                str(author),
                tuple(PolicyChange(str(e), str(t), bool(w)) for e, t, w in changes),
            )
            for sha, when, author, changes in rows
        ]
    except (TypeError, ValueError):
        return None


def policy_events(
    git: Git, pipeline_path: str, rev: str = "HEAD", *, base: str | None = None
) -> list[PolicyEvent] | None:
    """Every commit of the branch's first-parent line that changed a policy, newest first:
    one ``git log -p`` of the pipeline file. With ``base`` (``rev`` being ``base..HEAD``),
    the file as it stood at ``base`` is where the comparison starts; None when that version
    is not valid (the policy to compare with is then further back: read the whole line)."""
    model = FileModel(pipeline_path)
    previous: Pipeline | None = None
    found: list[PolicyEvent] = []
    if not git.has_commits():
        return found
    if base is not None:
        text = git.show(base, pipeline_path)
        if text is not None:
            model.lines = text.removesuffix("\n").split("\n")
            previous = pipeline_of(model)
            if previous is None:
                return None
    broken: str | None = None  # the first commit since the last valid version, if invalid
    for commit, diffs in git.log_patches(rev, [pipeline_path], first_parent=True, reverse=True):
        for diff in diffs:
            if diff.path == pipeline_path:
                model.apply(diff)
        current = pipeline_of(model)
        if current is None:
            broken = broken or commit.sha
            continue  # an invalid version: promoter refused to act on it
        changes = compare(previous, current)
        previous = current
        if changes and broken:
            # made somewhere from `broken` on: the versions in between did not validate
            note = f" (changed since {broken[:12]}; the pipeline did not validate in between)"
            changes = [change._replace(text=change.text + note) for change in changes]
        broken = None
        if changes:
            author = f"{commit.author_name} <{commit.author_email}>"
            found.append(PolicyEvent(commit.sha, commit.committed, author, tuple(changes)))
    found.reverse()
    return found


def compare(old: Pipeline | None, new: Pipeline) -> list[PolicyChange]:
    """Every policy change from ``old`` to ``new`` (None: the pipeline is new)."""
    if old is None:
        return []
    changes: list[PolicyChange] = []
    for name, before in old.environments.items():
        after = new.environments.get(name)
        if after is None:
            changes.append(PolicyChange(name, f"{name} removed", True))
            continue
        changes.extend(_environment(before, after, old, new))
    for name in new.environments:
        if name not in old.environments:
            changes.append(PolicyChange(name, f"{name} added", False))
    if old.signed_evidence != new.signed_evidence:
        weakens = new.signed_evidence == "protected"
        for name in new.environments:
            if not new.environments[name].protected:
                changes.append(
                    PolicyChange(
                        name,
                        f"{name} signed evidence {old.signed_evidence} → {new.signed_evidence}",
                        weakens,
                    )
                )
    return changes


def _environment(
    before: Environment, after: Environment, old: Pipeline, new: Pipeline
) -> Iterator[PolicyChange]:
    name = before.name
    if before.protected != after.protected:
        yield PolicyChange(
            name,
            f"{name} protected {str(before.protected).lower()} → {str(after.protected).lower()}",
            before.protected,
        )
    if before.promotion != after.promotion:
        yield PolicyChange(
            name,
            f"{name} promotion {before.promotion} → {after.promotion}",
            before.promotion == "pull-request",
        )
    if before.sources != after.sources:
        yield PolicyChange(
            name,
            f"{name} from {', '.join(before.sources) or 'none'} → "
            f"{', '.join(after.sources) or 'none'}",
            not after.sources or not set(after.sources) >= set(before.sources),
        )
    sets = [("", before.gates, after.gates)]
    # Hotfix and rollback gates that are not declared follow the main ones: a change of
    # those is said once, above.
    if before.hotfix_gates is not None or after.hotfix_gates is not None:
        sets.append(("hotfix ", _hotfix(before), _hotfix(after)))
    if before.rollback_gates is not None or after.rollback_gates is not None:
        sets.append(("rollback ", _rollback(before), _rollback(after)))
    for label, was, now in sets:
        yield from _gates(f"{name} {label}", name, was, now, old, new, before.sources)


def _hotfix(env: Environment) -> GateSet:
    return env.hotfix_gates if env.hotfix_gates is not None else env.gates


def _rollback(env: Environment) -> GateSet:
    if env.rollback_gates is not None:
        return env.rollback_gates
    return GateSet(window=env.gates.window)


def _gates(
    prefix: str,
    name: str,
    was: GateSet,
    now: GateSet,
    old: Pipeline,
    new: Pipeline,
    sources: tuple[str, ...],
) -> Iterator[PolicyChange]:
    for source in sources or ("",):
        before, after = set(was.checks_for(source)), set(now.checks_for(source))
        where = f" in {source}" if source and (was.source_checks or now.source_checks) else ""
        if before - after:
            removed = ", ".join(sorted(before - after))
            yield PolicyChange(name, f"{prefix}checks{where}: removed {removed}", True)
        if after - before:
            added = ", ".join(sorted(after - before))
            yield PolicyChange(name, f"{prefix}checks{where}: added {added}", False)
    if was.soak_seconds != now.soak_seconds:
        yield PolicyChange(
            name,
            f"{prefix}soak {_soak(was.soak_seconds)} → {_soak(now.soak_seconds)}",
            (now.soak_seconds or 0) < (was.soak_seconds or 0),
        )
    yield from _approvals(prefix, name, was, now, old, new)
    yield from _window(prefix, name, was, now)


def _soak(seconds: int | None) -> str:
    return duration_text(seconds) if seconds else "none"


def _approvals(
    prefix: str, name: str, was: GateSet, now: GateSet, old: Pipeline, new: Pipeline
) -> Iterator[PolicyChange]:
    before = was.approvals.required if was.approvals else 0
    after = now.approvals.required if now.approvals else 0
    if before != after:
        yield PolicyChange(name, f"{prefix}approvals {before} → {after}", after < before)
    if not (was.approvals and now.approvals):
        return
    if was.approvals.allowed and not now.approvals.allowed:
        yield PolicyChange(name, f"{prefix}approvers: anyone (was a list)", True)
        return
    if now.approvals.allowed and not was.approvals.allowed:
        yield PolicyChange(name, f"{prefix}approvers: a list (was anyone)", False)
        return
    # Compared as identities, each through its own pipeline's people: naming a person
    # instead of their email changes nothing, giving them a login more lets it approve.
    was_in = _admitted(old, was.approvals.allowed)
    now_in = _admitted(new, now.approvals.allowed)
    old_ids = set().union(*was_in.values())
    new_ids = set().union(*now_in.values())
    gained = _described(now_in, new_ids - old_ids, "added", "gains")
    if gained:
        yield PolicyChange(name, f"{prefix}approvers: {gained}", True)
    lost = _described(was_in, old_ids - new_ids, "removed", "loses")
    if lost:
        yield PolicyChange(name, f"{prefix}approvers: {lost}", False)


def _admitted(pipeline: Pipeline, allowed: tuple[str, ...]) -> dict[str, set[str]]:
    """Who each entry of an approvers list admits, by person (or the entry itself): every
    identity of theirs, case-folded as identities are matched."""
    people = Directory(pipeline.people)
    admitted: dict[str, set[str]] = {}
    for entry in allowed:
        key = people.key(entry)
        person = pipeline.people.get(key)
        if person is not None:
            admitted.setdefault(key, set()).update(i.casefold() for i in person.identities)
        else:
            admitted.setdefault(entry, set()).add(key)  # the entry itself, folded
    return admitted


def _described(admitted: dict[str, set[str]], changed: set[str], whole: str, part: str) -> str:
    """``changed`` identities, said per person: all of someone's (``whole``), or some of
    them (``part``)."""
    wholes, parts = [], []
    for label, identities in sorted(admitted.items()):
        mine = identities & changed
        if not mine:
            continue
        if mine == identities:
            wholes.append(label)
        else:
            parts.append(f"{label} {part} {', '.join(sorted(mine))}")
    return "; ".join(([f"{whole} {', '.join(wholes)}"] if wholes else []) + parts)


def _window(prefix: str, name: str, was: GateSet, now: GateSet) -> Iterator[PolicyChange]:
    if was.window and not now.window:
        yield PolicyChange(name, f"{prefix}window removed", True)
        return
    if now.window and not was.window:
        yield PolicyChange(name, f"{prefix}window added", False)
        return
    if not (was.window and now.window):
        return
    old_allow, new_allow = set(was.window.allow), set(now.window.allow)
    if old_allow != new_allow:
        widened = (old_allow and not new_allow) or bool(new_allow - old_allow)
        yield PolicyChange(name, f"{prefix}window hours changed", widened)
    if was.window.timezone != now.window.timezone:
        yield PolicyChange(
            name, f"{prefix}window timezone {was.window.timezone} → {now.window.timezone}", True
        )
    old_freeze, new_freeze = set(was.window.freeze), set(now.window.freeze)
    for freeze in sorted(old_freeze - new_freeze, key=str):
        yield PolicyChange(
            name,
            f"{prefix}freeze removed: {freeze.start}..{freeze.end} {freeze.reason or ''}".rstrip(),
            True,
        )
    for freeze in sorted(new_freeze - old_freeze, key=str):
        yield PolicyChange(
            name,
            f"{prefix}freeze added: {freeze.start}..{freeze.end} {freeze.reason or ''}".rstrip(),
            False,
        )
