"""The apps × environments matrix: what runs where, and which promotions are waiting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from promoter.model import Artifact, Snapshot
from promoter.reference import unknown

CellState = Literal["current", "pending", "waiting", "rolled-back"]


class RolledBack(NamedTuple):
    """A rollback that took a digest out of an environment: which digest, and the commit."""

    digest: str
    sha: str
    when: dt.datetime | None


@dataclass(frozen=True)
class Cell:
    """One app in one environment.

    ``pending``: every source holds the digest ``offered``, which this environment lacks.
    ``rolled-back``: as pending, but a rollback took ``offered`` out of this environment
    and no fresh evidence for it has been recorded since (``rollback`` is that commit).
    ``waiting``: the sources disagree (parallel testing not finished) and at least one of
    them holds a digest this environment lacks. ``current``: nothing upstream is newer.
    """

    app: str
    environment: str
    artifact: Artifact | None
    state: CellState
    offered: Artifact | None = None
    upstream: tuple[tuple[str, str | None], ...] = ()  # (source, its digest or None)
    rollback: RolledBack | None = None

    @property
    def missing(self) -> bool:
        """True when the environment does not deploy the app."""
        return self.artifact is None


@dataclass(frozen=True)
class StatusReport:
    """The matrix, rows by app and columns by environment (sources first)."""

    environments: tuple[str, ...]
    apps: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]

    def cell(self, app: str, environment: str) -> Cell:
        """The cell of one app in one environment."""
        return self.cells[(app, environment)]

    @property
    def pending(self) -> tuple[Cell, ...]:
        """Cells with a promotion ready to go, in table order."""
        return tuple(
            self.cells[(a, e)]
            for a in self.apps
            for e in self.environments
            if self.cells[(a, e)].state == "pending"
        )

    @property
    def rolled_back(self) -> tuple[Cell, ...]:
        """Cells whose offered digest was rolled back out of them, in table order."""
        return tuple(
            self.cells[(a, e)]
            for a in self.apps
            for e in self.environments
            if self.cells[(a, e)].state == "rolled-back"
        )

    @property
    def waiting(self) -> tuple[Cell, ...]:
        """Cells whose sources disagree, in table order."""
        return tuple(
            self.cells[(a, e)]
            for a in self.apps
            for e in self.environments
            if self.cells[(a, e)].state == "waiting"
        )


def _pick(kind: str, wanted: Sequence[str], known: Sequence[str]) -> tuple[str, ...]:
    missing = [name for name in wanted if name not in known]
    if missing:
        raise unknown(kind, missing[0], known, hint=f"Check the spelling of --{kind[:3]}")
    return tuple(name for name in known if name in wanted) if wanted else tuple(known)


def compute_status(
    snapshot: Snapshot,
    environments: Sequence[str] = (),
    apps: Sequence[str] = (),
    rolled_back: Mapping[tuple[str, str], RolledBack] | None = None,
) -> StatusReport:
    """Build the status matrix, optionally limited to some environments and apps.

    ``rolled_back`` maps ``(app, environment)`` to the rollback that took a digest out;
    a cell whose pending digest is that one shows as rolled back instead.
    """
    pipeline = snapshot.pipeline
    env_names = _pick("environment", environments, pipeline.order())
    app_names = _pick("app", apps, snapshot.apps)
    cells: dict[tuple[str, str], Cell] = {}
    for env_name in env_names:
        sources = pipeline.environments[env_name].sources
        artifacts = snapshot.states[env_name].artifacts
        for app in app_names:
            current = artifacts.get(app)
            offers = [snapshot.states[s].artifacts.get(app) for s in sources]
            have = current.digest if current else None
            newer = [o for o in offers if o is not None and o.digest != have]
            state: CellState = "current"
            offered = None
            if newer:
                digests = {o.digest if o else None for o in offers}
                if len(digests) == 1:
                    state, offered = "pending", newer[0]
                else:
                    state = "waiting"
            upstream = tuple(
                (s, o.digest if o else None) for s, o in zip(sources, offers, strict=True)
            )
            removed = (rolled_back or {}).get((app, env_name))
            if state == "pending" and removed and offered and removed.digest == offered.digest:
                state = "rolled-back"
            else:
                removed = None
            cells[(app, env_name)] = Cell(app, env_name, current, state, offered, upstream, removed)
    return StatusReport(env_names, app_names, cells)
