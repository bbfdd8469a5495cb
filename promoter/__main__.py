"""``python -m promoter``, and the ``promoter`` script's entry point.

The first thing a promoter process does is take over SIGTERM and SIGINT, before the
imports of the CLI (click, GitPython, YAML), which take most of its start-up: a job
cancelled then ends with exit 130 and "interrupted" like one cancelled later, not killed
by the signal. Nothing has been read or written yet at that point.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt


def run() -> None:
    """Start the CLI; an interruption while it loads exits 130."""
    try:
        from promoter.cli import main
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    main()


signal.signal(signal.SIGTERM, _interrupt)

if __name__ == "__main__":
    run()
