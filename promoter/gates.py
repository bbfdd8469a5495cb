"""Gate evaluation: a pure function of the pipeline, the evidence in git, and the clock.

Each gate gives ``pass``, ``fail`` or ``pending`` with a reason, and a pending gate says
when it will clear if time alone will clear it (soak, deploy windows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from promoter.actor import Actor
from promoter.evidence import Evidence
from promoter.history import age, duration_text
from promoter.model import Approvals, Freeze, GateSet, Window
from promoter.records import short

Status = Literal["pass", "fail", "pending"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict for one app's digest."""

    gate: str
    status: Status
    reason: str
    clears_at: dt.datetime | None = None


def overall(results: Sequence[GateResult]) -> Status:
    """``fail`` if any gate failed, else ``pending`` if any is pending, else ``pass``."""
    statuses = {result.status for result in results}
    return "fail" if "fail" in statuses else "pending" if "pending" in statuses else "pass"


def evaluate(
    gates: GateSet,
    *,
    app: str,
    digest: str,
    sources: Sequence[str],
    target: str,
    evidence: Evidence,
    now: dt.datetime,
    actor: Actor,
    signed: bool = False,
    rollback: bool = False,
) -> tuple[GateResult, ...]:
    """Every declared gate for promoting ``app``'s ``digest`` from ``sources`` to ``target``
    (with ``rollback``, for rolling ``target`` back to it).

    With ``signed``, a check result or an approval counts only when its commit is signed
    by the identity it claims (see :mod:`promoter.trust`). Evidence recorded before a
    rollback took ``digest`` out of ``target`` never counts for it, and a rollback's
    approvals must be newer than the move that took ``digest`` out: approving the digest's
    first arrival is not approving its return.
    """
    results = []
    void = evidence.void_before(target, app, digest)
    left = evidence.left_at(target, app, digest) if rollback else -1
    if gates.has_checks:
        results.append(_checks(gates, app, digest, sources, evidence, void, signed))
    if gates.soak_seconds is not None:
        results.append(_soak(gates.soak_seconds, app, digest, sources, evidence, now))
    if gates.approvals is not None:
        results.append(
            _approvals(
                gates.approvals,
                app,
                digest,
                target,
                evidence,
                actor,
                (left, f"{short(digest)} left {target}") if left > void else (void, "the rollback"),
                signed,
            )
        )
    if gates.window is not None:
        results.append(window_gate(gates.window, now))
    return tuple(results)


def _checks(
    gates: GateSet,
    app: str,
    digest: str,
    sources: Sequence[str],
    evidence: Evidence,
    void: int,
    signed: bool,
) -> GateResult:
    failed, missing, passed, ignored = [], [], [], []
    first_missing: tuple[str, str] | None = None
    for source in sources:
        for name in gates.checks_for(source):
            record = None
            for event in reversed(evidence.checks.get((source, app, digest, name), ())):
                why = evidence.why_not_counted(event, since=void, signed=signed)
                if why is None:
                    record = event  # the newest record that counts decides
                    break
                ignored.append(f"{name} in {source} by {event.actor.id} ({why})")
            if record is None:
                missing.append(f"{name} in {source}")
                first_missing = first_missing or (source, name)
            elif record.check and record.check[1] == "passed":
                passed.append(f"{name} in {source}")
            else:
                url = f" ({record.url})" if record.url else ""
                failed.append(f"{name} in {source}{url}")
    unseen = f"; not counted: {', '.join(dict.fromkeys(ignored))}" if ignored else ""
    if failed:
        return GateResult("checks", "fail", f"failed: {', '.join(failed)}{unseen}")
    if missing and first_missing is not None:
        where, name = first_missing  # the hint names a check that is really missing
        hint = f"promoter record {where} {app} --check {name}=passed"
        return GateResult(
            "checks",
            "pending",
            f"not recorded for {short(digest)}: {', '.join(missing)} (e.g. `{hint}`){unseen}",
        )
    return GateResult("checks", "pass", f"{', '.join(passed)} passed")


def _soak(
    seconds: int,
    app: str,
    digest: str,
    sources: Sequence[str],
    evidence: Evidence,
    now: dt.datetime,
) -> GateResult:
    waits = []
    for source in sources:
        arrival = evidence.arrival(source, app, digest)
        since = evidence.arrived_at(arrival, (source, app, digest)) if arrival else None
        if since is None:
            return GateResult(
                "soak", "fail", f"{short(digest)} has no recorded arrival in {source}"
            )
        waits.append((since + dt.timedelta(seconds=seconds), source, since))
    clears, source, since = max(waits)
    need = duration_text(seconds)
    if clears <= now:
        return GateResult("soak", "pass", f"{age(since, now)} in {source} (needs {need})")
    return GateResult(
        "soak", "pending", f"only {age(since, now)} in {source} (needs {need})", clears
    )


def _approvals(
    rule: Approvals,
    app: str,
    digest: str,
    target: str,
    evidence: Evidence,
    actor: Actor,
    void: tuple[int, str],
    signed: bool,
) -> GateResult:
    people = evidence.people
    since, before = void
    counted: dict[str, str] = {}
    ignored: dict[str, str] = {}
    for event in reversed(evidence.approvals.get((target, app, digest), [])):
        who = event.actor
        person = people.key(who.id)
        if people.same(who.id, actor.id):  # four eyes: nobody approves their own promotion
            ignored.setdefault(person, f"{who.id} (would approve their own promotion)")
            continue
        if rule.allowed and not people.allowed(who.id, rule.allowed):
            ignored.setdefault(person, f"{who.id} (not among the approvers)")
            continue
        why = evidence.why_not_counted(event, since=since, signed=signed, before=before)
        if why is None:
            counted.setdefault(person, who.id)
        else:
            ignored.setdefault(person, f"{who.id} ({why})")
    unseen = [text for person, text in ignored.items() if person not in counted]
    names = ", ".join(sorted(counted.values())) or "none"
    have = len(counted)
    note = f"; not counted: {', '.join(unseen)}" if unseen else ""
    if have >= rule.required:
        return GateResult("approvals", "pass", f"{have} of {rule.required} ({names}){note}")
    others = [
        entry
        for entry in rule.allowed
        if people.key(entry) not in counted and not people.same(entry, actor.id)
    ]
    return GateResult(
        "approvals",
        "pending",
        f"{have} of {rule.required} ({names}){note}; `promoter approve {app} --to {target} "
        f"--digest {digest}`" + (f" by one of {', '.join(others)}" if others else ""),
    )


def _instant(text: str, zone: ZoneInfo) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=zone)


def _freeze_end(text: str, zone: ZoneInfo) -> dt.datetime:
    """When a freeze ends: a date alone is frozen all day (the freeze ends at the start of
    the next day); a date and time is the moment it ends."""
    if len(text) == 10:  # YYYY-MM-DD
        day = dt.date.fromisoformat(text) + dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    return _instant(text, zone)


def _frozen(window: Window, zone: ZoneInfo, when: dt.datetime) -> list[Freeze]:
    return [f for f in window.freeze if _instant(f.start, zone) <= when < _freeze_end(f.end, zone)]


def _clock(text: str) -> dt.time | None:
    return None if text == "24:00" else dt.time.fromisoformat(text)


def _allowed_at(window: Window, zone: ZoneInfo, when: dt.datetime) -> bool:
    if _frozen(window, zone, when):
        return False
    if not window.allow:
        return True
    local = when.astimezone(zone)
    day, clock = DAYS[local.weekday()], local.time().replace(tzinfo=None)
    for allowed in window.allow:
        start = _clock(allowed.start) or dt.time(0)
        end = _clock(allowed.end)
        if day in allowed.days and start <= clock and (end is None or clock < end):
            return True
    return False


HORIZON_DAYS = 400  # how far ahead a window's next opening is looked for


def next_opening(window: Window, after: dt.datetime) -> dt.datetime | None:
    """The first moment at or after ``after`` when the window is open (outside every
    freeze, inside an allowed range); None when there is none within the horizon."""
    zone = ZoneInfo(window.timezone)
    if _allowed_at(window, zone, after):
        return after
    found = {_freeze_end(f.end, zone) for f in window.freeze}
    local = after.astimezone(zone)
    for offset in range(HORIZON_DAYS + 1):
        date = local.date() + dt.timedelta(days=offset)
        for allowed in window.allow:
            if DAYS[date.weekday()] in allowed.days:
                start = _clock(allowed.start) or dt.time(0)
                found.add(dt.datetime.combine(date, start, tzinfo=zone))
    for moment in sorted(m for m in found if m > after):
        if _allowed_at(window, zone, moment):
            return moment
    return None


def window_gate(window: Window, now: dt.datetime) -> GateResult:
    """Whether ``now`` is inside a deploy window and outside every freeze."""
    zone = ZoneInfo(window.timezone)
    local = now.astimezone(zone)
    stamp = f"{local:%a %H:%M} {window.timezone}"
    if _allowed_at(window, zone, now):
        return GateResult("window", "pass", f"open now ({stamp})")
    frozen = _frozen(window, zone, now)
    if frozen:
        freeze = frozen[0]
        until = (
            f"until {dt.date.fromisoformat(freeze.end):%a %Y-%m-%d} inclusive"
            if len(freeze.end) == 10
            else f"until {_freeze_end(freeze.end, zone).astimezone(zone):%a %Y-%m-%d %H:%M}"
        )
        why = f"frozen: {freeze.reason or 'freeze'}, {until}"
    else:
        why = "outside the deploy windows"
    moment = next_opening(window, now)
    if moment is None:
        return GateResult(
            "window", "pending", f"{why} ({stamp}); no opening in the next {HORIZON_DAYS} days"
        )
    return GateResult(
        "window",
        "pending",
        f"{why} ({stamp}); opens {moment.astimezone(zone):%a %Y-%m-%d %H:%M}",
        moment,
    )


def clears_together(
    gates: GateSet, results: Sequence[GateResult], now: dt.datetime
) -> dt.datetime | None:
    """The earliest moment at which every time-based gate (soak and window) passes at once:
    soak counts on while a window may close meanwhile, so the answer is the window's first
    opening once every soak is over. None when no time-based gate waits, or time alone
    will not clear them (a soak with no arrival)."""
    timed = [r for r in results if r.gate in ("soak", "window")]
    if not any(r.status == "pending" for r in timed) or any(r.status == "fail" for r in timed):
        return None
    soaked = max([now, *(r.clears_at for r in timed if r.gate == "soak" and r.clears_at)])
    if gates.window is None:
        return soaked
    return next_opening(gates.window, soaked)
