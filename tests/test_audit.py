"""`promoter audit` and `adopt`: lineage from git alone, manual patching, signatures."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CASES, Runner, check_output
from tests.gitutil import commit_all, git, remote_with_clone
from tests.test_promote import WEB1, WEB2, Flow, at_hour, to_staging


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
