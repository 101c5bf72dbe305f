"""Facts about the host, gathered once per session, concurrently, and cached.

A fact is a JSON-able value produced by a provider registered with `@fact(name)`.
Providers may read other facts through `facts.get(...)`. Because every value is
JSON, the whole set can be saved as a snapshot and replayed offline, which is how
checks are tested from recorded hosts.
"""

from __future__ import annotations

import importlib
import pkgutil
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wizard import __version__
from wizard.host.command_log import CommandLog
from wizard.options import Options

ProviderFn = Callable[["Facts"], Any]
PROVIDERS: dict[str, ProviderFn] = {}
# Facts that hand a part of another fact to its readers sooner (nginx's config before its
# test), by the fact they are part of: the whole fact is in a snapshot, so these are not
# saved again (nor need they be JSON), and what they run or fail on is the whole fact's.
PART_OF: dict[str, str] = {}
SNAPSHOT_FORMAT = 1


class FactUnavailable(Exception):
    """A fact could not be gathered; str(exc) is the plain reason."""


def fact(name: str, part_of: str | None = None) -> Callable[[ProviderFn], ProviderFn]:
    def register(fn: ProviderFn) -> ProviderFn:
        if name in PROVIDERS:
            raise ValueError(f"fact {name} registered twice")
        PROVIDERS[name] = fn
        if part_of is not None:
            PART_OF[name] = part_of
        return fn

    return register


def load_providers() -> dict[str, ProviderFn]:
    """Import every module of wizard.host so their `@fact` providers register."""
    import wizard.host as host_pkg

    for mod in pkgutil.iter_modules(host_pkg.__path__):
        importlib.import_module(f"wizard.host.{mod.name}")
    return PROVIDERS


def _call(provider: ProviderFn, facts: Facts, name: str) -> tuple[Any, str | None]:
    """(value, None), or (None, plain reason) when the fact cannot be had."""
    try:
        return provider(facts), None
    except FactUnavailable as exc:
        return None, str(exc)
    except Exception as exc:  # a provider bug must become a reason, not a crash
        return None, f"gathering {PART_OF.get(name, name)} failed: {type(exc).__name__}: {exc}"


class Facts:
    """The session's fact cache. Live (providers run on demand) or replayed from a snapshot."""

    def __init__(self, options: Options | None = None, *, replay: bool = False) -> None:
        self.options = options or Options()
        self.replay = replay
        self._values: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        self._timings: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._generation = 0  # bumped by invalidate(): values read before it are stale
        self.commands = CommandLog()  # every command run to read the host, with its output
        if not replay:
            load_providers()

    def _lock_for(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def get(self, name: str) -> Any:
        """The value of a fact, gathering it now if needed. Raises FactUnavailable."""
        if name in self._values:
            return self._values[name]
        if name in self._errors:
            raise FactUnavailable(self._errors[name])
        if self.replay:
            raise FactUnavailable(f"the snapshot has no '{name}' facts")
        provider = PROVIDERS.get(name)
        if provider is None:
            raise FactUnavailable(f"no provider for facts '{name}'")
        with self._lock_for(name):
            if name in self._values or name in self._errors:
                return self.get(name)
            started = time.monotonic()
            generation = self._generation
            with self.commands.recording(PART_OF.get(name, name)):
                value, error = _call(provider, self, name)
                # The host changed while we read it (a fix ran and invalidated the facts):
                # what we read may be from before the fix, so read it again.
                while generation != self._generation:
                    generation = self._generation
                    value, error = _call(provider, self, name)
            if error is None:
                self._values[name] = value
            else:
                self._errors[name] = error
            self._timings[name] = time.monotonic() - started
        return self.get(name)

    def try_get(self, name: str, default: Any = None) -> Any:
        try:
            return self.get(name)
        except FactUnavailable:
            return default

    def has(self, name: str) -> bool:
        """Whether the fact is known now (read, or replayed), without reading it."""
        return name in self._values

    def error(self, name: str) -> str | None:
        return self._errors.get(name)

    def known(self) -> dict[str, Any]:
        return dict(self._values)

    def gather(self, names: Iterable[str] | None = None, workers: int = 8,
               wait: bool = True) -> None:
        """Gather many facts at once; slow ones (commands, probes) overlap. `wait=False`:
        return at once and let daemon threads go on; `get` then waits for a fact still
        being read, so a reader with a deadline (a check) can give up on a slow one."""
        wanted = list(names) if names is not None else sorted(PROVIDERS)
        if wait:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="facts")
            try:
                list(pool.map(self.try_get, wanted))
            except BaseException:
                # A stop signal (engine/shutdown.py) raised here: drop the facts not yet
                # begun instead of reading them all first; those under way end at their
                # own timeouts.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()
            return
        todo: queue.SimpleQueue[str] = queue.SimpleQueue()
        for name in wanted:
            todo.put(name)
        for number in range(min(workers, len(wanted))):
            threading.Thread(target=self._gather_from, args=(todo,), daemon=True,
                             name=f"facts-{number}").start()

    def _gather_from(self, todo: queue.SimpleQueue[str]) -> None:
        while True:
            try:
                name = todo.get_nowait()
            except queue.Empty:
                return
            self.try_get(name)

    def invalidate(self, names: Iterable[str] | None = None) -> None:
        """Forget facts (all by default): the next `get` reads the host again (after a fix)."""
        if self.replay:
            return
        with self._guard:
            self._generation += 1
            for name in list(names) if names is not None else list(self._values | self._errors):
                self._values.pop(name, None)
                self._errors.pop(name, None)

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "tool_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "options": self.options.to_json(),
            "facts": dict(sorted(v for v in self._values.items() if v[0] not in PART_OF)),
            "errors": dict(sorted(e for e in self._errors.items() if e[0] not in PART_OF)),
            "commands": self.commands.entries(),
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any], options: Options | None = None) -> Facts:
        if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not a facts snapshot of format {SNAPSHOT_FORMAT}")
        saved = Options.from_json(data.get("options", {}))
        facts = cls(options.filled_from(saved) if options else saved, replay=True)
        facts._values = dict(data.get("facts", {}))
        facts._errors = {str(k): str(v) for k, v in data.get("errors", {}).items()}
        facts.commands = CommandLog(list(data.get("commands") or []), replayed=True)
        return facts
