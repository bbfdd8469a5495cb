"""Verifying lineage from git alone: every pinned digest arrived through promoter.

Two passes. Over the current state: each digest must have a recorded arrival, and a
promotion must have come from a source of its environment that already ran the digest.
Over the history of the environment files (one ``git log -p``): any commit that changed
a pinned digest without promotion trailers is manual patching, named with its sha,
author and date. With ``require_signed``, every promoter commit must carry a signature
that git itself verifies.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from promoter import records
from promoter.evidence import MOVES, Evidence
from promoter.git import Git
from promoter.model import Snapshot
from promoter.records import Event, short

# A changed line of a zero-context diff that pins a digest, in block or flow style.
_DIGEST_LINE = re.compile(r"""\bdigest:\s*["']?([A-Za-z0-9_+.-]+:[0-9a-zA-Z]+)""")


@dataclass(frozen=True)
class AuditFinding:
    """One lineage problem, with the commit that caused it when there is one."""

    code: str
    message: str
    environment: str | None = None
    app: str | None = None
    sha: str | None = None
    author: str | None = None
    when: dt.datetime | None = None


def audit(
    git: Git,
    snapshot: Snapshot,
    evidence: Evidence,
    env_paths: Sequence[str],
    *,
    require_signed: bool = False,
) -> list[AuditFinding]:
    """Every lineage problem in the repository, newest history first."""
    findings = _current_state(snapshot, evidence)
    if git.has_commits():
        findings += _manual_changes(git, evidence, env_paths)
    if require_signed:
        findings += _signatures(git, evidence.events)
    return findings


def _current_state(snapshot: Snapshot, evidence: Evidence) -> list[AuditFinding]:
    findings = []
    pipeline = snapshot.pipeline
    for env_name in pipeline.order():
        env = pipeline.environments[env_name]
        for app, artifact in snapshot.states[env_name].artifacts.items():
            digest = artifact.digest
            arrival = evidence.arrival(env_name, app, digest)
            if arrival is None:
                findings.append(
                    AuditFinding(
                        "no-lineage",
                        f"{app} {short(digest)} in {env_name} has no recorded arrival: it was "
                        "put there by hand (see the manual changes below), or before `promoter "
                        "adopt`",
                        env_name,
                        app,
                    )
                )
                continue
            if arrival.kind == "publish" and env.sources:
                findings.append(
                    AuditFinding(
                        "skipped-environment",
                        f"{app} {short(digest)} was published straight into {env_name}, which "
                        f"takes digests only from {', '.join(env.sources)}",
                        env_name,
                        app,
                        arrival.sha,
                        arrival.author,
                        arrival.when,
                    )
                )
            if arrival.kind == "promote":
                findings.extend(_promotion_lineage(evidence, arrival, env.sources, app, digest))
    return findings


def _promotion_lineage(
    evidence: Evidence, arrival: Event, sources: Sequence[str], app: str, digest: str
) -> list[AuditFinding]:
    findings = []
    env_name = arrival.environment
    for source in arrival.sources:
        if source not in sources:
            findings.append(
                AuditFinding(
                    "skipped-environment",
                    f"{app} {short(digest)} reached {env_name} from {source}, which is not one "
                    f"of its sources ({', '.join(sources) or 'none'})",
                    env_name,
                    app,
                    arrival.sha,
                    arrival.author,
                    arrival.when,
                )
            )
        if arrival.when is None or not evidence.arrived_by(source, app, digest, arrival.when):
            findings.append(
                AuditFinding(
                    "no-lineage",
                    f"{app} {short(digest)} was promoted from {source} to {env_name}, but {source} "
                    "has no earlier recorded arrival of it (an environment-specific build?)",
                    env_name,
                    app,
                    arrival.sha,
                    arrival.author,
                    arrival.when,
                )
            )
    return findings


def _manual_changes(git: Git, evidence: Evidence, env_paths: Sequence[str]) -> list[AuditFinding]:
    baseline = next((e.sha for e in evidence.events if e.kind == "adopt"), None)
    # What came before the newest baseline was accepted as it stood.
    rev = f"{baseline}..HEAD" if baseline else "HEAD"
    findings = []
    for commit, diffs in git.log_patches(rev, env_paths):
        hunks = [hunk for diff in diffs for hunk in diff.hunks]
        added = {
            m.group(1) for h in hunks for line in h.added for m in [_DIGEST_LINE.search(line)] if m
        }
        removed = {
            m.group(1)
            for h in hunks
            for line in h.removed
            for m in [_DIGEST_LINE.search(line)]
            if m
        }
        if not added and not removed:
            continue
        event = records.parse(commit)
        who = f"{commit.author_name} <{commit.author_email}>"
        if event is not None and event.kind in MOVES:
            declared = {change.digest for change in event.changes}
            extra = added - declared
            if extra:
                findings.append(
                    AuditFinding(
                        "trailer-mismatch",
                        f"commit {commit.sha[:12]} ({commit.subject}) pins "
                        f"{', '.join(sorted(short(d) for d in extra))}, which its trailers do not "
                        "declare",
                        sha=commit.sha,
                        author=who,
                        when=commit.committed,
                    )
                )
            continue
        findings.append(
            AuditFinding(
                "manual-change",
                f"commit {commit.sha[:12]} by {who} on {commit.committed:%Y-%m-%d %H:%M %z} "
                f"changed pinned digests without promotion trailers (manual patching): "
                f'"{commit.subject}"',
                sha=commit.sha,
                author=who,
                when=commit.committed,
            )
        )
    return findings


def _signatures(git: Git, events: Sequence[Event]) -> list[AuditFinding]:
    findings = []
    for event in events:
        ok, detail = git.verify_commit(event.sha)
        if not ok:
            findings.append(
                AuditFinding(
                    "unsigned",
                    f"promoter commit {event.sha[:12]} ({event.kind}"
                    f"{' in ' + event.environment if event.environment else ''}) has no "
                    f"signature git can verify: {detail}",
                    event.environment or None,
                    event.app,
                    event.sha,
                    event.author,
                    event.when,
                )
            )
    return findings
