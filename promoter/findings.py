"""Findings: problems found in files, each with a location and a stable code."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from promoter.yamlio import Document, KeyPath

# Every finding code, with what it means. Codes are stable: bots may match on them.
CODES = {
    "yaml": "the file is not valid YAML, or breaks a YAML safety rule",
    "duplicate-key": "a mapping names the same key twice",
    "encoding": "not UTF-8, a byte order mark, or a character YAML forbids",
    "too-large": "the file is over the size limit",
    "too-deep": "nesting deeper than the limit",
    "alias-limit": "aliases expand past the node limit, or refer to themselves",
    "unreadable": "the file cannot be read (a directory, a dangling symlink, an I/O error)",
    "unknown-key": "a key the format does not know",
    "missing-key": "a required key is missing",
    "wrong-type": "a value of the wrong type",
    "wrong-value": "a value outside the allowed ones",
    "bad-value": "a value that does not match its format",
    "empty": "the file is empty",
    "schema": "another JSON Schema violation",
    "unknown-kind": "a file that is not a promoter file kind",
    "mutable-tag": "a mutable tag where an artifact must be pinned by digest",
    "bad-digest": "a malformed digest",
    "bad-image": "a malformed image repository",
    "unsafe-name": "a name that is not a safe identifier",
    "reserved-name": "an environment named like the pipeline file",
    "cycle": "the pipeline graph has a cycle",
    "self-source": "an environment promotes from itself",
    "unknown-environment": "`from` names an environment that does not exist",
    "not-in-pipeline": "an environment file the pipeline does not name",
    "missing-file": "a pipeline environment without a file",
    "file-name": "an environment file with the wrong extension",
    "app-not-upstream": "an app in an environment but not in one of its sources",
    "image-mismatch": "an app whose image repository differs between environments",
    "timezone": "an unknown time zone",
    "window": "a deploy window or freeze that cannot be right",
    "approvals": "more approvals required than people allowed to approve",
    "people": "an identity (email, login) named for two people",
}


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where it is, a stable machine-readable code, and what to do."""

    file: str
    line: int
    column: int
    code: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered finding code {self.code!r}")

    def render(self) -> str:
        """``file:line:col: message [code]``, the format editors and CI annotate from."""
        return (
            f"{_one_line(self.file)}:{self.line}:{self.column}: {_one_line(self.message)} "
            f"[{self.code}]"
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _one_line(text: str) -> str:
    """Escape line breaks, so one finding is always one line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def at(doc: Document, path: KeyPath, code: str, message: str, *, key: bool = False) -> Finding:
    """A finding located at ``path`` in ``doc`` (at its key with ``key=True``)."""
    span = doc.locate(path, key=key)
    line, column = (span.line, span.column) if span else (1, 1)
    return Finding(doc.name, line, column, code, message)


def path_text(path: KeyPath) -> str:
    """A dotted path for messages: ``artifacts.web.digest``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the document"
