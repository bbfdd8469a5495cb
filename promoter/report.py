"""Renderers: findings and status as text for people and as JSON for bots.

The JSON documents follow ``schemas/validate-report.schema.json`` and
``schemas/status-report.schema.json``; their shape only grows, so bots can rely on it.
"""

from __future__ import annotations

import json
from typing import Any

from promoter import API_VERSION
from promoter.model import Artifact, Snapshot
from promoter.status import Cell, StatusReport
from promoter.validate import Inspection

MARKERS = {"current": " ", "pending": "*", "waiting": "~", "rolled-back": "!"}


def to_json(document: dict[str, Any]) -> str:
    """Stable, readable JSON."""
    return json.dumps(document, indent=2, ensure_ascii=False)


def validate_json(result: Inspection) -> dict[str, Any]:
    """The ValidateReport document."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidateReport",
        "ok": result.ok,
        "files": list(result.files),
        "findings": [finding.as_dict() for finding in result.findings],
    }


def validate_text(result: Inspection) -> str:
    """One ``file:line:col: message [code]`` line per finding, then a summary."""
    lines = [finding.render() for finding in result.findings]
    files = len(result.files)
    noun = "file" if files == 1 else "files"
    if result.ok:
        lines.append(f"ok: {files} {noun} valid")
    else:
        count = len(result.findings)
        lines.append(f"{count} problem{'s' * (count != 1)} in {files} {noun}")
    return "\n".join(lines)


def artifact_json(artifact: Artifact | None) -> dict[str, Any] | None:
    """An artifact for JSON output (None when absent)."""
    if artifact is None:
        return None
    return {"image": artifact.image, "digest": artifact.digest, "version": artifact.version}


def _cell_json(cell: Cell) -> dict[str, Any]:
    out: dict[str, Any] = {"state": cell.state, "missing": cell.missing}
    out.update(artifact_json(cell.artifact) or {"image": None, "digest": None, "version": None})
    if cell.offered is not None:
        out["offered"] = artifact_json(cell.offered)
    out["upstream"] = {source: digest for source, digest in cell.upstream}
    if cell.rollback is not None:
        out["rollback"] = _rollback_json(cell)
    return out


def _rollback_json(cell: Cell) -> dict[str, Any]:
    assert cell.rollback is not None
    return {
        "digest": cell.rollback.digest,
        "commit": cell.rollback.sha,
        "when": cell.rollback.when.isoformat() if cell.rollback.when else None,
    }


def status_json(report: StatusReport, snapshot: Snapshot) -> dict[str, Any]:
    """The StatusReport document."""
    envs = snapshot.pipeline.environments
    return {
        "apiVersion": API_VERSION,
        "kind": "StatusReport",
        "environments": [
            {
                "name": name,
                "from": list(envs[name].sources),
                "promotion": envs[name].promotion,
                "protected": envs[name].protected,
            }
            for name in report.environments
        ],
        "apps": [
            {
                "name": app,
                "environments": {
                    env: _cell_json(report.cell(app, env)) for env in report.environments
                },
            }
            for app in report.apps
        ],
        "pending": [
            {
                "app": cell.app,
                "environment": cell.environment,
                "from": [source for source, _ in cell.upstream],
                "digest": cell.offered.digest if cell.offered else None,
                "version": cell.offered.version if cell.offered else None,
            }
            for cell in report.pending
        ],
        "waiting": [
            {
                "app": cell.app,
                "environment": cell.environment,
                "upstream": {source: digest for source, digest in cell.upstream},
            }
            for cell in report.waiting
        ],
        "rolledBack": [
            {"app": cell.app, "environment": cell.environment, **_rollback_json(cell)}
            for cell in report.rolled_back
        ],
        "summary": _summary_counts(report),
    }


def _summary_counts(report: StatusReport) -> dict[str, int]:
    return {
        "apps": len(report.apps),
        "environments": len(report.environments),
        "pending": len(report.pending),
        "waiting": len(report.waiting),
        "rolledBack": len(report.rolled_back),
        "missing": sum(cell.missing for cell in report.cells.values()),
    }


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _cell_text(cell: Cell) -> str:
    marker = MARKERS[cell.state]
    if cell.artifact is None:
        return f"{marker}-"
    version = f" {cell.artifact.version}" if cell.artifact.version else ""
    return f"{marker}{cell.artifact.short_digest}{version}"


def status_text(report: StatusReport) -> str:
    """A table for people: short digest and version per cell, markers, and what to do."""
    # Env cells start with a one-character marker; the header is shifted to line up.
    header = ["APP", *(" " + env for env in report.environments)]
    rows = [
        [app, *(_cell_text(report.cell(app, env)) for env in report.environments)]
        for app in report.apps
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(text.ljust(widths[i]) for i, text in enumerate(row)).rstrip()
        for row in [header, *rows]
    ]
    counts = _summary_counts(report)
    lines.append("")
    lines.append(
        f"{_plural(counts['apps'], 'app')} in {_plural(counts['environments'], 'environment')}: "
        f"{_plural(counts['pending'], 'promotion')} pending, "
        f"{counts['waiting']} waiting on parallel sources"
        + (f", {counts['rolledBack']} rolled back." if counts["rolledBack"] else ".")
    )
    for cell in report.pending:
        offered = cell.offered
        assert offered is not None
        version = f" ({offered.version})" if offered.version else ""
        sources = ", ".join(source for source, _ in cell.upstream)
        lines.append(
            f"  * {cell.app} → {cell.environment}: sha256:{offered.short_digest}"
            f"{version} from {sources}"
        )
    for cell in report.rolled_back:
        assert cell.rollback is not None
        lines.append(
            f"  ! {cell.app} → {cell.environment}: sha256:{cell.rollback.digest[7:15]} was "
            f"rolled back out of {cell.environment} in {cell.rollback.sha[:12]}; it moves on "
            "again once fresh checks or approvals are recorded for it"
        )
    for cell in report.waiting:
        parts = ", ".join(
            f"{source} has {('sha256:' + digest.partition(':')[2][:8]) if digest else '-'}"
            for source, digest in cell.upstream
        )
        lines.append(f"  ~ {cell.app} → {cell.environment}: sources disagree ({parts})")
    legend = (
        "Legend: * promotion pending (every source holds a digest this environment "
        "lacks), ~ sources disagree, - app not deployed."
    )
    if report.rolled_back:
        legend = legend.replace(", ~", ", ! rolled back (waits for fresh evidence), ~")
    lines.append(legend)
    return "\n".join(lines)
