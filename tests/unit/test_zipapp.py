"""The one-file nginx-502-wizard.pyz (issue 13), built by the real .ci/build-zipapp.

It must carry what every supported host needs, and a Python that cannot run the wizard
(or no Python at all) must get one line naming what to install on that distro, exit 2,
never a traceback. The distro comes from /etc/os-release: tests put another release's
file there with a bind mount in a private mount namespace (`unshare --mount`), so the
host's own file is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.support import require
from tests.zipapp_support import built_zipapp, clean_env, copy_to_fresh_folder, pyenv_python

VERSIONS = ("39", "310", "311", "312", "313")  # the CPython versions issue 13 names
ARCHES = ("x86_64", "aarch64")

# Typed by hand: the ID, ID_LIKE, VERSION_ID and NAME lines of each release's
# /etc/os-release, as those releases ship them. Each with the line the wizard must print.
RELEASES = {
    "debian-12": ('ID=debian\nVERSION_ID="12"\nNAME="Debian GNU/Linux"\n',
                  "apt-get install python3, then run: python3 "),
    "ubuntu-20.04": ('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="20.04"\nNAME="Ubuntu"\n',
                     "apt-get install python3.9, then run: python3.9 "),
    "rocky-8": ('ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="8.9"\n'
                'NAME="Rocky Linux"\n', "dnf install python39, then run: python3.9 "),
    "almalinux-9": ('ID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n'
                    'NAME="AlmaLinux"\n', "dnf install python3, then run: python3 "),
    "amzn-2023": ('ID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\nNAME="Amazon Linux"\n',
                  "dnf install python3, then run: python3 "),
    "centos-7": ('ID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\nNAME="CentOS Linux"\n',
                 "CentOS Linux 7 packages no Python that new"),
    "alpine-3.19": ('ID=alpine\nVERSION_ID=3.19.1\nNAME="Alpine Linux"\n',
                    "apk add python3, then run: python3 "),
    "arch": ('ID=arch\nBUILD_ID=rolling\nNAME="Arch Linux"\n',
             "pacman -S python, then run: python3 "),
    "opensuse-leap-15.5": ('ID="opensuse-leap"\nID_LIKE="suse opensuse"\nVERSION_ID="15.5"\n'
                           'NAME="openSUSE Leap"\n',
                           "zypper install python311, then run: python3.11 "),
}


@pytest.fixture(scope="module")
def pyz() -> Path:
    return built_zipapp()


def as_release(release: str, argv: list[str], tmp_path: Path,
               env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run argv with /etc/os-release showing `release` (see RELEASES) to it alone."""
    require(os.geteuid() == 0, "needs root to bind-mount a test /etc/os-release")
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    require(unshare is not None and mount is not None, "needs util-linux unshare and mount")
    fake = tmp_path / "os-release"
    fake.write_text(RELEASES[release][0])
    mount_then_exec = ("import os, subprocess, sys\n"
                       "subprocess.run([sys.argv[1], '--bind', sys.argv[2], '/etc/os-release'],"
                       " check=True)\nos.execve(sys.argv[3], sys.argv[3:], os.environ)\n")
    python = pyenv_python("3.11")  # any Python 3 runs the two lines above
    return subprocess.run([str(unshare), "--mount", "--", python, "-c", mount_then_exec,
                           str(mount), str(fake), *argv],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def assert_one_line(done: subprocess.CompletedProcess[str], expected: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "nginx-502-wizard needs Python 3.9" in lines[0]
    assert expected in lines[0]


def test_the_file_carries_compiled_parts_for_every_cpython_and_arch(pyz: Path) -> None:
    names = zipfile.ZipFile(pyz).namelist()
    for arch in ARCHES:
        assert any(re.search(rf"^\.deps/psutil-[^/]*{arch}[^/]*\.whl/psutil/_psutil_linux"
                             r"\.abi3\.so$", name) for name in names), f"psutil for {arch}"
        for version in VERSIONS:
            # PyYAML's C loader per version; its pure-Python modules sit beside it
            wheel = rf"^\.deps/pyyaml-[^/]*-cp{version}-cp{version}-[^/]*{arch}[^/]*\.whl/"
            assert any(re.search(wheel + rf"yaml/_yaml\.cpython-{version}-{arch}-linux-gnu\.so$",
                                 name) for name in names), f"PyYAML for cp{version} {arch}"
            assert any(re.search(wheel + r"yaml/loader\.py$", name) for name in names)
    own = [n for n in names if re.search(r"^\.deps/nginx_502_wizard-[^/]+\.whl/wizard/", n)]
    assert any(n.endswith("/wizard/flows/nginx-502.yaml") for n in own)
    assert any(n.endswith("/wizard/flows/flow.schema.json") for n in own)


def test_the_file_is_a_sh_script_in_front_of_a_zip(pyz: Path) -> None:
    head = pyz.read_bytes()[:4096]
    assert head.startswith(b"#!/bin/sh\n")
    assert os.access(pyz, os.X_OK)
    main = zipfile.ZipFile(pyz).read("__main__.py").decode()
    # the interpreter check is the first code pex's bootstrap runs
    code = [line for line in main.splitlines() if line.strip() and not line.startswith("#")]
    assert code[0].startswith("import nginx_502_wizard_python_check")
    assert code[1] == "nginx_502_wizard_python_check.require_supported_python()"


@pytest.mark.parametrize("series", ["2.7", "3.6", "3.8"])
def test_an_old_python_says_what_to_install_in_one_line(pyz: Path, series: str,
                                                         tmp_path: Path) -> None:
    fresh = copy_to_fresh_folder(pyz, tmp_path / "fresh")
    done = subprocess.run([pyenv_python(series), str(fresh), "diagnose"],
                          env=clean_env(tmp_path / "home"), cwd=fresh.parent,
                          capture_output=True, text=True, timeout=60, check=False)
    assert_one_line(done, f"and this is Python {series}.")


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_the_line_names_the_command_of_that_distro(pyz: Path, release: str,
                                                   tmp_path: Path) -> None:
    done = as_release(release, [pyenv_python("3.8"), str(pyz), "diagnose"], tmp_path,
                      clean_env(tmp_path / "home"))
    assert_one_line(done, RELEASES[release][1])


@pytest.mark.parametrize(("release", "command"), [
    ("alpine-3.19", "apk add python3"), ("rocky-8", "dnf install python39"),
    ("debian-12", "apt-get install python3"), ("arch", "pacman -S python")])
def test_with_no_python_at_all_the_sh_part_says_it(pyz: Path, release: str, command: str,
                                                    tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    done = as_release(release, ["/bin/sh", str(pyz), "diagnose"], tmp_path,
                      {"PATH": str(empty), "HOME": str(tmp_path)})
    assert_one_line(done, f"this system has none. Install it with: {command}")


def test_the_sh_part_starts_a_new_enough_python3_x_when_python3_is_old(
        pyz: Path, tmp_path: Path) -> None:
    """Like RHEL 8 with python39 installed beside its python3 3.6."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(pyenv_python("3.8"))
    (bin_dir / "python3.9").symlink_to(pyenv_python("3.9"))
    home = tmp_path / "home"
    # only these two: the host's own /usr/bin/python3.X must not be the one found
    env = clean_env(home, PATH=str(bin_dir))
    done = subprocess.run(["/bin/sh", str(pyz), "--version"], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("nginx-502-wizard ")
    # pex made its venv for the Python that ran the wizard
    assert list(home.glob(".cache/pex/venvs/**/lib/python3.9")), done.stderr
