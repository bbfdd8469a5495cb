"""What the history of the environment files shows, read from their diffs.

Read along the branch's first-parent line: each commit there is diffed against the one
before it, so a change that came through a merge is dated by the merge, when it reached
the branch.

An auditor cannot trust a commit's trailers about what it changed; it must read the
change. Parsing every version of every file would cost a YAML parse per commit, so each
file is followed through its zero-context diffs instead: its text is rebuilt hunk by
hunk, and a hunk that replaces the scalar values of known lines (a digest, a version) is
read on the spot. Anything else (a key added or removed, a comment, a flow mapping, a
value in a style not read here) parses the whole new text once and compares values. Either
way the result is the same: which apps' artifacts changed from what to what, and whether
the configuration or anything else changed.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from promoter.errors import PromoterError
from promoter.git import Git
from promoter.patches import FileDiff, Hunk
from promoter.yamlio import Document, KeyPath, NumberTooLong, Scalar, loads, resolve_plain

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def entered(
    git: Git, files: Mapping[str, str], wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], dt.datetime]:
    """When each ``(environment, digest)`` of ``wanted`` last entered its environment's
    file: the date of the newest first-parent commit that added a line holding it.

    ``files`` maps repository-relative file paths to environment names. One ``git log
    -p`` reads back from HEAD and stops once every wanted digest is found.
    """
    looking = set(wanted)
    found: dict[tuple[str, str], dt.datetime] = {}
    if not looking or not git.has_commits():
        return found
    log = git.log_patches("HEAD", sorted(files), first_parent=True)
    try:
        for commit, diffs in log:
            for diff in diffs:
                environment = files.get(diff.path)
                if environment is None:
                    continue
                for hunk in diff.hunks:
                    for line in hunk.added:
                        for digest in _DIGEST.findall(line):
                            key = (environment, digest)
                            if key in looking:
                                looking.discard(key)
                                found[key] = commit.committed
            if not looking:
                break
    finally:
        log.close()  # stops git when everything was found early
    return found


Artifact = dict[str, Any]  # an artifact as written in an environment file


class FileChange(NamedTuple):
    """What one commit changed in one environment file."""

    path: str
    artifacts: dict[str, tuple[Artifact | None, Artifact | None]]  # app: (before, after)
    config: bool  # the environment's own configuration changed
    other: tuple[str, ...] = ()  # other top-level keys that changed
    unreadable: str | None = None  # why the new version cannot be read, if it cannot
    created: bool = False  # the file did not exist (or could not be read) before


class FileModel:
    """One file as it stands after the commits applied so far."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: list[str] = []
        self.data: dict[str, Any] | None = None
        self.index: dict[int, tuple[KeyPath, int]] = {}  # line: (value path, column)

    @property
    def artifacts(self) -> Mapping[str, Artifact]:
        """The artifacts the file pins now (empty when it does not parse)."""
        found = self.data.get("artifacts") if self.data else None
        return found if isinstance(found, dict) else {}

    def apply(self, diff: FileDiff) -> FileChange:
        """Apply one commit's diff of this file; return what it changed."""
        before = self.data
        if diff.new_path is None:  # deleted
            self.lines, self.data, self.index = [], None, {}
            return _compare(self.path, before, None)
        if diff.binary:
            self.lines, self.data, self.index = [], None, {}
            return _compare(self.path, before, None, "the file became binary")
        quick = self._scalars(diff.hunks)
        for hunk in sorted(diff.hunks, key=lambda h: h.old_start, reverse=True):
            if not self._splice(hunk):
                return self._reload(before, "its diff does not apply")  # never expected
        if quick is not None and self.data is not None:
            return self._set(quick)
        change = self._reload(before)
        return change._replace(created=before is None) if before is None else change

    def _scalars(self, hunks: tuple[Hunk, ...]) -> list[tuple[KeyPath, Scalar]] | None:
        """The new scalar values, when every hunk only rewrites known value lines."""
        if self.data is None or not hunks:
            return None
        found: list[tuple[KeyPath, Scalar]] = []
        for hunk in hunks:
            if len(hunk.removed) != len(hunk.added) or not hunk.removed:
                return None
            for offset, (old, new) in enumerate(zip(hunk.removed, hunk.added, strict=True)):
                entry = self.index.get(hunk.old_start + offset)
                if entry is None:
                    return None
                path, column = entry
                if new[:column] != old[:column]:
                    return None
                ok, value = read_scalar(new[column:])
                if not ok:
                    return None
                found.append((path, value))
        return found

    def _splice(self, hunk: Hunk) -> bool:
        start = hunk.old_start - 1 if hunk.removed else hunk.old_start
        if self.lines[start : start + len(hunk.removed)] != list(hunk.removed):
            return False
        self.lines[start : start + len(hunk.removed)] = hunk.added
        return True

    def _set(self, values: list[tuple[KeyPath, Scalar]]) -> FileChange:
        assert self.data is not None
        touched = {path[1] for path, _ in values if len(path) > 2 and path[0] == "artifacts"}
        artifacts = self.artifacts
        before = {app: _clone(artifacts.get(str(app))) for app in touched}
        config = other = False
        for path, value in values:
            target: Any = self.data
            for key in path[:-1]:
                target = target[key]
            if target[path[-1]] == value:
                continue
            target[path[-1]] = value
            config = config or path[0] == "config"
            other = other or path[0] not in ("config", "artifacts")
        changed = {
            str(app): (before[app], _clone(artifacts.get(str(app))))
            for app in touched
            if before[app] != artifacts.get(str(app))
        }
        others = tuple(
            sorted({str(p[0]) for p, _ in values if p[0] not in ("config", "artifacts")})
        )
        return FileChange(self.path, changed, config, others if other else ())

    def _reload(self, before: dict[str, Any] | None, why: str | None = None) -> FileChange:
        if why is not None:
            self.lines, self.data, self.index = [], None, {}
            return _compare(self.path, before, None, why)
        try:
            doc = loads("\n".join(self.lines) + "\n", self.path)
        except PromoterError as exc:
            self.data, self.index = None, {}
            return _compare(self.path, before, None, exc.detail())
        self.data = doc.data if isinstance(doc.data, dict) else None
        self.index = _index(doc) if self.data is not None else {}
        return _compare(self.path, before, self.data)


def _compare(
    path: str, before: dict[str, Any] | None, after: dict[str, Any] | None, why: str | None = None
) -> FileChange:
    old_artifacts = _artifacts(before)
    new_artifacts = _artifacts(after)
    changed = {
        app: (old_artifacts.get(app), new_artifacts.get(app))
        for app in sorted(set(old_artifacts) | set(new_artifacts))
        if old_artifacts.get(app) != new_artifacts.get(app)
    }
    old_rest = {k: v for k, v in (before or {}).items() if k != "artifacts"}
    new_rest = {k: v for k, v in (after or {}).items() if k != "artifacts"}
    config = old_rest.get("config") != new_rest.get("config")
    other = tuple(
        sorted(
            key
            for key in set(old_rest) | set(new_rest)
            if key != "config" and old_rest.get(key) != new_rest.get(key)
        )
    )
    if after is None and why is None:
        why = "the file was deleted"
    return FileChange(path, copy.deepcopy(changed), config, other, why)


def _clone(artifact: Any) -> Any:
    """A copy of an artifact as read from a file (mappings of scalars, two levels deep
    when valid; anything deeper is copied whole)."""
    if not isinstance(artifact, dict):
        return copy.deepcopy(artifact)
    out: dict[str, Any] = {}
    for key, value in artifact.items():
        if isinstance(value, dict) and all(not isinstance(v, dict | list) for v in value.values()):
            out[key] = dict(value)
        elif isinstance(value, dict | list):
            out[key] = copy.deepcopy(value)
        else:
            out[key] = value
    return out


def _artifacts(data: dict[str, Any] | None) -> dict[str, Artifact]:
    found = data.get("artifacts") if data else None
    if not isinstance(found, dict):
        return {}
    return {str(app): spec for app, spec in found.items() if isinstance(spec, dict)}


def _index(doc: Document) -> dict[int, tuple[KeyPath, int]]:
    """Lines that hold exactly one scalar value, written plainly in block style."""
    index: dict[int, tuple[KeyPath, int]] = {}
    crowded: set[int] = set()
    for path, span in doc.values.items():
        if span.style is None or span.flow or span.prefixed or span.style in ("|", ">"):
            if span.style is None and not span.flow:
                continue  # a block collection: its children are indexed on their own lines
            crowded.add(span.line)
            continue
        if not path or "\n" in doc.text[span.start : span.end]:
            crowded.add(span.line)
            continue
        if span.line in index:
            crowded.add(span.line)
        index[span.line] = (path, span.column - 1)
    for line in crowded:
        index.pop(line, None)
    return index


def read_scalar(text: str) -> tuple[bool, Scalar]:
    """A scalar written at the end of a line (``sha256:…  # comment``, ``"1.2"``), read
    the way YAML reads it; ``(False, None)`` when it is written in a way not read here."""
    text = text.rstrip("\r").rstrip(" \t")
    if not text:
        return False, None
    if text[0] == '"':
        end = text.find('"', 1)
        if end < 0 or "\\" in text[1:end] or not _comment_only(text[end + 1 :]):
            return False, None
        return True, text[1:end]
    if text[0] == "'":
        value, index = [], 1
        while index < len(text):
            if text[index] == "'":
                if text[index + 1 : index + 2] == "'":
                    value.append("'")
                    index += 2
                    continue
                return (True, "".join(value)) if _comment_only(text[index + 1 :]) else (False, None)
            value.append(text[index])
            index += 1
        return False, None
    if text[0] in "-?:,[]{}#&*!|>%@`":
        return False, None
    cut = text.find(" #")
    tab = text.find("\t#")
    cuts = [c for c in (cut, tab) if c >= 0]
    plain = (text[: min(cuts)] if cuts else text).rstrip(" \t")
    if not plain or ": " in plain or plain.endswith(":") or "\t" in plain:
        return False, None
    try:
        return True, resolve_plain(plain)
    except NumberTooLong:  # the file no longer loads: the whole-file reading says why
        return False, None


def _comment_only(rest: str) -> bool:
    rest = rest.strip(" \t")
    return not rest or rest.startswith("#")


def document_of(model: FileModel) -> Document | None:
    """The file as it stands, parsed, or None when it does not parse."""
    try:
        return loads("\n".join(model.lines) + "\n", model.path)
    except PromoterError:
        return None
