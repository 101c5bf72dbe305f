"""Fact `changes`: what changed on this host in the hours before the first failing request,
each change with its time and where that was read, oldest first. The check `changes.recent`
ties them to the causes they can bring about; the report lists them ("why now").

Each source is its own module (changes_packages, changes_config, changes_services,
changes_kernel, changes_disk, changes_deploy), bounded in time and bytes. A source that
cannot be read (no such log, no permission, no journal) gives a plain note, never an error.
Shape: {"now", "window": {"start", "now", "first_failure", "lead_seconds"},
"entries": [{"epoch", "source", "kind", "what", "subject", "details"}], "notes": [...]}.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from wizard.host import (
    changes_config,
    changes_deploy,
    changes_disk,
    changes_kernel,
    changes_packages,
    changes_services,
)
from wizard.host.changes_window import Window, window_for
from wizard.host.facts import Facts, fact

Source = Callable[[Facts, Window], tuple[list[dict[str, Any]], list[str]]]
SOURCES: tuple[tuple[str, Source], ...] = (
    ("package logs", changes_packages.collect),
    ("config files", changes_config.collect),
    ("services", changes_services.collect),
    ("kernel log", changes_kernel.collect),
    ("disk space", changes_disk.collect),
    ("site files", changes_deploy.collect),
)
MAX_ENTRIES = 200  # newest kept
SAME_MOMENT = 5.0  # one event told by two sources (journal and process start time)


def without_repeats(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest first; an entry of the same kind and subject moments after another is dropped."""
    kept: list[dict[str, Any]] = []
    for entry in sorted(entries, key=lambda e: e["epoch"]):
        if any(e["kind"] == entry["kind"] and e["subject"] == entry["subject"]
               and entry["kind"] not in ("config", "config_pending", "deploy", "package")
               and entry["epoch"] - e["epoch"] <= SAME_MOMENT for e in kept[-5:]):
            continue
        kept.append(entry)
    return kept[-MAX_ENTRIES:]


def gather(facts: Facts, window: Window) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    notes: list[str] = []
    for name, collect in SOURCES:
        try:
            found, said = collect(facts, window)
        except Exception as exc:  # one broken source must not hide the others
            notes.append(f"{name}: could not be read ({type(exc).__name__}: {exc})")
            continue
        entries += found
        notes += said
    return {"now": window.now, "window": window.to_json(), "entries": without_repeats(entries),
            "notes": notes}


@fact("changes")
def changes_facts(facts: Facts) -> dict[str, Any]:
    events = (facts.try_get("error_log_events") or {}).get("events") or []
    window = window_for(events, float(facts.options.since_seconds), time.time())
    return gather(facts, window)
