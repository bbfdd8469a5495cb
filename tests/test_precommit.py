"""The pre-commit hook other repositories use, and this repository's own hook config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CASES, ROOT, promoter_env

GIT = [
    "git",
    "-c",
    "user.name=Test",
    "-c",
    "user.email=test@example.com",
    "-c",
    "commit.gpgsign=false",
]


def pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **promoter_env(home),
        "PRE_COMMIT_HOME": str(home / "pre-commit"),
        "PATH": os.environ["PATH"],
    }
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


def test_manifest_and_config_are_valid(home: Path) -> None:
    assert (
        pre_commit("validate-manifest", ".pre-commit-hooks.yaml", cwd=ROOT, home=home).returncode
        == 0
    )
    assert (
        pre_commit("validate-config", ".pre-commit-config.yaml", cwd=ROOT, home=home).returncode
        == 0
    )


def test_try_repo_hook_passes_clean_files_and_fails_a_mutable_tag(
    tmp_path: Path, home: Path
) -> None:
    repo = tmp_path / "gitops"
    shutil.copytree(CASES / "base", repo)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=repo, check=True)

    ok = pre_commit("try-repo", str(ROOT), "promoter-validate", "--all-files", cwd=repo, home=home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "promoter validate" in ok.stdout and "Passed" in ok.stdout

    prod = repo / "environments" / "prod.yaml"
    prod.write_text(
        prod.read_text().replace(
            "image: registry.example.com/shop/web", "image: registry.example.com/shop/web:latest"
        )
    )
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True)
    bad = pre_commit(
        "try-repo",
        str(ROOT),
        "promoter-validate",
        "--files",
        "environments/prod.yaml",
        cwd=repo,
        home=home,
    )
    assert bad.returncode == 1
    assert "Failed" in bad.stdout
    assert (
        "environments/prod.yaml:5:12: image 'registry.example.com/shop/web:latest' carries "
        "the mutable tag 'latest'" in bad.stdout
    )


def test_this_repository_runs_its_own_validate_hook(home: Path) -> None:
    result = pre_commit("run", "promoter-validate", "--all-files", cwd=ROOT, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout
