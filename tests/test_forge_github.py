"""Pull-request promotions on GitHub: PyGithub talking to a loopback GitHub whose every
request and response is checked against GitHub's OpenAPI description, backed by the
test's bare repository (pushes are real git)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import check_output, promoter_env
from tests.githubserver import GitHubServer
from tests.gitutil import git
from tests.test_promote import API1, WEB1, WEB2, Flow

BRANCH = "promoter/qa/web"
QA = "environments/qa.yaml"


def _ready(flow: Flow, digest: str = WEB1, app: str = "web") -> None:
    flow.ok("publish", app, "--to", "dev", "--digest", digest, "--image", f"r/{app}")
    flow.ok("record", "dev", app, "--check", "unit-tests=passed")


def _writes(server: GitHubServer) -> list[tuple[str, str]]:
    return [r for r in server.requests if r[0] != "GET"]


def test_a_pull_request_environment_gets_a_branch_and_a_pull_request(
    github: tuple[Flow, GitHubServer],
) -> None:
    flow, server = github
    _ready(flow)
    before = flow.state()
    result = flow.ok("promote", "web", "--to", "qa", env=server.env())
    assert f"promote: opened pull request #1 https://github.example/acme/gitops/pull/1 " \
        f"({BRANCH} → main)" in result.stdout  # fmt: skip
    # Nothing moved on main, locally or on the remote; the work tree was never touched.
    assert flow.state() == before
    assert git(flow.work, "status", "--porcelain") == ""
    [pull] = server.open()
    assert (pull.head, pull.base) == (BRANCH, "main")
    assert pull.labels == ["promotion", "env/qa"]
    # The branch holds one commit on main: the digest edit a direct promotion makes.
    branch = server.branches()[BRANCH]
    assert git(flow.remote, "rev-parse", f"{branch}^").strip() == server.branches()["main"]
    assert git(flow.remote, "diff", "--name-only", f"{branch}^", branch).split() == [
        "environments/qa.yaml"
    ]
    diff = git(flow.remote, "diff", "-U0", f"{branch}^", branch).splitlines()
    removed = [line for line in diff if line.startswith("-") and not line.startswith("---")]
    assert removed == ["-artifacts: {}"]  # qa had no app: web's block is added, nothing else
    on_branch = git(flow.remote, "show", f"{branch}:environments/qa.yaml")
    assert f"digest: {WEB1}" in on_branch and "replicas: 1  # qa only" in on_branch
    message = git(flow.remote, "log", "-1", "--format=%B", branch)
    assert pull.title == message.split("\n", 1)[0]
    # The body: the move at a glance, the gates, the hidden block, the trailers last.
    assert "| `web` | dev → qa |" in pull.body and f"`{WEB1[:19]}`" in pull.body
    assert "| `web` | checks | ✅ pass | unit-tests in dev passed |" in pull.body
    assert '<!-- promoter:v1 {"action":"promote","target":"qa"' in pull.body
    trailers = message.rstrip("\n").rsplit("\n\n", 1)[-1]
    assert pull.body.rstrip("\n").endswith(trailers) and "Promoter-Kind: promote" in trailers
    # The token went to the forge in a header only: never into git or any output.
    assert server.token not in result.stdout + result.stderr
    assert server.token not in git(flow.work, "config", "--list")
    assert all(server.token not in body for body in server.bodies)


def test_a_second_run_updates_the_pull_request_and_a_third_changes_nothing(
    github: tuple[Flow, GitHubServer],
) -> None:
    flow, server = github
    _ready(flow)
    flow.ok("promote", "web", "--to", "qa", env=server.env())
    first = server.branches()[BRANCH]
    _ready(flow, WEB2)  # a newer build passed dev meanwhile
    again = flow.ok("promote", "web", "--to", "qa", env=server.env())
    assert "promote: updated pull request #1" in again.stdout
    [pull] = server.open()  # no duplicate
    assert server.branches()[BRANCH] != first and f"`{WEB2[:19]}`" in pull.body
    assert WEB2 in git(flow.remote, "show", f"{BRANCH}:environments/qa.yaml")
    seen = len(server.requests)
    third = flow.ok("promote", "web", "--to", "qa", "-o", "json", env=server.env())
    document = json.loads(third.stdout)
    check_output(document, "PromotionResult")
    assert document["pullRequest"]["action"] == "unchanged"
    assert document["pullRequest"]["number"] == 1
    assert _writes_since(server, seen) == []  # an idempotent re-run writes nothing


def _writes_since(server: GitHubServer, seen: int) -> list[tuple[str, str]]:
    return [r for r in server.requests[seen:] if r[0] != "GET"]


@pytest.mark.parametrize("status", [401, 403, 404, 422, 502])
def test_a_forge_error_leaves_no_branch_and_no_pull_request(
    github: tuple[Flow, GitHubServer], status: int
) -> None:
    flow, server = github
    _ready(flow)
    before = flow.state()
    server.fail("POST", r"/pulls$", status, times=10)  # past the client's retries
    result = flow("promote", "web", "--to", "qa", env=server.env())
    assert result.returncode == 5, result.stdout + result.stderr
    assert f"HTTP {status}" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith(("error: GitHub refused to open a pull request",
                                     "error: GitHub failed to open a pull request"))  # fmt: skip
    assert len(result.stderr.strip().splitlines()) == 1  # one paragraph, no library log
    assert BRANCH not in server.branches()  # the pushed branch was taken back
    assert server.open() == [] and flow.state() == before
    assert not (flow.work / ".git" / "promoter" / "intent.json").exists()
    assert list((flow.work / ".git" / "promoter").glob("index.*")) == []
    assert server.token not in result.stderr
    # once the forge is back, the same command does it
    server.faults.clear()
    assert (
        "opened pull request #1" in flow.ok("promote", "web", "--to", "qa", env=server.env()).stdout
    )


def test_without_a_forge_or_token_nothing_is_written(github: tuple[Flow, GitHubServer]) -> None:
    flow, server = github
    _ready(flow)
    before = flow.state()
    unknown = flow("promote", "web", "--to", "qa")  # a local remote: no forge can be told
    assert unknown.returncode == 5
    assert "no forge is known for this repository" in unknown.stderr
    assert "PROMOTER_FORGE=github" in unknown.stderr
    env = {k: v for k, v in server.env().items() if k != "GITHUB_TOKEN"}
    tokenless = flow("promote", "web", "--to", "qa", env=env)
    assert tokenless.returncode == 5 and "GITHUB_TOKEN" in tokenless.stderr
    wrong = flow("promote", "web", "--to", "qa", env={**server.env(), "GITHUB_TOKEN": "nope"})
    assert wrong.returncode == 5 and "HTTP 401" in wrong.stderr
    assert BRANCH not in server.branches() and server.open() == []
    assert flow.state() == before


def test_dry_run_shows_the_pull_request_it_would_open(github: tuple[Flow, GitHubServer]) -> None:
    flow, server = github
    _ready(flow)
    dry = flow.ok("promote", "web", "--to", "qa", "--dry-run", env=server.env())
    assert f"pull request (opened, or updated if one is open) from {BRANCH}" in dry.stdout
    assert "labels promotion, env/qa" in dry.stdout and "Promoter-Kind: promote" in dry.stdout
    document = json.loads(flow.ok("promote", "web", "--to", "qa", "--dry-run", "-o", "json").stdout)
    check_output(document, "PromotionResult")
    assert document["pullRequest"]["branch"] == BRANCH and document["pullRequest"]["number"] is None
    assert server.requests == [] and BRANCH not in server.branches()


def test_a_release_train_supersedes_the_open_single_app_pull_request(
    github: tuple[Flow, GitHubServer],
) -> None:
    flow, server = github
    _ready(flow)
    flow.ok("promote", "web", "--to", "qa", env=server.env())
    _ready(flow, API1, "api")
    train = flow.ok("promote", "--all", "--to", "qa", env=server.env())
    assert "opened pull request #2" in train.stdout
    assert "closed #1 (promoter/qa/web), superseded by #2" in train.stdout
    [open_pull] = server.open()
    assert open_pull.head == "promoter/qa/train"
    old = server.pulls[1]
    assert old.state == "closed" and "Superseded by #2" in old.comments[0]
    assert BRANCH not in server.branches()
    qa = git(flow.remote, "show", "promoter/qa/train:environments/qa.yaml")
    assert WEB1 in qa and API1 in qa


def test_gates_say_a_pull_request_will_be_opened(github: tuple[Flow, GitHubServer]) -> None:
    flow, server = github
    _ready(flow)
    shown = flow.ok("gates", "web", "--to", "qa")
    assert f"from {BRANCH}" in shown.stdout and "promote(web): dev → qa" in shown.stdout
    document = json.loads(flow.ok("gates", "web", "--to", "qa", "-o", "json").stdout)
    check_output(document, "PromotionResult")
    assert document["pullRequest"]["action"] == "planned"
    assert server.requests == []  # explaining asks nothing of the forge


def _converged(flow: Flow, server: GitHubServer, digest: str) -> None:
    """The re-run after a kill: one pull request, up to date, labelled; nothing left."""
    again = flow("promote", "web", "--to", "qa", env=server.env())
    assert again.returncode == 0, again.stdout + again.stderr
    [pull] = server.open()  # one, never two
    assert pull.head == BRANCH
    assert pull.labels == ["promotion", "env/qa"] and f"`{digest[:19]}`" in pull.body
    assert digest in git(flow.remote, "show", f"{BRANCH}:{QA}")
    assert git(flow.work, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (flow.work / ".git" / "promoter" / "intent.json").exists()
    assert list((flow.work / ".git" / "promoter").glob("index.*")) == []
    assert git(flow.work, "rev-parse", "HEAD") == git(flow.remote, "rev-parse", "main")


def _start(flow: Flow, server: GitHubServer, tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "promoter", "promote", "web", "--to", "qa"],
        cwd=flow.work, env={**promoter_env(tmp_path), **server.env()},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def _wait_for(done: Callable[[], bool]) -> None:
    for _ in range(600):
        if done():
            return
        time.sleep(0.05)
    raise AssertionError("the run never got there")


def test_killed_pull_request_promotions_converge(
    github: tuple[Flow, GitHubServer], tmp_path: Path
) -> None:
    # SIGKILL of the whole job (promoter and its git) at each step of a pull-request
    # promotion, then at spread times: the re-run ends with one pull request, up to date.
    flow, server = github
    marker = tmp_path / "pushing"
    hook = flow.remote / "hooks" / "pre-receive"
    hook.write_text(  # holds the push of a promotion branch, and says it started
        '#!/bin/sh\nwhile read -r old new ref; do case "$ref" in\n'
        f"  refs/heads/promoter/*) touch '{marker}'; sleep 0.3 ;;\nesac; done\n"
    )
    hook.chmod(0o755)
    stalled = {
        "opening": ("POST", r"/pulls$"),  # pushed, the pull request not yet opened
        "labelling": ("POST", r"/issues/\d+/labels$"),  # opened, not yet labelled
        "updating": ("PATCH", r"/pulls/\d+$"),  # pushed anew, the pull request not updated
    }
    steps = ["opening", "labelling", "pushing", "updating", 0.2, 0.6, 1.0, 1.4]
    for i, step in enumerate(steps):
        digest = "sha256:" + f"{i + 1:08x}" * 8
        _ready(flow, digest)
        marker.unlink(missing_ok=True)
        if step == "labelling":  # a person closed it: the next run opens a new one
            server.pulls[1].state = "closed"
        held = server.stall(*stalled[step]) if isinstance(step, str) and step in stalled else None
        proc = _start(flow, server, tmp_path)
        if isinstance(step, float):
            time.sleep(step)
        elif held is not None:
            _wait_for(held.reached.is_set)
        else:
            _wait_for(marker.exists)
        os.killpg(proc.pid, signal.SIGKILL)  # a cancelled job: promoter and its git
        proc.wait()
        if held is not None:
            held.release.set()
        pushed = digest in git(flow.remote, "show", f"{BRANCH}:{QA}")
        if step == "pushing":  # killed with its push in flight: the push died with it
            assert not pushed
        if step in ("opening", "updating"):  # pushed, not proposed: the next run takes over
            assert pushed and all(digest[:19] not in p.body for p in server.open())
        if step == "labelling":  # opened, never labelled: the next run labels it
            assert pushed and [p.labels for p in server.open()] == [[]]
        _converged(flow, server, digest)


@pytest.mark.parametrize("status", [403, 429])
def test_a_rate_limit_is_waited_out_as_the_forge_says(
    github: tuple[Flow, GitHubServer], status: int
) -> None:
    flow, server = github
    _ready(flow)
    server.fail("POST", r"/pulls$", status, **{"Retry-After": "1"})  # secondary rate limit
    result = flow.ok("promote", "web", "--to", "qa", env=server.env())
    assert "opened pull request #1" in result.stdout
    assert [r for r in server.requests if r == ("POST", "/repos/acme/gitops/pulls")] == [
        ("POST", "/repos/acme/gitops/pulls")
    ] * 2  # refused once, asked again after the wait
    assert result.stderr == ""  # the wait is the client's business, not an error


def test_a_forge_that_does_not_answer_times_out_and_leaves_nothing(
    github: tuple[Flow, GitHubServer],
) -> None:
    flow, server = github
    _ready(flow)
    before = flow.state()
    held = server.stall("POST", r"/pulls$", times=10)  # the client's retries time out too
    env = {**server.env(), "PROMOTER_FORGE_TIMEOUT": "1"}
    result = flow("promote", "web", "--to", "qa", env=env)
    held.release.set()
    assert result.returncode == 5, result.stdout + result.stderr
    assert "could not reach GitHub" in result.stderr and "no answer within 1 s" in result.stderr
    assert BRANCH not in server.branches() and server.open() == []
    assert flow.state() == before
    bad = flow("promote", "web", "--to", "qa", env={**server.env(), "PROMOTER_FORGE_TIMEOUT": "x"})
    assert bad.returncode == 2 and "PROMOTER_FORGE_TIMEOUT='x'" in bad.stderr


def test_a_pull_request_a_person_merged_or_closed_meanwhile(
    github: tuple[Flow, GitHubServer],
) -> None:
    flow, server = github
    _ready(flow)
    flow.ok("promote", "web", "--to", "qa", env=server.env())
    # a person merged it by hand (a fast-forward of main to the promotion branch)
    git(flow.remote, "update-ref", "refs/heads/main", server.branches()[BRANCH])
    server.pulls[1].state = "closed"
    done = flow.ok("promote", "web", "--to", "qa", env=server.env())
    assert done.stdout.rstrip().endswith("nothing to do") and server.open() == []
    # the next build gets a pull request of its own: the merged one stays closed
    _ready(flow, WEB2)
    flow.ok("promote", "web", "--to", "qa", env=server.env())
    [pull] = server.open()
    assert pull.number == 2
