"""Every `promoter` example in the README and docs runs as written on the bundled example.

Each command line of a ``sh`` block (continuation lines joined, pipes and redirections cut
off) runs in a clone of the bundled example with a bare remote, in the order the document
shows them. Placeholders (``sha256:1a2b…``, ``$DIGEST``) may make a command refuse its
value, but click must accept every option and argument as written, and nothing may end in
an internal error or a traceback.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, ROOT, Runner
from tests.gitutil import remote_with_clone

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_AS_WRITTEN = (
    "No such option",
    "No such command",
    "Missing argument",
    "Missing option",
    "Got unexpected extra argument",
    "Traceback",
    "internal error",
)


def examples(document: Path) -> list[str]:
    """The promoter command lines of a document's shell blocks."""
    found = []
    for block in re.findall(r"```(?:sh|console)\n(.*?)```", document.read_text(), flags=re.S):
        text = re.sub(r"\\\n\s*", " ", block)
        for raw in text.splitlines():
            line = raw.strip().removeprefix("$ ")
            if not line.startswith(("promoter ", "PROMOTER_")) or "promoter " not in line:
                continue
            command = re.split(r"\s(?:\||\|\||&&|2?>\S*)(?:\s|$)", line)[0]
            command = re.sub(r"\s+#.*$", "", command)
            found.append(command)
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_example_runs_as_written(document: Path, tmp_path: Path, run: Runner) -> None:
    commands = examples(document)
    if document.name == "README.md":
        assert len(commands) > 20  # the parser finds the README's examples
    content = tmp_path / "content"
    shutil.copytree(EXAMPLE, content / "environments")
    shutil.copytree(ROOT / "schemas", content / "schemas")
    work, _ = remote_with_clone(tmp_path, content)
    for command in commands:
        words = shlex.split(command)
        env = {}
        while "=" in words[0]:
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        assert words[0] == "promoter", command
        result = run(*words[1:], cwd=work, env=env, timeout=300)
        said = result.stdout + result.stderr
        assert not any(marker in said for marker in NOT_AS_WRITTEN), f"{command}\n{said}"
        assert result.returncode != 70, f"{command}\n{said}"
