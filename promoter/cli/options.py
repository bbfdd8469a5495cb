"""Options shared by several commands, each defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from promoter.layout import Layout

F = TypeVar("F", bound=Callable[..., Any])

DEBUG = {"on": False}
OUTPUT = {"format": "text"}  # the --output of the running command, for its error report


def env_option(
    *decls: str, help: str, required: bool = False, multiple: bool = False
) -> Callable[[F], F]:
    """An option that names an environment (``--to``, ``--env``, ``--from``): checked as a
    name (never empty, no control characters) before the pipeline is read."""
    return click.option(
        *decls,
        required=required,
        multiple=multiple,
        metavar="ENV",
        callback=checked_name,
        help=help,
    )


def notice(text: str) -> None:
    """Tell the user something on stderr that is not an error (stdout stays the result)."""
    click.echo(f"promoter: {text}", err=True)


def warn_if_killed(layout: Layout, shown: str) -> None:
    """Warn on stderr when a killed writing run left its intent record in this working
    copy: what a read-only command shows (``shown``) may then count that run's unpushed
    change, which the next writing run (or `promoter recover`) puts right first."""
    from promoter.recovery import killed_here

    if killed_here(layout.root):
        notice(
            "a promoter run was killed in this working copy before it finished: "
            f"{shown} may count its unpushed change; run `promoter recover` first"
        )


def checked_name(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """An environment or app name as typed (one, or several): never empty, no control
    characters, not absurdly long. Whether the pipeline knows it is checked where the
    files are read; an empty filter is refused here rather than dropped."""
    del ctx
    for text in value if isinstance(value, tuple | list) else [value]:
        if text is None:
            continue
        if not text.strip():
            raise click.BadParameter("a name must not be empty", param=param)
        if any(ord(char) < 32 or ord(char) == 127 for char in text):
            raise click.BadParameter(f"{text[:40]!r} holds control characters", param=param)
        if len(text) > 253:
            raise click.BadParameter(
                f"{text[:40]}… is {len(text)} characters long; names have at most 253",
                param=param,
            )
    return value


class SafePath(click.Path):
    """A path option or argument that the operating system can take: a path too long for
    it (or holding a NUL) is a usage error here, not an internal error later."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import os

        text = os.fsdecode(value) if isinstance(value, bytes) else str(value)
        if "\0" in text:
            self.fail("the path holds a NUL character", param, ctx)
        longest = max((len(os.fsencode(part)) for part in text.split("/")), default=0)
        if longest > 255 or len(os.fsencode(text)) > 4095:
            self.fail(
                f"{text[:40]}… is too long for a path ({len(text)} characters"
                + (", a folder or file name over 255 bytes" if longest > 255 else "")
                + ")",
                param,
                ctx,
            )
        return super().convert(value, param, ctx)


def no_credentials(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """A URL option's value with any credentials in it removed, and said so on stderr:
    what promoter writes goes into git history, which keeps it forever."""
    del ctx
    from promoter.reference import without_credentials

    if value is None:
        return None
    clean, stripped = without_credentials(value)
    if stripped:
        name = param.opts[0] if param.opts else str(param.name)
        click.echo(
            f"promoter: {name}: removed the credentials (user:token@) from the URL; promoter "
            f"stores {clean}. Pass URLs without them: git history keeps whatever is written",
            err=True,
        )
    return clean


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
    type=SafePath(path_type=Path, file_okay=False),
    default=None,
    envvar="PROMOTER_REPO",
    show_envvar=True,
    help="Root of the GitOps repository. Default: the nearest folder, from here up, that "
    "holds the pipeline file.",
)
pipeline_option = click.option(
    "--pipeline",
    "pipeline",
    type=SafePath(),
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
