"""``promoter gates`` and ``promoter history``: reading the evidence back."""

from __future__ import annotations

from pathlib import Path

import click

from promoter import API_VERSION
from promoter.cli.options import (
    checked_name,
    common_options,
    env_option,
    repo_options,
    warn_if_killed,
)
from promoter.errors import ExitCode


@click.command()
@click.argument("app", callback=checked_name)
@env_option("--to", "target", help="The target environment.", required=True)
@env_option("--from", "source", help="The source, when there are several.")
@click.option("--hotfix", is_flag=True, help="Explain the hotfix gate set instead.")
@repo_options
@common_options
def gates(
    app: str,
    target: str,
    source: str | None,
    hotfix: bool,
    repo: Path | None,
    pipeline: str | None,
    output: str,
) -> int:
    """Explain every gate for promoting APP into ENV, with its evidence.

    Says when a pending gate will clear if time alone clears it (soak, deploy window).
    Exit code 0 when the promotion may go ahead, 1 when something blocks it.

    \b
    Examples:
      promoter gates web --to prod
      promoter gates web --to prod --hotfix -o json
    """
    from promoter import actions, report
    from promoter.cli.prbody import proposal_json, proposal_text
    from promoter.layout import find_layout
    from promoter.promote import Request
    from promoter.report_plan import plan_json, plan_text

    layout = find_layout(repo, pipeline)
    warn_if_killed(layout, "this explanation")
    ctx = actions.open_context(layout)
    plan = actions.make_plan(ctx, Request("promote", target, (app,), source=source, hotfix=hotfix))
    proposing = plan.mode == "pull-request" and plan.proposable
    if output == "json":
        document = plan_json(plan, dry_run=True)
        if proposing:
            document["pullRequest"] = proposal_json(plan)
        click.echo(report.to_json(document))
    else:
        click.echo(plan_text(plan))
        if proposing:
            click.echo(proposal_text(plan))
    return (
        ExitCode.OK if plan.ready or (not plan.moves and not plan.refusals) else ExitCode.FINDINGS
    )


@click.command()
@env_option("--env", "environment", help="Only events into or out of ENV.")
@click.option("--app", metavar="APP", callback=checked_name, help="Only events about APP.")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many events.")
@repo_options
@common_options
def history(
    environment: str | None,
    app: str | None,
    limit: int | None,
    repo: Path | None,
    pipeline: str | None,
    output: str,
) -> int:
    """Show promoter's audit log: publications, promotions, rollbacks, evidence, policy.

    Read from commit trailers with one `git log`, newest first, with every change of the
    pipeline file's gates, approvers, promotion mode or protection (who, when, from what
    to what).

    \b
    Examples:
      promoter history
      promoter history --env prod --app web --limit 10
      promoter history -o json | jq '.events[] | select(.kind == "promote")'
    """
    from promoter import actions, report
    from promoter.layout import find_layout
    from promoter.report_plan import event_json, history_text, policy_json

    layout = find_layout(repo, pipeline)
    warn_if_killed(layout, "this history")
    ctx = actions.open_context(layout)
    events, policies = actions.history(ctx, environment=environment, app=app, limit=limit)
    if output == "json":
        rows = [(e.when, event_json(e)) for e in events]
        rows += [(p.when, policy_json(p)) for p in policies]
        rows.sort(key=lambda row: row[0].timestamp() if row[0] else 0.0, reverse=True)
        click.echo(
            report.to_json(
                {
                    "apiVersion": API_VERSION,
                    "kind": "History",
                    "events": [row[1] for row in rows][:limit],
                }
            )
        )
    else:
        click.echo(history_text(events, policies))
    return ExitCode.OK


@click.command()
@click.option(
    "--require-signed",
    is_flag=True,
    help="Also require every promoter commit to be signed by its Promoter-Actor.",
)
@repo_options
@common_options
def audit(require_signed: bool, repo: Path | None, pipeline: str | None, output: str) -> int:
    """Prove every promotion and its gates again, from git alone.

    Every promotion, hotfix and rollback is judged again with the gates the pipeline
    declared at its parent, against the evidence recorded before it, at the time it
    reached the branch; every commit's diff is held against its trailers; hand edits
    of pinned artifacts (and any edit of a protected environment), dates that run
    backwards and pipeline changes that weaken a protected environment are reported,
    with sha, author and date; and every digest pinned now must have a recorded
    arrival. Exit code 1 when anything is found that `promoter acknowledge` has not
    dealt with.

    \b
    Examples:
      promoter audit
      promoter audit --require-signed -o json
    """
    from promoter import actions, report
    from promoter.layout import find_layout

    ctx = actions.open_context(find_layout(repo, pipeline))
    findings = actions.run_audit(ctx, require_signed=require_signed)
    open_findings = [f for f in findings if f.acknowledged is None]
    if output == "json":
        click.echo(
            report.to_json(
                {
                    "apiVersion": API_VERSION,
                    "kind": "AuditReport",
                    "ok": not open_findings,
                    "findings": [_finding_json(f) for f in findings],
                }
            )
        )
    else:
        for finding in findings:
            if finding.acknowledged is None:
                click.echo(f"{finding.code}: {finding.message}")
        for finding in findings:
            ack = finding.acknowledged
            if ack is not None:
                click.echo(
                    f"acknowledged {finding.code}: {finding.message} (by {ack.actor} in "
                    f"{ack.sha[:12]}: {ack.reason})"
                )
        if open_findings:
            click.echo(f"{len(open_findings)} problem{'s' * (len(open_findings) != 1)}")
        else:
            done = len(findings)
            click.echo(
                "ok: every promotion and its gates proven from git"
                + (f" ({done} acknowledged finding{'s' * (done != 1)})" if done else "")
            )
    return ExitCode.FINDINGS if open_findings else ExitCode.OK


def _finding_json(finding: object) -> dict[str, object]:
    from promoter.audit import AuditFinding

    assert isinstance(finding, AuditFinding)
    ack = finding.acknowledged
    return {
        "code": finding.code,
        "message": finding.message,
        "environment": finding.environment,
        "app": finding.app,
        "sha": finding.sha,
        "author": finding.author,
        "when": finding.when.isoformat() if finding.when else None,
        "gate": finding.gate,
        "acknowledged": {
            "commit": ack.sha,
            "by": ack.actor,
            "when": ack.when.isoformat() if ack.when else None,
            "reason": ack.reason,
        }
        if ack
        else None,
    }
