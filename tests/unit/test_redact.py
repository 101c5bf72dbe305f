"""Secrets never reach a record: the journal, the saved transcript and the Markdown export
of a session that saw a token in its URL, a Cookie header and a sudo password hold none
of them, while the record still says which parameter or header it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.engine.events import FixRecorded
from wizard.engine.report import build_report
from wizard.engine.runner import Session
from wizard.engine.session_export import clipboard_text, live_markdown
from wizard.engine.session_journal import SessionJournal, journal_path
from wizard.engine.transcript_store import save_transcript, session_path
from wizard.fixes.result import AppliedFix
from wizard.flow.model import Flow, Node, Outcome
from wizard.host.facts import Facts
from wizard.options import Options
from wizard.outcome import CheckResult, Evidence
from wizard.redact import REDACTED, redact_all, redact_data, redact_text

REPO = Path(__file__).resolve().parents[2]

# (text as a host or a person gave it, the secret that must go, what must stay)
SECRETS = [
    ('"GET /api/orders?page=2&token=T0k3nValue HTTP/1.1"', "T0k3nValue",
     "/api/orders?page=2&token=[redacted] HTTP/1.1"),
    ("https://shop.example/cb?code=oauthCODE1&state=x", "oauthCODE1", "state=x"),
    ("https://shop.example/x?api_key=abcdef&key=K1", "abcdef", "key=[redacted]"),
    ("http://alice:s3cr3t@10.0.0.5:8080/", "s3cr3t", "http://alice:[redacted]@10.0.0.5:8080/"),
    ("Cookie: PHPSESSID=deadbeef42; theme=dark", "deadbeef42", "Cookie: [redacted]"),
    ("Authorization: Basic YWxpY2U6czNjcjN0", "YWxpY2U6czNjcjN0", "Authorization: "),
    ("curl -H 'Authorization: Bearer eyJhbGciOi.J9.sig' url", "eyJhbGciOi", "curl -H"),
    ("with Bearer eyJhbGciOiJIUzI1NiJ9xyz in a log", "eyJhbGciOiJIUzI1NiJ9xyz",
     "with Bearer [redacted] in a log"),
    ('    proxy_set_header Authorization "Basic YWxpY2U6czNjcjN0";', "YWxpY2U6czNjcjN0",
     "proxy_set_header Authorization [redacted];"),
    ("    fastcgi_param APP_KEY base64:Zm9vYmFyYmF6cXV4;", "Zm9vYmFyYmF6cXV4",
     "fastcgi_param APP_KEY [redacted];"),
    ("    fastcgi_param DB_PASSWORD hunter2;", "hunter2", "fastcgi_param DB_PASSWORD"),
    # a value that looks like a key, whatever its name
    ("    fastcgi_param STRIPE sk_live_4eC39HqLyjWDarjtT1zdp7dc;", "4eC39HqLyjWDarjt",
     "fastcgi_param STRIPE [redacted];"),
    ("env[DB_PASSWORD] = hunter2", "hunter2", "env[DB_PASSWORD] = [redacted]"),
    ("php_admin_value[mail.api_token] = abc123", "abc123", "php_admin_value[mail.api_token]"),
    ("[sudo] password for alice: hunter2", "hunter2", "[sudo] password for alice: [redacted]"),
    ("Password: hunter2", "hunter2", "Password: [redacted]"),
    ("DB_PASSWORD=hunter2 APP_ENV=prod", "hunter2", "APP_ENV=prod"),
    ('{"client_secret": "xyzzy42"}', "xyzzy42", '"client_secret": "[redacted]"'),
]

# Words a report needs that look a little like secrets: they stay as they are.
HARMLESS = [
    "    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
    '    fastcgi_param PHP_VALUE "upload_max_filesize=20M";',
    "    proxy_set_header Cookie $http_cookie;",
    "    proxy_set_header Authorization $http_authorization;",
    "env[PATH] = /usr/local/bin:/usr/bin:/bin",
    'open() "/etc/passwd: permission denied" failed (13: Permission denied)',
    "Password for sudo (not shown): ",
    "sudo did not accept a password; the fix will show the commands to run yourself.",
    "basic configuration of nginx is fine",
    "session_save_path = /var/lib/php/sessions",
    '"GET /index.php?page=2&sort=name HTTP/1.1", upstream: "fastcgi://unix:/run/php.sock"',
    "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok",
    "sha256 3f786850e387550fdab836ed7e6dc881de23001b of /etc/nginx/nginx.conf",
]


@pytest.mark.parametrize(("text", "secret", "kept"), SECRETS, ids=[s[1] for s in SECRETS])
def test_each_kind_of_secret_is_redacted_where_it_stands(text: str, secret: str,
                                                         kept: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted
    assert kept in redacted and REDACTED in redacted
    assert redact_text(redacted) == redacted  # redacting again changes nothing


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_words_stay(text: str) -> None:
    assert redact_text(text) == text


def test_data_by_the_name_of_its_keys_and_the_words_of_its_strings() -> None:
    data = {"params": {"APP_KEY": "plain", "HTTPS": "on"}, "Cookie": "a=b",
            "password": "hunter2", "needs_password": True, "signature": "upstream_timeout",
            "key": "pm.max_children", "lines": ["GET /?token=abc HTTP/1.1"]}
    assert redact_data(data) == {
        "params": {"APP_KEY": REDACTED, "HTTPS": "on"}, "Cookie": REDACTED,
        "password": REDACTED, "needs_password": True, "signature": "upstream_timeout",
        "key": "pm.max_children", "lines": [f"GET /?token={REDACTED} HTTP/1.1"]}


# -- a whole session that saw all three ---------------------------------------------------

URL = "http://shop.example/api/cart?token=T0k3nValue"
TOKEN, COOKIE, PASSWORD = "T0k3nValue", "PHPSESSID=deadbeef42", "hunter2"


def _saw_secrets(facts: Facts) -> CheckResult:
    """What a request check reports from a log with a client's request in it (typed by
    hand after nginx's own format: `..., request: "GET ...", host: "..."`)."""
    line = (f'connect() failed (111: Connection refused) while connecting to upstream, '
            f'request: "GET /api/cart?token={TOKEN} HTTP/1.1", host: "shop.example"')
    return CheckResult("bad", f"{URL} answers 502", confidence=3, evidence=[
        Evidence("error_log", line), Evidence("probe", f"request headers: Cookie: {COOKIE}")])


def secrets_flow() -> Flow:
    return Flow(flow="secrets", title="Secrets", start="request", nodes=[
        Node(id="request", kind="check", check="test.saw_secrets", title="Does it answer?",
             on={"bad": Outcome(text="The address answers 502.", cause="upstream_down",
                                next="end"), "ok": Outcome(next="end")}),
        Node(id="end", kind="end", text="That is all."),
    ])


def sudo_fix_record() -> AppliedFix:
    """A fix's record as the apply back-end keeps it (fixes/recorder.py), with sudo's
    prompt and a typed password in its output, as a misbehaving sudo could echo it."""
    output = f"[sudo] password for alice: {PASSWORD}\nStarting nginx: nginx.\n"
    return AppliedFix("service.start:nginx", time.time(), [
        {"argv": ["sudo", "service", "nginx", "start"], "returncode": 0, "stdout": output,
         "stderr": "", "error": None, "duration": 0.2, "role": "command",
         "started": time.time()}], succeeded=True, after="fixed: nginx answers")


def test_a_session_with_a_url_token_a_cookie_and_a_sudo_password_keeps_none(
        test_checks: Callable[..., None]) -> None:
    test_checks("test.saw_secrets", _saw_secrets)
    facts = Facts.from_snapshot({"format": 1, "facts": {}, "errors": {}}, Options(url=URL))
    session = Session(secrets_flow(), facts, headless=False)
    path = session_path(session.transcript.started)
    journal = SessionJournal.start(session, journal_path(path))
    session.on_event = journal.follow
    session.run()
    fix = sudo_fix_record()
    session.transcript.fixes.append(fix)
    journal.follow(FixRecorded(fix))
    report = build_report(session.transcript, facts)
    save_transcript(session.transcript, report, path)
    journal.close(report)
    exported = subprocess.run(
        [sys.executable, "-m", "wizard", "sessions", "export", "last"], capture_output=True,
        text=True, timeout=60, check=True, cwd=REPO, env=dict(os.environ))
    stored = {"journal": journal_path(path).read_text(encoding="utf-8"),
              "transcript": path.read_text(encoding="utf-8"),
              "export": exported.stdout,
              "markdown (e)": live_markdown(report, session),
              "clipboard (x)": clipboard_text(report)}
    for where, text in stored.items():
        for secret in (TOKEN, COOKIE, PASSWORD):
            assert secret not in text, f"{secret} in the {where}"
    assert "cart?token=[redacted]" in stored["export"]  # which parameter: still said
    assert "password for alice: [redacted]" in stored["export"]
    saved = json.loads(stored["transcript"])
    evidence = saved["transcript"]["steps"][0]["evidence"]
    assert evidence[1]["detail"] == "request headers: Cookie: [redacted]"
    assert saved["transcript"]["options"]["url"] == \
        "http://shop.example/api/cart?token=[redacted]"


# Pieces of the texts each pattern looks for, and of texts none of them should touch.
_PIECES = ["?", "&", "=", "@", "://", " ", ":", "\n", "[", "]", "\"", "a", "Z", "0",
           "\u017f", "\u212a",  # long s and Kelvin sign: equal to s and k ignoring case
           "token", "TOKEN", "Passwd", "pwd", "secret", "api_key", "Api-Key", "key",
           "Cookie", "Authorization", "Bearer", "basic", "fastcgi_param", "set_header",
           "add_header", "env[", "php_admin_value[", "password for bob:", "x9Q2k7LmN4pR8sT1vW3y",
           "/var/www/html", "site00001.example", "127.0.0.1:8080"]


@given(st.lists(st.sampled_from(_PIECES), max_size=24).map("".join))
@settings(max_examples=2000, deadline=None)
def test_the_quick_look_never_lets_a_secret_through(text: str) -> None:
    """redact_text skips texts without any piece the patterns need; that must change no
    result of the full redaction."""
    assert redact_text(text) == redact_all(text)
