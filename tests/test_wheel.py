"""The built wheel carries the schemas and validates with them, away from the source tree."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import CASES, ROOT, promoter_env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("promoter-*.whl")
    return built


def test_wheel_contains_schemas_and_type_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in (ROOT / "schemas").glob("*.json"):
        assert f"promoter/schemas/{schema.name}" in names
    assert "promoter/py.typed" in names
    assert not any(name.startswith(("tests/", "environments/")) for name in names)


def test_installed_wheel_validates_with_its_own_schemas(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    env = {**promoter_env(tmp_path), "PYTHONPATH": str(target)}
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import promoter, promoter.schemas as s;"
            "print(promoter.__file__); print(s.schema_dir())",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(target) for p in where), where

    good = subprocess.run(
        [sys.executable, "-m", "promoter", "validate", "--repo", str(CASES / "base")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    bad_repo = CASES / "negative" / "unknown-key"
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "promoter",
            "validate",
            "-o",
            "json",
            str(bad_repo / "environments" / "staging.yaml"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1, bad.stderr
    codes = [f["code"] for f in json.loads(bad.stdout)["findings"]]
    assert codes == ["unknown-key"]
