"""The clock gates are judged at, and why a writing command cannot move it.

A read (``gates``, ``status``, ``--dry-run``) may ask "what if it were Tuesday 10:00?":
``PROMOTER_NOW`` pins its clock. A write may not: its commit records that soak had
passed and the deploy window was open, and that record must be true of the real time.
So a writing command refuses ``PROMOTER_NOW``, and it dates its commit itself with the
very second its gates were judged at, which is why it refuses git's own date overrides
(``GIT_COMMITTER_DATE``, ``GIT_AUTHOR_DATE``) too: ``audit`` re-judges every promotion at
its commit's date, and the two must agree.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

from promoter.errors import UsageError

# How far a commit may be dated before its parent (clocks of two machines disagree by a
# little) before promoter refuses to commit on top of it and `audit` reports it.
CLOCK_SKEW = dt.timedelta(seconds=60)
_WRITE_OVERRIDES = ("PROMOTER_NOW", "GIT_COMMITTER_DATE", "GIT_AUTHOR_DATE")


def now(*, writing: bool, environ: Mapping[str, str] | None = None) -> dt.datetime:
    """The time to judge gates at, in UTC, to the second.

    For a read, ``PROMOTER_NOW`` (ISO 8601) pins it. For a write, it is the real time,
    and any variable that would move the clock or the commit's date is a usage error.
    """
    env = os.environ if environ is None else environ
    if writing:
        for name in _WRITE_OVERRIDES:
            if env.get(name):
                raise UsageError(_refusal(name))
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    pinned = env.get("PROMOTER_NOW")
    if pinned:
        try:
            value = dt.datetime.fromisoformat(pinned)
        except ValueError:
            raise UsageError(
                f"PROMOTER_NOW={pinned!r} is not an ISO 8601 time",
                hint="Use e.g. 2026-11-25T10:00:00+00:00, or unset it",
            ) from None
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _refusal(name: str) -> str:
    if name == "PROMOTER_NOW":
        return (
            "PROMOTER_NOW is set, but this command writes a commit: a real change is judged "
            "at the real time (soak, deploy windows, freezes) and its commit is dated with "
            "it. Unset PROMOTER_NOW to run it, or add --dry-run (or use `promoter gates`) "
            "to see what would happen at that time"
        )
    return (
        f"{name} is set, but promoter dates its own commits, with the time their gates "
        f"were judged at (`promoter audit` re-judges every promotion at its commit's date). "
        f"Unset {name}"
    )
