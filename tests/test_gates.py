"""Gates as pure functions of evidence and clock: every gate kind, pass, fail and pending."""

from __future__ import annotations

import datetime as dt

import pytest

from promoter.actor import Actor, current_actor, parse_actor
from promoter.errors import UsageError
from promoter.evidence import build_evidence
from promoter.gates import clears_together, evaluate, overall, window_gate
from promoter.git import Commit, trailer_fields
from promoter.model import AllowedTime, Approvals, Freeze, GateSet, Window
from promoter.records import Change, Event, message, parse

D = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # a Monday
ME = Actor("me@example.com", "Me")


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def promoted(env: str, digest: str, when: dt.datetime, source: str = "dev") -> Event:
    return Event("promote", env, ME, (source,), (Change("web", None, digest),), when=when)


def recorded(env: str, check: str, result: str, digest: str = D) -> Event:
    return Event("record", env, ME, app="web", digest=digest, check=(check, result), when=T0)


def approved(who: str, digest: str = D, env: str = "prod") -> Event:
    return Event("approve", env, parse_actor(who), app="web", digest=digest, when=T0)


def run(
    gates: GateSet,
    events: list[Event],
    now: dt.datetime,
    sources: tuple[str, ...] = ("qa",),
    actor: Actor = ME,
):  # type: ignore[no-untyped-def]
    evidence = build_evidence(sorted(events, key=lambda e: e.when or T0, reverse=True))
    return evaluate(
        gates,
        app="web",
        digest=D,
        sources=sources,
        target="prod",
        evidence=evidence,
        now=now,
        actor=actor,
    )


def test_no_gates_pass() -> None:
    assert run(GateSet(), [], T0) == ()
    assert overall(()) == "pass"


@pytest.mark.parametrize(
    ("events", "status"),
    [
        ([], "pending"),
        ([recorded("qa", "uat", "passed")], "pass"),
        ([recorded("qa", "uat", "failed")], "fail"),
        ([recorded("qa", "uat", "passed", OTHER)], "pending"),  # another digest never counts
        ([recorded("staging", "uat", "passed")], "pending"),  # another environment neither
    ],
)
def test_checks(events: list[Event], status: str) -> None:
    (result,) = run(GateSet(checks=("uat",)), events, T0)
    assert result.status == status


def test_checks_with_parallel_sources_need_every_source() -> None:
    gates = GateSet(checks=("uat",))
    (half,) = run(gates, [recorded("qa", "uat", "passed")], T0, sources=("qa", "perf"))
    assert half.status == "pending" and "uat in perf" in half.reason
    assert "`promoter record perf web --check uat=passed`" in half.reason  # what is missing
    two = GateSet(checks=("lint", "uat"))
    (one,) = run(two, [recorded("qa", "lint", "passed")], T0)
    assert "`promoter record qa web --check uat=passed`" in one.reason
    both = [recorded("qa", "uat", "passed"), recorded("perf", "uat", "passed")]
    (full,) = run(gates, both, T0, sources=("qa", "perf"))
    assert full.status == "pass"


def test_soak_counts_from_the_arrival_in_the_source() -> None:
    gates = GateSet(soak_seconds=4 * 3600)
    history = [promoted("qa", D, T0)]
    (early,) = run(gates, history, at(3))
    assert (early.status, early.clears_at) == ("pending", at(4))
    assert early.reason == "only 3h in qa (needs 4h)"
    (later,) = run(gates, history, at(4))
    assert later.status == "pass"
    (never,) = run(gates, [], at(4))
    assert never.status == "fail" and "no recorded arrival in qa" in never.reason


def test_soak_restarts_when_the_digest_comes_back() -> None:
    gates = GateSet(soak_seconds=3600)
    history = [promoted("qa", D, T0), promoted("qa", OTHER, at(1)), promoted("qa", D, at(2))]
    (result,) = run(gates, history, at(2.5))
    assert result.status == "pending" and result.clears_at == at(3)


def test_approvals_are_distinct_allowed_and_never_your_own() -> None:
    gates = GateSet(approvals=Approvals(2, ("alice@example.com", "Bob@Example.com")))
    events = [
        approved("Alice <alice@example.com>"),
        approved("Alice <ALICE@example.com>"),
        approved("Carol <carol@example.com>"),
        approved("Bob <bob@example.com>", OTHER),
    ]
    (result,) = run(gates, events, T0)
    assert result.status == "pending" and result.reason.startswith("1 of 2 (alice@example.com)")
    events.append(approved("Bob <bob@example.com>"))
    (result,) = run(gates, events, T0)
    assert result.status == "pass"
    (own,) = run(gates, events, T0, actor=parse_actor("Bob <bob@example.com>"))
    assert own.status == "pending"
    # what does not count is said, with why
    assert "bob@example.com (would approve their own promotion)" in own.reason
    assert "carol@example.com (not among the approvers)" in own.reason


WINDOW = Window(
    "Europe/Berlin",
    (AllowedTime(("mon", "tue"), "09:00", "16:00"), AllowedTime(("sat",), "20:00", "24:00")),
    (Freeze("2026-12-21", "2027-01-04", "Year-end freeze"),),
)


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), "pass"),  # Mon 09:00 Berlin
        (dt.datetime(2026, 11, 23, 7, 59, tzinfo=dt.UTC), "pending"),  # Mon 08:59
        (dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC), "pending"),  # Mon 16:00: end is open
        (dt.datetime(2026, 11, 28, 22, 59, tzinfo=dt.UTC), "pass"),  # Sat 23:59, "24:00" end
        (dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC), "pending"),  # Wednesday
        (dt.datetime(2026, 12, 22, 9, 0, tzinfo=dt.UTC), "pending"),  # Tuesday, but frozen
    ],
)
def test_window(now: dt.datetime, status: str) -> None:
    result = window_gate(WINDOW, now)
    assert result.status == status
    if status == "pending":
        assert result.clears_at is not None and result.clears_at > now


def test_window_opening_times_respect_the_time_zone_and_freezes() -> None:
    early = window_gate(WINDOW, dt.datetime(2026, 11, 23, 7, 59, tzinfo=dt.UTC))
    assert early.clears_at == dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)  # 09:00 CET
    frozen = window_gate(WINDOW, dt.datetime(2026, 12, 22, 9, 0, tzinfo=dt.UTC))
    assert frozen.reason.startswith("frozen: Year-end freeze")
    # the freeze takes in its end date, Monday 2027-01-04; Tuesday 09:00 Berlin opens
    assert frozen.clears_at == dt.datetime(2027, 1, 5, 8, 0, tzinfo=dt.UTC)
    assert "frozen: Year-end freeze, until Mon 2027-01-04 inclusive" in frozen.reason


def test_window_across_a_daylight_saving_change() -> None:
    summer = window_gate(WINDOW, dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC))  # 09:00 CEST
    assert summer.status == "pass"
    winter = window_gate(WINDOW, dt.datetime(2026, 3, 23, 7, 0, tzinfo=dt.UTC))  # 08:00 CET
    assert winter.status == "pending"


def test_records_round_trip_through_a_commit() -> None:
    event = Event(
        "promote",
        "prod",
        Actor("alice@example.com", "Alice", "https://ci/run/1"),
        ("staging",),
        (Change("web", OTHER, D, "1.2.3"),),
        hotfix=True,
    )
    text = message(event)
    assert text.startswith("hotfix(web): staging → prod sha256:abababab\n")
    subject = text.splitlines()[0]
    commit = Commit("f" * 40, "Alice", "alice@example.com", T0, T0, subject, trailer_fields(text))
    back = parse(commit)
    assert back is not None
    assert (back.kind, back.environment, back.sources, back.hotfix) == (
        "promote",
        "prod",
        ("staging",),
        True,
    )
    assert back.changes == (Change("web", OTHER, D),)
    assert back.actor == Actor("alice@example.com", "Alice", "https://ci/run/1")


def test_actor_from_ci_variables_then_git() -> None:
    github = current_actor(
        "Git User",
        "git@example.com",
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_RUN_ID": "42",
            "GITHUB_SERVER_URL": "https://github.example",
        },
    )
    assert github == Actor("octocat", "octocat", "https://github.example/o/r/actions/runs/42")
    gitlab = current_actor(
        None,
        None,
        {"GITLAB_CI": "true", "GITLAB_USER_LOGIN": "jane", "GITLAB_USER_EMAIL": "jane@example.com"},
    )
    assert gitlab.id == "jane@example.com"
    assert current_actor("Git User", "git@example.com", {}).display == "Git User <git@example.com>"
    assert current_actor(None, None, {"PROMOTER_ACTOR": "Bot <bot@x>"}).id == "bot@x"


def test_the_approve_hint_names_only_who_has_not_approved() -> None:
    gates = GateSet(
        approvals=Approvals(2, ("alice@example.com", "bob@example.com", "carol@example.com"))
    )
    (result,) = run(gates, [approved("Alice <alice@example.com>")], T0)
    assert result.status == "pending"
    assert result.reason.endswith("by one of bob@example.com, carol@example.com")
    (mine,) = run(gates, [], T0, actor=parse_actor("Bob <bob@example.com>"))
    assert mine.reason.endswith("by one of alice@example.com, carol@example.com")


def test_checks_per_source_for_parallel_testing() -> None:
    gates = GateSet(source_checks=(("qa", ("uat",)), ("perf", ("load-test",))))
    assert gates.has_checks and gates.check_names == ("uat", "load-test")
    (half,) = run(gates, [recorded("qa", "uat", "passed")], T0, sources=("qa", "perf"))
    assert half.status == "pending" and "load-test in perf" in half.reason
    assert "uat in perf" not in half.reason  # perf owes only its own check
    both = [recorded("qa", "uat", "passed"), recorded("perf", "load-test", "passed")]
    (full,) = run(gates, both, T0, sources=("qa", "perf"))
    assert full.status == "pass"
    assert full.reason == "uat in qa, load-test in perf passed"


def test_evidence_recorded_before_a_rollback_no_longer_counts() -> None:
    gates = GateSet(checks=("uat",), approvals=Approvals(1))
    rollback = Event(
        "rollback", "prod", ME, changes=(Change("web", D, OTHER),), when=at(2), sha="r" * 40
    )
    history = [
        Event("record", "qa", ME, app="web", digest=D, check=("uat", "passed"), when=T0, sha="1"),
        Event("approve", "prod", parse_actor("Alice <a@x>"), app="web", digest=D, when=T0, sha="2"),
        rollback,
    ]
    checks, approvals = run(gates, history, at(3))
    assert (checks.status, approvals.status) == ("pending", "pending")
    assert "recorded before the rollback" in checks.reason
    assert "recorded before the rollback" in approvals.reason
    fresh = Event(
        "record", "qa", ME, app="web", digest=D, check=("uat", "passed"), when=at(4), sha="3"
    )
    again = Event(
        "approve", "prod", parse_actor("Alice <a@x>"), app="web", digest=D, when=at(4), sha="4"
    )
    checks, approvals = run(gates, [*history, fresh, again], at(5))
    assert (checks.status, approvals.status) == ("pass", "pass")


def test_soak_and_window_clear_together_at_one_moment() -> None:
    window = Window("Europe/Berlin", (AllowedTime(("mon", "tue"), "09:00", "16:00"),))
    gates = GateSet(soak_seconds=4 * 3600, window=window)
    history = [promoted("qa", D, dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC))]  # Mon 14:00
    now = dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)  # Mon 15:00 Berlin: window open
    soak, open_now = run(gates, history, now)
    assert (soak.status, open_now.status) == ("pending", "pass")
    # soak clears Mon 18:00 Berlin, when the window is shut: both hold Tue 09:00 Berlin
    together = clears_together(gates, (soak, open_now), now)
    assert together == dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
    assert clears_together(GateSet(soak_seconds=60), (), now) is None  # nothing waits
    (never,) = run(GateSet(soak_seconds=60), [], now)
    assert clears_together(GateSet(soak_seconds=60), (never,), now) is None  # no arrival


def test_a_freeze_that_ends_at_a_time_ends_then() -> None:
    window = Window("UTC", (), (Freeze("2026-12-24T12:00", "2026-12-26T06:00", "Holidays"),))
    frozen = window_gate(window, dt.datetime(2026, 12, 25, 10, 0, tzinfo=dt.UTC))
    assert frozen.reason.startswith("frozen: Holidays, until Sat 2026-12-26 06:00")
    assert frozen.clears_at == dt.datetime(2026, 12, 26, 6, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value",
    ["Alice <>", "Alice <alice @example.com>", "<<>>", "a\tb", "Evil \x1b[31m <e@example.com>"],
)
def test_a_promoter_actor_that_names_no_identity_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match="names no identity"):
        current_actor("Git User", "git@example.com", {"PROMOTER_ACTOR": value})
    ok = current_actor(None, None, {"PROMOTER_ACTOR": "Release Bot <bot@example.com>"})
    assert ok == Actor("bot@example.com", "Release Bot")
