"""`flows list`: every flow file found, where it came from (built-in, system, user,
--flows), and which file each name resolves to when a later folder overrides it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TEAM_502 = """\
flow: nginx-502
title: The team's own 502 runbook
start: hello
nodes:
  - id: hello
    kind: end
    title: Done
    text: Call the on-call engineer.
"""


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True,
                          text=True, timeout=120, check=False, cwd=REPO,
                          env={**os.environ, **(env or {})})


def listed(*args: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    done = cli("flows", "list", "--format", "json", *args, env=env)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_the_built_in_flows_are_listed_as_built_in_and_used(tmp_path: Path) -> None:
    rows = listed(env={"XDG_CONFIG_HOME": str(tmp_path)})
    by_name = {row["name"]: row for row in rows if row["source"] == "built-in"}
    assert set(by_name) >= {"nginx-502", "nginx-504"}
    assert by_name["nginx-504"]["title"] == "nginx answers 504 Gateway Time-out"
    assert all(row["used"] and row["overridden_by"] is None for row in by_name.values())


def test_a_later_folder_overrides_a_name_and_the_list_says_which_file_is_used(
        tmp_path: Path) -> None:
    user = tmp_path / "config" / "nginx-502-wizard" / "flows"
    user.mkdir(parents=True)
    (user / "shop.yaml").write_text(TEAM_502.replace("nginx-502", "shop"))
    team = tmp_path / "team"
    team.mkdir()
    (team / "nginx-502.yaml").write_text(TEAM_502)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}

    rows = [row for row in listed("--flows", str(team), env=env)
            if row["name"] in ("nginx-502", "shop")]

    assert [(row["name"], row["source"], row["used"]) for row in rows] == [
        ("nginx-502", "--flows", True), ("nginx-502", "built-in", False),
        ("shop", "user", True)]
    assert rows[1]["overridden_by"] == str(team / "nginx-502.yaml")
    text = cli("flows", "list", "--flows", str(team), env=env).stdout
    assert f"not used: `--flow nginx-502` picks {team / 'nginx-502.yaml'} (--flows)" in text
    # The name really resolves to the team's file.
    done = cli("diagnose", "--flows", str(team), "--flow", "nginx-502", "--format", "json",
               env=env)
    report = json.loads(done.stdout)
    assert [step["node"] for step in report["steps"]] == ["hello"]


def test_a_broken_flow_is_listed_as_broken_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("flow: broken\nstart: a\nnodes: {}\n")
    done = cli("flows", "list", "--flows", str(tmp_path))
    assert done.returncode == 2
    line = next(line for line in done.stdout.splitlines() if line.startswith("broken"))
    assert line.split()[1:3] == ["broken", "--flows"]
    assert f"{tmp_path / 'broken.yaml'}:3: flow.nodes must be a list" in done.stderr


def test_the_wheel_carries_the_504_flow_but_not_the_test_cases(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("nginx_502_wizard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "wizard/flows/nginx-504.yaml" in names
    # The cases replay snapshots recorded in this repository: they stay out of the wheel.
    assert not [name for name in names if ".tests/" in name]
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    done = subprocess.run([sys.executable, "-m", "wizard", "flows", "list", "--format", "json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin",
                                            "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {(r["name"], r["path"]) for r in rows if r["source"] == "built-in"} == {
        ("nginx-502", str(site / "wizard" / "flows" / "nginx-502.yaml")),
        ("nginx-504", str(site / "wizard" / "flows" / "nginx-504.yaml"))}
