"""Findings: problems found in files, each with a location and a stable code."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from promoter.yamlio import Document, KeyPath


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where it is, a stable machine-readable code, and what to do."""

    file: str
    line: int
    column: int
    code: str
    message: str

    def render(self) -> str:
        """``file:line:col: message [code]``, the format editors and CI annotate from."""
        message = self.message.replace("\r", "\\r").replace("\n", "\\n")  # one line, always
        return f"{self.file}:{self.line}:{self.column}: {message} [{self.code}]"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


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
