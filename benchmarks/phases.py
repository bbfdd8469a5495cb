"""Where a promoter command spends its wall time: phase timers around promoter's functions.

Runs the CLI in this process with a timer wrapped around each phase (nothing in promoter/
is changed; the wrappers are set on the imported modules), then prints the phases to
stderr. Less distorting than cProfile, which slows the many small calls of the history
parser several-fold. Run it where the command would run, e.g.:

    cd benchmarks/out/history-6x200-100000c-v2
    python ../../phases.py history > /dev/null
    python ../../phases.py --no-gc history > /dev/null     # the same with the cyclic GC off
    PROMOTER_NOW=2025-05-05T10:00:00+00:00 PROMOTER_ACTOR='Dave <dave@example.com>' \\
        python ../../phases.py gates web-0000 --to staging > /dev/null

Imports of promoter's modules and click are timed up front as one phase (GitPython is
imported when the repository is opened), so later phases show work; add the interpreter's
own start (`python -c pass`) to compare with the harness's process times. Nested phases are
indented under the phase that calls them; a timer costs ~1 µs, which shows only on the
91,953 calls of ``_parse_record``.
"""

from __future__ import annotations

import atexit
import functools
import gc
import importlib
import sys
import time
from collections.abc import Callable
from typing import Any

START = time.perf_counter()
# (module, attribute, label): each is wrapped where its caller looks it up.
PHASES = (
    ("promoter.actions", "open_context", "open the repository (imports GitPython)"),
    (
        "promoter.actions",
        "load_snapshot",
        "load_snapshot: every file read, schema- and rule-checked",
    ),
    ("promoter.validate", "load_checked", "load_checked: the files a promotion reads"),
    ("promoter.schemas", "fast_validator", "  fast_validator: schema checks compiled or imported"),
    ("promoter.actions", "evidence", "evidence: read the audit log and index it"),
    ("promoter.actions", "read_events", "  read_events: git log + parse"),
    ("promoter.history", "read_events", "read_events: git log + parse (history)"),
    ("promoter.history", "_all_events", "  the whole log: event cache, or git log + parse"),
    ("promoter.eventcache", "load", "    eventcache.load: read and rebuild the events"),
    ("promoter.eventcache", "store", "    eventcache.store: write the events"),
    ("promoter.git", "_parse_record", "    _parse_record: log records to Commit objects"),
    ("promoter.records", "parse_all", "    records.parse_all: git log read + commits to events"),
    ("promoter.actions", "build_evidence", "  build_evidence: index events"),
    ("promoter.actions", "plan", "plan: gates, edits, commit message"),
    ("promoter.promote", "apply_edits", "  apply_edits (re-parses the result to verify it)"),
    ("promoter.actions", "execute", "execute: land the change"),
    ("promoter.land", "preflight", "  preflight: one git status"),
    ("promoter.git.Git", "commit", "  git commit (git add for new files)"),
    ("promoter.git.Git", "push", "  git push"),
    ("promoter.report_plan", "history_text", "history_text: render the table"),
    ("promoter.git.Git", "run", "all Git.run calls (status, commit, rev-parse...)"),
    ("promoter.git.Git", "stream", "all Git.stream calls (git log, read while git writes)"),
)


def wrap(owner: Any, name: str, label: str, spent: dict[str, list[float]]) -> None:
    """Replace ``owner.name`` with a timed version that adds to ``spent[label]``."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        begin = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            entry = spent.setdefault(label, [0.0, 0])
            entry[0] += time.perf_counter() - begin
            entry[1] += 1

    setattr(owner, name, timed)


def resolve(path: str) -> Any:
    """A module, or a class inside one (``promoter.git.Git``)."""
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        module, _, attr = path.rpartition(".")
        return getattr(importlib.import_module(module), attr)


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--no-gc"]:
        gc.disable()
        args = args[1:]
    from promoter import cli

    for module in {path for path, _, _ in PHASES}:
        resolve(module)
    imports = time.perf_counter() - START
    spent: dict[str, list[float]] = {}
    for path, name, label in PHASES:
        owner = resolve(path)
        if hasattr(owner, name):  # promoter changes: time what this version has
            wrap(owner, name, label, spent)

    def report() -> None:
        total = time.perf_counter() - START
        print(f"\n{'in-process total':58} {total * 1000:7.0f} ms", file=sys.stderr)
        print(f"{'imports (promoter, click)':58} {imports * 1000:7.0f} ms", file=sys.stderr)
        order = [label for _, _, label in PHASES if label in spent]
        for label in order:
            seconds, calls = spent[label]
            print(f"{label:58} {seconds * 1000:7.0f} ms  ({calls}×)", file=sys.stderr)

    atexit.register(report)
    sys.argv = ["promoter", *args]
    cli.main()


if __name__ == "__main__":
    main()
