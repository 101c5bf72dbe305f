"""PHP-FPM's slow log as the nginx-504 flow reads it: entries in the time window only, each
with its script and stack, innermost call first."""

from __future__ import annotations

import time
from pathlib import Path

from wizard.host.facts import Facts
from wizard.host.phpfpm_slowlog import parse_entries, phpfpm_slowlog
from wizard.options import Options

# Written by php-fpm8.2 (Debian 12) on the lab of tests/lab/test_504_slow_upstream.py for a
# page that sleeps inside fetch_rates(), called from Report::build(). Recorded; only the
# lab folder was shortened to /srv/lab and the times are set by the test.
ENTRY = """
[{stamp}]  [pool www] pid 32046
script_filename = /srv/lab/www/report.php
[0x00007f3964015160] sleep() /srv/lab/www/report.php:3
[0x00007f3964015100] fetch_rates() /srv/lab/www/report.php:6
[0x00007f39640150a0] build() /srv/lab/www/report.php:7
"""


def stamp(epoch: float) -> str:
    return time.strftime("%d-%b-%Y %H:%M:%S", time.localtime(epoch))


def test_an_entry_is_its_script_and_stack_innermost_first() -> None:
    lines = ENTRY.format(stamp="30-Nov-2026 04:31:18").splitlines()
    # A tail read back into an older entry starts mid-stack: those lines are left out.
    entries = parse_entries(["[0x00007f39640150a0] build() /srv/lab/www/old.php:9", *lines],
                            "/srv/lab/logs/www.slow.log")
    assert entries == [{
        "source": "/srv/lab/logs/www.slow.log", "pool": "www", "pid": 32046,
        "epoch": time.mktime(time.strptime("30-Nov-2026 04:31:18", "%d-%b-%Y %H:%M:%S")),
        "time": "30-Nov-2026 04:31:18", "script": "/srv/lab/www/report.php",
        "frames": [{"call": "sleep()", "where": "/srv/lab/www/report.php:3"},
                   {"call": "fetch_rates()", "where": "/srv/lab/www/report.php:6"},
                   {"call": "build()", "where": "/srv/lab/www/report.php:7"}]}]


def test_the_fact_keeps_the_window_and_names_pools_without_a_slow_log(tmp_path: Path) -> None:
    now = time.time()
    log = tmp_path / "www.slow.log"
    log.write_text(ENTRY.format(stamp=stamp(now - 2 * 3600))
                   + ENTRY.format(stamp=stamp(now - 60)).replace("32046", "32047"))
    pools = [{"name": "www", "file": "/srv/lab/php-fpm.conf", "conf": "/srv/lab/php-fpm.conf",
              "slowlog": str(log), "request_slowlog_timeout": 1.0},
             {"name": "api", "file": "/srv/lab/api.conf", "conf": "/srv/lab/php-fpm.conf",
              "slowlog": None, "request_slowlog_timeout": 0.0}]
    facts = Facts.from_snapshot({"format": 1, "facts": {"phpfpm": {"pools": pools}}},
                                Options(since_seconds=3600))

    found = phpfpm_slowlog(facts)

    assert [entry["pid"] for entry in found["entries"]] == [32047]
    assert found["files"] == [{"path": str(log), "pools": ["www"], "timeout": 1.0,
                               "readable": True, "note": None}]
    assert [off["pool"] for off in found["off"]] == ["api"]
