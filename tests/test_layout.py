"""Finding the repository, and turning environment names into paths safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.errors import ConfigError, UsageError
from promoter.layout import Layout, find_layout
from tests.conftest import CASES


def test_find_layout_searches_upwards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES / "base" / "environments")
    layout = find_layout(None, None)
    assert layout.root == (CASES / "base").resolve()
    assert layout.display(layout.pipeline_file) == "environments/pipeline.yaml"


def test_find_layout_with_custom_pipeline_path(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "promotion.yaml").write_text("kind: Pipeline\n")
    layout = find_layout(tmp_path, "deploy/promotion.yaml")
    assert layout.env_dir == (tmp_path / "deploy").resolve()
    with pytest.raises(ConfigError, match=r"no pipeline file environments/pipeline\.yaml"):
        find_layout(tmp_path, None)


def test_repo_that_is_not_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a directory"):
        find_layout(tmp_path / "nope", None)


@pytest.mark.parametrize("name", ["../prod", "a/b", "..", "/etc/passwd", "prod\n", "Prod"])
def test_env_file_refuses_names_that_are_not_safe(name: str) -> None:
    layout = Layout(CASES / "base", CASES / "base/environments/pipeline.yaml")
    with pytest.raises(ConfigError, match="environment name"):
        layout.env_file(name)


def test_env_file_and_env_files(tmp_path: Path) -> None:
    envs = tmp_path / "environments"
    envs.mkdir()
    for name in ("pipeline.yaml", "dev.yaml", "prod.yml", "notes.txt"):
        (envs / name).write_text("")
    (envs / "sub.yaml").mkdir()
    layout = Layout(tmp_path, envs / "pipeline.yaml")
    assert layout.env_file("dev") == envs / "dev.yaml"
    # listed by name whatever they are, so reading them can say what is wrong
    assert [p.name for p in layout.env_files()] == ["dev.yaml", "prod.yml", "sub.yaml"]
