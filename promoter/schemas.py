"""The JSON Schemas of promoter's file formats, and schema findings with file locations.

The schemas ship inside the wheel as ``promoter/schemas/``; in a source checkout they are
read from the repository's top-level ``schemas/`` folder, which is their one source.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promoter import reference
from promoter.findings import Finding, at, path_text
from promoter.yamlio import Document, KeyPath

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator

SCHEMA_FILES = {
    "Pipeline": "pipeline.schema.json",
    "Environment": "environment.schema.json",
    "ValidateReport": "validate-report.schema.json",
    "StatusReport": "status-report.schema.json",
    "PromotionResult": "promotion-result.schema.json",
    "History": "history.schema.json",
    "EvidenceResult": "evidence-result.schema.json",
    "AuditReport": "audit-report.schema.json",
}


def schema_dir() -> Traversable:
    """Where the schemas are: inside the installed package, else the source checkout."""
    packaged = resources.files("promoter").joinpath("schemas")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "schemas"


@functools.cache
def load_schema(kind: str) -> dict[str, Any]:
    """The parsed JSON Schema for a file kind (see SCHEMA_FILES)."""
    text = schema_dir().joinpath(SCHEMA_FILES[kind]).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def validator(kind: str) -> Validator:
    """A draft 2020-12 validator for a file kind, with ECMA-262 ``pattern`` semantics."""
    from jsonschema import Draft202012Validator, validators

    strict = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]
    return strict(load_schema(kind))  # type: ignore[no-any-return]


_DOLLAR = re.compile(r"(?<!\\)\$")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA-262 regexes, where "$" matches only at the very end;
    # Python's "$" also matches before a final newline, which would let "web\n" pass.
    return re.compile(_DOLLAR.sub(r"\\Z", pattern))


def _ecma_pattern(
    validator: Validator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    from jsonschema import ValidationError

    del validator, schema
    if isinstance(instance, str) and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def fast_validator(kind: str) -> Callable[[Any], Any]:
    """The same schema compiled to Python by fastjsonschema: a quick yes for valid files.

    jsonschema stays the judge (it knows draft 2020-12 and gives every error with its path);
    the compiled check only spares it the valid files, which is most of them. The schemas
    use only keywords both read alike; tests hold the two to the same verdicts.
    """
    import fastjsonschema

    return fastjsonschema.compile(load_schema(kind), use_default=False)


def is_valid(data: Any, kind: str) -> bool:
    """The fast verdict: True when ``data`` satisfies the schema of ``kind``."""
    from fastjsonschema import JsonSchemaException

    try:
        fast_validator(kind)(data)
    except JsonSchemaException:
        return False
    return True


def check(doc: Document, kind: str) -> list[Finding]:
    """Validate ``doc`` against the schema of ``kind``; one finding per problem, located."""
    if is_valid(doc.data, kind):
        return []
    findings: list[Finding] = []
    for error in validator(kind).iter_errors(doc.data):
        findings.extend(_translate(doc, error))
    if not findings:  # the two validators disagree: never let that pass silently
        findings.append(
            Finding(doc.name, 1, 1, "schema", f"the file does not match {SCHEMA_FILES[kind]}")
        )
    return findings


def _valid_alone(schema: Mapping[str, Any], value: str) -> bool:
    """Whether ``value`` satisfies a self-contained subschema (False when it is not one)."""
    from jsonschema import Draft202012Validator
    from referencing.exceptions import Unresolvable

    try:
        return bool(Draft202012Validator(dict(schema)).is_valid(value))
    except Unresolvable:
        return False


def _source(doc: Document, path: KeyPath) -> str:
    span = doc.values.get(path)
    if span is None:
        return ""
    return doc.text[span.start : span.end]


def _translate(doc: Document, error: ValidationError) -> list[Finding]:
    path: KeyPath = tuple(error.absolute_path)
    where = path_text(path)
    last = path[-1] if path else None
    kind = error.validator
    instance: Any = error.instance
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    constraint: Any = error.validator_value
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        out = []
        for extra in sorted(set(instance) - set(allowed)):
            close = difflib.get_close_matches(extra, allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
            if extra == "<<":
                hint = "merge keys (<<) are not supported here; write the keys out"
            out.append(
                at(
                    doc,
                    (*path, extra),
                    "unknown-key",
                    f"unknown key {extra!r} in {where}; {hint}",
                    key=True,
                )
            )
        return out
    if kind == "required":
        missing = [name for name in constraint if name not in instance]
        return [
            at(doc, path, "missing-key", f"{where} is missing the required key {name!r}", key=True)
            for name in missing
        ]
    if "propertyNames" in error.schema_path:
        what = {"environments": "environment name", "artifacts": "app name"}.get(str(last), "name")
        message = reference.explain_name(str(instance), what) or error.message
        return [at(doc, (*path, str(instance)), "unsafe-name", message, key=True)]
    if kind == "pattern":
        if last == "digest":
            message = reference.explain_digest(instance) or error.message
            code = "mutable-tag" if "mutable tag" in message else "bad-digest"
            return [at(doc, path, code, message)]
        if last == "image":
            message = reference.explain_image(instance) or error.message
            code = "mutable-tag" if "mutable tag" in message else "bad-image"
            return [at(doc, path, code, message)]
        if schema.get("pattern") == reference.NAME_PATTERN:
            message = reference.explain_name(str(instance), f"name in {where}") or error.message
            return [at(doc, path, "unsafe-name", message)]
        described = schema.get("description", "")
        return [
            at(doc, path, "bad-value", f"{where}: {instance!r} is not valid. {described}".strip())
        ]
    if kind == "type":
        expected = constraint
        got = {
            bool: "true/false",
            int: "a number",
            float: "a number",
            str: "a string",
            dict: "a mapping",
            list: "a list",
        }.get(type(instance), "null")
        names = {
            "object": "a mapping",
            "array": "a list",
            "string": "a string",
            "integer": "an integer",
            "boolean": "true or false",
            "number": "a number",
        }
        wanted = names.get(str(expected), str(expected))
        if doc.data is None and not path:
            return [
                Finding(
                    doc.name,
                    1,
                    1,
                    "empty",
                    "the file is empty; see README.md (File formats) for what it must hold",
                )
            ]
        message = f"{where} must be {wanted}, not {got}"
        written = _source(doc, path)
        if expected == "string" and isinstance(instance, int | float | bool):
            # Suggest quoting only when the quoted text would be valid where it stands.
            if _valid_alone(schema, written):
                message += f'; quote it: {last}: "{written}"'
        elif expected == "object" and instance is None:
            message += f"; write `{last}: {{}}` for an empty one"
        return [at(doc, path, "wrong-type", message)]
    if kind == "const":
        return [
            at(
                doc,
                path,
                "wrong-value",
                f"{where} must be {constraint!r}, not {instance!r}",
            )
        ]
    if kind == "enum":
        options = ", ".join(str(v) for v in constraint)
        return [at(doc, path, "wrong-value", f"{where} must be one of {options}; got {instance!r}")]
    if kind == "oneOf" and last == "from":
        return [
            at(
                doc,
                path,
                "wrong-type" if not isinstance(instance, str | list) else "bad-value",
                f"{where} must be an environment name or a list of distinct names, "
                f"not {instance!r}",
            )
        ]
    return [at(doc, path, "schema", f"{where}: {error.message}")]
