"""``promoter status``."""

from __future__ import annotations

from pathlib import Path

import click

from promoter.cli.options import (
    checked_name,
    common_options,
    env_option,
    repo_options,
    warn_if_killed,
)
from promoter.errors import ExitCode


@click.command()
@repo_options
@env_option("--env", "envs", help="Show only this environment (repeatable).", multiple=True)
@click.option(
    "--app",
    "apps",
    multiple=True,
    metavar="APP",
    callback=checked_name,
    help="Show only this app (repeatable).",
)
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 when a promotion is pending or waiting, like git diff --exit-code.",
)
@common_options
def status(
    repo: Path | None,
    pipeline: str | None,
    envs: tuple[str, ...],
    apps: tuple[str, ...],
    exit_code: bool,
    output: str,
) -> int:
    """Show which digest every app runs in every environment.

    Columns are environments, sources first; each cell shows the short digest and the
    version label. A * marks a pending promotion: every source of that environment
    holds a digest it does not have yet. A ! marks a digest a rollback took out of that
    environment, which waits for fresh evidence. A ~ marks sources that disagree
    (parallel testing not finished). A - marks an environment that lacks the app.

    The repository is validated first; if it has problems, status exits 3 and
    `promoter validate` lists them.

    \b
    Examples:
      promoter status
      promoter status --env staging --env prod --app web
      promoter status -o json | jq '.pending[]'
      promoter status --exit-code >/dev/null || echo "promotions waiting"
    """
    from promoter import actions, report
    from promoter.layout import find_layout
    from promoter.status import compute_status
    from promoter.validate import load_snapshot

    layout = find_layout(repo, pipeline)
    warn_if_killed(layout, "this status")
    snapshot = load_snapshot(layout)
    result = compute_status(snapshot, envs, apps)
    rolled_back = actions.rolled_back_cells(layout, result)
    if rolled_back:
        result = compute_status(snapshot, envs, apps, rolled_back)
    if output == "json":
        click.echo(report.to_json(report.status_json(result, snapshot)))
    else:
        click.echo(report.status_text(result))
    if exit_code and (result.pending or result.waiting):
        return ExitCode.FINDINGS
    return ExitCode.OK
