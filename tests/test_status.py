"""`promoter status`: the apps × environments matrix, pending and waiting promotions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from promoter.errors import UsageError
from promoter.layout import Layout
from promoter.schemas import load_schema
from promoter.status import compute_status
from promoter.validate import load_snapshot
from tests.conftest import CASES, ROOT, Runner

DIGEST = "sha256:" + "3" * 64


def set_digest(repo: Path, env: str, app: str, digest: str) -> None:
    """Change one digest through the project's own lossless editor."""
    from promoter.fileio import write_atomic
    from promoter.yamledit import Edits, apply_edits
    from promoter.yamlio import load

    path = repo / "environments" / f"{env}.yaml"
    write_atomic(path, apply_edits(load(path), Edits(set={("artifacts", app, "digest"): digest})))


def pinned(repo: Path, env: str, app: str) -> dict[str, Any]:
    """An app's entry as the environment file holds it, read with a plain YAML parser
    (not promoter's loader): the expected values come from the files, not the code."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load((repo / "environments" / f"{env}.yaml").read_text())
    entry: dict[str, Any] = data["artifacts"][app]
    return entry


def status_of(repo: Path, **filters: tuple[str, ...]):  # type: ignore[no-untyped-def]
    snapshot = load_snapshot(Layout(repo, repo / "environments/pipeline.yaml"))
    return compute_status(snapshot, **filters)


def test_in_sync_repository_has_nothing_pending() -> None:
    report = status_of(CASES / "base")
    assert report.environments == ("dev", "staging", "prod")
    assert report.apps == ("api", "web")
    assert {cell.state for cell in report.cells.values()} == {"current"}
    assert report.pending == () and report.waiting == ()


def test_new_digest_in_source_marks_successor_pending(tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(CASES / "base", repo)
    set_digest(repo, "dev", "web", DIGEST)
    report = status_of(repo)
    cell = report.cell("web", "staging")
    assert cell.state == "pending"
    assert cell.offered is not None and cell.offered.digest == DIGEST
    assert cell.artifact is not None and cell.artifact.digest == "sha256:" + "1" * 64
    # prod's source (staging) does not have the new digest yet: nothing pending there
    assert report.cell("web", "prod").state == "current"
    assert [(c.app, c.environment) for c in report.pending] == [("web", "staging")]


def test_parallel_sources_that_disagree_are_waiting_not_pending() -> None:
    report = status_of(ROOT)  # the bundled example: qa has api 2.4.1, perf still 2.4.0
    cell = report.cell("api", "staging")
    assert cell.state == "waiting"
    assert dict(cell.upstream) == {
        "qa": pinned(ROOT, "qa", "api")["digest"],
        "perf": pinned(ROOT, "perf", "api")["digest"],
    }
    assert pinned(ROOT, "qa", "api")["digest"] != pinned(ROOT, "perf", "api")["digest"]
    assert report.cell("api", "perf").state == "pending"


def test_environment_lacking_an_app_is_missing_and_pending() -> None:
    report = status_of(ROOT)
    cell = report.cell("search", "prod")
    assert cell.missing and cell.artifact is None
    assert cell.state == "pending"
    assert cell.offered is not None
    assert cell.offered.digest == pinned(ROOT, "staging", "search")["digest"]
    assert cell.offered.version == pinned(ROOT, "staging", "search")["version"]


def test_filters_keep_pipeline_order_and_reject_unknown_names() -> None:
    report = status_of(ROOT, environments=("prod", "dev"), apps=("web",))
    assert report.environments == ("dev", "prod") and report.apps == ("web",)
    with pytest.raises(UsageError, match="unknown environment 'prd'"):
        status_of(ROOT, environments=("prd",))
    with pytest.raises(UsageError, match="unknown app 'webb'"):
        status_of(ROOT, apps=("webb",))


def test_status_text_table_marks_pending_waiting_and_missing(run: Runner) -> None:
    result = run("status", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["APP", "dev", "qa", "perf", "staging", "prod"]
    rows = {line.split()[0]: line for line in lines[1:6]}
    prod_checkout = pinned(ROOT, "prod", "checkout")
    assert prod_checkout["version"] == "3.0.4"
    assert f"*{prod_checkout['digest'][7:15]} 3.0.4" in rows["checkout"]
    assert rows["search"].rstrip().endswith("*-")
    assert "~" + pinned(ROOT, "staging", "api")["digest"][7:15] in rows["api"]
    assert "  * checkout → prod: sha256:" in result.stdout
    assert "  ~ api → staging: sources disagree" in result.stdout


def test_status_json_matches_its_schema_and_the_table(run: Runner) -> None:
    result = run("status", "-o", "json", cwd=ROOT)
    assert result.returncode == 0
    document = json.loads(result.stdout)
    jsonschema.validate(document, load_schema("StatusReport"))
    pending = {(p["app"], p["environment"]) for p in document["pending"]}
    assert pending == {
        ("api", "perf"),
        ("checkout", "prod"),
        ("search", "prod"),
        ("web", "qa"),
        ("web", "perf"),
        ("worker", "prod"),
    }
    assert [(w["app"], w["environment"]) for w in document["waiting"]] == [("api", "staging")]
    assert document["summary"] == {
        "apps": 5,
        "environments": 5,
        "pending": 6,
        "waiting": 1,
        "rolledBack": 0,
        "missing": 1,
    }


def test_status_exit_code_flag(run: Runner) -> None:
    assert run("status", "--exit-code", cwd=ROOT).returncode == 1
    assert run("status", "--exit-code", "--repo", str(CASES / "base")).returncode == 0


def test_status_unknown_environment_is_a_usage_error(run: Runner) -> None:
    result = run("status", "--env", "prdo", cwd=ROOT)
    assert result.returncode == 2
    assert "unknown environment 'prdo' (known: dev, qa, perf, staging, prod)" in result.stderr
    assert "Traceback" not in result.stderr
