"""The commands that change the repository, as calls: plan, then land through git.

Each function reads the repository fresh, so a retry after a push race plans on the
newest state. They return values; the CLI renders them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from promoter import clock, records, reference, yamlio
from promoter.actor import Actor, current_actor
from promoter.errors import GitError, Refused, UsageError
from promoter.evidence import Evidence, build_evidence
from promoter.git import Git, Signature
from promoter.guard import check_write
from promoter.history import read_events, read_history, select
from promoter.land import Commitable, Landed, exclusive, land, preflight
from promoter.layout import Layout
from promoter.model import Person, Snapshot
from promoter.promote import Plan, Request, plan
from promoter.records import Event
from promoter.recovery import Recovery, recover
from promoter.reference import DigestRef
from promoter.status import RolledBack, StatusReport
from promoter.validate import load_checked, load_snapshot

if TYPE_CHECKING:  # imported where used: they are not needed by every command
    from promoter.audit import AuditFinding
    from promoter.policy import PolicyEvent
    from promoter.pullrequest import Proposed


@dataclass(frozen=True)
class Context:
    """Where and as whom a command acts, and what time it is."""

    layout: Layout
    git: Git
    actor: Actor
    clock: Callable[[], dt.datetime]
    # approvals that are not commits: a pull request's approving reviews, whose authors
    # the forge vouches for (see promoter.gatestatus)
    approvals: tuple[Event, ...] = ()

    def now(self) -> dt.datetime:
        """The time gates are judged at (see :mod:`promoter.clock`)."""
        return self.clock()

    def git_path(self, display: str) -> str:
        """A layout-relative path as the git repository names it."""
        return (self.layout.root / display).resolve().relative_to(self.git.root).as_posix()


def open_context(layout: Layout, *, writing: bool = False) -> Context:
    """Open the git repository around ``layout`` and find out who is acting.

    A ``writing`` context judges gates at the real time only: anything that would move its
    clock or its commit's date is refused here, before the repository is read.
    """
    clock.now(writing=writing)
    git = Git.open(layout.root)
    actor = current_actor(*git.identity())
    return Context(layout, git, actor, functools.partial(clock.now, writing=writing))


@contextmanager
def writing_context(
    layout: Layout,
    notify: Callable[[str], None] = lambda text: None,
    recovered: Callable[[Recovery], None] = lambda recovery: None,
) -> Iterator[Context]:
    """A writing command's context, with this working copy's promoter lock held for the
    whole command: from before it reads the files and history, through its pre-flight
    checks and its "nothing to do", to its last push or reset. Two runs in one working
    copy then never see each other's unpushed commit or half-written file. What a killed
    run left is put right first (:mod:`promoter.recovery`), ``notify`` told in words and
    ``recovered`` given what was done."""
    ctx = open_context(layout, writing=True)
    with exclusive(ctx.git, notify=notify):
        recovery = recover(ctx.git)
        if recovery is not None:
            for line in recovery.lines():
                notify(f"recovered from {line}")
            recovered(recovery)
        yield ctx


MAX_FILTERS = 64  # past this many digests, reading the whole history is cheaper


def evidence(
    ctx: Context,
    mentioning: Sequence[str] = (),
    *,
    people: Mapping[str, Person] | None = None,
    cached: bool = True,
    shallow_ok: bool = False,
) -> Evidence:
    """What the history proves, from one bulk ``git log``: only about ``mentioning``
    (digests, trailer lines) when given, which keeps gate checks fast on long histories.
    ``cached=False`` reads git itself even for the whole log (no event cache); a shallow
    clone is refused unless ``shallow_ok``. ``people`` tells who is who."""
    if len(mentioning) > MAX_FILTERS:
        mentioning = ()
    found = read_history(ctx.git, mentioning=mentioning, cached=cached, shallow_ok=shallow_ok)
    proof = build_evidence(found.events, landed=found.landed, people=people)
    for approval in ctx.approvals:  # newer than every commit: made on the pull request
        proof.add(approval)
    return proof


def _mentioning(snapshot: Snapshot, request: Request) -> list[str]:
    """The strings every commit relevant to ``request`` contains: its digests or app."""
    if request.action == "rollback":
        # every digest the app ever had, and the evidence (record, approve) about them
        return [f"Promoter-App: {app}" for app in request.apps] + [
            f"Promoter-Baseline: {request.target} {app} " for app in request.apps
        ]
    if request.action == "publish":
        return [request.artifact.digest] if request.artifact else []
    env = snapshot.pipeline.environments.get(request.target)
    if env is None or request.all_apps:
        return []
    digests = {
        artifact.digest
        for source in env.sources
        for app in request.apps
        if (artifact := snapshot.states[source].artifacts.get(app)) is not None
    }
    return sorted(digests)


def _artifact_reader(ctx: Context) -> Callable[[str, str, str], dict[str, Any] | None]:
    def artifact_at(sha: str, environment: str, app: str) -> dict[str, Any] | None:
        path = ctx.layout.env_file(environment)
        text = ctx.git.show(sha, ctx.git_path(ctx.layout.display(path)))
        if text is None:
            return None
        data = yamlio.loads(text, f"{ctx.layout.display(path)}@{sha[:12]}").data
        found = data.get("artifacts", {}).get(app) if isinstance(data, dict) else None
        return found if isinstance(found, dict) else None

    return artifact_at


def make_plan(ctx: Context, request: Request) -> Plan:
    """Plan a promotion, publication or rollback on the repository as it is now.

    Only the pipeline, the target and its sources are read: a promotion between two
    environments does not parse every environment file.
    """
    pipeline = load_snapshot(ctx.layout, only=()).pipeline
    if request.target not in pipeline.environments:
        raise reference.unknown("environment", request.target, pipeline.environments)
    needed = {request.target, *pipeline.environments[request.target].sources}
    snapshot, documents = load_checked(ctx.layout, only=needed)
    head = ctx.git.head_or_none()
    made = plan(
        snapshot,
        documents[request.target],
        request,
        # A publication only asks history for approvals of its new digest: in a shallow
        # clone (a build job's usual checkout) a missing one blocks, it cannot pass.
        evidence(
            ctx,
            _mentioning(snapshot, request),
            people=pipeline.people,
            shallow_ok=request.action == "publish",
        ),
        actor=ctx.actor,
        now=ctx.now(),
        artifact_at=_artifact_reader(ctx),
        signatures_of=functools.partial(_signatures, ctx),
    )
    sources = {doc.name: doc for env, doc in documents.items() if env != request.target}
    return dataclasses.replace(made, head=head, documents={**sources, **made.documents})


def _signatures(ctx: Context, shas: Sequence[str]) -> Mapping[str, Signature]:
    """git's verdict on the signatures of these commits; for a forge review, the forge's
    word for its author."""
    from promoter.gatestatus import vouched

    reviews = {e.sha: e for e in ctx.approvals}
    found: dict[str, Signature] = dict(vouched([reviews[s] for s in shas if s in reviews]))
    commits = [sha for sha in shas if sha not in reviews]
    if commits:
        found.update(ctx.git.signatures(commits))
    return found


def refusal(current: Plan) -> Refused:
    """The error for a plan that may not land: every refusal and every blocking gate."""
    reasons = [reason for _, reason in current.refusals]
    reasons += [f"{app}: {gate.gate} {gate.status}: {gate.reason}" for app, gate in current.blocked]
    return Refused(
        "; ".join(reasons) or "nothing may be promoted",
        hint="Nothing was written",
    )


def execute(ctx: Context, first: Plan, *, push: bool = True) -> tuple[Plan, Landed | None]:
    """Land ``first``; after a push race, plan again on the new head and land that."""
    latest: list[Plan] = []

    def prepare(head: str) -> Commitable | None:
        # A retry plans anew; so does the first attempt when the branch moved while this
        # run waited for the working copy's lock (another promoter landed): the plan, its
        # gates and the time they were judged at must belong to the commit's parent.
        stale = latest or head != first.head
        current = make_plan(ctx, first.request) if stale else first
        latest.append(current)
        if current.refusals or (current.moves and not current.ready):
            raise refusal(current)
        if not current.moves:
            return None  # a concurrent run already did it
        return _commitable(ctx, current)

    landed = land_checked(ctx, prepare, push=push, command=first.request.action)
    return latest[-1], landed


def propose(
    ctx: Context, first: Plan, render: Callable[[Plan], tuple[str, str]]
) -> tuple[Plan, Proposed | None]:
    """Land ``first`` in a ``promotion: pull-request`` environment: its commit on a
    promotion branch, pushed, and a pull request opened or updated (``render`` gives its
    title and body). The forge is found from the upstream's URL (see
    :func:`promoter.forge.locate`); nothing is written before it and its token are."""
    from promoter.forge import connect, locate
    from promoter.pullrequest import Proposal, branch_for, labels_for, reviewers_for

    state = ctx.git.worktree()
    if state.upstream is None:
        raise GitError(
            f"{state.branch or 'HEAD'} has no upstream branch to propose against",
            hint="Set one (git push -u origin BRANCH): the pull request goes into it",
        )
    location = locate(ctx.git.remote_url(state.upstream[0]))
    forge = connect(location)
    latest = [first]

    def build(plan: Plan) -> tuple[Plan, Commitable, Proposal]:
        if not plan.proposable:
            raise refusal(plan)
        change = _commitable(ctx, plan)
        pipeline = load_snapshot(ctx.layout, only=()).pipeline
        check_write(
            ctx.layout, ctx.git.root, change, pipeline, command=plan.request.action,
            event=change.event,
        )  # fmt: skip
        title, body = render(plan)
        proposal = Proposal(
            branch=branch_for(plan),
            base=state.upstream[1] if state.upstream else "",
            title=title,
            body=body,
            labels=labels_for(plan),
            reviewers=reviewers_for(ctx, plan, location.kind),
            apps=tuple(move.app for move in plan.moves),
        )
        return plan, change, proposal

    def replan() -> tuple[Plan, Commitable, Proposal] | None:
        plan = make_plan(ctx, first.request)
        latest.append(plan)
        return build(plan) if plan.moves or plan.refusals else None

    from promoter.pullrequest import propose as open_or_update

    proposed = open_or_update(ctx, *build(first), forge, replan=replan)
    return latest[-1], proposed


def check_planned(ctx: Context, planned: Plan) -> None:
    """Refuse, as the real run would, a plan whose write would leave the repository
    invalid: ``--dry-run`` predicts the refusal instead of showing a diff that would not
    land."""
    if planned.moves and not planned.refusals:
        pipeline = load_snapshot(ctx.layout, only=()).pipeline
        change = _commitable(ctx, planned)
        check_write(
            ctx.layout, ctx.git.root, change, pipeline, command=planned.request.action,
            event=change.event,
        )  # fmt: skip


def _commitable(ctx: Context, planned: Plan) -> Commitable:
    """The commit a plan lands."""
    return Commitable(
        {ctx.git_path(planned.file): planned.after},
        planned.message,
        planned.now,
        event=planned.event,
        documents=planned.documents,
    )


def land_checked(
    ctx: Context,
    prepare: Callable[[str], Commitable | None],
    *,
    push: bool,
    command: str,
) -> Landed | None:
    """Land what ``prepare`` plans, each attempt checked before it is written (see
    :mod:`promoter.guard`): the one way every writing command commits."""

    def guarded(head: str) -> Commitable | None:
        change = prepare(head)
        if change is not None:
            pipeline = load_snapshot(ctx.layout, only=()).pipeline
            check_write(
                ctx.layout, ctx.git.root, change, pipeline, command=command, event=change.event
            )  # parsed files come along in change.documents: not parsed again
        return change

    return land(ctx.git, guarded, push=push)


def as_committed(ctx: Context, event: Event, landed: Landed | None) -> Event:
    """``event`` as git now holds it: with its commit's sha, time and author."""
    if landed is None:
        return event
    commits = list(ctx.git.log(landed.sha, max_count=1))
    committed = records.parse(commits[0]) if commits else None
    return committed or event


def check_names(ctx: Context, *, environment: str | None, app: str | None) -> None:
    """Refuse (usage error) an environment the pipeline lacks or an app no file has: a
    filter that matches nothing because of a typo must not look like an empty history."""
    require_known(load_snapshot(ctx.layout), environment=environment, app=app)


def require_known(
    snapshot: Snapshot, *, environment: str | None = None, app: str | None = None
) -> None:
    """Raise a usage error for an environment the pipeline lacks or an app no file has."""
    envs = snapshot.pipeline.environments
    if environment is not None and environment not in envs:
        raise reference.unknown("environment", environment, envs)
    if app is not None and app not in snapshot.apps:
        raise reference.unknown("app", app, snapshot.apps, hint="Check the spelling")


def history(
    ctx: Context, *, environment: str | None, app: str | None, limit: int | None
) -> tuple[list[Event], list[PolicyEvent]]:
    """Events (filtered, newest first, at most ``limit``) and the policy changes among
    them, read side by side: the events' log and the pipeline file's."""
    from promoter.policy import policy_history

    box: dict[str, list[PolicyEvent] | BaseException] = {}
    pipeline_path = ctx.git_path(ctx.layout.display(ctx.layout.pipeline_file))

    def policies() -> None:
        try:
            box["found"] = [] if app else policy_history(ctx.git, pipeline_path)
        except BaseException as exc:  # handed over to the caller's thread
            box["found"] = exc

    worker = threading.Thread(target=policies, daemon=True)
    worker.start()
    try:
        # Without filters, git itself stops after --limit commits; with them, filter first.
        if environment or app:
            mentioning = [f"Promoter-App: {app}"] if app else []
            events = select(read_events(ctx.git, mentioning=mentioning), environment, app)
        else:
            events = read_events(ctx.git, limit=limit)
    finally:
        worker.join()
    found = box["found"]
    if isinstance(found, BaseException):
        raise found
    if environment:
        found = [p for p in found if any(c.environment == environment for c in p.changes)]
    if not events and not found and (environment or app):
        check_names(ctx, environment=environment, app=app)
    if limit is not None:
        newest = sorted([e.when for e in events if e.when] + [p.when for p in found], reverse=True)
        cut = newest[limit - 1] if len(newest) >= limit else None
        found = [p for p in found if cut is None or p.when >= cut]
        events = events[:limit]
    return events, found


def catch_up(ctx: Context) -> bool:
    """Bring the working copy up to its upstream (fetch, fast-forward); True if it moved."""
    from promoter.land import catch_up as fetch_and_fast_forward

    return fetch_and_fast_forward(ctx.git)


def check_pushed(ctx: Context) -> None:
    """Refuse to call a change done while the branch holds commits the remote lacks (a
    run interrupted before its push, say) or the worktree holds uncommitted changes."""
    preflight(ctx.git, push=True)


def resolve_digest(
    ctx: Context, ref: DigestRef, environments: Sequence[str], app: str, image: str | None
) -> str:
    """The full digest ``ref`` names for ``app``: as given (its IMAGE, if any, must be the
    app's image), or the one digest among those ``environments`` ran that the prefix
    names."""
    if ref.image is not None and image is not None and ref.image != image:
        raise UsageError(
            f"the digest names image {ref.image}, but {app} is built as {image}",
            hint="Give the digest of the app's own image (or just sha256:…)",
        )
    if ref.digest is not None:
        return ref.digest
    filters = [f"Promoter-App: {app}", *(f"Promoter-Baseline: {e} {app} " for e in environments)]
    found = evidence(ctx, filters)
    candidates = [d for env in environments for d in found.ran.get((env, app), ())]
    try:
        return ref.resolve(candidates, f"{' or '.join(environments)} ran for {app}")
    except ValueError as exc:
        raise UsageError(str(exc), hint="See `promoter history --app APP`") from None


def run_audit(ctx: Context, *, require_signed: bool = False) -> list[AuditFinding]:
    """Every problem of the repository, from git alone: the verifier does not trust the
    local event cache, which anyone who can write to ``.git`` could edit."""
    from promoter.audit import audit

    env_dir = ctx.git_path(ctx.layout.display(ctx.layout.env_dir))
    pipeline_path = ctx.git_path(ctx.layout.display(ctx.layout.pipeline_file))
    return audit(
        ctx.git,
        _committed_snapshot(ctx, env_dir),
        env_dir=env_dir,
        pipeline_path=pipeline_path,
        require_signed=require_signed,
        now=ctx.now(),
    )


def _committed_snapshot(ctx: Context, env_dir: str) -> Snapshot:
    """The environment files as HEAD holds them: uncommitted edits are no part of what git
    proves. Read from the working tree when it holds none there (the usual case)."""
    inside = "" if env_dir == "." else env_dir + "/"
    dirty = [path for path in ctx.git.worktree().dirty if path.startswith(inside)]
    if not dirty or ctx.git.head_or_none() is None:
        return load_snapshot(ctx.layout)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="promoter-audit-") as scratch:
        top = Path(scratch)
        for path in ctx.git.files_at("HEAD", env_dir):
            text = ctx.git.show("HEAD", path)
            if text is not None:
                (top / path).parent.mkdir(parents=True, exist_ok=True)
                (top / path).write_text(text, encoding="utf-8", newline="")
        root = top / ctx.git_path(".") if ctx.git_path(".") != "." else top
        pipeline = top / ctx.git_path(ctx.layout.display(ctx.layout.pipeline_file))
        return load_snapshot(Layout(root, pipeline))


def rolled_back_cells(layout: Layout, report: StatusReport) -> dict[tuple[str, str], RolledBack]:
    """For each pending cell whose digest a rollback took out of its environment, with no
    fresh evidence recorded since: that rollback, by ``(app, environment)``. Read from
    git with two filtered logs; nothing outside a git repository."""
    pending = {(c.environment, c.app, c.offered.digest) for c in report.pending if c.offered}
    if not pending:
        return {}
    try:
        git = Git.open(layout.root)
    except GitError:
        return {}
    marks = read_events(git, mentioning=["Promoter-Rollback: true"], shallow_ok=True)
    hit = {
        (event.environment, change.app, change.previous)
        for event in marks
        for change in event.changes
        if change.previous
    } & pending
    if not hit:
        return {}
    about = sorted({digest for _, _, digest in hit})
    proof = build_evidence(read_events(git, mentioning=about, shallow_ok=True))
    found = {}
    for environment, app, digest in hit:
        rollback = proof.rolled_back(environment, app, digest)
        if rollback is not None:
            found[(app, environment)] = RolledBack(digest, rollback.sha, rollback.when)
    return found
