"""A plain (non-editable) install carries the built-in flows and finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_flows_and_finds_them_when_installed(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("nginx_502_wizard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "wizard/flows/nginx-502.yaml" in names
    assert "wizard/flows/flow.schema.json" in names
    assert "wizard/py.typed" in names

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = ("from wizard.flow.library import builtin_flow_dir, find_flow;"
             "print(builtin_flow_dir()); print(find_flow('nginx-502').flow)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(site / "wizard" / "flows"), "nginx-502"]
