"""Pipelines read back from history: only versions promoter would have acted on count."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.filehistory import FileModel
from promoter.git import Git
from promoter.policy import compare, pipeline_of, policy_events
from tests.conftest import CASES
from tests.gitutil import commit_all, remote_with_clone

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


def approvers(text: str) -> str:
    """A pipeline of one protected environment whose approvals are ``text``."""
    return (
        "apiVersion: promoter/v1\nkind: Pipeline\n" + text + "environments:\n  dev: {}\n"
        "  prod:\n    from: dev\n    protected: true\n    gates:\n      approvals:\n"
    )


def changes(old: str, new: str) -> list[tuple[str, bool]]:
    was, now = pipeline_of(version(old)), pipeline_of(version(new))
    assert was is not None and now is not None
    return [(change.text, change.weakens) for change in compare(was, now)]


PEOPLE = "people:\n  alice:\n    email: alice@example.com\n    github: alice-gh\n"


def test_naming_a_person_instead_of_their_email_changes_no_policy() -> None:
    old = approvers(PEOPLE) + "        required: 1\n        from: [alice@example.com]\n"
    new = approvers(PEOPLE) + "        required: 1\n        from: [alice]\n"
    assert changes(old, new) == []


def test_approvers_gained_are_said_per_person_and_weaken() -> None:
    old = approvers("") + "        required: 1\n        from: [alice@example.com]\n"
    new = approvers(PEOPLE) + "        required: 1\n        from: [alice, bob@example.com]\n"
    assert changes(old, new) == [
        ("prod approvers: added bob@example.com; alice gains alice, alice-gh", True)
    ]
    assert changes(new, old) == [
        ("prod approvers: removed bob@example.com; alice loses alice, alice-gh", False)
    ]


def test_an_identity_added_to_an_approver_in_people_weakens() -> None:
    old = approvers(PEOPLE) + "        required: 1\n        from: [alice]\n"
    more = PEOPLE + "    gitlab: alice-gl\n"
    new = approvers(more) + "        required: 1\n        from: [alice]\n"
    assert changes(old, new) == [("prod approvers: alice gains alice-gl", True)]


def test_a_change_made_while_the_pipeline_did_not_validate_names_where_it_began(
    tmp_path: Path,
) -> None:
    work, _ = remote_with_clone(tmp_path, CASES / "flow")
    pipeline = work / "environments" / "pipeline.yaml"
    text = pipeline.read_text()
    pipeline.write_text(text.replace("      soak: 24h\n", "      soak: soon\n"))
    broken = commit_all(work, "prod soak: not a duration")
    pipeline.write_text(text.replace("      soak: 24h\n", "      soak: 1h\n"))
    fixed = commit_all(work, "prod soaks an hour")
    (event,) = policy_events(Git.open(work), "environments/pipeline.yaml") or []
    assert event.sha == fixed
    assert [change.text for change in event.changes] == [
        f"prod soak 1d → 1h (changed since {broken[:12]}; the pipeline did not validate in between)"
    ]
