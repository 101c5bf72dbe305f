"""Reading a config straight into Directives (wizard/host/nginx_tree.py) gives exactly what
crossplane.parse, with crossplane's own lexer, gave through nginx_config's conversion: the
same directives with the same files and lines, the same files in the same order, the same
errors (message, file, line) and the same watched paths; and the one-walk pass settings
equal nginx_config's scope lookups.

Configs are generated from the pieces that make parsing hard (includes that loop, globs,
missing files, directives in the wrong place or with the wrong arguments, blocks where
none may be, `if` with parentheses, quotes, comments among arguments, stray braces and
semicolons) and hand-made for each case crossplane treats in its own way. Each is read
three ways: crossplane's, the builder, and the builder with the plain-file reader off
(every file token by token), so both of its readers are held to crossplane's."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import crossplane
import crossplane.lexer
import crossplane.parser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lab.big_config import write_big_config
from wizard.host import nginx_config, nginx_lexer, nginx_tree
from wizard.host.nginx_config import (
    PASS_KINDS,
    Directive,
    ParsedConfig,
    Scope,
    blocks_named,
    effective_root,
    http_blocks,
    parse_config,
    pass_settings,
    payload_to_config,
    summarize,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
STATEMENTS = [
    "listen 80;", "listen 127.0.0.1:8080 default_server;", "server_name a.test b.test;",
    "root /srv/www;", "root html;", "index index.php;", "proxy_pass http://127.0.0.1:9;",
    "proxy_pass http://up;", "fastcgi_pass unix:/run/php.sock;", "proxy_read_timeout 5s;",
    "proxy_read_timeout 7s;", "fastcgi_param A c;",
    "fastcgi_read_timeout 1m;", "proxy_buffer_size 8k;", "fastcgi_param A b;",
    'fastcgi_param SCRIPT_FILENAME "$document_root$fastcgi_script_name";',
    "proxy_set_header Host $host;", "proxy_ssl_verify on;", "uwsgi_pass 127.0.0.1:3031;",
    "grpc_pass grpc://127.0.0.1:50051;", "error_log logs/e.log warn;", "access_log off;",
    "worker_processes 2;", "user www-data;", "sendfile on;", "sendfile maybe;", "foo bar;",
    "listen;", "try_files $uri =404;", "return 200 'ok;{}';", "rewrite ^/a\\.php$ /b last;",
    "server 127.0.0.1:9 backup;", "default 1;", "text/html html;", "set $a \"${b}c\";",
    "include;", "include a b;", "include inc1.conf;", "include inc2.conf;",
    "include sub/*.conf;", "include nomatch*.conf;", "include missing.conf;",
    "server_name a.test\n    b.test;", "index\nindex.php\n;", "location\n/x\n{",
    "include nginx.conf;", "include sub;", "include sub/*;", "a#b c;", "x \\; y;",
]
OPENERS = [
    "http {", "server {", "location / {", "location ~ \\.php$ {", "if ($request_method = POST) {",
    "if ( $a ) {", "map $a $b {", "upstream up {", "upstream {", "stream {", "events {",
    "types {", "limit_except GET {", "root /x {", "foo {", "include inc2.conf {",
]
ODD = ["}", "}", "}", ";", "{", "# a comment\n", "listen 80 # among args\n;", "'open",
       "a\\\nb;", "#c'\"\n", "proxy_pass http://x", "content_by_lua_block { a; }"]
SEPARATORS = [" ", "\n", "\n    ", "\r\n", "\t", "\u00a0"]
FILES = ["nginx.conf", "inc1.conf", "inc2.conf", "sub/a.conf", "sub/b.conf", "nomatch1.conf"]


def dump(block: list[Directive]) -> list[Any]:
    return [(type(d).__name__, d.name, list(d.args), d.file, d.line,
             None if d.block is None else dump(d.block)) for d in block]


def seen(parsed: ParsedConfig) -> tuple[Any, ...]:
    return dump(parsed.root), parsed.files, parsed.errors, parsed.watched


@contextmanager
def patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    kept = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, kept)


def crossplanes(conf: Path) -> ParsedConfig:
    """The reference: crossplane's parse with its own lexer, converted as before."""
    with patched(crossplane.parser, "lex", crossplane.lexer.lex):
        return payload_to_config(crossplane.parse(str(conf), catch_errors=True,
                                                  check_ctx=True, check_args=True))


def assert_read_as_crossplane_reads(conf: Path) -> ParsedConfig:
    expected = seen(crossplanes(conf))
    built = parse_config(str(conf))
    assert seen(built) == expected
    with patched(nginx_tree, "plain_statements", lambda text: None):
        assert seen(parse_config(str(conf))) == expected
    assert seen(payload_to_config(crossplane.parse(str(conf)))) == expected  # our lexer
    return built


def write_files(base: Path, texts: dict[str, str]) -> Path:
    (base / "sub").mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_bytes(text.encode())
    return base / "nginx.conf"


file_text = st.builds(
    lambda pieces, sep, end: sep + sep.join(pieces) + end,
    st.lists(st.sampled_from(STATEMENTS + OPENERS + ODD), max_size=14),
    st.sampled_from(SEPARATORS), st.sampled_from(["\n", ""]))
# Plain files (the fast reader's) most of the time: no quotes, nothing odd.
plain_text = st.builds(
    lambda pieces, sep: sep + sep.join(pieces) + "\n",
    st.lists(st.sampled_from([s for s in STATEMENTS + OPENERS + ["}", "}", "# c\n"]
                              if "'" not in s and '"' not in s]), max_size=14),
    st.sampled_from(SEPARATORS))
_counter = itertools.count()


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional={name: st.one_of(file_text, plain_text)
                                           for name in FILES}))
def test_generated_configs_read_as_crossplane_reads_them(tmp_path: Path,
                                                        texts: dict[str, str]) -> None:
    texts.setdefault("nginx.conf", "http { include inc1.conf; include sub/*.conf; }\n")
    conf = write_files(tmp_path / f"c{next(_counter)}", texts)
    parsed = assert_read_as_crossplane_reads(conf)
    assert_passes_follow_scope_lookups(parsed)


HAND_MADE: dict[str, dict[str, str]] = {
    "include loop": {"nginx.conf": "http { include a.conf; }\n",
                     "a.conf": "include b.conf;\nserver { listen 81; }\n",
                     "b.conf": "include a.conf;\ninclude nginx.conf;\nlisten 1;\n"},
    "glob order, no match, a folder matched": {
        "nginx.conf": "http {\n include sub/*;\n include none*.conf;\n}\n",
        "sub/b.conf": "server { listen 2; }\n", "sub/a.conf": "server { listen 1; }\n",
        "sub/c/x": ""},
    "missing include, then a bad directive names the included file": {
        "nginx.conf": "http {\n include missing.conf;\n include a.conf;\n listen 80;\n"
                      " server { listen 1; }\n proxy_pass x;\n}\n",
        "a.conf": "server { listen 2; }\n"},
    "bad directives": {"nginx.conf": "events { worker_connections; }\nhttp {\n sendfile maybe;\n"
                                     " root /x { a; }\n server;\n listen 80;\n"
                                     " server { location / { root /a; } }\n}\n"},
    "block where none may be, at the top": {"nginx.conf": "user a {\n b;\n}\nhttp { }\n"},
    "server in the wrong place is read at its parent's level": {
        "nginx.conf": "http { location / { server { listen 1; } root /r; } }\n"},
    "if blocks": {"nginx.conf": "http { server { location / {\n"
                                " if ($request_method = POST) { return 405; }\n"
                                " if ( $a ) { proxy_pass http://b; }\n"
                                " if ($x ~ \"a b\") { proxy_pass http://c; } } } }\n"},
    "map, upstream, stream, types": {
        "nginx.conf": "http {\n map $a $b { default 1; ~x 2; }\n"
                      " upstream up { server 127.0.0.1:9 backup; server unix:/s down; }\n"
                      " types { text/html html; }\n}\n"
                      "stream { upstream s { server 1.2.3.4:5; }\n"
                      " server { listen 9; proxy_pass s; } }\n"},
    "quoted arguments and escapes": {
        "nginx.conf": "http { server {\n add_header X \"a b;{}\" always;\n"
                      " return 200 'it\\'s';\n location ~ \\.php$ { fastcgi_param A \"\"; }\n"
                      " rewrite ^/(.*)\\ x$ /$1;\n} }\n"},
    "comments everywhere": {"nginx.conf": "# top\nhttp { # after brace\n server {\n"
                                          "  listen 80 # among args\n  ;\n"
                                          "  root /a;#tight\n } } # end"},
    "stray closing brace": {"nginx.conf": "http { }\n}\nevents { }\n"},
    "unclosed block": {"nginx.conf": "http {\n server {\n listen 80;\n"},
    "unclosed block in an included file": {"nginx.conf": "http { include a.conf; }\n",
                                           "a.conf": "server {\n listen 1;\n"},
    "no terminator at the end": {"nginx.conf": "events { }\nworker_processes 2\n"},
    "word cut off by the end": {"nginx.conf": "events { }\nworker_processes 2"},
    "include with a block": {"nginx.conf": "http { include a.conf { include b.conf; } }\n",
                             "a.conf": "server { listen 1; }\n",
                             "b.conf": "server { listen 2; }\n"},
    "include where nothing is checked": {"nginx.conf": "http { types { include; } }\n"},
    "lua block": {"nginx.conf": "http { server { location / {\n"
                                " content_by_lua_block { ngx.say('}') }\n } } }\n"},
    "settings at every level, some twice": {
        "nginx.conf": "http { proxy_read_timeout 5s; proxy_read_timeout 9s; root /h;\n"
                      " fastcgi_param A a;\n"
                      " server { root /s; fastcgi_param B b; fastcgi_param B c;\n"
                      "  location / { proxy_pass http://x; proxy_connect_timeout 3s;\n"
                      "   proxy_connect_timeout 4s; }\n"
                      "  location ~ \\.php$ { fastcgi_pass unix:/s;\n"
                      "   if ($a) { fastcgi_param C c; fastcgi_pass unix:/t; }\n"
                      "   limit_except GET { proxy_pass http://y; proxy_ssl_verify on; } }\n"
                      "  location /g { grpc_pass grpc://g; grpc_ssl_verify on;\n"
                      "   grpc_buffer_size 16k; uwsgi_pass u:1; scgi_pass s:2; root rel;\n"
                      "   location /h { proxy_pass h:1; } }\n"
                      " }\n server { proxy_pass http://z; } }\n"},
    "crlf and odd spaces": {"nginx.conf": "http {\r\n\tserver {\u00a0listen 80;\r\n}\r\n}\r\n"},
}


@pytest.mark.parametrize("case", sorted(HAND_MADE))
def test_hand_made_configs_read_as_crossplane_reads_them(tmp_path: Path, case: str) -> None:
    parsed = assert_read_as_crossplane_reads(write_files(tmp_path, HAND_MADE[case]))
    assert_passes_follow_scope_lookups(parsed)


def test_crossplanes_message_names_the_last_included_file(tmp_path: Path) -> None:
    """crossplane names the last file an include read in its later messages of that
    block; the file and line stay right, and the message is kept word for word."""
    conf = write_files(tmp_path, HAND_MADE["missing include, then a bad directive names "
                                           "the included file"])
    errors = parse_config(str(conf)).errors
    assert [(e["file"], e["line"]) for e in errors] == [(str(conf), 2), (str(conf), 4),
                                                        (str(conf), 6)]
    assert errors[1]["error"].endswith(f"in {tmp_path}/a.conf:4")
    assert errors[2]["error"].endswith(f"in {tmp_path}/a.conf:6")


def test_a_generated_many_server_config_reads_the_same(tmp_path: Path) -> None:
    site = write_big_config(tmp_path, servers=40, locations=4, files=20)
    parsed = assert_read_as_crossplane_reads(Path(site.nginx_conf))
    assert len(summarize(parsed, str(tmp_path), None)["passes"]) == 40 * 3
    assert_passes_follow_scope_lookups(parsed)


def test_the_crossplane_path_stays_for_another_crossplane(tmp_path: Path) -> None:
    conf = write_files(tmp_path, HAND_MADE["bad directives"])
    expected = seen(crossplanes(conf))
    with patched(nginx_tree, "FOLLOWS", "0.0.0"), \
            patched(nginx_config, "read_tree", lambda path: pytest.fail("builder used")):
        assert seen(parse_config(str(conf))) == expected


def assert_passes_follow_scope_lookups(parsed: ParsedConfig) -> None:
    """Each pass's settings and root as nginx_config's scope lookups give them."""
    expected = []

    def walk(block: Directive, scope: Scope) -> None:
        for d in block.block or []:
            if d.block is None and d.name in PASS_KINDS and d.args:
                expected.append((pass_settings(PASS_KINDS[d.name], scope),
                                 effective_root(scope, "/p")))
            elif d.block is not None and d.name in ("location", "if", "limit_except"):
                walk(d, scope.inner(d))

    for http in http_blocks(parsed.root):
        for server in blocks_named(http, "server"):
            walk(server, Scope([http, server]))
    got = summarize(parsed, "/p", None)["passes"]
    assert [(p["settings"], p["root"]) for p in got] == expected


def test_lexer_reads_text_already_read(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    text = "a 'b c';\nd;\n"
    conf.write_text(text)
    assert list(nginx_lexer.tokens_for(str(conf), text)) == list(crossplane.lexer.lex(str(conf)))
