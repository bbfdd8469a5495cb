"""Real git repositories for tests: a bare remote and clones of it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return stdout; fail the test on error."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def remote_with_clone(tmp_path: Path, content: Path, name: str = "work") -> tuple[Path, Path]:
    """A bare remote holding ``content`` as its first commit, and a clone tracking main."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--bare", "--quiet", str(remote))
    work = clone(remote, tmp_path / name)
    shutil.copytree(content, work, dirs_exist_ok=True)
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "Initial state")
    git(work, "push", "--quiet", "-u", "origin", "main")
    return work, remote


def clone(remote: Path, dest: Path) -> Path:
    """A clone of ``remote`` at ``dest``."""
    git(dest.parent, "clone", "--quiet", str(remote), str(dest))
    return dest


def commit_all(work: Path, message: str) -> str:
    """Commit every change in ``work``; return the new sha."""
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", message)
    return git(work, "rev-parse", "HEAD").strip()
