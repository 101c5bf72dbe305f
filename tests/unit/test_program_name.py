"""The program behind an upstream's address, named as people know it: from the process
that holds the listening socket (recorded on real lab processes), else from a PHP-FPM
pool configured there, else not at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wizard.checks import load_all
from wizard.checks.program_name import address_of_upstream, program_at, program_of
from wizard.host.facts import Facts
from wizard.options import Options

REGISTRY = load_all()

SNAPSHOTS = Path(__file__).parent / "data" / "snapshots"


def recorded_facts(name: str) -> dict[str, Any]:
    return dict(json.loads((SNAPSHOTS / f"{name}.json").read_text(encoding="utf-8"))["facts"])


def holder(facts: dict[str, Any], kind: str, where: Any) -> dict[str, Any]:
    """The recorded process that listens on a unix path (kind unix) or TCP port (tcp)."""
    key = "path" if kind == "unix" else "port"
    sock = next(s for s in facts["listening"][kind] if where(s[key]))
    return next(p for p in facts["processes"] if p["pid"] == sock["pid"])


@pytest.mark.parametrize(("snapshot", "kind", "where", "program"), [
    ("gunicorn-socket-permission", "unix", lambda path: path.endswith("/app.sock"), "gunicorn"),
    ("uwsgi-socket-permission", "unix", lambda path: path.endswith("/legacy.sock"), "uWSGI"),
    ("php-crash", "unix", lambda path: path.endswith("/php-fpm.sock"), "PHP-FPM"),
    ("php-crash", "tcp", lambda port: True, "nginx"),
    # a program not in the list keeps its own name; `python -c CODE` runs no script
    ("port-conflict", "tcp", lambda port: True, "python"),
])
def test_a_recorded_process_is_named_as_people_know_it(
        snapshot: str, kind: str, where: Callable[[Any], bool], program: str) -> None:
    proc = holder(recorded_facts(snapshot), kind, where)
    assert program_of(proc["name"], proc["cmdline"]) == program


# Typed by hand after the process titles these servers set (setproctitle in gunicorn, the
# title Puma and PHP-FPM write, a console script run by its interpreter).
@pytest.mark.parametrize(("name", "cmdline", "program"), [
    ("gunicorn", ["gunicorn: master [myproject.wsgi:application]"], "gunicorn"),
    ("python3", ["/usr/bin/python3", "-m", "gunicorn", "app:app"], "gunicorn"),
    ("python3", ["/srv/venv/bin/python3", "/srv/venv/bin/uvicorn", "main:app"], "uvicorn"),
    ("uwsgi", ["/usr/bin/uwsgi", "--ini", "/etc/uwsgi/apps-enabled/app.ini"], "uWSGI"),
    ("ruby", ["puma 6.4.2 (unix:///srv/app/tmp/puma.sock) [app]"], "Puma"),
    ("node", ["node", "/srv/app/server.js"], "Node.js"),
    ("php-fpm8.2", ["php-fpm: pool www"], "PHP-FPM"),
    ("python3", ["python3", "nodes.py"], "python3 (nodes.py)"),
    ("python3", ["python3", "-m", "myapp.server"], "python3 (myapp.server)"),
    ("myappd", ["/opt/myapp/bin/myappd", "--port", "8000"], "myappd"),
])
def test_a_command_line_names_its_program(name: str, cmdline: list[str], program: str) -> None:
    assert program_of(name, cmdline) == program


def test_nothing_known_names_nothing() -> None:
    assert program_of(None, []) is None


def facts_of(recorded: Callable[..., Facts], listening: dict[str, Any],
             processes: list[dict[str, Any]], pools: list[dict[str, Any]] | None = None,
             ) -> Facts:
    return recorded({"listening": listening, "processes": processes,
                     "phpfpm": {"pools": pools or []}})


GUNICORN = {"pid": 40, "name": "gunicorn", "cmdline": ["/usr/bin/python3", "/usr/bin/gunicorn"]}


@pytest.mark.parametrize(("address", "host", "found"), [
    ("127.0.0.1", "127.0.0.1", "gunicorn"),
    ("0.0.0.0", "127.0.0.1", "gunicorn"),  # a wildcard listener takes loopback too
    ("0.0.0.0", "localhost", "gunicorn"),
    ("::", "127.0.0.1", "gunicorn"),  # most programs bind [::] dual-stack
    ("127.0.0.1", "::1", None),
    ("0.0.0.0", "10.1.2.3", None),  # another host's address: not known to be this host
])
def test_a_tcp_address_finds_its_listener(recorded: Callable[..., Facts], address: str,
                                          host: str, found: str | None) -> None:
    listening = {"tcp": [{"address": address, "port": 8000, "pid": 40, "process": "gunicorn"}]}
    facts = facts_of(recorded, listening, [GUNICORN])
    assert program_at(facts, host=host, port=8000) == found
    assert program_at(facts, host=host, port=8001) is None


def test_a_socket_nobody_holds_is_php_fpm_where_a_pool_is_configured(
        recorded: Callable[..., Facts]) -> None:
    pool = {"name": "www", "socket": "/run/php/php8.2-fpm.sock"}
    facts = facts_of(recorded, {"tcp": [], "unix": []}, [], [pool])
    assert program_at(facts, socket="/run/php/php8.2-fpm.sock") == "PHP-FPM"
    assert program_at(facts, socket="/run/gunicorn.sock") is None


def test_a_socket_under_var_run_is_the_one_under_run(recorded: Callable[..., Facts]) -> None:
    listening = {"unix": [{"path": "/run/gunicorn.sock", "pid": 40, "process": "gunicorn"}]}
    facts = facts_of(recorded, listening, [GUNICORN])
    assert program_at(facts, socket="/var/run/gunicorn.sock") == "gunicorn"
    assert program_at(facts, socket="//run/gunicorn.sock") == "gunicorn"  # unix://run/...


def test_a_hidden_holder_names_nothing(recorded: Callable[..., Facts]) -> None:
    """Without root, psutil shows another user's socket without its process."""
    listening = {"unix": [{"path": "/run/app.sock", "pid": None, "process": None}]}
    assert program_at(facts_of(recorded, listening, []), socket="/run/app.sock") is None


def test_facts_that_were_not_recorded_name_nothing(recorded: Callable[..., Facts]) -> None:
    assert program_at(recorded({}), socket="/run/app.sock", host=None) is None


@pytest.mark.parametrize(("fields", "address"), [
    ({"socket": "/run/app.sock", "upstream": "http://unix:/run/app.sock:/x"},
     ("/run/app.sock", None, None)),
    ({"upstream": "http://127.0.0.1:8000/api/"}, (None, "127.0.0.1", 8000)),
    ({"upstream": "fastcgi://[::1]:9000"}, (None, "::1", 9000)),
    ({"peer": "10.0.0.5:8080"}, (None, "10.0.0.5", 8080)),
    ({"upstream": "http://backend/"}, (None, None, None)),  # no port: nothing to match
    ({}, (None, None, None)),
])
def test_a_log_record_says_where_nginx_connected(
        fields: dict[str, Any], address: tuple[str | None, str | None, int | None]) -> None:
    assert address_of_upstream(fields) == address


def replayed(name: str) -> Facts:
    data = json.loads((SNAPSHOTS / f"{name}.json").read_text(encoding="utf-8"))
    return Facts.from_snapshot(data, Options.from_json(data["options"]))


def test_a_php_fpm_socket_is_named_with_the_pool_settings_to_change() -> None:
    result = REGISTRY["upstream.reachable"].fn(replayed("php-socket-permission"))
    assert result.result == "permission"
    assert result.summary.startswith("PHP-FPM at unix:")
    assert result.vars["program"] == "PHP-FPM"
    assert result.vars["remedy"].startswith("Set the pool's listen.owner / listen.group")


def test_the_log_finding_names_the_app_server_that_hung_up() -> None:
    result = REGISTRY["logs.nginx_errors"].fn(replayed("gunicorn-closes"))
    assert result.summary.endswith(
        ": gunicorn closed the connection before its answer was complete")
    assert result.vars["explanation"].startswith("gunicorn hung up before sending")
