"""`promoter validate`: every bad-input case gives located findings, exit 1, and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from promoter.layout import Layout
from promoter.validate import check_repository
from tests.conftest import CASES, EXAMPLE, ROOT, Runner, build_case, tree_state

NEGATIVE = sorted(p for p in (CASES / "negative").iterdir() if p.is_dir())
POSITIVE = sorted(p for p in (CASES / "positive").iterdir() if p.is_dir())


def expected_findings(case: Path) -> list[tuple[str, int, str]]:
    data = YAML(typ="safe").load((case / "expect.yaml").read_text())
    return sorted((f["file"], f["line"], f["code"]) for f in data["findings"])


@pytest.mark.parametrize("case", NEGATIVE, ids=[p.name for p in NEGATIVE])
def test_negative_case_reports_exactly_the_expected_findings(
    case: Path, tmp_path: Path, run: Runner
) -> None:
    repo = build_case(tmp_path, case)
    before = tree_state(repo)
    result = run("validate", "--repo", str(repo), "-o", "json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    got = sorted((f["file"], f["line"], f["code"]) for f in report["findings"])
    assert got == expected_findings(case)
    assert report["ok"] is False
    assert tree_state(repo) == before


@pytest.mark.parametrize("case", NEGATIVE, ids=[p.name for p in NEGATIVE])
def test_negative_case_text_output_is_file_line_col(
    case: Path, tmp_path: Path, run: Runner
) -> None:
    repo = build_case(tmp_path, case)
    result = run("validate", "--repo", str(repo))
    assert result.returncode == 1
    *lines, summary = result.stdout.strip().splitlines()
    for (file, line, code), text in zip(expected_findings(case), lines, strict=True):
        assert text.startswith(f"{file}:{line}:"), text
        assert text.endswith(f"[{code}]"), text
    count = len(lines)
    assert summary.startswith(f"{count} problem{'s' * (count != 1)} in ")


@pytest.mark.parametrize("case", NEGATIVE, ids=[p.name for p in NEGATIVE])
def test_status_refuses_an_invalid_repository_with_exit_3(
    case: Path, tmp_path: Path, run: Runner
) -> None:
    repo = build_case(tmp_path, case)
    before = tree_state(repo)
    result = run("status", "--repo", str(repo))
    assert result.returncode == 3
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    first_file, first_line, _ = expected_findings(case)[0]
    assert result.stderr.startswith(f"error: {first_file}:{first_line}:"), result.stderr
    assert "promoter validate" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one paragraph
    assert tree_state(repo) == before


@pytest.mark.parametrize("case", POSITIVE, ids=[p.name for p in POSITIVE])
def test_positive_case_is_valid(case: Path, run: Runner) -> None:
    result = run("validate", "--repo", str(case))
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("ok: ")


def test_bundled_example_is_valid_and_is_the_default_in_the_repo_root(run: Runner) -> None:
    result = run("validate", cwd=ROOT)
    assert result.returncode == 0, result.stdout
    files = len(list(EXAMPLE.glob("*.yaml")))
    assert result.stdout.strip() == f"ok: {files} files valid"


def test_validate_finds_the_repository_from_a_subfolder(example_repo: Path, run: Runner) -> None:
    (example_repo / "docs" / "deep").mkdir(parents=True)
    result = run("validate", "-o", "json", cwd=example_repo / "docs" / "deep")
    assert result.returncode == 0
    assert "environments/prod.yaml" in json.loads(result.stdout)["files"]


def test_file_over_the_size_limit_is_refused_without_reading_it(
    tmp_path: Path, run: Runner
) -> None:
    repo = build_case(tmp_path, CASES / "negative" / "cycle")
    big = repo / "environments" / "dev.yaml"
    with big.open("ab") as handle:
        handle.write(b"# padding\n" * 900_000)  # ~9 MiB
    result = run("validate", "--repo", str(repo), "-o", "json")
    assert result.returncode == 1
    codes = {(f["file"], f["code"]) for f in json.loads(result.stdout)["findings"]}
    assert ("environments/dev.yaml", "too-large") in codes
    assert ("environments/pipeline.yaml", "cycle") in codes  # other problems still reported


def test_hostile_nesting_is_refused_without_crashing(tmp_path: Path, run: Runner) -> None:
    repo = build_case(tmp_path, CASES / "negative" / "cycle")
    (repo / "environments" / "dev.yaml").write_text("artifacts: " + "[" * 200_000 + "]" * 200_000)
    result = run("validate", "--repo", str(repo), "-o", "json")
    assert result.returncode == 1, result.stderr  # a segfault would be -11
    findings = json.loads(result.stdout)["findings"]
    # The root mapping and 63 sequences fill the 64 levels; the 64th "[" (column 11 + 64) is
    # one too many.
    assert {k: v for k, v in findings[0].items() if k != "message"} == {
        "file": "environments/dev.yaml",
        "line": 1,
        "column": 75,
        "code": "too-deep",
    }


def test_missing_pipeline_file_is_a_configuration_error(tmp_path: Path, run: Runner) -> None:
    result = run("validate", "--repo", str(tmp_path))
    assert result.returncode == 3
    assert "no pipeline file environments/pipeline.yaml under --repo" in result.stderr
    assert "--pipeline" in result.stderr and "Traceback" not in result.stderr


def test_validate_paths_checks_a_whole_folder_when_it_holds_a_pipeline(
    tmp_path: Path, run: Runner
) -> None:
    repo = build_case(tmp_path, CASES / "negative" / "app-skips-environment")
    # Naming only dev.yaml still runs the cross-file rules of its folder.
    result = run("validate", "environments/dev.yaml", "-o", "json", cwd=repo)
    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    assert [(f["file"], f["code"]) for f in findings] == [
        ("environments/prod.yaml", "app-not-upstream")
    ]


def test_validate_paths_checks_loose_files_by_kind(tmp_path: Path, run: Runner) -> None:
    (tmp_path / "good.yaml").write_text((CASES / "base/environments/dev.yaml").read_text())
    (tmp_path / "bad.yaml").write_text("apiVersion: promoter/v1\nkind: Environment\n")
    (tmp_path / "other.yaml").write_text("kind: Deployment\n")
    result = run("validate", "good.yaml", "bad.yaml", "other.yaml", "-o", "json")
    assert result.returncode == 1
    got = [(f["file"], f["line"], f["code"]) for f in json.loads(result.stdout)["findings"]]
    assert got == [("bad.yaml", 1, "missing-key"), ("other.yaml", 1, "unknown-kind")]


def test_validate_unknown_path_is_a_usage_error(tmp_path: Path, run: Runner) -> None:
    result = run("validate", "nope.yaml")
    assert result.returncode == 2
    assert "no such file or directory: nope.yaml" in result.stderr


def test_inspect_returns_a_snapshot_only_when_clean(tmp_path: Path) -> None:
    clean = check_repository(Layout(ROOT, EXAMPLE / "pipeline.yaml"))
    assert clean.ok and clean.snapshot is not None
    assert set(clean.snapshot.states) == {p.stem for p in EXAMPLE.glob("*.yaml")} - {"pipeline"}
    repo = build_case(tmp_path, CASES / "negative" / "image-mismatch")
    dirty = check_repository(Layout(repo, repo / "environments/pipeline.yaml"))
    assert not dirty.ok and dirty.snapshot is None
