"""Adding and removing mapping entries: only the lines of the entry change, exact bytes."""

from __future__ import annotations

from typing import Any

import pytest

from promoter.errors import ConfigError
from promoter.yamledit import Edits, apply_edits
from promoter.yamlio import loads

D = "sha256:" + "a" * 64
ART = {"image": "registry.example.com/web", "digest": D, "version": "1.10"}

CASES: list[tuple[str, str, Edits, str]] = [
    (
        "insert-artifact-after-last-with-comments",
        "artifacts:\n  api:  # the api\n    image: r/api\n    digest: x  # pinned\n"
        "# config below\nconfig: {}\n",
        Edits(insert={("artifacts", "web"): ART}),
        "artifacts:\n  api:  # the api\n    image: r/api\n    digest: x  # pinned\n"
        "  web:\n    image: registry.example.com/web\n    digest: " + D + "\n"
        "    version: '1.10'\n# config below\nconfig: {}\n",
    ),
    (
        "insert-uses-four-space-indentation",
        "artifacts:\n    api:\n        image: r/api\n",
        Edits(insert={("artifacts", "web"): {"image": "r/web"}}),
        "artifacts:\n    api:\n        image: r/api\n    web:\n        image: r/web\n",
    ),
    (
        "insert-scalar-key-into-artifact",
        "artifacts:\n  web:\n    image: r/web\n    digest: x\nconfig: {}\n",
        Edits(insert={("artifacts", "web", "version"): "2.0"}),
        "artifacts:\n  web:\n    image: r/web\n    digest: x\n    version: '2.0'\nconfig: {}\n",
    ),
    (
        "insert-crlf",
        "a:\r\n  b: 1\r\nc: 2\r\n",
        Edits(insert={("a", "d"): "x"}),
        "a:\r\n  b: 1\r\n  d: x\r\nc: 2\r\n",
    ),
    (
        "insert-at-end-without-final-newline",
        "a:\n  b: 1",
        Edits(insert={("a", "c"): "x"}),
        "a:\n  b: 1\n  c: x",
    ),
    (
        "insert-into-flow-mapping",
        "web: {image: r/web, digest: 'x'}  # flow\n",
        Edits(insert={("web", "version"): "1.0"}),
        "web: {image: r/web, digest: 'x', version: '1.0'}  # flow\n",
    ),
    (
        "promote-in-a-yaml-1-2-flow-mapping-with-plain-colons",
        "artifacts:\n\t\n  web: {image: r/web, digest: sha256:" + "1" * 64 + ", source: "
        "{repo: https://x.example/web, revision: abc1234}}  # web\n",
        Edits(
            set={
                ("artifacts", "web", "digest"): D,
                ("artifacts", "web", "source", "revision"): "d",
            },
            insert={("artifacts", "web", "version"): "1.2.0"},
            remove=[("artifacts", "web", "source", "repo")],
        ),
        "artifacts:\n\t\n  web: {image: r/web, digest: " + D + ", source: "
        "{revision: d}, version: 1.2.0}  # web\n",
    ),
    (
        "insert-into-empty-flow-mapping-under-a-block-becomes-a-block",
        "kind: Environment\nartifacts: {}  # none yet\nconfig:\n  a: 1\n",
        Edits(insert={("artifacts", "web"): {"image": "r/web", "digest": D}}),
        "kind: Environment\nartifacts:  # none yet\n  web:\n    image: r/web\n    digest: "
        + D
        + "\nconfig:\n  a: 1\n",
    ),
    (
        "insert-into-empty-flow-mapping-at-end-of-file-crlf-no-final-newline",
        "kind: Environment\r\nartifacts: {}",
        Edits(insert={("artifacts", "web"): {"digest": D}}),
        "kind: Environment\r\nartifacts:\r\n  web:\r\n    digest: " + D,
    ),
    (
        "insert-into-empty-flow-mapping-inside-flow",
        "x: {artifacts: {}}\n",
        Edits(insert={("x", "artifacts", "web"): {"image": "r/web", "digest": D}}),
        "x: {artifacts: {web: {image: r/web, digest: '" + D + "'}}}\n",
    ),
    (
        "insert-after-block-scalar",
        "a:\n  note: |\n    line\n  b: 1\nc:\n  text: |\n    last\n",
        Edits(insert={("c", "d"): "x"}),
        "a:\n  note: |\n    line\n  b: 1\nc:\n  text: |\n    last\n  d: x\n",
    ),
    (
        "remove-key-keeps-neighbours-and-comments",
        "web:\n  image: r/web  # img\n  version: '1'  # old label\n  digest: x\n",
        Edits(remove=[("web", "version")]),
        "web:\n  image: r/web  # img\n  digest: x\n",
    ),
    (
        "remove-nested-mapping",
        "web:\n  digest: x\n  source:\n    repo: r\n    revision: abcdef1\nnext: 1\n",
        Edits(remove=[("web", "source")]),
        "web:\n  digest: x\nnext: 1\n",
    ),
    (
        "remove-from-flow-mapping",
        "web: {image: r, version: '1', digest: x}\n",
        Edits(remove=[("web", "version")]),
        "web: {image: r, digest: x}\n",
    ),
    (
        "remove-last-of-flow-mapping",
        "web: {image: r, version: '1'}\n",
        Edits(remove=[("web", "version")]),
        "web: {image: r}\n",
    ),
    (
        "set-remove-and-insert-together",
        "web:\n  digest: x\n  version: '1'\n  source:\n    repo: r\n",
        Edits(
            set={("web", "digest"): D},
            remove=[("web", "version")],
            insert={("web", "source", "revision"): "abcdef1"},
        ),
        "web:\n  digest: " + D + "\n  source:\n    repo: r\n    revision: abcdef1\n",
    ),
    (
        "remove-last-entry-then-insert-at-the-same-place",
        "web:\n  digest: x\n  version: '1'\nz: 1\n",
        Edits(remove=[("web", "version")], insert={("web", "source"): {"repo": "r"}}),
        "web:\n  digest: x\n  source:\n    repo: r\nz: 1\n",
    ),
]


@pytest.mark.parametrize(("name", "before", "edits", "after"), CASES, ids=[c[0] for c in CASES])
def test_structural_edit_exact_bytes(name: str, before: str, edits: Edits, after: str) -> None:
    assert apply_edits(loads(before, "t.yaml"), edits) == after


@pytest.mark.parametrize(
    ("text", "edits", "message"),
    [
        ("a:\n  b: 1\n", Edits(insert={("a", "b"): 2}), "already has 'b'"),
        ("a: 1\n", Edits(insert={("a", "b"): 2}), "a is not a mapping"),
        ("a:\n  b: 1\n", Edits(remove=[("a", "c")]), "no key at a.c"),
        ("l:\n  - b: 1\n    c: 2\n", Edits(remove=[("l", 0, "b")]), "shares its line"),
    ],
)
def test_structural_edit_errors(text: str, edits: Edits, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        apply_edits(loads(text, "t.yaml"), edits)
    assert info.value.file == "t.yaml"


def test_inserted_values_read_back_with_their_types() -> None:
    value: dict[str, Any] = {"version": "1.10", "flag": "yes", "n": "007", "digest": D}
    text = apply_edits(loads("m:\n  a: 1\n", "t.yaml"), Edits(insert={("m", "x"): value}))
    assert loads(text, "t.yaml").data["m"]["x"] == value
