"""The options a diagnosis runs with (shared by `tui` and `diagnose`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """'15m' -> 900.0. Raises ValueError with a message fit for the user."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 2h, 1d)")
    return float(m.group(1)) * _UNIT_SECONDS[m.group(2)]


@dataclass
class Practice:
    """A practice sandbox (`nginx-502-wizard practice`): its fixes act on it alone."""

    prefix: str  # the sandbox's folder: every file a fix may change is inside it
    fpm_conf: str | None = None  # its PHP-FPM config, read even while that PHP-FPM is stopped
    # "nginx" / "php-fpm" -> the argv that starts that server of the sandbox
    starts: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "fpm_conf": self.fpm_conf,
                "starts": {k: list(v) for k, v in self.starts.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Practice | None:
        if not data:
            return None
        return cls(str(data["prefix"]), data.get("fpm_conf"),
                   {str(k): list(v) for k, v in (data.get("starts") or {}).items()})


@dataclass
class Options:
    nginx_conf: str | None = None
    url: str | None = None
    # Where to send the --url request instead of the URL's own host: set when the address
    # was picked from this nginx's logs, so it reaches this nginx even where the name
    # resolves to a load balancer or to nothing at all from here.
    url_connect: str | None = None
    since_seconds: float = 3600.0
    flow: str = "nginx-502"
    flow_dirs: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    # Set once a fix has run: logs are then read only past these byte offsets (and the
    # journal only from `logs_after_time`), so a check after a fix counts only what was
    # written after it, never the old lines that found the problem.
    logs_after: dict[str, int] = field(default_factory=dict)
    logs_after_time: float | None = None
    practice: Practice | None = None  # set by `practice`: fixes then act on the sandbox only

    def to_json(self) -> dict[str, Any]:
        return {
            "nginx_conf": self.nginx_conf, "url": self.url, "url_connect": self.url_connect,
            "since_seconds": self.since_seconds,
            "flow": self.flow, "flow_dirs": list(self.flow_dirs), "answers": dict(self.answers),
            "logs_after": dict(self.logs_after), "logs_after_time": self.logs_after_time,
            "practice": self.practice.to_json() if self.practice else None,
        }

    def filled_from(self, saved: Options) -> Options:
        """These options, each one left at its default taken from `saved` (a snapshot's):
        a replay runs as the recorded diagnosis ran (its --url, --since...) unless the
        command line says otherwise."""
        default = Options()
        chosen = {}
        for option in fields(self):
            given = getattr(self, option.name)
            left_alone = given == getattr(default, option.name)
            chosen[option.name] = getattr(saved, option.name) if left_alone else given
        return Options(**chosen)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Options:
        return cls(
            nginx_conf=data.get("nginx_conf"), url=data.get("url"),
            url_connect=data.get("url_connect"),
            since_seconds=float(data.get("since_seconds", 3600.0)),
            flow=str(data.get("flow", "nginx-502")),
            flow_dirs=list(data.get("flow_dirs", [])), answers=dict(data.get("answers", {})),
            logs_after={str(k): int(v) for k, v in (data.get("logs_after") or {}).items()},
            logs_after_time=data.get("logs_after_time"),
            practice=Practice.from_json(data.get("practice")),
        )
