"""The domain model: durations, pipeline graph order and upstream sets."""

from __future__ import annotations

import pytest

from promoter.layout import Layout
from promoter.model import parse_duration
from promoter.validate import load_snapshot
from tests.conftest import CASES, ROOT


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("4h", 14400), ("1d", 86400), ("1d12h30m15s", 131415), ("0s", 0)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "forever", "1w", "h", "12", "1h1d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_example_pipeline_graph() -> None:
    pipeline = load_snapshot(Layout(ROOT, ROOT / "environments/pipeline.yaml")).pipeline
    assert pipeline.order() == ("dev", "qa", "perf", "staging", "prod")
    assert pipeline.successors("dev") == ("qa", "perf")
    assert pipeline.environments["staging"].sources == ("qa", "perf")
    assert pipeline.upstream("prod") == {"dev", "qa", "perf", "staging"}
    prod = pipeline.environments["prod"]
    assert prod.protected and prod.promotion == "pull-request"
    assert prod.gates.soak_seconds == 86400
    assert prod.gates.approvals is not None and prod.gates.approvals.required == 2
    assert prod.gates.window is not None and prod.gates.window.timezone == "Europe/Berlin"
    assert prod.hotfix_gates is not None and prod.hotfix_gates.soak_seconds == 3600
    assert pipeline.environments["dev"].gates.empty


def test_diamond_pipeline_orders_sources_first() -> None:
    case = CASES / "positive/diamond-crlf-anchors"
    snapshot = load_snapshot(Layout(case, case / "environments/pipeline.yaml"))
    assert snapshot.pipeline.order() == ("build", "east", "west", "global")
    assert snapshot.states["global"].config["job"] == {"timeout": "30s", "retries": 3}
    assert snapshot.states["global"].artifacts["svc"].version == "1.10"
