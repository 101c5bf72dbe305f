"""What changed before it broke, on the real lab (issue 9, item 6): real nginx and PHP-FPM,
a change made to them, and the real CLI (`diagnose --format json --url ...`) listing it.

This host has its own real history (packages installed hours ago, other tests' servers),
so each test asserts on the lab's own files and processes, never on the whole list.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.lab.harness import Lab, wait_for
from tests.lab.scenario_support import diagnose, explain

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root
TWO_DAYS = 2 * 86400


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def steps_vars(report: dict[str, Any], node: str) -> dict[str, Any]:
    """The variables the step of `node` recorded in the session's transcript."""
    transcript = json.loads(Path(report["transcript"]).read_text(encoding="utf-8"))
    return next(s["vars"] for s in transcript["transcript"]["steps"] if s["node"] == node)


def lab_changes(report: dict[str, Any], lab: Lab) -> list[dict[str, Any]]:
    return [c for c in report["changes"] if str(lab.prefix) in c["source"] + c["what"]]


def backdate(lab: Lab) -> None:
    """Make every file of the lab two days old: an install nothing has touched since."""
    then = time.time() - TWO_DAYS
    for folder, _dirs, files in os.walk(lab.prefix):
        for name in files:
            os.utime(os.path.join(folder, name), (then, then))


def test_config_edited_after_nginx_started_is_listed_with_its_time(make_lab: MakeLab) -> None:
    lab = make_lab()
    started = psutil.Process(lab.nginx_pid).create_time()
    # psutil's start time can be a second early: edit clearly after it
    wait_for(lambda: time.time() > started + 1.5, 5.0, "a moment after nginx started")
    lab.write_nginx_conf(fastcgi_pass="unix:{prefix}/other.sock")  # no reload
    edited = os.stat(lab.nginx_conf).st_mtime
    assert lab.request("/index.php")[0] == 200  # the running nginx still uses the old file

    _code, report = diagnose(lab, "/index.php")

    entry = next((c for c in report["changes"] if c["source"] == lab.nginx_conf), None)
    assert entry is not None, report["changes"]
    assert entry["time"] == iso(edited)
    assert entry["what"].startswith(f"{lab.nginx_conf} was changed after nginx started at "
                                    f"{time.strftime('%H:%M', time.localtime(started))}")
    assert "its config test passes, so a reload would load it" in entry["what"]
    # the report found the address nginx would use after a reload wrong; this edit is why
    assert "upstream_address_mismatch" in [c["id"] for c in report["causes"]], explain(report)
    assert "upstream_address_mismatch" in entry["explains"]
    step = next(s for s in report["steps"] if s["node"] == "why_now")
    assert step["status"] == "warning" and step["summary"].startswith(lab.nginx_conf)


def test_php_fpm_stopped_before_the_502_explains_php_fpm_down(make_lab: MakeLab) -> None:
    lab = make_lab()
    lab.stop_php()  # SIGQUIT: PHP-FPM writes "Finishing ..." and "exiting, bye-bye!"
    stopped = os.stat(lab.phpfpm_log).st_mtime
    assert lab.request("/index.php")[0] == 502
    # nginx stamps the 502 with its whole second and psutil's start time may read up to a
    # second early: start PHP-FPM once the clock is past both, so "after" is decidable.
    failed_second = int(time.time())
    wait_for(lambda: time.time() >= failed_second + 2, 5.0, "the 502's second to pass")
    # Started again, so the wizard finds this PHP-FPM (and its log) through its master: a
    # stopped one of the lab's own is found by no config the wizard knows.
    lab.start_php()

    _code, report = diagnose(lab, "/index.php")

    mine = [c for c in report["changes"] if c["source"] == lab.phpfpm_log]
    assert [c["what"] for c in mine] == ["PHP-FPM stopped"], report["changes"]
    # PHP-FPM stamps whole seconds; the file's time is a moment after the line's
    assert abs(datetime.fromisoformat(mine[0]["time"]).timestamp() - stopped) < 2
    entries = steps_vars(report, "why_now")["change_entries"]
    stop = next(e for e in entries if e["source"] == lab.phpfpm_log)
    assert stop["explains"] == ["php_fpm_down"]
    assert stop["after_failure"] is False  # it came before the 502 nginx logged
    start = next(e for e in entries
                 if e["what"] == f"PHP-FPM's master process ({lab.php_pid}) started")
    assert start["after_failure"] is True and start["explains"] == []


def test_a_healthy_lab_that_nothing_changed_lists_nothing_of_its_own(
        make_lab: MakeLab) -> None:
    lab = make_lab(start_nginx=False, start_php=False)
    backdate(lab)
    lab.start_php()
    lab.start_nginx()

    code, report = diagnose(lab, "/index.php")

    assert code == 0 and report["causes"] == [], explain(report)
    assert lab_changes(report, lab) == []
    # what is left is the host's own history and the two servers just started, none of
    # it tied to a cause (there is none)
    assert all(c["explains"] == [] for c in report["changes"])
    whats = [c["what"] for c in report["changes"]]
    assert f"nginx's master process ({lab.nginx_pid}) started" in whats
    assert f"PHP-FPM's master process ({lab.php_pid}) started" in whats
