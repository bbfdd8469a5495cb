"""Safe, located YAML loading and byte-exact scalar edits.

Loading walks ruamel.yaml's event stream (its C parser when available) and builds plain
JSON-like data together with the exact location of every key and value. Walking events
instead of composing nodes keeps memory and time bounded: depth, the expanded node count
(which defeats alias bombs), the length of integers and file size are all capped before
anything is built, and no recursion happens on hostile nesting.

The C parser is libyaml, which follows YAML 1.1 in two places where YAML 1.2 (the version
promoter reads) is more liberal: a ``:`` inside a plain scalar in a flow collection
(``{digest: sha256:…}``, ``[https://…]``) and a tab on a line that is otherwise blank or a
comment. A file it refuses is read again the 1.2 way: tabs on such lines become spaces
(same length, so every location stays right) unless they would fall inside a block scalar,
and ruamel.yaml's pure-Python parser, which allows those colons, reads it. Only when every
reading fails is the file invalid, and the error of the reading that got furthest is shown.

Editing never regenerates a document. ruamel.yaml's parser tells us exactly which
characters hold the scalar to change; only those characters are replaced, in the same
quoting style, and the result is parsed again to prove that exactly the intended values
changed. Comments, key order, quoting, indentation, blank lines, document markers, CRLF
line endings and a missing final newline therefore survive by construction.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from promoter.errors import ConfigError
from promoter.gcpause import paused_gc

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 1_000_000  # counted with aliases expanded, so a "billion laughs" stops early
# Far above any real number (a 64-bit integer has 20 digits), far below the length at which
# Python refuses to convert an integer to or from text (640 digits at its strictest).
MAX_INT_DIGITS = 100

Scalar = str | int | float | bool | None
KeyPath = tuple[str | int, ...]

_YAML = "tag:yaml.org,2002:"
_NULL = re.compile(r"(?:null|Null|NULL|~|)\Z")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"[-+]?[0-9]+\Z")
_INT8 = re.compile(r"0o[0-7]+\Z")
_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)\Z")


class NumberTooLong(ValueError):
    """A plain scalar reads as an integer with more than MAX_INT_DIGITS digits."""

    def __init__(self, digits: int) -> None:
        super().__init__(f"integer of {digits} digits (at most {MAX_INT_DIGITS} are read)")
        self.digits = digits


class Span(NamedTuple):
    """Where a key or value stands: 1-based line and column, and 0-based character offsets.

    A NamedTuple rather than a frozen dataclass: a large file has tens of thousands of
    spans, and a tuple is several times cheaper to build.
    """

    line: int
    column: int
    start: int
    end: int
    style: str | None = None  # scalars: "" plain, "'", '"', "|", ">"; collections: None
    prefixed: bool = False  # the scalar carries an anchor or a tag before its text
    flow: bool = False  # the node stands inside a flow collection ({...} or [...])


@dataclass(frozen=True)
class Document:
    """A loaded YAML file: its text, plain data, and where every key and value stands."""

    name: str
    text: str
    data: Any
    values: Mapping[KeyPath, Span]
    keys: Mapping[KeyPath, Span]

    def locate(self, path: KeyPath, *, key: bool = False) -> Span | None:
        """The span of ``path`` (its key with ``key=True``), else of its nearest ancestor."""
        probe = tuple(path)
        while True:
            table = self.keys if key and probe else self.values
            span = table.get(probe)
            if span is not None:
                return span
            if not probe:
                return None
            probe = probe[:-1]
            key = False


def _error(
    name: str,
    message: str,
    hint: str,
    line: int | None = None,
    column: int | None = None,
    code: str = "yaml",
) -> ConfigError:
    return ConfigError(message, file=name, line=line, column=column, hint=hint, code=code)


def read_text(path: Path, name: str | None = None) -> str:
    """Read a YAML file as UTF-8 text, refusing oversized, non-UTF-8 and BOM-marked files."""
    display = name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _error(
                display,
                f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit",
                "Split it, or check that it is the file you meant",
                code="too-large",
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            "file not found (or a dangling symlink)",
            file=display,
            hint="Create it, or point --repo at the right repository",
            code="unreadable",
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            "is a directory, not a YAML file", file=display, hint="Name a file", code="unreadable"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file: {exc.strerror or exc}",
            file=display,
            hint="Check that it is a readable regular file",
            code="unreadable",
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise _error(
            display,
            f"file is over the {MAX_FILE_BYTES}-byte limit",
            "Split it, or check that it is the file you meant",
            code="too-large",
        )
    return decode(raw, display)


def decode(raw: bytes, name: str) -> str:
    """Decode strict UTF-8 without a byte order mark, naming the line of a bad byte."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise _error(
            name,
            "file starts with a UTF-8 byte order mark (BOM)",
            "Save it as UTF-8 without BOM (for example: sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)",
            1,
            1,
            code="encoding",
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _error(name, "file is UTF-16 encoded", "Save it as UTF-8", 1, 1, code="encoding")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _error(
            name,
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
            "Save the file as UTF-8",
            line,
            column,
            code="encoding",
        ) from None


def load(path: Path, name: str | None = None) -> Document:
    """Load one YAML file safely, with locations; raise ConfigError naming file and line."""
    display = name or str(path)
    return loads(read_text(path, display), display)


def loads(text: str, name: str) -> Document:
    """Parse YAML text (one document) into a located Document."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    try:
        return _parse(text, name)
    except ReaderError as exc:
        line, column = _Lines(text).at(exc.position)
        raise _error(
            name,
            f"invalid YAML: character U+{exc.character:04X} is not allowed in YAML",
            "Remove it, or write it escaped in a double-quoted string",
            line,
            column,
            code="encoding",
        ) from None
    except UnicodeEncodeError as exc:  # a lone surrogate: text that never came from UTF-8
        line, column = _Lines(text).at(exc.start)
        raise _error(
            name,
            f"invalid YAML: U+{ord(text[exc.start]):04X} is a lone surrogate, not a character",
            "Remove it; YAML text is UTF-8",
            line,
            column,
            code="encoding",
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context})"
        problem = " ".join(problem.split())  # one line, whatever the parser wrote
        line, column = _place(text, mark) if mark else (1, 1)
        raise _error(
            name,
            f"invalid YAML: {problem}",
            "Fix the syntax at that position (a YAML linter such as yamllint helps)",
            line,
            column,
        ) from None
    except YAMLError as exc:
        raise _error(name, f"invalid YAML: {exc}", "Fix the syntax") from None


# YAML 1.2 breaks lines at LF, CRLF and CR only. Both parsers also break them at NEL, LS
# and PS, as YAML 1.1 did, each in places of its own; where a text holds one of those, every
# line and column is counted again from its character offset, as editors and git count.
_ODD_BREAKS = re.compile("[\x85\u2028\u2029]")
_LINE_BREAK = re.compile(r"\r\n?|\n")


class _Lines:
    """Lines and columns (1-based) of character offsets in a text."""

    def __init__(self, text: str) -> None:
        self.starts = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]

    def at(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1


def _place(text: str, mark: Any) -> tuple[int, int]:
    """The line and column of a parser's mark."""
    if _ODD_BREAKS.search(text):
        return _Lines(text).at(mark.index)
    return mark.line + 1, mark.column + 1


def _relocated(doc: Document) -> Document:
    """``doc`` with every line and column counted from its offsets (see _ODD_BREAKS)."""
    if not _ODD_BREAKS.search(doc.text):
        return doc
    lines = _Lines(doc.text)

    def table(spans: Mapping[KeyPath, Span]) -> dict[KeyPath, Span]:
        moved = {}
        for path, span in spans.items():
            line, column = lines.at(span.start)
            moved[path] = span._replace(line=line, column=column)
        return moved

    return Document(doc.name, doc.text, doc.data, table(doc.values), table(doc.keys))


# A tab in the leading whitespace of a line that holds nothing else, or only a comment:
# separation space in YAML 1.2, "a tab that violates indentation" to libyaml.
_BLANK_LINE_TABS = re.compile(r"^[ \t]*\t[ \t]*(?=#|[\r\n]|\Z)", re.MULTILINE)


def _parse(text: str, name: str) -> Document:
    """Build ``text`` from the C parser's events; if it refuses, read it the YAML 1.2 way."""
    from ruamel.yaml.error import MarkedYAMLError

    try:
        return _Builder(name, text).run(text, pure=False)
    except MarkedYAMLError as exc:
        errors = [exc]
    tabs = [match.span() for match in _BLANK_LINE_TABS.finditer(text)]
    untabbed = _BLANK_LINE_TABS.sub(lambda m: m.group().replace("\t", " "), text)
    for pure in (False, True) if tabs else (True,):
        try:
            doc = _Builder(name, text).run(untabbed, pure=pure)
        except MarkedYAMLError as exc:
            errors.append(exc)
            continue
        if _in_block_scalar(doc, tabs):
            break  # there a tab is content, or ends the scalar: the spaces changed the value
        return doc
    raise max(errors, key=_reach)


def _reach(error: Any) -> int:
    """How far into the text a parser got before ``error``."""
    mark = error.problem_mark or error.context_mark
    return mark.index if mark is not None else -1


def _in_block_scalar(doc: Document, ranges: list[tuple[int, int]]) -> bool:
    if not ranges:
        return False
    for table in (doc.values, doc.keys):
        for span in table.values():
            if span.style in ("|", ">") and any(
                start < span.end and span.start < end for start, end in ranges
            ):
                return True
    return False


def _events(text: str, pure: bool) -> Iterator[Any]:
    from ruamel.yaml import YAML

    # typ="safe" with pure=False selects the C parser when ruamel.yaml.clib is installed.
    yaml = YAML(typ="safe", pure=pure)
    if pure:
        yaml.Parser = _pure_parser()
    return iter(yaml.parse(text))


@functools.cache
def _pure_parser() -> type:
    """ruamel.yaml's pure-Python parser, placing an empty value where libyaml does: so a
    file reads with the same locations whichever parser read it."""
    from ruamel.yaml.parser import Parser
    from ruamel.yaml.tokens import (
        BlockEndToken,
        FlowEntryToken,
        FlowMappingEndToken,
        FlowSequenceEndToken,
        KeyToken,
        ValueToken,
    )

    class LocatedParser(Parser):
        def parse_block_mapping_value(self) -> Any:
            # The empty value of "key:" stands right after the ":" (ruamel.yaml puts it at
            # the next key, lines further on), where an edit writes the new value.
            scanner = self.scanner
            self.state = self.parse_block_mapping_key
            if not scanner.check_token(ValueToken):
                return self.process_empty_scalar(scanner.peek_token().start_mark)
            token = scanner.get_token()
            if scanner.check_token(KeyToken, ValueToken, BlockEndToken):
                return self.process_empty_scalar(token.end_mark)
            self.states.append(self.parse_block_mapping_key)
            return self.parse_block_node_or_indentless_sequence()

        def parse_flow_mapping_value(self) -> Any:
            # In a flow collection libyaml puts an empty value at the token after it.
            return self._flow_value(FlowMappingEndToken, self.parse_flow_mapping_key)

        def parse_flow_sequence_entry_mapping_value(self) -> Any:
            return self._flow_value(
                FlowSequenceEndToken, self.parse_flow_sequence_entry_mapping_end
            )

        def _flow_value(self, end: type, after: Any) -> Any:
            scanner = self.scanner
            if scanner.check_token(ValueToken):
                scanner.get_token()
                if not scanner.check_token(FlowEntryToken, end):
                    self.states.append(after)
                    return self.parse_flow_node()
            self.state = after
            return self.process_empty_scalar(scanner.peek_token().start_mark)

    return LocatedParser


class _Frame:
    __slots__ = ("anchor", "container", "flow", "key", "key_span", "path", "size")

    def __init__(
        self,
        container: dict[str, Any] | list[Any],
        path: KeyPath,
        anchor: str | None,
        flow: bool = False,
    ) -> None:
        self.container = container
        self.path = path
        self.anchor = anchor
        self.flow = flow
        self.key: str | None = None
        self.key_span: Span | None = None
        self.size = 1


class _Builder:
    """Turns an event stream into data plus spans, enforcing every safety limit."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.values: dict[KeyPath, Span] = {}
        self.keys: dict[KeyPath, Span] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.nodes = 0
        self.documents = 0
        self.root: Any = None

    def fail(self, event: Any, message: str, hint: str, code: str = "yaml") -> ConfigError:
        line, column = _place(self.text, event.start_mark)
        return _error(self.name, message, hint, line, column, code)

    def run(self, source: str, pure: bool) -> Document:
        """Build from the events of ``source``: the text itself, or the text with blank-line
        tabs made spaces (the same length, so every location is one in the text)."""
        # Building tens of thousands of small containers triggers many useless cyclic-GC
        # passes (nothing built here is garbage yet); pause the collector while building.
        with paused_gc():
            return _relocated(self._run(source, pure))

    def _run(self, source: str, pure: bool) -> Document:
        from ruamel.yaml import events as ev

        for event in _events(source, pure):
            kind = type(event)
            if kind is ev.ScalarEvent:
                if pure and _SURROGATE.search(event.value):
                    raise self.fail(
                        event,
                        "an escape in this string stands for a lone surrogate, not a character",
                        "Write the character itself, or its \\U00XXXXXX escape",
                        code="encoding",
                    )
                self.scalar(event)
            elif kind is ev.MappingStartEvent or kind is ev.SequenceStartEvent:
                self.start(event, {} if kind is ev.MappingStartEvent else [])
            elif kind is ev.MappingEndEvent or kind is ev.SequenceEndEvent:
                self.end(event)
            elif kind is ev.AliasEvent:
                self.alias(event)
            elif kind is ev.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise self.fail(
                        event,
                        "a second YAML document starts here",
                        "promoter files hold exactly one document; remove the "
                        "extra '---' or split the file",
                    )
        return Document(self.name, self.text, self.root, self.values, self.keys)

    def count(self, event: Any, size: int) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            raise self.fail(
                event,
                f"document expands to more than {MAX_NODES} nodes",
                "This looks like an alias bomb or a generated file; remove the "
                "repeated aliases (*name)",
                code="alias-limit",
            )

    def span(self, event: Any, style: str | None = None, prefixed: bool = False) -> Span:
        start, end = event.start_mark, event.end_mark
        flow = bool(self.stack) and self.stack[-1].flow
        return Span(start.line + 1, start.column + 1, start.index, end.index, style, prefixed, flow)

    def place(self, event: Any, value: Any, span: Span, size: int) -> KeyPath | None:
        """Attach a value to the open collection; return its path, or None for a mapping key."""
        if not self.stack:
            self.root = value
            self.values[()] = span
            return ()
        top = self.stack[-1]
        container = top.container
        if isinstance(container, dict):
            if top.key is None:
                if not isinstance(value, str):
                    raise self.fail(
                        event, "mapping keys must be plain scalars", "Use a simple name as the key"
                    )
                if value in container:
                    first = self.keys[(*top.path, value)]
                    raise self.fail(
                        event,
                        f"duplicate key {value!r} (first defined on line {first.line})",
                        "Remove one of the two entries",
                        code="duplicate-key",
                    )
                top.key, top.key_span = value, span
                return None
            path = (*top.path, top.key)
            assert top.key_span is not None
            self.keys[path] = top.key_span
            container[top.key] = value
            top.key = None
        else:
            path = (*top.path, len(container))
            container.append(value)
        self.values[path] = span
        top.size += size
        return path

    def scalar(self, event: Any) -> None:
        # The hot path: most events are scalars, so this avoids helper calls where it can.
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.count(event, 0)
        top = self.stack[-1] if self.stack else None
        tag, style = event.tag, event.style
        start, end = event.start_mark, event.end_mark
        span = Span(
            start.line + 1,
            start.column + 1,
            start.index,
            end.index,
            style or "",
            bool(event.anchor) or tag is not None,  # "!" too: "! text"
            top.flow if top is not None else False,
        )
        is_key = top is not None and top.key is None and isinstance(top.container, dict)
        value: Any
        try:
            if is_key:
                value = event.value
            elif tag is None and not style:
                value = resolve_plain(event.value)
            else:
                value = self.resolve(event)
        except NumberTooLong as exc:
            raise self.fail(
                event,
                f"a number of {exc.digits} digits is longer than any promoter reads (at most "
                f"{MAX_INT_DIGITS} digits)",
                "If it is text, quote it; else shorten it",
            ) from None
        self.place(event, value, span, 1)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)

    def resolve(self, event: Any) -> Scalar:
        tag, text, plain = event.tag, event.value, not event.style
        if tag is None and plain:
            return resolve_plain(text)
        if tag is None or tag == "!" or tag == _YAML + "str":
            return str(text)
        # An explicit core-schema tag: the text must read as that type.
        expected: dict[str, tuple[type, ...]] = {
            "int": (int,),
            "float": (int, float),
            "bool": (bool,),
            "null": (type(None),),
        }
        short = tag[len(_YAML) :] if tag.startswith(_YAML) else None
        if short in expected:
            value = resolve_plain(text)
            if isinstance(value, expected[short]) and not (
                short != "bool" and isinstance(value, bool)
            ):
                return float(value) if short == "float" else value  # type: ignore[arg-type]
            raise self.fail(
                event, f"{text!r} is not a valid !!{short}", "Remove the tag or fix the value"
            )
        raise self.fail(
            event, f"unsupported YAML tag {tag!r}", "promoter files use plain YAML: remove the tag"
        )

    def start(self, event: Any, container: dict[str, Any] | list[Any]) -> None:
        self.count(event, 1)
        if event.tag not in (None, "!", _YAML + "map", _YAML + "seq"):
            raise self.fail(
                event,
                f"unsupported YAML tag {event.tag!r}",
                "promoter files use plain YAML: remove the tag",
            )
        if self.stack and isinstance(self.stack[-1].container, dict) and self.stack[-1].key is None:
            raise self.fail(
                event, "mapping keys must be plain scalars", "Use a simple name as the key"
            )
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(
                event,
                f"nesting deeper than {MAX_DEPTH} levels",
                "Flatten the structure; promoter files are shallow",
                code="too-deep",
            )
        path = self.place(event, container, self.span(event), 0)
        assert path is not None  # a collection key was refused above
        flow = bool(event.flow_style) or (bool(self.stack) and self.stack[-1].flow)
        self.stack.append(_Frame(container, path, event.anchor, flow))
        if event.anchor:
            self.open_anchors.add(event.anchor)

    def end(self, event: Any) -> None:
        frame = self.stack.pop()
        if frame.flow:  # a flow collection ends at its bracket; record where
            span = self.values[frame.path]
            self.values[frame.path] = span._replace(end=event.end_mark.index)
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.container, frame.size)
        if self.stack:
            self.stack[-1].size += frame.size

    def alias(self, event: Any) -> None:
        name = event.anchor
        if name in self.open_anchors:
            raise self.fail(
                event,
                f"alias *{name} refers to the collection that contains it",
                "Recursive structures are not allowed; remove the alias",
                code="alias-limit",
            )
        if name not in self.anchors:
            raise self.fail(
                event,
                f"alias *{name} has no anchor &{name} before it",
                "Define the anchor first or remove the alias",
            )
        value, size = self.anchors[name]
        self.count(event, size)
        self.place(event, value, self.span(event, None), size)


_NOT_STRING_START = frozenset("0123456789+-.~nNtTfF")
# libyaml refuses an escape such as "\ud800"; ruamel.yaml's pure-Python parser makes it a
# lone surrogate, which no output can encode.
_SURROGATE = re.compile("[\ud800-\udfff]")


def resolve_plain(text: str) -> Scalar:
    """Resolve a plain scalar with the YAML 1.2 core schema.

    Raises NumberTooLong for an integer of more than MAX_INT_DIGITS digits.
    """
    if text and text[0] not in _NOT_STRING_START:
        return text  # no null, bool, int or float starts with any other character
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT10.match(text):
        return _int(text, len(text) - (text[0] in "+-"), 10)
    if _INT8.match(text):
        return _int(text[2:], len(text) - 2, 8)
    if _INT16.match(text):
        return _int(text[2:], len(text) - 2, 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


def _int(digits: str, count: int, base: int) -> int:
    if count > MAX_INT_DIGITS:
        raise NumberTooLong(count)
    return int(digits, base)
