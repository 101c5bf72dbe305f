"""Which program listens at an address, in the words its users know it by: "gunicorn",
"uWSGI", "PHP-FPM", "Node.js"... so a finding can say "gunicorn refuses" instead of "the
upstream refuses".

The program comes from the process that holds the listening socket (the `listening`
fact gives its pid, the `processes` fact its command line); for an address no process
holds, a PHP-FPM pool configured there still names PHP-FPM. Without root the holder of
another user's socket is hidden: then the program is not known (None), and the words
fall back to a description.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from wizard.host.facts import Facts
from wizard.host.phpfpm import pool_for_target
from wizard.socket_path import canonical_socket

# (name people use, what the process name or a word of its command line starts with).
# Servers come before the interpreters that run them: gunicorn runs as "python3 ...".
KNOWN_PROGRAMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PHP-FPM", ("php-fpm",)),
    ("gunicorn", ("gunicorn",)),
    ("uWSGI", ("uwsgi",)),
    ("uvicorn", ("uvicorn",)),
    ("Hypercorn", ("hypercorn",)),
    ("Daphne", ("daphne",)),
    ("Waitress", ("waitress-serve",)),
    ("Puma", ("puma",)),
    ("Unicorn", ("unicorn",)),
    ("Passenger", ("passenger", "passengeragent")),
    ("PM2", ("pm2",)),
    ("Node.js", ("node", "nodejs")),
    ("php-cgi", ("php-cgi",)),
    ("fcgiwrap", ("fcgiwrap",)),
    ("HHVM", ("hhvm",)),
    ("Apache", ("apache2", "httpd")),
    ("nginx", ("nginx",)),
    ("Caddy", ("caddy",)),
    ("HAProxy", ("haproxy",)),
    ("Varnish", ("varnishd",)),
    ("Java", ("java",)),
    (".NET", ("dotnet",)),
)
# Interpreters say little on their own: the script they run says which program it is.
INTERPRETERS = ("python", "ruby", "perl", "php")


def _words(name: str | None, cmdline: list[str]) -> list[str]:
    """The process name, then each command-line word's last path part, lower-cased.
    A rewritten title ("gunicorn: master [app]", "php-fpm: pool www") is split too."""
    words = [str(name or "")]
    for part in cmdline:
        for piece in str(part).split():
            words.append(piece.rstrip(":").rsplit("/", 1)[-1])
    return [w.lower() for w in words if w]


def _is(word: str, prefix: str) -> bool:
    """'php-fpm8.2' is php-fpm and 'gunicorn' is gunicorn; 'nodes.py' is not node."""
    return word.startswith(prefix) and not word[len(prefix):len(prefix) + 1].isalpha()


def program_of(name: str | None, cmdline: list[str] | None) -> str | None:
    """The program a process runs ('gunicorn', 'uWSGI', 'PHP-FPM'...); for one not in the
    list, its own name, or for an interpreter the script it runs ('python3 (app.py)')."""
    words = _words(name, list(cmdline or []))
    if not words:
        return None
    for program, prefixes in KNOWN_PROGRAMS:
        # Only the first words: a program's arguments may name another ("--proxy nginx").
        if any(_is(word, prefix) for word in words[:4] for prefix in prefixes):
            return program
    own = str(name or "") or words[0]
    if words[0].startswith(INTERPRETERS) and "-c" not in words[2:3]:  # -c: code, no script
        script = next((w for w in words[2:] if not w.startswith("-")), None)
        return f"{own} ({script})" if script else own
    return own


# What a loopback name connects to.
_LOCAL_NAMES = {"localhost": ("127.0.0.1", "::1"), "ip6-localhost": ("::1",)}


def _tcp_listeners(listening: dict[str, Any], hosts: list[str],
                   port: int) -> list[dict[str, Any]]:
    """Sockets listening on `port` that a connection to one of the hosts reaches. A
    wildcard listener counts for loopback only: whether another address is this host's
    own is not known here."""
    wanted = {a for h in hosts for a in _LOCAL_NAMES.get(h.strip("[]"), (h.strip("[]"),))}
    v4, v6 = "127.0.0.1" in wanted, "::1" in wanted
    found = []
    for sock in listening.get("tcp") or []:
        address = str(sock.get("address"))
        if sock.get("port") != port:
            continue
        if address in wanted or (address in ("0.0.0.0", "*") and v4) or (
                address in ("::", "[::]") and (v4 or v6)):  # [::] is most often dual-stack
            found.append(sock)
    return found


def listener(listening: dict[str, Any] | None, socket: str | None = None,
             hosts: list[str] | None = None, port: int | None = None) -> dict[str, Any] | None:
    """The listening socket (of the `listening` fact) at a unix socket path or at one of
    the hosts' port, preferring one whose process is known."""
    if not listening:
        return None
    if socket:
        wanted = canonical_socket(socket)  # once, not once per listening socket of the host
        found = [s for s in listening.get("unix") or []
                 if canonical_socket(str(s.get("path"))) == wanted]
    elif port is not None and hosts:
        found = _tcp_listeners(listening, hosts, int(port))
    else:
        found = []
    return next((s for s in found if s.get("pid")), found[0] if found else None)


def _process(processes: list[dict[str, Any]], pid: Any) -> dict[str, Any]:
    return next((p for p in processes if p.get("pid") == pid), {})


def program_at(facts: Facts, socket: str | None = None, host: str | None = None,
               port: int | None = None, addresses: list[str] | None = None) -> str | None:
    """The program that listens at a unix socket or host:port now; else PHP-FPM when one
    of its pools is configured there; else None. `addresses` are what `host` resolved to."""
    hosts = [h for h in [host, *(addresses or [])] if h]
    sock = listener(facts.try_get("listening"), socket, hosts, port)
    if sock is not None and (sock.get("pid") or sock.get("process")):
        proc = _process(facts.try_get("processes") or [], sock.get("pid"))
        found = program_of(proc.get("name") or sock.get("process"), proc.get("cmdline"))
        if found:
            return found
    pools = (facts.try_get("phpfpm") or {}).get("pools") or []
    if pool_for_target(pools, socket, host, port) is not None:
        return "PHP-FPM"
    return None


def address_of_upstream(fields: dict[str, Any]) -> tuple[str | None, str | None, int | None]:
    """(socket, host, port) nginx connected to, from a log record's fields: its unix
    socket, or the host:port of `upstream: "http://127.0.0.1:8000/app/"` (or of the peer
    in "connect() to 127.0.0.1:8000 failed")."""
    if fields.get("socket"):
        return str(fields["socket"]), None, None
    for text in (fields.get("upstream"), fields.get("peer")):
        if not text:
            continue
        text = str(text)
        parsed = urlsplit(text if "://" in text else f"tcp://{text}")
        try:
            port = parsed.port
        except ValueError:
            continue
        if parsed.hostname and port is not None:
            return None, parsed.hostname, port
    return None, None, None


def program_in_log(facts: Facts, fields: dict[str, Any]) -> str | None:
    """The program behind the address a log record names (see program_at)."""
    socket, host, port = address_of_upstream(fields)
    if not socket and port is None:
        return None
    return program_at(facts, socket, host, port)
