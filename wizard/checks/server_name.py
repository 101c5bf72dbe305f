"""Check `server.name_match`: which nginx server block answers the --url host, the way
nginx picks it (https://nginx.org/en/docs/http/server_names.html):

1. the exact name;
2. the longest wildcard name starting with an asterisk (`*.example.org`; the special form
   `.example.org` also matches `example.org` itself);
3. the longest wildcard name ending with an asterisk (`mail.*`);
4. the first regular expression (`~...`) in the order of the configuration;
5. else the `default_server` of the listen port, else the first server on that port.
"""

from __future__ import annotations

import re
import threading
import warnings
from typing import Any

from wizard.checks.base import check
from wizard.checks.server_name_regex import regex_matches
from wizard.host.facts import Facts, FactUnavailable
from wizard.host.request import split_url
from wizard.outcome import STRONG, CheckResult, Evidence, Status

NAMED = ("exact", "wildcard_start", "wildcard_end", "regex")
# How a name matched, in words: "served by ... (matched by its exact name)".
MATCHED_BY = {"exact": "its exact name", "wildcard_start": "a name that starts with *",
              "wildcard_end": "a name that ends with *", "regex": "a regular expression"}


def _on_port(server: dict[str, Any], port: int) -> bool:
    listens = server.get("listen") or [{"port": 80}]
    return any(listen.get("port") == port for listen in listens)


def _is_default(server: dict[str, Any], port: int) -> bool:
    return any(listen.get("port") == port and listen.get("default_server")
               for listen in server.get("listen") or [])


def _leading_wildcard(name: str, host: str) -> int:
    """Length of the matched suffix for `*.x` / `.x`, 0 when it does not match."""
    if name.startswith("*."):
        suffix = name[1:]  # ".example.org": at least one more label is needed
        return len(suffix) if host.endswith(suffix) and len(host) > len(suffix) else 0
    if name.startswith(".") and len(name) > 1:
        return len(name) if host == name[1:] or host.endswith(name) else 0
    return 0


def _trailing_wildcard(name: str, host: str) -> int:
    if name.endswith(".*") and len(name) > 2:
        prefix = name[:-1]  # "www.example."
        return len(prefix) if host.startswith(prefix) and len(host) > len(prefix) else 0
    return 0


# Python's regex parser warns about PCRE-valid classes such as `[[a]`: a host's config
# must not write Python warnings over the wizard's screen.
warnings.filterwarnings("ignore", message=r"Possible (nested set|set \w+)",
                        category=FutureWarning)


def _regex_matches(name: str, host: str) -> bool | None:
    """Does the `~regex` server name match host? None: it cannot be told safely (see
    server_name_regex: a hostile regex must not hang the wizard)."""
    # PCRE named groups (?<name>...) are written (?P<name>...) in Python.
    return regex_matches(re.sub(r"\(\?<(?![=!])", "(?P<", name[1:]), host)


class _PortNames:
    """The server names of the blocks on one port, sorted the way match_server asks
    about them. Built once per servers list and port: the failing addresses of a log ask
    about hundreds of requests, and a scan of 5,000 servers for each took 20 s."""

    def __init__(self, servers: list[dict[str, Any]], port: int) -> None:
        self.candidates = [i for i, s in enumerate(servers) if _on_port(s, port)]
        self.exact: dict[str, int] = {}
        self.leading: list[tuple[int, str]] = []  # names that can match as `*.x` / `.x`
        self.trailing: list[tuple[int, str]] = []  # names that can match as `x.*`
        self.regexes: list[tuple[int, str]] = []
        for i in self.candidates:
            for name in (str(n) for n in servers[i].get("server_names") or []):
                if name.startswith("~"):
                    self.regexes.append((i, name))
                    continue
                low = name.lower()
                if "*" not in name and not name.startswith("."):
                    self.exact.setdefault(low, i)
                if name.startswith(("*.", ".")):
                    self.leading.append((i, low))
                if name.endswith(".*"):
                    self.trailing.append((i, low))
        self.default = next((i for i in self.candidates if _is_default(servers[i], port)),
                            None)


# The last servers list asked about (kept alive here, so its id stays its own) and its
# names by port. Facts are never changed, so an index stays right while its list lives.
_index_lock = threading.Lock()
_indexed: tuple[list[dict[str, Any]], dict[int, _PortNames]] | None = None


def _port_names(servers: list[dict[str, Any]], port: int) -> _PortNames:
    global _indexed
    with _index_lock:
        if _indexed is None or _indexed[0] is not servers:
            _indexed = (servers, {})
        by_port = _indexed[1]
        if port not in by_port:
            by_port[port] = _PortNames(servers, port)
        return by_port[port]


def match_server(host: str, port: int, servers: list[dict[str, Any]]
                 ) -> tuple[int | None, str]:
    """(index into servers, how): how is exact | wildcard_start | wildcard_end | regex |
    default_server | first_server | no_server (nothing listens on that port) | undecided
    (index None: a regex before the answer could not be matched safely)."""
    host = host.lower().rstrip(".")
    names = _port_names(servers, port)
    if not names.candidates:
        return None, "no_server"
    if host in names.exact:
        return names.exact[host], "exact"
    for how, measure, listed in (("wildcard_start", _leading_wildcard, names.leading),
                                 ("wildcard_end", _trailing_wildcard, names.trailing)):
        best: tuple[int, int] | None = None  # (length, index); the first wins a tie
        for i, name in listed:
            length = measure(name, host)
            if length and (best is None or length > best[0]):
                best = (length, i)
        if best is not None:
            return best[1], how
    for i, name in names.regexes:
        matched = _regex_matches(name, host)
        if matched is None:  # this regex might take it: which block answers is unknown
            return None, "undecided"
        if matched:
            return i, "regex"
    if names.default is not None:
        return names.default, "default_server"
    return names.candidates[0], "first_server"


def _where(server: dict[str, Any]) -> str:
    return f"{server.get('file')}:{server.get('line')}"


@check("server.name_match",
       results={"ok": Status.OK, "mismatch": Status.PROBLEM, "no_server": Status.PROBLEM},
       facts=("nginx",), causes=("server_name_mismatch",))
def server_name_match(facts: Facts) -> CheckResult:
    """Does the requested host name match a server_name, or fall to a default server?"""
    if not facts.options.url:
        return CheckResult("skipped", "no --url was given, so there is no host name to match")
    try:
        target = split_url(facts.options.url)
        nginx = facts.get("nginx")
    except ValueError as exc:
        return CheckResult("unknown", f"the --url is not usable: {exc}")
    except FactUnavailable as exc:
        return CheckResult("unknown", f"nginx's configuration could not be read: {exc}")
    servers = nginx.get("servers") or []
    unread = [e.get("error") for e in nginx.get("parse_errors") or [] if not servers]
    if unread:  # no server seen because the config could not be read (no permission...)
        return CheckResult("unknown", "nginx's configuration could not be read, so which "
                           f"server block answers is not known: {unread[0]}")
    index, how = match_server(target.host, target.port, servers)
    if how == "undecided":
        return CheckResult("unknown", f"could not tell which server block answers "
                           f"{target.host}: a server_name regular expression on port "
                           f"{target.port} is too complex to match safely")
    on_port = [s for s in servers if _on_port(s, target.port)]
    all_names = sorted({n for s in on_port for n in s.get("server_names") or []})
    base = {"host": target.host, "port": target.port, "how": how,
            "all_server_names": ", ".join(all_names)}
    if index is None:
        return CheckResult("no_server", f"no nginx server block listens on port {target.port}",
                           vars={**base, "server_names": "", "default_server_file": "",
                                 "default_server_line": ""},
                           confidence=STRONG)
    server = servers[index]
    names = ", ".join(server.get("server_names") or []) or "(none)"
    found = {**base, "server_names": names, "server_file": server.get("file"),
             "server_line": server.get("line"), "default_server_file": "",
             "default_server_line": ""}
    evidence = [Evidence("file", f"{_where(server)}: server_name {names}")]
    if how in NAMED:
        return CheckResult("ok", f"{target.host} is served by the server block at"
                                 f" {_where(server)} (matched by {MATCHED_BY[how]})",
                           vars=found, evidence=evidence)
    found.update(default_server_file=server.get("file"), default_server_line=server.get("line"))
    if len(on_port) == 1:
        # the only server on the port answers every name: nothing is sent to the wrong site
        return CheckResult("ok", f"{target.host} matches no server_name but the only server"
                                 f" on port {target.port} ({_where(server)}) answers it",
                           vars=found, evidence=evidence)
    return CheckResult(
        "mismatch",
        f"{target.host} matches no server_name on port {target.port}; nginx hands it to the"
        f" {'default server' if how == 'default_server' else 'first server'} at"
        f" {_where(server)}", vars=found, evidence=evidence, confidence=STRONG,
        causes=["server_name_mismatch"])
