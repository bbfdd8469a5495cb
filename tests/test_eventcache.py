"""The event cache under .git/promoter/: it returns exactly what `git log` says, reads
only new commits when HEAD moved on in a straight line, and is thrown away otherwise."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

import promoter
from promoter import eventcache, records
from promoter.actor import Actor
from promoter.errors import GitError
from promoter.git import Git
from promoter.history import read_events
from promoter.records import Change, Event, GateNote
from tests.conftest import CASES, Runner
from tests.gitutil import commit_all, git, remote_with_clone
from tests.test_promote import Flow, to_staging


@pytest.fixture
def flow(tmp_path: Path, run: Runner) -> Flow:
    work, remote = remote_with_clone(tmp_path, CASES / "flow")
    flow = Flow(work, remote, run)
    to_staging(flow)  # publish, record, promote: a handful of events of every kind
    return flow


def from_git(work: Path, monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """The events as `git log` gives them, with the cache off."""
    with monkeypatch.context() as patch:
        patch.setenv("PROMOTER_CACHE", "off")
        return read_events(Git.open(work))


def cached(work: Path) -> list[Event]:
    return read_events(Git.open(work))


def cache_file(work: Path) -> Path:
    return work / ".git" / "promoter" / eventcache.FILE


def read_entry(work: Path) -> tuple[dict[str, Any], list[Any]]:
    """The stored header (line 1) and events (line 2)."""
    header, events = cache_file(work).read_text().split("\n")
    return json.loads(header), json.loads(events)


def write_entry(work: Path, header: dict[str, Any], events: object) -> None:
    cache_file(work).write_text(json.dumps(header) + "\n" + json.dumps(events))


def tamper(work: Path) -> str:
    """Rewrite the cached entry's oldest event (the first commit's publish) so that a read
    from the cache is told apart from a read from git; return the marker."""
    header, events = read_entry(work)
    events[-1][1] = "tampered"
    write_entry(work, header, events)
    return "tampered"


def test_cached_events_equal_what_git_log_says(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_file(flow.work).unlink(missing_ok=True)
    expected = from_git(flow.work, monkeypatch)
    assert not cache_file(flow.work).exists()
    assert len(expected) >= 5
    assert cached(flow.work) == expected  # read from git, cache written
    assert cache_file(flow.work).is_file()
    assert cached(flow.work) == expected  # read back from the file: the same values
    # times keep their offsets, actors their CI run links, changes their order
    assert [e.when for e in cached(flow.work)] == [e.when for e in expected]


def test_every_field_survives_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hotfix flags, CI run links, time zones, gates, checks, URLs and baselines."""
    work, _ = remote_with_clone(tmp_path, CASES / "flow")
    ci = Actor("octo", "Octo Cat", "https://github.com/o/r/actions/runs/42")
    d1, d2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    events = [
        Event(
            "adopt",
            "prod",
            ci,
            baseline=(("prod", "web", d1, "2026-01-02T03:04:05+00:00"), ("qa", "api", d2, "")),
        ),
        Event("publish", "dev", ci, changes=(Change("web", None, d2, "2.0.0"),)),
        Event(
            "record",
            "dev",
            ci,
            app="web",
            digest=d2,
            check=("unit-tests", "passed"),
            url="https://ci.example.com/run/7",
        ),
        Event("approve", "prod", Actor("alice@example.com", "Alice"), app="web", digest=d2),
        Event(
            "promote",
            "prod",
            ci,
            sources=("staging",),
            changes=(Change("web", d1, d2),),
            gates=(GateNote("web", "soak", "pass", "26h in staging: more than 24h"),),
            hotfix=True,
        ),
        Event("rollback", "prod", ci, changes=(Change("web", d2, d1),)),
    ]
    zones = ["+05:30", "-07:00", "+00:00", "+01:00", "-03:30", "+09:00"]
    for index, (event, zone) in enumerate(zip(events, zones, strict=True)):
        at = f"2026-11-2{index}T10:00:00{zone}"
        monkeypatch.setenv("GIT_COMMITTER_DATE", at)
        monkeypatch.setenv("GIT_AUTHOR_DATE", at)
        Git.open(work).commit([], records.message(event), allow_empty=True)
    truth = from_git(work, monkeypatch)
    assert [e.kind for e in truth] == [e.kind for e in reversed(events)]
    assert cached(work) == truth  # written...
    back = cached(work)  # ...and read back
    assert back == truth
    assert [e.when.utcoffset() for e in back if e.when] == [
        e.when.utcoffset() for e in truth if e.when
    ]
    assert [e.when.isoformat() for e in back if e.when] == [
        f"2026-11-2{i}T10:00:00{zone}" for i, zone in reversed(list(enumerate(zones)))
    ]
    promote = next(e for e in back if e.kind == "promote")
    assert promote.hotfix and promote.actor.run_url == ci.run_url
    assert promote.gates == events[4].gates and promote.sources == ("staging",)
    assert next(e for e in back if e.kind == "adopt").baseline == events[0].baseline
    record = next(e for e in back if e.kind == "record")
    assert (record.check, record.url) == (("unit-tests", "passed"), "https://ci.example.com/run/7")


def test_head_moved_on_in_a_line_reads_only_the_new_commits(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached(flow.work)
    marker = tamper(flow.work)
    assert cached(flow.work)[-1].environment == marker  # the file is what is read
    flow.ok("record", "staging", "web", "--check", "regression=passed")
    flow.ok("approve", "web", "--to", "prod", actor="Alice <alice@example.com>")
    events = cached(flow.work)
    truth = from_git(flow.work, monkeypatch)
    assert events[:2] == truth[:2]  # the two new commits come from git...
    assert [e.kind for e in events[:2]] == ["approve", "record"]
    assert events[-1].environment == marker  # ...the rest from the cache
    assert events[2:-1] == truth[2:-1]


@pytest.mark.parametrize("how", ["merge", "rewrite", "other-branch"])
def test_anything_but_a_straight_line_reads_the_whole_log_again(
    flow: Flow, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    cached(flow.work)
    tamper(flow.work)
    if how == "merge":
        base = flow.head()
        git(flow.work, "checkout", "--quiet", "-b", "side")
        (flow.work / "NOTES.md").write_text("side\n")
        commit_all(flow.work, "side change")
        git(flow.work, "checkout", "--quiet", "main")
        flow.ok("record", "staging", "web", "--check", "regression=passed")
        git(flow.work, "merge", "--quiet", "--no-ff", "-m", "merge side", "side")
        assert flow.head() != base
    elif how == "rewrite":
        git(flow.work, "reset", "--quiet", "--hard", "HEAD~1")
        (flow.work / "NOTES.md").write_text("rewritten\n")
        commit_all(flow.work, "history rewritten")
    else:
        git(flow.work, "checkout", "--quiet", "-b", "older", "HEAD~2")
    assert cached(flow.work) == from_git(flow.work, monkeypatch)
    assert "tampered" not in cache_file(flow.work).read_text()  # replaced


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"kind": "promoter-event-cache", "key": "stale", "shape": "", "tip": "x"}\n[]',
        b"",
    ],
    ids=["malformed", "not-an-object", "other-parser-version", "empty"],
)
def test_an_unusable_cache_file_is_ignored_and_rewritten(
    flow: Flow, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    cache_file(flow.work).parent.mkdir(exist_ok=True)
    cache_file(flow.work).write_bytes(content)
    assert cached(flow.work) == from_git(flow.work, monkeypatch)
    assert read_entry(flow.work)[0]["tip"] == flow.head()


def test_an_entry_with_another_shape_of_history_is_not_used(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached(flow.work)
    header, _ = read_entry(flow.work)
    write_entry(flow.work, {**header, "shape": "0" * 64}, [])
    assert cached(flow.work) == from_git(flow.work, monkeypatch) != []


@pytest.mark.parametrize("body", ["{not json", "[[1, 2]]", '[["promote"]]', "{}"])
def test_a_valid_header_over_unreadable_events_reads_git(
    flow: Flow, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    cached(flow.work)
    header, _ = read_entry(flow.work)
    cache_file(flow.work).write_text(json.dumps(header) + "\n" + body)
    assert cached(flow.work) == from_git(flow.work, monkeypatch)
    assert len(read_entry(flow.work)[1]) == len(from_git(flow.work, monkeypatch))  # rewritten


def test_a_shallow_clone_is_refused_and_read_whole_once_unshallowed(
    flow: Flow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "2", flow.remote.as_uri(), str(shallow))
    with pytest.raises(GitError, match="shallow clone") as info:
        cached(shallow)
    assert "fetch-depth: 0" in info.value.render()
    assert not cache_file(shallow).exists()
    git(shallow, "fetch", "--quiet", "--unshallow")
    assert cached(shallow) == from_git(shallow, monkeypatch) == from_git(flow.work, monkeypatch)


@pytest.mark.parametrize("packed", [False, True], ids=["loose-ref", "packed-ref"])
def test_replace_refs_turn_the_cache_off(
    flow: Flow, monkeypatch: pytest.MonkeyPatch, packed: bool
) -> None:
    cached(flow.work)
    tamper(flow.work)
    git(flow.work, "replace", "--graft", "HEAD", "HEAD~2")
    if packed:
        git(flow.work, "pack-refs", "--all")
        replace = flow.work / ".git" / "refs" / "replace"
        assert not any(p.is_file() for p in replace.rglob("*"))
    assert cached(flow.work) == from_git(flow.work, monkeypatch)  # what git says, replaced
    assert "tampered" in cache_file(flow.work).read_text()  # neither used nor rewritten
    git(flow.work, "replace", "--delete", git(flow.work, "rev-parse", "HEAD").strip())
    # `git replace -d` leaves refs/replace behind, empty: the entry is good again
    assert cached(flow.work)[-1].environment == "tampered"


def test_a_changed_shallow_boundary_or_graft_is_another_shape(flow: Flow) -> None:
    flow.recheck = False  # the graft this leaves behind rewrites the history audit reads
    git_dir = flow.work / ".git"
    entry = eventcache.Entry(flow.head(), cached(flow.work))
    eventcache.store(git_dir, entry)
    assert eventcache.load(git_dir) is not None
    (git_dir / "shallow").write_text(flow.head() + "\n")  # as `git fetch --deepen` moves it
    assert eventcache.load(git_dir) is None
    (git_dir / "shallow").unlink()
    (git_dir / "info").mkdir(exist_ok=True)
    (git_dir / "info" / "grafts").write_text(flow.head() + "\n")
    assert eventcache.load(git_dir) is None


def test_leftovers_of_killed_writers_are_removed(flow: Flow) -> None:
    folder = flow.work / ".git" / "promoter"
    folder.mkdir(exist_ok=True)
    old, fresh = folder / ".events.json.old123", folder / ".events.json.new456"
    old.write_text("half an entry")
    fresh.write_text("a writer still at work")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    cached(flow.work)
    assert not old.exists() and fresh.exists()


def test_promoter_run_from_a_zip_reads_history_without_a_cache(flow: Flow, tmp_path: Path) -> None:
    archive = tmp_path / "promoter.zip"
    package = Path(promoter.__file__).parent
    with zipfile.ZipFile(archive, "w") as out:
        for item in package.rglob("*"):
            if "__pycache__" not in item.parts and item.is_file():
                out.write(item, item.relative_to(package.parent).as_posix())
        for schema in (package.parent / "schemas").glob("*.json"):  # as the wheel has them
            out.write(schema, f"promoter/schemas/{schema.name}")
    cache_file(flow.work).unlink(missing_ok=True)
    result = flow.runner("history", "-o", "json", cwd=flow.work, env={"PYTHONPATH": str(archive)})
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["events"]) == 7
    assert not cache_file(flow.work).exists()  # the parser's source cannot be hashed


def test_cache_off_writes_nothing(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_file(flow.work).unlink(missing_ok=True)
    from_git(flow.work, monkeypatch)
    assert not cache_file(flow.work).exists()
    result = flow.ok("history")  # the CLI honours it too
    assert cache_file(flow.work).exists()
    cache_file(flow.work).unlink()
    off = flow.runner("history", cwd=flow.work, env={"PROMOTER_CACHE": "off"})
    assert off.returncode == 0 and off.stdout == result.stdout
    assert not cache_file(flow.work).exists()


def test_a_repository_where_the_cache_cannot_be_written_still_reads(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = flow.work / ".git" / "promoter"
    if folder.is_dir():
        for item in folder.iterdir():
            item.unlink()
        folder.rmdir()
    folder.write_text("a file where the cache folder would be\n")
    assert cached(flow.work) == from_git(flow.work, monkeypatch)
    assert folder.read_text() == "a file where the cache folder would be\n"
    assert sorted(p.name for p in folder.parent.glob("*events*")) == []


def test_history_output_is_the_same_from_the_cache(flow: Flow) -> None:
    cache_file(flow.work).unlink(missing_ok=True)
    first = flow.ok("history", "-o", "json")  # writes the entry
    assert cache_file(flow.work).is_file()
    second = flow.ok("history", "-o", "json")  # reads it
    assert first.stdout == second.stdout
    assert len(json.loads(second.stdout)["events"]) == 7


def test_audit_reads_git_not_the_cache(flow: Flow) -> None:
    flow.ok("history")  # writes the entry
    header, _ = read_entry(flow.work)
    write_entry(flow.work, header, [])  # an entry that hides every event
    assert flow.ok("history").stdout.strip() == "no promoter events in this history"
    result = flow.ok("audit")  # the verifier is not fooled by what .git/promoter says
    assert result.stdout.strip() == "ok: every promotion and its gates proven from git"


def test_policy_changes_are_cached_and_extended(flow: Flow) -> None:
    pipeline = flow.work / "environments" / "pipeline.yaml"
    cache = flow.work / ".git" / "promoter" / "policy.json"
    flow.ok("history")
    assert json.loads(cache.read_text())["events"] == []  # the pipeline never changed
    pipeline.write_text(pipeline.read_text().replace("      soak: 24h\n", "      soak: 48h\n"))
    first = commit_all(flow.work, "prod soaks two days")
    assert "prod soak 1d → 2d" in flow.ok("history").stdout  # read from first..HEAD only
    assert json.loads(cache.read_text())["tip"] == first
    (flow.work / "notes.txt").write_text("not the pipeline\n")
    commit_all(flow.work, "notes")
    assert "prod soak 1d → 2d" in flow.ok("history").stdout  # kept: the file did not change
    pipeline.write_text(pipeline.read_text().replace("      soak: 48h\n", "      soak: 12h\n"))
    commit_all(flow.work, "prod soaks half a day")
    text = flow.ok("history", "--env", "prod").stdout
    assert "prod soak 2d → 12h (weaker)" in text and "prod soak 1d → 2d" in text
    cache.write_text("{not json")
    assert "prod soak 2d → 12h (weaker)" in flow.ok("history").stdout  # read afresh
    fresh = json.loads(cache.read_text())
    assert [e[0] for e in fresh["events"]][1] == first


def test_a_cached_tip_whose_pipeline_is_invalid_compares_with_the_last_valid_one(
    flow: Flow,
) -> None:
    pipeline = flow.work / "environments" / "pipeline.yaml"
    flow.ok("history")
    valid = pipeline.read_text()
    pipeline.write_text(valid.replace("      soak: 24h\n", "      soak: soon\n"))
    broken = commit_all(flow.work, "prod soak: not a duration")
    flow.ok("history")  # caches this tip, whose pipeline promoter refuses
    pipeline.write_text(valid.replace("      soak: 24h\n", "      soak: 12h\n"))
    weaker = commit_all(flow.work, "prod soaks half a day")
    cached = flow.ok("history").stdout
    assert f"prod soak 1d → 12h (changed since {broken[:12]}" in cached and "(weaker)" in cached
    assert cached == flow.ok("history", env={"PROMOTER_CACHE": "off"}).stdout
    rows = json.loads((flow.work / ".git" / "promoter" / "policy.json").read_text())["events"]
    assert [row[0] for row in rows] == [weaker]
