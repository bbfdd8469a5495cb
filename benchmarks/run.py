"""Wall-clock benchmarks of whole promoter processes, next to the tools an operator would use.

Builds a synthetic GitOps repository (benchmarks/synth.py), runs every command as a user
would (a fresh process each time) and prints a Markdown table: median and min of
``--repeat`` runs after one untimed warm-up run. Not part of the test suite.

    python benchmarks/run.py                       # 6 environments × 2000 apps
    python benchmarks/run.py --apps 500 --repeat 3 --out benchmarks/out/results.md
    python benchmarks/run.py --commits 5000        # a quick run: small history
    python benchmarks/run.py --at HEAD~1           # promoter as committed there

Besides the read-only commands, it times promotions that commit and push (a clone with a
local bare remote, a fresh promotable state prepared untimed before every run), and
``history`` and ``gates`` on a long synthetic history (benchmarks/synth_history.py, built
with git fast-import and cached in the work directory).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib
import itertools
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # benchmarks/ is not a package
import synth_history

PROJECT = Path(__file__).resolve().parent.parent
SCHEMAS = PROJECT / "schemas"
EXAMPLE = PROJECT  # the bundled example: environments/ at the project root

# What an operator would type instead of `promoter status`: load every environment file
# with PyYAML's safe_load (the usual idiom, pure-Python parser) and list app, env, digest.
PYYAML_LIST = (
    "import sys, pathlib, yaml\n"
    "\n"
    "for f in sys.argv[1:]:\n"
    "    env = pathlib.Path(f).stem\n"
    '    for app, a in yaml.safe_load(open(f))["artifacts"].items():\n'
    '        print(app, env, a["digest"])\n'
)
# The same with libyaml's C loader: roughly the floor for reading the files in Python.
LIBYAML_LIST = PYYAML_LIST.replace(
    "yaml.safe_load(open(f))", "yaml.load(open(f), Loader=yaml.CSafeLoader)"
)
YQ_FILTER = '.artifacts | to_entries[] | "\\(.key) \\(.value.digest)"'
# The `git log` promoter runs to read its audit log: its own format string and --grep
# (promoter/git.py `_LOG_FORMAT`, promoter/records.py `GREP`), read from the promoter being
# measured so the baseline follows it; the fallback is the format of the first version.
LOG_FORMAT = (
    "\x1f".join(["%H", "%an", "%ae", "%aI", "%cI", "%s", "%(trailers:only,unfold)"]) + "\x1e"
)
LOG_GREP = "^Promoter-Kind: "
# Runs a command and exits 0 when it exits 0 or 1 (findings): for `promoter audit`.
EXIT_1_IS_OK = (
    "import subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "sys.exit(0 if code in (0, 1) else code)\n"
)
# A release train by hand: copy every app's block from the source file into the target
# file (above `config:`, which promotions never copy), then commit and push.
COPY_BLOCKS = """\
import re, sys

block = re.compile(r"^  ([a-z0-9-]+):\\n((?:    .*\\n)+)", re.M)
src, dst = (open(f).read().partition("\\nconfig:") for f in sys.argv[1:3])
new = dict(block.findall(src[0]))
head = block.sub(lambda m: f"  {m[1]}:\\n" + new.get(m[1], m[2]), dst[0])
open(sys.argv[2], "w").write(head + dst[1] + dst[2])
"""

Check = Callable[[subprocess.CompletedProcess[str]], str | None]


class SetupError(Exception):
    """The untimed preparation of a run failed."""


@dataclass
class Command:
    """One process to time; ``problem`` says why it cannot run (then it is not run).

    ``then`` lists more processes that run after ``argv`` inside the same timing (a
    manual workflow: edit, commit, push); ``prepare`` runs untimed before every run,
    the warm-up included, to give each run a fresh state (it may set ``argv``).
    """

    label: str
    argv: list[str]
    env: dict[str, str] | None = None
    problem: str | None = None
    check: Check | None = None  # inspects the warm-up run; returns a problem or None
    cwd: Path | None = None
    then: list[list[str]] = field(default_factory=list)
    prepare: Callable[[Command], None] | None = None

    def shown(self) -> str:
        return " && ".join(shlex.join(argv) for argv in [self.argv, *self.then])


@dataclass
class Timing:
    """The outcome of timing one Command."""

    command: Command
    seconds: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    def cell(self) -> str:
        if self.command.problem:
            return f"{self.command.label}: unavailable ({self.command.problem})"
        if self.error:
            return f"{self.command.label}: error ({self.error})"
        return f"{self.command.label}: {fmt(self.median)} / {fmt(self.best)}"


@dataclass
class Row:
    """One table row: promoter against a baseline, with an optional target: ``target``
    seconds, or ``ratio`` times the baseline's median (``inclusive``: ≤ rather than <)."""

    what: str
    promoter: Command
    baseline: Command
    target: float | None
    ratio: float | None = None
    inclusive: bool = False
    show_ratio: bool = False  # no target, but say how many times the baseline it took

    def target_cell(self) -> str:
        if self.ratio is not None:
            return f"≤ {self.ratio:g}× baseline"
        if self.target is None:
            return "–"
        return f"{'≤' if self.inclusive else '<'} {fmt(self.target)}"

    def verdict(self, mine: Timing, theirs: Timing) -> tuple[str, bool]:
        """The "vs target" cell, and whether the target was missed."""
        if self.target is None and self.ratio is None:
            measured = mine.seconds and theirs.seconds and not (mine.error or theirs.error)
            if self.show_ratio and measured:
                return f"– ({mine.median / theirs.median:.1f}× baseline)", False
            return "–", False
        if mine.command.problem:
            return "– (not measured)", False
        if mine.error or not mine.seconds:
            return "**FAIL** (no timing)", True
        limit = self.target
        if self.ratio is not None:
            if theirs.error or theirs.command.problem or not theirs.seconds:
                return "– (no baseline timing)", False
            limit = self.ratio * theirs.median
        assert limit is not None
        times = f"{mine.median / theirs.median:.1f}×, " if self.ratio is not None else ""
        if mine.median < limit or (self.inclusive and mine.median == limit):
            return f"pass ({times}{fmt(limit - mine.median)} to spare)", False
        return f"**FAIL** ({times}{fmt(mine.median - limit)} over)", True


def fmt(seconds: float) -> str:
    """Milliseconds below one second, seconds above."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def tool(name: str) -> str | None:
    """A tool beside this interpreter (avoids pyenv/asdf shims), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def promoter_script(folder: Path, source: Path) -> tuple[list[str], dict[str, str]]:
    """What ``pip install`` generates (import promoter.cli, call main), in ``folder``, with
    ``source`` (a folder holding promoter/) first on PYTHONPATH."""
    env = dict(os.environ)
    script = folder / "promoter"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom promoter.cli import main\nsys.exit(main())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return [str(script)], env


def promoter_at(workdir: Path, commit: str) -> tuple[list[str], dict[str, str]]:
    """promoter exactly as committed at ``commit``: promoter/ and schemas/ from
    ``git archive``, unpacked into the work directory and started like an installed script.
    Measures a fixed version even while the checkout changes."""
    sha = synth.git(PROJECT, "rev-parse", "--verify", f"{commit}^{{commit}}").strip()[:12]
    folder = workdir / f"promoter-{sha}"
    if not (folder / "promoter" / "cli").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", sha, "promoter", "schemas"],
            cwd=PROJECT,
            check=True,
            stdout=subprocess.PIPE,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    print(f"promoter at {sha}: {folder}", file=sys.stderr)
    sys.path.insert(0, str(folder))  # so the harness reads that version's git log format
    return promoter_script(folder / "bin", folder)


def promoter_command(workdir: Path, override: str | None) -> tuple[list[str], dict[str, str]]:
    """How to start promoter: --promoter, the installed script, else an equivalent script.

    The fallback is what ``pip install`` generates (import promoter.cli, call main) with
    this checkout on PYTHONPATH, which is what an editable install amounts to.
    """
    if override:
        return shlex.split(override), dict(os.environ)
    found = tool("promoter")
    if found:
        return [found], dict(os.environ)
    return promoter_script(workdir / "bin", PROJECT)


def run_once(
    command: Command, *, capture: bool, prepared: bool = False
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Prepare (untimed, unless already ``prepared``), then run the command's processes in
    turn, stopping at the first that fails; wall time from the first spawn to the last exit."""
    if command.prepare and not prepared:
        command.prepare(command)
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    start = time.perf_counter()
    for argv in [command.argv, *command.then]:
        done = subprocess.run(
            argv,
            cwd=command.cwd,
            env=command.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            break
    return time.perf_counter() - start, done


def warm_up(command: Command) -> Timing:
    """Run once untimed (fills caches, writes .pyc files) and check exit code and output."""
    timing = Timing(command)
    if command.problem:
        return timing
    try:
        if command.prepare:
            command.prepare(command)
        shown = command.shown().replace("\n", "; ")
        print(f"  {command.label}: {shown[:150]}", file=sys.stderr)
        _, warm = run_once(command, capture=True, prepared=True)
    except (OSError, SetupError, subprocess.CalledProcessError) as exc:
        timing.error = str(exc)
    else:
        if warm.returncode != 0:
            tail = (warm.stderr or warm.stdout or "").strip().splitlines()[-1:]
            timing.error = f"exit {warm.returncode}" + (f": {tail[0][:80]}" if tail else "")
        elif command.check:
            timing.error = command.check(warm)
    if timing.error:
        print(f"    {timing.error}", file=sys.stderr)
    return timing


def measure(commands: Sequence[Command], repeat: int) -> list[Timing]:
    """Warm every command up, then time them in turns, so that a burst of load elsewhere
    on the machine hits promoter and its baseline alike."""
    timings = [warm_up(command) for command in commands]
    for _ in range(repeat):
        for timing in timings:
            if timing.command.problem or timing.error:
                continue
            try:
                seconds, done = run_once(timing.command, capture=False)
            except (OSError, SetupError, subprocess.CalledProcessError) as exc:
                timing.error = f"setup of a timed run failed: {exc}"
                timing.seconds.clear()
                continue
            if done.returncode != 0:
                timing.error = f"exit {done.returncode} in a timed run"
                timing.seconds.clear()
            else:
                timing.seconds.append(seconds)
    return timings


def expect_pending(done: subprocess.CompletedProcess[str]) -> str | None:
    """The synthetic repository must give status something to compute."""
    try:
        summary = json.loads(done.stdout)["summary"]
    except (ValueError, KeyError, TypeError) as exc:
        return f"status -o json printed no summary ({exc})"
    if not summary["pending"]:
        return "status found no pending promotion in the synthetic repository"
    return None


def expect_lines(count: int) -> Check:
    def check(done: subprocess.CompletedProcess[str]) -> str | None:
        lines = len(done.stdout.splitlines())
        return None if lines == count else f"printed {lines} lines, expected {count}"

    return check


def yq_command(env_files: list[str], count: int) -> Command:
    """yq as the jq wrapper (Debian's and pip's yq); mikefarah's Go yq speaks another dialect."""
    label = "yq"
    found = tool("yq")
    if not found:
        return Command(label, [], problem="yq not installed: apt-get install yq")
    if not shutil.which("jq"):
        return Command(label, [], problem="jq not installed (yq needs it)")
    version = subprocess.run(
        [found, "--version"], capture_output=True, text=True, check=False
    ).stdout
    if "mikefarah" in version:
        return Command(label, [], problem="Go yq (mikefarah) found; the jq-wrapper yq is needed")
    return Command(label, [found, "-r", YQ_FILTER, *env_files], check=expect_lines(count))


def python_command(label: str, code: str, env_files: list[str], count: int) -> Command:
    try:
        yaml = importlib.import_module("yaml")  # the baseline's dependency, not ours
    except ImportError:
        return Command(label, [], problem="PyYAML not installed: pip install pyyaml")
    if "CSafeLoader" in code and not getattr(yaml, "__with_libyaml__", False):
        return Command(label, [], problem="PyYAML built without libyaml")
    return Command(label, [sys.executable, "-c", code, *env_files], check=expect_lines(count))


def check_jsonschema_command(env_files: list[str]) -> Command:
    label = "check-jsonschema"
    found = tool("check-jsonschema")
    if not found:
        return Command(label, [], problem="not installed: pip install check-jsonschema")
    schema = str(SCHEMAS / "environment.schema.json")
    return Command(label, [found, "--schemafile", schema, *env_files])


def environment_files(repo: Path) -> tuple[list[str], int]:
    """The environment files of ``repo`` and how many artifacts they pin in all."""
    files = sorted(
        str(p) for p in (repo / "environments").glob("*.yaml") if p.name != "pipeline.yaml"
    )
    artifacts = sum(
        line.startswith("    image:")
        for name in files
        for line in Path(name).read_text(encoding="utf-8").splitlines()
    )
    return files, artifacts


def rows_for(
    repo: Path, what: str, promoter: tuple[list[str], dict[str, str]], target: float | None
) -> list[Row]:
    """validate / status / status -o json on one repository, each with its baseline."""
    argv, env = promoter
    env_files, count = environment_files(repo)
    prepo = ["--repo", str(repo)]
    return [
        Row(
            f"`validate` {what}",
            Command("promoter", [*argv, "validate", *prepo], env),
            check_jsonschema_command(env_files),
            target,
        ),
        Row(
            f"`status` {what}",
            Command("promoter", [*argv, "status", *prepo], env),
            python_command("PyYAML safe_load", PYYAML_LIST, env_files, count),
            target,
        ),
        Row(
            f"`status -o json` {what}",
            Command("promoter", [*argv, "status", "-o", "json", *prepo], env, check=expect_pending),
            yq_command(env_files, count),
            target,
        ),
    ]


# -- rows that commit, push and read history -------------------------------------------


def isolated(env: dict[str, str], **extra: str) -> dict[str, str]:
    """``env`` without the user's git and promoter settings: no global or system git
    config (hooks, signing, aliases), no GIT_* or PROMOTER_* variables. Promoter and its
    baselines run with the same environment."""
    out = {k: v for k, v in env.items() if not k.startswith(("GIT_", "PROMOTER_"))}
    out.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", **extra)
    return out


def untimed(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run a preparation step; raise SetupError with its last output line if it fails."""
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-1:]
        raise SetupError(f"{shlex.join(argv[1:5])}: exit {done.returncode}: {''.join(tail)}")
    return done.stdout


def clone_with_remote(source: Path, where: Path) -> tuple[Path, Path]:
    """A bare clone of ``source`` (the remote) and a clone of it with a work tree whose
    main tracks the remote's: what a GitOps repository checked out from a server looks
    like. The remote is a local path, so pushes cost no network."""
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    remote, work = where / "remote.git", where / "work"
    synth.git(where, "clone", "-q", "--bare", str(source), str(remote))
    synth.git(where, "clone", "-q", str(remote), str(work))
    for key, value in (
        ("user.name", "Bench User"),
        ("user.email", "bench@example.com"),
        ("commit.gpgsign", "false"),
    ):
        synth.git(work, "config", key, value)
    return remote, work


def new_digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def expect_text(text: str) -> Check:
    def check(done: subprocess.CompletedProcess[str]) -> str | None:
        return None if text in done.stdout else f"output lacks {text!r}"

    return check


def expect_moves(count: int) -> Check:
    """A release train must move ``count`` apps and push them."""

    def check(done: subprocess.CompletedProcess[str]) -> str | None:
        moves = sum(
            line.startswith("  ") and not line.startswith("   ") and " → " in line
            for line in done.stdout.splitlines()
        )
        if moves != count:
            return f"moved {moves} apps, expected {count}"
        return expect_text("pushed to origin/main")(done)

    return check


def expect_records(count: int) -> Check:
    def check(done: subprocess.CompletedProcess[str]) -> str | None:
        # records end in \x1e (promoter before 0.2), or are 8 NUL-terminated fields (-z)
        found = done.stdout.count("\x1e") or done.stdout.count("\0") // 8
        return None if found == count else f"printed {found} commits, expected {count}"

    return check


def unavailable(what: str, problem: str, target: float | None, ratio: float | None) -> Row:
    return Row(
        what,
        Command("promoter", [], problem=problem),
        Command("baseline", [], problem=problem),
        target,
        ratio,
        inclusive=True,
    )


def promotion_row(
    repo: Path, where: Path, apps: int, envs: int, promoter: tuple[list[str], dict[str, str]]
) -> Row:
    """One promotion (commit + push) against editing the line, `git commit -am`, `git push`.

    Before every promoter run, untimed: `promoter publish` of a new digest into the entry
    environment and `promoter record` of every check the target asks for. Before every
    manual run: nothing (sed writes a new digest each time).
    """
    graph = synth.pipeline_graph(envs)
    rules = synth.promotion_rules(graph)
    target = synth_history.commit_target(graph, rules)
    what = f"`promote APP --to {target or 'ENV'}` ({envs} envs × {apps} apps; commit + push)"
    if target is None:
        return unavailable(what, "no environment takes commits", None, 3.0)
    sed, git = shutil.which("sed"), shutil.which("git")
    if not sed or not git:
        return unavailable(what, "sed or git not on PATH", None, 3.0)
    argv, base_env = promoter
    env = isolated(base_env)
    _, work = clone_with_remote(repo, where)
    entry, app = graph[0].name, synth.app_names(apps)[min(1, apps - 1)]
    env_file = f"environments/{target}.yaml"
    runs = itertools.count(1)

    def fresh(command: Command) -> None:
        run = next(runs)
        digest = new_digest(where.name, "promoter", run)
        publish = ["publish", app, "--to", entry, "--digest", digest, "--version", f"9.{run}.0"]
        untimed([*argv, *publish], work, env)
        for check in rules[target].checks:
            untimed([*argv, "record", entry, app, "--check", f"{check}=passed"], work, env)

    def edit(command: Command) -> None:
        digest = new_digest(where.name, "hand", next(runs)).removeprefix("sha256:")
        script = (
            f"/^  {app}:$/,/^    digest:/"
            f"s/^    digest: sha256:[0-9a-f]\\{{64\\}}/    digest: sha256:{digest}/"
        )
        command.argv = [sed, "-i", "-e", script, env_file]

    return Row(
        what,
        Command(
            "promoter",
            [*argv, "promote", app, "--to", target],
            env,
            check=expect_text("pushed to origin/main"),
            cwd=work,
            prepare=fresh,
        ),
        Command(
            "sed + git commit -am + git push",
            [sed],
            env,
            cwd=work,
            then=[[git, "commit", "-q", "-am", f"{app} to {target} by hand"], [git, "push", "-q"]],
            prepare=edit,
        ),
        None,
        ratio=3.0,
        inclusive=True,
    )


def train_row(
    repo: Path, where: Path, apps: int, envs: int, promoter: tuple[list[str], dict[str, str]]
) -> Row:
    """A release train: every app has a new digest in the source; one commit, pushed.

    Set up once, untimed: a publish commit of every app into the entry environment and
    the check records the target asks for (git fast-import), pushed. Before every run,
    the clone and the remote are reset to that commit.
    """
    graph = synth.pipeline_graph(envs)
    target = synth_history.commit_target(graph, synth.promotion_rules(graph))
    what = f"`promote --all --to {target or 'ENV'}` release train ({apps} apps; commit + push)"
    git = shutil.which("git")
    if target is None or not git:
        return unavailable(what, "no environment takes commits, or no git", 3.0, None)
    argv, base_env = promoter
    env = isolated(base_env)
    remote, work = clone_with_remote(repo, where)
    target, base = synth_history.add_release_train(work, apps=apps, envs=envs)
    synth.git(work, "push", "-q", "origin", "main")

    def reset(command: Command) -> None:
        synth.git(work, "reset", "-q", "--hard", base)
        synth.git(work, "update-ref", "refs/remotes/origin/main", base)
        synth.git(remote, "update-ref", "refs/heads/main", base)

    source_file, target_file = (f"environments/{env}.yaml" for env in (graph[0].name, target))
    return Row(
        what,
        Command(
            "promoter",
            [*argv, "promote", "--all", "--to", target],
            env,
            check=expect_moves(apps),
            cwd=work,
            prepare=reset,
        ),
        Command(
            "Python block copy + git commit -am + git push",
            [sys.executable, "-c", COPY_BLOCKS, source_file, target_file],
            env,
            cwd=work,
            then=[[git, "commit", "-q", "-am", f"release train to {target}"], [git, "push", "-q"]],
            prepare=reset,
        ),
        3.0,
        inclusive=True,
    )


def history_repo(workdir: Path, commits: int, apps: int, envs: int) -> tuple[Path, dict[str, Any]]:
    """The synthetic history, built once per parameter set and reused from ``workdir``."""
    name = f"history-{envs}x{apps}-{commits}c-v{synth_history.VERSION}"
    repo = workdir / name
    stamp = repo / ".git" / "benchmark.json"
    try:
        info = json.loads(stamp.read_text(encoding="utf-8"))
        head = synth.git(repo, "rev-parse", "HEAD").strip()
        if info["head"] == head and info["commits"] == commits:
            print(f"reusing {repo}", file=sys.stderr)
            return repo, info
    except (OSError, ValueError, KeyError, subprocess.CalledProcessError):
        pass
    print(f"building {repo} ({commits} commits, git fast-import)", file=sys.stderr)
    start = time.perf_counter()
    info = synth_history.build_history(repo, commits=commits, apps=apps, envs=envs, schemas=SCHEMAS)
    print(f"  built in {fmt(time.perf_counter() - start)}", file=sys.stderr)
    return repo, info


def promoter_log_format() -> tuple[str, str]:
    """The format and --grep of promoter's own `git log` (see LOG_FORMAT)."""
    try:
        git_module = importlib.import_module("promoter.git")
        records = importlib.import_module("promoter.records")
        return str(git_module._LOG_FORMAT), str(records.GREP)
    except (ImportError, AttributeError):
        return LOG_FORMAT, LOG_GREP


def history_rows(
    repo: Path, info: dict[str, Any], promoter: tuple[list[str], dict[str, str]]
) -> tuple[list[Row], Command]:
    """`history` against promoter's own `git log`, and `gates` with soak from history;
    also the reference: every commit's full message, `git log --format=%H%n%B`."""
    argv, base_env = promoter
    env = isolated(base_env)
    git = shutil.which("git") or "git"
    commits, events = info["commits"], info["events"]
    size = f"({commits} commits, {events} events)"
    log_format, grep = promoter_log_format()
    log = Command(
        "git log, promoter's format",
        [git, "log", "-z", f"--format={log_format}", "HEAD", "-E", f"--grep={grep}"],
        isolated(base_env, LC_ALL="C", LANG="C"),
        check=expect_records(events),
        cwd=repo,
    )
    app, target = info["app"], info["target"]
    gates_env = isolated(base_env, PROMOTER_NOW=info["now"], PROMOTER_ACTOR=info["actor"])
    cache = repo / ".git" / "promoter" / "events.json"

    def no_cache(command: Command) -> None:
        cache.unlink(missing_ok=True)

    def history(env: dict[str, str], prepare: Callable[[Command], None] | None = None) -> Command:
        argv_ = [*argv, "history", "--repo", str(repo)]
        return Command("promoter", argv_, env, check=expect_lines(events + 1), prepare=prepare)

    rows = [
        Row(
            f"`history` {size}, event cache warm (the run before wrote it)",
            history(env),
            log,
            None,
            ratio=1.5,
            inclusive=True,
        ),
        Row(
            f"`history` {size}, first run: no cache yet, writes it (a fresh clone)",
            history(env, prepare=no_cache),
            log,
            None,
            show_ratio=True,
        ),
        Row(
            f"`history` {size}, `PROMOTER_CACHE=off`",
            history(isolated(base_env, PROMOTER_CACHE="off")),
            log,
            None,
            show_ratio=True,
        ),
        Row(
            f"`gates {app} --to {target}` {size}",
            Command(
                "promoter",
                [*argv, "gates", app, "--to", target, "--repo", str(repo)],
                gates_env,
                check=expect_text("ok  soak"),
            ),
            log,
            1.0,
            inclusive=True,
        ),
    ]
    # `audit` re-reads every commit and every version of the environment files. The
    # synthetic history's evidence is unsigned and its prod is protected, so audit finds
    # ungated prod promotions and exits 1: the wrapper takes exit 1 as a finished run.
    audit_argv = [sys.executable, "-c", EXIT_1_IS_OK, *argv, "audit", "--repo", str(repo)]
    git_env = isolated(base_env, LC_ALL="C", LANG="C")
    rows += [
        Row(
            f"`audit` {size}, every promotion and its gates judged again",
            Command("promoter", audit_argv, env, check=expect_text("problems")),
            Command(
                "git log -p of environments/",
                [git, "log", "-p", "HEAD", "--", "environments"],
                git_env,
                cwd=repo,
            ),
            None,
            ratio=3.0,
            inclusive=True,
        ),
        Row(
            f"`audit` {size}, against a `git log` that reads no file contents",
            Command("promoter", audit_argv, env, check=expect_text("problems")),
            Command("git log", [git, "log", "HEAD"], git_env, cwd=repo),
            None,
            show_ratio=True,
        ),
    ]
    reference = Command(
        "git log --format=%H%n%B",
        [git, "log", "--format=%H%n%B", "HEAD"],
        isolated(base_env, LC_ALL="C", LANG="C"),
        cwd=repo,
    )
    return rows, reference


def machine() -> list[str]:
    """The facts needed to compare numbers across machines."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or model
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text(encoding="utf-8").split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load average {:.2f} {:.2f} {:.2f} before the run".format(*os.getloadavg())
    return [
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC{load}",
        f"- machine: {os.cpu_count()} CPUs, {model}{memory}, {platform.system()} "
        f"{platform.release()}",
        f"- python: {platform.python_version()} ({sys.executable})",
    ]


def table(results: list[tuple[Row, Timing, Timing]]) -> list[str]:
    lines = [
        "| what | promoter (median / min) | baseline (median / min) | target | vs target |",
        "|---|---|---|---|---|",
    ]
    for row, mine, theirs in results:
        ours = mine.cell().removeprefix("promoter: ")
        verdict, _ = row.verdict(mine, theirs)
        lines.append(f"| {row.what} | {ours} | {theirs.cell()} | {row.target_cell()} | {verdict} |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=2000, help="artifacts per environment")
    parser.add_argument("--envs", type=int, default=6, help="environments (at least 2)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per command")
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=PROJECT / "benchmarks" / "out",
        help="where the synthetic repository is built (default: benchmarks/out, git-ignored)",
    )
    parser.add_argument(
        "--promoter",
        help="command that starts promoter, e.g. 'python -m promoter' (default: the "
        "installed script, else this checkout)",
    )
    parser.add_argument(
        "--at",
        metavar="COMMIT",
        help="measure promoter as committed at COMMIT (git archive into the work directory) "
        "instead of the installed one",
    )
    parser.add_argument(
        "--no-example",
        action="store_true",
        help="skip the rows for the small bundled example (fixed start-up cost)",
    )
    parser.add_argument(
        "--commits",
        type=int,
        default=100_000,
        help="commits in the synthetic history of the history and gates rows (default "
        "100000; e.g. 5000 for a quick run); built once, cached in the work directory",
    )
    parser.add_argument(
        "--history-apps",
        type=int,
        default=200,
        help="apps per environment in the history repository (default 200)",
    )
    parser.add_argument(
        "--promote-apps",
        type=int,
        default=50,
        help="apps per environment for the single-promotion row (default 50); it is also "
        "measured at --apps",
    )
    parser.add_argument(
        "--no-promotion",
        action="store_true",
        help="skip the rows that commit and push (one promotion, release train)",
    )
    parser.add_argument(
        "--no-history",
        action="store_true",
        help="skip the history and gates rows (and building the long history)",
    )
    args = parser.parse_args(argv)
    if min(args.repeat, args.apps, args.history_apps, args.promote_apps) < 1:
        parser.error("--repeat and the app counts must be at least 1")
    if args.envs < 2:
        parser.error("--envs must be at least 2 (dev and prod)")
    if args.at and args.promoter:
        parser.error("--at and --promoter exclude each other")

    facts = machine()  # before anything is built: the load average is the machine's own
    workdir = args.workdir.resolve()
    repo = workdir / f"repo-{args.envs}x{args.apps}"
    print(f"building {repo}", file=sys.stderr)
    start = time.perf_counter()
    synth.build(repo, args.apps, args.envs, schemas=SCHEMAS)
    print(f"  built in {fmt(time.perf_counter() - start)}", file=sys.stderr)
    if args.at:
        promoter = promoter_at(workdir, args.at)
    else:
        promoter = promoter_command(workdir, args.promoter)
    size = f"({args.envs} envs × {args.apps} apps)"

    rows = [
        Row(
            "`promoter --help`",
            Command("promoter", [*promoter[0], "--help"], promoter[1]),
            Command("python -c pass", [sys.executable, "-c", "pass"]),
            0.150,
        ),
        *rows_for(repo, size, promoter, 2.0),
    ]
    if not args.no_example:
        rows += rows_for(EXAMPLE, "(bundled example)", promoter, None)
    env_files, count = environment_files(repo)
    references = [
        (
            "YAML parse floor, same files",
            python_command("PyYAML CSafeLoader", LIBYAML_LIST, env_files, count),
        )
    ]
    setups = []
    if not args.no_promotion:
        sizes = dict.fromkeys([args.promote_apps, args.apps])  # in order, without repeats
        for apps in sizes:
            source = workdir / f"repo-{args.envs}x{apps}"
            if apps != args.apps:
                synth.build(source, apps, args.envs, schemas=SCHEMAS)
            where = workdir / f"promote-{args.envs}x{apps}"
            print(f"cloning {source} with a bare remote into {where}", file=sys.stderr)
            rows.append(promotion_row(source, where, apps, args.envs, promoter))
        where = workdir / f"train-{args.envs}x{args.apps}"
        print(f"preparing a release train of {args.apps} apps in {where}", file=sys.stderr)
        rows.append(train_row(repo, where, args.apps, args.envs, promoter))
        setups.append(
            "- promotions: a clone of the synthetic repository with a local bare remote "
            "(`git clone --bare`); each timed promotion commits and pushes to it, from a "
            "promotable state prepared untimed before every run"
        )
    if not args.no_history:
        try:
            history, info = history_repo(workdir, args.commits, args.history_apps, args.envs)
        except ValueError as exc:
            parser.error(str(exc))
        history_table_rows, full_log = history_rows(history, info, promoter)
        rows += history_table_rows
        references.append(("every commit's full message, over the history repository", full_log))
        plain = info["commits"] - 1 - info["events"]
        setups.append(
            f"- history: {info['commits']} commits ({info['events']} promoter events, "
            f"{plain} other), {info['envs']} envs × {info['apps']} apps, built with "
            f"`git fast-import` (benchmarks/synth_history.py); `gates` at "
            f"PROMOTER_NOW={info['now']}"
        )

    results = []
    for row in rows:
        print(row.what, file=sys.stderr)
        mine, theirs = measure([row.promoter, row.baseline], args.repeat)
        results.append((row, mine, theirs))
    floors = []
    for label, reference in references:
        print(f"reference: {label}", file=sys.stderr)
        [floor] = measure([reference], args.repeat)
        floors += [f"Reference ({label}): {floor.cell()}.", ""]

    report = [
        f"Wall time of whole processes, {args.repeat} timed run{'s' * (args.repeat != 1)} "
        "after one untimed warm-up; "
        f"repository {size}, {args.envs * args.apps} artifacts.",
        "",
        *facts,
        f"- promoter: `{' '.join(promoter[0])}`"
        + (" (promoter/ as committed, via git archive)" if args.at else ""),
        *setups,
        "",
        *table(results),
        "",
        *floors[:-1],
    ]
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    failed = any(row.verdict(mine, theirs)[1] for row, mine, theirs in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
