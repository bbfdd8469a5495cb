"""Planning promotions, publications and rollbacks: values computed without side effects.

A Plan holds everything the run will do: which artifacts move, every gate's verdict,
every refusal, the exact new text of the target file and the commit message. ``--dry-run``
prints it; a real run applies that same plan (see :mod:`promoter.land`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from promoter import records, reference
from promoter.actor import Actor
from promoter.errors import UsageError
from promoter.evidence import Evidence, evidence_shas
from promoter.gates import GateResult, clears_together, evaluate, overall
from promoter.git import Signature
from promoter.model import Artifact, GateSet, Pipeline, Snapshot, artifact_from_data
from promoter.records import Change, Event, GateNote, short
from promoter.yamledit import Edits, edit_document
from promoter.yamlio import Document, KeyPath, Scalar

Action = Literal["promote", "rollback", "publish"]
# Reads an app's artifact (as file data) from an environment file at a commit.
ArtifactAt = Callable[[str, str, str], dict[str, Any] | None]
# git's verdict on the signatures of these commits.
SignaturesOf = Callable[[Sequence[str]], Mapping[str, Signature]]


@dataclass(frozen=True)
class Request:
    """What the user asked for."""

    action: Action
    target: str
    apps: tuple[str, ...] = ()
    all_apps: bool = False
    source: str | None = None
    hotfix: bool = False
    to_digest: str | None = None  # rollback --to
    artifact: Artifact | None = None  # publish


@dataclass(frozen=True)
class Move:
    """One app's artifact moving into the target environment."""

    app: str
    sources: tuple[str, ...]
    current: Artifact | None
    new: Artifact
    gates: tuple[GateResult, ...] = ()
    clears_at: dt.datetime | None = None  # when every time-based gate passes at once

    @property
    def status(self) -> str:
        """``pass``, ``pending`` or ``fail`` over this move's gates."""
        return overall(self.gates)


@dataclass(frozen=True)
class Plan:
    """A computed promotion: apply it as it is, or print it."""

    request: Request
    actor: Actor
    now: dt.datetime
    file: str
    mode: str = "commit"  # how the target takes changes: commit or pull-request
    moves: tuple[Move, ...] = ()
    unchanged: tuple[str, ...] = ()  # apps that already run the digest
    waiting: tuple[tuple[str, str], ...] = ()  # apps left out of a release train, and why
    refusals: tuple[tuple[str, str], ...] = ()  # (app, reason): nothing will be written
    before: str = ""
    after: str = ""
    message: str = ""
    event: Event | None = field(default=None, compare=False)
    head: str | None = None  # the commit the plan was made on
    # the files the plan read or will write, parsed, by name: the new text of the target
    documents: Mapping[str, Document] = field(default_factory=dict, compare=False)
    timezone: str = "UTC"  # where times are shown: the target's deploy window's zone

    @property
    def ready(self) -> bool:
        """True when there is something to do, no refusal, and every gate passes."""
        return (
            bool(self.moves)
            and not self.refusals
            and all(move.status == "pass" for move in self.moves)
        )

    @property
    def proposable(self) -> bool:
        """True when a pull request may be opened for it: ready but for approvals still
        pending, which the pull request's reviews may give (see promoter.gatestatus)."""
        return (
            bool(self.moves)
            and not self.refusals
            and all(
                gate.status == "pass" or (gate.gate == "approvals" and gate.status == "pending")
                for move in self.moves
                for gate in move.gates
            )
        )

    @property
    def blocked(self) -> list[tuple[str, GateResult]]:
        """Every gate that does not pass, with its app."""
        return [(m.app, g) for m in self.moves for g in m.gates if g.status != "pass"]

    def diff(self) -> str:
        """The exact change the run will commit, as a patch ``git apply`` takes."""
        return unified_diff(self.before, self.after, self.file)


def unified_diff(before: str, after: str, path: str) -> str:
    """A unified diff of two texts, as git writes it: ``a/`` and ``b/`` paths, three lines
    of context, and "\\ No newline at end of file" after a last line without one."""
    old, new = _split(before), _split(after)
    out = [f"--- a/{path}\n", f"+++ b/{path}\n"]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for group in matcher.get_grouped_opcodes(3):
        i1, j1 = group[0][1], group[0][3]
        i2, j2 = group[-1][2], group[-1][4]
        out.append(f"@@ -{_range(i1, i2 - i1)} +{_range(j1, j2 - j1)} @@\n")
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                out.extend(_lines(" ", old[a1:a2]))
                continue
            out.extend(_lines("-", old[a1:a2]))
            out.extend(_lines("+", new[b1:b2]))
    return "".join(out) if len(out) > 2 else ""


def _range(start: int, length: int) -> str:
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _split(text: str) -> list[str]:
    """Lines as git sees them: ended by a newline only (a CR or U+2028 is content)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _lines(mark: str, lines: Sequence[str]) -> list[str]:
    return [
        mark + line if line.endswith("\n") else f"{mark}{line}\n\\ No newline at end of file\n"
        for line in lines
    ]


def artifact_data(artifact: Artifact) -> dict[str, Any]:
    """An artifact as it is written in an environment file."""
    data: dict[str, Any] = {"image": artifact.image, "digest": artifact.digest}
    if artifact.version is not None:
        data["version"] = artifact.version
    source = {
        key: value
        for key, value in (("repo", artifact.source_repo), ("revision", artifact.source_revision))
        if value is not None
    }
    if source:
        data["source"] = source
    return data


def copy_edits(doc: Document, app: str, new: Mapping[str, Any]) -> Edits:
    """Edits that make ``artifacts.<app>`` in ``doc`` equal to ``new``, touching nothing else."""
    base: KeyPath = ("artifacts", app)
    current = doc.data["artifacts"].get(app)
    if current is None:
        return Edits(insert={base: dict(new)})
    sets: dict[KeyPath, Scalar] = {}
    inserts: dict[KeyPath, Any] = {}
    removes: list[KeyPath] = []

    def walk(path: KeyPath, old: Mapping[str, Any], wanted: Mapping[str, Any]) -> None:
        for key, value in wanted.items():
            here = (*path, key)
            if key not in old:
                inserts[here] = value
            elif isinstance(value, Mapping) and isinstance(old[key], Mapping):
                walk(here, old[key], value)
            elif isinstance(value, Mapping) or isinstance(old[key], Mapping):
                removes.append(here)
                inserts[here] = value
            elif old[key] != value:
                sets[here] = value
        removes.extend((*path, key) for key in old if key not in wanted)

    walk(base, current, new)
    return Edits(set=sets, insert=inserts, remove=removes)


def _gate_set(pipeline: Pipeline, target: str, request: Request) -> GateSet:
    env = pipeline.environments[target]
    if request.action == "rollback":
        if env.rollback_gates is not None:
            return env.rollback_gates
        return GateSet(window=env.gates.window)  # rollbacks wait only for the deploy window
    if request.action == "publish":
        return GateSet(approvals=env.gates.approvals, window=env.gates.window)
    if request.hotfix and env.hotfix_gates is not None:
        return env.hotfix_gates
    return env.gates


def _check_names(snapshot: Snapshot, request: Request) -> None:
    pipeline = snapshot.pipeline
    envs = pipeline.environments
    if request.target not in envs:
        raise reference.unknown(
            "environment", request.target, envs, hint="Check the spelling of --to/--env"
        )
    if request.source and request.source not in envs:
        raise reference.unknown(
            "environment", request.source, envs, hint="Check the spelling of --from"
        )
    known = set(snapshot.apps)
    for app in request.apps:
        if app not in known and request.action != "publish":
            where = ", ".join(snapshot.states)
            raise UsageError(
                f"app {app!r} is in none of {where} (known there: {', '.join(sorted(known))})"
                + reference.did_you_mean(app, known),
                hint="Check the spelling, or promote it through the environments before",
            )


def plan(
    snapshot: Snapshot,
    target_doc: Document,
    request: Request,
    evidence: Evidence,
    *,
    actor: Actor,
    now: dt.datetime,
    artifact_at: ArtifactAt | None = None,
    signatures_of: SignaturesOf | None = None,
) -> Plan:
    """Compute what a promotion, publication or rollback will do, and whether it may.

    Where the target's evidence must be signed, ``signatures_of`` is asked once about
    every commit whose signature decides a gate of the planned moves.
    """
    _check_names(snapshot, request)
    if request.action == "promote":
        moves, unchanged, waiting, refusals = _promotions(snapshot, request, evidence)
    elif request.action == "publish":
        moves, unchanged, waiting, refusals = _publication(snapshot, request)
    else:
        moves, unchanged, waiting, refusals = _rollback(snapshot, request, evidence, artifact_at)
    gates = _gate_set(snapshot.pipeline, request.target, request)
    signed = snapshot.pipeline.signed(request.target)
    if signed and signatures_of is not None and moves:
        keys = [(request.target, m.app, m.new.digest) for m in moves]
        sources = {source for m in moves for source in (m.sources or (request.target,))}
        shas = [sha for sha in evidence_shas(evidence, keys, sorted(sources))]
        evidence.signatures.update(signatures_of(shas))
    moves = [
        Move(
            m.app,
            m.sources,
            m.current,
            m.new,
            evaluate(
                gates,
                app=m.app,
                digest=m.new.digest,
                sources=m.sources or (request.target,),
                target=request.target,
                evidence=evidence,
                now=now,
                actor=actor,
                signed=signed,
                rollback=request.action == "rollback",
            ),
        )
        for m in moves
    ]
    moves = [
        dataclasses.replace(move, clears_at=clears_together(gates, move.gates, now))
        for move in moves
    ]
    sets: dict[KeyPath, Scalar] = {}
    inserts: dict[KeyPath, Any] = {}
    removes: list[KeyPath] = []
    for move in moves:
        more = copy_edits(target_doc, move.app, artifact_data(move.new))
        sets.update(more.set)
        inserts.update(more.insert)
        removes.extend(more.remove)
    edits = Edits(set=sets, insert=inserts, remove=removes)
    edited = edit_document(target_doc, edits) if moves and not refusals else target_doc
    after = edited.text
    event = Event(
        kind=request.action,
        environment=request.target,
        actor=actor,
        sources=_route(snapshot.pipeline, request),
        changes=tuple(
            Change(m.app, m.current.digest if m.current else None, m.new.digest, m.new.version)
            for m in moves
        ),
        gates=tuple(GateNote(m.app, g.gate, g.status, g.reason) for m in moves for g in m.gates),
        hotfix=request.hotfix,
    )
    return Plan(
        request=request,
        actor=actor,
        now=now,
        file=target_doc.name,
        mode=snapshot.pipeline.environments[request.target].promotion,
        moves=tuple(moves),
        unchanged=tuple(unchanged),
        waiting=tuple(waiting),
        refusals=tuple(refusals),
        before=target_doc.text,
        after=after,
        message=records.message(event) if moves else "",
        event=event,
        timezone=gates.window.timezone if gates.window else "UTC",
        documents={edited.name: edited},
    )


def _route(pipeline: Pipeline, request: Request) -> tuple[str, ...]:
    # Every source: with parallel testing the digest passed all of them (--from only picks
    # whose metadata is copied).
    if request.action != "promote":
        return ()
    return pipeline.environments[request.target].sources


Outcome = tuple[list[Move], list[str], list[tuple[str, str]], list[tuple[str, str]]]


def _promotions(snapshot: Snapshot, request: Request, evidence: Evidence) -> Outcome:
    pipeline = snapshot.pipeline
    target = pipeline.environments[request.target]
    moves: list[Move] = []
    unchanged: list[str] = []
    waiting: list[tuple[str, str]] = []
    refusals: list[tuple[str, str]] = []
    if not target.sources:
        refusals.append(
            (
                "*",
                f"{target.name} is an entry environment; new builds enter it with "
                f"`promoter publish APP --to {target.name} --digest …`",
            )
        )
        return moves, unchanged, waiting, refusals
    if request.source and request.source not in target.sources:
        refusals.append(
            (
                "*",
                f"{target.name} promotes from {', '.join(target.sources)}, not from "
                f"{request.source}: no environment may be skipped",
            )
        )
        return moves, unchanged, waiting, refusals
    sources = target.sources
    apps = request.apps or (snapshot.apps if request.all_apps else ())
    states = snapshot.states
    terminals = [n for n in pipeline.environments if not pipeline.successors(n)]
    for app in apps:
        offers = {s: states[s].artifacts.get(app) for s in sources}
        missing = [s for s, a in offers.items() if a is None]
        current = states[target.name].artifacts.get(app)
        if missing:
            reason = f"not in {', '.join(missing)}"
            if request.all_apps:
                waiting.append((app, reason))
            else:
                refusals.append((app, f"{app} is {reason}, so it cannot enter {target.name}"))
            continue
        digests = {a.digest for a in offers.values() if a is not None}
        if len(digests) > 1:
            held = ", ".join(f"{s} has {short(a.digest)}" for s, a in offers.items() if a)
            if request.all_apps:
                waiting.append((app, f"sources disagree ({held})"))
            else:
                refusals.append(
                    (
                        app,
                        f"the sources of {target.name} disagree ({held}); a digest moves on "
                        "only when every parallel source runs it",
                    )
                )
            continue
        chosen = offers[request.source or sources[0]]
        assert chosen is not None
        if current is not None and current.digest == chosen.digest:
            if not request.all_apps:
                unchanged.append(app)
            continue
        for source in sources:  # build once: the digest must have come through the workflow
            if evidence.arrival(source, app, chosen.digest) is None:
                entry = not snapshot.pipeline.environments[source].sources
                refusals.append(
                    (
                        app,
                        f"{short(chosen.digest)} reached {source} without a recorded "
                        f"{'publication' if entry else 'promotion'} (a manual edit, or an "
                        "environment-specific build?); `promoter audit` shows how it got "
                        "there (a repository that predates promoter runs `promoter adopt` "
                        "once)",
                    )
                )
                break
        else:
            if request.hotfix:
                ran = [t for t in terminals if evidence.has_run(t, app, chosen.digest)]
                if ran:
                    refusals.append(
                        (
                            app,
                            f"{short(chosen.digest)} already ran in {', '.join(ran)}; a "
                            "hotfix must be a new artifact",
                        )
                    )
                    continue
            rollback = evidence.rolled_back(target.name, app, chosen.digest)
            if rollback is not None:
                when = f" on {rollback.when:%Y-%m-%d %H:%M %Z}" if rollback.when else ""
                reason = (
                    f"{short(chosen.digest)} was rolled back out of {target.name} in "
                    f"{rollback.sha[:12]}{when}; it moves on again once fresh evidence is "
                    f"recorded for it ({_fresh_evidence_hint(pipeline, request, app)})"
                )
                if request.all_apps:
                    waiting.append((app, reason))
                else:
                    refusals.append((app, reason))
                continue
            moves.append(Move(app, sources, current, chosen))
    return moves, unchanged, waiting, refusals


def _fresh_evidence_hint(pipeline: Pipeline, request: Request, app: str) -> str:
    """How to record the evidence that lifts a rollback's quarantine."""
    target = pipeline.environments[request.target]
    gates = _gate_set(pipeline, request.target, request)
    hints = []
    for source in target.sources:
        names = gates.checks_for(source)
        if names:
            hints.append(f"`promoter record {source} {app} --check {names[0]}=passed`")
            break
    if gates.approvals is not None:
        hints.append(f"`promoter approve {app} --to {target.name}`")
    if not hints:  # no gate asks for evidence: any fresh check result lifts it
        hints.append(f"`promoter record {target.sources[0]} {app} --check NAME=passed`")
    return " or ".join(hints)


def _publication(snapshot: Snapshot, request: Request) -> Outcome:
    target = snapshot.pipeline.environments[request.target]
    artifact = request.artifact
    assert artifact is not None
    current = snapshot.states[target.name].artifacts.get(artifact.app)
    if target.sources:
        return (
            [],
            [],
            [],
            [
                (
                    "*",
                    f"{target.name} takes digests from {', '.join(target.sources)}; only entry "
                    "environments take new builds: use `promoter promote`",
                )
            ],
        )
    if current is not None and current.digest == artifact.digest:
        return [], [artifact.app], [], []
    return [Move(artifact.app, (), current, artifact)], [], [], []


def _rollback(
    snapshot: Snapshot, request: Request, evidence: Evidence, artifact_at: ArtifactAt | None
) -> Outcome:
    env = request.target
    app = request.apps[0]
    current = snapshot.states[env].artifacts.get(app)
    if current is None:
        return [], [], [], [(app, f"{app} does not run in {env}; there is nothing to roll back")]
    ran = evidence.ran.get((env, app), [])
    if request.to_digest:
        wanted = request.to_digest
        if wanted == current.digest:
            return [], [app], [], []
        if wanted not in ran:
            return (
                [],
                [],
                [],
                [
                    (
                        app,
                        f"{env} never ran {short(wanted)} for {app} through promoter; roll back "
                        "only to a digest it ran before",
                    )
                ],
            )
    else:
        earlier = [d for d in ran if d != current.digest]
        if not earlier:
            return [], [], [], [(app, f"{env} has no earlier digest of {app} in its history")]
        wanted = earlier[0]
    arrival = evidence.arrival(env, app, wanted)
    data = artifact_at(arrival.sha, env, app) if arrival and artifact_at else None
    if data is None:
        return (
            [],
            [],
            [],
            [(app, f"cannot read {app}'s artifact {short(wanted)} from the history of {env}")],
        )
    restored = artifact_from_data(app, data)
    return [Move(app, (), current, restored)], [], [], []
