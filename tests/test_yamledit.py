"""Lossless scalar edits: every case states the exact bytes that must come out.

Inputs are written with ``write_bytes`` and results read with ``read_bytes`` so that CRLF line
endings, a missing final newline and multi-byte UTF-8 are tested for real. Expected outputs are
spelled out literally; none is derived from its input.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from promoter.errors import ConfigError
from promoter.fileio import write_atomic
from promoter.yamledit import Edits, apply_edits
from promoter.yamlio import KeyPath, Scalar, load, loads

# Three well-formed digests: A and C are "current", B and D are "new".
A = "sha256:4f5d2c1b0a9e8d7c6b5a49382716051f4e3d2c1b0a99887766554433221100ff"
B = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
C = "sha256:ccccccccccccccccccccccccccccccccccccccccccccccccccccccccc0ffee00"
D = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddd0decade0"

Changes = dict[KeyPath, Scalar]


def update_file(path: Path, changes: Changes, name: str | None = None) -> bool:
    """What a writing command does to a file: edit it in memory (only the bytes of the
    changed values), then replace it atomically; whether it changed."""
    doc = load(path, name)
    text = apply_edits(doc, Edits(set=changes))
    if text == doc.text:
        return False
    write_atomic(path, text)
    return True


def set_scalars(doc: Any, changes: Changes) -> str:
    return apply_edits(doc, Edits(set=changes))


CASES: list[Any] = [
    pytest.param(
        "# Environment: production\n"
        "# Owner: platform team\n"
        "\n"
        "apiVersion: promoter/v1\n"
        "kind: Environment\n"
        "artifacts:\n"
        "  web:\n"
        "    # the digest below is promoted automatically\n"
        "    image: registry.example.com/shop/web\n"
        f"    digest: {A}    #   pinned by promoter   \n"
        '    version: "1.0.0"   # label\n'
        "# trailing comment\n"
        "#\n",
        {("artifacts", "web", "digest"): B},
        "# Environment: production\n"
        "# Owner: platform team\n"
        "\n"
        "apiVersion: promoter/v1\n"
        "kind: Environment\n"
        "artifacts:\n"
        "  web:\n"
        "    # the digest below is promoted automatically\n"
        "    image: registry.example.com/shop/web\n"
        f"    digest: {B}    #   pinned by promoter   \n"
        '    version: "1.0.0"   # label\n'
        "# trailing comment\n"
        "#\n",
        id="head-trailing-and-inline-comments",
    ),
    pytest.param(
        "version: v1.2.3\t\t# tabs before the hash\nimage: web\n",
        {("version",): "v1.2.4"},
        "version: v1.2.4\t\t# tabs before the hash\nimage: web\n",
        id="inline-comment-after-tabs",
    ),
    pytest.param(
        f"version: v2\ndigest: {A}\nimage: web\napiVersion: promoter/v1\nkind: Environment\n",
        {("digest",): B},
        f"version: v2\ndigest: {B}\nimage: web\napiVersion: promoter/v1\nkind: Environment\n",
        id="key-order-kept",
    ),
    pytest.param(
        f"web: {A}\napi: '{A}'\nworker: \"{A}\"\n",
        {("web",): B, ("api",): B, ("worker",): B},
        f"web: {B}\napi: '{B}'\nworker: \"{B}\"\n",
        id="plain-single-double-quoting-kept",
    ),
    pytest.param(
        "artifacts:\n"
        "    web:\n"
        "        image: registry.example.com/shop/web\n"
        f"        digest: {A}\n"
        "    api:\n"
        "        image: registry.example.com/shop/api\n"
        f"        digest: '{C}'\n",
        {("artifacts", "api", "digest"): D},
        "artifacts:\n"
        "    web:\n"
        "        image: registry.example.com/shop/web\n"
        f"        digest: {A}\n"
        "    api:\n"
        "        image: registry.example.com/shop/api\n"
        f"        digest: '{D}'\n",
        id="indent-4-spaces",
    ),
    pytest.param(
        f"apps:\n- name: web\n  digest: {A}\n- name: api\n  digest: {C}\n",
        {("apps", 1, "digest"): D},
        f"apps:\n- name: web\n  digest: {A}\n- name: api\n  digest: {D}\n",
        id="sequence-at-parent-column",
    ),
    pytest.param(
        f"apps:\n  - name: web\n    digest: {A}\n  - name: api\n    digest: {C}\n",
        {("apps", 0, "digest"): B},
        f"apps:\n  - name: web\n    digest: {B}\n  - name: api\n    digest: {C}\n",
        id="sequence-indented",
    ),
    pytest.param(
        f"apps:\n    -   name: web\n        digest: {A}\n    -   name: api\n        version: v1\n",
        {("apps", 0, "digest"): B, ("apps", 1, "version"): "v2"},
        f"apps:\n    -   name: web\n        digest: {B}\n    -   name: api\n        version: v2\n",
        id="sequence-indent-4-with-wide-dash",
    ),
    pytest.param(
        "matrix:\n- - web\n  - v1\n- - api\n  - v2\n",
        {("matrix", 1, 1): "v3"},
        "matrix:\n- - web\n  - v1\n- - api\n  - v3\n",
        id="compact-nested-sequences",
    ),
    pytest.param(
        "apiVersion: promoter/v1\n"
        "\n"
        "kind: Environment\n"
        "\n"
        "   \n"
        "artifacts:\n"
        "\n"
        "  web:\n"
        "    image: web\n"
        "\n"
        f"    digest: {A}\n"
        "\n"
        "\n",
        {("artifacts", "web", "digest"): B},
        "apiVersion: promoter/v1\n"
        "\n"
        "kind: Environment\n"
        "\n"
        "   \n"
        "artifacts:\n"
        "\n"
        "  web:\n"
        "    image: web\n"
        "\n"
        f"    digest: {B}\n"
        "\n"
        "\n",
        id="blank-lines-between-entries",
    ),
    pytest.param(
        f"---\nimage: web\ndigest: {A}\n...\n",
        {("digest",): B},
        f"---\nimage: web\ndigest: {B}\n...\n",
        id="document-start-and-end-markers",
    ),
    pytest.param(
        f"%YAML 1.2\n---\n# pinned\ndigest: {A}\n...\n",
        {("digest",): B},
        f"%YAML 1.2\n---\n# pinned\ndigest: {B}\n...\n",
        id="yaml-1.2-directive",
    ),
    pytest.param(
        "# head comment\r\n"
        "artifacts:\r\n"
        "  web:\r\n"
        f"    digest: {A}  # pinned\r\n"
        "\r\n"
        "    version: 'v1'\r\n"
        "# tail\r\n",
        {("artifacts", "web", "digest"): B, ("artifacts", "web", "version"): "v2"},
        "# head comment\r\n"
        "artifacts:\r\n"
        "  web:\r\n"
        f"    digest: {B}  # pinned\r\n"
        "\r\n"
        "    version: 'v2'\r\n"
        "# tail\r\n",
        id="crlf-everywhere",
    ),
    pytest.param(
        f"image: web\ndigest: {A}",
        {("digest",): B},
        f"image: web\ndigest: {B}",
        id="no-final-newline",
    ),
    pytest.param(
        f"digest: {A}\r\nversion: v1  # label",
        {("version",): "v2", ("digest",): B},
        f"digest: {B}\r\nversion: v2  # label",
        id="crlf-and-no-final-newline-after-comment",
    ),
    pytest.param(
        f'web: {{image: registry.example.com/shop/web, digest: "{A}", version: v1}}\n',
        {("web", "digest"): B, ("web", "version"): "v2"},
        f'web: {{image: registry.example.com/shop/web, digest: "{B}", version: v2}}\n',
        id="flow-mapping",
    ),
    pytest.param(
        "web: {image: web, digest: pending}\n",
        {("web", "digest"): B},
        f"web: {{image: web, digest: '{B}'}}\n",
        id="flow-mapping-plain-value-gains-colon",
    ),
    pytest.param(
        f"web: {{image: r/web, digest: {A}, source: {{repo: https://x.example/web}}}}\n",
        {("web", "digest"): B, ("web", "source", "repo"): "https://x.example/web2"},
        f"web: {{image: r/web, digest: {B}, source: {{repo: https://x.example/web2}}}}\n",
        id="flow-mapping-yaml-1-2-plain-colons-stay-plain",
    ),
    pytest.param(
        f"web: {{image: r/web, digest: {A}}}\n\t\nold: {{tag: pending}}  # 1.2 only\n",
        {("web", "digest"): B, ("old", "tag"): "web:v2"},
        f"web: {{image: r/web, digest: {B}}}\n\t\nold: {{tag: 'web:v2'}}  # 1.2 only\n",
        id="flow-mapping-yaml-1-2-new-colon-quoted-tab-line-kept",
    ),
    pytest.param(
        "pins: [v1, pending]\nblock: pending\n",
        {("pins", 1): "web:v2", ("block",): "web:v2"},
        "pins: [v1, 'web:v2']\nblock: web:v2\n",
        id="flow-sequence-plain-value-gains-colon-block-stays-plain",
    ),
    pytest.param(
        "tags: [v1, 'v2', \"v3\"]  # flow\n",
        {("tags", 0): "v4", ("tags", 1): "v5", ("tags", 2): "v6"},
        "tags: [v4, 'v5', \"v6\"]  # flow\n",
        id="flow-sequence",
    ),
    pytest.param(
        f'images: [{{name: web, digest: "{A}"}}, {{name: api, digest: "{C}"}}]\n',
        {("images", 1, "digest"): D},
        f'images: [{{name: web, digest: "{A}"}}, {{name: api, digest: "{D}"}}]\n',
        id="flow-list-of-mappings-int-index",
    ),
    pytest.param(
        f"base:\n  digest: &web-digest {A}  # anchored\n",
        {("base", "digest"): B},
        f"base:\n  digest: &web-digest {B}  # anchored\n",
        id="anchor-kept",
    ),
    pytest.param(
        f"digest: &d  # the anchor, then a comment\n  {A}\n",
        {("digest",): B},
        f"digest: &d  # the anchor, then a comment\n  {B}\n",
        id="anchor-then-comment-before-value",
    ),
    pytest.param(
        f"digest: !!str &d # tag, anchor, comment\r\n  # another comment\r\n  '{A}'\r\n",
        {("digest",): B},
        f"digest: !!str &d # tag, anchor, comment\r\n  # another comment\r\n  '{B}'\r\n",
        id="tag-anchor-comments-crlf-before-value",
    ),
    pytest.param(
        'version: !!str v1.2.3\nbuild: !!str "42"\nlabel: &l !!str v1\n',
        {("version",): "v1.3.0", ("build",): "43", ("label",): "v2"},
        'version: !!str v1.3.0\nbuild: !!str "43"\nlabel: &l !!str v2\n',
        id="tag-str-kept",
    ),
    pytest.param(
        "version: ! v1\n",
        {("version",): "v2"},
        "version: ! v2\n",
        id="non-specific-tag-kept",
    ),
    pytest.param(
        "# Équipe plateforme — 日本語 🚀\n"
        'owner: "Zoë Ångström"\n'
        "notes: 'naïve café'   # ✓ reviewed\n"
        f"digest: {A}  # ✔ épinglé\n"
        "version: v1 # 版本\n",
        {("notes",): "crème brûlée 🍮", ("digest",): B, ("version",): "v2"},
        "# Équipe plateforme — 日本語 🚀\n"
        'owner: "Zoë Ångström"\n'
        "notes: 'crème brûlée 🍮'   # ✓ reviewed\n"
        f"digest: {B}  # ✔ épinglé\n"
        "version: v2 # 版本\n",
        id="unicode-before-and-on-edited-lines",
    ),
    pytest.param(
        "artifacts:\n"
        "  web:\n"
        f"    digest: {A}\n"
        "    image: registry.example.com/shop/web\n"
        '    version: "1.0.0"\n',
        {("artifacts", "web", "digest"): B, ("artifacts", "web", "version"): "1.1.0"},
        "artifacts:\n"
        "  web:\n"
        f"    digest: {B}\n"
        "    image: registry.example.com/shop/web\n"
        '    version: "1.1.0"\n',
        id="two-values-one-call",
    ),
    pytest.param(
        "version: latest\nimage: web\n",
        {("version",): "1.10"},
        "version: '1.10'\nimage: web\n",
        id="plain-string-to-number-like-gets-quoted",
    ),
    pytest.param(
        "version: 1.9\n",
        {("version",): "1.10"},
        "version: '1.10'\n",
        id="plain-float-to-string-gets-quoted",
    ),
    pytest.param(
        "a: stable\nb: stable\nc: stable\nd: stable\ne: stable\nf: stable\n",
        {
            ("a",): "true",
            ("b",): "null",
            ("c",): "~",
            ("d",): "0x1F",
            ("e",): "",
            ("f",): ".inf",
        },
        "a: 'true'\nb: 'null'\nc: '~'\nd: '0x1F'\ne: ''\nf: '.inf'\n",
        id="plain-strings-that-would-change-type-get-quoted",
    ),
    pytest.param(
        "a: x\nb: x\nc: x\nd: x\ne: x\nf: x\n",
        {
            ("a",): "key: value",
            ("b",): "x #not-a-comment",
            ("c",): "*alias",
            ("d",): " padded ",
            ("e",): "- item",
            ("f",): "trailing:",
        },
        "a: 'key: value'\n"
        "b: 'x #not-a-comment'\n"
        "c: '*alias'\n"
        "d: ' padded '\n"
        "e: '- item'\n"
        "f: 'trailing:'\n",
        id="plain-strings-that-would-not-parse-get-quoted",
    ),
    pytest.param(
        "a: x\nb: x\nc: x\nd: x\n",
        {("a",): "on", ("b",): "yes", ("c",): "12:30", ("d",): "2024-05-01"},
        "a: 'on'\nb: 'yes'\nc: '12:30'\nd: '2024-05-01'\n",
        id="plain-strings-yaml-1.1-readers-would-retype-get-quoted",
    ),
    pytest.param(
        "note: 'it''s fine'  # quoted\n",
        {("note",): "don't 'panic'"},
        "note: 'don''t ''panic'''  # quoted\n",
        id="single-quote-inside-single-quoted",
    ),
    pytest.param(
        'path: "C:\\\\old\\\\dir"\n',
        {("path",): 'C:\\new "dir"'},
        'path: "C:\\\\new \\"dir\\""\n',
        id="quote-and-backslash-inside-double-quoted",
    ),
    pytest.param(
        'message: "one line"\n',
        {("message",): "line 1\nline 2\t(tab)"},
        'message: "line 1\\nline 2\\t(tab)"\n',
        id="double-quoted-gains-escapes",
    ),
    pytest.param(
        f"version:\ndigest: {A}\n",
        {("version",): "v1"},
        f"version: v1\ndigest: {A}\n",
        id="empty-value",
    ),
    pytest.param(
        "version:    # set on promotion\r\nimage: web\r\n",
        {("version",): "1.10"},
        "version: '1.10'    # set on promotion\r\nimage: web\r\n",
        id="empty-value-with-comment-crlf",
    ),
    pytest.param(
        "tags:\n  -\n  - b\n",
        {("tags", 0): "a"},
        "tags:\n  - a\n  - b\n",
        id="empty-sequence-item",
    ),
    pytest.param(
        "version: !!str\nimage: web\n",
        {("version",): "v1"},
        "version: !!str v1\nimage: web\n",
        id="empty-tagged-value",
    ),
    pytest.param(
        "version: &v\nlabel: x\n",
        {("version",): "1.0"},
        "version: &v '1.0'\nlabel: x\n",
        id="empty-anchored-value",
    ),
    pytest.param(
        f"digest:\n  {A}\nimage: web\n",
        {("digest",): B},
        f"digest:\n  {B}\nimage: web\n",
        id="value-on-its-own-line",
    ),
    pytest.param(
        "description: a long plain\n  value folded over\n  three lines\nversion: v1\n",
        {("description",): "short"},
        "description: short\nversion: v1\n",
        id="multi-line-plain-replaced",
    ),
    pytest.param(
        f"\"digest\": {A}\n'image': web\n",
        {("digest",): B, ("image",): "api"},
        f"\"digest\": {B}\n'image': api\n",
        id="quoted-keys",
    ),
    pytest.param(
        "replicas: 3\nweight: 0.5\nlimit: 7\nenabled: false\nnote: x\n",
        {
            ("replicas",): 4,
            ("weight",): math.inf,
            ("limit",): -math.inf,
            ("enabled",): True,
            ("note",): None,
        },
        "replicas: 4\nweight: .inf\nlimit: -.inf\nenabled: true\nnote: null\n",
        id="non-string-values",
    ),
    pytest.param(
        f"# c\ndigest: {A}   # pinned\r\n",
        {("digest",): A},
        f"# c\ndigest: {A}   # pinned\r\n",
        id="unchanged-plain-value",
    ),
    pytest.param(
        'owner: "Zo\\u00eb"\n'
        "enabled: True\n"
        "replicas: 0x10\n"
        "weight: 1.50\n"
        "version: ~\n"
        "channel: 'stable'\n",
        {
            ("owner",): "Zoë",
            ("enabled",): True,
            ("replicas",): 16,
            ("weight",): 1.5,
            ("version",): None,
            ("channel",): "stable",
        },
        'owner: "Zo\\u00eb"\n'
        "enabled: True\n"
        "replicas: 0x10\n"
        "weight: 1.50\n"
        "version: ~\n"
        "channel: 'stable'\n",
        id="unchanged-values-in-unusual-spellings",
    ),
]


@pytest.mark.parametrize(("source", "changes", "expected"), CASES)
def test_update_file_exact_bytes(
    tmp_path: Path, source: str, changes: Changes, expected: str
) -> None:
    path = tmp_path / "app.yaml"
    raw = source.encode("utf-8")
    path.write_bytes(raw)

    changed = update_file(path, changes)

    assert path.read_bytes() == expected.encode("utf-8")
    assert changed is (expected != source)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.yaml"]
    # The result reads back with exactly the requested values, of the requested types.
    data = load(path).data
    for key_path, value in changes.items():
        got: Any = data
        for part in key_path:
            got = got[part]
        assert type(got) is type(value)
        assert got == value


@pytest.mark.parametrize(("source", "changes", "expected"), CASES)
def test_set_scalars_returns_exact_text(source: str, changes: Changes, expected: str) -> None:
    doc = loads(source, "app.yaml")
    assert set_scalars(doc, changes) == expected


def test_the_cases_cover_every_way_a_value_is_written() -> None:
    # The exact-bytes cases above are the editor's contract: they must include every
    # spelling it promises to keep (quoting styles, comments, flow mappings, CRLF, a
    # missing final newline, an anchor or tag before the value).
    sources = [case.values[0] for case in CASES]
    kinds = {
        "double-quoted": any(': "' in s for s in sources),
        "single-quoted": any(": '" in s for s in sources),
        "plain": any(re.search(r": [a-z0-9]", s) for s in sources),
        "comment": any(" #" in s for s in sources),
        "flow mapping": any("{" in s for s in sources),
        "CRLF": any("\r\n" in s for s in sources),
        "no final newline": any(not s.endswith("\n") for s in sources),
        "anchor or tag": any(re.search(r": [&!]", s) for s in sources),
    }
    assert [kind for kind, present in kinds.items() if not present] == []


# ---------------------------------------------------------------------------------------
# Errors: ConfigError naming the file, and nothing written
# ---------------------------------------------------------------------------------------

ERROR_SOURCE = (
    "# shared settings\n"
    "artifacts:\n"
    "  web:\n"
    f"    digest: &web {A}\n"
    "    script: |\n"
    "      echo hello\n"
    "    folded: >\n"
    "      some text\n"
    "  mirror:\n"
    "    digest: *web\n"
    "  api:\n"
    f"    digest: {C}\n"
)

ERROR_CASES = [
    pytest.param(
        {("artifacts", "nope", "digest"): B}, "no value at artifacts.nope.digest", id="missing-key"
    ),
    pytest.param(
        {("artifacts", "api", "tag"): "v1"}, "no value at artifacts.api.tag", id="missing-leaf"
    ),
    pytest.param({("artifacts", 0): B}, "no value at artifacts.0", id="int-index-into-mapping"),
    pytest.param(
        {("artifacts", "api", "digest", "x"): B}, "no value at", id="path-through-a-scalar"
    ),
    pytest.param({("artifacts", "web"): B}, "is a collection", id="path-to-a-mapping"),
    pytest.param({(): B}, "is a collection", id="path-to-the-document"),
    pytest.param({("artifacts", "web", "script"): "echo bye"}, "block scalar", id="literal-block"),
    pytest.param({("artifacts", "web", "folded"): "other"}, "block scalar", id="folded-block"),
    pytest.param({("artifacts", "mirror", "digest"): B}, "alias", id="path-to-an-alias"),
    pytest.param(
        {("artifacts", "web", "digest"): B}, "more than the intended", id="anchor-shared-by-alias"
    ),
    pytest.param(
        {("artifacts", "api", "digest"): D, ("artifacts", "web", "digest"): B},
        "more than the intended",
        id="one-good-edit-one-shared",
    ),
]


@pytest.mark.parametrize(("changes", "message"), ERROR_CASES)
def test_set_scalars_errors_name_the_file(changes: Changes, message: str) -> None:
    doc = loads(ERROR_SOURCE, "environments/prod.yaml")
    with pytest.raises(ConfigError) as info:
        set_scalars(doc, changes)
    assert message in info.value.message
    assert info.value.file == "environments/prod.yaml"
    assert "environments/prod.yaml" in str(info.value)


@pytest.mark.parametrize(("changes", "message"), ERROR_CASES)
def test_update_file_errors_write_nothing(tmp_path: Path, changes: Changes, message: str) -> None:
    path = tmp_path / "prod.yaml"
    raw = ERROR_SOURCE.replace("\n", "\r\n").encode("utf-8")
    path.write_bytes(raw)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = path.stat()

    with pytest.raises(ConfigError) as info:
        update_file(path, changes, name="environments/prod.yaml")

    assert message in info.value.message
    assert info.value.file == "environments/prod.yaml"
    assert path.read_bytes() == raw
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in tmp_path.iterdir()] == ["prod.yaml"]


def test_update_file_error_without_name_uses_the_path(tmp_path: Path) -> None:
    path = tmp_path / "dev.yaml"
    path.write_bytes(b"digest: x\n")
    with pytest.raises(ConfigError) as info:
        update_file(path, {("image",): "web"})
    assert info.value.file == str(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == b"digest: x\n"


# ---------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------


def test_update_file_preserves_mode_and_replaces_by_rename(tmp_path: Path) -> None:
    path = tmp_path / "staging.yaml"
    path.write_bytes(f"# staging\r\ndigest: {A}  # pinned\r\nversion: 'v1'".encode())
    path.chmod(0o640)
    inode = path.stat().st_ino

    assert update_file(path, {("digest",): B, ("version",): "v2"}) is True

    assert path.read_bytes() == f"# staging\r\ndigest: {B}  # pinned\r\nversion: 'v2'".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode  # a new file was renamed over the old one
    assert [p.name for p in tmp_path.iterdir()] == ["staging.yaml"]


def test_update_file_unchanged_does_not_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "prod.yaml"
    raw = f'digest: "{A}"\r\nenabled: True\r\n'.encode()
    path.write_bytes(raw)
    path.chmod(0o640)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = path.stat()

    assert update_file(path, {("digest",): A, ("enabled",): True}) is False

    after = path.stat()
    assert path.read_bytes() == raw
    assert (after.st_ino, after.st_mtime_ns, after.st_mode) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_mode,
    )
    assert [p.name for p in tmp_path.iterdir()] == ["prod.yaml"]


def test_write_atomic_failure_leaves_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prod.yaml"
    raw = f"digest: {A}\n".encode()
    path.write_bytes(raw)

    def fail(self: Path, target: Any) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        update_file(path, {("digest",): B})

    assert path.read_bytes() == raw
    assert [p.name for p in tmp_path.iterdir()] == ["prod.yaml"]


def test_write_atomic_new_file(tmp_path: Path) -> None:
    path = tmp_path / "new.yaml"
    write_atomic(path, "a: é\r\n")
    assert path.read_bytes() == "a: é\r\n".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["new.yaml"]
