"""Located, bounded YAML loading: values, spans, the YAML 1.2 core schema and every limit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from ruamel.yaml.error import YAMLError

from promoter import fileio, yamledit, yamlio
from promoter.errors import ConfigError
from promoter.yamlio import load, loads, resolve_plain
from tests.conftest import CASES, EXAMPLE


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("null", None),
        ("~", None),
        ("", None),
        ("true", True),
        ("False", False),
        ("yes", "yes"),
        ("on", "on"),
        ("12", 12),
        ("-3", -3),
        ("0o17", 15),
        ("0x1F", 31),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("1.20", 1.2),
        ("09:00", "09:00"),
        ("2026-12-24", "2026-12-24"),
        ("sha256:ab", "sha256:ab"),
        ("0777", 777),
    ],
)
def test_plain_scalars_follow_the_yaml_1_2_core_schema(text: str, value: object) -> None:
    assert resolve_plain(text) == value
    assert type(resolve_plain(text)) is type(value)


def test_nan() -> None:
    value = resolve_plain(".nan")
    assert isinstance(value, float) and math.isnan(value)


def test_quoted_and_tagged_scalars() -> None:
    doc = loads(
        "a: '1'\nb: \"true\"\nc: !!str 12\nd: !!int '7'\ne: !!float 2\nf: !!null ''\n", "t.yaml"
    )
    assert doc.data == {"a": "1", "b": "true", "c": "12", "d": 7, "e": 2.0, "f": None}


def test_bad_explicit_tag_value() -> None:
    with pytest.raises(ConfigError, match=r"'x' is not a valid !!int") as info:
        loads("a: 1\nb: !!int x\n", "t.yaml")
    assert (info.value.file, info.value.line, info.value.column) == ("t.yaml", 2, 4)


def test_spans_are_one_based_and_character_offsets() -> None:
    text = "# ü\nouter:\n  list:\n    - first\n    - {k: 'v'}\n"
    doc = loads(text, "t.yaml")
    span = doc.values[("outer", "list", 1, "k")]
    assert (span.line, span.column, span.style) == (5, 11, "'")
    assert text[span.start : span.end] == "'v'"
    key = doc.keys[("outer", "list")]
    assert (key.line, key.column) == (3, 3)
    # locate falls back to the nearest ancestor that has a location
    assert doc.locate(("outer", "list", 1, "missing")) == doc.values[("outer", "list", 1)]


def test_crlf_spans() -> None:
    doc = loads("a: 1\r\nb: two\r\n", "t.yaml")
    span = doc.values[("b",)]
    assert (span.line, span.column) == (2, 4)
    assert doc.text[span.start : span.end] == "two"


def test_aliases_share_the_anchored_value() -> None:
    doc = loads("base: &b {x: 1}\nuse: *b\n", "t.yaml")
    assert doc.data["use"] is doc.data["base"]
    assert doc.values[("use",)].style is None  # an alias is not an editable scalar


def test_alias_expansion_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlio, "MAX_NODES", 50)
    loads("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [*a, *a, *a]\n", "t.yaml")  # 1+10+10+1+30
    with pytest.raises(ConfigError, match="expands to more than 50 nodes") as info:
        loads("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [*a, *a, *a, *a]\n", "t.yaml")
    assert info.value.code == "alias-limit" and info.value.line == 2


def test_undefined_alias() -> None:
    with pytest.raises(ConfigError, match=r"alias \*nope has no anchor &nope before it"):
        loads("a: *nope\n", "t.yaml")


def test_depth_limit_counts_every_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlio, "MAX_DEPTH", 3)
    loads("a: {b: {c: 1}}\n", "t.yaml")
    with pytest.raises(ConfigError, match="nesting deeper than 3 levels"):
        loads("a: {b: {c: [1]}}\n", "t.yaml")


def test_complex_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="mapping keys must be plain scalars"):
        loads("{a: 1}: x\n", "t.yaml")


def test_keys_are_kept_as_written() -> None:
    assert loads("1: a\ntrue: b\n~: c\n", "t.yaml").data == {"1": "a", "true": "b", "~": "c"}


def test_undecodable_byte_is_located(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(ConfigError, match="byte 0xe9 is not valid UTF-8") as info:
        load(path, "x.yaml")
    assert (info.value.line, info.value.column, info.value.code) == (2, 7, "encoding")


@pytest.mark.parametrize("prefix", [b"\xff\xfe", b"\xfe\xff"])
def test_utf16_is_refused(tmp_path: Path, prefix: bytes) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(prefix + "a: 1\n".encode("utf-16-le"))
    with pytest.raises(ConfigError, match="UTF-16"):
        load(path)


def test_size_limit_is_checked_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlio, "MAX_FILE_BYTES", 10)
    path = tmp_path / "x.yaml"
    path.write_bytes(b"a: 12345678\n")
    with pytest.raises(ConfigError, match="12 bytes, over the 10-byte limit") as info:
        load(path)
    assert info.value.code == "too-large"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load(tmp_path)


def test_write_atomic_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\n")
    fileio.write_atomic(path, "a: 2\n")
    assert path.read_text() == "a: 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.yaml"]


def test_write_atomic_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\n")

    def broken_replace(self: Path, target: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        fileio.write_atomic(path, "a: 2\n")
    assert path.read_text() == "a: 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.yaml"]


def test_write_atomic_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "real.yaml"
    target.write_text("a: 1\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    fileio.write_atomic(link, "a: 2\n")
    assert link.is_symlink()
    assert target.read_text() == "a: 2\n"


# ---------------------------------------------------------------------------------------
# Hostile numbers: an integer too long to read is a located error, never a crash


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("1" * 5000, 5000),
        ("-" + "9" * 101, 101),
        ("0" * 4301, 4301),
        ("0x" + "f" * 5000, 5000),
        ("0o" + "7" * 101, 101),
    ],
)
def test_an_integer_too_long_to_read_is_a_located_error(text: str, digits: int) -> None:
    with pytest.raises(ConfigError) as info:
        loads(f"a: 1\nconfig:\n  big: {text}\n", "t.yaml")
    error = info.value
    assert (error.file, error.line, error.column, error.code) == ("t.yaml", 3, 8, "yaml")
    assert f"a number of {digits} digits" in error.message
    assert "quote it" in error.render()
    with pytest.raises(yamlio.NumberTooLong):
        resolve_plain(text)


def test_integers_up_to_the_limit_are_read() -> None:
    doc = loads(f"a: {'9' * 100}\nb: -0x{'f' * 100}\nc: '{'1' * 5000}'\n", "t.yaml")
    assert doc.data["a"] == int("9" * 100)
    assert doc.data["b"] == "-0x" + "f" * 100  # a sign before 0x is not a YAML 1.2 integer
    assert doc.data["c"] == "1" * 5000  # quoted, it is text


def test_tagged_numbers_are_held_to_the_same_limit() -> None:
    for tag in ("!!int", "!!float"):
        with pytest.raises(ConfigError, match="a number of 400 digits") as info:
            loads(f"a: {tag} 1{'0' * 399}\n", "t.yaml")  # float() of it would overflow
        assert (info.value.line, info.value.column) == (1, 4)
    assert loads(f"a: !!float 0x{'f' * 100}\n", "t.yaml").data == {"a": float(16**100 - 1)}


def test_a_lone_surrogate_is_an_encoding_error() -> None:
    with pytest.raises(ConfigError, match="U\\+D800 is a lone surrogate") as info:
        loads("a: 1\nb: x\ud800\n", "t.yaml")
    assert (info.value.line, info.value.column, info.value.code) == (2, 5, "encoding")


def test_a_string_of_digits_too_long_to_read_is_written_quoted() -> None:
    doc = loads("a: x\n", "t.yaml")
    assert (
        yamledit.apply_edits(doc, yamledit.Edits(set={("a",): "1" * 5000}))
        == f"a: '{'1' * 5000}'\n"
    )


# ---------------------------------------------------------------------------------------
# YAML 1.2 that libyaml (the C parser) refuses


def test_a_colon_inside_a_plain_scalar_in_a_flow_collection() -> None:
    text = (
        "web: {image: r/web, digest: sha256:abc, source: {repo: https://x.example/web}}\n"
        "pins: [web:v1, 'x', http://y]\n"
    )
    doc = loads(text, "t.yaml")
    assert doc.data == {
        "web": {
            "image": "r/web",
            "digest": "sha256:abc",
            "source": {"repo": "https://x.example/web"},
        },
        "pins": ["web:v1", "x", "http://y"],
    }
    for path, written in [
        (("web", "digest"), "sha256:abc"),
        (("web", "source", "repo"), "https://x.example/web"),
        (("pins", 2), "http://y"),
    ]:
        span = doc.values[path]
        assert text[span.start : span.end] == written
        assert (span.style, span.flow) == ("", True)
    assert doc.values[("pins", 0)].line == 2 and doc.values[("pins", 0)].column == 8


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n\t\nb: 2\n",  # a line holding only a tab
        "a: 1\n \t \nb: 2\n",
        "\t\na: 1\nb: 2\n",
        "a: 1\n\t# a comment after a tab\nb: 2\n",
        "a: 1\r\n\t\r\nb: 2\r\n",
        "a: 1\nb: 2\n\t",
    ],
)
def test_a_tab_on_an_otherwise_blank_line(text: str) -> None:
    doc = loads(text, "t.yaml")
    assert doc.data == {"a": 1, "b": 2}
    assert doc.text == text  # the text is kept as written: edits splice into it
    span = doc.values[("b",)]
    assert text[span.start : span.end] == "2"


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\U0000dc00", "\\ud83d\\ude00"])
def test_an_escaped_surrogate_is_refused_by_either_parser(escape: str) -> None:
    # libyaml refuses it; the pure-Python parser, reading a file that has a YAML 1.2 colon
    # too, would make it a lone surrogate that no output can encode.
    for text in (f'a: "x{escape}"\n', f'a: "x{escape}"\nb: {{c: d:e}}\n'):
        with pytest.raises(ConfigError) as info:
            loads(text, "t.yaml")
        assert (info.value.line, info.value.code) in {(1, "yaml"), (1, "encoding")}


def test_blank_line_tabs_and_flow_colons_together() -> None:
    text = "a: {d: sha256:abc}\n\t\nb: [http://x]\n"
    assert loads(text, "t.yaml").data == {"a": {"d": "sha256:abc"}, "b": ["http://x"]}


def test_a_tab_inside_a_block_scalar_is_content_and_never_made_a_space() -> None:
    assert loads("a: |\n  x\n  \t\n  y\n", "t.yaml").data == {"a": "x\n\t\ny\n"}
    # A tab left of the block's indentation: reading it as a space would change the value.
    with pytest.raises(ConfigError, match="tab"):
        loads("a: |+\n  x\n\t\n  y\n", "t.yaml")


def test_tabs_as_indentation_stay_an_error() -> None:
    with pytest.raises(ConfigError, match="invalid YAML") as info:
        loads("a:\n\tb: 1\n", "t.yaml")
    assert (info.value.line, info.value.column, info.value.code) == (2, 1, "yaml")


def test_the_error_shown_is_the_one_furthest_into_the_file() -> None:
    # libyaml stops at the flow colon on line 1; the sequence never closed is the error.
    with pytest.raises(ConfigError, match="expected ',' or ']'") as info:
        loads("a: {d: sha256:abc}\nb: 1\nc: [unclosed\n", "t.yaml")
    assert (info.value.line, info.value.column) == (4, 1)


TRICKY = (
    "# every kind of node, for both parsers\r\n"
    "plain: a b\r\n"
    "empty:\r\n"
    "empty-with-comment:  # nothing\r\n"
    'quoted: [\'x\', "y\\tz", "multi\r\n  line"]\r\n'
    "block: |\r\n  one\r\n   two\r\n\r\n"
    "folded: >-\r\n  a\r\n  b\r\n"
    "flow: {a: , b: [c, d: ], e: {f: }, h}\r\n"
    "seq:\r\n- \r\n- &anchor {k: v}\r\n- *anchor\r\n- !!str 12\r\n- ? complex\r\n  : value\r\n"
    "tagged: !!int '7'\r\n"
)


def test_both_parsers_read_every_file_alike() -> None:
    # The YAML 1.2 reading falls back to ruamel.yaml's pure-Python parser: wherever the C
    # parser reads a file too, both give the same data and every key and value the same
    # location, which byte-exact edits rely on.
    texts = [TRICKY]
    for path in sorted([*EXAMPLE.glob("*.yaml"), *CASES.glob("**/*.yaml")]):
        raw = path.read_bytes()
        if not raw.startswith(b"\xef\xbb\xbf"):
            texts.append(raw.decode("utf-8", errors="replace"))
    compared = 0
    for text in texts:
        try:
            fast = yamlio._Builder("t.yaml", text).run(text, pure=False)
        except (ConfigError, YAMLError):
            assert text is not TRICKY
            continue
        slow = yamlio._Builder("t.yaml", text).run(text, pure=True)
        assert json.dumps(slow.data) == json.dumps(fast.data), text
        assert dict(slow.values) == dict(fast.values), text
        assert dict(slow.keys) == dict(fast.keys), text
        compared += 1
    assert compared > 100


def test_lines_are_counted_at_yaml_1_2_line_breaks_only() -> None:
    # NEL, LS and PS are characters in YAML 1.2, and editors and git do not start a line at
    # them; the parsers do (YAML 1.1), so locations are counted again where a text has one.
    doc = loads("a: [x,\u2028y]\nb: {c: d}\x85\nkey: value\n", "t.yaml")
    span = doc.values[("key",)]
    assert (span.line, span.column) == (3, 6)
    assert doc.text[span.start : span.end] == "value"
    with pytest.raises(ConfigError) as info:
        loads("# a\u2028b\nkey: value\n", "t.yaml")
    assert (info.value.line, info.value.column) == (2, 4)
    with pytest.raises(ConfigError, match="duplicate key") as info:
        loads("a: [x,\u2028y]\na: 2\n", "t.yaml")
    assert (info.value.line, info.value.column) == (2, 1)
