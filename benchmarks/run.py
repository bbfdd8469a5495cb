"""Wall-clock benchmarks of whole promoter processes, next to the tools an operator would use.

Builds a synthetic GitOps repository (benchmarks/synth.py), runs every command as a user
would (a fresh process each time) and prints a Markdown table: median and min of
``--repeat`` runs after one untimed warm-up run. Not part of the test suite.

    python benchmarks/run.py                       # 6 environments × 2000 apps
    python benchmarks/run.py --apps 500 --repeat 3 --out benchmarks/out/results.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # benchmarks/ is not a package

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

Check = Callable[[subprocess.CompletedProcess[str]], str | None]


@dataclass
class Command:
    """One process to time; ``problem`` says why it cannot run (then it is not run)."""

    label: str
    argv: list[str]
    env: dict[str, str] | None = None
    problem: str | None = None
    check: Check | None = None  # inspects the warm-up run; returns a problem or None


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
    """One table row: promoter against a baseline, with an optional target (seconds)."""

    what: str
    promoter: Command
    baseline: Command
    target: float | None


def fmt(seconds: float) -> str:
    """Milliseconds below one second, seconds above."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def tool(name: str) -> str | None:
    """A tool beside this interpreter (avoids pyenv/asdf shims), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def promoter_command(workdir: Path, override: str | None) -> tuple[list[str], dict[str, str]]:
    """How to start promoter: --promoter, the installed script, else an equivalent script.

    The fallback is what ``pip install`` generates (import promoter.cli, call main) with
    this checkout on PYTHONPATH, which is what an editable install amounts to.
    """
    env = dict(os.environ)
    if override:
        return shlex.split(override), env
    found = tool("promoter")
    if found:
        return [found], env
    script = workdir / "bin" / "promoter"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom promoter.cli import main\nsys.exit(main())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    return [str(script)], env


def run_once(command: Command, *, capture: bool) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run the command to completion; wall time from spawn to exit."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    start = time.perf_counter()
    done = subprocess.run(
        command.argv,
        env=command.env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    return time.perf_counter() - start, done


def warm_up(command: Command) -> Timing:
    """Run once untimed (fills caches, writes .pyc files) and check exit code and output."""
    timing = Timing(command)
    if command.problem:
        return timing
    shown = shlex.join(command.argv).replace("\n", "; ")
    print(f"  {command.label}: {shown[:150]}", file=sys.stderr)
    try:
        _, warm = run_once(command, capture=True)
    except OSError as exc:
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
            seconds, done = run_once(timing.command, capture=False)
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
        target = f"< {fmt(row.target)}" if row.target is not None else "–"
        if row.target is None:
            verdict = "–"
        elif mine.error or not mine.seconds:
            verdict = "**FAIL** (no timing)"
        elif mine.median < row.target:
            verdict = f"pass ({fmt(row.target - mine.median)} to spare)"
        else:
            verdict = f"**FAIL** ({fmt(mine.median - row.target)} over)"
        lines.append(f"| {row.what} | {ours} | {theirs.cell()} | {target} | {verdict} |")
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
        "--no-example",
        action="store_true",
        help="skip the rows for the small bundled example (fixed start-up cost)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.apps < 1:
        parser.error("--repeat and --apps must be at least 1")
    if args.envs < 2:
        parser.error("--envs must be at least 2 (dev and prod)")

    workdir = args.workdir.resolve()
    repo = workdir / f"repo-{args.envs}x{args.apps}"
    print(f"building {repo}", file=sys.stderr)
    start = time.perf_counter()
    synth.build(repo, args.apps, args.envs, schemas=SCHEMAS)
    print(f"  built in {fmt(time.perf_counter() - start)}", file=sys.stderr)
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
    reference = python_command("PyYAML CSafeLoader", LIBYAML_LIST, env_files, count)

    facts = machine()
    results = []
    for row in rows:
        print(row.what, file=sys.stderr)
        mine, theirs = measure([row.promoter, row.baseline], args.repeat)
        results.append((row, mine, theirs))
    print("reference", file=sys.stderr)
    [floor] = measure([reference], args.repeat)

    report = [
        f"Wall time of whole processes, {args.repeat} timed run{'s' * (args.repeat != 1)} "
        "after one untimed warm-up; "
        f"repository {size}, {args.envs * args.apps} artifacts.",
        "",
        *facts,
        f"- promoter: `{' '.join(promoter[0])}`",
        "",
        *table(results),
        "",
        f"Reference (YAML parse floor, same files): {floor.cell()}.",
    ]
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    failed = any(
        row.target is not None and (mine.error or not mine.seconds or mine.median >= row.target)
        for row, mine, _ in results
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
