"""Shared fixtures: repositories built from the example and the case folders, and a CLI runner
that runs promoter as a real process (exit codes, stderr, no traceback)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from tests import signing

if TYPE_CHECKING:
    from tests.githubserver import GitHubServer
    from tests.test_promote import Flow

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
EXAMPLE = ROOT / "environments"

Runner = Callable[..., subprocess.CompletedProcess[str]]

# Property tests try the same examples on every run (CI stays deterministic) and keep no
# example database; their example counts are set per test (.hypothesis/ is git-ignored).
settings.register_profile("promoter", derandomize=True, database=None, deadline=None)
settings.load_profile("promoter")


GIT_CONFIG = """[user]
\tname = Test User
\temail = test@example.com
[init]
\tdefaultBranch = main
[commit]
\tgpgsign = false
[tag]
\tgpgsign = false
"""
KEEP_GIT = ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM")  # GIT_CONFIG_COUNT etc. come per run
CI_VARIABLES = (
    "GITHUB_ACTIONS",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_ACTOR",
    "GITHUB_TRIGGERING_ACTOR",
    "GITLAB_CI",
    "GITLAB_USER_LOGIN",
    "GITLAB_USER_EMAIL",
    "GITLAB_USER_NAME",
)


def promoter_env(home: Path) -> dict[str, str]:
    """A clean environment: no user config, no colour, nothing written to the real $HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in KEEP_GIT or not (k.startswith(("PROMOTER_", "GIT_")) or k in CI_VARIABLES)
    }
    env.update(HOME=str(home), NO_COLOR="1", LC_ALL="C.UTF-8", PYTHONDONTWRITEBYTECODE="1")
    return env


def keys_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this test session's signing keys are (see tests/signing.py)."""
    return tmp_path_factory.getbasetemp() / "keys"


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees a fixed git identity, signing keys it does not use unless asked, and
    none of the user's git config."""
    config = tmp_path_factory.getbasetemp() / "gitconfig"
    if not config.exists():
        folder = keys_folder(tmp_path_factory)
        signing.make_keys(folder)
        config.write_text(GIT_CONFIG + signing.git_config(folder))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in os.environ:
        if (
            name.startswith(("GIT_", "PROMOTER_")) and name not in KEEP_GIT
        ) or name in CI_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture
def run(tmp_path: Path) -> Runner:
    """Run ``promoter ARGS`` in a subprocess; returns the CompletedProcess."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)

    def runner(
        *args: str, cwd: Path | None = None, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "promoter", *args],
            cwd=cwd or tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**promoter_env(home), **(env or {})},
            check=False,
        )

    return runner


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """A copy of the bundled example repository."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo / "environments")
    shutil.copytree(ROOT / "schemas", repo / "schemas")
    return repo


def build_case(tmp_path: Path, case: Path) -> Path:
    """The base repository with one negative case's files laid over it."""
    repo = tmp_path / "repo"
    shutil.copytree(CASES / "base", repo)
    shutil.copytree(case / "environments", repo / "environments", dirs_exist_ok=True)
    return repo


def tree_state(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` with its bytes and mtime, to prove nothing was written."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def check_output(document: object, kind: str) -> None:
    """Validate a JSON output against its schema in schemas/, resolving references between
    the schemas by their $id."""
    import json

    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    from promoter.schemas import SCHEMA_FILES, load_schema

    resources = [
        (load_schema(name)["$id"], Resource.from_contents(load_schema(name)))
        for name in SCHEMA_FILES
    ]
    validator = Draft202012Validator(
        load_schema(kind), registry=Registry().with_resources(resources)
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, json.dumps(errors, indent=2)


@pytest.fixture(autouse=True)
def promoter_commits_pass_the_audit() -> Iterator[None]:
    """After each test, `audit` re-checks every commit promoter made in its repositories:
    every promotion promoter itself makes passes the re-check of its gates and trailers."""
    from tests import test_promote

    test_promote.LIVE.clear()
    yield
    flows = [flow for flow in test_promote.LIVE if flow.made and flow.recheck]
    test_promote.LIVE.clear()
    for flow in flows:
        flow.assert_promoter_commits_pass_the_audit()


@contextlib.contextmanager
def served_flow(
    tmp_path: Path, run: Runner, edit: Callable[[str], str], why: str
) -> Iterator[tuple[Flow, GitHubServer]]:
    """The flow case with its pipeline changed by ``edit`` (committed and pushed as
    ``why``), its remote served as acme/gitops by a loopback GitHub
    (``tests.githubserver``); no contract violation may happen."""
    from tests.githubserver import GitHubServer
    from tests.gitutil import commit_all, git, remote_with_clone
    from tests.test_promote import Flow

    work, remote = remote_with_clone(tmp_path, CASES / "flow")
    pipeline = work / "environments" / "pipeline.yaml"
    pipeline.write_text(edit(pipeline.read_text()))
    commit_all(work, why)
    git(work, "push", "--quiet")
    server = GitHubServer(remote).start()
    try:
        yield Flow(work, remote, run), server
        assert server.violations == [], "\n".join(server.violations)
    finally:
        server.stop()


@pytest.fixture
def github(tmp_path: Path, run: Runner) -> Iterator[tuple[Flow, GitHubServer]]:
    """The flow case with qa taking pull requests, on a loopback GitHub."""

    def edit(text: str) -> str:
        return text.replace(
            "  qa:\n    from: dev\n", "  qa:\n    from: dev\n    promotion: pull-request\n"
        )

    with served_flow(tmp_path, run, edit, "qa takes pull requests") as served:
        yield served
