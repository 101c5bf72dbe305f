"""The one-file nginx-502-wizard.pyz for tests: built once per test session with the real
.ci/build-zipapp (its wheels are cached under ~/.cache, so later sessions build offline),
and the pyenv interpreters (2.7 ... 3.13) the tests start it with."""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support import require

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 1800.0  # a cold build downloads ~30 wheels from PyPI
_built: list[Path] = []  # this session's build, made on first use


def built_zipapp() -> Path:
    """The .pyz built from this checkout (once per session; removed when it ends)."""
    if _built:
        return _built[0]
    require(importlib.util.find_spec("pex") is not None,
            "pex is missing (dev extra: .venv/bin/pip install -e '.[dev]')")
    folder = Path(tempfile.mkdtemp(prefix="n502-pyz-"))
    atexit.register(shutil.rmtree, folder, True)
    output = folder / "nginx-502-wizard.pyz"
    done = subprocess.run([sys.executable, str(ROOT / ".ci" / "build-zipapp"),
                           "--output", str(output)],
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    _built.append(output)
    return output


def pyenv_python(series: str) -> str:
    """pyenv's interpreter of that series ("2.7", "3.9" ...); skips (fails in CI) without."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = sorted(root.glob(f"versions/{series}.*/bin/python"))
    require(bool(found), f"pyenv has no Python {series} (under {root}/versions)")
    return str(found[-1])


def copy_to_fresh_folder(pyz: Path, folder: Path) -> Path:
    """The file alone in a new folder, as an admin's scp leaves it."""
    folder.mkdir(parents=True)
    return Path(shutil.copy2(pyz, folder / pyz.name))


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A login-like environment with nothing from this checkout or the test run: a new
    HOME (so pex unpacks into a fresh cache), no PYTHONPATH, no user site-packages."""
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(home), "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", **extra}
