"""Evidence and markers written as commits: check results (``record``), approvals,
the ``adopt`` baseline and acknowledgements of audit findings.

Each is an attributed commit that carries no file change, landed the one way every
writing command lands (:func:`promoter.actions.land_checked`). Where the pipeline asks
for signed evidence, the new commit must verify as made by the acting identity, or it is
not written at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from promoter import records, reference
from promoter.actions import (
    Context,
    as_committed,
    evidence,
    land_checked,
    require_known,
    resolve_digest,
    run_audit,
)
from promoter.errors import Refused, UsageError
from promoter.filehistory import entered
from promoter.history import read_events
from promoter.land import Commitable, Landed
from promoter.model import Artifact, Person, Pipeline, Snapshot
from promoter.records import Event, short
from promoter.reference import DigestRef
from promoter.trust import Directory, binding
from promoter.validate import load_snapshot


def record(
    ctx: Context,
    environment: str,
    app: str,
    check: str,
    result: str,
    *,
    url: str | None = None,
    digest: DigestRef | None = None,
    push: bool = True,
) -> tuple[Event, Landed | None, str | None]:
    """Record a check result for the digest an app runs (or ran) in an environment; also
    a warning when no gate asks for that check from there."""
    from promoter.reference import explain_name

    problem = explain_name(check, "check name")
    if problem:
        raise UsageError(problem)
    made: list[Event] = []

    def prepare(head: str) -> Commitable | None:
        del head  # evidence is read fresh on every attempt
        snapshot = load_snapshot(ctx.layout)
        artifact = _artifact(snapshot, environment, app)
        bound = (
            resolve_digest(ctx, digest, [environment], app, artifact.image)
            if digest
            else artifact.digest
        )
        if bound != artifact.digest and not evidence(ctx, [bound]).has_run(environment, app, bound):
            raise Refused(
                f"{environment} never ran {short(bound)} for {app}",
                hint="Record evidence only for a digest the environment runs or ran",
            )
        event = Event(
            kind="record",
            environment=environment,
            actor=ctx.actor,
            app=app,
            digest=bound,
            check=(check, result),
            url=url,
        )
        made.append(event)
        pipeline = snapshot.pipeline
        signed = [s for s in pipeline.successors(environment) if pipeline.signed(s)]
        if not signed and _repeats(ctx, event):
            # The same result again, nothing in between: nothing to do. (Where evidence
            # must be signed, the earlier record may not be: a new, signed one is written.)
            return None
        return Commitable(
            {},
            records.message(event),
            ctx.now(),
            sign=bool(signed),
            check=_signed_as(ctx, pipeline.people, "check result", signed) if signed else None,
            event=event,
        )

    warning = check_name_note(load_snapshot(ctx.layout, only=()).pipeline, environment, check)
    landed = land_checked(ctx, prepare, push=push, command="record")
    return as_committed(ctx, made[-1], landed), landed, warning


def _repeats(ctx: Context, event: Event) -> bool:
    """Whether ``event`` says again what the newest commit about its digest said: the same
    check result, link and person, with nothing (a move, a rollback, an approval) in
    between. A CI job retried after its run was killed records once. One ``git log`` that
    stops at the first commit naming the digest: a record stays cheap on a long history."""
    assert event.digest is not None
    commits = list(ctx.git.log("HEAD", fixed=[event.digest], max_count=1))
    newest = records.parse(commits[0]) if commits else None
    return (
        newest is not None
        and newest.kind == "record"
        and (newest.environment, newest.app, newest.digest, newest.check, newest.url)
        == (event.environment, event.app, event.digest, event.check, event.url)
        and newest.actor.id == event.actor.id
    )


def check_name_note(pipeline: Pipeline, environment: str, check: str) -> str | None:
    """None when a gate takes ``check`` from ``environment``; a refusal when the name is
    one edit away from one that does (a typo would record evidence nobody reads); else a
    warning to show."""
    wanted: dict[str, list[str]] = {}
    for successor in pipeline.successors(environment):
        env = pipeline.environments[successor]
        for gates in (env.gates, env.hotfix_gates, env.rollback_gates):
            for name in gates.checks_for(environment) if gates else ():
                wanted.setdefault(name, []).append(successor)
    if check in wanted:
        return None
    close = sorted(name for name in wanted if reference.one_edit(check, name))
    if close:
        raise Refused(
            f"no gate asks for a check {check!r} from {environment}; did you mean "
            f"{close[0]!r} (asked for by {', '.join(dict.fromkeys(wanted[close[0]]))})?",
            hint="Nothing was written; record the check under the name the gate uses",
        )
    asked = ", ".join(sorted(wanted)) or "none"
    return (
        f"warning: no gate asks for a check {check!r} from {environment} (the gates of its "
        f"successors ask for: {asked}); it is recorded, but counts for no promotion"
    )


def approve(
    ctx: Context, app: str, target: str, *, digest: DigestRef | None = None, push: bool = True
) -> tuple[Event, Landed | None]:
    """Approve promoting an app's digest into ``target``, as the acting identity."""
    made: list[Event] = []

    def prepare(head: str) -> Commitable | None:
        del head  # evidence is read fresh on every attempt
        snapshot = load_snapshot(ctx.layout)
        require_known(snapshot, environment=target, app=app)
        env = snapshot.pipeline.environments[target]
        rules = [
            g.approvals
            for g in (env.gates, env.hotfix_gates, env.rollback_gates)
            if g is not None and g.approvals is not None
        ]
        if not rules:
            raise Refused(f"{target} has no approvals gate", hint="Nothing to approve")
        # Anyone may approve when one gate set takes anyone (a rollbackGates without `from`,
        # say); each gate still counts only the approvals its own list allows.
        people = Directory(snapshot.pipeline.people)
        anyone = any(not rule.allowed for rule in rules)
        allowed = {who for rule in rules for who in rule.allowed}
        if not anyone and not people.allowed(ctx.actor.id, tuple(allowed)):
            raise Refused(
                f"{ctx.actor.display} may not approve promotions into {target} "
                f"(allowed: {', '.join(sorted(allowed))})",
                hint="Ask one of them to approve; an approval counts for the identity that "
                "makes it (see `people:` in the pipeline for one person's several identities)",
            )
        if digest is not None:
            image = next(
                (s.artifacts[app].image for s in snapshot.states.values() if app in s.artifacts),
                None,
            )
            around = [*snapshot.pipeline.environments[target].sources, target]
            bound = resolve_digest(ctx, digest, around, app, image)
        else:
            bound = _offered(snapshot, target, app)
        signed = snapshot.pipeline.signed(target)
        if _approved_already(ctx, snapshot, target, app, bound, signed=signed):
            return None  # the same approval again: nothing to do
        event = Event(kind="approve", environment=target, actor=ctx.actor, app=app, digest=bound)
        made.append(event)
        return Commitable(
            {},
            records.message(event),
            ctx.now(),
            sign=signed,
            check=_signed_as(ctx, snapshot.pipeline.people, "approval", [target])
            if signed
            else None,
            event=event,
        )

    landed = land_checked(ctx, prepare, push=push, command="approve")
    if not made:  # nothing to do: the approval as it stands already counts
        made.append(Event(kind="approve", environment=target, actor=ctx.actor, app=app))
    return as_committed(ctx, made[-1], landed), landed


def _approved_already(
    ctx: Context, snapshot: Snapshot, target: str, app: str, digest: str, *, signed: bool
) -> bool:
    """Whether an approval by the acting person for ``digest`` into ``target`` counts."""
    proof = evidence(ctx, [digest], people=snapshot.pipeline.people)
    mine = [
        event
        for event in proof.approvals.get((target, app, digest), ())
        if proof.people.same(event.actor.id, ctx.actor.id)
    ]
    if signed and mine:
        proof.signatures.update(ctx.git.signatures([event.sha for event in mine]))
    # one from before the digest left the target does not approve its return (a rollback)
    void = max(proof.void_before(target, app, digest), proof.left_at(target, app, digest))
    return any(proof.why_not_counted(event, since=void, signed=signed) is None for event in mine)


def _signed_as(
    ctx: Context, people: Mapping[str, Person], what: str, where: Sequence[str]
) -> Callable[[str], None]:
    """A check that the new commit's signature binds it to the acting identity: evidence
    for ``where`` counts only then, so an unbound one is not written at all."""

    def check(sha: str) -> None:
        why = binding(ctx.actor.id, ctx.git.signatures([sha]).get(sha), Directory(people))
        if why is not None:
            raise Refused(
                f"this {what} would not count in {', '.join(where)}: its commit would be "
                f"{why}. Evidence there counts only when git verifies that it is signed by "
                f"the identity it claims ({ctx.actor.id})",
                hint="Sign with your own key (git config user.signingkey; gpg.format ssh for "
                "an SSH key) and have it listed for your identity in the allowed signers file "
                "(gpg.ssh.allowedSignersFile) or trusted in your GPG keyring; see SECURITY.md. "
                "Nothing was written",
            )

    return check


def _artifact(snapshot: Snapshot, environment: str, app: str) -> Artifact:
    require_known(snapshot, environment=environment)
    artifact = snapshot.states[environment].artifacts.get(app)
    if artifact is None:
        raise UsageError(
            f"app {app!r} does not run in {environment}"
            + reference.did_you_mean(app, snapshot.states[environment].artifacts),
            hint=f"Known there: {', '.join(snapshot.states[environment].artifacts) or 'none'}",
        )
    return artifact


def _offered(snapshot: Snapshot, target: str, app: str) -> str:
    sources = snapshot.pipeline.environments[target].sources
    if not sources:
        return _artifact(snapshot, target, app).digest
    digests = {_artifact(snapshot, source, app).digest for source in sources}
    if len(digests) != 1:
        raise Refused(
            f"the sources of {target} disagree on {app}",
            hint="Name the digest to approve with --digest",
        )
    return digests.pop()


def adopt(ctx: Context, *, push: bool = True) -> tuple[Event, Landed | None]:
    """Record every digest pinned now as the accepted baseline of the audit log."""
    made: list[Event] = []

    def prepare(head: str) -> Commitable:
        del head  # history is read fresh on every attempt
        earlier = [e for e in read_events(ctx.git, cached=False) if e.kind == "adopt"]
        if earlier:
            raise Refused(
                f"this repository adopted promoter already, in {earlier[-1].sha[:12]}: a "
                "second baseline would accept every digest changed by hand since",
                hint="Promote, publish or roll back instead; `promoter audit` lists what "
                "has no lineage",
            )
        snapshot = load_snapshot(ctx.layout)
        files = {
            ctx.git_path(ctx.layout.display(ctx.layout.env_file(env))): env
            for env in snapshot.pipeline.order()
        }
        pinned = [
            (env, app, artifact.digest)
            for env in snapshot.pipeline.order()
            for app, artifact in sorted(snapshot.states[env].artifacts.items())
        ]
        # when git shows each digest entered its file: soak goes on from there
        since = entered(ctx.git, files, [(env, digest) for env, _, digest in pinned])
        baseline = tuple(
            (env, app, digest, since[(env, digest)].isoformat() if (env, digest) in since else "")
            for env, app, digest in pinned
        )
        event = Event(kind="adopt", environment="", actor=ctx.actor, baseline=baseline)
        made.append(event)
        return Commitable({}, records.message(event), ctx.now(), event=event)

    landed = land_checked(ctx, prepare, push=push, command="adopt")
    return as_committed(ctx, made[-1], landed), landed


def acknowledge(
    ctx: Context, sha: str, reason: str, *, code: str | None = None, push: bool = True
) -> tuple[Event, Landed | None]:
    """Record, as an attributed commit, that the audit finding(s) of commit ``sha`` (of
    ``code`` only, when given) have been dealt with. Where the pipeline protects an
    environment, the commit is signed, and counts for its findings only when the signature
    binds it to the acting identity."""
    from promoter.audit.report import CODES

    if code is not None and code not in CODES:
        close = [known for known in sorted(CODES) if reference.one_edit(code, known)]
        raise UsageError(
            f"unknown finding code {code!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
            hint=f"Known codes: {', '.join(sorted(CODES))}",
        )
    if not " ".join(reason.split()):
        raise UsageError("--reason is empty", hint="Say how the finding was dealt with")
    target = ctx.git.resolve_commit(sha)
    if target is None or not ctx.git.is_ancestor(target):
        raise UsageError(
            f"{sha!r} is not a commit of this branch",
            hint="Name the commit `promoter audit` reports (its sha, as printed)",
        )
    # only what the audit finds there can be acknowledged: an acknowledgement waiting for
    # a finding that does not exist yet would silence it when it comes
    signed = code in ("unsigned", "signer-mismatch")  # what only --require-signed finds
    found = sorted({f.code for f in run_audit(ctx, require_signed=signed) if f.sha == target})
    if not found or (code is not None and code not in found):
        what = f"no {code} finding" if code and found else "no audit finding"
        raise Refused(
            f"commit {target[:12]} has {what}"
            + (f" (it has: {', '.join(found)})" if found else "")
            + ": there is nothing to acknowledge",
            hint="Name a commit (and code) that `promoter audit` reports (with "
            "--require-signed, for unsigned and signer-mismatch); nothing was written",
        )
    made: list[Event] = []

    def prepare(head: str) -> Commitable:
        del head
        pipeline = load_snapshot(ctx.layout, only=()).pipeline
        protected = [name for name, env in pipeline.environments.items() if env.protected]
        event = Event(
            kind="acknowledge",
            environment="",
            actor=ctx.actor,
            acknowledged=(target, code or ""),
            reason=reason,
        )
        made.append(event)
        return Commitable(
            {},
            records.message(event),
            ctx.now(),
            sign=bool(protected),
            check=_signed_as(ctx, pipeline.people, "acknowledgement", protected)
            if protected
            else None,
            event=event,
        )

    landed = land_checked(ctx, prepare, push=push, command="acknowledge")
    return as_committed(ctx, made[-1], landed), landed
