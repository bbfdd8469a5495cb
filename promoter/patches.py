"""Reading ``git log -p -U0`` output strictly: hunks by their counts, never by their content.

Every line git prints is accounted for. A hunk's lines are taken by the counts in its
``@@ -a,b +c,d @@`` header, so a changed line of a file (whatever it holds: a line shaped
like a commit header, control characters, text that looks like a diff) can never end a
record or start another. A line outside a hunk must be one of git's own diff header
lines; anything else stops the read with an error rather than a guess.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import NamedTuple

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_NO_NEWLINE = "\\ No newline at end of file"
# Lines git prints between `diff --git` and the first hunk.
_HEADER_PREFIXES = (
    "index ",
    "new file mode ",
    "deleted file mode ",
    "old mode ",
    "new mode ",
    "similarity index ",
    "dissimilarity index ",
    "rename from ",
    "rename to ",
    "copy from ",
    "copy to ",
)


class Hunk(NamedTuple):
    """One zero-context hunk: ``removed`` lines from ``old_start``, ``added`` from
    ``new_start`` (1-based; a start of 0 with no lines means "before the first line").
    The ``*_newline`` flags are False when that side's last line has no final newline."""

    old_start: int
    removed: tuple[str, ...]
    new_start: int
    added: tuple[str, ...]
    old_newline: bool = True
    new_newline: bool = True


class FileDiff(NamedTuple):
    """The changes of one file in one commit; a path is None for an added or deleted file.
    ``binary`` when git would not show the text."""

    old_path: str | None
    new_path: str | None
    hunks: tuple[Hunk, ...] = ()
    binary: bool = False

    @property
    def path(self) -> str:
        """The file's path (the new one, or the old one for a deleted file)."""
        return self.new_path or self.old_path or ""


class PatchError(ValueError):
    """The output is not the shape git prints: stop rather than guess."""


def _unquote(text: str) -> str:
    """A path as git prints it: plain, or C-quoted when it holds unusual characters."""
    if not text.startswith('"'):
        return text
    if not text.endswith('"') or len(text) < 2:
        raise PatchError(f"malformed quoted path {text[:60]!r}")
    raw = bytearray()
    body = text[1:-1]
    i = 0
    escapes = {"n": 10, "t": 9, '"': 34, "\\": 92, "a": 7, "b": 8, "f": 12, "r": 13, "v": 11}
    while i < len(body):
        char = body[i]
        if char != "\\":
            raw += char.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in escapes:
            raw.append(escapes[nxt])
            i += 2
        elif re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
            raw.append(int(body[i + 1 : i + 4], 8))
            i += 4
        else:
            raise PatchError(f"malformed quoted path {text[:60]!r}")
    return raw.decode("utf-8", errors="replace")


def _side(text: str, prefix: str) -> str | None:
    path = _unquote(text)
    if path == "/dev/null":
        return None
    if not path.startswith(prefix):
        raise PatchError(f"unexpected path {text[:60]!r}")
    return path[len(prefix) :]


class Lines:
    """Lines of a stream with one line of look-ahead."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._next: str | None = None

    def peek(self) -> str | None:
        if self._next is None:
            self._next = next(self._lines, None)
        return self._next

    def take(self) -> str:
        line = self.peek()
        if line is None:
            raise PatchError("the output ends inside a record")
        self._next = None
        return line

    def take_many(self, count: int) -> list[str]:
        """The next ``count`` lines (a hunk's, by its header's count)."""
        if count <= 0:
            return []
        first = [self.take()]
        if count == 1:
            return first
        rest = list(itertools.islice(self._lines, count - 1))
        if len(rest) < count - 1:
            raise PatchError("the output ends inside a hunk")
        return first + rest


def read_diffs(lines: Lines, stop: str) -> list[FileDiff]:
    """Every file diff up to the next line that starts with ``stop`` (or the end)."""
    diffs: list[FileDiff] = []
    while True:
        line = lines.peek()
        if line is None or line.startswith(stop):
            return diffs
        lines.take()
        if line == "":
            continue
        if not line.startswith("diff --git "):
            raise PatchError(f"unexpected line {line[:60]!r} between file diffs")
        diffs.append(_file_diff(_diff_git_path(line[len("diff --git ") :]), lines, stop))


def _diff_git_path(rest: str) -> str:
    """The path of a ``diff --git a/P b/P`` line (renames are off: both sides agree)."""
    if rest.startswith('"'):
        cut = rest.index('" ') + 1 if '" ' in rest else len(rest)
        left, right = _unquote(rest[:cut]), _unquote(rest[cut + 1 :])
    else:
        half = (len(rest) - 1) // 2
        left, right = rest[:half], rest[half + 1 :]
    if not (left.startswith("a/") and right.startswith("b/") and left[2:] == right[2:]):
        raise PatchError(f"unexpected file header {rest[:60]!r}")
    return left[2:]


def _file_diff(path: str, lines: Lines, stop: str) -> FileDiff:
    old_path: str | None = path
    new_path: str | None = path
    sides_seen = False
    binary = False
    hunks: list[Hunk] = []
    while True:
        line = lines.peek()
        if line is None or line.startswith(stop) or line.startswith("diff --git ") or line == "":
            break
        lines.take()
        if line.startswith("--- "):
            old_path = _side(line[4:], "a/")
        elif line.startswith("+++ "):
            new_path = _side(line[4:], "b/")
            sides_seen = True
        elif line.startswith("Binary files "):
            binary = True
        elif line.startswith("new file mode "):
            old_path = None
        elif line.startswith("deleted file mode "):
            new_path = None
        elif line.startswith("@@ "):
            if not sides_seen:
                raise PatchError("a hunk before the file's ---/+++ lines")
            hunks.append(_hunk(line, lines))
        elif not line.startswith(_HEADER_PREFIXES):
            raise PatchError(f"unexpected line {line[:60]!r} in a file diff")
    return FileDiff(old_path, new_path, tuple(hunks), binary)


def _hunk(header: str, lines: Lines) -> Hunk:
    match = _HUNK.match(header)
    if match is None:
        raise PatchError(f"malformed hunk header {header[:60]!r}")
    old_start, old_count, new_start, new_count = match.groups()
    removed = lines.take_many(1 if old_count is None else int(old_count))
    old_newline = _newline_marker(lines)
    added = lines.take_many(1 if new_count is None else int(new_count))
    new_newline = _newline_marker(lines)
    for line in removed:
        if not line.startswith("-"):
            raise PatchError(f"hunk line {line[:60]!r} is not a removed line")
    for line in added:
        if not line.startswith("+"):
            raise PatchError(f"hunk line {line[:60]!r} is not an added line")
    return Hunk(
        int(old_start),
        tuple(line[1:] for line in removed),
        int(new_start),
        tuple(line[1:] for line in added),
        old_newline or not removed,
        new_newline or not added,
    )


def _newline_marker(lines: Lines) -> bool:
    """False (and consumed) when git says the side just read has no final newline."""
    if lines.peek() == _NO_NEWLINE:
        lines.take()
        return False
    return True
