"""Keys answer at once while a check waits on an upstream that accepts and never answers;
that check ends at its timeout as `unknown`, in plain words (issue 14).

The upstream is a real TCP server on 127.0.0.1 that accepts and then stays silent. The
check reads a fact that sends it a real FastCGI request with the wizard's own upstream
probe (wizard/host/upstreams.py), told to wait 10 s for the answer. The check declares
that fact, so the app gathers it in the background as it does for the built-in flow, and
it is given a 4 s timeout: it must end at 4 s as `unknown`, not wait the probe out, and
every key pressed meanwhile must be answered at once (the bound is below).

The bound. A key is timed from the Key event the terminal driver would post until the
screen it opens (or closes) is on top: that is when the event loop has handled it, which
is what host work must never hold up. Textual's own cost of a key grows with the load of
the machine (other suites run beside this one), so the same keys are pressed again once
the check has ended, at the same load with nothing running: the waiting check may add at
most 100 ms to the median of twelve presses, and no median may reach 0.5 s. A fact read
on the event loop, or a check holding it, costs seconds here (the probe waits 10 s).
Bench (2 cores, Textual 8.2): median per press about 25 ms while the check waits with the
machine quiet; 75-130 ms at a load average of 8, where the idle app alone needs ~75 ms.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.conftest import screen_text
from tests.tui.states import wait_for
from wizard.checks.base import REGISTRY, check
from wizard.compat import SOCKET_TIMEOUTS
from wizard.flow.model import Flow, Node, Outcome
from wizard.host.facts import PROVIDERS, Facts, fact
from wizard.host.upstreams import probe_target
from wizard.options import Options
from wizard.outcome import CheckResult, Status
from wizard.tui.app import WizardApp
from wizard.tui.screens.help import HelpScreen
from wizard.tui.screens.verdict import VerdictScreen
from wizard.tui.screens.walk import WalkScreen

CHECK = "test.silent_upstream"
FACT = "tui_silent_upstream"
CHECK_TIMEOUT = 4.0
PROBE_WAIT = 10.0  # how long the probe waits for the silent upstream's answer
PRESSES = 12
KEY_BOUND = 0.100  # what a waiting check may add to a key's answer (median)
BUSY_BOUND = 0.500  # a key's answer at all, however loaded the machine (median)
SILENT: dict[str, tuple[str, int]] = {}


def _probe_silent_upstream(facts: Facts) -> dict[str, Any]:
    host, port = SILENT["address"]
    target = {"pass_index": 0, "kind": "fastcgi", "target": f"{host}:{port}", "host": host,
              "port": port, "socket": None}
    return probe_target(target, None, [], timeout=PROBE_WAIT)


if FACT not in PROVIDERS:
    fact(FACT)(_probe_silent_upstream)


def _answers(facts: Facts) -> CheckResult:
    probe = facts.get(FACT)
    if probe.get("fastcgi") == "ok":
        return CheckResult("ok", "the upstream answered")
    return CheckResult("bad", f"the upstream did not answer: {probe.get('detail')}")


@pytest.fixture
def silent_upstream() -> Iterator[tuple[str, int]]:
    """A TCP server that accepts every connection and never sends a byte."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except SOCKET_TIMEOUTS:
                continue
            except OSError:
                return

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    yield server.getsockname()[:2]
    stop.set()
    acceptor.join(5)
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def silent_check(silent_upstream: tuple[str, int]) -> Iterator[None]:
    SILENT["address"] = silent_upstream
    check(CHECK, results={"ok": Status.OK, "bad": Status.PROBLEM}, facts=(FACT,))(_answers)
    yield
    REGISTRY.pop(CHECK, None)


def _flow() -> Flow:
    return Flow(flow="silent", title="Silent upstream", start="upstream", nodes=[
        Node(id="upstream", kind="check", check=CHECK, title="Does the upstream answer?",
             question="Does the upstream answer a request?", on={
                 "ok": Outcome(text="It answers.", next="done"),
                 "bad": Outcome(text="It does not answer.", next="done"),
                 "unknown": Outcome(text="It could not be told: {summary}", next="done")}),
        Node(id="done", kind="end", title="The end", text="Nothing more to look at."),
    ])


async def _press_until(pilot: Pilot[Any], key: str, changed: Callable[[], bool]) -> float:
    """Seconds from a key press until the screen it opens or closes is on top. The key
    goes in as the terminal driver sends one (simulate_key posts the same Key event);
    pilot.press would add its own waits for the whole process to go idle, which the
    background threads of this very test keep from happening."""
    started = time.perf_counter()
    pilot.app.simulate_key(key)
    while not changed():
        if time.perf_counter() - started > 5:
            raise AssertionError(f"{key!r} changed nothing within 5 s")
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


def _steps(app: WizardApp) -> list[Any]:
    return list(app.session.transcript.steps)


async def _key_answers(pilot: Pilot[Any]) -> list[float]:
    """Open and close the help PRESSES // 2 times; each press's seconds."""
    app = pilot.app
    timings = []
    for _ in range(PRESSES // 2):
        timings.append(await _press_until(pilot, "question_mark",
                                          lambda: isinstance(app.screen, HelpScreen)))
        timings.append(await _press_until(pilot, "escape",
                                          lambda: not isinstance(app.screen, HelpScreen)))
    return timings


async def test_keys_answer_while_a_check_waits_and_it_ends_unknown(
        silent_check: None, tmp_path: Path) -> None:
    app = WizardApp(_flow(), Facts(Options()), check_timeout=CHECK_TIMEOUT,
                    transcript_path=tmp_path / "session.json", from_snapshot=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.now_checking is not None)
        started = time.monotonic()
        waiting = await _key_answers(pilot)
        # every press was measured while the check still waited on the silent upstream
        assert not _steps(app), "the check ended before the keys were measured"

        await wait_for(pilot, lambda: bool(_steps(app)), seconds=CHECK_TIMEOUT + 5)
        step = _steps(app)[0]
        waited = time.monotonic() - started
        assert step.status == Status.UNKNOWN
        assert step.summary == f"the check did not finish within {CHECK_TIMEOUT:g}s"
        assert waited < PROBE_WAIT  # it ended at its own timeout, not when the probe gave up
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen)
                       and "Could not tell: Does the upstream answer?" in screen_text(app))

        idle = await _key_answers(pilot)  # the same keys with no check running, same load
        slower = statistics.median(waiting) - statistics.median(idle)
        assert slower < KEY_BOUND, (f"a waiting check made keys {slower * 1000:.0f} ms slower: "
                                    f"{waiting} against {idle}")
        assert statistics.median(waiting) < BUSY_BOUND, waiting

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, WalkScreen))
        await pilot.press("enter")  # reveal what the check found
        await wait_for(pilot, lambda: "[??] Does the upstream answer?" in screen_text(app))
        await pilot.press("up")  # its details say why it could not tell
        await wait_for(pilot, lambda: "It could not be told: the check did not finish within "
                       "4s" in screen_text(app))
