"""Rules of the pipeline file that a JSON Schema cannot express: the graph and the gates.

Tolerant of schema-invalid shapes, so one run reports these with the schema's findings.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from promoter import reference
from promoter.findings import Finding, at, path_text
from promoter.model import sources_of
from promoter.yamlio import Document, KeyPath

_CLOCK = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]\Z|24:00\Z")


def pipeline_semantics(doc: Document, reserved: str) -> list[Finding]:
    """Graph and gate rules for a pipeline file (tolerant of schema-invalid shapes)."""
    findings: list[Finding] = []
    envs = doc.data.get("environments") if isinstance(doc.data, dict) else None
    if not isinstance(envs, dict):
        return findings
    graph: dict[str, list[str]] = {}
    for name, spec in envs.items():
        problem = reference.explain_name(name, "environment name")
        if problem:
            findings.append(at(doc, ("environments", name), "unsafe-name", problem, key=True))
        if name == reserved:
            findings.append(
                at(
                    doc,
                    ("environments", name),
                    "reserved-name",
                    f"environment name {name!r} is taken by the pipeline file "
                    f"{reserved}.yaml; rename the environment",
                    key=True,
                )
            )
        if not isinstance(spec, dict):
            continue
        raw = spec.get("from", [])
        sources = sources_of(spec)
        graph[name] = []
        for index, source in enumerate(sources):
            where: KeyPath = ("environments", name, "from") + (
                () if isinstance(raw, str) else (index,)
            )
            if not isinstance(source, str):
                continue
            if source == name:
                findings.append(
                    at(
                        doc,
                        where,
                        "self-source",
                        f"environment {name!r} promotes from itself; name the "
                        "environment before it in `from`",
                    )
                )
            elif source not in envs and reference.is_name(source):  # else: the name finding
                known = ", ".join(envs)
                findings.append(
                    at(
                        doc,
                        where,
                        "unknown-environment",
                        f"environment {name!r} promotes from {source!r}, which is "
                        f"not in the pipeline (known: {known})",
                    )
                )
            else:
                graph[name].append(source)
        for gate_key in ("gates", "hotfixGates", "rollbackGates"):
            gates = spec.get(gate_key)
            if isinstance(gates, dict):
                base: KeyPath = ("environments", name, gate_key)
                findings.extend(gate_semantics(doc, base, gates))
                findings.extend(_source_checks(doc, base, gates, name, sources))
    findings.extend(_cycles(doc, graph))
    findings.extend(_people(doc))
    return findings


def _source_checks(
    doc: Document, base: KeyPath, gates: Mapping[str, Any], name: str, sources: list[Any]
) -> list[Finding]:
    """Checks per source name sources of the environment."""
    checks = gates.get("checks")
    if not isinstance(checks, dict):
        return []
    return [
        at(
            doc,
            (*base, "checks", source),
            "unknown-environment",
            f"checks name {source!r}, which is not a source of {name!r} "
            f"(its sources: {', '.join(str(s) for s in sources) or 'none'})",
            key=True,
        )
        for source in checks
        if source not in sources
    ]


def _people(doc: Document) -> list[Finding]:
    """Every identity (key, email, login) names one person only."""
    people = doc.data.get("people") if isinstance(doc.data, dict) else None
    if not isinstance(people, dict):
        return []
    findings: list[Finding] = []
    owner: dict[str, str] = {}
    for key, spec in people.items():
        if not isinstance(key, str):
            continue
        found: list[tuple[KeyPath, str]] = [(("people", key), key)]
        if isinstance(spec, dict):
            emails = spec.get("email")
            if isinstance(emails, str):
                found.append((("people", key, "email"), emails))
            elif isinstance(emails, list):
                found += [
                    (("people", key, "email", i), e)
                    for i, e in enumerate(emails)
                    if isinstance(e, str)
                ]
            found += [
                (("people", key, forge), spec[forge])
                for forge in ("github", "gitlab", "gitea")
                if isinstance(spec.get(forge), str)
            ]
        for path, identity in found:
            folded = identity.casefold()
            other = owner.setdefault(folded, key)
            if other != key:
                findings.append(
                    at(
                        doc,
                        path,
                        "people",
                        f"{identity!r} is an identity of both {other!r} and {key!r}: one "
                        "identity must name one person, or approvals and signatures could "
                        "count for the wrong one",
                        key=len(path) == 2,
                    )
                )
    return findings


def _cycles(doc: Document, graph: Mapping[str, list[str]]) -> list[Finding]:
    """One finding per cycle in the `from` graph, at the `from` of its first member."""
    findings = []
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    reported: set[frozenset[str]] = set()
    for start in graph:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        state[start] = 1
        while stack:
            node, index = stack[-1]
            sources = graph.get(node, [])
            if index == len(sources):
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            stack[-1] = (node, index + 1)
            nxt = sources[index]
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    # path runs target -> source; show it the way promotions flow
                    chain = " → ".join(reversed([*cycle, nxt]))
                    findings.append(
                        at(
                            doc,
                            ("environments", cycle[0], "from"),
                            "cycle",
                            f"environments form a cycle: {chain}; promotions must "
                            "flow one way, so remove one of these `from` links",
                        )
                    )
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, 0))
    return findings


def _list(value: Any) -> list[Any]:
    """``value`` when it is a list, else no items."""
    return value if isinstance(value, list) else []


def _instant(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _misspelt_person(entry: Any, people: Any) -> str | None:
    """The person ``entry`` is one typo away from, when it names no identity of anyone
    in ``people`` (an entry that is no one's can still be a login of someone unlisted)."""
    if not isinstance(entry, str) or not isinstance(people, dict):
        return None
    names: set[str] = set()
    for key, person in people.items():
        names.add(str(key).casefold())
        for value in person.values() if isinstance(person, dict) else ():
            for item in _list(value) or [value]:
                if isinstance(item, str):
                    names.add(item.casefold())
    folded = entry.strip().casefold()
    if folded in names:
        return None
    close = sorted(str(key) for key in people if reference.one_edit(folded, str(key).casefold()))
    return close[0] if close else None


def gate_semantics(doc: Document, base: KeyPath, gates: Mapping[str, Any]) -> list[Finding]:
    """Rules for one gate set that a schema cannot express."""
    findings: list[Finding] = []
    approvals = gates.get("approvals")
    if isinstance(approvals, dict):
        allowed, required = approvals.get("from"), approvals.get("required")
        if (
            isinstance(allowed, list)
            and isinstance(required, int)
            and allowed
            and required > len(allowed)
        ):
            findings.append(
                at(
                    doc,
                    (*base, "approvals", "required"),
                    "approvals",
                    f"{required} approvals are required but only {len(allowed)} "
                    "identities may approve; lower `required` or add approvers",
                )
            )
        people = doc.data.get("people") if isinstance(doc.data, dict) else None
        for index, entry in enumerate(_list(allowed)):
            near = _misspelt_person(entry, people)
            if near is not None:
                findings.append(
                    at(
                        doc,
                        (*base, "approvals", "from", index),
                        "approvals",
                        f"approver {entry!r} is nobody in `people`: did you mean {near!r}? "
                        "As written, nobody can give that approval",
                    )
                )
    window = gates.get("window")
    if not isinstance(window, dict):
        return findings
    timezone = window.get("timezone")
    if isinstance(timezone, str):
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(timezone)
        except (ValueError, KeyError, OSError):
            findings.append(
                at(
                    doc,
                    (*base, "window", "timezone"),
                    "timezone",
                    f"unknown time zone {timezone!r}; use an IANA name such as "
                    "'UTC' or 'Europe/Berlin'",
                )
            )
    # A wrong type where a list belongs (allow: 5, freeze: true) is the schema's finding.
    for index, allow in enumerate(_list(window.get("allow"))):
        if (
            isinstance(allow, dict)
            and isinstance(allow.get("start"), str)
            and isinstance(allow.get("end"), str)
            and _CLOCK.match(allow["start"])
            and _CLOCK.match(allow["end"])
            and allow["start"] >= allow["end"]
        ):
            findings.append(
                at(
                    doc,
                    (*base, "window", "allow", index, "end"),
                    "window",
                    f"window ends ({allow['end']}) before it starts "
                    f"({allow['start']}); for a range across midnight write two "
                    "ranges",
                )
            )
    for index, freeze in enumerate(_list(window.get("freeze"))):
        if not isinstance(freeze, dict):
            continue
        for key in ("start", "end"):
            if isinstance(freeze.get(key), str) and _instant(freeze[key]) is None:
                findings.append(
                    at(
                        doc,
                        (*base, "window", "freeze", index, key),
                        "window",
                        f"{path_text((*base, 'window', 'freeze', index, key))} "
                        f"{freeze[key]!r} is not a valid date or time",
                    )
                )
        start, end = _instant(str(freeze.get("start"))), _instant(str(freeze.get("end")))
        if end and len(str(freeze.get("end"))) == 10:  # a date alone: frozen all that day
            end += dt.timedelta(days=1)
        if start and end and (start.tzinfo is None) == (end.tzinfo is None) and start >= end:
            findings.append(
                at(
                    doc,
                    (*base, "window", "freeze", index, "end"),
                    "window",
                    "freeze ends before it starts; swap start and end",
                )
            )
    return findings
