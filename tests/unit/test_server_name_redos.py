"""A hostile `server_name ~regex` must not hang the wizard (issue 12).

`~^(a+)+$` against 49 a's and a b sends a backtracking engine (Python's re, PCRE) through
2^49 paths, and Python's re can be stopped by nothing, not even a thread's deadline. The
matcher runs such patterns as an automaton instead (wizard/checks/server_name_regex.py),
so it answers at once, and right. What an automaton cannot decide (a back-reference) is
answered "could not tell", never guessed.

The slow cases run in a child process with a deadline: were the old matcher back, the
test would fail after seconds instead of hanging the test run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from wizard.checks.server_name import match_server, server_name_match
from wizard.checks.server_name_regex import regex_matches
from wizard.host.facts import Facts
from wizard.options import Options

DEADLINE = 20.0  # seconds for a child that needs well under one; the old matcher: years
HOSTILE = "a" * 49 + "b"


def server(*names: str, default: bool = False, line: int = 1) -> dict[str, Any]:
    return {"file": "/etc/nginx/sites-enabled/site", "line": line, "server_names": list(names),
            "listen": [{"address": "*", "port": 80, "default_server": default, "ssl": False,
                        "raw": "80"}], "root": None, "index": []}


def match_in_child(host: str, servers: list[dict[str, Any]]) -> list[Any]:
    """match_server(host, 80, servers) in a fresh interpreter that must end in time."""
    code = ("import json, sys\nfrom wizard.checks.server_name import match_server\n"
            "host, servers = json.loads(sys.stdin.read())\n"
            "print(json.dumps(match_server(host, 80, servers)))\n")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps([host, servers]),
                          capture_output=True, text=True, timeout=DEADLINE, check=True)
    return list(json.loads(done.stdout))


def test_catastrophic_regex_on_a_50_character_name_answers_at_once() -> None:
    servers = [server("~^(a+)+$", line=3), server("shop.example", default=True, line=9)]
    # It does not match (the name ends in b): nginx would hand it to the default server.
    assert match_in_child(HOSTILE, servers) == [1, "default_server"]


def test_catastrophic_regex_that_matches_is_found_too() -> None:
    assert match_in_child("a" * 50, [server("other"), server("~^(a|aa)+$")]) == [1, "regex"]
    assert regex_matches(r"(x+x+)+y", "x" * 200) is False


def test_a_back_reference_cannot_be_decided_and_the_check_says_so(
        recorded: Callable[..., Facts]) -> None:
    servers = [server(r"~^(a+)\1$"), server("shop.example", default=True)]
    assert match_server("aaaa", 80, servers) == (None, "undecided")
    facts = recorded({"nginx": {"servers": servers}})
    facts.options = Options(url="http://aaaa/")
    result = server_name_match(facts)
    assert result.result == "unknown"
    assert result.summary.startswith("could not tell which server block answers aaaa")


def test_a_name_longer_than_dns_allows_is_not_matched() -> None:
    assert regex_matches(r"^a+$", "a" * 254) is None
    assert regex_matches(r"^a+$", "a" * 253) is True


def test_ordinary_server_name_regexes_still_match() -> None:
    servers = [server("other"), server(r"~^(www\.)?(?<shop>[a-z0-9-]+)\.example\.com$")]
    assert match_server("www.tea-shop.example.com", 80, servers) == (1, "regex")
    assert match_server("tea.example.com", 80, servers) == (1, "regex")
    assert match_server("tea.example.org", 80, servers) == (0, "first_server")
    # nginx compiles server_name regexes caseless; \d, \b, classes and counts work
    assert regex_matches(r"^WWW\d{2,3}\.x$", "www12.x") is True
    assert regex_matches(r"^www\d{2,3}\.x$", "www1234.x") is False
    assert regex_matches(r"\bshop\b", "a.shop.b") is True
    assert regex_matches(r"^[^.]+\.test$", "a.b.test") is False
