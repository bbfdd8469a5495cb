"""``promoter gate-status``: the gate status of promotion pull requests, for merge bots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from promoter import API_VERSION
from promoter.cli.options import common_options, notice, repo_options
from promoter.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from promoter.gatestatus import Verdict

CODES = {"success": ExitCode.OK, "failure": ExitCode.FINDINGS, "pending": ExitCode.PENDING}


@click.command("gate-status")
@click.option("--pr", "numbers", type=click.IntRange(min=1), multiple=True, metavar="N",
              help="The pull request to judge (repeatable).")  # fmt: skip
@click.option("--all-open", is_flag=True, help="Every open promotion pull request (promoter/*).")
@click.option("--no-post", is_flag=True, help="Judge only; do not set the commit status.")
@repo_options
@common_options
def gate_status(
    numbers: tuple[int, ...],
    all_open: bool,
    no_post: bool,
    repo: Path | None,
    pipeline: str | None,
    output: str,
) -> int:
    """Judge promotion pull requests and set their `promoter/gates` commit status.

    Each pull request's promotion (from its head commit's trailers) is planned again on
    the base branch as the remote holds it, with the forge's approving reviews of the
    current head counted as approvals, and the pull request must change nothing a
    promotion would not. The status (success, failure or pending, with a one-line
    reason) goes on the head commit under the stable context `promoter/gates`: make it a
    required check in branch protection or the merge queue.

    Exit code: 0 success, 1 failure, 7 pending (for several pull requests, the worst).

    \b
    Examples:
      promoter gate-status --pr 42
      promoter gate-status --all-open -o json
      promoter gate-status --pr 42 --no-post      # judge only
    """
    from promoter import actions, report
    from promoter.forge import connect, locate
    from promoter.gatestatus import judge, post
    from promoter.layout import find_layout
    from promoter.pullrequest import PREFIX

    if not numbers and not all_open:
        raise UsageError("name a pull request (--pr N) or pass --all-open")
    layout = find_layout(repo, pipeline)
    ctx = actions.open_context(layout, writing=not no_post)
    state = ctx.git.worktree()
    remote = state.upstream[0] if state.upstream else "origin"
    base = state.upstream[1] if state.upstream else None
    forge = connect(locate(ctx.git.remote_url(remote)))
    wanted = list(numbers)
    if all_open:
        if base is None:
            raise UsageError(
                "--all-open needs the branch promotions go into: check it out with an upstream"
            )
        wanted += [p.number for p in forge.open_pulls(base, PREFIX) if p.number not in wanted]
    verdicts = []
    for number in wanted:
        verdict = judge(ctx, forge, number, remote)
        if not no_post:
            post(forge, verdict, _run_url() or verdict.pull.url)
        verdicts.append(verdict)
    if output == "json":
        document = {
            "apiVersion": API_VERSION,
            "kind": "GateStatus",
            "posted": not no_post,
            "pullRequests": [_json(v) for v in verdicts],
        }
        click.echo(report.to_json(document))
    else:
        for verdict in verdicts:
            click.echo(f"#{verdict.pull.number} {verdict.state}: {verdict.description}")
            for problem in verdict.problems[1:]:
                click.echo(f"  also: {problem}")
        if not verdicts:
            notice("no open promotion pull requests")
    order = ("success", "pending", "failure")
    worst = max((v.state for v in verdicts), key=order.index, default="success")
    return CODES[worst]


def _run_url() -> str | None:
    """The CI run that judged, where the environment names one (GitHub Actions)."""
    server, repository, run = (
        os.environ.get(name, "") for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY",
                                              "GITHUB_RUN_ID")
    )  # fmt: skip
    if server.startswith("https://") and repository and run.isdigit():
        return f"{server}/{repository}/actions/runs/{run}"
    return None


def _json(verdict: Verdict) -> dict[str, Any]:
    from promoter.report_plan import plan_json

    return {
        "number": verdict.pull.number,
        "url": verdict.pull.url,
        "head": verdict.pull.head,
        "sha": verdict.pull.head_sha,
        "state": verdict.state,
        "description": verdict.description,
        "problems": list(verdict.problems),
        "clearsAt": verdict.clears_at.isoformat() if verdict.clears_at else None,
        "plan": plan_json(verdict.plan, dry_run=True) if verdict.plan else None,
    }
