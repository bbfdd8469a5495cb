"""The gate status of a promotion pull request, for merge bots and branch protection.

A pull request is judged as the promotion it proposes would be judged if it landed now:
its head commit's trailers say what moves where; the plan for that promotion is made
again on the base branch as the remote holds it (in a temporary worktree, so the user's
checkout is never touched), with the forge's approving reviews of the current head
counted as approvals (the forge vouches for the reviewer's identity); and the pull
request must change nothing a promotion would not: one commit on the base, one file, the
apps its trailers name, exactly the artifacts the plan would pin. The verdict is posted
as the commit status ``promoter/gates`` on the head, which a branch protection rule or a
merge queue then requires.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from promoter import records, yamlio
from promoter.actor import Actor
from promoter.errors import GitError, PromoterError, UsageError
from promoter.forge import Forge, PullRequest, Review
from promoter.git import Git, Signature
from promoter.layout import Layout
from promoter.records import Event

if TYPE_CHECKING:
    from promoter.actions import Context
    from promoter.promote import Plan

State = Literal["success", "failure", "pending"]
FORGE_SHA = "forge:review:"  # the sha of an approval that is a forge review, not a commit


@dataclass(frozen=True)
class Verdict:
    """What a pull request's gates say now."""

    pull: PullRequest
    state: State
    description: str  # one line, for the commit status
    event: Event | None = None  # the promotion its head commit records
    plan: Plan | None = None  # that promotion, planned again on the base as it is now
    problems: tuple[str, ...] = ()  # what the pull request changes that it may not
    clears_at: dt.datetime | None = None  # when time alone makes it pass


def judge(ctx: Context, forge: Forge, number: int, remote: str) -> Verdict:
    """Judge pull request ``number`` (see the module's description)."""
    pull = forge.get_pull(number)
    if pull.state != "open":
        raise UsageError(
            f"pull request #{number} is {pull.state}",
            hint="Only an open pull request has a gate status to set",
        )
    git = ctx.git
    git.run("fetch", "--quiet", remote, pull.base, pull.head)
    head = git.resolve_commit(f"refs/remotes/{remote}/{pull.head}")
    base = git.resolve_commit(f"refs/remotes/{remote}/{pull.base}")
    if head != pull.head_sha or base is None:
        raise GitError(
            f"pull request #{number}'s branch {pull.head} is at {str(head)[:12]} on {remote}, "
            f"not at {pull.head_sha[:12]} as the forge says: it moved while being judged",
            hint="Run the command again; the status goes on the newest head",
        )
    ahead = git.run("rev-list", f"{base}..{head}").split()
    if len(ahead) != 1:
        said = (
            f"{len(ahead)} commits on top of the base; a promotion pull request holds exactly "
            "one, promoter's (run `promoter promote` again to rebuild it)"
        )
        return Verdict(pull, "failure", said, problems=(said,))
    found = list(git.log(head, max_count=1))
    event = records.parse(found[0]) if found else None
    if event is None or event.kind not in ("promote", "rollback"):
        return Verdict(pull, "failure", "not a promotion: its head commit has no promoter trailers")
    problems = list(_scope(ctx, git, head, event))
    if problems:
        return Verdict(pull, "failure", problems[0], event, problems=tuple(problems))
    approvals = _approvals(forge.reviews(number), head, event)
    with _worktree(git, base) as tree:
        plan = _plan_at(ctx, tree, event, approvals)
    problems = list(_against_plan(event, plan))
    return _verdict(pull, event, plan, tuple(problems))


def post(forge: Forge, verdict: Verdict, url: str | None) -> None:
    """Set the ``promoter/gates`` status of the judged head."""
    from promoter.forge import CONTEXT

    forge.set_status(verdict.pull.head_sha, verdict.state, verdict.description, url, CONTEXT)


def _scope(ctx: Context, git: Git, head: str, event: Event) -> Iterator[str]:
    """What the pull request's one commit changes that a promotion may not."""
    target = ctx.git_path(ctx.layout.display(ctx.layout.env_file(event.environment)))
    paths = git.commit_paths(head)
    others = [path for path in paths if path != target]
    if others:
        yield f"changes files a promotion does not: {', '.join(others[:3])}"
        return
    parent = git.parent(head)
    before = git.show(parent, target) if parent else None
    after = git.show(head, target)
    if before is None or after is None:
        yield f"{target} is missing on one side of the change"
        return
    old = _data(before, target)
    new = _data(after, target)
    moved = {change.app for change in event.changes}
    for key in sorted(set(old) | set(new)):
        if key != "artifacts" and old.get(key) != new.get(key):
            yield f"changes `{key}` in {target}, which a promotion never touches"
    old_apps, new_apps = old.get("artifacts") or {}, new.get("artifacts") or {}
    for app in sorted(set(old_apps) | set(new_apps)):
        if old_apps.get(app) != new_apps.get(app) and app not in moved:
            yield f"changes {app} in {target}, which its trailers do not name"
    for change in event.changes:
        pinned = (new_apps.get(change.app) or {}).get("digest")
        if pinned != change.digest:
            yield f"{change.app} is pinned to {pinned}, its trailer says {change.digest}"


def _data(text: str, name: str) -> dict[str, Any]:
    data = yamlio.loads(text, name).data
    return data if isinstance(data, dict) else {}


def _approvals(reviews: Sequence[Review], head: str, event: Event) -> tuple[Event, ...]:
    """Each reviewer's newest review, as an approval of every app the pull request moves,
    when it approves the current head (a review of an older head, or one dismissed or
    followed by a request for changes, does not count)."""
    newest: dict[str, Review] = {}
    for review in sorted(reviews, key=lambda r: r.id):
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED") and review.login:
            newest[review.login.casefold()] = review
    approvals = []
    for review in newest.values():
        if review.state != "APPROVED" or review.commit != head:
            continue
        for change in event.changes:
            approvals.append(
                Event(
                    kind="approve",
                    environment=event.environment,
                    actor=Actor(review.login, review.login),
                    app=change.app,
                    digest=change.digest,
                    sha=f"{FORGE_SHA}{review.id}",
                    when=review.when,
                )
            )
    return tuple(approvals)


def vouched(approvals: Sequence[Event]) -> Mapping[str, Signature]:
    """The forge's word for each review's author, in place of a signature."""
    return {e.sha: Signature("G", signer=e.actor.id) for e in approvals}


@contextlib.contextmanager
def _worktree(git: Git, sha: str) -> Iterator[Path]:
    """A temporary, detached worktree at ``sha``; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="promoter-gates-"))
    tree = folder / "tree"
    git.run("worktree", "add", "--detach", "--quiet", str(tree), sha)
    try:
        yield tree
    finally:
        with contextlib.suppress(PromoterError):
            git.run("worktree", "remove", "--force", str(tree))
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(PromoterError):
            git.run("worktree", "prune")


def _plan_at(ctx: Context, tree: Path, event: Event, approvals: tuple[Event, ...]) -> Plan:
    """The pull request's promotion, planned on the files and history of ``tree``."""
    from promoter.actions import Context, make_plan
    from promoter.promote import Request

    layout = Layout(
        tree / ctx.layout.root.relative_to(ctx.git.root),
        tree / ctx.layout.pipeline_file.relative_to(ctx.git.root),
    )
    there = Context(layout, Git.open(layout.root), event.actor, ctx.clock, approvals)
    apps = tuple(change.app for change in event.changes)
    request = Request(
        event.kind,  # type: ignore[arg-type]  # promote or rollback, checked by the caller
        event.environment,
        apps,
        hotfix=event.hotfix,
        to_digest=event.changes[0].digest if event.kind == "rollback" else None,
    )
    return make_plan(there, request)


def _against_plan(event: Event, plan: Plan) -> Iterator[str]:
    """Where the pull request pins something else than the promotion would now."""
    planned = {move.app: move.new.digest for move in plan.moves}
    for change in event.changes:
        now = planned.get(change.app)
        if now is None and change.app in plan.unchanged:
            yield f"{change.app}: {event.environment} runs {change.digest} already"
        elif now is not None and now != change.digest:
            yield (
                f"{change.app}: the pull request pins {records.short(change.digest)}, a "
                f"promotion now pins {records.short(now)}; run `promoter promote` to update it"
            )


def _verdict(pull: PullRequest, event: Event, plan: Plan, problems: tuple[str, ...]) -> Verdict:
    route = f"{', '.join(event.sources) or '?'} → {event.environment}"
    if problems:
        return Verdict(pull, "failure", problems[0], event, plan, problems)
    if plan.refusals:
        return Verdict(pull, "failure", f"refused: {plan.refusals[0][1]}", event, plan)
    blocked = plan.blocked
    failed = [(app, gate) for app, gate in blocked if gate.status == "fail"]
    if failed:
        app, gate = failed[0]
        return Verdict(pull, "failure", f"{app}: {gate.gate} failed: {gate.reason}", event, plan)
    if blocked:
        app, gate = blocked[0]
        clears = [move.clears_at for move in plan.moves if move.clears_at is not None]
        at = max(clears) if clears and len(clears) == len(plan.moves) else None
        when = f" (clears {at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC)" if at else ""
        facts = [part for part in gate.reason.split("; ") if not part.startswith("`")]
        text = f"{app} {gate.gate}: {'; '.join(facts)}"  # the facts, not the command hint
        return Verdict(pull, "pending", f"{text[: 130 - len(when)]}{when}", event, plan,
                       clears_at=at)  # fmt: skip
    if not plan.moves:
        return Verdict(pull, "failure", "nothing to promote: the target has it already", event)
    apps = ", ".join(move.app for move in plan.moves)
    return Verdict(pull, "success", f"all gates pass: {apps} {route}", event, plan)
