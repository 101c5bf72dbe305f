"""The server block that serves the address the person gave (--url, or picked from the
logs), so that the checks judge that site and not a neighbour on the same nginx.

Without an address, or when it matches no server block, every site counts.
"""

from __future__ import annotations

from typing import Any

from wizard.checks.server_name import match_server
from wizard.host.facts import Facts
from wizard.host.request import split_url


def url_server_index(facts: Facts) -> int | None:
    """Index into nginx's servers of the block that answers the address, or None."""
    url = facts.options.url
    servers = (facts.try_get("nginx") or {}).get("servers") or []
    if not url or not servers:
        return None
    try:
        target = split_url(url)
    except ValueError:
        return None
    index, _how = match_server(target.host, target.port, servers)
    return index


def site_pass_indexes(facts: Facts) -> set[int] | None:
    """Indexes of nginx's passes (fastcgi_pass, proxy_pass...) in that server block; None
    when every pass counts."""
    index = url_server_index(facts)
    if index is None:
        return None
    passes = (facts.try_get("nginx") or {}).get("passes") or []
    return {i for i, p in enumerate(passes) if p.get("server_index") == index}


def of_site(items: list[dict[str, Any]], facts: Facts) -> list[dict[str, Any]]:
    """The targets or probes (each with its `pass_index`) that belong to the site."""
    wanted = site_pass_indexes(facts)
    if wanted is None:
        return items
    return [item for item in items if item.get("pass_index") in wanted]
