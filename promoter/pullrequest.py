"""Promotions into a ``promotion: pull-request`` environment: a branch and a pull request.

The change is the one a direct promotion would commit (same file edit, same message and
trailers), committed on a promotion branch (``promoter/<env>/<app>``, ``promoter/<env>/
train`` for a release train) built without touching the work tree, pushed with a lease,
and proposed as a pull request. Running it again updates that branch and pull request
instead of opening another; a pull request it makes moot (a release train covering an
app's open promotion) is closed with a comment that links its successor.

It follows the one recovery model (:mod:`promoter.recovery`): the intent is recorded
before anything is written; as nothing local changes but git objects, a killed run
leaves at most a pushed branch, which the next run for the same promotion takes over.
A forge that fails after the push gets the branch put back as it was: no orphan branch,
no half-made pull request.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from promoter import recovery
from promoter.errors import GitError, PromoterError
from promoter.forge import Forge, PullRequest
from promoter.git import Git, PushRejected
from promoter.land import preflight

if TYPE_CHECKING:
    from promoter.actions import Context
    from promoter.land import Commitable
    from promoter.promote import Plan

PREFIX = "promoter/"


@dataclass(frozen=True)
class Proposal:
    """The pull request a plan makes: where from, where to, and what it says."""

    branch: str
    base: str
    title: str
    body: str
    labels: tuple[str, ...]
    reviewers: tuple[str, ...]  # forge logins
    apps: tuple[str, ...] = ()  # the apps it moves


@dataclass(frozen=True)
class Proposed:
    """What a run did on the forge."""

    pull: PullRequest
    action: Literal["opened", "updated", "unchanged"]
    sha: str  # the promotion branch's commit
    superseded: tuple[PullRequest, ...] = ()


def branch_for(plan: Plan) -> str:
    """The promotion branch of a plan: one per environment and app, one per train."""
    target = plan.request.target
    if plan.request.all_apps or len(plan.moves) != 1:
        return f"{PREFIX}{target}/train"
    return f"{PREFIX}{target}/{plan.moves[0].app}"


def labels_for(plan: Plan) -> tuple[str, ...]:
    """``promotion``, ``env/<target>``, and ``hotfix`` or ``rollback`` where they apply."""
    labels = ["promotion", f"env/{plan.request.target}"]
    if plan.request.hotfix:
        labels.append("hotfix")
    if plan.request.action == "rollback":
        labels.append("rollback")
    return tuple(labels)


def reviewers_for(ctx: Context, plan: Plan, forge: str) -> tuple[str, ...]:
    """The forge logins of the people the target's approval gate allows, the person
    promoting left out (a forge does not let authors review their own change)."""
    from promoter.validate import load_snapshot

    pipeline = load_snapshot(ctx.layout, only=()).pipeline
    env = pipeline.environments.get(plan.request.target)
    gates = env.hotfix_gates if env is not None and plan.request.hotfix else None
    gates = gates or (env.gates if env is not None else None)
    if gates is None or gates.approvals is None:
        return ()
    logins: list[str] = []
    for key in gates.approvals.allowed:
        person = pipeline.people.get(key)
        if person is None or any(ctx.actor.matches(i) for i in person.identities):
            continue
        logins += [login for kind, login in person.logins if kind == forge]
    return tuple(dict.fromkeys(logins))


def propose(
    ctx: Context,
    planned: Plan,
    change: Commitable,
    proposal: Proposal,
    forge: Forge,
    *,
    replan: Callable[[], tuple[Plan, Commitable, Proposal] | None],
) -> Proposed | None:
    """Commit ``change`` on the promotion branch, push it and open or update its pull
    request. Call with the working copy's lock held (``writing_context``). If the
    branch the plan was made on moved on the remote, ``replan`` plans again on it (None:
    the remote holds it already, nothing to do)."""
    git = ctx.git
    upstream, tracking = preflight(git, push=True)
    assert upstream is not None  # preflight refuses a branch without one when pushing
    remote, base_branch = upstream
    git.fetch(remote, base_branch)
    base = git.head()
    tip = git.resolve_commit(tracking or f"{remote}/{base_branch}")
    if tip is not None and tip != base:
        git.fast_forward(tracking or f"{remote}/{base_branch}")  # never proposes on old state
        again = replan()
        if again is None:
            return None
        planned, change, proposal = again
        base = git.head()
    proposal = dataclasses.replace(proposal, base=base_branch)
    recovery.begin(
        git,
        recovery.Intent(
            command=planned.request.action,
            branch=proposal.branch,
            base=base,
            files=(),  # the work tree is never touched: only git objects are written
            upstream=(remote, proposal.branch),
            started=recovery.now(),
            pid=os.getpid(),
            summary=proposal.title,
        ),
    )
    try:
        return _propose(git, remote, base, change, proposal, forge)
    finally:
        recovery.finish(git)


def _propose(
    git: Git, remote: str, base: str, change: Commitable, proposal: Proposal, forge: Forge
) -> Proposed:
    sha = git.commit_files(base, change.files, change.message, when=change.when, sign=change.sign)
    openers = forge.open_pulls(proposal.base, PREFIX)
    existing = next((p for p in openers if p.head == proposal.branch), None)
    before = git.remote_branch(remote, proposal.branch)
    if (
        existing is not None
        and before is not None
        and (existing.title, existing.body) == (proposal.title, proposal.body)
        and set(proposal.labels) <= set(existing.labels)  # a run killed before labelling
        and _same(git, remote, proposal, before, sha)
    ):
        return Proposed(existing, "unchanged", before)  # a re-run with nothing new
    try:
        git.push_branch(remote, sha, proposal.branch, before)
    except PushRejected:
        raise GitError(
            f"the promotion branch {proposal.branch} moved on {remote} while promoter "
            "was updating it",
            hint="Someone else pushed to it; run the command again (nothing was changed)",
        ) from None
    try:
        if existing is not None:
            pull = forge.update_pull(existing.number, proposal.title, proposal.body,
                                     proposal.labels)  # fmt: skip
            action: Literal["opened", "updated", "unchanged"] = "updated"
        else:
            pull = forge.open_pull(
                proposal.branch, proposal.base, proposal.title, proposal.body, proposal.labels
            )
            action = "opened"
    except PromoterError:
        _put_back(git, remote, proposal.branch, before, sha)
        raise
    if action == "opened" and proposal.reviewers:
        forge.request_reviewers(pull.number, proposal.reviewers)
    superseded = _supersede(git, remote, forge, openers, pull, proposal)
    return Proposed(pull, action, sha, superseded)


def _same(git: Git, remote: str, proposal: Proposal, before: str, sha: str) -> bool:
    """Whether the branch already holds this change: same parent, same tree."""
    try:
        git.run("fetch", "--quiet", remote, f"refs/heads/{proposal.branch}")
        old = git.run("rev-parse", f"{before}^{{tree}}", f"{before}^").split()
        new = git.run("rev-parse", f"{sha}^{{tree}}", f"{sha}^").split()
    except GitError:
        return False
    return old == new


def _put_back(git: Git, remote: str, branch: str, before: str | None, sha: str) -> None:
    """Undo this run's push: delete the branch it created, or set it back."""
    with contextlib.suppress(GitError):  # it moved again since: not ours to touch any more
        git.push_branch(remote, before, branch, sha)


def _supersede(
    git: Git,
    remote: str,
    forge: Forge,
    openers: Sequence[PullRequest],
    successor: PullRequest,
    proposal: Proposal,
) -> tuple[PullRequest, ...]:
    """Close the open promotion pull requests into the same environment that this one
    makes moot: a single app's, when a train now carries that app."""
    env_prefix = proposal.branch.rsplit("/", 1)[0] + "/"
    if not proposal.branch.endswith("/train"):
        return ()
    closed = []
    for pull in openers:
        if pull.head == proposal.branch or not pull.head.startswith(env_prefix):
            continue
        app = pull.head.removeprefix(env_prefix)
        if app not in proposal.apps:
            continue
        forge.close_pull(
            pull.number,
            f"Superseded by #{successor.number} ({successor.url}), which promotes `{app}` "
            "with the rest of the release train.",
        )
        _put_back(git, remote, pull.head, None, pull.head_sha)
        closed.append(pull)
    return tuple(closed)
