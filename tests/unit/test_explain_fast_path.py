"""`explain` reads plain stretches of a log in blocks (wizard/log_reader.py) and counts
them once nothing more is listed. These tests hold that shortcut to the careful reading,
line by line, which it must never change: the same entries for any mix of lines.

Lines are typed by hand in nginx's and PHP-FPM's formats (ngx_log.c, zlog.c); the
relayed PHP message is the shape ngx_http_fastcgi_module.c writes (see test_explain.py).
"""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard import explain, log_reader
from wizard.log_reader import LogReader

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

HEAD = "2026/11/30 03:40:{s:02d} [error] 811#811: *{n} "
CTX = ', client: 10.0.0.{n}, server: _, request: "GET / HTTP/1.1", host: "x"'
LINES = st.sampled_from([
    HEAD + "connect() failed (111: Connection refused) while connecting to upstream" + CTX,
    HEAD + 'open() "/var/www/x.png" failed (2: No such file or directory)' + CTX,
    HEAD + "UPSTREAM TIMED OUT (110: Connection timed out) while reading upstream" + CTX,
    HEAD + "worker process 12 exited on signal 9",
    HEAD + 'FastCGI sent in stderr: "PHP message: PHP Warning:  a in /x.php on line 1',
    HEAD + 'FastCGI sent in stderr: "PHP message: PHP Fatal error:  Maximum execution '
           'time of 30 seconds exceeded in /x.php on line 2" while reading upstream' + CTX,
    "PHP message: PHP Warning:  b in /x.php on line 3",
    'PHP message: PHP Warning:  c in /x.php on line 4" while reading upstream' + CTX,
    "PHP message: PHP Warning:  d [x] in /x.php",
    "[30-Nov-2026 03:40:25] WARNING: [pool www] server reached pm.max_children setting (5)",
    "#0 /var/www/x.php(3): f()", "", "   ", "plain words",
    "Nov 30 03:40:25 web nginx[811]: " + HEAD + "no live upstreams" + CTX,
    HEAD + "upstream prematurely closed connection" + CTX + "\x00\x00",
    HEAD + "x" * 3600, "\x01\x02\x03\x04 binary",
])
LOG = st.lists(st.tuples(LINES, st.integers(0, 59)), max_size=60).map(
    lambda items: "".join(line.format(s=s, n=i) + "\n" for i, (line, s) in enumerate(items)))


def _careful(data: bytes, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """explain with every shortcut off: one line at a time, every record classified."""
    with monkeypatch.context() as patch:
        patch.setattr(LogReader, "plain_run", lambda self, first: None)
        patch.setattr(LogReader, "count_run", lambda self, first: None)
        return explain.explain_stream(io.BytesIO(data))


def _small_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lists that fill after a few records, and small blocks, so that counting and the
    block edges are reached by short logs."""
    monkeypatch.setattr(explain, "MAX_RECOGNISED", 4)
    monkeypatch.setattr(explain, "MAX_UNRECOGNISED", 3)
    monkeypatch.setattr(log_reader, "BLOCK", 512)


@FUZZ
@given(LOG, st.booleans())
def test_blocks_give_what_the_careful_reading_gives(
        monkeypatch: pytest.MonkeyPatch, text: str, small: bool) -> None:
    with monkeypatch.context() as patch:
        if small:
            _small_lists(patch)
        data = text.encode()
        assert explain.explain_stream(io.BytesIO(data)) == _careful(data, patch)


def test_counted_log_lists_the_same_and_counts_the_rest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _small_lists(monkeypatch)
    lines = []
    for n in range(3000):
        lines.append(HEAD.format(s=n % 60, n=n) + ("no live upstreams" if n % 3 else
                                                   'open() "/x" failed (2: No such file)'))
        if n % 7 == 0:
            lines[-1] = HEAD.format(s=1, n=n) + 'FastCGI sent in stderr: "PHP message: a'
            lines.append('PHP message: b" while reading upstream' + CTX.format(n=n))
    data = ("\n".join(lines) + "\n").encode()
    fast = explain.explain_stream(io.BytesIO(data))
    assert fast == _careful(data, monkeypatch)
    assert fast[-1]["text"].endswith("more record(s) not listed>")


def test_json_is_written_in_pieces_exactly_as_one_document() -> None:
    data = (HEAD.format(s=1, n=1) + "no live upstreams" + CTX.format(n=1) + "\n").encode()
    for given_bytes in (b"", data, data * 3):
        out = io.StringIO()
        explain.write_explain(io.BytesIO(given_bytes), "json", out)
        whole = explain.render_explain(explain.explain_stream(io.BytesIO(given_bytes)), "json")
        assert out.getvalue() == whole


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    | st.dictionaries(st.integers(), inner, max_size=2), max_leaves=12)


@FUZZ
@given(st.lists(st.dictionaries(st.text(max_size=8), JSON, max_size=6), max_size=4))
def test_entries_are_written_as_json_dumps_writes_them(entries: list[dict[str, object]]) -> None:
    import json
    assert "".join(explain._json_pieces(entries)) == json.dumps(
        {"entries": entries}, indent=2, ensure_ascii=False)
