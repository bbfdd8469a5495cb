"""promoter: a GitOps promotion controller for digest-pinned artifacts."""

from __future__ import annotations

__version__ = "0.1.0"
API_VERSION = (
    "promoter/v1"  # the apiVersion of every file and JSON document promoter reads or writes
)
