"""Many writers at once: every intended promotion lands exactly once, nobody fails.

Real promoter processes, started together: 16 in 16 separate clones of one bare remote,
and 8 more sharing one working copy, promoting disjoint, overlapping and identical apps
and whole release trains. The remote orders the clones' pushes (a loser fetches, plans
again and retries with jittered backoff); the shared working copy's lock makes its 8 take
turns from their first read to their last push.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import CASES, Runner, promoter_env
from tests.gitutil import clone, git, remote_with_clone
from tests.test_promote import Flow

APPS = [f"a{i}" for i in range(8)]


@pytest.fixture
def flow(tmp_path: Path, run: Runner) -> Flow:
    work, remote = remote_with_clone(tmp_path, CASES / "flow")
    return Flow(work, remote, run)


def _start(args: list[str], cwd: Path, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "promoter", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=promoter_env(home),
    )


def test_twenty_four_writers_at_once_each_promotion_lands_exactly_once(
    flow: Flow, tmp_path: Path
) -> None:
    for n, app in enumerate(APPS):
        digest = "sha256:" + f"{n + 1:02x}" * 32
        flow.ok("publish", app, "--to", "dev", "--digest", digest, "--image", f"r/{app}")
        flow.ok("record", "dev", app, "--check", "unit-tests=passed")
    # into qa, from 16 clones: every app alone, two overlapping pairs, two repeats, two trains
    into_qa = [[a] for a in APPS] + [["a0", "a1"], ["a2", "a3"], ["a4"], ["a5"]]
    into_qa += [["--all"], ["--all"]]
    # into perf, from the one shared working copy: singles, a repeat, trains
    into_perf = [["a0"], ["a1"], ["a2"], ["a3"], ["a0"], ["--all"], ["--all"], ["a7"]]
    clones = [clone(flow.remote, tmp_path / f"c{i}") for i in range(len(into_qa))]
    procs = [
        _start(["promote", *apps, "--to", "qa"], work, tmp_path)
        for apps, work in zip(into_qa, clones, strict=True)
    ]
    procs += [_start(["promote", *apps, "--to", "perf"], flow.work, tmp_path) for apps in into_perf]
    outputs = [proc.communicate(timeout=900) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(procs), outputs

    git(flow.work, "pull", "--quiet", "--ff-only")
    history = json.loads(flow.ok("history", "-o", "json").stdout)["events"]
    moved = Counter(
        (event["environment"], change["app"])
        for event in history
        if event["kind"] == "promote"
        for change in event["changes"]
    )
    assert moved == Counter({(env, app): 1 for env in ("qa", "perf") for app in APPS})
    assert git(flow.remote, "rev-list", "--merges", "main").strip() == ""  # linear
    audit = flow("audit", "-o", "json")
    assert audit.returncode == 0, audit.stdout
    assert git(flow.work, "status", "--porcelain") == ""
