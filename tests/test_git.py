"""promoter.git against real repositories with a bare remote."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from promoter.errors import GitError
from promoter.git import Git, PushRejected, trailer_fields
from promoter.land import preflight
from tests.conftest import CASES
from tests.gitutil import clone, commit_all, dated, git, remote_with_clone


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return remote_with_clone(tmp_path, CASES / "base")[0]


def test_open_refuses_a_folder_outside_git(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not a git repository") as info:
        Git.open(tmp_path)
    assert "--repo" in info.value.render()


def test_open_finds_the_root_from_a_subfolder(work: Path) -> None:
    repo = Git.open(work / "environments")
    assert repo.root == work.resolve()
    state = repo.worktree()
    assert (state.branch, state.upstream, state.ahead, state.behind) == (
        "main",
        ("origin", "main"),
        0,
        0,
    )
    assert state.head == repo.head()


def test_dirty_lists_changed_staged_renamed_and_untracked_files(work: Path) -> None:
    repo = Git.open(work)
    assert repo.worktree().dirty == []
    (work / "environments" / "dev.yaml").write_text("changed\n")
    (work / "notes with spaces.txt").write_text("new\n")
    (work / "new dir").mkdir()
    (work / "new dir" / "deep.txt").write_text("new\n")
    git(work, "mv", "environments/pipeline.yaml", "environments/renamed pipeline.yaml")
    assert sorted(repo.worktree().dirty) == [
        "environments/dev.yaml",
        "environments/renamed pipeline.yaml",
        "new dir/deep.txt",
        "notes with spaces.txt",
    ]


def test_commit_only_the_named_paths_with_trailers(work: Path) -> None:
    repo = Git.open(work)
    (work / "environments" / "dev.yaml").write_text("changed\n")
    (work / "other.txt").write_text("not mine\n")
    message = "subject\n\nbody line\n\nPromoter-App: web\nPromoter-Gate: checks pass (a, b)\n"
    sha = repo.commit(["environments/dev.yaml"], message)
    assert repo.head() == sha
    assert repo.worktree().dirty == ["other.txt"]
    (commit,) = list(repo.log(max_count=1))
    assert commit.sha == sha and commit.subject == "subject"
    assert commit.author_email == "test@example.com"
    assert commit.fields == {"promoter-app": ["web"], "promoter-gate": ["checks pass (a, b)"]}
    assert commit.trailer("promoter-app") == "web"


def test_long_message_goes_through_a_file(work: Path) -> None:
    repo = Git.open(work)
    trailers = "\n".join(f"Promoter-App: app-{i:05d}" for i in range(20000))  # > 128 KiB
    repo.commit([], f"train\n\n{trailers}\n", allow_empty=True)
    (commit,) = list(repo.log(max_count=1))
    assert len(commit.trailer_values("Promoter-App")) == 20000


def test_log_filters_by_grep_and_path(work: Path) -> None:
    repo = Git.open(work)
    repo.commit([], "one\n\nPromoter-Kind: record\n", allow_empty=True)
    repo.commit([], "two\n", allow_empty=True)
    assert [c.subject for c in repo.log(grep="^Promoter-Kind:")] == ["one"]
    assert [c.subject for c in repo.log(paths=["environments"])] == ["Initial state"]


def test_show_reads_a_file_at_a_revision(work: Path) -> None:
    repo = Git.open(work)
    first = repo.head()
    (work / "environments" / "dev.yaml").write_text("changed\n")
    commit_all(work, "change")
    assert (
        repo.show(first, "environments/dev.yaml")
        == (CASES / "base/environments/dev.yaml").read_text()
    )
    assert repo.show("HEAD", "environments/dev.yaml") == "changed\n"
    assert repo.show("HEAD", "environments/nope.yaml") is None


def test_push_rejected_when_the_remote_moved_on_then_fetch_and_fast_forward(
    work: Path, tmp_path: Path
) -> None:
    other = clone(tmp_path / "remote.git", tmp_path / "other")
    (other / "x.txt").write_text("x\n")
    commit_all(other, "elsewhere")
    git(other, "push", "--quiet")

    repo = Git.open(work)
    start = repo.head()
    repo.commit([], "mine\n", allow_empty=True)
    with pytest.raises(PushRejected, match="rejected"):
        repo.push("origin", "main")
    repo.reset_hard(start)
    repo.fetch("origin", "main")
    assert repo.worktree()[2:5] == (("origin", "main"), 0, 1)
    repo.fast_forward("origin/main")
    repo.commit([], "mine again\n", allow_empty=True)
    repo.push("origin", "main")
    assert git(tmp_path / "remote.git", "log", "--format=%s", "-1").strip() == "mine again"


def test_push_failure_that_is_not_a_race_is_a_git_error(work: Path, tmp_path: Path) -> None:
    hook = tmp_path / "remote.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    repo = Git.open(work)
    repo.commit([], "mine\n", allow_empty=True)
    with pytest.raises(GitError) as info:
        repo.push("origin", "main")
    assert not isinstance(info.value, PushRejected)
    assert "protected branch" in info.value.message


def test_a_hook_that_talks_like_a_race_is_not_taken_for_one(work: Path, tmp_path: Path) -> None:
    # Only git's own per-ref status says "race": a hook's words never do.
    hook = tmp_path / "remote.git" / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\necho '! [rejected] main -> main (non-fast-forward) (fetch first)' >&2\n"
        "echo 'cannot lock ref: failed to update ref, incorrect old value' >&2\nexit 1\n"
    )
    hook.chmod(0o755)
    repo = Git.open(work)
    repo.commit([], "mine\n", allow_empty=True)
    with pytest.raises(GitError) as info:
        repo.push("origin", "main")
    assert not isinstance(info.value, PushRejected)
    assert "pre-receive hook declined" in info.value.message
    assert "(fetch first)" in info.value.message  # what the hook said is shown, not obeyed


def test_unsigned_commit_does_not_verify(work: Path) -> None:
    repo = Git.open(work)
    ok, _ = repo.verify_commit(repo.head())
    assert not ok


def test_detached_head_is_refused(work: Path) -> None:
    git(work, "checkout", "--quiet", "--detach")
    assert Git.open(work).worktree().branch is None
    with pytest.raises(GitError, match="HEAD is detached"):
        preflight(Git.open(work), push=False)


def test_an_upstream_never_fetched_counts_as_none(work: Path) -> None:
    git(work, "checkout", "--quiet", "-b", "feature")
    git(work, "config", "branch.feature.remote", "origin")
    git(work, "config", "branch.feature.merge", "refs/heads/feature")
    state = Git.open(work).worktree()
    assert (state.branch, state.upstream) == ("feature", None)
    with pytest.raises(GitError, match="no upstream"):
        preflight(Git.open(work), push=True)


def test_identity_is_gits_user_name_and_email(work: Path) -> None:
    assert Git.open(work).identity() == ("Test User", "test@example.com")
    git(work, "config", "user.name", "Somebody Else")
    assert Git.open(work).identity() == ("Somebody Else", "test@example.com")


def test_a_repository_without_commits_has_an_empty_history(tmp_path: Path) -> None:
    from promoter.history import read_events

    git(tmp_path, "init", "--quiet")
    repo = Git.open(tmp_path)
    assert not repo.has_commits()
    assert read_events(repo) == []


def finishes(call: Callable[[], object], seconds: float = 120) -> object:
    """Run ``call`` in a thread; fail (instead of hanging the suite) if it never returns."""
    done: list[object] = []
    thread = threading.Thread(target=lambda: done.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "still blocked: a pipe nobody reads, or git not stopped"
    return done[0]


def many_commits(work: Path, count: int, extra: str = "") -> None:
    """``count`` promoter-like commits on top of HEAD, written by git fast-import."""
    head = git(work, "rev-parse", "HEAD").strip()
    stream = []
    for index in range(count):
        message = f"c{index}\n\n{extra}Promoter-Kind: record\nPromoter-App: app-{index}\n"
        data = message.encode()
        stream.append(
            f"commit refs/heads/main\ncommitter T <t@example.com> {1700000000 + index} +0000\n"
            f"data {len(data)}\n{message}\n" + (f"from {head}\n" if index == 0 else "")
        )
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=work,
        input="".join(stream).encode(),
        check=True,
    )
    git(work, "reset", "--quiet", "--hard", "main")


def test_a_log_larger_than_the_pipe_is_read_whole_while_git_writes_it(work: Path) -> None:
    repo = Git.open(work)
    # ~3 MB of log, most of it two-byte characters inside the trailers that are checked:
    # chunk boundaries fall inside characters and inside records, and git writes far more
    # than a pipe holds before anything is read.
    value = "é" * 15_000
    for index in range(100):
        repo.commit(
            [],
            f"commit {index} ü\n\nbody\n\nPromoter-Kind: record\nPromoter-App: app-{index}\n"
            f"Promoter-Note: {value}{index}\n",
            allow_empty=True,
        )
    commits = list(repo.log(grep="^Promoter-Kind: "))
    assert [c.trailer("promoter-app") for c in commits] == [f"app-{i}" for i in range(99, -1, -1)]
    assert [c.trailer("promoter-note") for c in commits] == [
        f"{value}{i}" for i in range(99, -1, -1)
    ]
    assert all(c.subject.endswith(" ü") for c in commits)


def test_a_git_that_writes_much_to_stderr_does_not_block_the_log(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_commits(work, 2000)
    git(work, "repack", "-adq")
    # one trace line per object git reads from the pack: far more than a pipe holds
    monkeypatch.setenv("GIT_TRACE_PACK_ACCESS", "2")
    commits = finishes(lambda: list(Git.open(work).log(grep="^Promoter-Kind: ")))
    assert isinstance(commits, list) and len(commits) == 2000


def test_stopping_a_log_early_kills_git(
    work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_commits(work, 50)
    real = shutil.which("git")
    assert real is not None
    # a git that has written its log but keeps its output open, as a long log does
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\n"{real}" "$@"\nexec sleep 600\n')
    wrapper.chmod(0o755)
    repo = Git.open(work)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    log = repo.log()
    first = next(log)
    finishes(log.close)  # returns only because git (here: the sleep) was killed
    assert first.subject == "c49"
    monkeypatch.undo()
    assert len(list(repo.log(max_count=3))) == 3


def test_a_failing_log_is_a_git_error_with_gits_message(work: Path) -> None:
    repo = Git.open(work)
    with pytest.raises(GitError, match=r"git log failed: .*no-such-revision"):
        list(repo.log("no-such-revision"))


def test_trailers_are_the_key_value_lines_of_the_last_paragraph() -> None:
    message = (
        "subject\n\nKey: not a trailer, not the last paragraph\n\n"
        "Promoter-App:  web  \npromoter-app: api\nnot a trailer line\n"
        "Has Space: no\nPromoter-Url: https://ci.example.com/run/1\n\n\n"
    )
    assert trailer_fields(message) == {
        "promoter-app": ["web", "api"],
        "promoter-url": ["https://ci.example.com/run/1"],
    }
    assert trailer_fields("subject only") == {}


def test_an_upstream_on_a_remote_with_a_slash_in_its_name(work: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(work, "remote", "add", "my/fork", str(remote))
    git(work, "fetch", "--quiet", "my/fork")
    git(work, "branch", "--quiet", "--set-upstream-to", "my/fork/main")
    repo = Git.open(work)
    state = repo.worktree()
    assert (state.upstream, state.tracking) == (("my/fork", "main"), "my/fork/main")
    assert preflight(repo, push=True) == (("my/fork", "main"), "my/fork/main")
    repo.commit([], "through the fork\n", allow_empty=True)
    repo.push(*state.upstream)
    assert git(remote, "log", "--format=%s", "-1", "main").strip() == "through the fork"


FORGED_SHA = "f" * 40


def _forged_record(fields: list[str], separator: str) -> str:
    """Text shaped like a whole log record, as a hostile commit message would carry it."""
    return separator.join(fields)


@pytest.mark.parametrize(
    "separator",
    ["\x1e", "\x1f", "\x1d", "\n", "\x00"],
    ids=["record-sep", "unit-sep", "group-sep", "newline", "nul"],
)
def test_no_commit_message_can_inject_a_record(work: Path, separator: str) -> None:
    """A body that carries separators and a fake record (an approval by someone else,
    under a sha of the author's choosing) stays one field of its own commit."""
    fake = _forged_record(
        [
            FORGED_SHA,
            "",
            "Alice",
            "alice@example.com",
            "2026-01-01T00:00:00+00:00",
            "2026-01-01T00:00:00+00:00",
            "approve(web): prod",
            "Promoter-Kind: approve\nPromoter-To: prod\nPromoter-Actor: Alice <alice@example.com>",
        ],
        separator,
    )
    body = f"subject {separator} here\n\n{fake}\x1e\x1f\n\n"
    body += "Promoter-Kind: record\nPromoter-App: web\n"
    raw = (
        f"tree {git(work, 'rev-parse', 'HEAD^{tree}').strip()}\n"
        f"parent {git(work, 'rev-parse', 'HEAD').strip()}\n"
        "author Mallory <mallory@example.com> 1764000000 +0000\n"
        "committer Mallory <mallory@example.com> 1764000000 +0000\n\n"
    ).encode() + body.encode()
    sha = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--literally", "--stdin"],
            cwd=work,
            input=raw,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    git(work, "update-ref", "HEAD", sha)
    commits = list(Git.open(work).log())
    assert [c.sha for c in commits][:1] == [sha]
    assert FORGED_SHA not in [c.sha for c in commits]
    assert all(c.author_email != "alice@example.com" for c in commits)
    assert len(commits) == 2  # the hostile commit and the first one, nothing more
    assert commits[0].author_email == "mallory@example.com"


def test_a_file_whose_lines_look_like_log_records_is_read_as_content(work: Path) -> None:
    """Changed lines shaped like commit headers, diff headers or hunks stay content."""
    hostile = (
        "apiVersion: promoter/v1\n"
        + "# filler, so that git still reads the file as text\n" * 200
        + f"\x00{FORGED_SHA}\x00\x00Alice\x00alice@example.com\n"
        "diff --git a/environments/prod.yaml b/environments/prod.yaml\n"
        "@@ -1,9 +1,9 @@\n"
        "\\ No newline at end of file\n"
        "+++ b/x\n"
        "\x1e\x1f\x1d\r\n"
    )
    (work / "environments" / "dev.yaml").write_text(hostile)
    sha = commit_all(work, "hostile content")
    found = list(Git.open(work).log_patches("HEAD", ["environments"]))
    assert [commit.sha for commit, _ in found][:1] == [sha]
    assert FORGED_SHA not in [commit.sha for commit, _ in found]
    (diff,) = found[0][1]
    assert diff.path == "environments/dev.yaml"
    added = [line for hunk in diff.hunks for line in hunk.added]
    assert f"\x00{FORGED_SHA}\x00\x00Alice\x00alice@example.com" in added
    assert "\x1e\x1f\x1d\r" in added and "+++ b/x" in added
    assert len(found) == 2  # this commit and the first one


def test_landings_of_many_merged_commits_come_from_one_walk(work: Path) -> None:
    """Each commit that came through a merge lands with the oldest merge on the
    first-parent line that brings it, nested branches included; commits on the line
    itself are left out. All of them from one walk, the same answers as one by one."""
    base = git(work, "rev-parse", "HEAD").strip()

    def side_commit(name: str, day: int) -> str:
        (work / f"{name}.txt").write_text(name)
        return commit_all(work, name, at=f"2026-03-{day:02d}T10:00:00+00:00")

    def merge(branch: str, into: str, day: int) -> None:
        when = dated(f"2026-03-{day:02d}T10:00:00+00:00")
        git(work, "merge", "--quiet", "--no-ff", "-m", f"{branch} into {into}", branch, env=when)

    git(work, "checkout", "--quiet", "-b", "one", base)
    one = [side_commit("one-a", 2), side_commit("one-b", 3)]
    git(work, "checkout", "--quiet", "-b", "inner", one[0])
    inner = side_commit("inner", 4)
    git(work, "checkout", "--quiet", "one")
    merge("inner", "one", 5)
    one.append(git(work, "rev-parse", "HEAD").strip())
    git(work, "checkout", "--quiet", "main")
    on_line = side_commit("main-a", 6)
    merge("one", "main", 7)
    git(work, "checkout", "--quiet", "-b", "two")
    two = side_commit("two", 8)
    git(work, "checkout", "--quiet", "main")
    merge("two", "main", 9)

    repo = Git.open(work)
    calls: list[tuple[str, ...]] = []
    run = repo.run

    def counted(*args: str, env: dict[str, str] | None = None) -> str:
        calls.append(args)
        return run(*args, env=env)

    repo.run = counted  # type: ignore[method-assign]
    shas = [*one, inner, two, on_line]
    found = repo.landings(shas, "HEAD", dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    assert len(calls) == 2  # the walk and HEAD's sha, however many commits are asked about
    assert {sha: when.isoformat() for sha, when in found.items()} == {
        **{sha: "2026-03-07T10:00:00+00:00" for sha in [*one, inner]},
        two: "2026-03-09T10:00:00+00:00",
    }
    assert found == {sha: when for sha in shas if (when := repo.landing(sha)) is not None}


def test_show_tells_an_absent_file_from_a_failure(work: Path) -> None:
    repo = Git.open(work)
    assert repo.show("HEAD", "environments/pipeline.yaml") is not None
    assert repo.show("HEAD", "environments/nope.yaml") is None  # absent: None
    with pytest.raises(GitError, match="git show"):
        repo.show("0" * 40, "environments/pipeline.yaml")  # no such commit: an error


def test_identity_tells_unset_from_unreadable(work: Path) -> None:
    repo = Git.open(work)
    for key in ("user.name", "user.email"):  # the clone's own, if any
        subprocess.run(["git", "config", "--unset-all", key], cwd=work, check=False)
    environ = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    saved = {k: os.environ.get(k) for k in environ}
    os.environ.update(environ)
    try:
        assert repo.identity() == (None, None)  # nothing set: no identity
        (work / ".git" / "config").write_text("[user\n", encoding="utf-8")  # broken
        with pytest.raises(GitError, match="git config failed"):
            repo.identity()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.mark.parametrize(
    ("line", "race"),
    [
        ("!\tHEAD:refs/heads/main\t[rejected] (non-fast-forward)", True),
        ("!\tHEAD:refs/heads/main\t[rejected] (fetch first)", True),
        (
            "!\tHEAD:refs/heads/main\t[remote rejected] (cannot lock ref 'refs/heads/main': "
            "is at 1a2b but expected 3c4d)",
            True,
        ),
        ("!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)", True),
        ("!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)", False),
        ("!\tHEAD:refs/heads/main\t[remote rejected] (protected branch hook declined)", False),
        ("!\tHEAD:refs/heads/other\t[rejected] (non-fast-forward)", False),  # another ref
        ("remote: ! [rejected] main -> main (non-fast-forward)", False),  # a hook's words
    ],
)
def test_a_race_is_what_gits_own_per_ref_status_says(line: str, race: bool) -> None:
    from promoter.git import _push_race

    out = f"To /srv/remote.git\n{line}\nDone\n"
    assert _push_race(out, "refs/heads/main") is race
