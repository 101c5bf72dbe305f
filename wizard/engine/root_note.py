"""What running with sudo would add: when the wizard ran as another user than root and
some facts were kept from it for lack of permission, one note names them.

Each step already says what it could not read; this gathers those into the one sentence a
person needs to decide whether to run the wizard again with sudo. JSON key: `sudo_note`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wizard.host.facts import Facts

MAX_NAMED = 3  # paths named per item; the steps list every one


def _paths(paths: list[str]) -> str:
    shown = ", ".join(paths[:MAX_NAMED])
    return shown + (f" and {len(paths) - MAX_NAMED} more" if len(paths) > MAX_NAMED else "")


def _denied(text: Any) -> bool:
    words = str(text or "").lower()
    return "permission denied" in words or "needs root" in words


def _nginx(nginx: dict[str, Any]) -> str | None:
    unread = [e.get("file") for e in nginx.get("parse_errors") or [] if _denied(e.get("error"))]
    if unread or _denied((nginx.get("test") or {}).get("reason")):
        return f"nginx's configuration ({nginx.get('conf_path')}) and its test (nginx -t)"
    return None


def _phpfpm(phpfpm: dict[str, Any]) -> str | None:
    unread = [e.removeprefix("cannot read ").split(": ")[0]
              for e in phpfpm.get("errors") or [] if _denied(e)]
    return f"PHP-FPM's configuration ({_paths(unread)})" if unread else None


def _logs(events: dict[str, Any]) -> str | None:
    unread = [str(s.get("source")) for s in events.get("files") or []
              if s.get("status") == "unreadable" and _denied(s.get("reason"))]
    return f"the logs {_paths(unread)}" if unread else None


def _firewall(firewall: dict[str, Any]) -> str | None:
    return "the firewall rules" if firewall.get("needs_root") else None


def _listening(listening: dict[str, Any]) -> str | None:
    if listening.get("pids_hidden"):
        return "which program holds each port and socket"
    return None


def _probes(probes: list[dict[str, Any]]) -> str | None:
    denied = [str(p.get("target")) for p in probes or []
              if "run the wizard with sudo" in str(p.get("detail") or "")]
    if denied:
        return f"whether nginx's worker user may connect to {_paths(denied)}"
    return None


def _limits(resources: dict[str, Any]) -> str | None:
    if (resources.get("nginx_files") or {}).get("unreadable"):
        return "the open-file limits of nginx's workers"
    return None


READERS: tuple[tuple[str, Callable[[Any], str | None]], ...] = (
    ("nginx", _nginx), ("phpfpm", _phpfpm), ("error_log_events", _logs),
    ("upstream_probes", _probes), ("firewall", _firewall), ("listening", _listening),
    ("resources", _limits),
)


def sudo_note(facts: Facts) -> dict[str, Any] | None:
    """{"text": one sentence, "would_read": [{"fact": name, "what": words}]}, or None
    when the wizard ran as root (or who it ran as is not known) or nothing was denied."""
    system = facts.try_get("system") or {}
    if system.get("is_root") is not False:
        return None
    found = []
    for name, reader in READERS:
        value = facts.try_get(name)
        what = reader(value) if value else None
        if what:
            found.append({"fact": name, "what": what})
    if not found:
        return None
    listed = "; ".join(item["what"] for item in found)
    return {"text": f"Not everything could be read as this user. With sudo the wizard would "
                    f"also read: {listed}.", "would_read": found}
