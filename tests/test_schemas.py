"""The JSON Schemas: valid draft 2020-12, usable by plain jsonschema and editors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

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
