"""What the history of the environment files shows, read from their diffs.

Read along the branch's first-parent line: each commit there is diffed against the one
before it, so a change that came through a merge is dated by the merge, when it reached
the branch.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping

from promoter.git import Git

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def entered(
    git: Git, files: Mapping[str, str], wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], dt.datetime]:
    """When each ``(environment, digest)`` of ``wanted`` last entered its environment's
    file: the date of the newest first-parent commit that added a line holding it.

    ``files`` maps repository-relative file paths to environment names. One ``git log
    -p`` reads back from HEAD and stops once every wanted digest is found.
    """
    looking = set(wanted)
    found: dict[tuple[str, str], dt.datetime] = {}
    if not looking or not git.has_commits():
        return found
    log = git.log_patches("HEAD", sorted(files), first_parent=True)
    try:
        for commit, diffs in log:
            for diff in diffs:
                environment = files.get(diff.path)
                if environment is None:
                    continue
                for hunk in diff.hunks:
                    for line in hunk.added:
                        for digest in _DIGEST.findall(line):
                            key = (environment, digest)
                            if key in looking:
                                looking.discard(key)
                                found[key] = commit.committed
            if not looking:
                break
    finally:
        log.close()  # stops git when everything was found early
    return found
