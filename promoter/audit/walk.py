"""The audit's one pass over the branch, oldest commit first.

At each commit of the branch's first-parent line, in this order: its date must not run
backwards; every move that reached the branch with it (its own, or those a merge brought)
is judged again, with the gates of the pipeline in force at its parent, against the
evidence recorded before it, at the moment it reached the branch; then the evidence it
adds is indexed; then its diff of the environment files is read as values and held
against what its trailers say; then a change of the pipeline file is compared with the
pipeline before it. Commits up to the ``adopt`` baseline are read (what they pinned and
when) but not judged: the baseline accepted them as they stood.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from promoter.audit.report import AuditFinding, about
from promoter.clock import CLOCK_SKEW
from promoter.evidence import MOVES, Evidence
from promoter.filehistory import Artifact, FileChange, FileModel
from promoter.gates import evaluate
from promoter.git import Commit, Signature, first_parent_arrivals
from promoter.model import GateSet, Pipeline
from promoter.patches import FileDiff
from promoter.policy import compare, pipeline_of
from promoter.records import Event, short

SignaturesOf = Callable[[Sequence[str]], Mapping[str, Signature]]


class Walk:
    """The pass, and what it learns on the way."""

    def __init__(
        self,
        *,
        env_files: Mapping[str, str],
        pipeline_path: str,
        evidence: Evidence,
        signatures_of: SignaturesOf,
        evidence_shas: Sequence[str],
        baseline: int | None,
        commits: Mapping[str, Commit],
        now: dt.datetime,
    ) -> None:
        self.now = now  # the auditor's clock: no commit can have been made after it
        self.env_files = env_files  # repository path: environment name
        self.pipeline_path = pipeline_path
        self.evidence = evidence
        self.signatures_of = signatures_of
        self.evidence_shas = evidence_shas  # every check record and approval
        self._verified = False
        self.commits = commits  # every commit, by sha
        self._final: tuple[Pipeline | None, list[str]] = (None, [])
        self.baseline = baseline  # chain index of the adopt commit, if any
        self.models = {path: FileModel(path) for path in env_files}
        self.pipeline_lines = FileModel(pipeline_path)
        self.pipeline: Pipeline | None = None
        self.findings: list[AuditFinding] = []
        # (environment, app, digest): the artifact as the file last held it, and the
        # commit that put it there
        self.seen: dict[tuple[str, str, str], Artifact] = {}
        self.introduced: dict[tuple[str, str, str], Commit] = {}

    # -- the pass ----------------------------------------------------------------------

    def run(
        self,
        chain: Sequence[Commit],
        landing: Mapping[int, list[Event]],
        patches: Iterator[tuple[Commit, list[FileDiff]]],
    ) -> None:
        """Walk ``chain`` (the first-parent line, oldest first) with the moves and evidence
        landing at each index and the first-parent diffs of the files, oldest first."""
        pending = next(patches, None)
        previous: Commit | None = None
        # A commit was made before every commit after it on the line (they build on it)
        # and before the auditor's clock: its gates are judged at the earliest of those
        # dates and its own, so a date set in the future buys no soak and opens no window.
        latest = _latest_possible(chain, self.now)
        for index, commit in enumerate(chain):
            judged = self.baseline is None or index > self.baseline
            if judged and commit.committed > self.now + CLOCK_SKEW:
                self.findings.append(
                    about(
                        "future-date",
                        commit,
                        f"commit {commit.sha[:12]} ({commit.subject}) is dated "
                        f"{commit.committed.isoformat()}, after this audit's clock "
                        f"({self.now.isoformat(timespec='seconds')}): its date is not when it "
                        "was made, so its gates were judged at the earliest time it can have "
                        "been made instead",
                    )
                )
            if (
                judged
                and previous is not None
                and commit.committed < previous.committed - (CLOCK_SKEW)
            ):
                self.findings.append(
                    about(
                        "date-backwards",
                        commit,
                        f"commit {commit.sha[:12]} ({commit.subject}) is dated "
                        f"{commit.committed.isoformat()}, before its parent "
                        f"{previous.sha[:12]} ({previous.committed.isoformat()}): time ran "
                        "backwards on the branch, so soak and windows judged from these dates "
                        "cannot be trusted",
                    )
                )
            previous = commit
            arriving = landing.get(index, [])
            moves = [event for event in arriving if event.kind in MOVES]
            refs = self._references(moves)
            for event in arriving:
                if judged and event.kind in MOVES:
                    self._recheck(event, commit._replace(committed=latest[index]))
                self.evidence.add(event)
            if pending is not None and pending[0].sha == commit.sha:
                self._content(commit, pending[1], moves, refs, judged)
                pending = next(patches, None)

    # -- gates, again --------------------------------------------------------------------

    def _recheck(self, event: Event, landed: Commit) -> None:
        pipeline = self.pipeline
        if pipeline is None:
            return  # no readable pipeline before it: nothing declared, nothing to hold
        when = landed.committed
        commit = self.commits[event.sha]._replace(committed=when)
        env = pipeline.environments.get(event.environment)
        if env is None:
            self.findings.append(
                about(
                    "skipped-environment",
                    commit,
                    f"commit {event.sha[:12]} moved digests into {event.environment!r}, which "
                    "the pipeline did not have",
                    environment=event.environment,
                )
            )
            return
        gates: GateSet
        if event.kind == "publish":
            if env.sources:
                self._add(
                    "skipped-environment",
                    commit,
                    event,
                    f"published straight into {env.name}, which takes digests only from "
                    f"{', '.join(env.sources)}",
                )
            gates = GateSet(approvals=env.gates.approvals, window=env.gates.window)
        elif event.kind == "rollback":
            gates = env.rollback_gates or GateSet(window=env.gates.window)
        else:
            gates = (env.hotfix_gates or env.gates) if event.hotfix else env.gates
            for source in event.sources:
                if source not in env.sources:
                    self._add(
                        "skipped-environment",
                        commit,
                        event,
                        f"promoted from {source}, which is not a source of {env.name} "
                        f"({', '.join(env.sources) or 'none'})",
                    )
        signed = pipeline.signed(env.name)
        if signed:
            self._signatures()
        sources = env.sources if event.kind == "promote" else (env.name,)
        terminals = self._terminals(pipeline)
        for change in event.changes:
            digest, app = change.digest, change.app
            if event.kind == "promote":
                for source in env.sources:
                    if not self.evidence.arrived_by(source, app, digest, when):
                        self._add(
                            "no-lineage",
                            commit,
                            event,
                            f"promoted {app} {short(digest)} into {env.name}, but {source} had "
                            "no recorded arrival of it before (an environment-specific build?)",
                            app=app,
                        )
                rollback = self.evidence.rolled_back(env.name, app, digest)
                if rollback is not None:
                    self._add(
                        "ungated-promotion",
                        commit,
                        event,
                        f"promoted {app} {short(digest)} into {env.name} again after "
                        f"{rollback.sha[:12]} rolled it back, with no fresh evidence since",
                        app=app,
                        gate="rollback",
                    )
                if event.hotfix:
                    ran = [t for t in terminals if self.evidence.has_run(t, app, digest)]
                    if ran:
                        self._add(
                            "ungated-promotion",
                            commit,
                            event,
                            f"hotfixed {app} {short(digest)}, which {', '.join(ran)} already "
                            "ran: a hotfix must be a new artifact",
                            app=app,
                            gate="hotfix",
                        )
            if event.kind == "rollback" and not self.evidence.has_run(env.name, app, digest):
                self._add(
                    "no-lineage",
                    commit,
                    event,
                    f"rolled {app} back to {short(digest)}, which {env.name} never ran",
                    app=app,
                )
            for result in evaluate(
                gates,
                app=app,
                digest=digest,
                sources=sources,
                target=env.name,
                evidence=self.evidence,
                now=when,
                actor=event.actor,
                signed=signed,
                rollback=event.kind == "rollback",
            ):
                if result.status != "pass":
                    self._add(
                        "ungated-promotion",
                        commit,
                        event,
                        f"moved {app} {short(digest)} into {env.name} on "
                        f"{when:%Y-%m-%d %H:%M %Z}, but its {result.gate} gate did not hold "
                        f"then: {result.reason}",
                        app=app,
                        gate=result.gate,
                    )

    def _terminals(self, pipeline: Pipeline) -> list[str]:
        """The final environments (nothing promotes from them), once per pipeline."""
        if self._final[0] is not pipeline:
            final = [n for n in pipeline.environments if not pipeline.successors(n)]
            self._final = (pipeline, final)
        return self._final[1]

    def _signatures(self) -> None:
        """git's verdict on the signature of every check result and approval in history,
        asked once, in bulk, when a gate first needs signed evidence."""
        if self._verified:
            return
        self._verified = True
        wanted = [sha for sha in self.evidence_shas if sha not in self.evidence.signatures]
        self.evidence.signatures.update(self.signatures_of(wanted))

    # -- the diffs -----------------------------------------------------------------------

    def _references(self, moves: Sequence[Event]) -> dict[tuple[str, str], list[Artifact]]:
        """What the sources held for each moved app, before the commit: a promotion must
        copy one of them exactly."""
        refs: dict[tuple[str, str], list[Artifact]] = {}
        pipeline = self.pipeline
        for event in moves:
            if event.kind != "promote" or pipeline is None:
                continue
            env = pipeline.environments.get(event.environment)
            sources = env.sources if env else event.sources
            for change in event.changes:
                refs[(event.environment, change.app)] = [
                    dict(found)
                    for source in sources
                    if (found := self._artifact(source, change.app)) is not None
                ]
        return refs

    def _artifact(self, environment: str, app: str) -> Artifact | None:
        for path, name in self.env_files.items():
            if name == environment:
                found = self.models[path].artifacts.get(app)
                return found if isinstance(found, dict) else None
        return None

    def _content(
        self,
        commit: Commit,
        diffs: list[FileDiff],
        moves: Sequence[Event],
        refs: Mapping[tuple[str, str], list[Artifact]],
        judged: bool,
    ) -> None:
        changes: dict[str, FileChange] = {}
        old_pipeline = self.pipeline
        for diff in diffs:
            if diff.path in self.models:
                changes[self.env_files[diff.path]] = self.models[diff.path].apply(diff)
            elif diff.path == self.pipeline_path:
                self.pipeline_lines.apply(diff)
                self.pipeline = pipeline_of(self.pipeline_lines) or self.pipeline
        for env, change in changes.items():
            for app, (_, after) in change.artifacts.items():
                digest = after.get("digest") if after else None
                if isinstance(digest, str):
                    self.introduced[(env, app, digest)] = commit
        if judged:
            self._judge(commit, changes, moves, refs, old_pipeline)
            if self.pipeline is not old_pipeline and self.pipeline is not None:
                self._policy(commit, old_pipeline, self.pipeline)
        for env, change in changes.items():
            for app, (_, after) in change.artifacts.items():
                digest = after.get("digest") if after else None
                if isinstance(digest, str) and after is not None:
                    self.seen[(env, app, digest)] = after

    def _judge(
        self,
        commit: Commit,
        changes: Mapping[str, FileChange],
        moves: Sequence[Event],
        refs: Mapping[tuple[str, str], list[Artifact]],
        pipeline: Pipeline | None,
    ) -> None:
        # protected as the pipeline stood before the commit: protection starts after it
        protected = {
            name
            for name, env in (pipeline.environments.items() if pipeline else ())
            if env.protected
        }
        if not moves:
            for env, change in changes.items():
                self._manual(commit, env, change, env in protected)
            return
        declared = {
            (event.environment, c.app): (c, event) for event in moves for c in event.changes
        }
        seen: set[tuple[str, str]] = set()
        for env, change in changes.items():
            for app, (before, after) in change.artifacts.items():
                entry = declared.get((env, app))
                if entry is None:
                    self.findings.append(
                        about(
                            "trailer-mismatch",
                            commit,
                            f"commit {commit.sha[:12]} ({commit.subject}) changed {app} in "
                            f"{env}, which its trailers do not declare",
                            environment=env,
                            app=app,
                        )
                    )
                    continue
                seen.add((env, app))
                self._declared(commit, env, app, before, after, entry, refs)
            if change.config or change.other or change.unreadable:
                what = change.unreadable or (
                    "the configuration" if change.config else ", ".join(change.other)
                )
                self.findings.append(
                    about(
                        "trailer-mismatch",
                        commit,
                        f"commit {commit.sha[:12]} ({commit.subject}) also changed {what} of "
                        f"{env}: a promotion changes pinned artifacts only",
                        environment=env,
                    )
                )
        for (env, app), (c, _) in declared.items():
            if (env, app) not in seen:
                self.findings.append(
                    about(
                        "trailer-mismatch",
                        commit,
                        f"commit {commit.sha[:12]} ({commit.subject}) declares {app} "
                        f"{short(c.previous)} → {short(c.digest)} in {env}, but its diff does "
                        "not change it",
                        environment=env,
                        app=app,
                    )
                )

    def _declared(
        self,
        commit: Commit,
        env: str,
        app: str,
        before: Artifact | None,
        after: Artifact | None,
        entry: tuple[Any, Event],
        refs: Mapping[tuple[str, str], list[Artifact]],
    ) -> None:
        change, event = entry
        old = before.get("digest") if before else None
        new = after.get("digest") if after else None
        problems = []
        if old != change.previous:
            problems.append(f"it replaced {short(old)}, not {short(change.previous)}")
        if new != change.digest:
            problems.append(f"it pinned {short(new)}, not {short(change.digest)}")
        if not problems and after is not None:
            if event.kind == "promote":
                candidates = [ref for ref in refs.get((env, app), []) if ref.get("digest") == new]
                if candidates and after not in candidates:
                    problems.append(
                        "its artifact (image, version, source) is not what "
                        f"{', '.join(event.sources)} ran for that digest"
                    )
            elif event.kind == "rollback":
                earlier = self.seen.get((env, app, str(new)))
                if earlier is not None and after != earlier:
                    problems.append(f"its artifact is not the one {env} ran for that digest before")
        if problems:
            self.findings.append(
                about(
                    "trailer-mismatch",
                    commit,
                    f"commit {commit.sha[:12]} ({commit.subject}) says {app} "
                    f"{short(change.previous)} → {short(change.digest)} in {env}, but "
                    + "; ".join(problems),
                    environment=env,
                    app=app,
                )
            )

    def _manual(self, commit: Commit, env: str, change: FileChange, protected: bool) -> None:
        who = f"{commit.author_name} <{commit.author_email}>"
        stamp = f"{commit.committed:%Y-%m-%d %H:%M %z}"
        if change.artifacts or change.unreadable:
            moved = ", ".join(
                f"{app} {short(_digest(before))} → {short(_digest(after))}"
                for app, (before, after) in change.artifacts.items()
            )
            what = moved or change.unreadable or "pinned artifacts"
            self.findings.append(
                about(
                    "manual-change",
                    commit,
                    f"commit {commit.sha[:12]} by {who} on {stamp} changed {env} ({what}) "
                    f'without promotion trailers (manual patching): "{commit.subject}"',
                    environment=env,
                    app=next(iter(change.artifacts), None),
                )
            )
        if protected and (change.config or change.other) and not change.created:
            what = "its configuration" if change.config else ", ".join(change.other)
            self.findings.append(
                about(
                    "protected-change",
                    commit,
                    f"commit {commit.sha[:12]} by {who} on {stamp} changed {what} of protected "
                    f'{env}, which only promoter may change: "{commit.subject}"',
                    environment=env,
                )
            )

    def _policy(self, commit: Commit, old: Pipeline | None, new: Pipeline) -> None:
        for change in compare(old, new):
            before = old.environments.get(change.environment) if old else None
            if change.weakens and before is not None and before.protected:
                self.findings.append(
                    about(
                        "policy-weakened",
                        commit,
                        f"commit {commit.sha[:12]} by {commit.author_name} "
                        f"<{commit.author_email}> weakened protected {change.environment}: "
                        f"{change.text}",
                        environment=change.environment,
                    )
                )

    def _add(
        self,
        code: str,
        commit: Commit,
        event: Event,
        what: str,
        *,
        app: str | None = None,
        gate: str | None = None,
    ) -> None:
        self.findings.append(
            about(
                code,
                commit,
                f"commit {commit.sha[:12]} ({commit.subject}) {what}",
                environment=event.environment,
                app=app,
                gate=gate,
            )
        )


def _digest(artifact: Artifact | None) -> str | None:
    found = artifact.get("digest") if artifact else None
    return found if isinstance(found, str) else None


def _latest_possible(chain: Sequence[Commit], now: dt.datetime) -> list[dt.datetime]:
    """For each commit of the line, the latest time it can have been made: its own date,
    unless a later commit on the line (or the auditor's clock) is dated before it, give or
    take the clock skew allowed between machines."""
    bound = now + CLOCK_SKEW
    latest = [bound] * len(chain)
    for index in range(len(chain) - 1, -1, -1):
        dated = chain[index].committed
        latest[index] = min(dated, bound)
        bound = min(bound, dated + CLOCK_SKEW)
    return latest


def timeline(commits: Sequence[Commit], head: str) -> tuple[list[Commit], dict[str, int]]:
    """The first-parent line of ``head``, oldest first, and for every commit reachable
    from it the index on that line where it reached the branch (a merge brings the
    commits of its other parents)."""
    by_sha = {commit.sha: commit for commit in commits}
    line, reached = first_parent_arrivals({commit.sha: commit.parents for commit in commits}, head)
    return [by_sha[sha] for sha in line], reached
