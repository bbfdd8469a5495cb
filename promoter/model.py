"""The domain model: a pipeline of environments, their gates, and the artifacts they pin.

Everything here is an immutable value built from validated files; nothing does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

PromotionMode = Literal["commit", "pull-request"]
SignedEvidence = Literal["protected", "all"]
FORGES = ("github", "gitlab", "gitea")  # the logins a person may have

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\Z")


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``30m``, ``24h`` or ``1d12h``."""
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"not a duration: {text!r}")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


@dataclass(frozen=True)
class Approvals:
    """How many approvals a promotion needs, and from whom (empty: anyone but the author)."""

    required: int
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class AllowedTime:
    """A weekly time range in which promotions may land."""

    days: tuple[str, ...]
    start: str
    end: str


@dataclass(frozen=True)
class Freeze:
    """A period in which no promotion may land."""

    start: str
    end: str
    reason: str | None = None


@dataclass(frozen=True)
class Window:
    """Deploy windows and freezes, read in one IANA time zone."""

    timezone: str
    allow: tuple[AllowedTime, ...] = ()
    freeze: tuple[Freeze, ...] = ()


@dataclass(frozen=True)
class GateSet:
    """The gates a digest must pass to enter an environment.

    ``checks`` must pass in every source; ``source_checks`` (the per-source form, for
    parallel testing) names the checks of each source instead.
    """

    checks: tuple[str, ...] = ()
    soak_seconds: int | None = None
    approvals: Approvals | None = None
    window: Window | None = None
    source_checks: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def empty(self) -> bool:
        """True when no gate is declared."""
        return not (
            self.checks or self.source_checks or self.soak_seconds or self.approvals or self.window
        )

    @property
    def has_checks(self) -> bool:
        """True when some source must have passed checks."""
        return bool(self.checks or any(names for _, names in self.source_checks))

    def checks_for(self, source: str) -> tuple[str, ...]:
        """The checks ``source`` must have passed for the digest."""
        if self.source_checks:
            return dict(self.source_checks).get(source, ())
        return self.checks

    @property
    def check_names(self) -> tuple[str, ...]:
        """Every check this gate set names, in any source."""
        names = list(self.checks)
        for _, more in self.source_checks:
            names.extend(name for name in more if name not in names)
        return tuple(names)


@dataclass(frozen=True)
class Person:
    """One person and every identity they act under: git emails, forge and CI logins."""

    key: str
    name: str | None = None
    emails: tuple[str, ...] = ()
    logins: tuple[tuple[str, str], ...] = ()  # (forge, login)

    @property
    def identities(self) -> tuple[str, ...]:
        """The person's key, emails and logins."""
        return (self.key, *self.emails, *(login for _, login in self.logins))


@dataclass(frozen=True)
class Environment:
    """One node of the pipeline graph."""

    name: str
    sources: tuple[str, ...] = ()
    promotion: PromotionMode = "commit"
    protected: bool = False
    gates: GateSet = field(default_factory=GateSet)
    hotfix_gates: GateSet | None = None
    rollback_gates: GateSet | None = None
    description: str | None = None


@dataclass(frozen=True)
class Pipeline:
    """The environments and the promotion graph between them, in file order; who is who;
    and where evidence must be signed."""

    environments: Mapping[str, Environment]
    people: Mapping[str, Person] = field(default_factory=dict)
    signed_evidence: SignedEvidence = "protected"

    def signed(self, name: str) -> bool:
        """Whether evidence for promotions into ``name`` counts only when signed."""
        env = self.environments.get(name)
        return self.signed_evidence == "all" or (env is not None and env.protected)

    def successors(self, name: str) -> tuple[str, ...]:
        """Environments that promote from ``name``."""
        return tuple(env.name for env in self.environments.values() if name in env.sources)

    def order(self) -> tuple[str, ...]:
        """Environments sources-first (a topological order, ties in file order)."""
        done: list[str] = []
        placed: set[str] = set()
        remaining = list(self.environments)
        while remaining:
            ready = [
                n
                for n in remaining
                if all(
                    s in placed or s not in self.environments for s in self.environments[n].sources
                )
            ]
            if not ready:  # a cycle; validation reports it, keep file order for the rest
                ready = remaining[:1]
            for name in ready:
                done.append(name)
                placed.add(name)
                remaining.remove(name)
        return tuple(done)

    def upstream(self, name: str) -> set[str]:
        """Every environment a digest passes through before reaching ``name``."""
        seen: set[str] = set()
        todo = list(self.environments[name].sources)
        while todo:
            current = todo.pop()
            if current in seen or current not in self.environments:
                continue
            seen.add(current)
            todo.extend(self.environments[current].sources)
        return seen


@dataclass(frozen=True)
class Artifact:
    """One app's artifact as pinned in an environment."""

    app: str
    image: str
    digest: str
    version: str | None = None
    source_repo: str | None = None
    source_revision: str | None = None

    @property
    def short_digest(self) -> str:
        """The first 8 hex characters of the digest, as shown in tables and commit subjects."""
        return self.digest.partition(":")[2][:8]


@dataclass(frozen=True)
class State:
    """The desired state of one environment: its artifacts and its own configuration."""

    environment: str
    file: str
    artifacts: Mapping[str, Artifact]
    config: Mapping[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """A validated view of a GitOps repository: the pipeline and every environment's state."""

    pipeline_file: str
    pipeline: Pipeline
    states: Mapping[str, State]

    @property
    def apps(self) -> tuple[str, ...]:
        """Every app named in any environment, sorted."""
        return tuple(sorted({app for state in self.states.values() for app in state.artifacts}))


def gate_set_from_data(data: Mapping[str, Any] | None) -> GateSet:
    """Build a GateSet from schema-valid data."""
    if not data:
        return GateSet()
    approvals = data.get("approvals")
    window = data.get("window")
    checks = data.get("checks", ())
    return GateSet(
        checks=tuple(checks) if isinstance(checks, list | tuple) else (),
        source_checks=tuple((source, tuple(names)) for source, names in checks.items())
        if isinstance(checks, Mapping)
        else (),
        soak_seconds=parse_duration(data["soak"]) if "soak" in data else None,
        approvals=Approvals(approvals["required"], tuple(approvals.get("from", ())))
        if approvals
        else None,
        window=Window(
            window["timezone"],
            tuple(
                AllowedTime(tuple(a["days"]), a["start"], a["end"]) for a in window.get("allow", ())
            ),
            tuple(Freeze(f["start"], f["end"], f.get("reason")) for f in window.get("freeze", ())),
        )
        if window
        else None,
    )


def sources_of(spec: Any) -> list[Any]:
    """An environment's ``from`` as written: one name or a list (parallel testing), as a
    list; nothing for a spec that is not a mapping. The items are checked by the caller."""
    raw = spec.get("from", []) if isinstance(spec, Mapping) else []
    if isinstance(raw, str):
        return [raw]
    return list(raw) if isinstance(raw, list | tuple) else []


def pipeline_from_data(data: Mapping[str, Any]) -> Pipeline:
    """Build a Pipeline from schema-valid data."""
    environments: dict[str, Environment] = {}
    for name, spec in data["environments"].items():
        environments[name] = Environment(
            name=name,
            sources=tuple(sources_of(spec)),
            promotion=spec.get("promotion", "commit"),
            protected=spec.get("protected", False),
            gates=gate_set_from_data(spec.get("gates")),
            hotfix_gates=gate_set_from_data(spec["hotfixGates"]) if "hotfixGates" in spec else None,
            rollback_gates=gate_set_from_data(spec["rollbackGates"])
            if "rollbackGates" in spec
            else None,
            description=spec.get("description"),
        )
    people = {key: person_from_data(key, spec) for key, spec in data.get("people", {}).items()}
    trust = data.get("trust", {})
    return Pipeline(environments, people, trust.get("signedEvidence", "protected"))


def person_from_data(key: str, spec: Mapping[str, Any]) -> Person:
    """Build a Person from schema-valid data."""
    emails = spec.get("email", ())
    return Person(
        key,
        spec.get("name"),
        (emails,) if isinstance(emails, str) else tuple(emails),
        tuple((forge, spec[forge]) for forge in FORGES if forge in spec),
    )


def artifact_from_data(app: str, spec: Mapping[str, Any]) -> Artifact:
    """An app's artifact from its schema-valid entry in an environment file."""
    source = spec.get("source") or {}
    return Artifact(
        app,
        spec["image"],
        spec["digest"],
        spec.get("version"),
        source.get("repo"),
        source.get("revision"),
    )


def state_from_data(environment: str, file: str, data: Mapping[str, Any]) -> State:
    """Build an environment's State from schema-valid data."""
    artifacts = {app: artifact_from_data(app, spec) for app, spec in data["artifacts"].items()}
    return State(environment, file, artifacts, data.get("config", {}))
