"""``promoter record`` and ``promoter approve``: evidence, stored in git."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from promoter import API_VERSION
from promoter.cli.options import (
    change_options,
    checked_digest,
    checked_name,
    env_option,
    no_credentials,
    notice,
)
from promoter.errors import ExitCode

if TYPE_CHECKING:
    from promoter.reference import DigestRef


def _echo(event: object, landed: object, output: str, what: str) -> None:
    from promoter import report
    from promoter.land import Landed
    from promoter.records import Event
    from promoter.report_plan import event_json, landed_text

    assert isinstance(event, Event)
    assert landed is None or isinstance(landed, Landed)
    if output == "json":
        document = {
            "apiVersion": API_VERSION,
            "kind": "EvidenceResult",
            "event": event_json(event),
            "commit": landed.sha if landed else None,
            "pushedTo": landed.pushed_to if landed else None,
        }
        click.echo(report.to_json(document))
    else:
        click.echo(landed_text(landed, what))


@click.command()
@click.argument("env", callback=checked_name)
@click.argument("app", callback=checked_name)
@click.option(
    "--check",
    "check",
    required=True,
    metavar="NAME=passed|failed",
    help="The check and its result, e.g. unit-tests=passed.",
)
@click.option("--url", callback=no_credentials, help="Link to the evidence (CI run, report).")
@click.option(
    "--digest",
    callback=checked_digest,
    help="The digest the result is for: in full, IMAGE@sha256:…, or 12+ hex digits of one "
    "ENV ran (default: what ENV runs now).",
)
@change_options
def record(
    env: str,
    app: str,
    check: str,
    url: str | None,
    digest: DigestRef | None,
    repo: Path | None,
    pipeline: str | None,
    push: bool,
    output: str,
) -> int:
    """Record a check result for the digest APP runs in ENV, as a commit.

    The evidence is bound to the digest, timestamped by the commit and attributed to the
    acting identity (git user, or the CI user from standard CI variables). A result for
    another digest never counts toward a gate.

    \b
    Examples:
      promoter record staging web --check uat=passed --url https://ci.example.com/run/42
      promoter record qa api --check unit-tests=failed
    """
    from promoter import actions, attest
    from promoter.errors import UsageError
    from promoter.layout import find_layout

    name, sep, result = check.partition("=")
    if not sep or result not in ("passed", "failed"):
        raise UsageError(
            f"--check {check!r} must be NAME=passed or NAME=failed",
            hint="e.g. --check unit-tests=passed",
        )
    with actions.writing_context(find_layout(repo, pipeline), notice) as ctx:
        event, landed, warning = attest.record(
            ctx, env, app, name, result, url=url, digest=digest, push=push
        )
    if warning:
        click.echo(warning, err=True)
    _echo(event, landed, output, f"recorded {name}={result} for {app} in {env}")
    return ExitCode.OK


@click.command()
@click.argument("app", callback=checked_name)
@env_option("--to", "target", help="The environment the promotion goes into.", required=True)
@click.option(
    "--digest",
    callback=checked_digest,
    help="The digest to approve: in full, IMAGE@sha256:…, or 12+ hex digits of one the "
    "sources ran (default: what the sources hold).",
)
@change_options
def approve(
    app: str,
    target: str,
    digest: DigestRef | None,
    repo: Path | None,
    pipeline: str | None,
    push: bool,
    output: str,
) -> int:
    """Approve promoting APP into ENV, as the acting identity.

    Only identities the pipeline lists under approvals.from may approve, and nobody's
    approval counts for a promotion they run themselves.

    \b
    Examples:
      promoter approve web --to prod
      promoter approve web --to prod --digest 7343de1add71   # a digest its sources ran
    """
    from promoter import actions, attest
    from promoter.layout import find_layout

    with actions.writing_context(find_layout(repo, pipeline), notice) as ctx:
        event, landed = attest.approve(ctx, app, target, digest=digest, push=push)
    _echo(event, landed, output, f"approved {app} into {target} as {ctx.actor.id}")
    return ExitCode.OK


@click.command()
@change_options
def adopt(repo: Path | None, pipeline: str | None, push: bool, output: str) -> int:
    """Accept every digest pinned now as the baseline of the audit log.

    Run it once when a repository starts using promoter: digests that got where they are
    before then have no promotion commits, and `promoter audit` accepts the history up to
    this baseline as it stood. Everything after it must go through promoter.

    \b
    Examples:
      promoter adopt
      promoter adopt --no-push
    """
    from promoter import actions, attest
    from promoter.layout import find_layout

    with actions.writing_context(find_layout(repo, pipeline), notice) as ctx:
        event, landed = attest.adopt(ctx, push=push)
    _echo(event, landed, output, f"adopted {len(event.baseline)} pinned digests as the baseline")
    return ExitCode.OK


@click.command()
@click.argument("sha")
@click.option("--reason", required=True, help="How the finding was dealt with.")
@click.option("--code", metavar="CODE", help="Only this finding code of the commit.")
@change_options
def acknowledge(
    sha: str,
    reason: str,
    code: str | None,
    repo: Path | None,
    pipeline: str | None,
    push: bool,
    output: str,
) -> int:
    """Record that the audit findings of commit SHA have been dealt with.

    The acknowledgement is a commit of its own, attributed to the acting identity (and
    signed where the pipeline protects an environment). `promoter audit` then reports
    those findings as acknowledged and no longer fails on them; `-o json` still lists
    them, with who acknowledged them, when and why.

    \b
    Examples:
      promoter acknowledge 1a2b3c4d5e6f --reason "reverted in 9f8e7d; INC-1234"
      promoter acknowledge 1a2b3c4d5e6f --code protected-change --reason "approved hotfix"
    """
    from promoter import actions, attest
    from promoter.layout import find_layout

    with actions.writing_context(find_layout(repo, pipeline), notice) as ctx:
        event, landed = attest.acknowledge(ctx, sha, reason, code=code, push=push)
    target = event.acknowledged[0][:12] if event.acknowledged else sha
    _echo(event, landed, output, f"acknowledged the findings of {target}")
    return ExitCode.OK
