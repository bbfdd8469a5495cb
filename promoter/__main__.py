"""``python -m promoter``, and the ``promoter`` script's entry point.

The first thing a promoter process does is take over SIGTERM and SIGINT, before the
imports of the CLI (click, GitPython, YAML), which take most of its start-up: a job
cancelled then ends with exit 130 and "interrupted" like one cancelled later, not killed
by the signal. Nothing has been read or written yet at that point.
"""

from __future__ import annotations

import os
import signal
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM or SIGINT before the CLI has taken over: nothing has been read or written
    yet, so the process can end on the spot, wherever start-up is."""
    del signum, frame
    os.write(2, b"interrupted\n")
    os._exit(130)


def run() -> None:
    """Start the CLI (which installs its own handlers once it has work to undo)."""
    from promoter.cli import main

    main()


signal.signal(signal.SIGTERM, _interrupt)
signal.signal(signal.SIGINT, _interrupt)

if __name__ == "__main__":
    run()
