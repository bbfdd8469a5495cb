"""promoter: a GitOps promotion controller for digest-pinned artifacts."""

from __future__ import annotations

__version__ = "0.1.0"
