"""The one file, copied alone to a fresh folder, diagnoses a real broken site with no
network and nothing else installed (issue 13).

The lab's nginx runs inside a new network namespace that has only loopback; the .pyz runs
in there too, on pyenv's CPython 3.9 and 3.13, isolated (`-I`, PYTHONNOUSERSITE, a new HOME
so pex unpacks into an empty cache, started from the fresh folder). Nothing outside the
file can be imported and nothing could be downloaded, so a right answer proves the file
carries everything. PHP-FPM is down: its socket is a file, which nginx in the namespace
would reach like any other.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.lab.harness import Lab, require_lab
from tests.lab.scenario_support import explain, in_netns, network_namespace, run
from tests.zipapp_support import built_zipapp, clean_env, copy_to_fresh_folder, pyenv_python

pytestmark = pytest.mark.root
WIZARD_TIMEOUT = 300.0  # the first run makes pex's venv, then the whole diagnosis


def diagnose(netns: str, python: str, pyz: Path, lab: Lab,
             home: Path) -> tuple[int, dict[str, Any], str]:
    """`diagnose --format json` on the lab, run by the .pyz inside the namespace."""
    argv = [python, "-I", str(pyz), "diagnose", "--format", "json",
            "--nginx-conf", lab.nginx_conf, "--since", "10m", "--check-timeout", "30",
            "--url", f"http://127.0.0.1:{lab.port}/index.php"]
    done = subprocess.run(in_netns(netns, argv), env=clean_env(home), cwd=pyz.parent,
                          capture_output=True, text=True, timeout=WIZARD_TIMEOUT, check=False)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"no JSON (exit {done.returncode}):\n{done.stdout[-2000:]}\n"
                             f"{done.stderr[-3000:]}") from None
    return done.returncode, report, done.stderr


@pytest.mark.parametrize("series", ["3.9", "3.13"])
def test_the_copied_file_finds_php_fpm_down_offline(series: str, tmp_path: Path) -> None:
    require_lab()
    python = pyenv_python(series)
    pyz = copy_to_fresh_folder(built_zipapp(), tmp_path / "fresh")
    with network_namespace() as netns:
        links = run(in_netns(netns, ["ip", "-o", "link", "show"])).stdout.splitlines()
        assert [line.split(":")[1].strip() for line in links] == ["lo"]
        with Lab(netns=netns, start_php=False) as lab:
            code, report, stderr = diagnose(netns, python, pyz, lab, tmp_path / "home")
    assert report["causes"], explain(report)
    assert report["causes"][0]["id"] == "php_fpm_down", explain(report)
    assert code == 1, f"exit {code}\n{explain(report)}\n{stderr[-2000:]}"
    assert report["flow"] == "nginx-502"
    assert "Traceback" not in stderr, stderr[-3000:]
    # pex unpacked into the fresh HOME, for this very Python
    assert list((tmp_path / "home").glob(f".cache/pex/venvs/**/lib/python{series}"))
