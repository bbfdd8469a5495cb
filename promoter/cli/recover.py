"""``promoter recover``: put right what a killed promoter run left in this working copy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from promoter import API_VERSION
from promoter.cli.options import common_options, repo_options
from promoter.errors import ExitCode, GitError

if TYPE_CHECKING:
    from promoter.recovery import Recovery


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

    recovered: list[Recovery] = []
    layout = find_layout(repo, pipeline)
    problem: GitError | None = None
    with actions.writing_context(layout, recovered=recovered.append) as ctx:
        try:
            state = check_clean(ctx.git)
            if state.upstream is not None:
                check_pushed_state(ctx.git, state, state.upstream)
        except GitError as exc:  # reported with what was put right, not instead of it
            problem = exc
    lines = [line for recovery in recovered for line in recovery.lines()]
    if output == "json":
        document = {
            "apiVersion": API_VERSION,
            "kind": "RecoveryReport",
            "recovered": lines,
            "runs": [_run_json(recovery) for recovery in recovered],
            "ready": problem is None,
            "problem": problem.render() if problem else None,
        }
        click.echo(report.to_json(document))
        return problem.exit_code if problem else ExitCode.OK
    for line in lines:
        click.echo(line)
    if problem is not None:
        raise problem
    click.echo("recover: done" if lines else "recover: nothing to put right")
    return ExitCode.OK


def _run_json(recovery: Recovery) -> dict[str, Any]:
    """One killed run and what was put right of it, as the schema has it."""
    intent = recovery.intent
    return {
        "command": intent.command,
        "summary": intent.summary,
        "pid": intent.pid,
        "started": dt.datetime.fromtimestamp(intent.started, dt.UTC).isoformat(),
        "base": intent.base,
        "commit": intent.commit,
        "steps": [
            {"action": step.action, "text": step.text, "paths": list(step.paths)}
            | ({"commit": step.commit} if step.commit else {})
            for step in recovery.steps
        ],
    }
