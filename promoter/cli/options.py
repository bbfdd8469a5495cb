"""Options shared by several commands, each defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

DEBUG = {"on": False}
OUTPUT = {"format": "text"}  # the --output of the running command, for its error report


def checked_digest(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """A ``--digest``-like option's value: a full digest, ``IMAGE@sha256:…``, or a prefix
    of at least 12 hex digits; anything else (a tag, a short digest) is a usage error."""
    del ctx
    from promoter.reference import parse_digest_ref

    if value is None:
        return None
    try:
        return parse_digest_ref(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def full_digest(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """``--digest`` of a new build: a full digest or ``IMAGE@sha256:…``, never a prefix."""
    del ctx
    from promoter.reference import parse_digest_ref

    if value is None:
        return None
    try:
        return parse_digest_ref(value, prefix_ok=False)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


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


def _output(ctx: click.Context, param: click.Parameter, value: str) -> str:
    del ctx, param
    OUTPUT["format"] = value
    return value


output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    callback=_output,
    help="text for people, json for bots (schema in schemas/); an error is a JSON document "
    "too (schemas/error.schema.json).",
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
