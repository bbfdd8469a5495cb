"""Real git repositories for tests: a bare remote and clones of it, and history in the past.

promoter judges a write at the real time and dates its commit with it. Tests that need
time to have passed (soak, a rollback last week) build their history in the past
instead: ``redate`` gives the commit a run just made an earlier date, as a rewritten
history would have it, and ``audit`` then judges that commit at that date.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# Every test repository starts here, so that history dated after it runs forwards.
EPOCH = "2026-01-01T00:00:00+00:00"


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in ``cwd`` and return stdout; fail the test on error."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env} if env else None,
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def dated(when: str) -> dict[str, str]:
    """The environment that dates a raw git commit ``when``."""
    return {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}


def remote_with_clone(tmp_path: Path, content: Path, name: str = "work") -> tuple[Path, Path]:
    """A bare remote holding ``content`` as its first commit (dated EPOCH), and a clone
    tracking main."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--bare", "--quiet", str(remote))
    work = clone(remote, tmp_path / name)
    shutil.copytree(content, work, dirs_exist_ok=True)
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "Initial state", env=dated(EPOCH))
    git(work, "push", "--quiet", "-u", "origin", "main")
    return work, remote


def clone(remote: Path, dest: Path) -> Path:
    """A clone of ``remote`` at ``dest``."""
    git(dest.parent, "clone", "--quiet", str(remote), str(dest))
    return dest


def commit_all(work: Path, message: str, *, at: str | None = None) -> str:
    """Commit every change in ``work`` (dated ``at`` when given); return the new sha."""
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", message, env=dated(at) if at else None)
    return git(work, "rev-parse", "HEAD").strip()


def redate(work: Path, when: str, *, push: bool, env: dict[str, str] | None = None) -> str:
    """Give HEAD's commit the date ``when`` (author and committer), keeping everything
    else (a signed commit is signed again, with the key ``env`` names), and force it onto
    the remote."""
    signed = git(work, "log", "-1", "--format=%G?").strip() != "N"
    git(
        work,
        "commit",
        "--quiet",
        "--amend",
        "--no-edit",
        "--allow-empty",
        "--no-verify",
        "--gpg-sign" if signed else "--no-gpg-sign",
        f"--date={when}",  # the author date (an amend keeps the old one otherwise)
        env={**(env or {}), **dated(when)},
    )
    if push:
        git(work, "push", "--quiet", "--force")
    return git(work, "rev-parse", "HEAD").strip()
