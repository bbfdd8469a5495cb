"""Killed runs: whatever a SIGKILL leaves, the next run puts right and converges.

Every test here kills real promoter processes (SIGKILL: no handler runs) at points spread
over their whole life, start-up to push. Git hooks widen the two windows that matter: a
local post-commit hook holds the run between its commit and its push, and the remote's
pre-receive hook holds it while the push is in flight. After each kill the same command
runs again and must converge: the change lands exactly once (or the re-run truthfully
finds it done), the remote never holds a partial state, and nothing is left behind.
"""

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

from tests.conftest import CASES, Runner, check_output, promoter_env
from tests.gitutil import clone, git, remote_with_clone
from tests.test_promote import Flow

# each hook holds a run this long in its window; not the runs that only set the scene
PAUSE = '[ "$PROMOTER_TEST_HOLD" = no ] || sleep 0.15\n'
QUICK = {"PROMOTER_TEST_HOLD": "no"}  # git passes it on to both hooks
SPAN = 1.6  # seconds over which the kills are spread


@pytest.fixture
def flow(tmp_path: Path, run: Runner) -> Flow:
    work, remote = remote_with_clone(tmp_path, CASES / "flow")
    return Flow(work, remote, run)


def _hooks(flow: Flow) -> None:
    for hook in (
        flow.work / ".git" / "hooks" / "post-commit",
        flow.remote / "hooks" / "pre-receive",
    ):
        hook.write_text(
            "#!/bin/sh\n" + PAUSE + ("cat >/dev/null\n" if "receive" in hook.name else "")
        )
        hook.chmod(0o755)


def _digest(n: int) -> str:
    return "sha256:" + f"{n:08x}" * 8  # its short form (8 digits) tells them apart


def _kill_at(flow: Flow, tmp_path: Path, args: list[str], delay: float | None) -> int | None:
    """Start ``promoter ARGS`` in the clone and SIGKILL it after ``delay`` seconds (None:
    let it finish); its exit status if it finished first."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "promoter", *args],
        cwd=flow.work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=promoter_env(tmp_path),
    )
    try:
        proc.wait(timeout=delay)  # a run that ends first is not waited for any longer
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return None if proc.returncode == -signal.SIGKILL else proc.returncode


def _left_nothing(flow: Flow) -> None:
    assert git(flow.work, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (flow.work / ".git" / "promoter" / "intent.json").exists()
    assert not (flow.work / ".git" / "index.lock").exists()
    behind_ahead = git(flow.work, "rev-list", "--left-right", "--count", "origin/main...HEAD")
    assert behind_ahead.split() == ["0", "0"]  # HEAD is what the remote holds


def _converges(
    flow: Flow,
    tmp_path: Path,
    kills: int,
    prepare: Callable[[int], list[str]],
    landed: Callable[[int], None],
) -> set[str]:
    """Kill the command ``prepare(i)`` returns at points spread over ``SPAN`` seconds (its
    whole life; the last run is left to finish), re-run it after each, and check with
    ``landed(i)``; return what the re-runs said (the kills hit every stage)."""
    said: set[str] = set()
    for i in range(kills):
        args = prepare(i)
        last = i == kills - 1  # the last run is left to finish: its re-run has nothing to do
        _kill_at(flow, tmp_path, args, None if last else 0.02 + SPAN * i / (kills - 1))
        again = flow(*args)
        assert again.returncode == 0, again.stdout + again.stderr
        said.add("recovered" if "recovered from" in again.stderr else "clean start")
        said.add("nothing to do" if "nothing to do" in again.stdout else "landed")
        landed(i)
        _left_nothing(flow)
    return said


def test_killed_publications_converge(flow: Flow, tmp_path: Path) -> None:
    _hooks(flow)

    def prepare(i: int) -> list[str]:
        return ["publish", "web", "--to", "dev", "--digest", _digest(i + 1), "--image", "r/web"]

    def landed(i: int) -> None:
        subject = f"publish(web): dev {_digest(i + 1)[:15]}"
        assert flow.remote_log().count(subject) == 1
        assert _digest(i + 1) in git(flow.remote, "show", "main:environments/dev.yaml")

    said = _converges(flow, tmp_path, 44, prepare, landed)
    assert said == {"recovered", "clean start", "nothing to do", "landed"}


def test_killed_promotions_converge(flow: Flow, tmp_path: Path) -> None:
    _hooks(flow)

    def prepare(i: int) -> list[str]:
        new = _digest(i + 1)
        flow.ok("publish", "web", "--to", "dev", "--digest", new, "--image", "r/web", env=QUICK)
        flow.ok("record", "dev", "web", "--check", "unit-tests=passed", env=QUICK)
        return ["promote", "web", "--to", "qa"]

    def landed(i: int) -> None:
        subject = f"promote(web): dev → qa {_digest(i + 1)[:15]}"
        assert flow.remote_log().count(subject) == 1
        assert _digest(i + 1) in git(flow.remote, "show", "main:environments/qa.yaml")

    said = _converges(flow, tmp_path, 25, prepare, landed)
    assert said == {"recovered", "clean start", "nothing to do", "landed"}


def test_killed_release_trains_converge(flow: Flow, tmp_path: Path) -> None:
    _hooks(flow)
    apps = ("web", "api")

    def prepare(i: int) -> list[str]:
        for n, app in enumerate(apps):
            digest = _digest(100 * n + i + 1)
            flow.ok(
                "publish", app, "--to", "dev", "--digest", digest, "--image", f"r/{app}", env=QUICK
            )
            flow.ok("record", "dev", app, "--check", "unit-tests=passed", env=QUICK)
        return ["promote", "--all", "--to", "qa"]

    def landed(i: int) -> None:
        qa = git(flow.remote, "show", "main:environments/qa.yaml")
        assert all(_digest(100 * n + i + 1) in qa for n in range(len(apps)))
        trains = [s for s in flow.remote_log() if s.startswith("promote(") and "→ qa" in s]
        assert len(trains) == i + 1  # one commit per train, never two, never half

    said = _converges(flow, tmp_path, 15, prepare, landed)
    assert said == {"recovered", "clean start", "nothing to do", "landed"}


def test_killed_check_records_converge(flow: Flow, tmp_path: Path) -> None:
    # A CI job that records a check result and is killed, then retried: one record.
    _hooks(flow)

    def prepare(i: int) -> list[str]:
        new = _digest(i + 1)
        flow.ok("publish", "web", "--to", "dev", "--digest", new, "--image", "r/web", env=QUICK)
        return ["record", "dev", "web", "--check", "unit-tests=passed", "--url", f"https://ci/{i}"]

    def landed(i: int) -> None:
        subject = f"record(web): unit-tests passed in dev for {_digest(i + 1)[:15]}"
        assert flow.remote_log().count(subject) == 1

    said = _converges(flow, tmp_path, 20, prepare, landed)
    assert said == {"recovered", "clean start", "nothing to do", "landed"}


def test_recover_puts_right_an_unpushed_commit_and_says_so(
    flow: Flow,
    tmp_path: Path,
) -> None:
    # A run killed while its post-commit hook holds it: committed, never pushed.
    hook = flow.work / ".git" / "hooks" / "post-commit"
    started = tmp_path / "committed"
    hook.write_text(f"#!/bin/sh\ntouch '{started}'\nsleep 30\n")
    hook.chmod(0o755)
    before = flow.state()
    proc = subprocess.Popen(
        [sys.executable, "-m", "promoter", "publish", "web", "--to", "dev",
         "--digest", _digest(7), "--image", "r/web"],
        cwd=flow.work, env=promoter_env(tmp_path),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    for _ in range(600):
        if started.exists():
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the run, its git and the hook: a cancelled job
    proc.wait()
    hook.unlink()
    made = flow.head()
    assert made != before[0]  # its commit is there, unpushed
    shown = flow("status")  # a read-only command touches nothing, but warns
    assert shown.returncode == 0, shown.stderr
    assert "was killed in this working copy" in shown.stderr and "promoter recover" in shown.stderr
    for read in (("gates", "web", "--to", "qa"), ("history", "--app", "web"), ("history",)):
        shown = flow(*read)  # every read-only view of the history warns alike
        assert shown.returncode in (0, 1), shown.stderr
        assert "was killed in this working copy" in shown.stderr, read
    dry = flow("publish", "web", "--to", "dev", "--digest", _digest(7), "--dry-run")
    assert "run `promoter recover` first" in dry.stderr
    result = flow.ok("recover", "-o", "json")
    document = json.loads(result.stdout)
    check_output(document, "RecoveryReport")
    assert any(
        "(publish(web): dev sha256:00000007)" in line and "undid its commit" in line
        for line in document["recovered"]
    )
    [run] = document["runs"]  # the same, for machines
    assert run["command"] == "publish" and run["summary"].startswith("publish(web): dev")
    assert run["pid"] == proc.pid and run["base"] == before[0]
    assert [step["action"] for step in run["steps"]] == ["undid-commit"]
    assert run["steps"][0]["commit"] == made  # killed in its hook: before it could record it
    assert run["commit"] is None
    assert flow.state() == before
    assert flow.ok("recover").stdout.strip() == "recover: nothing to put right"


def test_what_a_killed_run_did_not_leave_is_never_touched(flow: Flow) -> None:
    # An intent record is there, but so is a person's own edit: refused, nothing touched.
    intent = _intent(flow)
    (flow.work / "notes.txt").write_text("mine\n")
    result = flow("recover")
    assert result.returncode == 4
    assert "not promoter's (notes.txt)" in result.stderr
    assert (flow.work / "notes.txt").read_text() == "mine\n" and intent.exists()


def test_a_stray_index_lock_names_what_to_run(flow: Flow) -> None:
    lock = flow.work / ".git" / "index.lock"
    lock.write_text("")
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", _digest(9), "--image", "r/web")
    assert result.returncode == 4
    assert f"rm {lock}" in result.stderr
    assert flow.state() == before and lock.exists()


def test_a_pull_after_the_kill_is_not_mistaken_for_someone_elses_commit(
    flow: Flow, tmp_path: Path
) -> None:
    # The killed run's push had landed; then someone pulled newer work on top of it.
    flow.ok("publish", "web", "--to", "dev", "--digest", _digest(3), "--image", "r/web")
    ours = flow.head()
    record = {
        "command": "publish",
        "branch": "main",
        "base": git(flow.work, "rev-parse", "HEAD^").strip(),
        "files": ["environments/dev.yaml"],
        "upstream": ["origin", "main"],
        "started": time.time(),
        "pid": 1,
        "commit": ours,
    }
    other = clone(flow.remote, tmp_path / "other")
    Flow(other, flow.remote, flow.runner).ok(
        "publish", "api", "--to", "dev", "--digest", _digest(4), "--image", "r/api"
    )
    git(flow.work, "pull", "--quiet", "--ff-only")
    intent = flow.work / ".git" / "promoter" / "intent.json"
    intent.parent.mkdir(exist_ok=True)
    intent.write_text(json.dumps(record))
    before = flow.state()
    result = flow.ok("recover")
    assert "its push had landed, and the branch has moved on since" in result.stdout
    assert flow.state() == before and not intent.exists()


def _intent(flow: Flow, **fields: object) -> Path:
    record: dict[str, object] = {
        "command": "publish",
        "branch": "main",
        "base": flow.head(),
        "files": ["environments/dev.yaml"],
        "upstream": ["origin", "main"],
        "started": time.time() - 1,
        "pid": 1,
        "commit": None,
    }
    record.update(fields)
    path = flow.work / ".git" / "promoter" / "intent.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(record))
    return path


def test_recovery_waits_for_a_git_the_killed_run_left_running(flow: Flow) -> None:
    # kill -9 hits promoter only: its `git commit` (here held by a pre-commit hook) lives
    # on, holding index.lock. Recovery must not pull the lock from under it.
    hook = flow.work / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nsleep 60\n")  # longer than recovery waits for it
    hook.chmod(0o755)
    dev = flow.work / "environments" / "dev.yaml"
    dev.write_text(dev.read_text() + "# half-written\n")
    intent = _intent(flow)
    orphan = subprocess.Popen(
        ["git", "commit", "-q", "-m", "x", "--", "environments/dev.yaml"],
        cwd=flow.work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    lock = flow.work / ".git" / "index.lock"
    for _ in range(100):
        if lock.exists():
            break
        time.sleep(0.05)
    try:
        refused = flow("recover")
        assert refused.returncode == 4, refused.stdout + refused.stderr
        assert "git is still running in this working copy" in refused.stderr
        assert f"{orphan.pid}: git commit" in refused.stderr
        assert lock.exists() and intent.exists()  # nothing touched
    finally:
        os.killpg(orphan.pid, signal.SIGKILL)
        orphan.wait()
    hook.unlink()
    done = flow.ok("recover")
    assert (
        "removed .git/index.lock" in done.stdout and "restored environments/dev.yaml" in done.stdout
    )
    _left_nothing(flow)


def test_recovery_restores_a_file_the_killed_run_had_staged(flow: Flow) -> None:
    dev = flow.work / "environments" / "dev.yaml"
    dev.write_text(dev.read_text() + "# half-written\n")
    git(flow.work, "add", "environments/dev.yaml")  # its `git commit` had begun
    _intent(flow)
    flow.ok("recover")
    _left_nothing(flow)


def test_recover_refuses_commits_the_upstream_lacks_and_says_how_to_keep_them(
    flow: Flow,
) -> None:
    (flow.work / "notes.txt").write_text("mine\n")
    git(flow.work, "add", "notes.txt")
    git(flow.work, "commit", "-q", "-m", "my work")
    result = flow("recover")
    assert result.returncode == 4
    assert "git branch my-work" in result.stderr and "git reset --keep origin/main" in result.stderr
    assert flow("recover", "-o", "json").returncode == 4


def test_a_run_that_waits_for_the_working_copys_lock_says_so(flow: Flow) -> None:
    import fcntl
    import threading

    lock = (flow.work / ".git" / "promoter.lock").open("a")
    fcntl.flock(lock, fcntl.LOCK_EX)  # another run holds the working copy
    release = threading.Timer(2.5, lambda: fcntl.flock(lock, fcntl.LOCK_UN))
    release.start()
    try:
        result = flow.ok(
            "publish", "web", "--to", "dev", "--digest", _digest(5), "--image", "r/web"
        )
    finally:
        release.join()
        lock.close()
    assert "waiting for another promoter run in this working copy" in result.stderr
    assert "pushed to origin/main" in result.stdout


def test_an_edit_made_after_the_kill_to_the_runs_own_file_is_kept(flow: Flow) -> None:
    # The run wrote dev.yaml and was killed; then a person edited that same file. Only
    # exactly what the run wrote may be restored: this edit is theirs.
    from promoter.recovery import blob_id

    dev = flow.work / "environments" / "dev.yaml"
    written = dev.read_text() + "# what the run wrote\n"
    _intent(flow, writes=[["environments/dev.yaml", blob_id(written.encode())]])
    dev.write_text(written + "# and the person's edit after it\n")
    result = flow("recover")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "has been edited since" in result.stderr
    assert dev.read_text().endswith("# and the person's edit after it\n")
    dev.write_text(written)  # exactly what the run wrote: restored
    flow.ok("recover")
    _left_nothing(flow)


def _intent(flow: Flow, **changes: object) -> Path:
    """An intent record as a run killed just now leaves it."""
    intent = flow.work / ".git" / "promoter" / "intent.json"
    intent.parent.mkdir(exist_ok=True)
    record = {
        "command": "publish",
        "branch": "main",
        "base": flow.head(),
        "files": ["environments/dev.yaml"],
        "upstream": ["origin", "main"],
        "started": time.time() - 5,
        "pid": 1,
        "commit": None,
    } | changes
    intent.write_text(json.dumps(record))
    return intent


@pytest.mark.parametrize(
    "name", ["index.lock", "HEAD.lock", "refs/heads/main.lock", "next-index-42.lock"]
)
def test_any_git_lock_file_is_refused_by_name_or_removed_when_the_killed_run_left_it(
    flow: Flow, name: str
) -> None:
    lock = flow.work / ".git" / name
    lock.write_text("")
    old = time.time() - 3600
    os.utime(lock, (old, old))  # older than any run: not promoter's to remove
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", _digest(9), "--image", "r/web")
    assert result.returncode == 4 and f"rm {lock}" in result.stderr
    assert flow.state() == before and lock.exists()
    report = flow("recover", "-o", "json")  # not ready, and says why, in its report
    assert report.returncode == 4
    document = json.loads(report.stdout)
    check_output(document, "RecoveryReport")
    assert document["ready"] is False and str(lock) in document["problem"]
    # one its own killed git left (newer than the run) is removed, and said so
    lock.touch()
    _intent(flow)
    document = json.loads(flow.ok("recover", "-o", "json").stdout)
    [step] = document["runs"][0]["steps"]
    action = "removed-index-lock" if name == "index.lock" else "removed-git-lock"
    assert (step["action"], step["paths"]) == (action, [f".git/{name}"])
    assert not lock.exists() and document["ready"] is True


def test_a_live_run_is_not_reported_as_killed(flow: Flow) -> None:
    import fcntl

    _intent(flow)
    with (flow.work / ".git" / "promoter.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a run at work holds the lock
        assert "was killed" not in flow("status").stderr
    assert "was killed" in flow("status").stderr  # nobody holds it: killed


def test_a_kept_no_push_commit_is_reported_and_waits_for_a_push(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", _digest(5), "--image", "r/web",
            "--no-push")  # fmt: skip
    _intent(flow, base=git(flow.work, "rev-parse", "HEAD~1").strip(), upstream=None,
            commit=flow.head())  # fmt: skip
    result = flow("recover", "-o", "json")
    assert result.returncode == 4
    document = json.loads(result.stdout)
    check_output(document, "RecoveryReport")
    assert [s["action"] for s in document["runs"][0]["steps"]] == ["kept-local-commit"]
    assert document["ready"] is False and "Push it (`git push`)" in document["problem"]


def test_a_remote_that_cannot_lock_its_branch_is_not_a_race(flow: Flow) -> None:
    (flow.remote / "refs" / "heads" / "main.lock").write_text("")  # a killed push left it
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", _digest(6), "--image", "r/web")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "refused the push 5 times although origin/main has not moved" in result.stderr
    assert "cannot lock ref" in result.stderr and "refs/heads/main.lock" in result.stderr
    assert flow.state() == before


def test_a_stale_clone_fetches_before_it_says_nothing_to_do(flow: Flow, tmp_path: Path) -> None:
    other = clone(flow.remote, tmp_path / "other")
    flow.ok("publish", "web", "--to", "dev", "--digest", _digest(1), "--image", "r/web")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    flow.ok("promote", "web", "--to", "qa")
    git(other, "pull", "--quiet")
    flow.ok("publish", "web", "--to", "dev", "--digest", _digest(2), "--image", "r/web")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    # the other clone still sees qa running what dev runs: it must not call that done
    result = flow("promote", "web", "--to", "qa", cwd=other)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing to do" not in result.stdout and "pushed to origin/main" in result.stdout
    assert _digest(2) in git(flow.remote, "show", "main:environments/qa.yaml")
