"""Mistakes in a PHP-FPM configuration, each with the file and line it is on: what
`php-fpm -t` says (PHP-FPM refuses to start on any of them), and what our own reading of
the ini files sees, which works without the binary or root and names lines that
PHP-FPM's messages leave out (its syntax errors say only "in Unknown on line 1").

A problem is {"file", "line", "text" (the line as written), "words" (plain words),
"said" (PHP-FPM's own message, or None)}. Used by the `phpfpm` fact.
"""

from __future__ import annotations

import re
from typing import Any

from wizard.host.phpfpm import IniEntry, read_text

# "[30-Nov-2026 06:43:08] ERROR: message" (the level is ALERT for a pool's bad value)
_LEVEL = re.compile(r"^\[[^\]]*\] (?:ERROR|ALERT|EMERGENCY|CRITICAL): (?P<msg>.*)$")
_AT_LINE = re.compile(r"^\[(?P<file>/[^\]]*?):(?P<line>\d+)\] (?P<msg>.*)$")
_INCLUDE = re.compile(r"^Unable to include (?P<file>\S+) from \S+ at line (?P<line>\d+)$")
_SYNTAX = re.compile(r"^PHP:\s+syntax error, (?P<msg>.*) in \S+ on line (?P<line>\d+)$")
_POOL = re.compile(r"^\[pool (?P<pool>[^\]]+)\] (?P<msg>.*)$")
_UNKNOWN = re.compile(r"^unknown entry '(.*)'$")
_SETTING = re.compile(r"^'?(?P<key>[a-z_][a-z0-9_.\[\]]*)'? ")
# The messages that only say the test failed; the lines before them say why.
_VERDICTS = ("failed to post process the configuration", "FPM initialization failed",
             "failed to load configuration file", "Unable to include")
_WORDS = {
    "value is NULL for a ZEND_INI_PARSER_ENTRY":
        "this line is not a setting: PHP-FPM expects 'name = value'",
}


def lint_lines(path: str, text: str) -> list[dict[str, Any]]:
    """Lines PHP-FPM's ini parser rejects: a [section without its ], a line that is
    neither a comment, a [section] nor `name = value`."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in ";#":
            continue
        if stripped.startswith("["):
            if "]" not in stripped:
                found.append(_problem(path, number, line, f"the section name {stripped} "
                                      "is not closed with ]"))
        elif "=" not in stripped:
            found.append(_problem(path, number, line, _WORDS[
                "value is NULL for a ZEND_INI_PARSER_ENTRY"]))
    return found


def _problem(path: str, line: int | None, text: str | None, words: str,
             said: str | None = None) -> dict[str, Any]:
    return {"file": path, "line": line, "text": text.strip() if text else None,
            "words": words, "said": said}


def problems_in_test_output(output: str, conf: str, entries: list[IniEntry]
                            ) -> list[dict[str, Any]]:
    """The mistakes `php-fpm -t` names, placed at a file and line where it can be told."""
    found: list[dict[str, Any]] = []
    syntax: tuple[str, int, str] | None = None  # a syntax error waits for its file
    for raw in output.splitlines():
        said = raw.strip()
        body = _message(said)
        if body is None:
            continue
        if m := _SYNTAX.match(body):
            syntax = (m.group("msg"), int(m.group("line")), said)
        elif m := _INCLUDE.match(body):
            if syntax:  # its "at line" is the failing line; the parser's own count is not
                found.append(_syntax(m.group("file"), (syntax[0], int(m.group("line")),
                                                       syntax[2])))
                syntax = None
        elif m := _AT_LINE.match(body):
            found.append(_problem(m.group("file"), int(m.group("line")), None,
                                  _words(m.group("msg")), said))
        elif m := _POOL.match(body):
            found.append(_pool_problem(m.group("pool"), m.group("msg"), said, entries, conf))
        elif not body.startswith(_VERDICTS):
            found.append(_problem(conf, None, None, f"PHP-FPM says: {body}", said))
    if syntax:  # no include named a file: the error is in the main config
        found.append(_syntax(conf, syntax))
    return found


def _words(message: str) -> str:
    if message in _WORDS:
        return _WORDS[message]
    if m := _UNKNOWN.match(message):
        return f"PHP-FPM has no setting named {m.group(1)} (a typing mistake?)"
    return f"PHP-FPM says: {message}"


def _message(line: str) -> str | None:
    if line.startswith("PHP:"):
        return line
    m = _LEVEL.match(line)
    return m.group("msg").strip() if m else None


def _syntax(path: str, syntax: tuple[str, int, str]) -> dict[str, Any]:
    message, line, said = syntax
    return _problem(path, line, None, f"PHP-FPM cannot read this line (syntax error, "
                                      f"{message})", said)


def _pool_problem(pool: str, message: str, said: str, entries: list[IniEntry],
                  conf: str) -> dict[str, Any]:
    """'[pool www] pm.max_children must be a positive value': the line that sets it, or
    where the pool starts."""
    key = m.group("key") if (m := _SETTING.match(message)) else None
    in_pool = [e for e in entries if e[0] == pool]
    setting = next((e for e in reversed(in_pool) if key and e[1] == key), None)
    start = next((e for e in in_pool if not e[1]), None)
    place = setting or start
    return _problem(place[3] if place else conf, place[4] if place else None, None,
                    f"in pool {pool}, {message}", said)


def config_problems(conf: str, entries: list[IniEntry], test: dict[str, Any]
                    ) -> list[dict[str, Any]]:
    """Every mistake of one config: PHP-FPM's (when its test failed) and our reading's,
    one per line, each with the line as written."""
    files = list(dict.fromkeys([conf, *(e[3] for e in entries)]))
    texts: dict[str, list[str]] = {}
    ours: list[dict[str, Any]] = []
    for path in files:
        try:
            texts[path] = read_text(path).splitlines()
        except (OSError, ValueError):
            continue  # the phpfpm fact reports unreadable files already
        ours += lint_lines(path, "\n".join(texts[path]))
    theirs = problems_in_test_output(test.get("output") or "", conf, entries) \
        if test.get("ok") is False else []
    merged = _merge(theirs, ours)
    for problem in merged:
        lines = texts.get(problem["file"]) or []
        number = problem["line"]
        if problem["text"] is None and number and 0 < number <= len(lines):
            problem["text"] = lines[number - 1].strip()
    return merged


def _merge(theirs: list[dict[str, Any]], ours: list[dict[str, Any]]
           ) -> list[dict[str, Any]]:
    """PHP-FPM's problems first, in our words where we found the same line."""
    by_place = {(p["file"], p["line"]): p for p in ours}
    merged = []
    for problem in theirs:
        mine = by_place.pop((problem["file"], problem["line"]), None)
        merged.append({**problem, "words": mine["words"]} if mine else problem)
    return merged + list(by_place.values())
