"""Identities bound to signatures: whose approvals and check results count, and why not.

Real SSH keys (tests/signing.py) and git's own verification. prod in the flow pipeline is
protected: its evidence counts only when signed by the identity it claims.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import CASES, Runner
from tests.gitutil import commit_all, git, remote_with_clone
from tests.signing import as_signer
from tests.test_promote import ALICE, BOB, WEB1, Flow, at_hour, to_staging


@pytest.fixture
def flow(tmp_path: Path, run: Runner) -> Flow:
    work, remote = remote_with_clone(tmp_path, CASES / "flow")
    return Flow(work, remote, run)


def keys() -> Path:
    return Path(os.environ["GIT_CONFIG_GLOBAL"]).parent / "keys"


def ready_for_prod(flow: Flow) -> None:
    """web in staging with prod's checks and soak met: only approvals are missing."""
    to_staging(flow)
    flow.ok("record", "staging", "web", "--check", "regression=passed", at=at_hour(12))


def prod_gates(flow: Flow, actor: str = BOB) -> dict[str, dict[str, str]]:
    result = flow("gates", "web", "--to", "prod", "-o", "json", actor=actor)
    return {g["gate"]: g for g in json.loads(result.stdout)["moves"][0]["gates"]}


def forge(flow: Flow, message: str, *, signer: str | None = None) -> str:
    """A commit written by hand (not by promoter), signed with ``signer``'s key if given."""
    env = as_signer(keys(), signer) if signer else {}
    sign = ["--gpg-sign"] if signer else ["--no-gpg-sign"]
    git(flow.work, "commit", "--quiet", "--allow-empty", *sign, "-m", message, env=env)
    git(flow.work, "push", "--quiet")
    return git(flow.work, "rev-parse", "HEAD").strip()


def approval(who: str) -> str:
    return (
        f"approve(web): prod for sha256:a1a1a1a1\n\nPromoter-Kind: approve\nPromoter-To: prod\n"
        f"Promoter-App: web\nPromoter-Digest: {WEB1}\nPromoter-Actor: {who}\n"
    )


def test_an_approval_signed_by_someone_else_is_refused_and_writes_nothing(flow: Flow) -> None:
    ready_for_prod(flow)
    before = flow.state()
    for signer, why in (
        ("test@example.com", "signed by test@example.com, not alice@example.com"),
        ("eve@example.com", "signed with an unknown key"),
    ):
        result = flow("approve", "web", "--to", "prod", actor=ALICE, signer=signer)
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"would not count in prod: its commit would be {why}" in result.stderr
        assert "PROMOTER_ACTOR" not in result.stderr and "user.email" not in result.stderr
        assert flow.state() == before
    # claiming Alice through git's user.email is the same claim, and refused the same way
    as_alice = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "user.email",
        "GIT_CONFIG_VALUE_0": "alice@example.com",
    }
    result = flow("approve", "web", "--to", "prod", env=as_alice)
    assert result.returncode == 1
    assert "signed by test@example.com, not alice@example.com" in result.stderr
    assert flow.state() == before
    # Alice herself, with her own key: it counts
    flow.ok("approve", "web", "--to", "prod", actor=ALICE)
    assert git(flow.work, "log", "-1", "--format=%G? %GS").strip() == "G alice@example.com"
    assert prod_gates(flow)["approvals"]["status"] == "pass"


def test_hand_written_approvals_do_not_count_and_gates_say_why(flow: Flow) -> None:
    ready_for_prod(flow)
    forge(flow, approval(ALICE))  # unsigned
    forge(flow, approval(ALICE), signer="bob@example.com")  # Bob's key, Alice's name
    forge(flow, approval(ALICE), signer="eve@example.com")  # a key nobody vouches for
    gate = prod_gates(flow)["approvals"]
    assert gate["status"] == "pending"
    assert gate["reason"].startswith("0 of 1 (none); not counted: alice@example.com (")
    refused = flow("promote", "web", "--to", "prod", actor=BOB)
    assert refused.returncode == 1
    # each forgery on its own: the newest decides what gates show for Alice
    for signer, why in (
        (None, "unsigned"),
        ("bob@example.com", "signed by bob@example.com, not alice@example.com"),
        ("eve@example.com", "signed with an unknown key"),
    ):
        forge(flow, approval(ALICE), signer=signer)
        assert f"alice@example.com ({why})" in prod_gates(flow)["approvals"]["reason"]


def test_check_results_for_a_protected_environment_must_be_signed(flow: Flow) -> None:
    to_staging(flow)
    record = (
        "record(web): regression passed in staging for sha256:a1a1a1a1\n\n"
        "Promoter-Kind: record\nPromoter-Env: staging\nPromoter-App: web\n"
        f"Promoter-Digest: {WEB1}\nPromoter-Check: regression=passed\n"
        "Promoter-Actor: CI <ci@example.com>\n"
    )
    forge(flow, record)
    checks = prod_gates(flow)["checks"]
    assert checks["status"] == "pending"
    assert "not counted: regression in staging by ci@example.com (unsigned)" in checks["reason"]
    forge(flow, record, signer="ci@example.com")
    assert prod_gates(flow)["checks"]["status"] == "pass"
    # the same record in an unprotected environment's sources counts unsigned
    flow.ok("publish", "web", "--to", "dev", "--digest", "sha256:" + "b2" * 32)
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    assert git(flow.work, "log", "-1", "--format=%G?").strip() == "N"
    assert flow("gates", "web", "--to", "qa").returncode == 0


def test_signed_evidence_everywhere_when_the_pipeline_asks(flow: Flow) -> None:
    pipeline = flow.work / "environments" / "pipeline.yaml"
    pipeline.write_text(
        pipeline.read_text().replace(
            "kind: Pipeline\n", "kind: Pipeline\ntrust:\n  signedEvidence: all\n"
        )
    )
    commit_all(flow.work, "sign all evidence")
    git(flow.work, "push", "--quiet")
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    forge(
        flow,
        "record(web): forged\n\nPromoter-Kind: record\nPromoter-Env: dev\nPromoter-App: web\n"
        f"Promoter-Digest: {WEB1}\nPromoter-Check: unit-tests=passed\n"
        "Promoter-Actor: Test User <test@example.com>\n",
    )
    pending = flow("gates", "web", "--to", "qa")
    assert pending.returncode == 1 and "(unsigned)" in pending.stdout
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")  # promoter signs it
    assert git(flow.work, "log", "-1", "--format=%G? %GS").strip() == "G test@example.com"
    assert flow("gates", "web", "--to", "qa").returncode == 0


def test_people_tie_a_ci_login_to_an_email_and_a_signing_key(flow: Flow) -> None:
    pipeline = flow.work / "environments" / "pipeline.yaml"
    text = pipeline.read_text()
    pipeline.write_text(
        text.replace(
            "kind: Pipeline\n",
            "kind: Pipeline\npeople:\n  alice:\n    email: alice@example.com\n"
            "    github: alice-gh\n",
        ).replace("from: [alice@example.com, bob@example.com]", "from: [alice, bob@example.com]")
    )
    commit_all(flow.work, "people", at=at_hour(9))
    git(flow.work, "push", "--quiet")
    ready_for_prod(flow)
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTOR": "alice-gh",
        "GITHUB_REPOSITORY": "example/gitops",
        "GITHUB_RUN_ID": "7",
    }
    flow.ok("approve", "web", "--to", "prod", env=github, signer="alice@example.com")
    body = git(flow.work, "log", "-1", "--format=%B")
    assert "Promoter-Actor: alice-gh <alice-gh>" in body
    gate = prod_gates(flow)["approvals"]
    assert gate["status"] == "pass" and "alice-gh" in gate["reason"]
    # her email is the same person: four eyes holds across identities
    own = flow("gates", "web", "--to", "prod", actor=ALICE)
    assert own.returncode == 1 and "approvals 0 of 1" in own.stdout


def test_a_second_approval_by_the_same_person_is_nothing_to_do(flow: Flow) -> None:
    ready_for_prod(flow)
    flow.ok("approve", "web", "--to", "prod", actor=ALICE)
    before = flow.state()
    again = flow.ok("approve", "web", "--to", "prod", actor=ALICE)
    assert again.stdout.strip().endswith("nothing to do")
    assert flow.state() == before
    pending = prod_gates(flow, actor="Dave <dave@example.com>")["approvals"]
    assert pending["status"] == "pass"
