"""Pausing Python's cyclic garbage collector while building many long-lived objects.

Loading a large file or a long history builds hundreds of thousands of small objects that
all live until the command ends; every collection pass would rescan them for nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector inside the block, and restore it after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
