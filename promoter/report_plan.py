"""Renderers for plans, landings, evidence and history: text for people, JSON for bots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from promoter import API_VERSION
from promoter.gates import GateResult
from promoter.land import Landed
from promoter.model import Artifact
from promoter.promote import Plan
from promoter.records import Event, short
from promoter.report import artifact_json

if TYPE_CHECKING:
    from promoter.policy import PolicyEvent

MARK = {"pass": "ok ", "pending": "...", "fail": "XX "}


def _artifact(artifact: Artifact | None) -> str:
    if artifact is None:
        return "(none)"
    version = f"{artifact.version} " if artifact.version else ""
    return f"{version}{short(artifact.digest)}"


def _stamp(moment: dt.datetime, zone: str) -> str:
    """A moment in the plan's time zone: ``2026-11-25 09:00 Europe/Berlin``."""
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} {zone}"


def _gate_line(result: GateResult, zone: str) -> str:
    when = f" (clears {_stamp(result.clears_at, zone)})" if result.clears_at else ""
    return f"    {MARK[result.status]} {result.gate:<9} {result.reason}{when}"


def plan_text(plan: Plan, *, diff: bool = False) -> str:
    """What a plan will do (or why it may not), gate by gate."""
    request = plan.request
    route = {
        "promote": (
            f"{', '.join(plan.event.sources)} → {request.target}"
            if plan.event and plan.event.sources
            else f"into {request.target}"
        ),
        "publish": f"new build → {request.target}",
        "rollback": f"roll back {request.target}",
    }[request.action]
    lines = [f"{request.action}{' (hotfix)' if request.hotfix else ''}: {route}"]
    for move in plan.moves:
        lines.append(f"  {move.app}: {_artifact(move.current)} → {_artifact(move.new)}")
        lines.extend(_gate_line(result, plan.timezone) for result in move.gates)
        if move.clears_at is not None:
            lines.append(
                f"    time-based gates all pass at {_stamp(move.clears_at, plan.timezone)}"
            )
    lines.extend(f"  {app}: already runs the digest, nothing to do" for app in plan.unchanged)
    lines.extend(f"  {app}: left out ({reason})" for app, reason in plan.waiting)
    lines.extend(f"  {app + ': ' if app else ''}refused: {reason}" for app, reason in plan.refusals)
    if diff and plan.moves and not plan.refusals:
        lines += ["", plan.diff().rstrip("\n"), "", "commit message:", ""]
        lines += ["    " + line if line else "" for line in plan.message.rstrip("\n").split("\n")]
    return "\n".join(lines)


def gate_json(result: GateResult) -> dict[str, Any]:
    """A gate result for JSON output."""
    return {
        "gate": result.gate,
        "status": result.status,
        "reason": result.reason,
        "clearsAt": result.clears_at.isoformat() if result.clears_at else None,
    }


def plan_json(plan: Plan, landed: Landed | None = None, *, dry_run: bool = False) -> dict[str, Any]:
    """The plan (and where it landed) as a JSON document."""
    return {
        "apiVersion": API_VERSION,
        "kind": "PromotionResult",
        "action": plan.request.action,
        "target": plan.request.target,
        "from": list(plan.event.sources) if plan.event else [],
        "hotfix": plan.request.hotfix,
        "timezone": plan.timezone,
        "ready": plan.ready,
        "dryRun": dry_run,
        "moves": [
            {
                "app": move.app,
                "current": artifact_json(move.current),
                "new": artifact_json(move.new),
                "status": move.status,
                "gates": [gate_json(result) for result in move.gates],
                "clearsAt": move.clears_at.isoformat() if move.clears_at else None,
            }
            for move in plan.moves
        ],
        "unchanged": list(plan.unchanged),
        "leftOut": [{"app": app, "reason": reason} for app, reason in plan.waiting],
        "refusals": [{"app": app, "reason": reason} for app, reason in plan.refusals],
        "diff": plan.diff() if plan.moves and not plan.refusals else "",
        "commit": landed.sha if landed else None,
        "pushedTo": landed.pushed_to if landed else None,
    }


def landed_text(landed: Landed | None, what: str) -> str:
    """One line saying where a change landed."""
    if landed is None:
        return f"{what}: nothing to do"
    where = f"pushed to {landed.pushed_to}" if landed.pushed_to else "committed locally (no push)"
    retries = f" after {landed.attempts - 1} retr{'y' if landed.attempts == 2 else 'ies'}"
    return f"{what}: {landed.sha[:12]} {where}{retries if landed.attempts > 1 else ''}"


def event_json(event: Event) -> dict[str, Any]:
    """One history event as JSON."""
    return {
        "sha": event.sha,
        "when": event.when.isoformat() if event.when else None,
        "kind": event.kind,
        "environment": event.environment,
        "from": list(event.sources),
        "changes": [
            {"app": c.app, "previous": c.previous, "digest": c.digest} for c in event.changes
        ],
        "app": event.app,
        "digest": event.digest,
        "check": {"name": event.check[0], "result": event.check[1]} if event.check else None,
        "url": event.url,
        "gates": [
            {"app": n.app, "gate": n.gate, "status": n.status, "reason": n.reason}
            for n in event.gates
        ],
        "hotfix": event.hotfix,
        "actor": {"id": event.actor.id, "name": event.actor.name, "run": event.actor.run_url},
        "author": event.author,
        "acknowledged": {
            "commit": event.acknowledged[0],
            "code": event.acknowledged[1] or None,
            "reason": event.reason,
        }
        if event.acknowledged
        else None,
    }


def policy_json(event: PolicyEvent) -> dict[str, Any]:
    """A policy change (a commit that changed the pipeline file) as a history event."""
    name, _, email = event.author.partition(" <")
    return {
        "sha": event.sha,
        "when": event.when.isoformat(),
        "kind": "policy",
        "environment": ",".join(dict.fromkeys(c.environment for c in event.changes)),
        "from": [],
        "changes": [],
        "app": None,
        "digest": None,
        "check": None,
        "url": None,
        "gates": [],
        "hotfix": False,
        "actor": {"id": email.rstrip(">"), "name": name, "run": None},
        "author": event.author,
        "acknowledged": None,
        "policy": [
            {"environment": c.environment, "change": c.text, "weakens": c.weakens}
            for c in event.changes
        ],
    }


def _what(event: Event) -> str:
    if event.kind in ("record", "approve"):
        extra = f" {event.check[0]}={event.check[1]}" if event.check else ""
        return f"{event.app} {short(event.digest)}{extra}"
    if event.kind == "adopt":
        return f"baseline of {len(event.baseline)} digests"
    if event.kind == "acknowledge" and event.acknowledged:
        code = f" {event.acknowledged[1]}" if event.acknowledged[1] else ""
        return f"finding{code} of {event.acknowledged[0][:10]}: {event.reason or ''}"
    return ", ".join(f"{c.app} {short(c.previous)}→{short(c.digest)}" for c in event.changes)


def history_text(events: Sequence[Event], policies: Sequence[PolicyEvent] = ()) -> str:
    """A table of events and policy changes, newest first."""
    if not events and not policies:
        return "no promoter events in this history"
    # Tens of thousands of rows: build the columns in single passes, pad each column once.
    whens = [e.when.isoformat(" ")[:16] if e.when else "" for e in events]
    kinds = ["hotfix" if e.hotfix else e.kind for e in events]
    wheres = [
        f"{','.join(e.sources)}→{e.environment}" if e.sources else e.environment for e in events
    ]
    whats = list(map(_what, events))
    actors = [e.actor.id for e in events]
    shas = [e.sha[:10] for e in events]
    if policies:  # few: merged in by time
        rows = list(zip(whens, kinds, wheres, whats, actors, shas, strict=True))
        stamps = [e.when for e in events]
        for policy in policies:
            rows.append(
                (
                    policy.when.isoformat(" ")[:16],
                    "policy",
                    ",".join(dict.fromkeys(c.environment for c in policy.changes)),
                    "; ".join(c.text + (" (weaker)" if c.weakens else "") for c in policy.changes),
                    policy.author.partition(" <")[2].rstrip(">"),
                    policy.sha[:10],
                )
            )
            stamps.append(policy.when)
        seconds = [stamp.timestamp() if stamp else 0.0 for stamp in stamps]
        order = sorted(range(len(rows)), key=seconds.__getitem__, reverse=True)
        whens, kinds, wheres, whats, actors, shas = (
            [rows[i][column] for i in order] for column in range(6)
        )
    header = ("WHEN", "KIND", "WHERE", "WHAT", "ACTOR", "COMMIT")
    columns = (whens, kinds, wheres, whats, actors)
    widths = [max(len(h), *map(len, cells)) for h, cells in zip(header[:5], columns, strict=True)]
    row = "  ".join(f"%-{width}s" for width in widths) + "  %s"  # one C call per row
    lines = [row % header]
    lines += map(row.__mod__, zip(whens, kinds, wheres, whats, actors, shas, strict=True))
    return "\n".join(lines)
