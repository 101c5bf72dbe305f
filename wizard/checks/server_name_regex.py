"""Matching a `server_name ~regex` against a host name in time that grows with the length
of the name and of the pattern, never exponentially: safe for any regex a host's config
holds, such as `~^(a+)+$`, which sends a backtracking engine (Python's `re`, PCRE)
through 2^n paths for a name of n characters.

Why this way: Python's `re` has no timeout, and a match does not let go of the
interpreter, so a thread with a deadline cannot stop it (the whole wizard would hang).
A length cap does not help either (50 characters are 2^50 paths). So the pattern is
parsed with Python's own regex parser and run as a Thompson automaton (the idea behind
RE2 and grep): every state the pattern can be in is carried along one character at a
time, at most once per state.

That covers what server names use: literals, classes, `.`, groups, alternation,
repetition, anchors and word boundaries. What an automaton cannot decide (back-references,
lookaround, atomic groups and possessive repeats), a pattern too large to expand, or a
name longer than DNS allows, gives `None`: "could not tell", never a guess. A pattern
that is not a regular expression at all matches nothing (nginx -t refuses it anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

try:  # Python 3.11+
    import re._constants as sre  # type: ignore[import-not-found,unused-ignore]
    import re._parser as sre_parse  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - Python 3.9 / 3.10
    import sre_constants as sre  # type: ignore[no-redef,unused-ignore]
    import sre_parse  # type: ignore[no-redef,unused-ignore]

MAX_HOST = 253  # the longest DNS name; nginx has no longer host to match
MAX_STATES = 20_000  # `a{1000}{1000}` would expand past any use; say "could not tell"

Predicate = Callable[[str], bool]


class Unsupported(Exception):
    """The pattern uses what an automaton cannot decide, or is too large."""


@dataclass
class _State:
    kind: str  # "char" | "split" | "assert" | "match"
    test: Predicate | None = None
    at: Any = None  # the anchor of an "assert" state
    out: list[int] = field(default_factory=list)


def _category(code: Any) -> Predicate:
    tests: dict[Any, Predicate] = {
        sre.CATEGORY_DIGIT: str.isdigit, sre.CATEGORY_SPACE: str.isspace,
        sre.CATEGORY_WORD: _is_word, sre.CATEGORY_LINEBREAK: lambda c: c == "\n",
    }
    negated = {sre.CATEGORY_NOT_DIGIT: sre.CATEGORY_DIGIT,
               sre.CATEGORY_NOT_SPACE: sre.CATEGORY_SPACE,
               sre.CATEGORY_NOT_WORD: sre.CATEGORY_WORD,
               sre.CATEGORY_NOT_LINEBREAK: sre.CATEGORY_LINEBREAK}
    if code in tests:
        return tests[code]
    if code in negated:
        positive = tests[negated[code]]
        return lambda c: not positive(c)
    raise Unsupported(f"category {code}")


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _between(low: int, high: int) -> Predicate:
    return lambda c: low <= ord(c) <= high


def _equals(wanted: str) -> Predicate:
    return lambda c: c == wanted


def _caseless(test: Predicate) -> Predicate:
    # nginx compiles server_name regexes caseless (NGX_REGEX_CASELESS).
    return lambda c: test(c) or test(c.swapcase())


def _class(items: list[tuple[Any, Any]]) -> Predicate:
    negate = False
    tests: list[Predicate] = []
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            tests.append(_equals(chr(av)))
        elif op is sre.RANGE:
            tests.append(_between(av[0], av[1]))
        elif op is sre.CATEGORY:
            tests.append(_category(av))
        else:
            raise Unsupported(f"class item {op}")
    return lambda c: any(t(c) for t in tests) != negate


class _Builder:
    """Thompson construction, back to front: each piece is built knowing what follows."""

    def __init__(self) -> None:
        self.states: list[_State] = [_State("match")]

    def add(self, state: _State) -> int:
        if len(self.states) >= MAX_STATES:
            raise Unsupported("pattern too large")
        self.states.append(state)
        return len(self.states) - 1

    def sequence(self, items: Any, nxt: int) -> int:
        for op, av in reversed(list(items)):
            nxt = self.item(op, av, nxt)
        return nxt

    def item(self, op: Any, av: Any, nxt: int) -> int:
        if op is sre.LITERAL:
            return self.add(_State("char", _caseless(_equals(chr(av))), out=[nxt]))
        if op is sre.NOT_LITERAL:
            other = _caseless(_equals(chr(av)))
            return self.add(_State("char", lambda c: not other(c), out=[nxt]))
        if op is sre.ANY:
            return self.add(_State("char", lambda c: c != "\n", out=[nxt]))
        if op is sre.IN:
            return self.add(_State("char", _caseless(_class(av)), out=[nxt]))
        if op is sre.AT:
            return self.add(_State("assert", at=av, out=[nxt]))
        if op is sre.SUBPATTERN:
            return self.sequence(av[-1], nxt)
        if op is sre.BRANCH:
            return self.add(_State("split", out=[self.sequence(b, nxt) for b in av[1]]))
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):  # greedy or lazy: same yes/no answer
            return self.repeat(av[0], av[1], av[2], nxt)
        raise Unsupported(f"{op}")  # GROUPREF, ASSERT, ATOMIC_GROUP, POSSESSIVE_REPEAT...

    def repeat(self, low: int, high: int, body: Any, nxt: int) -> int:
        if high == sre.MAXREPEAT:
            loop = self.add(_State("split"))
            self.states[loop].out = [self.sequence(body, loop), nxt]
            nxt = loop
        else:
            for _ in range(high - low):
                nxt = self.add(_State("split", out=[self.sequence(body, nxt), nxt]))
        for _ in range(low):
            nxt = self.sequence(body, nxt)
        return nxt


def _holds(at: Any, host: str, i: int) -> bool:
    before = i > 0 and _is_word(host[i - 1])
    after = i < len(host) and _is_word(host[i])
    if at in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING):
        return i == 0
    if at is sre.AT_END:  # `$` also matches before a final newline
        return i == len(host) or (i == len(host) - 1 and host[i] == "\n")
    if at is sre.AT_END_STRING:
        return i == len(host)
    if at is sre.AT_BOUNDARY:
        return before != after
    if at is sre.AT_NON_BOUNDARY:
        return before == after
    raise Unsupported(f"anchor {at}")


@dataclass
class Automaton:
    states: list[_State]
    start: int

    def search(self, host: str) -> bool:
        """Does the pattern match anywhere in host (as `re.search` would say)?"""
        current: set[int] = set()
        for i in range(len(host) + 1):
            current = self._closure(current | {self.start}, host, i)
            if 0 in current:  # state 0 is the match
                return True
            if i == len(host):
                break
            current = {s.out[0] for s in (self.states[n] for n in current)
                       if s.kind == "char" and s.test is not None and s.test(host[i])}
        return False

    def _closure(self, seeds: set[int], host: str, i: int) -> set[int]:
        """The states reachable without reading a character, at position i."""
        seen: set[int] = set()
        stack = list(seeds)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            state = self.states[n]
            if state.kind == "split" or (state.kind == "assert" and _holds(state.at, host, i)):
                stack.extend(state.out)
        return seen


class InvalidPattern(Exception):
    """Not a regular expression at all (nginx -t refuses such a server_name too)."""


@lru_cache(maxsize=1024)  # every check that asks which site a URL is matches again
def compile_server_regex(pattern: str) -> Automaton | None:
    """The automaton of a server_name regex (without its `~`); None when it cannot be
    built (what an automaton cannot decide, or too large); InvalidPattern when it is
    not a valid pattern."""
    try:
        parsed = sre_parse.parse(pattern)
    except (sre.error, ValueError, OverflowError, RecursionError) as exc:
        raise InvalidPattern(str(exc)) from None  # a{4294967296}, thousands of ((
    builder = _Builder()
    try:
        start = builder.sequence(parsed, 0)
    except (Unsupported, RecursionError):
        return None
    return Automaton(builder.states, start)


def regex_matches(pattern: str, host: str) -> bool | None:
    """True / False, or None when it cannot be told safely."""
    if len(host) > MAX_HOST:
        return None
    try:
        automaton = compile_server_regex(pattern)
    except InvalidPattern:
        return False  # nginx would not start with it; no name can match it
    return automaton.search(host) if automaton is not None else None
