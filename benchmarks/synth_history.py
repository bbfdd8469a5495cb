"""Synthetic promoter histories, streamed into ``git fast-import`` (seconds, not hours).

Two builders, both deterministic for their parameters:

- :func:`build_history`: a repository whose ``main`` holds ``commits`` commits: the
  synthetic repository of ``synth.py``, an ``adopt`` baseline, then release cycles of
  every app (publish into the entry environment, check records, approvals, promotions
  environment by environment) interleaved the way a busy team's are, with a few plain
  commits between them. Every publish and promote commit really changes the environment
  file it names, so the files at HEAD are what the history says they are. The last cycle,
  of the first app, stops just before one promotion with a soak gate, so
  ``promoter gates`` has a pending move whose soak is read from history.
- :func:`add_release_train`: on top of a clone of the synthetic repository, one
  ``publish`` commit that gives every app a new digest in the entry environment, and
  one check record per app and check, so ``promote --all`` moves every app at once.

Commit messages follow promoter's own format (promoter/records.py ``message()``):
subject, summary, then ``Promoter-*`` trailers; promoter reads them back as events.

    python benchmarks/synth_history.py --commits 5000 --apps 200 benchmarks/out/history
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # benchmarks/ is not a package

VERSION = 2  # bump when the generated history changes: cached repositories are rebuilt
START = int(dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC).timestamp())
CI = ("promoter-ci", "ci@example.com")
PEOPLE = {
    "alice@example.com": "Alice",
    "bob@example.com": "Bob",
    "carol@example.com": "Carol",
    "dave@example.com": "Dave",
}
RELEASER = ("Dave", "dave@example.com")  # promotes where approvals are needed; never approves
PLAIN_SHARE = 0.08  # commits that are not promoter's (docs, CI, config)
IN_FLIGHT = 24  # apps with a release cycle under way at any time
BERLIN = ZoneInfo("Europe/Berlin")  # the synthetic pipeline's deploy-window time zone
FREEZE = (  # the synthetic pipeline's year-end freeze, as instants
    dt.datetime(2026, 12, 21, tzinfo=BERLIN),
    dt.datetime(2027, 1, 4, tzinfo=BERLIN),
)

Change = tuple[str, str | None, str, str | None]  # app, previous digest, digest, version
Note = tuple[str, str, str, str]  # app, gate, status, reason
Step = tuple[str, str, str]  # kind, environment, check name / approver email / ""


def short(digest: str | None) -> str:
    """``sha256:1a2b3c4d``, as promoter writes digests in subjects."""
    if not digest:
        return "none"
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:8]}"


def duration(seconds: int) -> str:
    """``1d12h``, ``45m``: promoter's duration format."""
    days, rest = divmod(max(0, seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(
        [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    )
    return text or f"{secs}s"


def message(
    kind: str,
    environment: str,
    actor: tuple[str, str],
    *,
    sources: Sequence[str] = (),
    changes: Sequence[Change] = (),
    app: str | None = None,
    digest: str | None = None,
    check: tuple[str, str] | None = None,
    url: str | None = None,
    gates: Sequence[Note] = (),
    baseline: Sequence[tuple[str, str, str]] = (),
) -> str:
    """A commit message in the format of promoter/records.py ``message()``."""
    apps = sorted({c[0] for c in changes} | ({app} if app else set()))
    scope = apps[0] if len(apps) == 1 else f"{len(apps)} apps"
    one = changes[0] if len(changes) == 1 else None
    if kind == "adopt":
        envs = len({env for env, _, _ in baseline})
        subject = f"adopt: baseline of {len(baseline)} pinned digests in {envs} environments"
    elif kind == "promote":
        subject = f"promote({scope}): {', '.join(sources)} → {environment}"
        subject += f" {short(one[2])}" if one else ""
    elif kind == "publish":
        subject = f"publish({scope}): {environment}"
        if one:
            subject += f" {short(one[2])}" + (f" {one[3]}" if one[3] else "")
    elif kind == "record":
        name, result = check or ("?", "?")
        subject = f"record({scope}): {name} {result} in {environment} for {short(digest)}"
    else:
        subject = f"approve({scope}): {environment} for {short(digest)}"

    summary = []
    for name, previous, new, version in changes:
        label = f"{version} " if version else ""
        if previous:
            summary.append(
                f"{name} {label}({short(new)}) replaces {short(previous)} in {environment}."
            )
        else:
            summary.append(f"{name} {label}({short(new)}) enters {environment}.")
    if gates:
        summary += ["", "Gates:", *(f"  {a}: {g} {s}: {r}" for a, g, s, r in gates)]

    trailers = [("Promoter-Kind", kind)]
    trailers += [("Promoter-From", source) for source in sources]
    if kind == "record":
        trailers.append(("Promoter-Env", environment))
    elif kind != "adopt":
        trailers.append(("Promoter-To", environment))
    trailers += [("Promoter-Baseline", " ".join(entry)) for entry in baseline]
    trailers += [("Promoter-App", name) for name in apps]
    trailers += [("Promoter-Change", f"{a} {p or 'none'} -> {d}") for a, p, d, _ in changes]
    if digest:
        trailers.append(("Promoter-Digest", digest))
    if check:
        trailers.append(("Promoter-Check", f"{check[0]}={check[1]}"))
    if url:
        trailers.append(("Promoter-Url", url))
    trailers += [("Promoter-Gate", f"{a} {g} {s}: {r}") for a, g, s, r in gates]
    trailers.append(("Promoter-Actor", f"{actor[0]} <{actor[1]}>"))
    block = "\n".join(f"{key}: {value}" for key, value in trailers)
    body = "\n".join(summary)
    return f"{subject}\n\n{body}\n\n{block}\n" if body else f"{subject}\n\n{block}\n"


class FastImport:
    """A ``git fast-import`` process fed one commit at a time."""

    def __init__(self, repo: Path, ref: str = "refs/heads/main") -> None:
        self.ref = ref
        self.count = 0
        self.proc = subprocess.Popen(
            ["git", *synth.GIT_OPTIONS, "fast-import", "--quiet", "--done"],
            cwd=repo,
            env=synth.git_env(),
            stdin=subprocess.PIPE,
        )
        assert self.proc.stdin is not None
        self.out = self.proc.stdin

    def commit(
        self,
        who: tuple[str, str],
        when: int,
        text: str,
        files: dict[str, str],
        parent: str | None = None,
    ) -> None:
        msg = text.encode()
        ident = f"{who[0]} <{who[1]}> {when} +0000"
        parts = [
            f"commit {self.ref}\nauthor {ident}\ncommitter {ident}\ndata {len(msg)}\n".encode(),
            msg,
            b"\n",
        ]
        if parent:
            parts.append(f"from {parent}\n".encode())
        for path, content in files.items():
            data = content.encode()
            parts += [f"M 100644 inline {path}\ndata {len(data)}\n".encode(), data, b"\n"]
        parts.append(b"\n")
        self.out.write(b"".join(parts))
        self.count += 1

    def close(self) -> None:
        self.out.write(b"done\n")
        self.out.close()
        if self.proc.wait() != 0:
            raise RuntimeError(f"git fast-import failed with exit code {self.proc.returncode}")


@dataclass
class Files:
    """The environment files as the history goes: one text block per app, rebuilt on change."""

    graph: list[synth.Env]
    names: list[str]
    release: dict[str, dict[str, int]]

    def __post_init__(self) -> None:
        self.position = {app: i for i, app in enumerate(self.names)}
        self.blocks = {
            env.name: [
                synth.artifact_block(app, i, self.release[env.name][app])
                for i, app in enumerate(self.names)
            ]
            for env in self.graph
        }
        self.ends = {
            env.name: (synth.env_header(env.name), synth.env_footer(env.name, i))
            for i, env in enumerate(self.graph)
        }

    def path(self, env: str) -> str:
        return f"environments/{env}.yaml"

    def text(self, env: str) -> str:
        head, foot = self.ends[env]
        return head + "".join(self.blocks[env]) + foot

    def set(self, env: str, app: str, release: int) -> str:
        """Pin ``release`` of ``app`` in ``env``; return the digest it replaces."""
        previous = synth.digest(app, self.release[env][app])
        self.release[env][app] = release
        self.blocks[env][self.position[app]] = synth.artifact_block(
            app, self.position[app], release
        )
        return previous


def initial_files(graph: list[synth.Env], files: Files, schemas: Path | None) -> dict[str, str]:
    """What the first commit holds: the pipeline, every environment file, the schemas."""
    out = {"environments/pipeline.yaml": synth.pipeline_yaml(graph)}
    out.update({files.path(env.name): files.text(env.name) for env in graph})
    if schemas is not None:
        for path in sorted(schemas.rglob("*")):
            if path.is_file():
                out[f"schemas/{path.relative_to(schemas).as_posix()}"] = path.read_text("utf-8")
    out["README.md"] = "# Synthetic GitOps repository\n"
    return out


def cycle(
    graph: list[synth.Env], rules: dict[str, synth.Rules], stop_before: str = ""
) -> list[Step]:
    """One release of one app through the whole pipeline, as promoter commits.

    With ``stop_before``, the cycle ends with the evidence for promoting into that
    environment recorded, but the promotion itself not made.
    """
    steps: list[Step] = [("publish", graph[0].name, "")]
    recorded: set[tuple[str, str]] = set()
    for env in graph[1:]:
        rule = rules[env.name]
        for source in env.sources:
            for check in rule.checks:
                if (source, check) not in recorded:
                    recorded.add((source, check))
                    steps.append(("record", source, check))
        steps += [("approve", env.name, who) for who in rule.approvers[: rule.approvals]]
        if env.name == stop_before:
            break
        steps.append(("promote", env.name, ""))
    return steps


def soak_target(graph: list[synth.Env], rules: dict[str, synth.Rules]) -> str:
    """The first environment with a soak gate: where ``promoter gates`` is measured."""
    return next(env.name for env in graph if rules[env.name].soak_seconds)


def window_open(when: dt.datetime) -> dt.datetime:
    """The first moment at or after ``when`` at 10:00 UTC, Monday to Thursday, outside
    the freeze: inside the synthetic pipeline's deploy window (09:00-16:00 Berlin)."""
    moment = when.replace(hour=10, minute=0, second=0, microsecond=0)
    if moment < when:
        moment += dt.timedelta(days=1)
    while moment.weekday() > 3 or FREEZE[0] <= moment < FREEZE[1]:
        moment += dt.timedelta(days=1)
    return moment


class History:
    """Writes the commits of a synthetic history and keeps the state they imply."""

    def __init__(self, stream: FastImport, graph: list[synth.Env], files: Files) -> None:
        self.stream = stream
        self.graph = graph
        self.sources = {env.name: env.sources for env in graph}
        self.rules = synth.promotion_rules(graph)
        self.files = files
        self.arrived: dict[tuple[str, str], int] = {}
        self.now = START
        self.plain = 0
        self.runs = 0

    def tick(self, rng: random.Random) -> int:
        self.now += rng.randint(120, 720)
        return self.now

    def ready(self, step: Step, app: str, when: int) -> bool:
        """Whether the gates of a promotion step are met at ``when`` (other steps always are)."""
        kind, env, _ = step
        if kind != "promote":
            return True
        rule = self.rules[env]
        if rule.soak_seconds:
            since = max(self.arrived.get((s, app), START) for s in self.sources[env])
            if when - since < rule.soak_seconds:
                return False
        if rule.window:
            local = dt.datetime.fromtimestamp(when, BERLIN)
            moment = dt.datetime.fromtimestamp(when, dt.UTC)
            if local.weekday() > 3 or not 9 <= local.hour < 16 or FREEZE[0] <= moment < FREEZE[1]:
                return False
        return True

    def step(self, step: Step, app: str, release: int, when: int) -> None:
        """Write one promoter commit of ``app``'s cycle towards ``release``."""
        kind, env, extra = step
        new = synth.digest(app, release)
        version = f"1.{release}.0"
        if kind == "record":
            self.runs += 1
            url = f"https://ci.example.com/{extra}/{self.runs}"
            text = message(kind, env, CI, app=app, digest=new, check=(extra, "passed"), url=url)
            self.stream.commit(CI, when, text, {})
            return
        if kind == "approve":
            who = (PEOPLE[extra], extra)
            self.stream.commit(who, when, message(kind, env, who, app=app, digest=new), {})
            return
        rule = self.rules[env]
        sources = self.sources[env] if kind == "promote" else ()
        notes = self.notes(rule, app, sources, when) if kind == "promote" else []
        actor = RELEASER if rule.approvals else CI
        previous = self.files.set(env, app, release)
        self.arrived[(env, app)] = when
        text = message(
            kind,
            env,
            actor,
            sources=sources,
            changes=[(app, previous, new, version)],
            gates=notes,
        )
        self.stream.commit(actor, when, text, {self.files.path(env): self.files.text(env)})

    def notes(self, rule: synth.Rules, app: str, sources: Sequence[str], when: int) -> list[Note]:
        """The Promoter-Gate results a promotion records (every gate passed)."""
        notes = []
        if rule.checks:
            reason = f"{', '.join(rule.checks)} passed in {', '.join(sources)}"
            notes.append((app, "checks", "pass", reason))
        if rule.soak_seconds:
            since, source = max((self.arrived.get((s, app), START), s) for s in sources)
            reason = f"{duration(when - since)} in {source} (needs {duration(rule.soak_seconds)})"
            notes.append((app, "soak", "pass", reason))
        if rule.approvals:
            names = ", ".join(rule.approvers[: rule.approvals])
            reason = f"{rule.approvals} of {rule.approvals} ({names})"
            notes.append((app, "approvals", "pass", reason))
        if rule.window:
            local = dt.datetime.fromtimestamp(when, BERLIN)
            notes.append((app, "window", "pass", f"open now ({local:%a %H:%M} Europe/Berlin)"))
        return notes

    def plain_commit(self, rng: random.Random) -> None:
        self.plain += 1
        who = rng.choice(list(PEOPLE.items()))[::-1]
        what = rng.choice(("docs: update the runbook", "ci: bump the runner image", "chore"))
        text = f"{what} (#{self.plain})\n"
        readme = f"# Synthetic GitOps repository\n\nOps note {self.plain}.\n"
        self.stream.commit(who, self.tick(rng), text, {"README.md": readme})


def build_history(
    repo: Path,
    *,
    commits: int,
    apps: int,
    envs: int,
    seed: int = 42,
    schemas: Path | None = None,
) -> dict[str, object]:
    """Create ``repo`` with a history of exactly ``commits`` commits; return what was built.

    The result (also written to ``repo/.git/benchmark.json``) names the app and target
    environment to ask ``promoter gates`` about, a ``now`` when every gate passes, the
    number of promoter events and the head commit.
    """
    graph = synth.pipeline_graph(envs)
    rules = synth.promotion_rules(graph)
    names = synth.app_names(apps)
    rng = random.Random(seed)
    target = soak_target(graph, rules)
    last = cycle(graph, rules, stop_before=target)
    if commits < 2 + len(last):
        raise ValueError(f"need at least {2 + len(last)} commits for {envs} environments")
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    synth.git(repo, "init", "-q")

    files = Files(graph, names, synth.releases(graph, names, rng))
    newest = {app: max(files.release[env.name][app] for env in graph) for app in names}
    stream = FastImport(repo)
    history = History(stream, graph, files)
    message_text = f"Synthetic repository: {envs} environments × {apps} apps\n"
    stream.commit(CI, START, message_text, initial_files(graph, files, schemas))
    baseline = [
        (env.name, app, synth.digest(app, files.release[env.name][app]))
        for env in graph
        for app in sorted(names)
    ]
    adopt = message("adopt", "", RELEASER, baseline=baseline)
    stream.commit(RELEASER, history.tick(rng), adopt, {})

    full = cycle(graph, rules)
    idle = list(names)
    jobs: list[list] = []  # [app, release, next step]
    while stream.count < commits - len(last):
        if rng.random() < PLAIN_SHARE:
            history.plain_commit(rng)
            continue
        while len(jobs) < IN_FLIGHT and idle:
            app = idle.pop(rng.randrange(len(idle)))
            newest[app] += 1
            jobs.append([app, newest[app], 0])
        when = history.tick(rng)
        for _ in range(4):  # a promotion waits for its soak and deploy window, as in life
            slot = rng.randrange(len(jobs))
            job = jobs[slot]
            if history.ready(full[job[2]], job[0], when):
                break
        else:
            if idle:  # everyone in flight is waiting: a new build starts its cycle
                app = idle.pop(rng.randrange(len(idle)))
                newest[app] += 1
                slot, job = len(jobs), [app, newest[app], 0]
                jobs.append(job)
            else:  # nothing may move yet: time passes without commits (nights, weekends)
                history.now += 3600
                continue
        history.step(full[job[2]], job[0], job[1], when)
        job[2] += 1
        if job[2] == len(full):
            jobs[slot] = jobs[-1]
            jobs.pop()
            idle.append(job[0])
    # The first app's last cycle stops before the soak-gated promotion (a move that was
    # in flight for it is simply abandoned: a newer build supersedes it).
    app = names[0]
    newest[app] += 1
    for step in last:
        history.step(step, app, newest[app], history.tick(rng))
    stream.close()
    synth.git(repo, "reset", "-q", "--hard", "main")
    now = window_open(dt.datetime.fromtimestamp(history.now, dt.UTC) + dt.timedelta(days=1))
    info: dict[str, object] = {
        "version": VERSION,
        "commits": stream.count,
        "events": stream.count - 1 - history.plain,
        "apps": apps,
        "envs": envs,
        "seed": seed,
        "app": app,
        "target": target,
        "now": now.isoformat(),
        "actor": f"{RELEASER[0]} <{RELEASER[1]}>",
        "head": synth.git(repo, "rev-parse", "HEAD").strip(),
    }
    (repo / ".git" / "benchmark.json").write_text(json.dumps(info, indent=2) + "\n", "utf-8")
    return info


def commit_target(graph: list[synth.Env], rules: dict[str, synth.Rules]) -> str | None:
    """The first environment fed by the entry environment alone that takes commits."""
    entry = graph[0].name
    for env in graph[1:]:
        if env.sources == (entry,) and rules[env.name].mode == "commit":
            return env.name
    return None


def add_release_train(work: Path, *, apps: int, envs: int, seed: int = 42) -> tuple[str, str]:
    """Commit, in ``work`` (a clone of ``synth.build(..., apps, envs, seed)``), a publish of
    a new digest of every app into the entry environment and the check records the next
    environment asks for. Returns (that environment, the new head's sha)."""
    graph = synth.pipeline_graph(envs)
    rules = synth.promotion_rules(graph)
    target = commit_target(graph, rules)
    if target is None:
        raise ValueError(f"no environment of the {envs}-environment pipeline takes commits")
    names = synth.app_names(apps)
    files = Files(graph, names, synth.releases(graph, names, random.Random(seed)))
    entry = graph[0].name
    when = int(dt.datetime(2026, 1, 2, 8, 0, tzinfo=dt.UTC).timestamp())
    changes: list[Change] = []
    for app in names:
        release = files.release[entry][app] + 1
        previous = files.set(entry, app, release)
        changes.append((app, previous, synth.digest(app, release), f"1.{release}.0"))
    stream = FastImport(work)
    text = message("publish", entry, CI, changes=changes)
    stream.commit(CI, when, text, {files.path(entry): files.text(entry)}, "refs/heads/main^0")
    for check in rules[target].checks:
        for number, (app, _, new, _) in enumerate(changes):
            url = f"https://ci.example.com/{check}/{number}"
            record = message(
                "record", entry, CI, app=app, digest=new, check=(check, "passed"), url=url
            )
            stream.commit(CI, when + 60 + number, record, {})
    stream.close()
    synth.git(work, "reset", "-q", "--hard", "main")
    return target, synth.git(work, "rev-parse", "HEAD").strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path, help="where to create the repository (replaced)")
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--envs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    schemas = Path(__file__).resolve().parent.parent / "schemas"
    info = build_history(
        args.repo,
        commits=args.commits,
        apps=args.apps,
        envs=args.envs,
        seed=args.seed,
        schemas=schemas,
    )
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
