"""The promotion engine end to end: real repositories, a bare remote, promoter as a process.

A write is judged at the real time and dated with it; reads take PROMOTER_NOW. Soak and
deploy windows are tested exactly, without sleeping, by building history in the past: a
write run with ``at=`` is dated then (see ``tests.gitutil.redate``), and a read with
``at=`` asks the gates about that moment.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from promoter.actor import parse_actor
from tests.conftest import CASES, Runner, check_output, promoter_env
from tests.gitutil import clone, commit_all, git, redate, remote_with_clone
from tests.signing import as_signer

WEB1 = "sha256:" + "a1" * 32
WEB2 = "sha256:" + "b2" * 32
API1 = "sha256:" + "c3" * 32
MONDAY = "2026-11-23T10:00:00+00:00"
# What `audit` re-checks of a promoter commit: its gates, trailers, lineage and date.
RECHECKED = frozenset(
    {
        "ungated-promotion",
        "trailer-mismatch",
        "skipped-environment",
        "no-lineage",
        "date-backwards",
        "future-date",
    }
)
LIVE: list[Flow] = []  # the flows of the running test
WRITES = frozenset({"publish", "promote", "rollback", "record", "approve", "adopt", "acknowledge"})
ALICE = "Alice <alice@example.com>"
BOB = "Bob <bob@example.com>"


@dataclass
class Flow:
    """A clone of a GitOps repository with a bare remote, and promoter run inside it."""

    work: Path
    remote: Path
    runner: Runner
    made: list[str] = field(default_factory=list)  # the commits promoter made, as dated
    # at the end of the test, `audit` judges every commit promoter made: none may fail its
    # re-check (a test that tampers with promoter's own commits on purpose says so here)
    recheck: bool = True

    def __post_init__(self) -> None:
        LIVE.append(self)

    def assert_promoter_commits_pass_the_audit(self) -> None:
        """Every commit promoter made passes `audit`'s re-check of gates and trailers."""
        result = self("audit", "-o", "json")
        assert result.returncode in (0, 1), result.stdout + result.stderr
        findings = json.loads(result.stdout)["findings"]
        own = [f for f in findings if f["code"] in RECHECKED and f["sha"] in self.made]
        assert not own, json.dumps(own, indent=2)

    def __call__(
        self,
        *args: str,
        at: str | None = None,
        actor: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        signer: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run promoter. A read asks about the moment ``at``; a write runs now and, with
        ``at``, its commit is then dated ``at``: history built in the past. Acting as
        ``actor``, git signs (where promoter asks it to) with that person's key, or with
        the key of ``signer``."""
        where = cwd or self.work
        writing = args[0] in WRITES and "--dry-run" not in args
        extra = dict(env or {})
        if at and not writing:
            extra["PROMOTER_NOW"] = at
        if actor:
            extra["PROMOTER_ACTOR"] = actor
        keys = Path(os.environ["GIT_CONFIG_GLOBAL"]).parent / "keys"
        identity = signer or (parse_actor(actor).id if actor else None)
        signing = as_signer(keys, identity) if identity else {}
        extra.update(signing)
        before = git(where, "rev-parse", "HEAD").strip() if writing else ""
        result = self.runner(*args, cwd=where, env=extra)
        if writing and result.returncode == 0:
            after = git(where, "rev-parse", "HEAD").strip()
            if after != before:
                if at:
                    after = redate(where, at, push="--no-push" not in args, env=signing)
                self.made.append(after)
        return result

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        result = self(*args, **kwargs)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def text(self, env: str) -> str:
        return (self.work / "environments" / f"{env}.yaml").read_text()

    def remote_log(self) -> list[str]:
        return git(self.remote, "log", "--format=%s", "main").splitlines()

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD").strip()

    def state(self) -> tuple[str, str, str]:
        """HEAD, the remote's main, and `git status`: to prove nothing was written."""
        return (
            self.head(),
            git(self.remote, "rev-parse", "main").strip(),
            git(self.work, "status", "--porcelain"),
        )


@pytest.fixture
def flow(tmp_path: Path, run: Runner) -> Flow:
    work, remote = remote_with_clone(tmp_path, CASES / "flow")
    return Flow(work, remote, run)


def at_hour(hour: int, day: int = 23) -> str:
    """An ISO time on MONDAY's day (or another day of November 2026)."""
    return f"2026-11-{day:02d}T{hour:02d}:00:00+00:00"


def to_staging(
    flow: Flow, digest: str = WEB1, at: str = MONDAY, *, staging_now: bool = False
) -> None:
    """Publish web and carry it to staging with every gate met (staging soaks 1h); the
    last step an hour after ``at``, or now with ``staging_now``."""
    flow.ok(
        "publish",
        "web",
        "--to",
        "dev",
        "--digest",
        digest,
        "--image",
        "registry.example.com/shop/web",
        "--version",
        "1.0.0",
        at=at,
    )
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed", at=at)
    flow.ok("promote", "web", "--to", "qa", at=at)
    flow.ok("promote", "web", "--to", "perf", at=at)
    flow.ok("record", "qa", "web", "--check", "uat=passed", at=at)
    flow.ok("record", "perf", "web", "--check", "uat=passed", at=at)
    later = None if staging_now else at.replace("T10:", "T11:")
    flow.ok("promote", "web", "--to", "staging", at=later)


def test_publish_enters_the_entry_environment_with_a_minimal_commit(flow: Flow) -> None:
    before = flow.text("dev")
    result = flow.ok(
        "publish",
        "web",
        "--to",
        "dev",
        "--digest",
        WEB1,
        "--image",
        "registry.example.com/shop/web",
        "--version",
        "1.0.0",
    )
    assert "pushed to origin/main" in result.stdout
    assert flow.remote_log()[0] == "publish(web): dev sha256:a1a1a1a1 1.0.0"
    assert flow.text("dev") == before.replace(
        "artifacts: {}\n",
        "artifacts:\n  web:\n    image: registry.example.com/shop/web\n"
        f"    digest: {WEB1}\n    version: 1.0.0\n",
    )
    body = git(flow.work, "log", "-1", "--format=%B")
    assert "Promoter-Kind: publish\nPromoter-To: dev\nPromoter-App: web\n" in body
    assert f"Promoter-Change: web none -> {WEB1}" in body


def test_credentials_in_urls_never_reach_git(flow: Flow) -> None:
    # GitLab's $CI_REPOSITORY_URL carries the job token; a CI link may carry a password.
    planted = "glcbt-64_SECRETTOKEN"
    repo_url = f"https://gitlab-ci-token:{planted}@gitlab.example.com/shop/web.git"
    result = flow.ok(
        "publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web",
        "--source-repo", repo_url, "--source-revision", "0" * 40,
    )  # fmt: skip
    assert "--source-repo: removed the credentials" in result.stderr
    assert "repo: https://gitlab.example.com/shop/web.git" in flow.text("dev")
    said = flow.ok("record", "dev", "web", "--check", "unit-tests=passed",
                   "--url", f"https://bot:{planted}@ci.example.com/run/7")  # fmt: skip
    assert "--url: removed the credentials" in said.stderr
    flow.ok("promote", "web", "--to", "qa")
    everything = git(flow.remote, "log", "-p", "--format=%B", "main")
    assert "https://ci.example.com/run/7" in everything
    assert planted not in everything and planted not in result.stdout + said.stdout


def test_publish_refuses_a_non_entry_environment_and_writes_nothing(flow: Flow) -> None:
    before = flow.state()
    result = flow("publish", "web", "--to", "qa", "--digest", WEB1, "--image", "r/web")
    assert result.returncode == 1
    assert "refused: qa takes digests from dev; only entry environments take new" in result.stdout
    assert flow.state() == before


@pytest.mark.parametrize("digest", ["latest", "1.2", "sha256:abc"])
def test_publish_refuses_a_tag_where_a_digest_belongs(flow: Flow, digest: str) -> None:
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", digest, "--image", "r/web")
    assert result.returncode == 2
    assert "digest" in result.stderr and "Traceback" not in result.stderr
    assert flow.state() == before


def test_full_flow_to_staging_copies_the_artifact_exactly(flow: Flow) -> None:
    to_staging(flow)
    staging = flow.text("staging")
    assert f"    digest: {WEB1}\n    version: 1.0.0\n" in staging
    assert "  replicas: 1  # staging only\n" in staging  # configuration is never promoted
    subjects = flow.remote_log()
    assert subjects[0] == "promote(web): qa, perf → staging sha256:a1a1a1a1"


def test_skipping_an_environment_is_refused(flow: Flow) -> None:
    to_staging(flow)
    before = flow.state()
    result = flow("promote", "web", "--to", "prod", "--from", "qa")
    assert result.returncode == 1
    assert "prod promotes from staging, not from qa: no environment may be skipped" in (
        result.stdout + result.stderr
    )
    assert flow.state() == before


def test_parallel_sources_must_agree(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    flow.ok("promote", "web", "--to", "qa")  # perf does not run it yet
    result = flow("promote", "web", "--to", "staging")
    assert result.returncode == 1
    assert "web is not in perf, so it cannot enter staging" in result.stdout


def test_checks_gate_pending_fail_and_evidence_for_another_digest(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    pending = flow("promote", "web", "--to", "qa")
    assert pending.returncode == 1
    assert "... checks    not recorded for sha256:a1a1a1a1: unit-tests in dev" in pending.stdout
    flow.ok("record", "dev", "web", "--check", "unit-tests=failed", "--url", "https://ci/7")
    failed = flow("promote", "web", "--to", "qa")
    assert failed.returncode == 1
    assert "XX  checks    failed: unit-tests in dev (https://ci/7)" in failed.stdout
    # a pass recorded for the next build does not count for this one
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB2)
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    gates = flow("gates", "web", "--to", "qa", "-o", "json")
    check_output(json.loads(gates.stdout), "PromotionResult")
    move = json.loads(gates.stdout)["moves"][0]
    assert move["new"]["digest"] == WEB2 and move["status"] == "pass"
    evidence = flow("record", "dev", "web", "--check", "unit-tests=passed", "--digest", API1)
    assert evidence.returncode == 1
    assert "dev never ran sha256:c3c3c3c3 for web" in evidence.stderr


def test_soak_is_taken_from_history_and_says_when_it_clears(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web", at=MONDAY)
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed", at=MONDAY)
    flow.ok("promote", "web", "--to", "qa", at=MONDAY)
    half_past = "2026-11-23T10:30:00+00:00"
    flow.ok("promote", "web", "--to", "perf", at=half_past)
    flow.ok("record", "qa", "web", "--check", "uat=passed", at=half_past)
    flow.ok("record", "perf", "web", "--check", "uat=passed", at=half_past)
    early = flow("gates", "web", "--to", "staging", "-o", "json", at="2026-11-23T11:00:00+00:00")
    assert early.returncode == 1
    soak = next(g for g in json.loads(early.stdout)["moves"][0]["gates"] if g["gate"] == "soak")
    assert soak["status"] == "pending"
    assert soak["reason"] == "only 30m in perf (needs 1h)"  # perf got it last
    assert soak["clearsAt"] == "2026-11-23T11:30:00+00:00"
    flow.ok("promote", "web", "--to", "staging", at="2026-11-23T11:30:00+00:00")


def test_a_write_is_judged_at_the_real_time_and_dated_with_it(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    flow.ok("promote", "web", "--to", "qa")
    flow.ok("promote", "web", "--to", "perf")
    flow.ok("record", "qa", "web", "--check", "uat=passed")
    flow.ok("record", "perf", "web", "--check", "uat=passed")
    before = flow.state()
    # the digest arrived moments ago: a real promotion waits for its hour of soak...
    result = flow("promote", "web", "--to", "staging")
    assert result.returncode == 1
    assert "... soak      only " in result.stdout and "(needs 1h)" in result.stdout
    assert flow.state() == before
    # ...and no clock can be moved for it, only for reads and dry runs
    for name in ("PROMOTER_NOW", "GIT_COMMITTER_DATE", "GIT_AUTHOR_DATE"):
        moved = flow("promote", "web", "--to", "staging", env={name: "2030-01-01T00:00:00Z"})
        assert moved.returncode == 2, moved.stdout + moved.stderr
        assert f"{name} is set" in moved.stderr and "Traceback" not in moved.stderr
        assert flow.state() == before
    dry = flow.ok("promote", "web", "--to", "staging", "--dry-run", at="2030-01-01T00:00:00Z")
    assert "ok  soak " in dry.stdout
    # the commit of a write carries the second its gates were judged at
    flow.ok("record", "qa", "web", "--check", "lint=passed")
    committed = git(flow.work, "log", "-1", "--format=%cI %aI").split()
    assert committed[0] == committed[1]
    stamp = dt.datetime.fromisoformat(committed[0])
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 120


def test_approvals_freezes_and_four_eyes(flow: Flow) -> None:
    to_staging(flow)
    flow.ok("record", "staging", "web", "--check", "regression=passed", at=at_hour(12))
    day_later = "2026-11-24T12:00:00+00:00"  # Tuesday: soak 24h met
    pending = flow("gates", "web", "--to", "prod", "-o", "json", at=day_later)
    gates = {g["gate"]: g for g in json.loads(pending.stdout)["moves"][0]["gates"]}
    assert gates["approvals"]["status"] == "pending"
    assert gates["soak"]["status"] == "pass" and gates["window"]["status"] == "pass"

    carol = flow("approve", "web", "--to", "prod", actor="Carol <carol@example.com>")
    assert carol.returncode == 1
    assert "may not approve promotions into prod (allowed: alice@example.com, bob" in (carol.stderr)
    approval = flow.ok("approve", "web", "--to", "prod", "-o", "json", actor=ALICE)
    document = json.loads(approval.stdout)
    check_output(document, "EvidenceResult")
    # the event as git holds it: its commit, time and author, not blanks
    assert document["event"]["sha"] == document["commit"] == flow.head()
    committed = git(flow.work, "log", "-1", "--format=%cI").strip()
    assert document["event"]["when"] == committed and document["event"]["author"]
    own = flow("promote", "web", "--to", "prod", actor=ALICE)
    assert own.returncode == 1  # nobody approves their own promotion
    assert "approvals 0 of 1" in own.stdout
    assert own.stdout.rstrip().endswith("promote: nothing was written (see above)")

    frozen = flow(
        "gates", "web", "--to", "prod", "-o", "json", at="2026-11-26T10:00:00+00:00", actor=BOB
    )
    window = next(
        g for g in json.loads(frozen.stdout)["moves"][0]["gates"] if g["gate"] == "window"
    )
    assert window["reason"].startswith("frozen: Black Friday")
    assert window["clearsAt"] == "2026-11-28T00:00:00+00:00"  # Friday is frozen too

    landed = flow.ok("promote", "web", "--to", "prod", actor=BOB)
    assert "pushed to origin/main" in landed.stdout
    body = git(flow.work, "log", "-1", "--format=%B")
    assert "Promoter-Gate: web approvals pass: 1 of 1 (alice@example.com)" in body
    assert "Promoter-Actor: Bob <bob@example.com>" in body


def test_deploy_windows_are_judged_at_the_real_time(flow: Flow) -> None:
    pipeline = flow.work / "environments" / "pipeline.yaml"
    text = pipeline.read_text()
    windows = text.replace(
        "      window:  # no `allow`: writes are judged at the real time, so the window is open\n"
        "        timezone: UTC\n",
        "      window:\n        timezone: UTC\n        allow:\n"
        '          - {days: [mon, tue, wed, thu], start: "09:00", end: "17:00"}\n',
    )
    assert windows != text
    pipeline.write_text(windows)
    commit_all(flow.work, "prod deploys on weekdays only", at=at_hour(9))
    git(flow.work, "push", "--quiet")
    to_staging(flow)
    flow.ok("record", "staging", "web", "--check", "regression=passed", at=at_hour(12))
    flow.ok("approve", "web", "--to", "prod", actor=ALICE, at=at_hour(13))

    friday = "2026-11-27T12:00:00+00:00"
    closed = flow("gates", "web", "--to", "prod", "-o", "json", at=friday, actor=BOB)
    window = next(
        g for g in json.loads(closed.stdout)["moves"][0]["gates"] if g["gate"] == "window"
    )
    assert window["status"] == "pending"
    assert window["clearsAt"] == "2026-11-30T09:00:00+00:00"  # Monday 09:00
    text = flow("gates", "web", "--to", "prod", at=friday, actor=BOB).stdout
    assert "time-based gates all pass at 2026-11-30 09:00 UTC" in text
    frozen = flow(
        "gates", "web", "--to", "prod", "-o", "json", at="2026-11-26T10:00:00+00:00", actor=BOB
    )
    window = next(
        g for g in json.loads(frozen.stdout)["moves"][0]["gates"] if g["gate"] == "window"
    )
    assert window["reason"].startswith("frozen: Black Friday")
    assert window["clearsAt"] == "2026-11-30T09:00:00+00:00"  # Thursday frozen, then Monday

    # a freeze that holds now blocks the real promotion, whatever PROMOTER_NOW would say
    pipeline.write_text(
        windows.replace(
            '- {start: "2026-11-26", end: "2026-11-27", reason: Black Friday}',
            '- {start: "2026-11-26", end: "2999-01-01", reason: Long freeze}',
        )
    )
    commit_all(flow.work, "freeze prod")
    git(flow.work, "push", "--quiet")
    before = flow.state()
    blocked = flow("promote", "web", "--to", "prod", actor=BOB)
    assert blocked.returncode == 1
    assert "... window    frozen: Long freeze" in blocked.stdout
    assert flow.state() == before


def test_already_promoted_is_a_no_op(flow: Flow) -> None:
    to_staging(flow)
    before = flow.state()
    result = flow.ok("promote", "web", "--to", "staging")
    assert "web: already runs the digest, nothing to do" in result.stdout
    assert flow.state() == before


def test_a_digest_edited_by_hand_has_no_lineage(flow: Flow) -> None:
    to_staging(flow)
    qa = flow.work / "environments" / "qa.yaml"
    qa.write_text(qa.read_text().replace(WEB1, WEB2))
    perf = flow.work / "environments" / "perf.yaml"
    perf.write_text(perf.read_text().replace(WEB1, WEB2))
    commit_all(flow.work, "hotpatch web in qa and perf")
    git(flow.work, "push", "--quiet")
    flow.ok("record", "qa", "web", "--check", "uat=passed")
    flow.ok("record", "perf", "web", "--check", "uat=passed")
    result = flow("promote", "web", "--to", "staging")
    assert result.returncode == 1
    assert "web: refused: sha256:b2b2b2b2 reached qa without a recorded promotion" in (
        result.stdout
    )
    assert "runs `promoter adopt` once" in result.stdout


def test_a_digest_put_into_an_entry_environment_by_hand_has_no_publication(flow: Flow) -> None:
    dev = flow.work / "environments" / "dev.yaml"
    dev.write_text(
        dev.read_text().replace(
            "artifacts: {}\n", f"artifacts:\n  web:\n    image: r/web\n    digest: {WEB1}\n"
        )
    )
    commit_all(flow.work, "web into dev by hand")
    git(flow.work, "push", "--quiet")
    result = flow("promote", "web", "--to", "qa", "--dry-run")
    assert result.returncode == 1
    assert result.stdout.startswith("promote: dev → qa\n")
    assert "web: refused: sha256:a1a1a1a1 reached dev without a recorded publication" in (
        result.stdout
    )
    entry = flow("gates", "web", "--to", "dev")  # an entry environment takes no promotions
    assert entry.returncode == 1 and entry.stdout.startswith("promote: into dev\n")


def test_release_train_promotes_every_ready_app_in_one_commit(flow: Flow) -> None:
    for app, digest in (("web", WEB1), ("api", API1)):
        flow.ok("publish", app, "--to", "dev", "--digest", digest, "--image", f"r/{app}")
    train = flow.ok("promote", "--all", "--to", "perf", "-o", "json")
    document = json.loads(train.stdout)
    check_output(document, "PromotionResult")
    assert [m["app"] for m in document["moves"]] == ["api", "web"]
    assert document["commit"] and document["pushedTo"] == "origin/main"
    perf = flow.text("perf")
    assert WEB1 in perf and API1 in perf
    assert flow.remote_log()[0] == "promote(2 apps): dev → perf"
    body = git(flow.work, "log", "-1", "--format=%B")
    assert f"Promoter-Change: api none -> {API1}" in body
    assert f"Promoter-Change: web none -> {WEB1}" in body


def test_hotfix_uses_its_gates_and_must_be_a_new_artifact(flow: Flow) -> None:
    to_staging(flow)
    flow.ok("record", "staging", "web", "--check", "regression=passed", at=at_hour(12))
    flow.ok("approve", "web", "--to", "prod", actor=ALICE, at=at_hour(12))
    flow.ok("promote", "web", "--to", "prod", actor=BOB, at=at_hour(12, day=24))
    again = flow("promote", "web", "--to", "staging", "--hotfix")
    assert again.returncode == 0  # staging already runs it: nothing to do
    arrival = at_hour(13, day=24)
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB2, "--version", "1.0.1", at=arrival)
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed", at=arrival)
    flow.ok("promote", "web", "--to", "qa", at=arrival)
    flow.ok("promote", "web", "--to", "perf", at=arrival)
    early = "2026-11-24T13:20:00+00:00"
    normal = flow("gates", "web", "--to", "staging", at=early)
    assert normal.returncode == 1  # normal gates: uat missing, soak 1h
    assert "... soak      only 20m in qa (needs 1h)" in normal.stdout
    hotfix = flow("gates", "web", "--to", "staging", "--hotfix", at=early)
    assert hotfix.returncode == 0, hotfix.stdout
    assert "ok  soak      20m in qa (needs 10m)" in hotfix.stdout  # both arrived together
    flow.ok("promote", "web", "--to", "staging", "--hotfix", at=early)
    assert flow.remote_log()[0] == "hotfix(web): qa, perf → staging sha256:b2b2b2b2"
    assert "Promoter-Hotfix: true" in git(flow.work, "log", "-1", "--format=%B")
    # qa and perf roll back to the build prod already ran: as a hotfix it is refused
    flow.ok("rollback", "web", "--env", "qa", at="2026-11-24T13:30:00+00:00")
    flow.ok("rollback", "web", "--env", "perf", at="2026-11-24T13:30:00+00:00")
    before = flow.state()
    old = flow("promote", "web", "--to", "staging", "--hotfix")
    assert old.returncode == 1
    assert "sha256:a1a1a1a1 already ran in prod; a hotfix must be a new artifact" in old.stdout
    assert flow.state() == before


def test_rollback_restores_the_previous_artifact_as_a_new_commit(flow: Flow) -> None:
    flow.ok(
        "publish",
        "web",
        "--to",
        "dev",
        "--digest",
        WEB1,
        "--image",
        "r/web",
        "--version",
        "1.0.0",
        "--source-revision",
        "abcdef1",
    )
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB2, "--version", "1.1.0")
    before = flow.text("dev")
    flow.ok("rollback", "web", "--env", "dev")
    after = flow.text("dev")
    assert after == before.replace(WEB2, WEB1).replace("1.1.0", "1.0.0").replace(
        "    version: 1.0.0\n", "    version: 1.0.0\n    source:\n      revision: abcdef1\n"
    )
    assert flow.remote_log()[0] == "rollback(web): dev sha256:b2b2b2b2 → sha256:a1a1a1a1"
    assert len(flow.remote_log()) == 4  # history is never rewritten
    unknown = flow("rollback", "web", "--env", "dev", "--to", API1)
    assert unknown.returncode == 1
    assert "dev never ran sha256:c3c3c3c3 for web through promoter" in unknown.stdout


def test_dry_run_prints_the_exact_diff_and_writes_nothing(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB2)
    before = flow.state()
    result = flow.ok("rollback", "web", "--env", "dev", "--dry-run")
    assert f"-    digest: {WEB2}\n+    digest: {WEB1}\n" in result.stdout
    assert "rollback(web): dev sha256:b2b2b2b2 → sha256:a1a1a1a1" in result.stdout
    assert flow.state() == before


def test_promotion_diff_is_minimal_and_comments_survive(flow: Flow) -> None:
    for digest in (WEB1, WEB2):
        flow.ok("publish", "web", "--to", "dev", "--digest", digest, "--image", "r/web")
        flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
        if digest == WEB1:
            flow.ok("promote", "web", "--to", "qa")
            qa = flow.work / "environments" / "qa.yaml"
            qa.write_text(qa.read_text().replace(f"digest: {WEB1}", f"digest: {WEB1}  # pinned"))
            commit_all(flow.work, "comment")
            git(flow.work, "push", "--quiet")
    flow.ok("promote", "web", "--to", "qa")
    diff = git(flow.work, "show", "--format=", "-U0", "HEAD")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    assert changed == [f"-    digest: {WEB1}  # pinned", f"+    digest: {WEB2}  # pinned"]


def test_dirty_worktree_is_refused(flow: Flow) -> None:
    (flow.work / "notes.txt").write_text("wip\n")
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    assert result.returncode == 4
    assert "the worktree has uncommitted changes (notes.txt)" in result.stderr
    assert "git stash --include-untracked" in result.stderr  # plain stash leaves notes.txt
    assert "promoter puts right by itself" in result.stderr  # never asks to commit it
    assert flow.state() == before


def test_unpushed_commits_are_refused(flow: Flow) -> None:
    (flow.work / "notes.txt").write_text("wip\n")
    commit_all(flow.work, "local work")
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    assert result.returncode == 4
    local = git(flow.work, "rev-parse", "--short", "HEAD").strip()
    # the commit is named (hash and subject), and the advice is in the singular
    assert f"main has 1 commit that origin/main does not have: {local} local work" in (
        result.stderr
    )
    assert "Push it (`git push`) if it is meant for origin/main" in result.stderr
    assert flow.state() == before


def test_unpushed_commits_are_listed_with_control_characters_escaped(flow: Flow) -> None:
    for i in range(7):
        (flow.work / "notes.txt").write_text(f"wip {i}\n")
        commit_all(flow.work, f"work \x1b[31m{i}")  # a subject a terminal would act on
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    assert result.returncode == 4
    assert "main has 7 commits that origin/main does not have:" in result.stderr
    assert "work \\x1b[31m6; " in result.stderr and "\x1b" not in result.stderr
    assert "and 2 more" in result.stderr and "Push them" in result.stderr
    assert flow.state() == before


def test_rejected_push_leaves_no_stray_commit(flow: Flow) -> None:
    hook = flow.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'denied by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    assert result.returncode == 4
    assert "denied by policy" in result.stderr and "nothing was left behind" in result.stderr
    assert flow.state() == before
    assert git(flow.work, "branch", "--list").strip() == "* main"


def test_push_race_is_fetched_replanned_and_retried(flow: Flow, tmp_path: Path) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    other = clone(flow.remote, tmp_path / "other")
    elsewhere = Flow(other, flow.remote, flow.runner)
    elsewhere.ok("publish", "api", "--to", "dev", "--digest", API1, "--image", "r/api")
    # flow's clone is now behind: its first push is rejected, then it fetches and retries
    result = flow.ok("publish", "web", "--to", "dev", "--digest", WEB2)
    assert "after 1 retry" in result.stdout
    dev = flow.text("dev")
    assert WEB2 in dev and API1 in dev
    assert flow.remote_log()[:2] == [
        "publish(web): dev sha256:b2b2b2b2",
        "publish(api): dev sha256:c3c3c3c3",
    ]


def test_sixteen_concurrent_writers_in_separate_clones_all_land(
    flow: Flow, tmp_path: Path, run: Runner
) -> None:
    # 12 apps, each published once, and 4 runs that publish an app another run publishes
    # too (the same digest): one of the two lands it, the other finds it done. Every run
    # exits 0, whatever the contention: retries are bounded in time, not in rounds.
    apps = [f"app{i}" for i in range(12)]
    runs = [*apps, "app0", "app3", "app6", "app9"]
    clones = [clone(flow.remote, tmp_path / f"c{i}") for i in range(len(runs))]
    procs = [
        subprocess.Popen(
            [
                "python",
                "-m",
                "promoter",
                "publish",
                app,
                "--to",
                "dev",
                "--digest",
                "sha256:" + f"{apps.index(app):02d}" * 32,
                "--image",
                f"r/{app}",
            ],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=promoter_env(tmp_path),
        )
        for app, work in zip(runs, clones, strict=True)
    ]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(runs), outputs
    git(flow.work, "pull", "--quiet")
    dev = flow.text("dev")
    assert all(f"  {app}:\n" in dev for app in apps)
    published = [s for s in flow.remote_log() if s.startswith("publish(")]
    assert sorted(published) == sorted(
        f"publish(app{i}): dev sha256:{f'{i:02d}' * 4}" for i in range(12)
    )  # each exactly once
    assert git(flow.remote, "rev-list", "--merges", "main").strip() == ""  # linear
    # Each repeat found its app done, or made the very same commit (same parent, tree,
    # message and second) and pushed what the remote already held: one commit either way.
    for app in ("app0", "app3", "app6", "app9"):
        said = [out for run, (out, _) in zip(runs, outputs, strict=True) if run == app]
        shas = {re.sub(r"(?s).*publish: ([0-9a-f]{12}) pushed.*", r"\1", out) for out in said}
        assert any("nothing to do" in out for out in said) or len(shas) == 1, said


def test_writers_sharing_one_working_copy_take_turns_and_never_report_work_undone(
    flow: Flow, tmp_path: Path
) -> None:
    # 8 runs in one working copy (6 apps, 2 of them twice) while 4 clones push too, so
    # that pushes from the shared copy lose races. Each run holds the copy's lock from
    # its first read to its last push or reset: none refuses another's commit or file,
    # and "nothing to do" is said only of a publication the remote holds.
    shared = [f"one{i}" for i in range(6)] + ["one0", "one1"]
    others = [f"two{i}" for i in range(4)]
    every = sorted({*shared, *others})
    apart = [clone(flow.remote, tmp_path / f"o{i}") for i in range(len(others))]

    def start(app: str, cwd: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["python", "-m", "promoter", "publish", app, "--to", "dev", "--digest",
             "sha256:" + f"{every.index(app):02d}" * 32, "--image", f"r/{app}"],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=promoter_env(tmp_path),
        )  # fmt: skip

    procs = [start(app, flow.work) for app in shared]
    procs += [start(app, work) for app, work in zip(others, apart, strict=True)]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(procs), outputs
    published = sorted(s for s in flow.remote_log() if s.startswith("publish("))
    assert published == sorted(
        f"publish({app}): dev sha256:{f'{every.index(app):02d}' * 4}" for app in every
    )  # every one landed, exactly once
    assert git(flow.remote, "rev-list", "--merges", "main").strip() == ""
    for app in ("one0", "one1"):  # a repeat finds its app done, or made the same commit
        said = [
            out for run, (out, _) in zip([*shared, *others], outputs, strict=True) if run == app
        ]
        shas = {re.sub(r"(?s).*publish: ([0-9a-f]{12}) pushed.*", r"\1", out) for out in said}
        assert any("nothing to do" in out for out in said) or len(shas) == 1, said
    assert git(flow.work, "status", "--porcelain").strip() == ""


def test_a_pull_request_environment_without_a_forge_is_an_error_and_writes_nothing(
    flow: Flow,
) -> None:
    pipeline = flow.work / "environments" / "pipeline.yaml"
    pipeline.write_text(
        pipeline.read_text().replace(
            "  qa:\n    from: dev\n", "  qa:\n    from: dev\n    promotion: pull-request\n"
        )
    )
    commit_all(flow.work, "qa takes pull requests")
    git(flow.work, "push", "--quiet")
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    before = flow.state()
    refused = flow("promote", "web", "--to", "qa")  # never committed to qa's branch directly
    assert refused.returncode == 5, refused.stdout + refused.stderr
    assert "no forge is known for this repository" in refused.stderr
    local = flow("promote", "web", "--to", "qa", "--no-push")
    assert local.returncode == 1 and "--no-push cannot open one" in local.stdout
    dry = flow.ok("promote", "web", "--to", "qa", "--dry-run")
    assert f"+    digest: {WEB1}" in dry.stdout
    assert flow.state() == before


def test_history_reads_the_trailers_back(flow: Flow) -> None:
    to_staging(flow)
    result = flow.ok("history", "--env", "staging", "-o", "json")
    check_output(json.loads(result.stdout), "History")
    events = json.loads(result.stdout)["events"]
    promote = next(e for e in events if e["kind"] == "promote" and e["environment"] == "staging")
    assert promote["from"] == ["qa", "perf"]
    assert promote["changes"] == [{"app": "web", "previous": None, "digest": WEB1}]
    assert {g["gate"]: g["status"] for g in promote["gates"]} == {"checks": "pass", "soak": "pass"}
    assert promote["actor"]["id"] == "test@example.com"
    assert promote["when"] == "2026-11-23T11:00:00+00:00"
    text = flow.ok("history", "--app", "web", "--limit", "2").stdout.splitlines()
    assert text[0].split()[:2] == ["WHEN", "KIND"] and len(text) == 3
    newest = flow.ok("history", "--limit", "1").stdout.splitlines()
    assert len(newest) == 2 and newest[1].split()[2:4] == ["promote", "qa,perf→staging"]


def test_unknown_app_is_a_usage_error(flow: Flow) -> None:
    result = flow("promote", "webb", "--to", "qa")
    assert result.returncode == 2
    assert "app 'webb' is in none of dev, qa" in result.stderr


def test_a_promotion_reads_only_its_environments(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    prod = flow.work / "environments" / "prod.yaml"
    prod.write_text("artifacts: [broken\n")
    commit_all(flow.work, "break prod")
    git(flow.work, "push", "--quiet")
    flow.ok("promote", "web", "--to", "qa")  # prod.yaml is not read for dev → qa
    broken = flow("promote", "web", "--to", "perf", "--dry-run")
    assert broken.returncode == 0
    assert flow("status").returncode == 3  # whole-repository commands still refuse


def rollbacks_of_dev_need_bob(flow: Flow) -> None:
    """Give dev rollback gates that ask for Bob's approval, pushed."""
    pipeline = flow.work / "environments" / "pipeline.yaml"
    pipeline.write_text(
        pipeline.read_text().replace(
            "  dev: {}\n",
            "  dev:\n    rollbackGates:\n      approvals: {required: 1, from: [bob@example.com]}\n",
        )
    )
    commit_all(flow.work, "rollbacks of dev need Bob")
    git(flow.work, "push", "--quiet")


def test_rollback_gates_see_approvals_of_the_old_digest(flow: Flow) -> None:
    rollbacks_of_dev_need_bob(flow)
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB2)
    blocked = flow("rollback", "web", "--env", "dev")
    assert blocked.returncode == 1
    assert f"promoter approve web --to dev --digest {WEB1}" in blocked.stdout
    flow.ok("approve", "web", "--to", "dev", "--digest", WEB1, actor=BOB)
    flow.ok("rollback", "web", "--env", "dev")
    assert WEB1 in flow.text("dev")


def test_a_rollback_needs_approvals_newer_than_its_digests_departure(flow: Flow) -> None:
    rollbacks_of_dev_need_bob(flow)
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("approve", "web", "--to", "dev", "--digest", WEB1, actor=BOB)  # its first arrival
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB2)
    before = flow.state()
    blocked = flow("rollback", "web", "--env", "dev")
    assert blocked.returncode == 1, blocked.stdout
    assert "not counted: bob@example.com (recorded before sha256:a1a1a1a1 left dev)" in (
        blocked.stdout
    )
    assert flow.state() == before
    again = flow.ok("approve", "web", "--to", "dev", "--digest", WEB1, actor=BOB)
    assert "nothing to do" not in again.stdout  # a new approval: of the return
    flow.ok("rollback", "web", "--env", "dev")
    assert WEB1 in flow.text("dev")


def test_no_upstream_is_refused_unless_no_push(flow: Flow) -> None:
    git(flow.work, "branch", "--unset-upstream")
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    assert result.returncode == 4
    assert "main has no upstream branch to push to" in result.stderr
    assert flow.state() == before
    local = flow.ok(
        "publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web", "--no-push"
    )
    assert "committed locally (no push)" in local.stdout


def test_a_shallow_clone_publishes_but_refuses_to_judge_history(flow: Flow, tmp_path: Path) -> None:
    to_staging(flow)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", flow.remote.as_uri(), str(shallow))
    for args in (
        ("promote", "web", "--to", "prod"),
        ("gates", "web", "--to", "prod"),
        ("rollback", "web", "--env", "staging"),
        ("history",),
        ("audit",),
    ):
        result = flow(*args, cwd=shallow)
        assert result.returncode == 4, (args, result.stdout, result.stderr)
        assert "shallow clone" in result.stderr and "fetch-depth: 0" in result.stderr
        assert "Traceback" not in result.stderr
    assert git(shallow, "status", "--porcelain") == ""
    # a build job's shallow checkout can still publish: missing history can only block it
    published = flow(
        "publish", "web", "--to", "dev", "--digest", WEB2, "--version", "2.0.0", cwd=shallow
    )
    assert published.returncode == 0, published.stderr
    assert flow.remote_log()[0] == "publish(web): dev sha256:b2b2b2b2 2.0.0"


def test_promoters_sharing_one_working_copy_take_turns(flow: Flow, tmp_path: Path) -> None:
    apps = [f"app{i}" for i in range(4)]
    procs = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "promoter", "publish", app, "--to", "dev"),
                *("--digest", "sha256:" + f"{i + 1:02d}" * 32, "--image", f"r/{app}"),
            ],
            cwd=flow.work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=promoter_env(tmp_path),
        )
        for i, app in enumerate(apps)
    ]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(apps), outputs
    published = [s for s in flow.remote_log() if s.startswith("publish(")]
    assert sorted(published) == sorted(
        f"publish({app}): dev sha256:{i + 1:02d}{i + 1:02d}{i + 1:02d}{i + 1:02d}"
        for i, app in enumerate(apps)
    )
    assert flow.head() == git(flow.remote, "rev-parse", "main").strip()
    assert git(flow.work, "status", "--porcelain") == ""
    assert all(f"sha256:{f'{i + 1:02d}' * 32}" in flow.text("dev") for i in range(4))
    # every commit changed what its trailers say, nothing else: the audit log is whole
    assert flow.ok("audit").stdout.strip() == "ok: every promotion and its gates proven from git"


def test_a_run_stopped_during_its_push_leaves_nothing_behind(flow: Flow, tmp_path: Path) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    started = tmp_path / "push-started"
    hook = flow.remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch '{started}'\nsleep 10\n")
    hook.chmod(0o755)
    before = flow.state()
    proc = subprocess.Popen(
        [sys.executable, "-m", "promoter", "promote", "web", "--to", "qa"],
        cwd=flow.work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=promoter_env(tmp_path),
    )
    for _ in range(600):  # wait (at most a minute) until the push is under way
        if started.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert started.exists(), proc.communicate()
    proc.send_signal(signal.SIGTERM)  # what `timeout` and a cancelled CI job send
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    hook.unlink()
    assert flow.head() == before[0] and git(flow.work, "status", "--porcelain") == ""
    # the next run does the promotion, instead of calling it done
    result = flow.ok("promote", "web", "--to", "qa")
    assert "pushed to origin/main" in result.stdout
    assert WEB1 in git(flow.remote, "show", "main:environments/qa.yaml")


def test_nothing_to_do_is_not_said_over_an_unpushed_promotion(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    flow.ok("promote", "web", "--to", "qa", "--no-push")
    result = flow("promote", "web", "--to", "qa")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "1 commit that origin/main does not have" in result.stderr
    assert (
        flow.ok("promote", "web", "--to", "qa", "--no-push")
        .stdout.strip()
        .endswith("nothing to do")
    )


@pytest.mark.parametrize(
    "args",
    [
        ("approve", "web", "--to", "prod", "--digest", "v1"),
        ("rollback", "web", "--env", "staging", "--to", "latest"),
        ("rollback", "web", "--env", "staging", "--to", "sha256:a1a1a1a1"),
        ("record", "dev", "web", "--check", "lint=passed", "--digest", "web:1.0.0"),
    ],
    ids=["approve-tag", "rollback-tag", "rollback-short-digest", "record-image-tag"],
)
def test_a_tag_or_short_digest_is_a_usage_error(flow: Flow, args: tuple[str, ...]) -> None:
    to_staging(flow)
    before = flow.state()
    result = flow(*args, actor=ALICE)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "digest" in result.stderr and "Traceback" not in result.stderr
    assert flow.state() == before


@pytest.mark.parametrize("args", [("--env", "nope"), ("--app", "nope")])
def test_history_filters_name_known_environments_and_apps(
    flow: Flow, args: tuple[str, ...]
) -> None:
    to_staging(flow)
    result = flow("history", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unknown" in result.stderr and "nope" in result.stderr
    known = flow.ok("history", "--env", "prod")  # known, with no events yet: empty, exit 0
    assert known.stdout.strip() == "no promoter events in this history"


def test_rollback_gates_that_take_anyone_take_any_approver(flow: Flow) -> None:
    pipeline = flow.work / "environments" / "pipeline.yaml"
    text = pipeline.read_text()
    pipeline.write_text(
        text.replace(
            "    hotfixGates:\n      approvals:\n        required: 1\n",
            "    rollbackGates:\n      approvals:\n        required: 1\n"
            "    hotfixGates:\n      approvals:\n        required: 1\n",
        )
    )
    assert pipeline.read_text() != text
    commit_all(flow.work, "prod rollbacks need one approval, from anyone")
    git(flow.work, "push", "--quiet")
    to_staging(flow)
    result = flow("approve", "web", "--to", "prod", actor="Carol <carol@example.com>")
    assert result.returncode == 0, result.stderr


def test_a_lock_that_cannot_be_taken_is_a_git_error(flow: Flow) -> None:
    (flow.work / ".git" / "promoter.lock").mkdir()  # in the way, as a read-only .git would be
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "cannot create the lock file" in result.stderr and "Traceback" not in result.stderr
    assert flow.state() == before


def test_a_write_on_top_of_a_commit_from_the_future_is_refused(flow: Flow) -> None:
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    (flow.work / "notes.txt").write_text("from a machine whose clock runs ahead\n")
    commit_all(flow.work, "notes", at=tomorrow)
    git(flow.work, "push", "--quiet")
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "after this machine's clock" in result.stderr and "NTP" in result.stderr
    assert flow.state() == before


def test_a_rollback_quarantines_the_digest_it_took_out(flow: Flow) -> None:
    for digest in (WEB1, WEB2):
        flow.ok("publish", "web", "--to", "dev", "--digest", digest, "--image", "r/web")
        flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
        flow.ok("promote", "web", "--to", "qa")
    flow.ok("rollback", "web", "--env", "qa")  # qa back on WEB1; dev still runs WEB2
    rollback = flow.head()
    status = flow.ok("status", "--env", "qa", "--app", "web")
    assert "!a1a1a1a1" in status.stdout and "1 rolled back" in status.stdout
    assert f"was rolled back out of qa in {rollback[:12]}" in status.stdout
    document = json.loads(flow.ok("status", "-o", "json").stdout)
    check_output(document, "StatusReport")
    assert document["apps"][0]["environments"]["qa"]["state"] == "rolled-back"
    assert [(r["app"], r["environment"], r["commit"]) for r in document["rolledBack"]] == [
        ("web", "qa", rollback)
    ]
    assert not any(p["environment"] == "qa" for p in document["pending"])
    before = flow.state()
    # the "promote when the gates pass" job does not bring it back...
    train = flow("promote", "--all", "--to", "qa")
    assert "web: left out (sha256:b2b2b2b2 was rolled back out of qa" in train.stdout
    assert flow.state() == before
    single = flow("promote", "web", "--to", "qa")
    assert single.returncode == 1 and "was rolled back out of qa" in single.stdout
    assert flow.state() == before
    gates = flow("gates", "web", "--to", "qa")
    assert gates.returncode == 1
    assert "(`promoter record dev web --check unit-tests=passed`)" in gates.stdout
    # ...until fresh evidence is recorded for it
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    assert "*a1a1a1a1" in flow.ok("status", "--env", "qa", "--app", "web").stdout
    flow.ok("promote", "--all", "--to", "qa")
    assert WEB2 in flow.text("qa")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--source-revision", "main"), "--source-revision 'main'"),
        (("--source-revision", "v1.2.3"), "--source-revision 'v1.2.3'"),
        (("--version", ""), "--version ''"),
        (("--version", "1.0\nPromoter-Kind: approve"), "--version '1.0\\nPromoter-Kind"),
        (("--source-repo", "https://example.com/my repo"), "--source-repo 'https://example"),
        (("--image", "registry.example.com/Shop/Web"), "image 'registry.example.com/Shop/Web'"),
    ],
    ids=["branch", "tag", "empty-version", "version-newline", "url-space", "image-uppercase"],
)
def test_a_write_that_would_leave_the_repository_invalid_is_refused(
    flow: Flow, options: tuple[str, str], named: str
) -> None:
    before = flow.state()
    result = flow("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web", *options)
    assert result.returncode in (1, 2), result.stdout + result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr
    assert "Nothing was written" in result.stderr or result.returncode == 2
    assert flow.state() == before
    assert flow.ok("validate").returncode == 0  # and everybody else can go on working
    dry = flow("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web", "--dry-run",
               *options)  # fmt: skip
    assert (dry.returncode, dry.stderr) == (result.returncode, result.stderr)  # predicted
    assert "+++" not in dry.stdout


@pytest.mark.parametrize(
    "url", ["https://ci.example.com/runs/1 and more", "https://ci/1\nPromoter-Kind: approve"]
)
def test_a_trailer_that_would_not_read_back_is_refused(flow: Flow, url: str) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    before = flow.state()
    result = flow("record", "dev", "web", "--check", "unit-tests=passed", "--url", url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "--url" in result.stderr and "Nothing was written" in result.stderr
    assert flow.state() == before


@pytest.mark.parametrize("ending", ["\n", ""], ids=["final-newline", "no-final-newline"])
def test_the_dry_run_diff_is_a_patch_git_applies(flow: Flow, ending: str) -> None:
    dev = flow.work / "environments" / "dev.yaml"
    dev.write_text(dev.read_text().rstrip("\n").replace("# dev only", "# dev only\r") + ending)
    commit_all(flow.work, "dev.yaml as a person saved it")
    git(flow.work, "push", "--quiet")
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    dry = flow.ok("publish", "web", "--to", "dev", "--digest", WEB2, "--dry-run", "-o", "json")
    patch = json.loads(dry.stdout)["diff"]
    assert patch.startswith("--- a/environments/dev.yaml\n+++ b/environments/dev.yaml\n@@ ")
    (flow.work / "change.patch").write_text(patch)
    git(flow.work, "apply", "--check", "change.patch")
    git(flow.work, "apply", "change.patch")
    (flow.work / "change.patch").unlink()
    applied = dev.read_bytes()
    git(flow.work, "checkout", "--", "environments/dev.yaml")
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB2)
    assert dev.read_bytes() == applied  # the patch is exactly what the real run writes


def test_json_output_reports_refusals_and_errors_as_documents(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    refused = flow("promote", "web", "--to", "qa", "-o", "json")  # unit-tests not recorded
    assert refused.returncode == 1
    document = json.loads(refused.stdout)
    check_output(document, "PromotionResult")
    assert document["ready"] is False and document["moves"][0]["status"] == "pending"
    pipeline = flow.work / "environments" / "pipeline.yaml"
    pipeline.write_text(
        pipeline.read_text().replace(
            "  perf:\n    from: dev\n", "  perf:\n    from: dev\n    promotion: pull-request\n"
        )
    )
    commit_all(flow.work, "perf takes pull requests")
    git(flow.work, "push", "--quiet")
    pull = flow("promote", "web", "--to", "perf", "--no-push", "-o", "json")
    assert pull.returncode == 1
    document = json.loads(pull.stdout)
    check_output(document, "PromotionResult")
    assert "takes changes through pull requests" in document["refusals"][0]["reason"]
    forge = flow("promote", "web", "--to", "perf", "-o", "json")  # no forge for a local remote
    assert forge.returncode == 5
    error = json.loads(forge.stdout)
    check_output(error, "Error")
    assert error["exitCode"] == 5 and error["error"] == "ForgeError"
    for args, code in (
        (("promote", "web", "--to", "nowhere", "-o", "json"), 2),
        (("record", "nowhere", "web", "--check", "x=passed", "-o", "json"), 2),
        (("promote", "web", "--to", "qa", "-o", "json"), 2),
    ):
        env = {"PROMOTER_NOW": MONDAY} if args[-3:] == ("qa", "-o", "json") else {}
        failed = flow(*args, env=env)
        assert failed.returncode == code, failed.stdout + failed.stderr
        error = json.loads(failed.stdout)
        check_output(error, "Error")
        assert error["exitCode"] == code and error["message"]
        assert failed.stderr.startswith("error: ")
    # refused by click while it reads the command line, before -o itself is read
    for args in (
        ("publish", "web", "--to", "dev", "--digest", "latest", "-o", "json"),
        ("promote", "web", "--output=json"),
        ("status", "--bogus", "-ojson"),
    ):
        failed = flow(*args)
        assert failed.returncode == 2, failed.stdout + failed.stderr
        error = json.loads(failed.stdout)
        check_output(error, "Error")
        assert error["error"] == "UsageError" and error["exitCode"] == 2
        assert error["message"] in failed.stderr
    assert flow("status", "--bogus").stdout == ""  # text output: stderr only, as before


def test_recording_a_check_no_gate_asks_for_warns_and_a_typo_is_refused(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    before = flow.state()
    typo = flow("record", "dev", "web", "--check", "unit-test=passed")
    assert typo.returncode == 1
    assert "did you mean 'unit-tests' (asked for by qa)?" in typo.stderr
    swapped = flow("record", "dev", "web", "--check", "unti-tests=passed")
    assert swapped.returncode == 1 and "did you mean 'unit-tests'" in swapped.stderr
    assert flow.state() == before
    other = flow.ok("record", "dev", "web", "--check", "smoke=passed")
    assert other.stderr.startswith("warning: no gate asks for a check 'smoke' from dev")
    assert "ask for: unit-tests" in other.stderr
    quiet = flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    assert quiet.stderr == ""


def test_digests_as_skopeo_prints_them_and_unique_prefixes(flow: Flow) -> None:
    image = "registry.example.com/shop/web"
    flow.ok("publish", "web", "--to", "dev", "--digest", f"{image}@{WEB1}")
    assert f"    image: {image}\n    digest: {WEB1}\n" in flow.text("dev")
    other = flow(
        "publish", "web", "--to", "dev", "--digest", f"registry.example.com/shop/api@{WEB2}"
    )
    assert (
        other.returncode == 2
        and "but web is built as registry.example.com/shop/web" in other.stderr
    )
    prefix = flow("publish", "web", "--to", "dev", "--digest", "b2b2b2b2b2b2")
    assert prefix.returncode == 2  # a new build is named in full
    assert "shortened digest of 12 hex digits" in prefix.stderr and "tag" not in prefix.stderr
    bare = flow("publish", "web", "--to", "dev", "--digest", WEB2.removeprefix("sha256:"))
    assert bare.returncode == 2 and f"write {WEB2}" in bare.stderr
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB2)
    # a prefix of 12+ hex digits names one digest the environment ran
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed", "--digest", "a1a1a1a1a1a1")
    assert f"Promoter-Digest: {WEB1}" in git(flow.work, "log", "-1", "--format=%B")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed", "--digest", f"{image}@{WEB1}")
    dry = flow.ok("rollback", "web", "--env", "dev", "--to", "sha256:a1a1a1a1a1a1a1", "--dry-run")
    assert f"+    digest: {WEB1}" in dry.stdout
    unknown = flow("rollback", "web", "--env", "dev", "--to", "c3c3c3c3c3c3")
    assert unknown.returncode == 2 and "no digest dev ran for web starts with" in unknown.stderr
    short = flow("rollback", "web", "--env", "dev", "--to", "a1a1a1a1")
    assert short.returncode == 2 and "a shortened digest of 8 hex digits" in short.stderr
    assert "name at least 12" in short.stderr and "mutable tag" not in short.stderr
    # IMAGE:TAG@DIGEST, as registries and `docker buildx imagetools` print it
    flow.ok(
        "record", "dev", "web", "--check", "unit-tests=passed", "--digest", f"{image}:1.0@{WEB1}"
    )
    twin = "sha256:" + "a1" * 6 + "ee" * 26
    flow.ok("publish", "web", "--to", "dev", "--digest", twin)
    both = flow("rollback", "web", "--env", "dev", "--to", "a1a1a1a1a1a1")
    assert both.returncode == 2 and "names 2 digests" in both.stderr


@pytest.mark.parametrize(
    ("args", "meant"),
    [
        (("gates", "web", "--to", "stagin"), "staging"),
        (("promote", "web", "--to", "prdo"), "prod"),
        (("rollback", "web", "--env", "prdo", "--to", "a1a1a1a1a1a1"), "prod"),
        (("status", "--env", "qaa"), "qa"),
        (("history", "--env", "pref"), "perf"),
        (("record", "dev", "wbe", "--check", "unit-tests=passed"), "web"),
    ],
)
def test_a_name_one_typo_off_is_met_with_did_you_mean(
    flow: Flow, args: tuple[str, ...], meant: str
) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    before = flow.state()
    result = flow(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"did you mean {meant!r}?" in result.stderr
    assert flow.state() == before
