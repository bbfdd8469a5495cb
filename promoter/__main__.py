"""Allow ``python -m promoter``."""

from __future__ import annotations

from promoter.cli import main

if __name__ == "__main__":
    main()
