"""The README stays true: its commands are what CI runs, and it documents what the code does."""

from __future__ import annotations

import re

from ruamel.yaml import YAML

from promoter.cli import cli
from promoter.errors import ExitCode
from promoter.findings import CODES
from tests.conftest import CASES, ROOT, Runner

README = (ROOT / "README.md").read_text()


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.+?)\n\s*```", section, flags=re.S)[:2]
    return [block.strip() for block in blocks]


def test_readme_starts_with_the_two_commands_and_ci_runs_them_verbatim() -> None:
    install_and_run, install_and_test = quick_start_commands()
    assert "promoter validate" in install_and_run and "pip install" in install_and_run
    assert "pytest" in install_and_test and "[test]" in install_and_test
    ci_lines = (ROOT / ".ci/run").read_text().splitlines()
    assert install_and_run.strip() in ci_lines
    assert install_and_test.strip() in ci_lines
    assert ci_lines[-1] == install_and_test.strip(), "the tests are the last thing CI runs"


def test_every_exit_code_is_documented() -> None:
    table = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == {code.value for code in ExitCode}


def test_every_command_is_documented_with_an_example() -> None:
    for name in cli.commands:
        assert f"### `promoter {name}" in README, name
        assert re.search(rf"^promoter {name}\b", README, flags=re.M), name


def test_every_finding_code_is_registered_and_documented() -> None:
    used = set()
    for expect in (CASES / "negative").glob("*/expect.yaml"):
        used |= {f["code"] for f in YAML(typ="safe").load(expect.read_text())["findings"]}
    assert used <= set(CODES)
    missing = sorted(code for code in CODES if f"`{code}`" not in README)
    assert not missing


def test_integration_docs_are_linked_and_exist() -> None:
    for doc in ("docs/github-actions.md", "docs/gitlab-ci.md", "docs/cron.md"):
        assert (ROOT / doc).is_file()
        assert f"({doc})" in README


def test_readme_status_example_is_the_real_output(run: Runner) -> None:
    block = README.split("`promoter status` on the example prints:", 1)[1]
    shown = re.search(r"```text\n(.+?)\n```", block, flags=re.S)
    assert shown is not None
    assert run("status", cwd=ROOT).stdout.rstrip("\n") == shown.group(1)


def test_every_audit_finding_code_is_documented() -> None:
    from promoter.audit.report import CODES as AUDIT_CODES

    section = README.split("### `promoter audit", 1)[1].split("\n### ", 1)[0]
    missing = sorted(code for code in AUDIT_CODES if f"`{code}`" not in section)
    assert not missing
