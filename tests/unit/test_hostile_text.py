"""Hostile text from the host cannot act on the reader's terminal or Markdown viewer.

A local attacker controls what lands in the logs (a request line, a PHP message). Every
report format must show it, not obey it: `explain` and `diagnose` in each format, and
`sessions show|export`, driven through the real CLI; safe_text itself is fuzzed.
The long fuzz run: FUZZ_EXAMPLES=20000 (see tests/README.md).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from wizard.engine.report import build_report
from wizard.engine.runner import Session
from wizard.engine.session_export import live_markdown
from wizard.engine.session_journal import SessionJournal, journal_path
from wizard.engine.session_records import read_session
from wizard.engine.transcript_store import session_path
from wizard.explain import explain_stream, render_explain
from wizard.flow.loader import load_flow
from wizard.host.facts import Facts
from wizard.options import Options
from wizard.safe_text import json_text, md_code, md_fence, md_text, printable

SNAPSHOTS = Path(__file__).parent / "data" / "snapshots"
FLOWS = Path(__file__).parents[2] / "flows"
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=None)

# Retitle the terminal, ring the bell, clear the screen; 8-bit CSI; a bidi override.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202e"
SHOWN = "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202e"
# Markdown that would close a code span, open a link, a tag and a heading.
BREAKOUT = "`` ` ``](javascript:alert(1)) <script>alert(2)</script>\n# Owned"
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

NGINX_LINE = ('2024/05/01 10:00:00 [crit] 77#77: *3 connect() to unix:/run/php/php8.2-fpm.sock '
              'failed (2: No such file or directory) while connecting to upstream, client: '
              '127.0.0.1, server: _, request: "GET /{} HTTP/1.1", upstream: '
              '"fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "localhost"')
STDERR_LINE = ('2024/05/01 10:00:01 [error] 77#77: *4 FastCGI sent in stderr: "PHP message: '
               'PHP Fatal error:  {} Maximum execution time of 30 seconds exceeded in '
               '/var/www/a.php on line 2" while reading response header from upstream, '
               'client: 127.0.0.1, server: _, request: "GET /a.php HTTP/1.1", '
               'upstream: "fastcgi://127.0.0.1:9000", host: "x"')


def wizard(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True,
                          timeout=60, check=False, env={**os.environ, **(env or {})})


def assert_inert(out: bytes) -> str:
    """No raw control byte (C0 but newline/tab, DEL, C1, bidi) reaches the reader."""
    text = out.decode("utf-8")
    assert RAW.search(text) is None, repr(RAW.findall(text))
    return text


def assert_markdown_holds(markdown: str) -> None:
    """Rendered as a viewer would: no link, no HTML, no heading made from host text."""
    html = MarkdownIt("commonmark").render(markdown)
    assert 'href="javascript:' not in html
    assert "<script>" not in html
    assert "<h1>Owned" not in html


# --- explain --------------------------------------------------------------------------

def hostile_log(tmp_path: Path) -> Path:
    """A request line and a PHP message carrying escapes, then a line of invalid UTF-8."""
    log = tmp_path / "error.log"
    log.write_bytes("\n".join([NGINX_LINE.format(ESCAPES), STDERR_LINE.format(ESCAPES)])
                    .encode() + b"\n" + NGINX_LINE.format("\xff").encode()[:-20]
                    + b"\xff\xfe" + b"\n")
    return log


def test_explain_text_shows_escape_bytes_instead_of_sending_them(tmp_path: Path) -> None:
    done = wizard("explain", str(hostile_log(tmp_path)))
    assert done.returncode == 0, done.stderr
    text = assert_inert(done.stdout)
    assert "\\x1b]0;owned\\x07" in text  # the bytes are shown, so the person sees them
    assert "\\x9b31m\\u202e" in text


def test_explain_json_stays_valid_and_keeps_the_text(tmp_path: Path) -> None:
    done = wizard("explain", str(hostile_log(tmp_path)), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert_inert(done.stdout)
    entries = json.loads(done.stdout)["entries"]
    assert ESCAPES in entries[0]["text"]  # scripts get the text exactly as logged
    assert entries[0]["signature"] == "upstream_socket_missing"
    assert ESCAPES in entries[1]["text"] and "FastCGI sent in stderr" in entries[1]["text"]


def test_explain_text_says_signatures_and_causes_in_words(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_text(NGINX_LINE.format("") + "\n" + NGINX_LINE.format("b") + "\n")
    text = assert_inert(wizard("explain", str(log)).stdout)
    assert "Seen: the socket file of the upstream does not exist (2 times)" in text
    assert "    - nginx points at the wrong upstream address" in text
    assert re.search(r"\b[a-z]+(?:_[a-z]+)+\b", text.replace("/run/php", "")) is None, text


def test_explain_markdown_keeps_log_text_in_its_code_span(tmp_path: Path) -> None:
    # `explain --format markdown` renders this (the CLI's --format choices are cli.py's)
    log = tmp_path / "error.log"
    log.write_text(NGINX_LINE.format(ESCAPES + BREAKOUT) + "\n", encoding="utf-8")
    with log.open("rb") as stream:
        markdown = render_explain(explain_stream(stream), "markdown")
    assert SHOWN in assert_inert(markdown.encode())
    assert_markdown_holds(markdown)
    assert "  - likely cause: PHP-FPM is not running" in markdown


# --- diagnose -------------------------------------------------------------------------

def hostile_snapshot(tmp_path: Path) -> Path:
    """php-fpm-stopped.json (recorded on the lab) with hostile text put in its log events."""
    snap = json.loads((SNAPSHOTS / "php-fpm-stopped.json").read_text())
    facts = snap["facts"]
    for event in [*facts["error_log_events"]["events"], *facts["url_request"]["log_events"]]:
        event["line"] = event["line"].replace("GET /index.php", f"GET /{ESCAPES}{BREAKOUT}")
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(snap))
    return path


def diagnose(tmp_path: Path, fmt: str) -> subprocess.CompletedProcess[bytes]:
    done = wizard("diagnose", "--from-snapshot", str(hostile_snapshot(tmp_path)),
                  "--format", fmt, env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert done.returncode == 1, done.stderr
    return done


def test_diagnose_markdown_neither_sends_escapes_nor_breaks_out(tmp_path: Path) -> None:
    markdown = assert_inert(diagnose(tmp_path, "markdown").stdout)
    assert SHOWN in markdown  # the evidence line is there, made visible
    assert_markdown_holds(markdown)
    html = MarkdownIt("commonmark").render(markdown)
    assert "<code>" in html and "GET /\\x1b]0;owned" in html


def test_diagnose_text_and_json_are_inert(tmp_path: Path) -> None:
    text = assert_inert(diagnose(tmp_path, "text").stdout)
    assert "No such file or directory" in text
    report = json.loads(assert_inert(diagnose(tmp_path, "json").stdout))
    assert any(ESCAPES in ev["detail"] for c in report["causes"] for ev in c["evidence"])


def recorded_session(tmp_path: Path) -> tuple[str, str]:
    """The nginx-502 flow walked over the hostile snapshot, its journal in the state
    folder (conftest points XDG_STATE_HOME at a temporary one): the session id, and the
    Markdown the TUI exports for it (key e)."""
    snapshot = json.loads(hostile_snapshot(tmp_path).read_text())
    facts = Facts.from_snapshot(snapshot, Options(url=f"http://x/{ESCAPES}{BREAKOUT}"))
    session = Session(load_flow(FLOWS / "nginx-502.yaml"), facts, headless=False)
    path = journal_path(session_path(session.transcript.started))
    journal = SessionJournal.start(session, path)
    session.on_event = journal.follow
    session.run_ahead(threading.Event())
    report = build_report(session.transcript, session.facts)
    journal.close(report)
    return read_session(path).id, live_markdown(report, session)


def test_sessions_show_export_and_the_tui_export_are_inert(tmp_path: Path) -> None:
    session_id, tui_export = recorded_session(tmp_path)
    assert SHOWN in assert_inert(tui_export.encode())
    assert_markdown_holds(tui_export)
    shown = wizard("sessions", "show", session_id)
    assert shown.returncode == 0, shown.stderr
    assert SHOWN in assert_inert(shown.stdout)
    exported = wizard("sessions", "export", session_id)
    assert exported.returncode == 0, exported.stderr
    markdown = assert_inert(exported.stdout)
    assert SHOWN in markdown
    assert_markdown_holds(markdown)


# --- the neutralising itself, fuzzed --------------------------------------------------

MARKDOWNISH = st.text(alphabet=st.sampled_from("`~ \t\r\x1ba#[]()<>*_-"), max_size=12)


def code_spans(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark").parseInline(markdown)
    return [child.content for t in tokens for child in t.children or []
            if child.type == "code_inline"]


@FUZZ
@given(MARKDOWNISH | st.text())
def test_md_code_is_one_literal_code_span(text: str) -> None:
    rendered = md_code(text)
    assert RAW.search(rendered) is None and "\n" not in rendered
    spans = code_spans(rendered)
    assert len(spans) == 1
    # CommonMark strips one space each side when both are there (md_code's padding)
    assert spans[0].strip(" ") == printable(text).replace("\n", "\\n").replace(
        "\t", "\\t").replace("\r", "\\r").strip(" ") or not text.strip()


@FUZZ
@given(MARKDOWNISH | st.text())
def test_md_text_reads_back_as_its_own_characters(text: str) -> None:
    rendered = md_text(text)
    html = MarkdownIt("commonmark").render(rendered)
    assert RAW.search(rendered) is None
    for tag in ("<a ", "<h1", "<h2", "<code", "<em", "<strong", "<ul", "<ol", "<blockquote",
                "<script", "<img", "<hr"):
        assert tag not in html, (text, html)


@FUZZ
@given(st.lists(MARKDOWNISH | st.text(), max_size=5))
def test_md_fence_cannot_be_closed_from_inside(lines: list[str]) -> None:
    block = "\n".join(md_fence([line.replace("\n", " ") for line in lines]))
    tokens = MarkdownIt("commonmark").parse(block)
    assert [t.type for t in tokens] == ["fence"]


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=10))
def test_json_text_is_valid_inert_and_means_the_same(value: object) -> None:
    dumped = json_text(json.dumps(value, ensure_ascii=False))
    assert RAW.search(dumped) is None
    assert json.loads(dumped) == value
