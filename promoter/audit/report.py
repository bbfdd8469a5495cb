"""Audit findings: each a stable code, what is wrong, and the commit that did it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from promoter.git import Commit

# Every finding code, with what it means. Codes are stable: bots may match on them.
CODES = {
    "no-lineage": "a digest with no recorded arrival: a hand edit, or an environment-"
    "specific build",
    "skipped-environment": "a digest that entered an environment other than from its sources",
    "manual-change": "a commit changed a pinned artifact without promotion trailers",
    "protected-change": "a commit promoter did not make changed a protected environment's file",
    "trailer-mismatch": "a commit's trailers do not say what its diff does",
    "ungated-promotion": "a promotion whose gates did not hold at its commit's date",
    "date-backwards": "a commit dated before its parent on the branch",
    "future-date": "a commit dated after the audit's clock",
    "policy-weakened": "a pipeline change that weakened a protected environment's gates",
    "unsigned": "a promoter commit without a signature git verifies (--require-signed)",
    "signer-mismatch": "a promoter commit signed by someone else than its Promoter-Actor",
}


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged a finding as dealt with, when, and why."""

    sha: str
    actor: str
    when: dt.datetime | None
    reason: str


@dataclass(frozen=True)
class AuditFinding:
    """One problem, with the commit that caused it when there is one."""

    code: str
    message: str
    environment: str | None = None
    app: str | None = None
    sha: str | None = None
    author: str | None = None
    when: dt.datetime | None = None
    gate: str | None = None
    acknowledged: Acknowledgement | None = None

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered audit finding code {self.code!r}")

    def acknowledge(self, by: Acknowledgement) -> AuditFinding:
        """This finding, marked as acknowledged."""
        return replace(self, acknowledged=by)


def about(
    code: str,
    commit: Commit,
    message: str,
    *,
    environment: str | None = None,
    app: str | None = None,
    gate: str | None = None,
) -> AuditFinding:
    """A finding about ``commit``: its sha, author and date go with the message."""
    return AuditFinding(
        code,
        message,
        environment,
        app,
        commit.sha,
        f"{commit.author_name} <{commit.author_email}>",
        commit.committed,
        gate,
    )
