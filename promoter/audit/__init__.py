"""``promoter audit``: every promotion and its gates proven again from git alone.

Two ``git log``s, side by side: every commit of the branch (its parents, dates and
message) and the first-parent diffs of the environment folder. From them, one pass
(:mod:`promoter.audit.walk`) judges each promotion again with the gates in force at its
parent and the evidence recorded before it, holds each commit's diff against its
trailers, and finds hand edits, dates that run backwards and weakened policies. Then the
digests pinned now must each have a recorded arrival, and, with ``require_signed``, every
promoter commit must be signed by its ``Promoter-Actor``. Findings acknowledged with
``promoter acknowledge`` are marked so; they no longer fail the audit.

The verifier never reads the event cache: anyone who can write to ``.git`` could edit it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath

from promoter import records
from promoter.actor import Actor
from promoter.audit.report import Acknowledgement, AuditFinding
from promoter.audit.walk import Walk, timeline
from promoter.evidence import Evidence
from promoter.gcpause import paused_gc
from promoter.git import Commit, Git
from promoter.model import Snapshot
from promoter.patches import FileDiff
from promoter.records import Event, short
from promoter.trust import Directory, binding

__all__ = ["Acknowledgement", "AuditFinding", "audit"]


def audit(
    git: Git,
    snapshot: Snapshot,
    *,
    env_dir: str,
    pipeline_path: str,
    require_signed: bool = False,
    now: dt.datetime,
) -> list[AuditFinding]:
    """Every problem in the repository's history and current state, as of ``now``.

    ``env_dir`` and ``pipeline_path`` are repository-relative (POSIX) paths.
    """
    git.require_full_history()
    people = Directory(snapshot.pipeline.people)
    evidence = Evidence(people=people)
    head = git.head_or_none()
    events: list[Event] = []
    walk: Walk | None = None
    if head is not None:
        with paused_gc():
            commits, patches = _read(git, head, env_dir)
            chain, landing = timeline(commits, head)
            position = {commit.sha: index for index, commit in enumerate(reversed(commits))}
            actors: dict[str, Actor] = {}
            events = [
                event
                for commit in reversed(commits)
                if (event := records.parse(commit, actors)) is not None and commit.sha in landing
            ]
            arriving: dict[int, list[Event]] = {}
            for event in sorted(events, key=lambda e: (landing[e.sha], position[e.sha])):
                arriving.setdefault(landing[event.sha], []).append(event)
            evidence.landed = {
                event.sha: chain[landing[event.sha]].committed
                for event in events
                if chain[landing[event.sha]].sha != event.sha
            }
            adopts = [landing[e.sha] for e in events if e.kind == "adopt"]
            walk = Walk(
                env_files=_env_files(env_dir, pipeline_path, snapshot),
                pipeline_path=pipeline_path,
                evidence=evidence,
                signatures_of=git.signatures,
                evidence_shas=[e.sha for e in events if e.kind in ("record", "approve")],
                baseline=max(adopts) if adopts else None,
                commits={commit.sha: commit for commit in commits},
                now=now,
            )
            walk.run(chain, arriving, patches)
    findings = _current_state(snapshot, evidence, walk)
    if walk is not None:
        findings += list(reversed(walk.findings))
    if require_signed:
        findings += _signatures(git, events, people)
    return _acknowledged(git, findings, events, snapshot, people)


def _read(
    git: Git, head: str, env_dir: str
) -> tuple[list[Commit], Iterator[tuple[Commit, list[FileDiff]]]]:
    """Every commit (topological order, newest first), and the first-parent diffs of the
    environment folder, oldest first: two git processes at once."""
    box: dict[str, list[Commit] | BaseException] = {}

    def every_commit() -> None:
        try:
            box["commits"] = list(git.log(head, topo=True))
        except BaseException as exc:  # handed over to the caller's thread
            box["commits"] = exc

    worker = threading.Thread(target=every_commit, daemon=True)
    worker.start()
    patches = git.log_patches(head, [env_dir], first_parent=True, reverse=True)
    try:
        first = next(patches, None)  # git walks while the other log is parsed
    finally:
        worker.join()
    found = box["commits"]
    if isinstance(found, BaseException):
        patches.close()
        raise found

    def all_patches() -> Iterator[tuple[Commit, list[FileDiff]]]:
        if first is not None:
            yield first
            yield from patches

    return found, all_patches()


def _env_files(env_dir: str, pipeline_path: str, snapshot: Snapshot) -> dict[str, str]:
    """Repository paths of the environment files (of today's pipeline and any other
    environment name), by environment."""
    folder = PurePosixPath(env_dir)
    names = dict.fromkeys(snapshot.pipeline.environments)
    return {
        str(folder / f"{name}.yaml"): name
        for name in names
        if str(folder / f"{name}.yaml") != pipeline_path
    }


def _current_state(snapshot: Snapshot, evidence: Evidence, walk: Walk | None) -> list[AuditFinding]:
    """Every digest pinned now must have a recorded arrival."""
    findings = []
    for env_name in snapshot.pipeline.order():
        for app, artifact in snapshot.states[env_name].artifacts.items():
            digest = artifact.digest
            if evidence.arrival(env_name, app, digest) is not None:
                continue
            commit = walk.introduced.get((env_name, app, digest)) if walk else None
            how = (
                f"commit {commit.sha[:12]} ({commit.subject}) put it there"
                if commit
                else "it was there before the history promoter reads"
            )
            findings.append(
                AuditFinding(
                    "no-lineage",
                    f"{app} {short(digest)} in {env_name} has no recorded arrival: {how}, not "
                    "a promotion or publication (or it predates `promoter adopt`)",
                    env_name,
                    app,
                    commit.sha if commit else None,
                    f"{commit.author_name} <{commit.author_email}>" if commit else None,
                    commit.committed if commit else None,
                )
            )
    return findings


def _signatures(git: Git, events: Sequence[Event], people: Directory) -> list[AuditFinding]:
    """Every promoter commit signed, by the identity its Promoter-Actor claims."""
    found = git.signatures([event.sha for event in events])
    findings = []
    for event in reversed(events):
        why = binding(event.actor.id, found.get(event.sha), people)
        if why is None:
            continue
        code = "signer-mismatch" if why.startswith("signed by") else "unsigned"
        where = f" in {event.environment}" if event.environment else ""
        findings.append(
            AuditFinding(
                code,
                f"promoter commit {event.sha[:12]} ({event.kind}{where}, by "
                f"{event.actor.display}) is {why}"
                + ("" if code == "signer-mismatch" else ": git cannot verify who made it"),
                event.environment or None,
                event.app,
                event.sha,
                event.author,
                event.when,
            )
        )
    return findings


def _acknowledged(
    git: Git,
    findings: list[AuditFinding],
    events: Sequence[Event],
    snapshot: Snapshot,
    people: Directory,
) -> list[AuditFinding]:
    """Findings marked with the acknowledgement that deals with them, where one counts: in
    a protected environment, and for a finding about the whole branch (its dates, say)
    wherever the pipeline protects one, only one signed by the identity it claims."""
    acks = [event for event in events if event.kind == "acknowledge" and event.acknowledged]
    if not acks:
        return findings
    protected = {name for name, env in snapshot.pipeline.environments.items() if env.protected}
    signatures = git.signatures([event.sha for event in acks]) if protected else {}
    out = []
    for finding in findings:
        mark = None
        for ack in reversed(acks):  # the newest one that counts
            assert ack.acknowledged is not None
            sha, code = ack.acknowledged
            if finding.sha != sha or code not in ("", finding.code):
                continue
            guarded = finding.environment in protected or (
                bool(protected) and not finding.environment
            )
            if guarded and binding(ack.actor.id, signatures.get(ack.sha), people):
                continue
            mark = Acknowledgement(ack.sha, ack.actor.display, ack.when, ack.reason or "")
            break
        out.append(finding.acknowledge(mark) if mark else finding)
    return out
