"""The JSON Schemas: valid draft 2020-12, usable by plain jsonschema and editors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from promoter import yamlio
from promoter.errors import ConfigError
from promoter.schemas import SCHEMA_FILES, load_schema, schema_dir
from tests.conftest import EXAMPLE, ROOT

SCHEMAS = sorted((ROOT / "schemas").glob("*.json"))


@pytest.mark.parametrize("path", SCHEMAS, ids=[p.name for p in SCHEMAS])
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_schema_file_is_registered() -> None:
    assert sorted(SCHEMA_FILES.values()) == [p.name for p in SCHEMAS]
    for kind in SCHEMA_FILES:
        assert load_schema(kind)["$id"].endswith(SCHEMA_FILES[kind])


def test_source_checkout_reads_the_top_level_schemas() -> None:
    assert Path(str(schema_dir())).resolve() == (ROOT / "schemas").resolve()


@pytest.mark.parametrize("path", sorted(EXAMPLE.glob("*.yaml")), ids=lambda p: p.name)
def test_example_files_validate_with_plain_jsonschema_via_their_modeline(path: Path) -> None:
    """What an editor does: follow the yaml-language-server modeline and validate."""
    text = path.read_text()
    match = re.search(r"# yaml-language-server: \$schema=(\S+)", text)
    assert match, "example files carry a schema modeline"
    schema = json.loads((path.parent / match.group(1)).read_text())
    jsonschema.validate(YAML(typ="safe").load(text), schema)


def _documents() -> list[tuple[str, object, str]]:
    """Every case file, plus mutations of a valid environment, with its kind."""
    import copy

    from tests.conftest import CASES

    found: list[tuple[str, object, str]] = []
    for path in sorted(CASES.rglob("*.yaml")) + sorted(EXAMPLE.glob("*.yaml")):
        if path.name == "expect.yaml":
            continue
        try:
            data = yamlio.load(path).data
        except ConfigError:  # unreadable cases have no schema verdict
            continue
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind in ("Pipeline", "Environment"):
            found.append((str(path.relative_to(ROOT)), data, kind))
    base = YAML(typ="safe").load((CASES / "base/environments/dev.yaml").read_text())
    digest = "sha256:" + "1" * 64
    mutations = {
        "digest-newline": ("artifacts", "web", "digest", digest + "\n"),
        "digest-int": ("artifacts", "web", "digest", 7),
        "image-tag": ("artifacts", "web", "image", "web:1"),
        "version-empty": ("artifacts", "web", "version", ""),
        "version-number": ("artifacts", "web", "version", 1.5),
        "extra-key": ("artifacts", "web", "colour", "blue"),
        "source-bad-revision": ("artifacts", "web", "source", {"revision": "main"}),
        "source-extra": ("artifacts", "web", "source", {"repo": "x", "branch": "main"}),
        "artifact-null": ("artifacts", "web", None, None),
        "config-list": ("config", None, None, []),
        "name-newline": ("artifacts", "web\n", None, {"image": "web", "digest": digest}),
        "revision-newline": ("artifacts", "web", "source", {"revision": "abc1234\n"}),
        "version-control-character": ("artifacts", "web", "version", "1.0\x1b[31m"),
    }
    for name, (a, b, c, value) in mutations.items():
        data = copy.deepcopy(base)
        if b is None:
            data[a] = value
        elif c is None:
            data[a][b] = value
        else:
            data[a][b][c] = value
        found.append((f"mutation:{name}", data, "Environment"))
    pipeline = YAML(typ="safe").load((CASES / "base/environments/pipeline.yaml").read_text())
    for name, gates in {
        "soak-newline": {"soak": "4h\n"},
        "check-newline": {"checks": ["lint\n"]},
        "clock-newline": {
            "window": {
                "timezone": "UTC",
                "allow": [{"days": ["mon"], "start": "09:00\n", "end": "10:00"}],
            }
        },
    }.items():
        data = copy.deepcopy(pipeline)
        data["environments"]["prod"]["gates"] = gates
        found.append((f"mutation:{name}", data, "Pipeline"))
    return found


def test_reference_validator_reads_patterns_as_ecma_regexes() -> None:
    from promoter.schemas import validator

    digest = "sha256:" + "0" * 64
    environment: dict[str, object] = {
        "apiVersion": "promoter/v1",
        "kind": "Environment",
        "artifacts": {"web": {"image": "web", "digest": digest}},
    }
    assert validator("Environment").is_valid(environment)
    environment["artifacts"] = {"web": {"image": "web", "digest": digest + "\n"}}
    assert not validator("Environment").is_valid(environment)


@pytest.mark.parametrize(("name", "data", "kind"), _documents(), ids=lambda v: str(v)[:40])
def test_fast_and_reference_validators_agree(name: str, data: object, kind: str) -> None:
    from promoter.schemas import is_valid, validator

    assert is_valid(data, kind) == validator(kind).is_valid(data), name


@pytest.mark.parametrize("kind", ["Pipeline", "Environment"])
def test_generated_validators_are_current(kind: str) -> None:
    from promoter.schemas import generated_validator

    path = ROOT / "promoter" / "_validators" / f"{kind.lower()}.py"
    assert path.read_text() == generated_validator(kind), (
        "schemas changed: run `python -m promoter.schemas` and commit promoter/_validators/"
    )


def test_a_stale_generated_validator_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import promoter._validators.environment as generated
    from promoter import schemas

    schemas.fast_validator.cache_clear()
    monkeypatch.setattr(generated, "SCHEMA_SHA256", "0" * 64)
    try:
        assert schemas.fast_validator("Environment") is not generated.validate
    finally:
        schemas.fast_validator.cache_clear()
