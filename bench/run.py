"""Whole-process benchmarks: wall time and peak memory, medians over several runs, each
command side by side with a baseline measured in the same run.

    python bench/run.py [--runs 7] [--json OUT]

The baseline is a bare interpreter start, so the table shows what the wizard itself
adds. Live commands read this host; snapshot commands replay recorded facts, so their
numbers compare across machines and commits.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def measure(argv: list[str], stdin_path: str | None = None) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one run of argv, from wait4's rusage."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if stdin_path:
        stdin.close()  # type: ignore[union-attr]
    return wall, usage.ru_maxrss


def big_log(lines: int) -> str:
    """A large nginx error log of realistic lines for `explain`."""
    fd, path = tempfile.mkstemp(prefix="bench-error-", suffix=".log")
    line = ('2026/11/25 03:00:{s:02d} [error] 1234#1234: *{n} connect() to '
            'unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while '
            'connecting to upstream, client: 127.0.0.1, server: example.com, request: '
            '"GET /index.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:",'
            ' host: "example.com"\n')
    with os.fdopen(fd, "w") as fh:
        for n in range(lines):
            fh.write(line.format(s=n % 60, n=n))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    log = big_log(200_000)
    snapshot = HERE / "host-snapshot.json"
    cases: list[tuple[str, list[str], str | None]] = [
        ("baseline: python -c pass", [PY, "-c", "pass"], None),
        ("--version", [PY, "-m", "wizard", "--version"], None),
        ("flows lint", [PY, "-m", "wizard", "flows", "lint"], None),
        ("diagnose --from-snapshot", [PY, "-m", "wizard", "diagnose", "--from-snapshot",
                                      str(snapshot), "--format", "json"], None),
        ("diagnose (live host)", [PY, "-m", "wizard", "diagnose", "--format", "json"], None),
        ("explain 200k-line log", [PY, "-m", "wizard", "explain", "-", "--format", "json"], log),
    ]
    rows = []
    try:
        for name, argv, stdin_path in cases:
            samples = [measure(argv, stdin_path) for _ in range(args.runs)]
            rows.append({"case": name,
                         "median_s": statistics.median(s[0] for s in samples),
                         "median_rss_mib": statistics.median(s[1] for s in samples) / 1024})
    finally:
        os.unlink(log)
    base = rows[0]
    print(f"{'case':<28}{'median s':>10}{'x base':>8}{'RSS MiB':>10}{'x base':>8}")
    for row in rows:
        print(f"{row['case']:<28}{row['median_s']:>10.3f}"
              f"{row['median_s'] / base['median_s']:>8.1f}{row['median_rss_mib']:>10.1f}"
              f"{row['median_rss_mib'] / base['median_rss_mib']:>8.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": args.runs, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
