"""``promoter recover``: put right what a killed promoter run left in this working copy."""

from __future__ import annotations

from pathlib import Path

import click

from promoter import API_VERSION
from promoter.cli.options import common_options, repo_options
from promoter.errors import ExitCode


@click.command()
@repo_options
@common_options
def recover(repo: Path | None, pipeline: str | None, output: str) -> int:
    """Put right what a killed promoter run left here, then check the working copy.

    A run killed with SIGKILL (or a lost machine) can leave its temporary file, a
    half-written environment file, its commit that was never pushed, or git's index.lock.
    Every writing command does this first by itself; run it alone to clean up before
    other tools touch the working copy. Only what the killed run left is touched; anything
    else (your own edits, commits the upstream lacks, a git still running) ends with
    exit 4 and the command to run.

    \b
    Examples:
      promoter recover
      promoter recover -o json
    """
    from promoter import actions, report
    from promoter.land import check_clean, check_pushed_state
    from promoter.layout import find_layout

    recovered: list[str] = []
    with actions.writing_context(find_layout(repo, pipeline), recovered.append) as ctx:
        state = check_clean(ctx.git)
        if state.upstream is not None:
            check_pushed_state(state, state.upstream)
    if output == "json":
        document = {
            "apiVersion": API_VERSION,
            "kind": "RecoveryReport",
            "recovered": recovered,
            "ready": True,
        }
        click.echo(report.to_json(document))
    else:
        for line in recovered:
            click.echo(line)
        click.echo("recover: nothing to put right" if not recovered else "recover: done")
    return ExitCode.OK
