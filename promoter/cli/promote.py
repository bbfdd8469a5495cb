"""``promoter promote``, ``publish`` and ``rollback``: commands that move a pinned digest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from promoter.cli.options import (
    change_options,
    checked_digest,
    checked_name,
    env_option,
    full_digest,
    no_credentials,
    notice,
    warn_if_killed,
)
from promoter.errors import ExitCode
from promoter.reference import unknown

if TYPE_CHECKING:
    from promoter.actions import Context
    from promoter.promote import Plan, Request
    from promoter.reference import DigestRef


def _run(
    request: Request,
    repo: Path | None,
    pipeline: str | None,
    *,
    dry_run: bool,
    push: bool,
    output: str,
) -> int:
    from promoter import actions
    from promoter.layout import find_layout

    layout = find_layout(repo, pipeline)
    if dry_run:
        warn_if_killed(layout, "this plan")  # the real run would put it right first
        return _plan_and_land(actions.open_context(layout), request, True, push, output)
    with actions.writing_context(layout, notice) as ctx:
        return _plan_and_land(ctx, request, False, push, output)


def _plan_and_land(ctx: Context, request: Request, dry_run: bool, push: bool, output: str) -> int:
    from promoter import actions, report
    from promoter.cli.prbody import proposal_json, proposal_text
    from promoter.report_plan import landed_text, plan_json, plan_text

    plan = actions.make_plan(ctx, request)
    if dry_run:
        actions.check_planned(ctx, plan)  # what the real run would refuse, refused now
    if plan.mode == "pull-request" and not push and plan.moves and not dry_run:
        import dataclasses

        reason = (
            f"{request.target} takes changes through pull requests (promotion: pull-request): "
            "--no-push cannot open one; run without it, or use --dry-run to see the change"
        )
        plan = dataclasses.replace(plan, refusals=(*plan.refusals, ("*", reason)))
    if not dry_run and push and not plan.moves and not plan.refusals:
        # "Nothing to do" must mean the remote has it: not a stale clone's view (fetch
        # first), nor a commit left unpushed here by a run stopped before its push.
        actions.check_pushed(ctx)
        if actions.catch_up(ctx):
            plan = actions.make_plan(ctx, request)
    proposing = plan.mode == "pull-request"
    if proposing and not dry_run and plan.proposable:
        return _propose(ctx, plan, output)  # approvals may still come as reviews
    if dry_run or not plan.ready:
        if output == "json":
            document = plan_json(plan, dry_run=dry_run)
            if dry_run and proposing and plan.proposable:
                document["pullRequest"] = proposal_json(plan)
            click.echo(report.to_json(document))
        else:
            click.echo(plan_text(plan, diff=dry_run))
            if dry_run and proposing and plan.proposable:
                click.echo(proposal_text(plan))
            if not dry_run and (plan.refusals or plan.moves):
                # one blocked app holds the whole commit back: say so, not just per app
                click.echo(f"{request.action}: nothing was written (see above)")
            elif not dry_run and not plan.waiting:
                click.echo(f"{request.action}: nothing to do")  # the remote holds it all
        if plan.refusals or (plan.moves and not plan.ready):
            return ExitCode.FINDINGS
        return ExitCode.OK
    final, landed = actions.execute(ctx, plan, push=push)
    if output == "json":
        click.echo(report.to_json(plan_json(final, landed)))
    else:
        click.echo(plan_text(final))
        click.echo(landed_text(landed, request.action))
    return ExitCode.OK


def _propose(ctx: Context, plan: Plan, output: str) -> int:
    """Open or update the pull request of a ready plan, and say what was done."""
    from promoter import actions, report
    from promoter.cli.prbody import body, pull_json, title
    from promoter.report_plan import plan_json, plan_text

    final, proposed = actions.propose(ctx, plan, lambda p: (title(p), body(p)))
    if output == "json":
        document = plan_json(final)
        document["pullRequest"] = pull_json(proposed)
        click.echo(report.to_json(document))
        return ExitCode.OK
    click.echo(plan_text(final))
    action = final.request.action
    if proposed is None:
        click.echo(f"{action}: nothing to do")
        return ExitCode.OK
    pull = proposed.pull
    said = {"opened": "opened", "updated": "updated", "unchanged": "already up to date:"}
    where = f"{pull.url} ({pull.head} → {pull.base})"
    click.echo(f"{action}: {said[proposed.action]} pull request #{pull.number} {where}")
    for old in proposed.superseded:
        click.echo(f"{action}: closed #{old.number} ({old.head}), superseded by #{pull.number}")
    return ExitCode.OK


@click.command()
@click.argument("apps", nargs=-1, callback=checked_name)
@env_option("--to", "target", help="The environment to promote into.", required=True)
@env_option(
    "--from",
    "source",
    help="The source environment, when the target has several (parallel testing).",
)
@click.option(
    "--all",
    "all_apps",
    is_flag=True,
    help="Release train: every app whose sources hold a new digest, in one commit.",
)
@click.option(
    "--hotfix",
    is_flag=True,
    help="Use the environment's hotfixGates; the digest must be new to production.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the plan, the exact diff and the commit message."
)
@change_options
def promote(
    apps: tuple[str, ...],
    target: str,
    source: str | None,
    all_apps: bool,
    hotfix: bool,
    dry_run: bool,
    repo: Path | None,
    pipeline: str | None,
    push: bool,
    output: str,
) -> int:
    """Promote apps' pinned digests from the source environment(s) into ENV.

    The digest, version label and source metadata are copied exactly; the target's
    configuration is never touched. Every gate of the target must pass, the target must
    be a direct successor of the source, and the digest must have reached the source
    through promoter. One commit with trailers records what, from where, by whom, and
    the gate results; it is pushed, and a push race is fetched, re-checked and retried.

    \b
    Examples:
      promoter promote web --to staging --dry-run
      promoter promote web api --to prod
      promoter promote --all --to qa            # release train, one commit
      promoter promote web --to prod --hotfix
      promoter promote web --to staging --from perf -o json
    """
    from promoter.errors import UsageError
    from promoter.promote import Request

    if bool(apps) == all_apps:
        raise UsageError(
            "name the apps to promote, or pass --all (not both)",
            hint="e.g. promoter promote web --to staging",
        )
    request = Request("promote", target, apps, all_apps, source, hotfix)
    return _run(request, repo, pipeline, dry_run=dry_run, push=push, output=output)


@click.command()
@click.argument("app", callback=checked_name)
@env_option("--to", "target", help="The entry environment.", required=True)
@click.option(
    "--digest",
    required=True,
    callback=full_digest,
    help="The immutable digest: sha256:<64 hex>, or IMAGE@sha256:<64 hex>.",
)
@click.option("--image", help="Image repository (default: the one the app already uses).")
@click.option("--version", "version", help="Version label, e.g. 1.4.3.")
@click.option(
    "--source-repo", callback=no_credentials, help="Repository the artifact was built from."
)
@click.option("--source-revision", help="Commit the artifact was built from.")
@click.option("--dry-run", is_flag=True, help="Print the plan and the exact diff.")
@change_options
def publish(
    app: str,
    target: str,
    digest: DigestRef,
    image: str | None,
    version: str | None,
    source_repo: str | None,
    source_revision: str | None,
    dry_run: bool,
    repo: Path | None,
    pipeline: str | None,
    push: bool,
    output: str,
) -> int:
    """Publish a new build into an entry environment (one with no `from`).

    This is how an artifact enters the pipeline, usually from CI right after the image
    is pushed: the commit it makes is the first link of the digest's lineage.

    \b
    Examples:
      promoter publish web --to dev --digest sha256:1a2b… --version 1.9.0
      promoter publish api --to dev --digest "$DIGEST" --image registry.example.com/shop/api \\
          --source-repo https://github.com/example-shop/api --source-revision "$GITHUB_SHA"
    """
    from promoter.errors import UsageError
    from promoter.model import Artifact
    from promoter.promote import Request
    from promoter.reference import explain_image, explain_name

    problem = (explain_image(image) if image else None) or explain_name(app, "app name")
    if problem:
        raise UsageError(problem)
    if image is not None and digest.image is not None and digest.image != image:
        raise UsageError(f"--digest names image {digest.image}, but --image is {image}")
    current = (
        _current_image(repo, pipeline, target, app, required=digest.image is None)
        if image is None or digest.image is not None
        else None
    )
    if digest.image is not None and current is not None and digest.image != current:
        raise UsageError(
            f"--digest names image {digest.image}, but {app} is built as {current}",
            hint="Publish the digest of the app's own image",
        )
    image = image or digest.image or current
    assert image is not None and digest.digest is not None
    artifact = Artifact(app, image, digest.digest, version, source_repo, source_revision)
    request = Request("publish", target, (app,), artifact=artifact)
    return _run(request, repo, pipeline, dry_run=dry_run, push=push, output=output)


def _current_image(
    repo: Path | None, pipeline: str | None, target: str, app: str, *, required: bool
) -> str | None:
    from promoter.errors import UsageError
    from promoter.layout import find_layout
    from promoter.validate import load_snapshot

    snapshot = load_snapshot(find_layout(repo, pipeline))
    for state in snapshot.states.values():
        if app in state.artifacts:
            return state.artifacts[app].image
    if not required:
        return None
    raise UsageError(
        f"{app} is new: name its image with --image",
        hint=f"e.g. --image registry.example.com/team/{app}",
    )


@click.command()
@click.argument("app", callback=checked_name)
@env_option("--env", "target", help="The environment to roll back.", required=True)
@click.option(
    "--to",
    "to_digest",
    metavar="DIGEST",
    callback=checked_digest,
    help="The digest to return to: in full, or at least 12 hex digits of one the "
    "environment ran (default: the one before the current one).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and the exact diff.")
@change_options
def rollback(
    app: str,
    target: str,
    to_digest: DigestRef | None,
    dry_run: bool,
    repo: Path | None,
    pipeline: str | None,
    push: bool,
    output: str,
) -> int:
    """Return an app in ENV to a digest it ran before, as a new commit.

    History is never rewritten: the rollback is a commit of its own, with trailers. The
    artifact (version label and source metadata too) is restored exactly as it was. Only
    the environment's rollbackGates apply (default: its deploy window).

    \b
    Examples:
      promoter rollback web --env prod
      promoter rollback web --env prod --to sha256:0f9e… --dry-run
      promoter rollback web --env prod --to 0f9e8d7c6b5a   # a unique prefix it ran
    """
    from promoter.promote import Request

    wanted = None
    if to_digest is not None:
        from promoter import actions
        from promoter.layout import find_layout
        from promoter.validate import load_snapshot

        layout = find_layout(repo, pipeline)
        ctx = actions.open_context(layout, writing=False)
        known = load_snapshot(layout, only=()).pipeline.environments
        if target not in known:
            raise unknown("environment", target, known)
        wanted = actions.resolve_digest(ctx, to_digest, [target], app, None)
    request = Request("rollback", target, (app,), to_digest=wanted)
    return _run(request, repo, pipeline, dry_run=dry_run, push=push, output=output)
