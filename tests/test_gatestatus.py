"""`promoter gate-status`: a promotion pull request judged as the promotion it proposes,
its reviews counted as approvals, and the verdict set as the `promoter/gates` status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Runner, check_output, served_flow
from tests.githubserver import GitHubServer
from tests.gitutil import clone, commit_all, git
from tests.test_forge_github import BRANCH, QA, _ready
from tests.test_promote import WEB1, WEB2, Flow

APPROVALS = """  qa:
    from: dev
    promotion: pull-request
    gates:
      checks: [unit-tests]
      approvals:
        required: 1
        from: [alice]
"""
PEOPLE = """people:
  alice:
    email: alice@example.com
    github: alice-gh
  bob:
    email: bob@example.com
    github: bob-gh
environments:
"""


@pytest.fixture
def reviewed(tmp_path: Path, run: Runner) -> Iterator[tuple[Flow, GitHubServer]]:
    """qa takes pull requests and needs one approval, from alice."""

    def edit(text: str) -> str:
        text = text.replace(
            "  qa:\n    from: dev\n    gates:\n      checks: [unit-tests]\n", APPROVALS
        )
        return text.replace("environments:\n", PEOPLE, 1)

    with served_flow(tmp_path, run, edit, "qa takes pull requests, approved by alice") as served:
        yield served


def _head(server: GitHubServer) -> str:
    return server.branches()[BRANCH]


def test_a_ready_pull_request_gets_a_success_status_on_its_head(
    github: tuple[Flow, GitHubServer],
) -> None:
    flow, server = github
    _ready(flow)
    flow.ok("promote", "web", "--to", "qa", env=server.env())
    result = flow.ok("gate-status", "--pr", "1", "-o", "json", env=server.env())
    document = json.loads(result.stdout)
    check_output(document, "GateStatus")
    [verdict] = document["pullRequests"]
    assert verdict["state"] == "success" and verdict["sha"] == _head(server)
    assert verdict["description"] == "all gates pass: web dev → qa"
    status = server.status(_head(server))
    assert status is not None and status["state"] == "success"
    assert status["description"] == verdict["description"]
    assert status["target_url"] == "https://github.example/acme/gitops/pull/1"
    # the user's checkout is untouched, and no worktree is left registered
    assert git(flow.work, "worktree", "list").count("\n") == 1
    assert git(flow.work, "status", "--porcelain") == ""


def test_reviews_count_as_approvals_only_on_the_current_head(
    reviewed: tuple[Flow, GitHubServer],
) -> None:
    flow, server = reviewed
    _ready(flow)
    opened = flow.ok("promote", "web", "--to", "qa", env=server.env())  # approvals may follow
    assert "opened pull request #1" in opened.stdout
    assert server.pulls[1].reviewers == ["alice-gh"]  # asked of whom the gate allows
    waiting = flow("gate-status", "--pr", "1", env=server.env())
    assert waiting.returncode == 7, waiting.stdout + waiting.stderr
    assert "#1 pending: web approvals: 0 of 1 (none)\n" in waiting.stdout
    assert server.status(_head(server))["state"] == "pending"  # type: ignore[index]
    server.review(1, "bob-gh")  # a person the gate does not allow
    still = flow("gate-status", "--pr", "1", env=server.env())
    assert still.returncode == 7 and "bob-gh (not among the approvers)" in still.stdout
    server.review(1, "alice-gh")
    passed = flow.ok("gate-status", "--pr", "1", env=server.env())
    assert "#1 success: all gates pass" in passed.stdout
    old_head = _head(server)
    # a new build moves the pull request on: alice's review was of the old head
    _ready(flow, WEB2)
    flow.ok("promote", "web", "--to", "qa", env=server.env())
    assert _head(server) != old_head
    again = flow("gate-status", "--pr", "1", env=server.env())
    assert again.returncode == 7 and "0 of 1" in again.stdout
    server.review(1, "alice-gh", "CHANGES_REQUESTED")
    server.review(1, "alice-gh", "APPROVED", commit=old_head)  # not of this head
    assert flow("gate-status", "--pr", "1", env=server.env()).returncode == 7
    assert server.status(old_head)["state"] == "success"  # type: ignore[index]
    assert server.status(_head(server))["state"] == "pending"  # type: ignore[index]


def _tamper(flow: Flow, tmp_path: Path, change: str) -> None:
    """Someone adds to the promotion branch by hand."""
    other = clone(flow.remote, tmp_path / "other")
    git(other, "checkout", "--quiet", BRANCH)
    if change == "config":
        path = other / QA
        path.write_text(path.read_text().replace("replicas: 1", "replicas: 9"))
        git(other, "commit", "--quiet", "--amend", "--no-edit", "-a")
    else:
        (other / "notes.txt").write_text("sneaked in\n")
        commit_all(other, "an extra commit")
    git(other, "push", "--quiet", "--force", "origin", BRANCH)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("config", "changes `config` in environments/qa.yaml"),
        ("extra", "2 commits on top of the base"),
    ],
)
def test_a_pull_request_that_changes_more_than_a_promotion_fails(
    github: tuple[Flow, GitHubServer], tmp_path: Path, change: str, said: str
) -> None:
    flow, server = github
    _ready(flow)
    flow.ok("promote", "web", "--to", "qa", env=server.env())
    _tamper(flow, tmp_path, change)
    result = flow("gate-status", "--pr", "1", env=server.env())
    assert result.returncode == 1, result.stdout + result.stderr
    assert said in result.stdout
    assert server.status(_head(server))["state"] == "failure"  # type: ignore[index]


def test_a_stale_pull_request_fails_and_says_how_to_update_it(
    github: tuple[Flow, GitHubServer],
) -> None:
    flow, server = github
    _ready(flow)
    flow.ok("promote", "web", "--to", "qa", env=server.env())
    _ready(flow, WEB2)  # dev moved on; the pull request still pins WEB1
    result = flow("gate-status", "--pr", "1", "--no-post", env=server.env())
    assert result.returncode == 1
    assert f"the pull request pins {WEB1[:15]}, a promotion now pins {WEB2[:15]}" in result.stdout
    assert server.statuses == {}  # --no-post: judged, nothing set


def test_gate_status_of_every_open_promotion_and_bad_requests(
    github: tuple[Flow, GitHubServer],
) -> None:
    flow, server = github
    _ready(flow)
    flow.ok("promote", "web", "--to", "qa", env=server.env())
    every = flow.ok("gate-status", "--all-open", env=server.env())
    assert every.stdout.startswith("#1 success")
    usage = flow("gate-status", env=server.env())
    assert usage.returncode == 2 and "--pr N" in usage.stderr
    missing = flow("gate-status", "--pr", "9", env=server.env())
    assert missing.returncode == 5 and "HTTP 404" in missing.stderr
