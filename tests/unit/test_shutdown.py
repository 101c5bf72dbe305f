"""The orderly stop (wizard/engine/shutdown.py) in this process: a real signal sent to
ourselves inside the block. The end-to-end behaviour of each command is in
tests/e2e/test_signals.py."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.engine.shutdown import OrderlyStop, StopRequested, ends_by_signal, exit_status

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def handlers_kept() -> Iterator[None]:
    """Whatever a test does, the handlers pytest runs with are back afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_a_signal_outside_a_fix_unwinds_with_its_exit_status() -> None:
    with OrderlyStop() as stop, pytest.raises(StopRequested) as raised:
        os.kill(os.getpid(), signal.SIGTERM)
    assert raised.value.signum == signal.SIGTERM
    assert stop.exit_status == exit_status(signal.SIGTERM) == 143
    assert stop.arrived_during == "checks"


def test_a_signal_during_a_fix_waits_for_its_end(capsys: pytest.CaptureFixture[str]) -> None:
    with OrderlyStop() as stop:
        with stop.fix_in_flight():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)  # pressed again: still not cut
            finished = True  # the fix's own code ran on to here
        assert finished and stop.requested
    assert (stop.name, stop.arrived_during) == ("SIGINT", "fix")
    said = capsys.readouterr().err.splitlines()
    assert said == [
        "nginx-502-wizard: asked to stop (SIGINT): the fix that is running finishes first "
        "(its checks, proof or rollback), then the wizard ends.",
        "nginx-502-wizard: still finishing the fix; each of its commands has a time limit."]


def test_a_signal_started_ignored_stays_ignored() -> None:
    """`nohup nginx-502-wizard diagnose --fix ... --yes`: the hang-up is not for us."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with OrderlyStop() as stop:
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGHUP)
    assert not stop.requested


def test_the_handlers_before_are_back_after_the_block() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with OrderlyStop():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_front_end_hears_the_signal_itself() -> None:
    heard: list[int] = []
    with OrderlyStop(heard.append) as stop:
        os.kill(os.getpid(), signal.SIGHUP)
    assert heard == [signal.SIGHUP] and stop.signum == signal.SIGHUP
    assert ends_by_signal(129) and not ends_by_signal(1) and not ends_by_signal(0)


PROMPTING = """
from wizard.engine.shutdown import OrderlyStop
from wizard.fixes.privilege import ask_on_tty
with OrderlyStop() as stop:
    with stop.fix_in_flight():
        answer = ask_on_tty()
    print("answer:", repr(answer), "stopped by:", stop.name, flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sudos_password_prompt_is_cancelled_not_waited_for(signum: signal.Signals) -> None:
    """`diagnose --fix --yes` at sudo's password prompt (a real terminal: pexpect's pty):
    nothing has run yet, so the signal cancels the prompt instead of waiting for a
    password nobody may type; the fix then reports it was not run."""
    import sys

    import pexpect

    child = pexpect.spawn(sys.executable, ["-c", PROMPTING], cwd=str(REPO), timeout=20,
                          encoding="utf-8")
    try:
        child.expect("Password for sudo")
        child.kill(signum)
        child.expect(r"answer: None stopped by: (\w+)")
        assert child.match.group(1) == signum.name
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
