"""Fuzzing the parsers of what authors and hosts write, with hypothesis: the flow loader
(arbitrary text, YAML trees over the model's keys, mutations of the shipped flow), the
nginx config reader (crossplane and the walk over its payload), the PHP-FPM pool parser and
the server_name matcher. No exception escapes but the project's own typed error with a
message (FlowLoadError), and what the host parsers return stays JSON (facts are saved as
JSON). FUZZ_EXAMPLES sets the number of examples per property (tests/README.md).

The nginx and PHP-FPM pieces are typed by hand from their documentation's directive and
ini-key names (nginx.org/en/docs, php.net/manual/en/install.fpm.configuration.php)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from wizard.checks.server_name import match_server
from wizard.flow.library import builtin_flow_dir
from wizard.flow.lint import lint_flow, walk_errors
from wizard.flow.loader import FlowLoadError, parse_flow
from wizard.host.nginx_config import parse_config, summarize
from wizard.host.phpfpm import (
    parse_fpm_config,
    parse_listen,
    parse_seconds,
    parse_test_output,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SHIPPED_FLOW = (builtin_flow_dir() / "nginx-502.yaml").read_text()


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """One folder for the files the host parsers read (a function-scoped tmp_path would be
    shared by every example anyway)."""
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


# -- the flow loader -------------------------------------------------------------------------

def _load(text: str) -> None:
    """Parse and, when it loads, lint: both must end in a flow or a typed error."""
    try:
        flow = parse_flow(text, "fuzz.yaml")
    except FlowLoadError as exc:
        assert exc.errors and str(exc).startswith("fuzz.yaml:")
        assert all(e.line >= 1 and e.reason for e in exc.errors)
        return
    for error in [*lint_flow(flow), *walk_errors(flow)]:
        assert error.line >= 0 and error.reason


MODEL_KEYS = ["flow", "title", "start", "nodes", "id", "kind", "check", "on", "default",
              "choices", "default_choice", "ask_if", "text", "cause", "fixes", "next", "key",
              "label", "action", "args", "rules_out", "explains", "question", "symptom"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.sampled_from(["check", "ask", "info", "end", "nginx.running", "ok",
                                     "a", "b", "service.start", "php_fpm_down"]),
                    st.text(max_size=12))
TREES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(MODEL_KEYS), st.text(max_size=6)), inner,
                    max_size=5)), max_leaves=30)


@FUZZ
@given(st.text(max_size=400))
def test_flow_loader_on_arbitrary_text(text: str) -> None:
    _load(text)


@FUZZ
@given(st.dictionaries(st.sampled_from(MODEL_KEYS), TREES, max_size=6))
def test_flow_loader_on_yaml_trees_over_the_model(tree: dict[str, object]) -> None:
    _load(yaml.safe_dump(tree, allow_unicode=True))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(SHIPPED_FLOW)), st.integers(0, 200),
                          st.text(max_size=20)), min_size=1, max_size=4))
def test_flow_loader_on_mutated_shipped_flow(edits: list[tuple[int, int, str]]) -> None:
    """Cut a stretch of the shipped flow and put other text there, a few times over."""
    text = SHIPPED_FLOW
    for at, cut, insert in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + cut:]
    _load(text)


# -- the nginx config reader -----------------------------------------------------------------

NGINX_WORDS = st.sampled_from([
    "http", "server", "location", "upstream", "events", "if", "listen", "server_name",
    "root", "fastcgi_pass", "proxy_pass", "uwsgi_pass", "error_log", "user",
    "worker_connections", "worker_processes", "worker_rlimit_nofile", "fastcgi_read_timeout",
    "proxy_read_timeout", "default_server", "unix:/run/php/php8.2-fpm.sock", "127.0.0.1:9000",
    "[::1]:9000", "80", "443", "ssl", "http://backend", "https://127.0.0.1:8443/", "backend",
    "~^www\\.(?<name>.+)$", "*.example.org", ".example.org", "mail.*", "_", "/var/log/x.log",
    "stderr", "syslog:server=unix:/dev/log", "{", "}", ";", "#", "'", '"', "$host", "\\",
    "\n", " ", "max_fails=0", "backup", "weight=x", "=", "~", "^~", "/"])
NGINX_TEXT = st.lists(st.one_of(NGINX_WORDS, NGINX_WORDS, st.text(max_size=8)),
                      max_size=60).map(" ".join)


def _read_nginx(folder: Path, text: str) -> None:
    conf = folder / "nginx.conf"
    conf.write_text(text, errors="surrogateescape")
    summary = summarize(parse_config(str(conf)), "/etc/nginx", None)
    json.dumps(summary)  # the nginx fact is saved in snapshots


@FUZZ
@given(NGINX_TEXT)
def test_nginx_reader_on_directive_soup(folder: Path, text: str) -> None:
    _read_nginx(folder, text)


@FUZZ
@given(st.text(max_size=300).filter(lambda t: "include" not in t))
def test_nginx_reader_on_arbitrary_text(folder: Path, text: str) -> None:
    # `include` is left out: a random glob could walk the whole file system.
    _read_nginx(folder, text)


# -- the PHP-FPM pool parser -----------------------------------------------------------------

FPM_LINES = st.one_of(
    st.sampled_from(["[global]", "[www]", "[$pool]", "[", "]", "[]", "; comment", "# c", "",
                     "listen = /run/php/php8.2-fpm.sock", "listen = 127.0.0.1:9000",
                     "listen = [::1]:9000", "listen = 9000", "pm.max_children = 5",
                     "request_terminate_timeout = 30s", "user = $pool", "listen.owner =",
                     "slowlog = /var/log/$pool.slow.log", "pid = ${NO_SUCH_VAR}",
                     "php_admin_value[error_log] = /x", "=", "key = 'unclosed", 'a = "b" ; c',
                     "listen = on", "pm = dynamic"]),
    st.builds(lambda k, v: f"{k} = {v}", st.text(max_size=10), st.text(max_size=12)),
    st.text(max_size=30).filter(lambda t: "include" not in t))


@FUZZ
@given(st.lists(FPM_LINES, max_size=20).map("\n".join))
def test_phpfpm_pool_parser(folder: Path, text: str) -> None:
    conf = folder / "php-fpm.conf"
    conf.write_text(text, errors="surrogateescape")
    errors: list[str] = []
    parsed = parse_fpm_config(str(conf), errors)
    json.dumps(parsed)
    for pool in parsed["pools"].values():
        parse_listen(pool["values"].get("listen"))
        parse_seconds(pool["values"].get("request_terminate_timeout"))


@FUZZ
@given(st.text(max_size=60))
@example("²")  # found by the fuzzer: isdigit() but not int()
def test_phpfpm_value_parsers(text: str) -> None:
    assert parse_listen(text).keys() == {"socket", "host", "port"}
    assert parse_seconds(text) is None or parse_seconds(text) >= 0
    assert isinstance(parse_test_output(f"[30-Nov-2026 03:40:25] NOTICE: \t{text}"), dict)


# -- the server_name matcher -----------------------------------------------------------------

NAME_PARTS = st.sampled_from(["example.org", "www", ".", "*", "~", "^", "$", "(", ")",
                              "(?<n>", "(?P<", "[", "]", "{", "}", "{4294967296}", "\\",
                              "+", "?", "|", "_", "", "xn--", ":"])
SERVER_NAMES = st.lists(st.one_of(NAME_PARTS, st.text(max_size=6)), max_size=8).map("".join)
SERVERS = st.lists(st.fixed_dictionaries({
    "server_names": st.lists(SERVER_NAMES, max_size=4),
    "listen": st.lists(st.fixed_dictionaries({
        "port": st.sampled_from([80, 443, 8080]), "default_server": st.booleans()}),
        max_size=2),
}), max_size=5)


@FUZZ
@given(st.text(max_size=40), st.sampled_from([80, 443, 8080]), SERVERS)
def test_server_name_matcher(host: str, port: int, servers: list[dict[str, object]]) -> None:
    index, how = match_server(host, port, servers)
    assert how in {"exact", "wildcard_start", "wildcard_end", "regex", "default_server",
                   "first_server", "no_server"}
    assert (index is None) == (how == "no_server")


@pytest.mark.parametrize("name", ["~a{4294967296}", "~" + "(" * 5000 + ")" * 5000])
def test_server_name_regex_nginx_would_refuse_matches_nothing(name: str) -> None:
    """Found by the fuzzer: a repeat count or a nesting Python's re cannot compile raised
    OverflowError / RecursionError instead of simply not matching."""
    servers = [{"server_names": [name], "listen": [{"port": 80}]}]
    assert match_server("a", 80, servers) == (0, "first_server")


def test_server_name_regex_python_warns_about_stays_quiet() -> None:
    """Found by the fuzzer: `[[a]` (valid PCRE) made Python's re print a FutureWarning
    over the terminal. Run in a fresh interpreter: pytest changes the warning filters."""
    code = ("from wizard.checks.server_name import match_server\n"
            "print(match_server('a', 80, [{'server_names': ['~[[a]'], "
            "'listen': [{'port': 80}]}]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout == "(0, 'regex')\n" and done.stderr == ""
