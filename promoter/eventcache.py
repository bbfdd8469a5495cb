"""A cache of parsed audit-log events under ``.git/promoter/``, so that reading a long
history again costs a file read, not a ``git log`` of every commit.

The events reachable from a commit never change, so an entry keyed by that commit (the
*tip*) stays true for as long as the commit exists. When HEAD has moved on from the tip
along a straight line of new commits (the usual case: promotions land one after another),
only those new commits are read from git and put in front of the cached events, which is
exactly what ``git log`` would list. After a merge, a rewrite or a different branch the
whole log is read again and the entry replaced.

The file is JSON (plain data, nothing executable), written to a temporary file and renamed
into place, so a reader never sees half an entry and concurrent writers cannot corrupt it.
It is only a copy of what git holds: delete it at any time; ``PROMOTER_CACHE=off`` turns it
off. An unreadable or foreign entry is ignored and rewritten. Grafts and a shallow
boundary are part of the key (deepening a clone adds history behind the same HEAD); with
replace refs the cache is not used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from promoter import actor as actor_module
from promoter import git as git_module
from promoter import history as history_module
from promoter import records
from promoter.actor import Actor
from promoter.records import Change, Event, GateNote

FILE = "events.json"
_KIND = "promoter-event-cache"


class Entry(NamedTuple):
    """The events reachable from ``tip``, newest first, and when the moves that came
    through a merge reached the branch."""

    tip: str
    events: list[Event]
    landed: dict[str, dt.datetime] = {}  # noqa: RUF012 - a NamedTuple default, never mutated


class Cached(NamedTuple):
    """A stored entry whose header matched: its tip, and its events still to be read."""

    tip: str
    body: bytes
    landed: dict[str, dt.datetime] = {}  # noqa: RUF012 - a NamedTuple default, never mutated

    def events(self) -> list[Event] | None:
        """The stored events, or None when they cannot be read back."""
        try:
            rows = json.loads(self.body)
            return _events(rows) if isinstance(rows, list) else None
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None


def enabled() -> bool:
    """False when ``PROMOTER_CACHE`` is ``off`` (or ``0``/``false``/``no``)."""
    return os.environ.get("PROMOTER_CACHE", "on").strip().lower() not in ("off", "0", "false", "no")


def _key() -> str | None:
    """What the entries depend on: the parser's own source, so a changed parser never
    reads events an older one wrote; None (no cache) when the source cannot be read, as
    when promoter runs from a zip."""
    digest = hashlib.sha256(records.GREP.encode())
    try:
        for module in (git_module, records, actor_module, history_module):
            digest.update(Path(module.__file__ or "").read_bytes())
        digest.update(Path(__file__).read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def _shape(git_dir: Path) -> str | None:
    """What else decides which commits HEAD reaches: grafts, and a shallow clone's
    boundary (promoter refuses shallow clones before it reads history; this keeps the
    cache right without relying on that); None when replace refs rewrite history, which
    this cache does not follow."""
    replace = git_dir / "refs" / "replace"
    if replace.is_dir() and any(entry.is_file() for entry in replace.rglob("*")):
        return None  # (`git replace -d` leaves the empty folder behind: that one is fine)
    digest = hashlib.sha256()
    for name in ("shallow", "info/grafts", "packed-refs"):
        try:
            data = (git_dir / name).read_bytes()
        except OSError:
            data = b""
        if name == "packed-refs":
            if b" refs/replace/" in data:
                return None
            continue
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def path(git_dir: Path) -> Path:
    """Where the entry of the repository whose git directory is ``git_dir`` lives."""
    return git_dir / "promoter" / FILE


def load(git_dir: Path) -> Cached | None:
    """The cached entry for this repository and this parser, or None."""
    try:
        shape = _shape(git_dir)
        if shape is None:
            return None
        # Line 1 is the header, line 2 the events: a stale entry is told by its header
        # alone, without decoding tens of megabytes of events.
        header, _, body = path(git_dir).read_bytes().partition(b"\n")
        data = json.loads(header)
        key = _key()
        if key is None or data.get("kind") != _KIND or data.get("key") != key:
            return None
        if data.get("shape") != shape:
            return None
        landed = {
            str(sha): dt.datetime.fromisoformat(str(when))
            for sha, when in dict(data.get("landed", {})).items()
        }
        return Cached(str(data["tip"]), body, landed)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing, unreadable, or not ours: read git instead


def store(git_dir: Path, entry: Entry) -> None:
    """Write ``entry`` atomically; a read-only repository just goes without a cache."""
    target, shape, key = path(git_dir), _shape(git_dir), _key()
    if shape is None or key is None:
        return
    header = {
        "kind": _KIND,
        "key": key,
        "shape": shape,
        "tip": entry.tip,
        "landed": {sha: when.isoformat() for sha, when in entry.landed.items()},
    }
    # Events are tuples of tuples: JSON arrays as they are, in one C call (json.dump
    # would write in small chunks); only their times need converting.
    body = json.dumps(
        entry.events, separators=(",", ":"), default=dt.datetime.isoformat, check_circular=False
    )
    _write(target, json.dumps(header) + "\n" + body)


def load_document(git_dir: Path, name: str, source: Path) -> dict[str, Any] | None:
    """A side document of the cache (``name``), written by the code in ``source``; None
    when it is missing, foreign, or was written for another history shape or code."""
    try:
        shape, key = _shape(git_dir), _key()
        data = json.loads((git_dir / "promoter" / name).read_bytes())
        stamp = hashlib.sha256(source.read_bytes()).hexdigest()
        if shape is None or key is None or not isinstance(data, dict):
            return None
        if (data.get("key"), data.get("shape"), data.get("source")) != (key, shape, stamp):
            return None
        return data
    except (OSError, ValueError):
        return None


def store_document(git_dir: Path, name: str, source: Path, document: dict[str, Any]) -> None:
    """Write a side document of the cache atomically (see :func:`load_document`)."""
    shape, key = _shape(git_dir), _key()
    if shape is None or key is None:
        return
    try:
        stamp = hashlib.sha256(source.read_bytes()).hexdigest()
    except OSError:
        return
    stamped = {**document, "key": key, "shape": shape, "source": stamp}
    _write(git_dir / "promoter" / name, json.dumps(stamped, default=dt.datetime.isoformat))


def _write(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file and a rename."""
    with contextlib.suppress(OSError):
        target.parent.mkdir(exist_ok=True)
        _remove_stale_temporaries(target)
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            if hasattr(os, "fchmod"):  # POSIX (and Windows from Python 3.13)
                os.fchmod(handle, 0o644)  # like git's own files: readable by others
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            Path(temp).replace(target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _remove_stale_temporaries(target: Path) -> None:
    """Delete what writers killed mid-write left behind (tens of MB each); a write still
    in progress is younger than a minute and stays."""
    cutoff = time.time() - 60
    for leftover in target.parent.glob(f".{target.name}.*"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def _events(rows: list[list[Any]]) -> list[Event]:
    actors: dict[tuple[str, ...], Actor] = {}
    events = []
    when = dt.datetime.fromisoformat
    for row in rows:
        (kind, env, who, sources, changes, gates, hotfix, app, digest, check, url,
         baseline, sha, at, author, acknowledged, reason) = row  # fmt: skip
        key = tuple(who)
        person = actors.get(key)
        if person is None:
            person = actors[key] = Actor(*who)
        events.append(
            Event(
                kind,
                env,
                person,
                tuple(sources),
                tuple(Change(*c) for c in changes) if changes else (),
                tuple(GateNote(*g) for g in gates) if gates else (),
                hotfix,
                app,
                digest,
                (check[0], check[1]) if check else None,
                url,
                tuple((b[0], b[1], b[2], b[3]) for b in baseline) if baseline else (),
                sha,
                when(at) if at else None,
                author,
                (acknowledged[0], acknowledged[1]) if acknowledged else None,
                reason,
            )
        )
    if any(event.kind not in records.KINDS for event in events):
        raise ValueError("unknown event kind")
    return events
