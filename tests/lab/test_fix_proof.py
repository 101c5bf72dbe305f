"""A fix is judged on fresh evidence only, through the real entry point Session.apply_fix.

Each test breaks a real lab the way production breaks, makes nginx log the failure (so the
`--since` window holds the old lines that found it), walks the built-in flow headless to
the step that offers the fix, and applies it the way the TUI and `diagnose --fix` do. The
old lines must never undo a correct repair: the proof is the failing request sent again
(or --url), and when nothing fresh can judge, the fix is kept and said to be unproven.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lab.harness import Lab, wait_for
from wizard.engine.runner import Session
from wizard.engine.transcript import FixOffer, Step
from wizard.flow.library import find_flow
from wizard.host.facts import Facts

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root


def status(lab: Lab, path: str, method: str = "GET") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", lab.port, timeout=20)
    try:
        conn.request(method, path, headers={"Host": lab.nginx_params["server_name"]})
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


def walk(lab: Lab, **options: Any) -> Session:
    session = Session(find_flow("nginx-502"), Facts(lab.options(since_seconds=3600,
                                                                **options)))
    session.run()
    return session


def offered(session: Session, action: str) -> tuple[Step, FixOffer]:
    for step in session.transcript.steps:
        for offer in step.fixes:
            if offer.action == action and offer.plan:
                return step, offer
    found = [(s.node, s.summary, [(o.action, o.unavailable) for o in s.fixes])
             for s in session.transcript.steps if s.status != "ok"]
    raise AssertionError(f"no step offers {action}: {found}")


def apply(session: Session, step: Step, offer: FixOffer) -> tuple[Any, list[str]]:
    lines: list[str] = []
    return session.apply_fix(step, offer, lines.append), lines


def test_buffer_fix_from_the_log_step_is_proven_by_the_failing_request_again(
        make_lab: MakeLab) -> None:
    # The reported bug: without --url the fix is offered from the error-log step, the old
    # "too big header" lines stay in the window, and a re-read of them undid the edit.
    lab = make_lab()
    assert status(lab, "/bigheader.php?n=16000") == 502
    lab.wait_for_log("upstream sent too big header")
    session = walk(lab)
    step, offer = offered(session, "nginx.set_buffer_size")
    assert step.node == "nginx_log"

    applied, lines = apply(session, step, offer)

    expected = f"http://lab.test:{lab.port}/bigheader.php?n=16000 now answers 200: fixed"
    assert applied.after == expected, "\n".join(lines)
    assert applied.succeeded and applied.proof == "fixed"
    assert "fastcgi_buffer_size 32k;" in Path(lab.nginx_conf).read_text()  # kept
    assert "rollback" not in [r["role"] for r in applied.commands]
    assert status(lab, "/bigheader.php?n=16000") == 200
    # later log checks of this session count only what was written after the fix
    assert session.rerun("nginx_log").result == "ok"


def test_with_nothing_to_request_the_fix_is_kept_and_said_to_be_unproven(
        make_lab: MakeLab) -> None:
    # The failing request was a POST: it is never sent again, and the old lines prove
    # nothing after the fix, so the edit stays and the person is told to reload the page.
    lab = make_lab()
    assert status(lab, "/bigheader.php?n=16000", method="POST") == 502
    lab.wait_for_log("upstream sent too big header")
    session = walk(lab)
    step, offer = offered(session, "nginx.set_buffer_size")

    applied, lines = apply(session, step, offer)

    assert applied.proof == "unproven", "\n".join(lines)
    assert not applied.succeeded
    assert applied.after.startswith("applied, not yet proven")
    assert "reload the page" in applied.after
    assert "fastcgi_buffer_size 32k;" in Path(lab.nginx_conf).read_text()
    assert "rollback" not in [r["role"] for r in applied.commands]


def test_timeout_fix_with_url_is_proven_by_the_address(make_lab: MakeLab) -> None:
    lab = make_lab(request_terminate_timeout="2")
    url = lab.url("/slow.php?s=4")
    assert status(lab, "/slow.php?s=4") == 502
    session = walk(lab, url=url)
    step, offer = offered(session, "phpfpm.set_request_terminate_timeout")

    applied, lines = apply(session, step, offer)

    assert applied.after == f"{url} now answers 200: fixed", "\n".join(lines)
    assert applied.succeeded
    assert "request_terminate_timeout = 60s" in Path(lab.phpfpm_conf).read_text()


def test_a_live_check_proves_the_fastcgi_pass_fix(make_lab: MakeLab) -> None:
    lab = make_lab(fastcgi_pass="unix:{prefix}/other.sock")
    assert status(lab, "/index.php") == 502
    lab.wait_for_log("other.sock")
    session = walk(lab)
    step, offer = offered(session, "nginx.set_fastcgi_pass")

    applied, lines = apply(session, step, offer)

    assert applied.succeeded and applied.proof == "fixed", "\n".join(lines)
    assert applied.after == f"http://lab.test:{lab.port}/index.php now answers 200: fixed"
    wait_for(lambda: status(lab, "/index.php") == 200, 20, "index.php to answer 200")


def test_a_fix_that_does_not_help_is_rolled_back_and_says_what_runs(
        make_lab: MakeLab) -> None:
    # The buffer is raised, but the header is bigger still: the request sent again gets a
    # fresh 502 (a line written after the fix), so the change is taken back.
    lab = make_lab()
    before = Path(lab.nginx_conf).read_bytes()
    assert status(lab, "/bigheader.php?n=60000") == 502
    lab.wait_for_log("upstream sent too big header")
    session = walk(lab)
    step, offer = offered(session, "nginx.set_buffer_size")

    applied, lines = apply(session, step, offer)

    assert applied.proof == "failing", "\n".join(lines)
    assert "/bigheader.php?n=60000 still answers 502: " in applied.after
    assert "upstream sent too big header" in applied.after
    assert applied.after.endswith(f"rolled back: {lab.nginx_conf} is as before (checked by "
                                  "sha256), and the running server was reloaded with it")
    assert Path(lab.nginx_conf).read_bytes() == before
    assert status(lab, "/index.html") == 200
