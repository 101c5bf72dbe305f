"""What this host is, filled in as facts arrive: the first paint never waits for them."""

from __future__ import annotations

from typing import Any, Optional

from rich.text import Text
from textual.widgets import Static

from wizard.tui.css import sibling_css
from wizard.tui.plain import literal

HOST_FACTS = ("system", "firewall", "nginx", "phpfpm")
CHECKING = "checking..."
Known = dict[str, tuple[Any, Optional[str]]]  # fact name -> (value, reason it is missing)


def _missing(known: Known, name: str, absent: str = "not found") -> str | None:
    """'checking...' until the fact arrives; `absent` (with the reason) when it cannot be had."""
    if name not in known:
        return CHECKING
    value, reason = known[name]
    if value is None:
        return f"{absent} ({reason})" if reason else absent
    return None


def system_line(known: Known) -> str:
    if (missing := _missing(known, "system", "unknown")) is not None:
        return f"Host: {missing}"
    system = known["system"][0]
    distro = f"{system.get('distro', 'unknown')} {system.get('distro_version', '')}".strip()
    firewall = _missing(known, "firewall", "unknown")
    if firewall is None:
        firewall = str(known["firewall"][0].get("backend", "none"))
    return (f"Host: {distro} | services: {system.get('service_manager', 'none')}"
            f" | firewall: {firewall}")


def nginx_line(known: Known) -> str:
    if (missing := _missing(known, "nginx")) is not None:
        return f"nginx: {missing}"
    nginx = known["nginx"][0]
    if not nginx.get("installed", True):
        return "nginx: not found"
    parts = [f"nginx {nginx.get('version') or '(version unknown)'}"]
    parts.append(f"conf {nginx.get('conf_path') or 'not found'}")
    pids = nginx.get("master_pids") or []
    parts.append(f"pid {', '.join(map(str, pids))}" if pids else "not running")
    return " | ".join(parts)


def phpfpm_line(known: Known, url: str | None) -> str:
    where = f"URL: {url}" if url else "URL: none given (--url)"
    if (missing := _missing(known, "phpfpm")) is not None:
        return f"PHP-FPM: {missing} | {where}"
    phpfpm = known["phpfpm"][0]
    if not phpfpm.get("installed", True):
        return f"PHP-FPM: not found | {where}"
    state = "running" if phpfpm.get("running") else "not running"
    return f"PHP-FPM {phpfpm.get('service') or ''}: {state} | {where}".replace(" :", ":")


class HostSummary(Static):
    DEFAULT_CSS = sibling_css(__file__)

    def __init__(self, url: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.known: Known = {}

    def on_mount(self) -> None:
        self.update(self.describe())

    def set_fact(self, name: str, value: Any, reason: str | None) -> None:
        self.known[name] = (value if isinstance(value, dict) else None, reason)
        self.update(self.describe())

    def forget(self) -> None:
        """Facts were refreshed (after a fix): show 'checking...' until they come back."""
        self.known.clear()
        self.update(self.describe())

    def describe(self) -> Text:
        # Every value came from the host: literal() keeps '[...]' and escapes as plain text.
        lines = [system_line(self.known), nginx_line(self.known),
                 phpfpm_line(self.known, self.url)]
        return literal("\n".join(lines))
