"""Needles: fixed strings that any text a regex matches must contain, one of them at least.

A line that holds none of a pattern's needles cannot match it, and `needle in text` (C's
fast search) costs far less than trying the pattern. The signature catalogue uses them to
try only the patterns a record could match, and `explain` to pass over the lines of a
huge log that no pattern could match without running any regex on them.

Needles are read from the pattern's own parse tree, so they stay right when a pattern
changes: a run of literal characters that every match goes through, or one needle from
each branch of an alternation that every match goes through. They are lower-cased, to be
looked for in lower-cased text (which also serves case-blind matching of ASCII text).
"""

from __future__ import annotations

from typing import Any, Optional

try:  # the parser's public name moved in Python 3.11; the old one warns there
    from re import _constants as _sre  # type: ignore[attr-defined,unused-ignore]
    from re import _parser as _sre_parse  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # Python 3.9 and 3.10
    import sre_constants as _sre
    import sre_parse as _sre_parse

Needles = Optional[tuple[str, ...]]
MIN_NEEDLE = 4  # shorter strings are in most lines: no use as a gate


def _better(a: Needles, b: Needles) -> Needles:
    """The more selective of two needle sets: the one whose shortest needle is longer."""
    if a is None or b is None:
        return a if b is None else b
    return a if min(map(len, a)) >= min(map(len, b)) else b


def _of_sequence(items: list[tuple[Any, Any]]) -> Needles:
    best: Needles = None
    run: list[str] = []
    for op, arg in [*items, (None, None)]:
        if op is _sre.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            best, run = _better(best, ("".join(run),)), []
        if op is _sre.SUBPATTERN:
            best = _better(best, _of_sequence(list(arg[-1])))
        elif op is _sre.BRANCH:
            each = [_of_sequence(list(branch)) for branch in arg[1]]
            if all(found is not None for found in each):
                best = _better(best, tuple(n for found in each for n in found or ()))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and arg[0] >= 1:
            best = _better(best, _of_sequence(list(arg[2])))
    return best


def needles(regex: str, flags: int = 0) -> Needles:
    """Lower-cased strings one of which every match of `regex` contains; None when the
    pattern has no such strings (then every text must be tried)."""
    found = _of_sequence(list(_sre_parse.parse(regex, flags)))
    if found is None or min(map(len, found)) < MIN_NEEDLE \
            or not all(n.isascii() for n in found):
        return None
    return tuple(dict.fromkeys(n.lower() for n in found))
