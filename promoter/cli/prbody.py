"""The pull request a promotion opens: its title and a body a reviewer takes in at a glance.

The body holds a table of what moves (app, route, version, digest), the source revision
range with a compare link, every gate with its result, banners for hotfixes and
rollbacks, a hidden machine-readable block promoter reads back, and last the promotion
trailers, so that a squash merge that takes the pull request's description keeps them.
It stays within GitHub's 65,536 characters by dropping detail, never the trailers while
they fit.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from promoter.model import Artifact
from promoter.promote import Move, Plan

if TYPE_CHECKING:
    from promoter.pullrequest import Proposed

LIMIT = 65_536  # GitHub's limit for a pull request body, in characters
MARK = "promoter:v1"  # the hidden block's tag: <!-- promoter:v1 {...} -->
_ICON = {"pass": "✅ pass", "pending": "⏳ pending", "fail": "❌ fail"}


def title(plan: Plan) -> str:
    """The pull request's title: the commit's subject."""
    return plan.message.split("\n", 1)[0]


def body(plan: Plan) -> str:
    """The pull request's body, within the forge's limit."""
    trailers = _trailers(plan.message)
    for detail in (2, 1, 0):
        text = _render(plan, detail, trailers)
        if len(text) <= LIMIT:
            return text
    return _render(plan, 0, "")  # a train too big for its trailers: the commit keeps them


def machine_block(text: str) -> dict[str, object] | None:
    """The hidden block of a body promoter wrote, read back (None if there is none)."""
    found = re.search(r"<!-- " + re.escape(MARK) + r" (\{.*?\}) -->", text)
    if found is None:
        return None
    try:
        data = json.loads(found.group(1))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _render(plan: Plan, detail: int, trailers: str) -> str:
    request = plan.request
    moves = plan.moves
    shown = moves if detail else moves[:50]
    sources = sorted({s for m in moves for s in m.sources})
    what = {"promote": "Promote", "rollback": "Roll back", "publish": "Publish"}[request.action]
    apps = ", ".join(f"`{m.app}`" for m in moves[:5]) + (
        f" and {len(moves) - 5} more" if len(moves) > 5 else ""
    )
    out = [f"## {what} {apps} into **{request.target}**", ""]
    if request.hotfix:
        out += [
            "> [!WARNING]",
            "> **Hotfix**: judged by the environment's shorter hotfix gates; the digest is "
            "new to production and still passes through every environment.",
            "",
        ]
    if request.action == "rollback":
        out += [
            "> [!CAUTION]",
            "> **Rollback** to an earlier known-good digest; the digest taken out is "
            "quarantined until fresh evidence.",
            "",
        ]
    out += [
        "| app | route | version | digest |",
        "|---|---|---|---|",
    ]
    for move in shown:
        route = f"{', '.join(move.sources) or '–'} → {request.target}"
        out.append(
            f"| `{move.app}` | {route} | {_version(move.current)} → {_version(move.new)} | "
            f"{_digest(move.current)} → {_digest(move.new)} |"
        )
    if len(shown) < len(moves):
        out.append(f"| … | {len(moves) - len(shown)} more apps: see the commit | | |")
    links = [line for move in shown if (line := _source_range(move))]
    if links:
        out += ["", "**Source changes:** " + "; ".join(links[:20])]
    if detail:
        out += ["", "### Gates", "", "| app | gate | result | evidence |", "|---|---|---|---|"]
        for move in shown if detail == 2 else moves[:20]:
            for gate in move.gates:
                reason = gate.reason.replace("|", "\\|")
                out.append(f"| `{move.app}` | {gate.gate} | {_ICON[gate.status]} | {reason} |")
            if not move.gates:
                out.append(f"| `{move.app}` | – | ✅ pass | no gates for {request.target} |")
    out += ["", f"Proposed by {plan.actor.display} with promoter."]
    block = {
        "action": request.action,
        "target": request.target,
        "sources": sources,
        "hotfix": request.hotfix,
        "apps": {m.app: m.new.digest for m in moves},
    }
    out += ["", f"<!-- {MARK} {json.dumps(block, separators=(',', ':'))} -->"]
    if trailers:
        out += ["", trailers]
    return "\n".join(out) + "\n"


def _trailers(message: str) -> str:
    """The trailer block of a commit message: its last paragraph."""
    return message.rstrip("\n").rsplit("\n\n", 1)[-1]


def _version(artifact: Artifact | None) -> str:
    return f"`{artifact.version}`" if artifact and artifact.version else "–"


def _digest(artifact: Artifact | None) -> str:
    return f"`{artifact.digest[:19]}`" if artifact else "(none)"


def _source_range(move: Move) -> str | None:
    """``repo old…new`` with a compare link where the repository is on a known forge."""
    new, old = move.new, move.current
    if not new.source_repo or not new.source_revision:
        return None
    repo = new.source_repo.removesuffix(".git").rstrip("/")
    head = new.source_revision
    if old is None or not old.source_revision or old.source_repo != new.source_repo:
        return f"`{move.app}` {repo} @ `{head[:12]}`"
    base = old.source_revision
    if base == head:
        return None
    text = f"`{move.app}` `{base[:7]}…{head[:7]}`"
    if repo.startswith("https://"):
        return f"{text} ([compare]({repo}/compare/{base}...{head}))"
    return f"{text} in {repo}"


def proposal_text(plan: Plan) -> str:
    """What ``--dry-run`` says a pull-request environment will get: the branch, the
    title and the body."""
    from promoter.pullrequest import branch_for, labels_for

    lines = [
        "",
        f"pull request (opened, or updated if one is open) from {branch_for(plan)}, "
        f"labels {', '.join(labels_for(plan))}:",
        "",
        f"    {title(plan)}",
        "",
    ]
    lines += ["    " + line if line else "" for line in body(plan).rstrip("\n").split("\n")]
    return "\n".join(lines)


def proposal_json(plan: Plan) -> dict[str, Any]:
    """The pull request ``--dry-run`` plans, for ``-o json``."""
    from promoter.pullrequest import branch_for, labels_for

    return {
        "number": None,
        "url": None,
        "branch": branch_for(plan),
        "title": title(plan),
        "body": body(plan),
        "labels": list(labels_for(plan)),
        "action": "planned",
    }


def pull_json(proposed: Proposed | None) -> dict[str, Any] | None:
    """What a run did on the forge, for ``-o json`` (None: nothing to do)."""
    if proposed is None:
        return None
    pull = proposed.pull
    return {
        "number": pull.number,
        "url": pull.url,
        "branch": pull.head,
        "title": pull.title,
        "body": pull.body,
        "labels": list(pull.labels),
        "action": proposed.action,
        "commit": proposed.sha,
        "superseded": [{"number": p.number, "url": p.url} for p in proposed.superseded],
    }
