"""`promoter audit` and `adopt`: lineage from git alone, manual patching, signatures."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CASES, Runner, check_output
from tests.gitutil import commit_all, dated, git, remote_with_clone
from tests.test_promote import ALICE, BOB, MONDAY, WEB1, WEB2, Flow, at_hour, to_staging


@pytest.fixture
def flow(tmp_path: Path, run: Runner) -> Flow:
    work, remote = remote_with_clone(tmp_path, CASES / "flow")
    return Flow(work, remote, run)


def audit_json(flow: Flow, *args: str) -> tuple[int, list[dict[str, object]]]:
    result = flow("audit", "-o", "json", *args)
    document = json.loads(result.stdout)
    check_output(document, "AuditReport")
    return result.returncode, document["findings"]


def test_clean_history_passes(flow: Flow) -> None:
    to_staging(flow)
    result = flow.ok("audit")
    assert result.stdout.strip() == "ok: every promotion and its gates proven from git"


def test_a_digest_edited_by_hand_is_manual_patching(flow: Flow) -> None:
    to_staging(flow)
    qa = flow.work / "environments" / "qa.yaml"
    qa.write_text(qa.read_text().replace(WEB1, WEB2))
    git(flow.work, "add", ".")
    git(
        flow.work,
        "-c",
        "user.name=Mallory",
        "-c",
        "user.email=mallory@example.com",
        "commit",
        "-qm",
        "quick fix in qa",
    )
    sha = git(flow.work, "rev-parse", "HEAD").strip()
    code, findings = audit_json(flow)
    assert code == 1
    manual = [f for f in findings if f["code"] == "manual-change"]
    assert len(manual) == 1
    assert manual[0]["sha"] == sha
    assert manual[0]["author"] == "Mallory <mallory@example.com>"
    assert manual[0]["when"] is not None
    assert "quick fix in qa" in str(manual[0]["message"])
    lineage = [f for f in findings if f["code"] == "no-lineage"]
    assert [(f["environment"], f["app"]) for f in lineage] == [("qa", "web")]


def test_adopt_accepts_the_history_before_it(flow: Flow) -> None:
    dev = flow.work / "environments" / "dev.yaml"
    dev.write_text(
        dev.read_text().replace(
            "artifacts: {}", f"artifacts:\n  web:\n    image: r/web\n    digest: {WEB1}"
        )
    )
    commit_all(flow.work, "state from before promoter")
    git(flow.work, "push", "--quiet")
    assert audit_json(flow)[0] == 1
    result = flow.ok("adopt")
    assert "adopted 1 pinned digests as the baseline" in result.stdout
    assert audit_json(flow) == (0, [])
    # the baseline counts as an arrival: the adopted digest can move on
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    flow.ok("promote", "web", "--to", "qa")


def test_forged_trailers_that_skip_an_environment_are_caught(flow: Flow) -> None:
    to_staging(flow)
    prod = flow.work / "environments" / "prod.yaml"
    prod.write_text(
        prod.read_text().replace(
            "artifacts: {}",
            f"artifacts:\n  web:\n    image: registry.example.com/shop/web\n    digest: {WEB1}",
        )
    )
    git(flow.work, "add", ".")
    message = (
        f"promote(web): qa → prod\n\nPromoter-Kind: promote\nPromoter-From: qa\n"
        f"Promoter-To: prod\nPromoter-Change: web none -> {WEB1}\n"
    )
    git(flow.work, "commit", "-qm", message)
    sha = git(flow.work, "rev-parse", "HEAD").strip()
    code, findings = audit_json(flow)
    assert code == 1
    mine = {(f["code"], f.get("gate")) for f in findings if f["sha"] == sha}
    assert mine == {
        ("skipped-environment", None),
        ("ungated-promotion", "checks"),
        ("ungated-promotion", "approvals"),
        ("trailer-mismatch", None),  # it left out the version and source qa ran
    }
    skipped = next(f for f in findings if f["code"] == "skipped-environment")
    assert "promoted from qa, which is not a source of prod (staging)" in str(skipped["message"])


def _hand_commit(flow: Flow, message: str, **edits: tuple[str, str]) -> str:
    """Edit environment files by hand (env=(old, new)) and commit them with ``message``."""
    for env, (old, new) in edits.items():
        path = flow.work / "environments" / f"{env}.yaml"
        path.write_text(path.read_text().replace(old, new))
    git(flow.work, "add", ".")
    git(flow.work, "commit", "-qm", message)
    return git(flow.work, "rev-parse", "HEAD").strip()


def test_trailers_that_disagree_with_the_diff_are_caught(flow: Flow) -> None:
    to_staging(flow)
    trailers = (
        "promote(web): dev → qa\n\nPromoter-Kind: promote\nPromoter-From: dev\n"
        "Promoter-To: qa\nPromoter-Change: web {old} -> {new}\n"
    )
    # the trailers say what the diff does: no mismatch (lineage is another matter)
    honest = _hand_commit(flow, trailers.format(old=WEB1, new=WEB2), qa=(WEB1, WEB2))
    _, findings = audit_json(flow)
    assert not [f for f in findings if f["code"] == "trailer-mismatch"]
    assert {f["environment"] for f in findings if f["code"] == "no-lineage"} == {"qa"}
    assert any(f["sha"] == honest for f in findings if f["code"] == "no-lineage")
    # another environment changed that the trailers do not name
    hidden = _hand_commit(
        flow, trailers.format(old=WEB2, new=WEB1), qa=(WEB2, WEB1), perf=(WEB1, WEB2)
    )
    # a digest other than the one the trailers declare
    other = "sha256:" + "d4" * 32
    lying = _hand_commit(flow, trailers.format(old=WEB1, new=WEB2), qa=(WEB1, other))
    _, findings = audit_json(flow)
    mismatches = {f["sha"]: f["message"] for f in findings if f["code"] == "trailer-mismatch"}
    assert "changed web in perf, which its trailers do not declare" in mismatches[hidden]
    assert "it pinned sha256:d4d4d4d4, not sha256:b2b2b2b2" in mismatches[lying]


def _ssh_signing(work: Path, tmp_path: Path) -> None:
    key = tmp_path / "signing"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(key)], check=True
    )
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"test@example.com {(tmp_path / 'signing.pub').read_text()}")
    for name, value in (
        ("gpg.format", "ssh"),
        ("user.signingkey", str(key)),
        ("commit.gpgsign", "true"),
        ("gpg.ssh.allowedSignersFile", str(signers)),
    ):
        git(work, "config", name, value)


def test_promotion_commits_are_signed_when_git_signs(flow: Flow, tmp_path: Path) -> None:
    _ssh_signing(flow.work, tmp_path)
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    assert git(flow.work, "log", "-1", "--format=%G?").strip() == "G"
    assert flow("audit", "--require-signed").returncode == 0
    git(
        flow.work,
        "commit",
        "--quiet",
        "--allow-empty",
        "--no-gpg-sign",
        "-m",
        "record(web): forged\n\nPromoter-Kind: record\nPromoter-Env: dev\nPromoter-App: web\n"
        f"Promoter-Digest: {WEB1}\nPromoter-Check: unit-tests=passed\n",
    )
    code, findings = audit_json(flow, "--require-signed")
    assert code == 1
    assert [f["code"] for f in findings] == ["unsigned"]
    assert flow("audit").returncode == 0  # without --require-signed, a signature is optional


def test_a_rollback_in_the_source_keeps_earlier_lineage(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")
    flow.ok("promote", "web", "--to", "qa")
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB2)
    flow.ok("rollback", "web", "--env", "dev")
    assert audit_json(flow) == (0, [])


def test_adopt_is_refused_once_the_repository_adopted(flow: Flow) -> None:
    flow.ok("adopt", at=at_hour(8))
    qa = flow.work / "environments" / "qa.yaml"
    to_staging(flow)
    qa.write_text(qa.read_text().replace(WEB1, WEB2))  # a hand edit...
    commit_all(flow.work, "quick fix in qa")
    git(flow.work, "push", "--quiet")
    before = flow.head()
    result = flow("adopt")  # ...that a second baseline would launder
    assert result.returncode == 1, result.stdout + result.stderr
    assert "adopted promoter already" in result.stderr
    assert flow.head() == before
    assert audit_json(flow)[0] == 1  # still found


WEB_IN_PROD = (
    "artifacts:\n  web:\n    image: registry.example.com/shop/web\n"
    f"    digest: {WEB1}\n    version: 1.0.0\n"
)


def forge_promotion_to_prod(flow: Flow, at: str | None = None) -> str:
    """A promotion of web into prod written by hand: a correct diff, promoter's trailers,
    gate results that claim every gate passed."""
    prod = flow.work / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("artifacts: {}\n", WEB_IN_PROD))
    message = (
        "promote(web): staging → prod sha256:a1a1a1a1\n\n"
        "Promoter-Kind: promote\nPromoter-From: staging\nPromoter-To: prod\n"
        f"Promoter-App: web\nPromoter-Change: web none -> {WEB1}\n"
        "Promoter-Gate: web checks pass: regression passed in staging\n"
        "Promoter-Gate: web soak pass: 2d in staging (needs 1d)\n"
        "Promoter-Gate: web approvals pass: 1 of 1 (alice@example.com)\n"
        "Promoter-Gate: web window pass: open now\n"
        "Promoter-Actor: Bob <bob@example.com>\n"
    )
    return commit_all(flow.work, message, at=at)


def ungated(flow: Flow, sha: str) -> set[str]:
    _, findings = audit_json(flow)
    return {
        str(f["gate"]) for f in findings if f["code"] == "ungated-promotion" and f["sha"] == sha
    }


def test_a_forged_promotion_that_skipped_checks_is_ungated(flow: Flow) -> None:
    to_staging(flow)
    flow.ok("approve", "web", "--to", "prod", actor=ALICE, at=at_hour(12))
    assert ungated(flow, forge_promotion_to_prod(flow)) == {"checks"}


def test_a_forged_promotion_that_skipped_approvals_is_ungated(flow: Flow) -> None:
    to_staging(flow)
    flow.ok("record", "staging", "web", "--check", "regression=passed", at=at_hour(12))
    assert ungated(flow, forge_promotion_to_prod(flow)) == {"approvals"}


def test_a_forged_promotion_that_skipped_soak_is_ungated(flow: Flow) -> None:
    to_staging(flow, staging_now=True)  # prod's 24h of soak start now
    flow.ok("record", "staging", "web", "--check", "regression=passed")
    flow.ok("approve", "web", "--to", "prod", actor=ALICE)
    assert ungated(flow, forge_promotion_to_prod(flow)) == {"soak"}


def test_a_forged_promotion_dated_in_the_future_buys_no_soak(flow: Flow) -> None:
    to_staging(flow, staging_now=True)  # prod's 24h of soak start now
    flow.ok("record", "staging", "web", "--check", "regression=passed")
    flow.ok("approve", "web", "--to", "prod", actor=ALICE)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat(timespec="seconds")
    sha = forge_promotion_to_prod(flow, at=future)  # at its own date, 2d of soak
    _, findings = audit_json(flow)
    assert ("future-date", sha) in {(f["code"], f["sha"]) for f in findings}
    assert ungated(flow, sha) == {"soak"}
    # the next commit, made now, bounds when the forged one can have been made
    (flow.work / "notes.txt").write_text("later\n")
    later = commit_all(flow.work, "notes")
    _, findings = audit_json(flow)
    assert [f["sha"] for f in findings if f["code"] == "date-backwards"] == [later]
    assert ungated(flow, sha) == {"soak"}


def test_a_forged_promotion_in_a_freeze_is_ungated(flow: Flow) -> None:
    to_staging(flow)
    flow.ok("record", "staging", "web", "--check", "regression=passed", at=at_hour(12))
    flow.ok("approve", "web", "--to", "prod", actor=ALICE, at=at_hour(13))
    pipeline = flow.work / "environments" / "pipeline.yaml"
    pipeline.write_text(
        pipeline.read_text().replace(
            'end: "2026-11-27", reason: Black Friday', 'end: "2999-01-01", reason: Long freeze'
        )
    )
    commit_all(flow.work, "freeze prod")
    assert ungated(flow, forge_promotion_to_prod(flow)) == {"window"}


def test_a_promotion_promoter_made_passes_and_its_trailers_agree(flow: Flow) -> None:
    to_staging(flow)
    flow.ok("record", "staging", "web", "--check", "regression=passed", at=at_hour(12))
    flow.ok("approve", "web", "--to", "prod", actor=ALICE, at=at_hour(13))
    flow.ok("promote", "web", "--to", "prod", actor=BOB)
    assert audit_json(flow) == (0, [])


def test_a_hand_edit_of_a_protected_environments_config_is_found(flow: Flow) -> None:
    prod = flow.work / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("replicas: 1", "replicas: 30"))
    assert "replicas: 30" in prod.read_text()
    sha = commit_all(flow.work, "scale prod")
    staging = flow.work / "environments" / "staging.yaml"
    staging.write_text(staging.read_text().replace("replicas: 1", "replicas: 2"))
    commit_all(flow.work, "scale staging")  # not protected: its own configuration
    code, findings = audit_json(flow)
    assert code == 1
    assert [(f["code"], f["sha"], f["environment"]) for f in findings] == [
        ("protected-change", sha, "prod")
    ]


def test_dates_that_run_backwards_are_found(flow: Flow) -> None:
    to_staging(flow)
    (flow.work / "notes.txt").write_text("later\n")
    later = commit_all(flow.work, "notes", at=at_hour(15))
    (flow.work / "notes.txt").write_text("earlier?\n")
    earlier = commit_all(flow.work, "notes again", at=at_hour(14))
    code, findings = audit_json(flow)
    assert code == 1
    backwards = [f for f in findings if f["code"] == "date-backwards"]
    assert [f["sha"] for f in backwards] == [earlier]
    assert later[:12] in str(backwards[0]["message"])


def test_a_policy_that_weakens_a_protected_environment_is_found_and_in_history(
    flow: Flow,
) -> None:
    pipeline = flow.work / "environments" / "pipeline.yaml"
    text = pipeline.read_text()
    weaker = text.replace(
        "      approvals:\n        required: 1\n"
        "        from: [alice@example.com, bob@example.com]\n      window:",
        "      window:",
    ).replace("      soak: 24h\n", "      soak: 1h\n")
    assert weaker.count("approvals") == text.count("approvals") - 1
    pipeline.write_text(weaker)
    sha = commit_all(flow.work, "prod: no approvals, shorter soak")
    staging = text.replace("      soak: 1h\n    hotfixGates:", "      soak: 2h\n    hotfixGates:")
    code, findings = audit_json(flow)
    assert code == 1
    weakened = sorted(str(f["message"]).rpartition(": ")[2] for f in findings)
    assert weakened == ["prod approvals 1 → 0", "prod soak 1d → 1h"]
    assert all(f["code"] == "policy-weakened" and f["sha"] == sha for f in findings)
    history = flow.ok("history", "--env", "prod")
    assert "policy" in history.stdout and "prod approvals 1 → 0 (weaker)" in history.stdout
    events = json.loads(flow.ok("history", "-o", "json").stdout)["events"]
    check_output({"apiVersion": "promoter/v1", "kind": "History", "events": events}, "History")
    policy = next(e for e in events if e["kind"] == "policy")
    assert (
        policy["sha"] == sha
        and {"environment": "prod", "change": "prod soak 1d → 1h", "weakens": True}
        in policy["policy"]
    )
    # a stricter staging is history too, and weakens nothing
    pipeline.write_text(staging.replace("      soak: 24h\n", "      soak: 24h\n"))
    commit_all(flow.work, "staging soaks longer")
    assert "staging soak 1h → 2h" in flow.ok("history").stdout


def test_a_commit_that_only_adds_a_digest_line_is_manual_patching(flow: Flow) -> None:
    qa = flow.work / "environments" / "qa.yaml"
    dev = flow.work / "environments" / "dev.yaml"
    block = f"artifacts:\n  web:\n    image: r/web\n    digest: {WEB1}\n"
    dev.write_text(dev.read_text().replace("artifacts: {}\n", block))
    qa.write_text(qa.read_text().replace("artifacts: {}\n", block))
    sha = commit_all(flow.work, "web in dev and qa")  # lines added, none removed
    _, findings = audit_json(flow)
    manual = {(f["environment"], f["sha"]) for f in findings if f["code"] == "manual-change"}
    assert manual == {("dev", sha), ("qa", sha)}


def test_a_digest_published_by_hand_into_a_non_entry_environment_is_found(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB2, "--image", "r/web")
    qa = flow.work / "environments" / "qa.yaml"
    qa.write_text(
        qa.read_text().replace(
            "artifacts: {}\n", f"artifacts:\n  web:\n    image: r/web\n    digest: {WEB1}\n"
        )
    )
    sha = commit_all(
        flow.work,
        f"publish(web): qa\n\nPromoter-Kind: publish\nPromoter-To: qa\nPromoter-App: web\n"
        f"Promoter-Change: web none -> {WEB1}\n",
    )
    _, findings = audit_json(flow)
    skipped = [f for f in findings if f["code"] == "skipped-environment"]
    assert [(f["sha"], f["environment"]) for f in skipped] == [(sha, "qa")]
    assert "published straight into qa, which takes digests only from dev" in str(
        skipped[0]["message"]
    )


def test_a_hand_edit_of_a_digest_on_its_own_line_is_manual_patching(flow: Flow) -> None:
    to_staging(flow)
    qa = flow.work / "environments" / "qa.yaml"
    qa.write_text(qa.read_text().replace(f"digest: {WEB1}", f"digest:\n      {WEB1}"))
    layout = commit_all(flow.work, "digest on its own line")  # the same value: no finding
    qa.write_text(qa.read_text().replace(f"      {WEB1}", f"      {WEB2}"))
    edit = commit_all(flow.work, "quick fix")
    _, findings = audit_json(flow)
    manual = [f["sha"] for f in findings if f["code"] == "manual-change"]
    assert manual == [edit] and layout not in manual


def test_require_signed_reports_a_signer_who_is_not_the_actor(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web")
    git(flow.work, "config", "commit.gpgsign", "true")
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed")  # signed by test@
    flow.ok(
        "record",
        "dev",
        "web",
        "--check",
        "lint=passed",
        actor="Carol <carol@example.com>",
        signer="test@example.com",
    )
    carol = flow.head()
    _, findings = audit_json(flow, "--require-signed")
    codes = {(f["code"], f["sha"]) for f in findings}
    assert ("signer-mismatch", carol) in codes
    mismatch = next(f for f in findings if f["sha"] == carol)
    assert "signed by test@example.com, not carol@example.com" in str(mismatch["message"])
    assert {code for code, _ in codes} == {"unsigned", "signer-mismatch"}  # the unsigned publish


def test_soak_counts_from_the_merge_that_brought_a_promotion(flow: Flow) -> None:
    flow.ok("publish", "web", "--to", "dev", "--digest", WEB1, "--image", "r/web", at=MONDAY)
    flow.ok("record", "dev", "web", "--check", "unit-tests=passed", at=MONDAY)
    flow.ok("promote", "web", "--to", "qa", at=MONDAY)
    flow.ok("record", "qa", "web", "--check", "uat=passed", at=MONDAY)
    # perf's promotion is committed on a branch on Monday and merged on Wednesday
    git(flow.work, "checkout", "--quiet", "-b", "side")
    flow.ok("promote", "web", "--to", "perf", "--no-push", at=at_hour(10, day=23))
    flow.ok("record", "perf", "web", "--check", "uat=passed", "--no-push", at=at_hour(10, day=23))
    git(flow.work, "checkout", "--quiet", "main")
    wednesday = at_hour(10, day=25)
    git(flow.work, "merge", "--quiet", "--no-ff", "-m", "Merge side", "side", env=dated(wednesday))
    git(flow.work, "push", "--quiet")
    gates = flow(
        "gates",
        "web",
        "--to",
        "staging",
        "-o",
        "json",
        at="2026-11-25T10:30:00+00:00",
    )
    soak = next(g for g in json.loads(gates.stdout)["moves"][0]["gates"] if g["gate"] == "soak")
    assert soak["status"] == "pending"  # not two days: it reached the branch half an hour ago
    assert soak["reason"] == "only 30m in perf (needs 1h)"
    assert soak["clearsAt"] == "2026-11-25T11:00:00+00:00"


def test_after_adopt_soak_goes_on_from_when_git_shows_a_digest_entered(flow: Flow) -> None:
    block = f"artifacts:\n  web:\n    image: r/web\n    digest: {WEB1}\n"
    for env in ("dev", "qa", "perf"):
        path = flow.work / "environments" / f"{env}.yaml"
        path.write_text(path.read_text().replace("artifacts: {}\n", block))
    commit_all(flow.work, "web everywhere before promoter", at=at_hour(10, day=20))
    git(flow.work, "push", "--quiet")
    flow.ok("adopt", at=MONDAY)
    body = git(flow.work, "log", "-1", "--format=%B")
    assert f"Promoter-Baseline: qa web {WEB1} 2026-11-20T10:00:00+00:00" in body
    flow.ok("record", "qa", "web", "--check", "uat=passed", at=MONDAY)
    flow.ok("record", "perf", "web", "--check", "uat=passed", at=MONDAY)
    gates = flow("gates", "web", "--to", "staging", at="2026-11-23T10:05:00+00:00")
    assert gates.returncode == 0, gates.stdout
    assert "ok  soak      3d5m in qa (needs 1h)" in gates.stdout  # not 5m: from the 20th


def test_an_acknowledged_finding_no_longer_fails_the_audit(flow: Flow) -> None:
    to_staging(flow)
    qa = flow.work / "environments" / "qa.yaml"
    qa.write_text(qa.read_text().replace(WEB1, WEB2))
    edit = commit_all(flow.work, "quick fix in qa")
    git(flow.work, "push", "--quiet")
    flow.ok("rollback", "web", "--env", "qa")  # back to what promoter put there
    assert audit_json(flow)[0] == 1  # red, however long ago
    usage = flow("acknowledge", "0" * 12, "--reason", "x")
    assert usage.returncode == 2 and "not a commit of this branch" in usage.stderr
    typo = flow("acknowledge", edit[:12], "--code", "manual-chang", "--reason", "x")
    assert typo.returncode == 2 and "did you mean 'manual-change'?" in typo.stderr
    before = flow.state()
    clean = flow("acknowledge", flow.made[0], "--reason", "nothing wrong here")
    assert clean.returncode == 1, clean.stdout + clean.stderr
    assert "has no audit finding: there is nothing to acknowledge" in clean.stdout + clean.stderr
    other = flow("acknowledge", edit, "--code", "protected-change", "--reason", "x")
    assert other.returncode == 1
    assert "has no protected-change finding (it has: manual-change)" in (
        other.stdout + other.stderr
    )
    assert flow.state() == before
    flow.ok("acknowledge", edit[:12], "--reason", "reverted in the next commit; INC-42")
    code, findings = audit_json(flow)
    assert code == 0
    assert [(f["code"], f["sha"]) for f in findings] == [("manual-change", edit)]
    ack = findings[0]["acknowledged"]
    assert isinstance(ack, dict) and ack["reason"] == "reverted in the next commit; INC-42"
    assert ack["by"] == "Test User <test@example.com>"
    text = flow.ok("audit").stdout
    assert text.startswith("acknowledged manual-change:") and "(1 acknowledged finding)" in text
    history = json.loads(flow.ok("history", "-o", "json").stdout)["events"]
    assert history[0]["kind"] == "acknowledge"
    assert history[0]["acknowledged"]["commit"] == edit


def forge_acknowledgement(flow: Flow, sha: str) -> None:
    """An acknowledgement of ``sha``'s findings written by hand, unsigned, claiming Alice."""
    forged = (
        f"acknowledge: audit finding of {sha[:12]}\n\nPromoter-Kind: acknowledge\n"
        f"Promoter-Acknowledge: {sha}\nPromoter-Reason: fine\n"
        "Promoter-Actor: Alice <alice@example.com>\n"
    )
    git(flow.work, "commit", "--quiet", "--allow-empty", "-m", forged)
    git(flow.work, "push", "--quiet")


def test_in_a_protected_environment_only_a_signed_acknowledgement_counts(flow: Flow) -> None:
    prod = flow.work / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("replicas: 1", "replicas: 30"))
    edit = commit_all(flow.work, "scale prod")
    git(flow.work, "push", "--quiet")
    forge_acknowledgement(flow, edit)
    assert audit_json(flow)[0] == 1  # an unsigned acknowledgement does not count there
    flow.ok("acknowledge", edit, "--code", "protected-change", "--reason", "approved, CHG-7")
    assert git(flow.work, "log", "-1", "--format=%G?").strip() == "G"
    assert audit_json(flow)[0] == 0


def test_where_an_environment_is_protected_dates_need_a_signed_acknowledgement(
    flow: Flow,
) -> None:
    (flow.work / "notes.txt").write_text("later\n")
    commit_all(flow.work, "notes", at=at_hour(15))
    (flow.work / "notes.txt").write_text("earlier?\n")
    earlier = commit_all(flow.work, "notes again", at=at_hour(14))
    forge_acknowledgement(flow, earlier)
    code, findings = audit_json(flow)  # the dates judge soak and windows of prod too
    assert code == 1
    assert [(f["code"], f["acknowledged"]) for f in findings] == [("date-backwards", None)]
    flow.ok("acknowledge", earlier, "--reason", "a clock was wrong; INC-7")
    code, findings = audit_json(flow)
    assert code == 0 and findings[0]["acknowledged"] is not None


def test_audit_proves_what_head_holds_not_uncommitted_edits(flow: Flow) -> None:
    to_staging(flow)
    qa = flow.work / "environments" / "qa.yaml"
    qa.write_text(qa.read_text().replace(WEB1, WEB2))  # not committed: no part of history
    (flow.work / "environments" / "pipeline.yaml").write_text("not: [a pipeline\n")
    assert audit_json(flow) == (0, [])
    assert WEB2 in qa.read_text()  # left as it was
    commit_all(flow.work, "edits")  # committed, they are judged (the pipeline is broken)
    assert flow("audit").returncode == 3
    flow.recheck = False  # the audit at the end would stop at the broken pipeline too
