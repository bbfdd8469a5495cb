"""Each module imports alone (no cycles), and the core never imports click."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in (ROOT / "promoter").rglob("*.py")
)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module: str) -> None:
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=ROOT)


@pytest.mark.parametrize(
    "module", [m for m in MODULES if not m.startswith("promoter.cli") and m != "promoter.__main__"]
)
def test_core_module_does_not_import_click(module: str) -> None:
    code = f"import sys, {module}; print('click' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert out.strip() == "False"
