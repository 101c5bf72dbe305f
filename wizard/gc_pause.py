"""Pause Python's cyclic garbage collector while a large, cycle-free structure is built,
then move what exists out of its way.

Each collection walks every tracked object; while the nginx fact builds the tree of a
config of 5,000 servers (hundreds of thousands of dicts, lists and Directives) the
collector ran over and over and took more than half the time of the summary. And that
tree, and the fact made from it, stay for the whole session: every later fact that
allocates made the collector walk them again (half the CPU time of the other facts on
such a host). So when the pause ends, `gc.freeze()` moves every object that exists into
the permanent generation, which collections skip. Nothing is leaked by it: these objects
form no cycles, so reference counting still frees them when the session drops them.
Threads may pause it at the same time: it runs again when the last of them is done.
`diagnose` pauses it the same way while the engine and its modules load.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.freeze()
                gc.enable()
