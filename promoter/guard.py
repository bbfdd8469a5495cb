"""Every write is checked before it is committed, with the rules ``validate`` applies.

One mechanism for every writing command: the planned text of every file it changes is
validated together with the files around it (the environment's sources and successors,
for the rules across files), and the commit message must read back as exactly the event
it records. A write that would leave the repository invalid, or a trailer that would not
say what was asked, is refused before anything is written, naming the option that caused
it (``--source-revision main`` is not a commit sha, say).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path

from promoter import records
from promoter.errors import PromoterError, Refused
from promoter.findings import Finding
from promoter.git import Commit, trailer_fields
from promoter.land import Commitable
from promoter.layout import Layout
from promoter.model import Pipeline
from promoter.records import Event
from promoter.reference import show
from promoter.validate import check_repository
from promoter.yamlio import loads

# A link to evidence: what the source.repo field of an environment file allows, too.
_URL = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]{1,2048}\Z")
# Where a value in an environment file comes from on the command line.
FIELD_OPTIONS = {
    "image": "--image",
    "digest": "--digest",
    "version": "--version",
    "repo": "--source-repo",
    "revision": "--source-revision",
}


def check_write(
    layout: Layout,
    git_root: Path,
    change: Commitable,
    pipeline: Pipeline,
    *,
    command: str,
    event: Event | None = None,
    options: Mapping[str, str] = FIELD_OPTIONS,
) -> None:
    """Refuse ``change`` unless every file it writes is valid where it stands and its
    message reads back as ``event``. ``command`` names the command in messages."""
    texts = {(git_root / path).resolve(): text for path, text in change.files.items()}
    envs = {path.stem for path in texts if path.parent == layout.env_dir.resolve()}
    neighbours = {
        name
        for env in envs
        if env in pipeline.environments
        for name in (*pipeline.environments[env].sources, *pipeline.successors(env))
    }
    if texts:
        known = {(layout.root / name).resolve(): doc for name, doc in change.documents.items()}
        result = check_repository(layout, only=envs | neighbours, texts=texts, known=known)
        if result.findings:
            raise _refusal(command, [_explain(f, texts, layout, options) for f in result.findings])
    if event is not None:
        problem = _read_back(change.message, event)
        if problem:
            raise _refusal(command, [problem])


def _refusal(command: str, problems: list[str]) -> Refused:
    shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if problems[5:] else "")
    return Refused(
        f"{command} would leave the repository invalid: {shown}",
        hint="Nothing was written; correct the value and run it again",
    )


def _explain(
    finding: Finding, texts: Mapping[Path, str], layout: Layout, options: Mapping[str, str]
) -> str:
    """The finding, led by the command-line option that put the bad value there."""
    path = layout.root / finding.file
    text = texts.get(path.resolve())
    if text is not None:
        try:
            doc = loads(text, finding.file)
        except PromoterError:  # the finding itself says what is wrong
            doc = None
        if doc is not None:
            for keys, span in doc.values.items():
                if span.line == finding.line and keys and str(keys[-1]) in options:
                    value = doc.data
                    for key in keys:
                        value = value[key]
                    return f"{options[str(keys[-1])]} {show(value)}: {finding.render()}"
    return finding.render()


def _read_back(message: str, event: Event) -> str | None:
    """Why ``message`` would not read back as ``event`` (a value with a line break or
    surrounding space changes in a trailer), or None."""
    fields = trailer_fields(message)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    back = records.parse(Commit("0" * 40, "", "", epoch, epoch, "", fields))
    if back is None:
        return "the commit message would not read back as a promoter event"
    checks = [
        ("--url", event.url, back.url),
        ("--check", event.check, back.check),
        ("the acting identity", event.actor.display, back.actor.display),
        ("the CI run URL", event.actor.run_url, back.actor.run_url),
        ("--reason", event.reason, back.reason),
    ]
    if event.url is not None and not _URL.match(event.url):
        return (
            f"--url {show(event.url)} is not a URL: write it without spaces or control "
            "characters (at most 2048 characters)"
        )
    for what, wanted, got in checks:
        if wanted != got:
            return (
                f"{what} {show(wanted)} cannot be recorded as it is (a trailer holds one line "
                "without control characters or surrounding spaces)"
            )
    return None
