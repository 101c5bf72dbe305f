"""The team runbook of docs/writing-flows.md, used as a team would: copied into a folder of
its own, it is listed, linted, tested with `flows test` and walked headless; and the page
says what the code does (its excerpts are the real file, its tables the real checks,
fixes and causes)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from wizard.causes import CAUSES
from wizard.checks import load_all as load_checks
from wizard.fixes import load_all as load_fixes
from wizard.flow.loader import load_flow

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
EXAMPLE = DOCS / "examples" / "shop-runbook.yaml"
EXAMPLE_TESTS = DOCS / "examples" / "shop-runbook.tests"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True,
                          text=True, timeout=120, check=False, cwd=REPO,
                          env={**os.environ, "XDG_CONFIG_HOME": "/nonexistent"})


def team_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder)
    shutil.copytree(EXAMPLE_TESTS, folder / EXAMPLE_TESTS.name)
    return folder


def test_the_team_flow_is_listed_linted_and_tested(tmp_path: Path) -> None:
    folder = team_folder(tmp_path)
    flow = folder / "shop-runbook.yaml"

    listed = json.loads(cli("flows", "list", "--flows", str(folder), "--format", "json").stdout)
    shop = [row for row in listed if row["name"] == "shop-runbook"]
    assert shop == [{"name": "shop-runbook", "source": "--flows", "path": str(flow),
                     "used": True, "overridden_by": None, "flow": "shop-runbook",
                     "title": "The shop answers 502 or 504", "nodes": 10, "errors": []}]

    linted = cli("flows", "lint", str(flow))
    assert linted.returncode == 0
    assert linted.stdout == f"{flow}: ok (10 nodes)\n"

    tested = cli("flows", "test", str(folder))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.splitlines() == [
        "ok    shop-runbook: PHP-FPM is stopped (found: php_fpm_down)",
        "ok    shop-runbook: a slow page, and the on-call says it waits on the database "
        "(found: upstream_timeout)",
        "ok    shop-runbook: the same slow page, nobody answering (found: upstream_timeout)",
        "3 case(s): 3 ok, 0 failed"]


def walk(folder: Path, *answers: str) -> tuple[int, dict[str, Any]]:
    snapshot = folder / "shop-runbook.tests" / "slow-report.json"
    url = json.loads(snapshot.read_text())["options"]["url"]
    args = [arg for answer in answers for arg in ("--answer", answer)]
    done = cli("diagnose", "--flows", str(folder), "--flow", "shop-runbook",
               "--from-snapshot", str(snapshot), "--url", url, "--format", "json",
               "--transcript", str(folder / "transcript.json"), *args)
    return done.returncode, json.loads(done.stdout)


def test_the_team_flow_walks_headless_with_answers(tmp_path: Path) -> None:
    folder = team_folder(tmp_path)

    code, report = walk(folder, "deploy=yes", "database=yes")

    assert code == 1
    steps = {step["node"]: step for step in report["steps"]}
    assert steps["deploy"]["summary"] == "Yes, in the last hour"
    assert steps["rollback"]["summary"].startswith("Roll the deploy back before looking")
    # The info step's placeholders come from the slow log's step before it.
    assert "the slow log caught: " in steps["page_dba"]["summary"]
    assert "report.php was in sleep() at " in steps["page_dba"]["summary"]
    assert report["causes"][0]["id"] == "upstream_timeout"


def test_without_answers_the_questions_take_their_safe_default(tmp_path: Path) -> None:
    folder = team_folder(tmp_path)

    _, report = walk(folder)

    steps = {step["node"]: step for step in report["steps"]}
    # The shop failed, so the deploy question was worth asking: "no" was assumed.
    assert steps["deploy"]["summary"] == "No, or I do not know"
    assert "rollback" not in steps and "page_dba" not in steps
    assert [c["id"] for c in report["causes"]] == ["upstream_timeout"]


# -- the page says what the code does -------------------------------------------------------

PAGE = (DOCS / "writing-flows.md").read_text(encoding="utf-8")


def test_every_yaml_excerpt_is_part_of_the_shipped_example() -> None:
    shipped = EXAMPLE.read_text() + (EXAMPLE_TESTS / "cases.yaml").read_text()
    excerpts = re.findall(r"```yaml\n(.*?)```", PAGE, flags=re.S)
    assert len(excerpts) >= 5
    for excerpt in excerpts:
        assert excerpt in shipped, excerpt


def table_rows(heading: str) -> dict[str, str]:
    """`name` -> second column of the table under a heading of the page."""
    section = PAGE.split(heading, 1)[1].split("\n#", 1)[0]
    return dict(re.findall(r"^\| `([^`]+)` \| ([^|]+) \|", section, flags=re.M))


def test_the_check_table_gives_each_checks_real_results() -> None:
    rows = table_rows("### The checks you can use")
    checks = load_checks()
    for name, results in rows.items():
        assert name in checks, name
        assert results.strip() == ", ".join(checks[name].results), name
    used = {node.check for path in (REPO / "flows").glob("*.yaml")
            for node in load_flow(path).nodes if node.check}
    assert used <= set(rows), used - set(rows)


def test_the_fix_table_gives_each_actions_real_arguments() -> None:
    rows = table_rows("## Fixes")
    actions = load_fixes()
    for name, arguments in rows.items():
        action = actions[name]
        optional = f", [{', '.join(action.optional)}]" if action.optional else ""
        assert arguments.strip() == ", ".join(action.params) + optional, name


def test_the_cause_table_gives_each_cause_its_real_title() -> None:
    rows = table_rows("## Causes")
    assert {name: title.strip() for name, title in rows.items()} == {
        cause_id: cause.title for cause_id, cause in CAUSES.items()}
