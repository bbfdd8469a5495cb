"""The CLI layer: help is documentation, errors map to documented exit codes, no tracebacks."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from promoter.cli import cli, main
from promoter.cli.options import DEBUG
from promoter.errors import ExitCode, GitError
from tests.conftest import ROOT, Runner


def walk(command: click.Command, prefix: str = "promoter") -> list[tuple[str, click.Command]]:
    found = [(prefix, command)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found.extend(walk(sub, f"{prefix} {name}"))
    return found


@pytest.mark.parametrize("name,command", walk(cli), ids=[n for n, _ in walk(cli)])
def test_every_command_has_help_with_examples(name: str, command: click.Command) -> None:
    assert command.help, f"{name} has no help"
    assert "Examples:" in command.help, f"{name} help has no Examples: block"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{name} {param.opts} has no help"


def test_help_runs_and_lists_commands(run: Runner) -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "validate" in result.stdout and "status" in result.stdout
    assert run("--version").stdout.startswith("promoter, version ")


def test_unknown_option_is_usage_error_2(run: Runner) -> None:
    result = run("status", "--bogus")
    assert result.returncode == 2
    assert "No such option" in result.stderr and "--bogus" in result.stderr


def test_unknown_command_is_usage_error_2(run: Runner) -> None:
    assert run("promote-everything").returncode == 2


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--repo", "a" * 5000],
        ["status", "--repo", "/tmp/" + "b" * 300],
        ["status", "--pipeline", "p" * 5000],
        ["validate", "v" * 5000],
        ["approve", "web", "--to", ""],
        ["record", "", "web", "--check", "unit-tests=passed"],
        ["promote", "", "--to", "qa"],
        ["history", "--env", ""],
        ["history", "--app", " "],
        ["status", "--env", ""],
        ["gates", "web", "--to", "qa", "--from", "\x01"],
        ["publish", "x" * 300, "--to", "dev", "--digest", "sha256:" + "0" * 64],
    ],
)
def test_odd_arguments_are_usage_errors_not_internal_ones(run: Runner, args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert "Invalid value" in result.stderr and "internal error" not in result.stderr


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (Linux: /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) & (1 << (signum - 1)))


def test_the_signal_handler_comes_before_the_slow_imports() -> None:
    # The script's entry point (promoter.__main__:run) takes SIGTERM and SIGINT over
    # before the CLI, click, GitPython or the YAML parser are imported: start-up is covered.
    probe = (
        "import signal, sys; import promoter.__main__ as m; "
        "print(signal.getsignal(signal.SIGTERM) is m._interrupt "
        "is signal.getsignal(signal.SIGINT), "
        "sorted({'click', 'git', 'ruamel.yaml', 'promoter.cli'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True
    )
    assert result.stdout == "True []\n", result.stderr


@pytest.mark.parametrize(
    "launcher", [["-m", "promoter"], ["-c", "from promoter.__main__ import run; run()"]]
)
def test_sigterm_while_promoter_starts_exits_130(launcher: list[str], tmp_path: Path) -> None:
    # (SIGINT is covered by the test above: the interpreter catches it from its own first
    # steps, so /proc cannot show when promoter's handler takes over.)
    signum = signal.SIGTERM
    # The moment the process has a handler (its first lines, before the CLI's imports),
    # a SIGTERM ends it with 130 and "interrupted", never by the signal itself.
    proc = subprocess.Popen(
        [sys.executable, *launcher, "status", "--repo", str(ROOT)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not _catches(proc.pid, signum) and time.monotonic() < deadline:
        time.sleep(0.0005)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err


def test_main_called_in_process_leaves_garbage_collection_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A command switches the cyclic GC off while it runs; a caller (a test, a tool that
    # imports promoter) gets it back on.
    import gc

    assert gc.isenabled()
    with pytest.raises(SystemExit):
        main(["--version"])
    assert gc.isenabled()
    capsys.readouterr()


def _run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    DEBUG["on"] = False
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err


def test_promoter_error_exits_with_its_code_and_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise GitError("push rejected", file="environments/prod.yaml", hint="Fetch and retry")

    monkeypatch.setattr("promoter.validate.check_repository", boom)
    code, err = _run_main(["validate", "--repo", str(ROOT)], capsys)
    assert code == ExitCode.GIT == 4
    assert err == "error: environments/prod.yaml: push rejected. Fetch and retry\n"


def test_unexpected_error_is_a_short_bug_report_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr("promoter.validate.check_repository", boom)
    code, err = _run_main(["validate", "--repo", str(ROOT)], capsys)
    assert code == ExitCode.INTERNAL == 70
    assert "Traceback" not in err
    assert "internal error: RuntimeError: kaput" in err and "--debug" in err
    code, err = _run_main(["validate", "--debug", "--repo", str(ROOT)], capsys)
    assert code == 70
    assert "Traceback (most recent call last)" in err and "RuntimeError: kaput" in err


def test_cli_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, promoter.cli; heavy = [m for m in ('ruamel.yaml', 'jsonschema', 'git') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_exit_codes_are_distinct_and_each_is_documented() -> None:
    values = [code.value for code in ExitCode]
    assert len(values) == len(set(values))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = {int(m) for m in re.findall(r"^\| (\d+) \| ", readme, flags=re.M)}
    assert documented == set(values)  # the README's exit-code table, no more and no less
