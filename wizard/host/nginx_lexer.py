"""A fast drop-in for crossplane's nginx lexer: the same (token, line, quoted) tuples,
found with one regular expression per file instead of a chain of per-character
generators.

Why: crossplane's lexer walks every character through three generators. On a host with
5,000 included server files that was most of the wizard's time (7 s of a 10,000-file
config, far longer than `nginx -t` itself). crossplane's parser has no option to choose
a lexer, but it calls the module name `crossplane.parser.lex` for every file; `install()`
points that name here once. Everything else (includes, globs, context and argument checks,
error reports) stays crossplane's.

The regular expression covers nginx configs as people write them. Where crossplane's own
lexer does something unusual (a `${...}` expansion, which it lexes oddly; an unterminated
quote, a comment or token cut off by the end of the file, which it silently drops; a
directive with a lexer of its own, such as content_by_lua_block), this file hands that
whole file to crossplane's lexer, so the tokens are always exactly crossplane's.
tests/unit/test_nginx_lexer.py compares the two on generated and hand-made configs.
nginx_tree, which reads configs without crossplane.parse, takes its tokens from
`tokens_for` for every file that is not plain.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import crossplane.lexer
import crossplane.parser
from crossplane.errors import NgxParserSyntaxError

Token = tuple[str, int, bool]

_CROSSPLANE_LEX = crossplane.lexer.lex

# One alternative per kind of token, tried at the position where the last one ended.
# A word may hold escaped pairs (`\;`, `\ `) and quotes or `#` after its first character,
# as crossplane's lexer allows; a quote or `#` can only start a quoted token or comment.
_TOKEN = re.compile(r"""
      (?P<space>\s+)
    | (?P<comment>\#[^\n]*\n)
    | "(?P<dq>(?:\\.|[^"\\])*)"
    | '(?P<sq>(?:\\.|[^'\\])*)'
    | (?P<special>[{};])
    | (?P<word>(?:\\.|[^\s{};"'\#\\])(?:\\.|[^\s{};\\])*)
""", re.VERBOSE | re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


class _Unusual(Exception):
    """Text the regular expression does not lex exactly as crossplane would."""


def _unquote(body: str, quote: str) -> str:
    """Inside quotes crossplane turns an escaped quote into the quote and keeps every other
    escaped pair as written."""
    if "\\" not in body:
        return body
    return _ESCAPED.sub(lambda m: quote if m.group(1) == quote else m.group(0), body)


def tokens_of(text: str) -> list[Token]:
    """crossplane's tokens of a config's text; _Unusual where it would lex differently."""
    if "${" in text or any(name in text for name in crossplane.lexer.EXTERNAL_LEXERS):
        raise _Unusual
    found: list[Token] = []
    append = found.append
    # Interned: 5,000 server files repeat the same names and values (`listen`,
    # `proxy_pass`, an address) hundreds of thousands of times, and the parsed tree keeps
    # them all for the session; one copy of each is enough.
    intern = sys.intern
    line, end = 1, 0
    for m in _TOKEN.finditer(text):
        if m.start() != end:  # a character no alternative takes (a lone trailing '\')
            raise _Unusual
        end = m.end()
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "space":
            line += value.count("\n")
            continue
        if kind == "word":
            if end == len(text):  # crossplane drops a token the file's end cuts off
                raise _Unusual
            # an escaped newline at the start counts before the token, as crossplane does
            append((intern(value), line + (value[:2] == "\\\n"), False))
        elif kind == "special":
            append((intern(value), line, False))
        elif kind == "comment":
            if value.endswith("\\\n"):  # the '\' would pair with the newline
                raise _Unusual
            append((value[:-1], line, False))
        else:  # quoted: dq or sq
            append((intern(_unquote(m.group(kind), value[0])), line, True))
        if "\n" in value:
            line += value.count("\n")
    if end != len(text):  # an unterminated quote or a comment without a newline
        raise _Unusual
    return found


def _balanced(tokens: list[Token], filename: str) -> Iterator[Token]:
    """crossplane's brace check, raising at the same token it would."""
    depth = 0
    line = 0
    for token, line, quoted in tokens:
        if not quoted:
            depth += (token == "{") - (token == "}")
        if depth < 0:
            raise NgxParserSyntaxError('unexpected "}"', filename, line)
        yield token, line, quoted
    if depth > 0:
        raise NgxParserSyntaxError('unexpected end of file, expecting "}"', filename, line)


def lex(filename: str) -> Iterator[Token]:
    """Tokens of one config file, exactly as crossplane.lexer.lex yields them."""
    with open(filename, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    yield from tokens_for(filename, text)


def tokens_for(filename: str, text: str) -> Iterator[Token]:
    """lex() of a file whose text was already read (crossplane's own lexer reads it again
    where it is needed)."""
    try:
        tokens = tokens_of(text)
    except _Unusual:
        return _CROSSPLANE_LEX(filename)
    return _balanced(tokens, filename)


def install() -> None:
    """Have crossplane.parse use this lexer (idempotent)."""
    crossplane.parser.lex = lex
