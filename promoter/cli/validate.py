"""``promoter validate``."""

from __future__ import annotations

from pathlib import Path

import click

from promoter.cli.options import SafePath, common_options, repo_options
from promoter.errors import ExitCode


@click.command()
@click.argument("paths", nargs=-1, type=SafePath(path_type=Path))
@repo_options
@common_options
def validate(paths: tuple[Path, ...], repo: Path | None, pipeline: str | None, output: str) -> int:
    """Check the pipeline and environment files: schema, graph, digests, names.

    Without PATHS, checks the whole repository: the pipeline file and every
    environment file beside it. With PATHS (files or folders), checks those; a
    folder that holds a pipeline file is always checked as a whole, so rules across
    environments still apply (this is how the pre-commit hook runs).

    Every problem is reported in one run as file:line:col: message [code].
    Exit code 1 when there are problems.

    \b
    Examples:
      promoter validate
      promoter validate environments/prod.yaml
      promoter validate --repo ../gitops -o json
    """
    from promoter import report
    from promoter.layout import DEFAULT_PIPELINE, find_layout
    from promoter.validate import check_paths, check_repository

    if paths:
        root = repo.resolve() if repo else Path.cwd()
        result = check_paths(paths, pipeline or DEFAULT_PIPELINE, root)
    else:
        result = check_repository(find_layout(repo, pipeline))
    if output == "json":
        click.echo(report.to_json(report.validate_json(result)))
    else:
        click.echo(report.validate_text(result))
    return ExitCode.OK if result.ok else ExitCode.FINDINGS
