"""`flows test`: the test cases a flow ships (NAME.tests/cases.yaml) are replayed through
the real engine over recorded facts, one result line per case; exit 0 when all pass, 1
when a case fails, 2 on bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = REPO / "tests" / "unit" / "data" / "snapshots"
# A small runbook over real checks: the fix-less minimum a team might start with.
RUNBOOK = """\
flow: runbook
title: A small runbook
start: php
nodes:
  - id: php
    kind: check
    check: phpfpm.running
    title: PHP-FPM running
    on:
      stopped: {text: "PHP-FPM is stopped.", cause: php_fpm_down, next: traffic}
    default: {text: "{summary}", next: traffic}
  - id: traffic
    kind: ask
    title: Traffic
    question: More visitors than usual?
    default_choice: "no"
    choices:
      - {key: "no", label: "No, or I do not know", next: done}
      - {key: "yes", label: "Yes", cause: php_fpm_saturated, next: done}
  - id: done
    kind: end
    title: Done
    text: Done.
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True,
                          text=True, timeout=120, check=False, cwd=REPO,
                          env={**os.environ, "XDG_CONFIG_HOME": "/nonexistent"})


def runbook(tmp_path: Path, cases: list[dict[str, object]], text: str = RUNBOOK) -> Path:
    """A flow in tmp_path with these cases, replaying the recorded PHP-FPM-stopped host."""
    flow = tmp_path / "runbook.yaml"
    flow.write_text(text)
    folder = tmp_path / "runbook.tests"
    folder.mkdir()
    shutil.copy(SNAPSHOTS / "php-fpm-stopped.json", folder / "stopped.json")
    (folder / "cases.yaml").write_text(yaml.safe_dump({"cases": cases}, sort_keys=False))
    return flow


def test_the_built_in_flows_pass_their_own_cases() -> None:
    done = cli("flows", "test")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("ok    nginx-502: PHP-FPM is stopped") for line in lines)
    assert any(line.startswith("ok    nginx-504: a proxied app that never answers (found: "
                               "upstream_timeout)") for line in lines)
    results = [line for line in lines if line.startswith(("ok", "FAIL"))]
    assert len(results) >= 16 and all(line.startswith("ok") for line in results)
    assert lines[-1] == f"{len(results)} case(s): {len(results)} ok, 0 failed"


def test_a_passing_case_and_its_must_not_fire_twin(tmp_path: Path) -> None:
    flow = runbook(tmp_path, [
        {"name": "stopped", "snapshot": "stopped.json", "expect_first": "php_fpm_down",
         "expect_not": ["php_fpm_saturated"], "exit": 1},
        {"name": "stopped, traffic rose", "snapshot": "stopped.json",
         "answers": {"traffic": "yes"}, "expect": ["php_fpm_down", "php_fpm_saturated"]},
    ])
    done = cli("flows", "test", str(flow))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "ok    runbook: stopped (found: php_fpm_down)",
        "ok    runbook: stopped, traffic rose (found: php_fpm_down, php_fpm_saturated)",
        "2 case(s): 2 ok, 0 failed"]


def test_a_failing_case_says_why_and_where(tmp_path: Path) -> None:
    runbook(tmp_path, [
        {"name": "wrong first", "snapshot": "stopped.json", "expect_first": "upstream_timeout"},
        {"name": "must not fire", "snapshot": "stopped.json", "expect_not": ["php_fpm_down"]},
        {"name": "missing", "snapshot": "stopped.json",
         "expect": ["php_fpm_saturated", "upstream_down"], "exit": 0},
    ])
    cases = tmp_path / "runbook.tests" / "cases.yaml"
    done = cli("flows", "test", str(cases))  # the cases file names its flow too
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "FAIL  runbook: wrong first: expected upstream_timeout first, but php_fpm_down came "
        f"first (found: php_fpm_down; {cases}:2)",
        "FAIL  runbook: must not fire: php_fpm_down must not be found, but it was "
        f"(found: php_fpm_down; {cases}:5)",
        "FAIL  runbook: missing: expected php_fpm_saturated, upstream_down among the causes, "
        f"but they were not found; expected exit code 0, got 1 (found: php_fpm_down; {cases}:9)",
        "3 case(s): 0 ok, 3 failed"]


def test_a_walk_that_cannot_finish_fails_its_case(tmp_path: Path) -> None:
    no_default = RUNBOOK.replace('    default_choice: "no"\n', "")
    flow = runbook(tmp_path, [{"name": "unanswered", "snapshot": "stopped.json",
                               "expect_first": "php_fpm_down"}], text=no_default)
    done = cli("flows", "test", str(flow))
    assert done.returncode == 1
    assert ("the walk did not finish: the question 'traffic' needs an answer "
            "(--answer traffic=KEY)") in done.stdout


def test_bad_cases_are_bad_input_with_file_and_line(tmp_path: Path) -> None:
    flow = runbook(tmp_path, [
        {"name": "typo", "snapshot": "stopped.json", "expect_first": "php_fpm_dwon"},
        {"name": "no snapshot", "snapshot": "gone.json", "expect": ["php_fpm_down"]},
        {"name": "no such question", "snapshot": "stopped.json", "answers": {"deploy": "yes"},
         "expect": ["php_fpm_down"]},
        {"name": "nothing expected", "snapshot": "stopped.json"},
    ])
    cases = tmp_path / "runbook.tests" / "cases.yaml"
    done = cli("flows", "test", str(flow))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{cases}:2: unknown cause id 'php_fpm_dwon'",
        f"{cases}:5: snapshot gone.json not found next to cases.yaml",
        f"{cases}:9: answers: the flow has no question 'deploy'",
        f"{cases}:15: case 'nothing expected' expects nothing: give expect_first, expect, "
        "expect_not or exit"]


def test_a_flow_named_without_cases_is_bad_input(tmp_path: Path) -> None:
    flow = tmp_path / "runbook.yaml"
    flow.write_text(RUNBOOK)
    done = cli("flows", "test", str(flow))
    assert done.returncode == 2
    assert done.stderr.startswith(f"{flow}: no test cases (expected them in "
                                  f"{tmp_path / 'runbook.tests' / 'cases.yaml'})")
    # Found in a folder instead, it is listed as having none; with no case run at all,
    # that is still bad input for a CI job.
    done = cli("flows", "test", str(tmp_path))
    assert done.returncode == 2
    assert done.stdout.splitlines() == [f"none  runbook: no test cases ({flow})"]
