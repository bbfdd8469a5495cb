"""Options shared by several commands, each defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

DEBUG = {"on": False}


def checked_digest(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A ``--digest``-like option's value, refused (usage error) unless a full digest."""
    del ctx
    from promoter.reference import explain_digest

    problem = explain_digest(value) if value is not None else None
    if problem:
        raise click.BadParameter(problem, param=param)
    return value


def _debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    del ctx, param
    if value:
        DEBUG["on"] = True
    return value


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_debug,
    envvar="PROMOTER_DEBUG",
    help="Show tracebacks for errors (also: PROMOTER_DEBUG=1).",
)
repo_option = click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    envvar="PROMOTER_REPO",
    show_envvar=True,
    help="Root of the GitOps repository. Default: the nearest folder, from here up, that "
    "holds the pipeline file.",
)
pipeline_option = click.option(
    "--pipeline",
    "pipeline",
    default=None,
    envvar="PROMOTER_PIPELINE",
    show_envvar=True,
    metavar="FILE",
    help="Pipeline file, relative to the repository root. Default: environments/pipeline.yaml. "
    "Environment files sit beside it.",
)
output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for bots (schema in schemas/).",
)


def repo_options(func: F) -> F:
    """--repo and --pipeline, which every command that reads the repository takes."""
    return repo_option(pipeline_option(func))


def common_options(func: F) -> F:
    """--output and --debug."""
    return output_option(debug_option(func))


push_option = click.option(
    "--push/--no-push",
    default=True,
    show_default=True,
    help="Push to the branch's upstream (retrying races); --no-push commits locally only.",
)


def change_options(func: F) -> F:
    """--repo, --pipeline, --push/--no-push, --output and --debug: every command that commits."""
    return repo_options(push_option(common_options(func)))
