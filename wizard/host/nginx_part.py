"""The nginx fact for the facts that read only its config and nginx's processes, not the
result of `nginx -t`: on a config of thousands of files the test takes as long again as
reading the config, and these facts need not wait for it.

A module of its own, light to import: the log reader (`explain`) imports a reader of it.
"""

from __future__ import annotations

from typing import Any

from wizard.host.facts import Facts


def config_part(facts: Facts) -> dict[str, Any] | None:
    """The `nginx_config` fact (wizard/host/nginx.py) as soon as the config is read; the
    whole `nginx` fact where it is known already (replayed facts, or read before). None
    when nginx's config could not be read at all."""
    if facts.replay or facts.has("nginx"):
        return facts.try_get("nginx")
    return facts.try_get("nginx_config")


def read_cleanly(config: dict[str, Any]) -> bool:
    """The config part was read whole and without an error; what the nginx fact's
    `parse_ok` says when `nginx -t` could not tell."""
    return bool(config.get("conf_found")) and not config.get("parse_errors")
