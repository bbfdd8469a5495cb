"""Pipelines read back from history: only versions promoter would have acted on count."""

from __future__ import annotations

import pytest

from promoter.filehistory import FileModel
from promoter.policy import pipeline_of
from tests.conftest import CASES

PIPELINE = (CASES / "positive" / "all-gates" / "environments" / "pipeline.yaml").read_text()


def version(text: str) -> FileModel:
    model = FileModel("environments/pipeline.yaml")
    model.lines = text.splitlines()
    return model


def test_a_valid_version_is_a_pipeline() -> None:
    pipeline = pipeline_of(version(PIPELINE))
    assert pipeline is not None
    window = pipeline.environments["prod"].gates.window
    assert window is not None and window.timezone == "America/New_York"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("America/New_York", "Mars/Olympus"),  # a time zone the gates cannot read
        ('end: "2026-11-28"', 'end: "2026-02-30"'),  # a date that does not exist
        ("soak: 15m", "soak: 9999999d"),  # past the schema: a duration no date can take
        ("timezone: UTC", "timezone: 5"),  # past the schema: the wrong type
    ],
)
def test_a_version_the_rules_of_validate_refuse_is_no_pipeline(old: str, new: str) -> None:
    # The audit judges gates with the pipeline of each commit's parent; a version promoter
    # refused to act on would make the gates fail to read it (an internal error).
    assert old in PIPELINE
    assert pipeline_of(version(PIPELINE.replace(old, new))) is None
