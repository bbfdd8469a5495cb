"""Hostile input: every wrong type at every node of both formats, and mutated whole files.

Whatever a file holds, checking it ends in findings located at ``file:line:col`` with a
registered code, never in an exception; the CLI exits 0, 1 or 3, never 70, prints no
traceback and writes nothing; and an edit of a file that loads changes only the characters
of the value it sets. Most cases run in-process (``check_repository`` with ``texts`` standing in for
the files); a few go through the real CLI. Hypothesis runs derandomized and without an
example database (see conftest.py), so every run tries the same examples.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml.error import YAMLError

from promoter import yamledit, yamlio
from promoter.errors import PromoterError
from promoter.findings import CODES, Finding
from promoter.layout import Layout
from promoter.validate import check_repository
from promoter.yamlio import Document, KeyPath, loads
from tests.conftest import CASES, EXAMPLE, ROOT, promoter_env, tree_state


class Sample(NamedTuple):
    """One file of a valid repository: which repository, which file, its text and data."""

    repo: Path
    path: Path
    text: str
    doc: Document

    def __repr__(self) -> str:
        return f"Sample({self.path.relative_to(ROOT)})"

    @property
    def layout(self) -> Layout:
        return Layout(self.repo, self.repo / "environments" / "pipeline.yaml")


def _sample(repo: Path, name: str) -> Sample:
    path = repo / "environments" / name
    text = path.read_bytes().decode("utf-8")
    return Sample(repo, path, text, loads(text, name))


REPOS = [
    EXAMPLE.parent,
    *(CASES / "positive" / name for name in ("all-gates", "diamond-crlf-anchors")),
]
PIPELINES = [_sample(repo, "pipeline.yaml") for repo in REPOS]
ENVIRONMENTS = [
    _sample(EXAMPLE.parent, "prod.yaml"),
    _sample(CASES / "positive" / "all-gates", "prod.yaml"),
    _sample(CASES / "positive" / "diamond-crlf-anchors", "build.yaml"),
]
SAMPLES = PIPELINES + ENVIRONMENTS
ALL_FILES = [
    _sample(repo, path.name)
    for repo in REPOS
    for path in sorted((repo / "environments").glob("*.yaml"))
]


def _ids(samples: list[Sample]) -> list[str]:
    return [
        f"{'example' if s.repo == EXAMPLE.parent else s.repo.name}/{s.path.name}" for s in samples
    ]


class Junk(NamedTuple):
    """A value to put where another belongs: its YAML text and the JSON type it reads as
    (None: the loader refuses it, so it is a finding wherever it stands)."""

    text: str
    kind: str | None


JUNK = [
    Junk("7", "number"),
    Junk("-1.5e3", "number"),
    Junk(".inf", "number"),
    Junk("true", "boolean"),
    Junk("null", "null"),
    Junk("~", "null"),
    Junk('"text"', "string"),
    Junk("''", "string"),
    Junk("[]", "array"),
    Junk("[1, text, null, {a: [true]}]", "array"),
    Junk("{}", "object"),
    Junk("{a: 1, b: {c: [sha256:x, https://x.example/a]}}", "object"),
    Junk("{image: r/web, digest: sha256:abc, url: https://x.example/a:b}", "object"),
    Junk("1" * 5000, None),  # an integer of thousands of digits
    Junk("-0x" + "f" * 400, "string"),  # a sign before 0x: a string in YAML 1.2
    Junk("0x" + "f" * 400, None),
    Junk("0o" + "7" * 400, None),
    Junk("!!float 1" + "0" * 400, None),
    Junk('{k: "\\ud800", u: https://x}', None),  # an escaped lone surrogate, in YAML 1.2
    Junk("!!int x", None),
    Junk("!custom x", None),
    Junk("*nowhere", None),
    Junk("&loop [1, *loop]", None),
]
_LOADER_CODES = {"yaml", "encoding", "duplicate-key", "too-deep", "alias-limit", "too-large"}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", dict: "object", list: "array"}.get(type(value), "null")


def _value(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data


def _subtree_end(doc: Document, path: KeyPath) -> int:
    """Where the value at ``path`` ends, everything nested in it included."""
    size = len(path)
    ends = [
        span.end
        for table in (doc.values, doc.keys)
        for key, span in table.items()
        if key[:size] == path and (key != path or table is doc.values)
    ]
    return max(ends)


def _replace(sample: Sample, path: KeyPath, text: str) -> str:
    """The sample's text with the value at ``path`` written as ``text``: the rest of the
    file (comments, CRLF, anchors, quoting) stays as it was."""
    if not path:
        return text + "\n"
    doc = sample.doc
    span = doc.values[path]
    end = _subtree_end(doc, path)
    original = doc.text
    if span.style is None and not span.flow and original[span.start : span.start + 1] not in "[{":
        # A block collection: its first entry starts the span; put the junk on the key's line.
        key = doc.keys.get(path)
        start = original.index(":", key.end) + 1 if key is not None else span.start
        return original[:start] + " " + text + original[end:]
    return original[: span.start] + text + original[end:]


def _free_form(path: KeyPath) -> bool:
    """Inside `config`, where any value is valid."""
    return len(path) > 1 and path[0] == "config"


def _check(sample: Sample, text: str) -> tuple[Finding, ...]:
    """Validate the repository with ``text`` in place of the sample's file; every finding
    must be located with a registered code."""
    result = check_repository(sample.layout, texts={sample.path: text})
    for finding in result.findings:
        assert finding.file in result.files, finding
        assert finding.line >= 1 and finding.column >= 1, finding
        assert finding.code in CODES, finding
        assert "\n" not in finding.render(), finding
        finding.render().encode("utf-8")
    try:
        doc = loads(text, sample.doc.name)
    except PromoterError:
        pass
    else:  # what loads can be written out: every key and value is text UTF-8 encodes
        json.dumps(doc.data, ensure_ascii=False).encode("utf-8")
    return result.findings


def _expect_finding(sample: Sample, path: KeyPath, junk: Junk) -> bool:
    """A wrong type outside `config`, or a value the loader refuses anywhere."""
    if junk.kind is None:
        return True
    return not _free_form(path) and junk.kind != _json_kind(_value(sample.doc.data, path))


@pytest.mark.parametrize("sample", SAMPLES, ids=_ids(SAMPLES))
def test_every_wrong_type_at_every_node_is_a_located_finding(sample: Sample) -> None:
    name = sample.doc.name
    assert not _check(sample, sample.text)  # the sample itself is valid
    nodes = list(sample.doc.values)
    assert len(nodes) > 5
    for path in nodes:
        for junk in JUNK:
            findings = _check(sample, _replace(sample, path, junk.text))
            if _expect_finding(sample, path, junk):
                mine = [f for f in findings if f.file == f"environments/{name}"]
                assert mine, f"{name}: {path} = {junk.text[:40]} passed validation"
                if junk.kind is None:
                    assert {f.code for f in mine} & _LOADER_CODES, (path, junk.text[:40], mine)


# Arbitrary YAML values, nested, as text: what a hostile or careless hand may write anywhere.
_PLAIN = st.sampled_from(
    [
        "x",
        "0",
        "-0",
        "1e309",
        "0x1F",
        "0o17",
        ".nan",
        "True",
        "yes",
        "sha256:" + "a" * 64,
        "https://x.example/a:b",
        "2026-12-24",
        "09:00",
        "a b",
        "1" * 101,
        "9" * 4301,
    ]
)
_QUOTED = st.text(max_size=8).map(json.dumps)
_SCALAR = st.one_of(_PLAIN, _QUOTED, st.integers().map(str), st.floats().map(repr))


def _flow_collections(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Flow sequences and mappings of ``inner`` values, as YAML text."""
    keys = st.from_regex(r"[a-z]{1,6}", fullmatch=True)
    return st.one_of(
        st.lists(inner, max_size=3).map(_flow_sequence),
        st.dictionaries(keys, inner, max_size=3).map(_flow_mapping),
    )


def _flow_sequence(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _flow_mapping(entries: dict[str, str]) -> str:
    return "{" + ", ".join(f"{key}: {value}" for key, value in entries.items()) + "}"


_FLOW = st.recursive(_SCALAR, _flow_collections, max_leaves=8)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_arbitrary_values_at_arbitrary_nodes_never_crash(data: st.DataObject) -> None:
    sample = data.draw(st.sampled_from(SAMPLES), label="sample")
    path = data.draw(st.sampled_from(list(sample.doc.values)), label="path")
    text = data.draw(_FLOW, label="value")
    _check(sample, _replace(sample, path, text))


# Whole-file mutations: characters and lines deleted, inserted, replaced and repeated.
_PIECES = [
    "\t",
    "\t\n",
    " \t \n",
    ":",
    ": ",
    " #",
    "#",
    "\n",
    "\r\n",
    "\r",
    "\u2028",
    "\u2029",
    "\x85",
    "\x00",
    "\x07",
    "\x1b",
    "\ufeff",
    "\ud800",
    '{k: "\\ud800", u: https://x}',  # an escaped lone surrogate, read by the 1.2 parser
    "é",
    "\U0001f600",
    "1" * 5000,
    "0x" + "f" * 500,
    "!!float 1" + "0" * 400,
    "&a ",
    "*a",
    "&b [*b]",
    "<<: *a",
    "!!int ",
    "!!str ",
    "!tag ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "- ",
    "? ",
    "|",
    ">-",
    "'",
    '"',
    "\\",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "sha256:",
    "https://x.example/a",
    "{k: sha256:abc}",
    "~",
    "null",
    ".inf",
]
_OPERATIONS = ["insert", "delete", "replace", "repeat-line", "drop-line"]
_CHUNK = st.one_of(st.sampled_from(_PIECES), st.text(max_size=6))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Sample, str]:
    """A file of a valid repository, with one to four mutations."""
    sample = draw(st.sampled_from(ALL_FILES))
    text = sample.text
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(
            st.sampled_from(["insert", "delete", "replace", "repeat-line", "drop-line"])
        )
        at = draw(st.integers(0, len(text)))
        if operation == "insert":
            text = text[:at] + draw(_CHUNK) + text[at:]
        elif operation == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif operation == "replace":
            text = text[:at] + draw(_CHUNK) + text[at + draw(st.integers(1, 10)) :]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                index = draw(st.integers(0, len(lines) - 1))
                lines[index : index + 1] = [lines[index]] * (2 if operation == "repeat-line" else 0)
                text = "".join(lines)
    return sample, text


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_give_located_findings(case: tuple[Sample, str]) -> None:
    sample, text = case
    findings = _check(sample, text)
    name = f"environments/{sample.path.name}"
    try:
        loads(text, name)
    except PromoterError as error:
        # A file that does not load is reported where the loader says, with its code.
        assert (error.file, error.line or 1, error.code) in {
            (f.file, f.line, f.code) for f in findings
        }, (error, findings)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.sampled_from(["sha256:" + "b" * 64, "web:v2", "1" * 200, "x y", None, 3]))
def test_edits_of_mutated_files_change_only_the_value(
    case: tuple[Sample, str], value: str | int | None
) -> None:
    sample, text = case
    try:
        doc = loads(text, sample.path.name)
    except PromoterError:
        return
    scalars = [path for path, span in doc.values.items() if path and span.style is not None]
    for path in scalars[:: max(1, len(scalars) // 6)]:
        span = doc.values[path]
        try:
            edited = yamledit.apply_edits(doc, yamledit.Edits(set={path: value}))
        except PromoterError:
            continue  # refused (a block scalar, an alias sharing it): nothing was changed
        assert edited.startswith(text[: span.start]), path
        assert edited.endswith(text[span.end :]), path
        assert _value(loads(edited, sample.path.name).data, path) == value


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_both_parsers_read_a_mutated_file_alike_when_both_read_it(
    case: tuple[Sample, str],
) -> None:
    # A file the C parser refuses is read again by the pure-Python one: where both read a
    # file, they must agree on its data and on the location of every key and value.
    sample, text = case
    documents: list[Document | None] = []
    for pure in (False, True):
        try:
            documents.append(yamlio._Builder(sample.path.name, text).run(text, pure=pure))
        except (PromoterError, YAMLError, UnicodeEncodeError):
            documents.append(None)
    fast, slow = documents
    if fast is not None and slow is not None:
        assert json.dumps(slow.data) == json.dumps(fast.data)
        assert dict(slow.values) == dict(fast.values)
        assert dict(slow.keys) == dict(fast.keys)


# The real CLI on a few drawn cases: exit codes, no traceback, nothing written.
@st.composite
def hostile_repository(draw: st.DrawFn) -> tuple[Sample, str]:
    if draw(st.booleans()):
        return draw(mutated())
    sample = draw(st.sampled_from(SAMPLES))
    path = draw(st.sampled_from(list(sample.doc.values)))
    junk = draw(st.sampled_from(JUNK))
    return sample, _replace(sample, path, junk.text)


@settings(max_examples=6, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_repository())
def test_cli_on_hostile_files_exits_with_a_finding_never_an_internal_error(
    case: tuple[Sample, str],
) -> None:
    sample, text = case
    with _repository(sample, text) as repo:
        before = tree_state(repo)
        for command, allowed in (("validate", {0, 1}), ("status", {0, 3})):
            result = subprocess.run(
                [sys.executable, "-m", "promoter", command, "--repo", str(repo)],
                capture_output=True,
                text=True,
                timeout=120,
                env=promoter_env(repo.parent / "home"),
                check=False,
            )
            assert result.returncode in allowed, (command, result.stderr)
            assert "Traceback" not in result.stderr and "internal error" not in result.stderr
            if result.returncode == 3:
                assert result.stderr.startswith("error: environments/"), result.stderr
                assert len(result.stderr.strip().splitlines()) == 1
        assert tree_state(repo) == before


@contextlib.contextmanager
def _repository(sample: Sample, text: str) -> Iterator[Path]:
    """A temporary copy of the sample's repository with ``text`` as the sample's file."""
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder) / "repo"
        shutil.copytree(sample.repo / "environments", repo / "environments")
        (repo.parent / "home").mkdir()
        target = repo / "environments" / sample.path.name
        target.write_bytes(text.encode("utf-8", "surrogatepass"))  # a lone surrogate: bad bytes
        yield repo
