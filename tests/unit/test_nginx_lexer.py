"""The fast nginx lexer (wizard/host/nginx_lexer.py) yields exactly crossplane's tokens.

Each config is lexed by both and the (token, line, quoted) lists, or the syntax errors,
must be equal: generated text built from the pieces that make lexing hard (escapes,
quotes inside and around tokens, comments, braces, every kind of line end), the odd
cases crossplane itself handles strangely (`${`, an unterminated quote, a last token with
no end), and a whole parse of a config with includes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import crossplane
import crossplane.lexer
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.host import nginx_lexer

PIECES = ["server", "a", "b1", 'a"b', "x'y", "a#b", "\\;", "\\ ", "\\\n", '\\"', '"q"',
          '"q\\"r"', "'s\\'t'", '"a\\\\"', '"two\nlines"', "# comment", "#c\\", "{", "}", ";",
          " ", "\n", "\t", "\r\n", "\r", "\u2003", "é", "\\\\", '"\\n"', "''", '""', "$", "${x}",
          "content_by_lua_block", "\x0b"]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))


def lexed(lex: Any, path: Path) -> tuple[list[Any] | None, tuple[str, str] | None]:
    try:
        return list(lex(str(path))), None
    except Exception as exc:  # crossplane's own syntax errors: compare their words
        return None, (type(exc).__name__, str(exc))


def same_as_crossplane(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))  # as written: \r and \r\n stay
    assert lexed(nginx_lexer.lex, path) == lexed(crossplane.lexer.lex, path), repr(text)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=30), st.booleans())
def test_generated_text_lexes_as_crossplane_lexes_it(tmp_path: Path, pieces: list[str],
                                                     newline_at_end: bool) -> None:
    same_as_crossplane(tmp_path / "fuzz.conf", "".join(pieces) + ("\n" if newline_at_end
                                                                   else ""))


@pytest.mark.parametrize("text", [
    "events {}\nhttp { server { listen 80; location ~ \\.php$ { fastcgi_pass unix:/x; } } }\n",
    'set $a "${b}c";\n', "return 200 'unterminated;\n", "worker_processes 1", "# last",
    "a \\\nb;\n", "}\n", "{\n", 'log_format x "a\\"b" \'c\';\n', "a\r\nb;\r\n",
])
def test_hand_made_cases_lex_as_crossplane_lexes_them(tmp_path: Path, text: str) -> None:
    same_as_crossplane(tmp_path / "case.conf", text)


def test_parse_with_includes_is_the_same_with_either_lexer(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    (tmp_path / "sites").mkdir()
    for n in range(3):
        (tmp_path / "sites" / f"s{n}.conf").write_text(
            f"server {{ listen 80{n}; server_name s{n}.test; # site {n}\n"
            f"  location / {{ proxy_pass http://127.0.0.1:9{n}; }} }}\n")
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"events {{}}\nhttp {{ include {tmp_path}/sites/*.conf; }}\n")
    monkeypatch.setattr(crossplane.parser, "lex", nginx_lexer.lex)
    fast = crossplane.parse(str(conf), catch_errors=True)
    monkeypatch.setattr(crossplane.parser, "lex", crossplane.lexer.lex)
    assert crossplane.parse(str(conf), catch_errors=True) == fast
