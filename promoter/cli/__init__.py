"""The command-line interface: click only. Every command is a thin call into the core.

Heavy libraries (ruamel.yaml, jsonschema, GitPython) are imported inside the commands, so
``promoter --help`` starts fast.
"""

from __future__ import annotations

import gc
import signal
import sys
import traceback
from collections.abc import Sequence

import click

from promoter import API_VERSION, __version__
from promoter.cli import evidence as evidence_cmd
from promoter.cli import history as history_cmd
from promoter.cli import promote as promote_cmd
from promoter.cli import pulls as pulls_cmd
from promoter.cli import recover as recover_cmd
from promoter.cli import status as status_cmd
from promoter.cli import validate as validate_cmd
from promoter.cli.options import DEBUG, OUTPUT, debug_option
from promoter.errors import ExitCode, PromoterError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="promoter")
@debug_option
def cli() -> None:
    """Promote pinned image digests through GitOps environments, gated and audited in git.

    The desired state of every environment lives in YAML files in a git repository
    (environments/pipeline.yaml and environments/<env>.yaml). promoter reads them,
    checks them, and shows what runs where.

    \b
    Examples:
      promoter validate              # check every file, exit 1 on problems
      promoter status                # apps × environments, pending promotions
      promoter status -o json        # the same for bots
      promoter status --repo ../gitops
      promoter promote web --to staging --dry-run
      promoter gates web --to prod   # why a promotion waits, and until when

    Exit codes: 0 ok, 1 findings, 2 usage, 3 configuration, 4 git, 5 forge,
    6 registry, 7 pending (gate-status), 70 internal error, 130 interrupted. See README.md.
    """


for command in (
    validate_cmd.validate,
    status_cmd.status,
    promote_cmd.promote,
    promote_cmd.publish,
    promote_cmd.rollback,
    evidence_cmd.record,
    evidence_cmd.approve,
    evidence_cmd.adopt,
    evidence_cmd.acknowledge,
    history_cmd.gates,
    history_cmd.history,
    history_cmd.audit,
    pulls_cmd.gate_status,
    recover_cmd.recover,
):
    cli.add_command(command)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _error_json(exc: PromoterError) -> str:
    import json

    document = {
        "apiVersion": API_VERSION,
        "kind": "Error",
        "exitCode": int(exc.exit_code),
        "error": type(exc).__name__,
        "message": exc.detail(),
        "file": exc.file,
        "line": exc.line,
        "column": exc.column,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _asks_for_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for JSON output, for an error click raised before
    it read the option."""
    for index, arg in enumerate(args):
        if arg == "--":
            return False
        if arg in ("-o", "--output") and index + 1 < len(args):
            if args[index + 1] == "json":
                return True
        elif arg in ("-ojson", "--output=json"):
            return True
    return False


def _usage_json(message: str, code: int) -> str:
    import json

    document = {
        "apiVersion": API_VERSION,
        "kind": "Error",
        "exitCode": int(code),
        "error": "UsageError",
        "message": message,
        "file": None,
        "line": None,
        "column": None,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI and exit with a documented code; the one place errors become exit codes."""
    # A command is one short process that builds many long-lived objects (files, history)
    # and makes little cyclic garbage: collection passes would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _main(argv)
    finally:
        if argv is not None and collecting:  # called in-process: leave the caller's GC on
            gc.enable()


def _main(argv: Sequence[str] | None) -> None:
    if argv is None:  # a process of its own, not a call from a test
        # A CI job cancelled, `timeout`, `kill`: unwind like Ctrl-C, so that a commit not
        # yet pushed is reset and nothing is left behind.
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: KeyboardInterrupt
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="promoter",
            standalone_mode=False,
        )
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        code = ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code
        args = list(argv) if argv is not None else sys.argv[1:]
        if OUTPUT["format"] == "json" or _asks_for_json(args):  # refused before -o was read
            click.echo(_usage_json(exc.format_message(), code))
        exc.show()
        sys.exit(code)
    except PromoterError as exc:
        if DEBUG["on"]:
            traceback.print_exc()
        if OUTPUT["format"] == "json":  # a bot reads stdout: tell it what went wrong there too
            click.echo(_error_json(exc))
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # an unexpected error is a bug: say so briefly
        if DEBUG["on"]:
            traceback.print_exc()
        else:
            click.echo(
                f"internal error: {type(exc).__name__}: {exc}. This is a bug in "
                "promoter; re-run with --debug for the traceback and report it.",
                err=True,
            )
        sys.exit(ExitCode.INTERNAL)
    if argv is None:
        # A process exit, not a call from a test: skip the collector's final pass over
        # everything still alive (a second, for a 100,000-commit history).
        gc.freeze()
    sys.exit(code if isinstance(code, int) else ExitCode.OK)
