"""Byte-exact edits of YAML files: set scalars, add and remove mapping entries.

A document is never regenerated. The located parse of :mod:`promoter.yamlio` says exactly
which characters hold each key and value; an edit replaces, inserts or deletes only those
characters (new entries take the indentation, quoting and line endings of their
neighbours), and the result is parsed again to prove that exactly the intended values
changed. Comments, key order, quoting, indentation, blank lines, document markers, CRLF
line endings and a missing final newline therefore survive by construction.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from promoter.errors import ConfigError
from promoter.yamlio import (
    Document,
    KeyPath,
    NumberTooLong,
    Scalar,
    Span,
    loads,
    resolve_plain,
)

# A value to insert: a scalar, or a mapping of them (an artifact with its source block).
Value = Scalar | Mapping[str, Any]


_PLAIN_FIRST_FORBIDDEN = set("-?:,[]{}#&*!|>'\"%@`")
# Plain words that YAML 1.1 readers (PyYAML, go-yaml v2 under kubectl and Helm) take for
# booleans, numbers (with "_", 0b, sexagesimal 12:30), dates, merge or value keys.
_YAML11_NOT_STR = re.compile(
    r"(?:[yYnN]|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|<<|=)\Z"
    r"|[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?|\.[0-9_]+)"
    r"(?:[eE][-+]?[0-9]+)?\Z"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ]|\Z)"
)


def _plain_ok(value: str, flow: bool = False) -> bool:
    """True when ``value`` can be written as a plain scalar and read back as the same string."""
    if not value or value != value.strip() or "\n" in value or "\r" in value:
        return False
    # YAML 1.2 allows "sha256:…" plain in a flow collection; libyaml-based readers (PyYAML,
    # kubectl and Helm through go-yaml) refuse it, so a new value there is quoted.
    if _YAML11_NOT_STR.match(value) or (flow and ":" in value):
        return False
    if value[0] in _PLAIN_FIRST_FORBIDDEN and not (
        value[0] in "-?:" and len(value) > 1 and not value[1].isspace()
    ):
        return False
    if ": " in value or " #" in value or value.endswith(":") or "\t" in value:
        return False
    if any(ch in value for ch in ",[]{}"):  # unsafe inside flow collections
        return False
    try:
        resolved = resolve_plain(value)
    except NumberTooLong:  # a plain number too long to read: quoted, it is text
        return False
    return resolved == value and isinstance(resolved, str)


def render_scalar(value: Scalar, style: str, flow: bool = False) -> str:
    """Render ``value`` as YAML in the given quoting style, falling back to a safe one."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"
    if isinstance(value, int | float):
        return json.dumps(value)
    if style == '"':
        return json.dumps(value, ensure_ascii=False)
    if style == "'" or not _plain_ok(value, flow):
        if "\n" in value or "\r" in value:
            return json.dumps(value, ensure_ascii=False)
        return "'" + value.replace("'", "''") + "'"
    return value


def _path_text(path: KeyPath) -> str:
    return ".".join(str(part) for part in path) or "(document)"


def _value_at(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data


@dataclass(frozen=True)
class Edits:
    """What to change in one document.

    ``set``: existing scalars by path. ``insert``: new keys, by the path they will have
    (their mapping must exist, the key must not). ``remove``: existing keys by path.
    """

    set: Mapping[KeyPath, Scalar] = field(default_factory=dict)
    insert: Mapping[KeyPath, Value] = field(default_factory=dict)
    remove: Sequence[KeyPath] = ()


def apply_edits(doc: Document, edits: Edits) -> str:
    """Return ``doc.text`` with ``edits`` applied to exactly the characters they concern."""
    return edit_document(doc, edits).text


def edit_document(doc: Document, edits: Edits) -> Document:
    """``doc`` with ``edits`` applied (see :func:`apply_edits`), parsed: the new text and
    its values, as the check that only the intended values changed read them."""
    splices: list[tuple[int, int, str]] = []
    for path, value in edits.set.items():
        splice = _set_splice(doc, tuple(path), value)
        if splice is not None:
            splices.append(splice)
    for path in edits.remove:
        splices.append(_remove_splice(doc, tuple(path)))
    by_mapping: dict[KeyPath, list[tuple[str, Value]]] = {}
    for path, inserted in edits.insert.items():
        by_mapping.setdefault(tuple(path)[:-1], []).append((str(path[-1]), inserted))
    for mapping, entries in by_mapping.items():
        splices.append(_insert_splice(doc, mapping, entries))
    text = doc.text
    # From the end, so earlier offsets stay valid; an insertion at the end of a removed
    # range sorts after it and is applied first.
    for start, end, new in sorted(splices, reverse=True):
        text = text[:start] + new + text[end:]
    return _verify(doc, edits, text)


def _fail(doc: Document, message: str, hint: str, span: Span | None = None) -> ConfigError:
    return ConfigError(
        message,
        file=doc.name,
        line=span.line if span else None,
        column=span.column if span else None,
        hint=hint,
    )


def _set_splice(doc: Document, path: KeyPath, value: Scalar) -> tuple[int, int, str] | None:
    span = doc.values.get(path)
    where = _path_text(path)
    if span is None:
        raise _fail(
            doc, f"no value at {where}", "Add the key by hand first, or insert it as a new entry"
        )
    if span.style is None:
        raise _fail(
            doc,
            f"the value at {where} is a collection or an alias, not a scalar",
            "Point at a scalar value",
            span,
        )
    if span.style in ("|", ">"):
        raise _fail(
            doc,
            f"the value at {where} is a block scalar",
            "Write it as a single-line scalar first",
            span,
        )
    current = _value_at(doc.data, path)
    if type(current) is type(value) and current == value:
        return None  # keep its spelling ("caf\u00e9", True, 0x10): the bytes stay the same
    start = span.start
    if span.prefixed:
        start = _skip_properties(doc.text, start, span.end)
    # A plain value that already holds a ":" in a flow collection ({digest: sha256:…}) is
    # read by YAML 1.2 parsers only: its file gains nothing from quoting the new one.
    flow = span.flow and not (span.style == "" and ":" in doc.text[start : span.end])
    new = render_scalar(value, span.style, flow)
    if start == span.end and start > 0 and not doc.text[start - 1].isspace():
        new = " " + new  # no value at all: "key:", "-", "key: &anchor" or "key: !!str"
    return (start, span.end, new)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _subtree_end(doc: Document, path: KeyPath) -> int:
    """Where the last character of the value at ``path`` (and everything inside it) ends."""
    size = len(path)
    return max(
        span.end
        for table in (doc.values, doc.keys)
        for key, span in table.items()
        if key[:size] == path and (key != path or table is doc.values)
    )


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _after_line(text: str, index: int) -> int:
    """The index just past the line break that ends the line holding ``index``."""
    if index > 0 and text[index - 1] == "\n":
        return index  # a block scalar's span already ends past its line break
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def _is_flow_mapping(doc: Document, path: KeyPath) -> bool:
    span = doc.values[path]
    start = _skip_properties(doc.text, span.start, span.end) if span.prefixed else span.start
    return doc.text.startswith("{", start)


def _children(doc: Document, path: KeyPath) -> list[Span]:
    size = len(path) + 1
    return [span for key, span in doc.keys.items() if len(key) == size and key[:-1] == path]


def _indent_step(doc: Document) -> int:
    """The document's indentation step: a child key's column minus its parent key's."""
    for key, span in doc.keys.items():
        parent = doc.keys.get(key[:-1]) if len(key) > 1 else None
        if parent is not None and span.column > parent.column:
            return span.column - parent.column
    return 2


def _render_block(key: str, value: Value, indent: int, step: int) -> list[str]:
    pad = " " * indent
    name = render_scalar(key, "")
    if isinstance(value, Mapping):
        if not value:
            return [f"{pad}{name}: {{}}"]
        lines = [f"{pad}{name}:"]
        for child, inner in value.items():
            lines.extend(_render_block(str(child), inner, indent + step, step))
        return lines
    return [f"{pad}{name}: {render_scalar(value, '')}"]


def _render_flow(value: Value) -> str:
    if isinstance(value, Mapping):
        inner = ", ".join(
            f"{render_scalar(str(k), '', True)}: {_render_flow(v)}" for k, v in value.items()
        )
        return "{" + inner + "}"
    return render_scalar(value, "", True)


def _insert_splice(
    doc: Document, mapping: KeyPath, entries: list[tuple[str, Value]]
) -> tuple[int, int, str]:
    where = _path_text(mapping)
    target = _value_at(doc.data, mapping) if mapping in doc.values else None
    if not isinstance(target, dict):
        raise _fail(doc, f"{where} is not a mapping", "Insert into an existing mapping")
    for key, _ in entries:
        if key in target:
            raise _fail(doc, f"{where} already has {key!r}", "Set its values instead")
    text = doc.text
    span = doc.values[mapping]
    key_span = doc.keys.get(mapping)
    lines: list[str] = []
    if _is_flow_mapping(doc, mapping) and not target and not span.flow and key_span is not None:
        # "artifacts: {}" under a block mapping becomes a block: the file keeps one style.
        step = _indent_step(doc)
        for name, value in entries:
            lines.extend(_render_block(name, value, key_span.column - 1 + step, step))
        newline = _newline(text)
        colon = text.rindex(":", key_span.end, span.start)
        end = _after_line(text, span.end)
        rest = text[span.end : end].rstrip("\r\n")  # a comment after "{}" stays on its line
        if end == len(text) and not text.endswith("\n"):
            return (colon + 1, end, rest + newline + newline.join(lines))
        return (colon + 1, end, rest + newline + newline.join(lines) + newline)
    if _is_flow_mapping(doc, mapping):
        close = doc.values[mapping].end - 1
        new = ", ".join(f"{render_scalar(k, '', True)}: {_render_flow(v)}" for k, v in entries)
        return (close, close, (", " if target else "") + new)
    siblings = _children(doc, mapping)
    if not siblings:
        raise _fail(doc, f"{where} is empty", "Write its first entry by hand")
    indent = siblings[0].column - 1
    for key, value in entries:
        lines.extend(_render_block(key, value, indent, _indent_step(doc)))
    newline = _newline(text)
    at = _after_line(text, _subtree_end(doc, mapping))
    if at == len(text) and not text.endswith("\n"):
        return (at, at, newline + newline.join(lines))  # keep the missing final newline
    return (at, at, newline.join(lines) + newline)


def _remove_splice(doc: Document, path: KeyPath) -> tuple[int, int, str]:
    key_span = doc.keys.get(path)
    where = _path_text(path)
    if key_span is None:
        raise _fail(doc, f"no key at {where}", "Name an existing key")
    text = doc.text
    parent = path[:-1]
    if parent in doc.values and _is_flow_mapping(doc, parent):
        end = _subtree_end(doc, path)
        rest = text[end:]
        stripped = rest.lstrip(" ")
        if stripped.startswith(","):
            end += len(rest) - len(stripped) + 1
            end += len(text[end:]) - len(text[end:].lstrip(" "))
            return (key_span.start, end, "")
        before = text[: key_span.start].rstrip(" ")
        if before.endswith(","):
            return (len(before) - 1, end, "")
        return (key_span.start, end, "")
    start = _line_start(text, key_span.start)
    if text[start : key_span.start].strip():
        raise _fail(
            doc,
            f"the key at {where} shares its line with other content",
            "Edit this entry by hand",
            key_span,
        )
    return (start, _after_line(text, _subtree_end(doc, path)), "")


def _skip_properties(text: str, start: int, end: int) -> int:
    """Skip a scalar's anchor (&a), tag (!t) and comments after them: only its text is replaced."""
    pos = start
    while pos < end and text[pos] in "&!#":
        if text[pos] == "#":  # "key: &a  # comment" with the value on the next line
            while pos < end and text[pos] not in "\r\n":
                pos += 1
        while pos < end and not text[pos].isspace():
            pos += 1
        while pos < end and text[pos].isspace():
            pos += 1
    return pos


def _verify(doc: Document, edits: Edits, text: str) -> Document:
    """Parse the edited text and prove that exactly the intended values changed."""
    expected = copy.deepcopy(json.loads(json.dumps(doc.data)))
    for path, value in edits.set.items():
        _value_at(expected, tuple(path)[:-1])[path[-1]] = value
    for path in edits.remove:
        del _value_at(expected, tuple(path)[:-1])[path[-1]]
    for path, inserted in edits.insert.items():
        _value_at(expected, tuple(path)[:-1])[path[-1]] = json.loads(json.dumps(inserted))
    edited = loads(text, doc.name)
    if json.dumps(edited.data, sort_keys=True) != json.dumps(expected, sort_keys=True):
        raise ConfigError(
            "editing would change more than the intended values (an alias shares one of them?)",
            file=doc.name,
            hint="Edit this file by hand; nothing was written",
        )
    return edited
