"""The composite GitHub Action (action.yml): its run step executed as the runner would,
with bash, on the bundled example."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import EXAMPLE, ROOT, promoter_env
from tests.gitutil import remote_with_clone


def _action() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((ROOT / "action.yml").read_text())
    return data


def _step(name: str) -> dict[str, Any]:
    [step] = [s for s in _action()["runs"]["steps"] if s["name"] == name]
    return step


def test_the_action_is_composite_and_never_pastes_inputs_into_a_script() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"args", "version", "working-directory", "token", "allow-exit-codes"} <= set(
        action["inputs"]
    )
    for step in action["runs"]["steps"]:
        assert "${{" not in step["run"], step["name"]  # inputs arrive through env only
        assert step["shell"] == "bash"
        check = subprocess.run(
            ["bash", "-n"], input=step["run"], text=True, capture_output=True, check=False
        )
        assert check.returncode == 0, check.stderr


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A clone of the bundled example, as the action's job checks it out."""
    content = tmp_path / "content"
    shutil.copytree(EXAMPLE, content / "environments")
    shutil.copytree(ROOT / "schemas", content / "schemas")
    work, _ = remote_with_clone(tmp_path, content)
    return work


def _run(tmp_path: Path, where: Path, args: str, allow: str = "") -> tuple[int, str, Path]:
    output = tmp_path / "github_output"
    output.write_text("")
    bindir = tmp_path / "bin"  # the runner's python3: the interpreter running the tests
    bindir.mkdir(exist_ok=True)
    (bindir / "python3").unlink(missing_ok=True)
    (bindir / "python3").symlink_to(sys.executable)
    env = {
        **promoter_env(tmp_path),
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "PROMOTER_ARGS": args,
        "PROMOTER_ALLOW": allow,
        "GITHUB_OUTPUT": str(output),
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        ["bash", "-e", "-c", _step("Run promoter")["run"]],
        cwd=where, env=env, text=True, capture_output=True, check=False,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr, output


def test_the_run_step_runs_promoter_and_reports_its_exit_code(tmp_path: Path, work: Path) -> None:
    code, said, output = _run(tmp_path, work, "validate")
    assert code == 0, said
    assert output.read_text() == "exit-code=0\n"
    code, said, output = _run(tmp_path, work, "status --env 'prod' --exit-code")
    assert code == 1 and output.read_text() == "exit-code=1\n"  # pending promotions
    code, _, output = _run(tmp_path, work, "status --env prod --exit-code", allow="7 1")
    assert code == 0 and output.read_text() == "exit-code=1\n"  # allowed: the step passes


def test_shell_syntax_in_the_arguments_stays_an_argument(tmp_path: Path, work: Path) -> None:
    code, said, _ = _run(tmp_path, work, "validate; touch pwned $(touch pwned2) `touch pwned3`")
    assert code == 2, said  # promoter refuses the odd arguments: usage error
    assert not any((work / name).exists() for name in ("pwned", "pwned2", "pwned3"))
