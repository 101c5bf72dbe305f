"""Hostile hosts, part two (issue 12): an nginx that was never started, a person without
root, a host without the network tools, a state folder with no space left. Each runs the
real command, `python -m wizard diagnose --format json`, against a real lab and asserts
what the person reads (tests/lab/test_hostile_hosts.py has part one).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.harness import Lab
from tests.lab.scenario_support import REPO, assert_first_cause, diagnose, explain
from tests.support import require
from tests.tui.states import wait_for as wait_in_app
from wizard.flow.library import find_flow
from wizard.host.facts import Facts
from wizard.tui.app import WizardApp
from wizard.tui.screens.verdict import VerdictScreen

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root
FINISHES_WITHIN = 120.0  # a whole diagnosis on a busy 2-core machine


def step(report: dict[str, Any], node: str) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["node"] == node)


def run(argv: list[str], env: dict[str, str] | None = None,
        cwd: str | Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=FINISHES_WITHIN,
                          check=False, cwd=cwd, env=env)


def wizard_argv(lab: Lab, path: str, fmt: str = "json") -> list[str]:
    return ["-m", "wizard", "diagnose", "--format", fmt, "--nginx-conf", lab.nginx_conf,
            "--since", "10m", "--url", lab.url(path)]


# A proxied API on a port nobody listens on: its cause (upstream_down) does not depend on
# the firewall tools, the state folder, or which other PHP-FPM runs on the host.
PROXY_TO_CLOSED_PORT = {"php": False, "php_location": False,
                        "locations": "        location /api/ "
                                     "{ proxy_pass http://127.0.0.1:{closed_port}; }"}


def broken_lab(make_lab: MakeLab) -> Lab:
    lab = make_lab(**PROXY_TO_CLOSED_PORT)
    assert lab.request("/api/items")[0] == 502
    return lab


def refused(lab: Lab) -> tuple[str, str]:
    return ("probe", f"127.0.0.1 port {lab.closed_port}: connection refused")


def report_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert "Traceback" not in done.stderr, done.stderr
    try:
        return dict(json.loads(done.stdout))
    except ValueError:
        raise AssertionError(f"no JSON (exit {done.returncode}):\n{done.stdout[-2000:]}\n"
                             f"{done.stderr[-2000:]}") from None


# -- 1. installed, never started -----------------------------------------------------------

def test_nginx_installed_but_never_started_is_named_and_starting_it_is_offered(
        make_lab: MakeLab) -> None:
    """Never started: no master, no pid file, no log yet. While another nginx runs on the
    host (another site; on a test machine another lab), which once passed for this one.
    test_scenarios.py::test_nginx_stopped_is_nginx_not_running is the same break with no
    other nginx around, and does not look at the fix."""
    other = make_lab(php=False, php_location=False)  # another nginx, its own config
    lab = make_lab(start_nginx=False)
    assert not (lab.prefix / "nginx.pid").exists()
    assert not Path(lab.error_log).exists() and not Path(lab.access_log).exists()
    with pytest.raises(ConnectionRefusedError):
        lab.request("/index.php")

    code, report = diagnose(lab, "/index.php")

    cause = assert_first_cause(code, report, "nginx_not_running",
                               ("process", "no process named nginx: master runs with "
                                           f"{lab.nginx_conf}"),
                               ("process", f"pid {other.nginx_pid}: nginx: master process"))
    running = step(report, "nginx_running")
    assert running["status"] == "problem"
    assert running["summary"].startswith(f"no nginx master process runs with {lab.nginx_conf}")
    assert "with other config" in running["summary"] \
        or "another nginx runs with another config" in running["summary"], running
    starts = [f for f in cause["fixes"] if f["id"].startswith("service.start")]
    assert starts and "nginx" in json.dumps(starts[0]["commands"]), cause["fixes"]
    assert "nginx runs but nothing listens" not in json.dumps(report), explain(report)


# -- 2. an unprivileged user ---------------------------------------------------------------

STATE_OF: dict[str, str] = {}  # user -> its XDG_STATE_HOME


@pytest.fixture
def plain_user() -> Iterator[str]:
    """A real user with no sudo, no groups, no home; removed afterwards."""
    require(os.geteuid() == 0, "creating a test user needs root")
    for tool in ("useradd", "userdel", "runuser"):
        require(shutil.which(tool) is not None, f"{tool} is missing (Debian: passwd, "
                                                "util-linux)")
    name = f"n502u{uuid.uuid4().hex[:8]}"
    made = run(["useradd", "--no-create-home", "--home-dir", "/nonexistent",
                "--shell", "/usr/sbin/nologin", name])
    assert made.returncode == 0, made.stderr
    uid = pwd.getpwnam(name).pw_uid
    # Its records' folder: pytest's tmp_path is root's only, and the wizard would fall
    # back to a folder of its own in /tmp.
    state = tempfile.mkdtemp(prefix="n502state-")
    shutil.chown(state, name)
    STATE_OF[name] = state
    try:
        yield name
    finally:
        STATE_OF.pop(name, None)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(f"{tempfile.gettempdir()}/nginx-502-wizard-{uid}", ignore_errors=True)
        run(["userdel", "--force", name])


def runuser() -> str:
    """Its full path: the user's environment below has a PATH without the sbin folders."""
    return shutil.which("runuser") or "/usr/sbin/runuser"


def python_for(user: str) -> tuple[str, dict[str, str]]:
    """An interpreter that user may run, with this checkout and the venv's packages on its
    path. The venv's own python may live under /root (pyenv), which others cannot enter;
    the system's python of the same version then loads the same packages."""
    site = next(p for p in sys.path if p.endswith("site-packages"))
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONPATH": f"{REPO}:{site}"}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        tried = run([runuser(), "-u", user, "--", candidate, "-c", "import psutil, textual"],
                    env=env, cwd="/")
        if tried.returncode == 0:
            return candidate, env
    pytest.skip(f"no {version} that {user} may run (Debian: {version})")


ROOT_ONLY_CONFIG = ("nginx.conf", "fastcgi_params", "php-fpm.conf")


def lock_down(lab: Lab, config_readable: bool) -> None:
    """Before the lab starts: its config files move into a folder only root may enter
    (`etc/`, 0700; the old names become links into it, so nginx and PHP-FPM, as root,
    start as before), its logs folder becomes root's only (0700). PHP-FPM's socket stays
    www-data's (0660), so nobody else may connect. With config_readable only PHP-FPM's
    config moves: nginx's stays world-readable, as Debian installs /etc/nginx."""
    private = lab.prefix / "etc"
    private.mkdir(mode=0o700)
    moved = ("php-fpm.conf",) if config_readable else ROOT_ONLY_CONFIG
    for name in moved:
        (lab.prefix / name).rename(private / name)
        (lab.prefix / name).symlink_to(private / name)
    (lab.prefix / "logs").chmod(0o700)


def locked_lab(make_lab: MakeLab, config_readable: bool) -> Lab:
    lab = make_lab(start_nginx=False, start_php=False)
    lock_down(lab, config_readable)
    lab.start_php()
    lab.start_nginx()
    assert lab.request("/index.php") == (200, "hello from php-fpm")  # healthy for nginx
    return lab


def diagnose_as(user: str, lab: Lab, fmt: str = "json") -> subprocess.CompletedProcess[str]:
    python, env = python_for(user)
    env["XDG_STATE_HOME"] = STATE_OF[user]
    return run([runuser(), "-u", user, "--", python, *wizard_argv(lab, "/index.php", fmt)],
               env=env, cwd="/")


def assert_denials_said(report: dict[str, Any], *unknown: tuple[str, str]) -> None:
    for node, words in unknown:
        found = step(report, node)
        assert found["status"] in ("unknown", "warning"), found
        assert words in found["summary"], found


def test_a_user_without_root_gets_findings_and_one_note_on_sudo(
        make_lab: MakeLab, plain_user: str) -> None:
    """nginx's config in a folder only root may enter; logs, PHP-FPM's socket and root's
    /proc entries (open files, limits) closed to this user. The lab itself is healthy."""
    lab = locked_lab(make_lab, config_readable=False)

    done = diagnose_as(plain_user, lab)

    report = report_of(done)
    assert report["causes"] == [], explain(report)  # nothing this user cannot see is blamed
    assert done.returncode == 0, explain(report)  # CONTRACTS.md: 0 nothing wrong found
    assert_denials_said(
        report,
        ("config_valid", "nginx -t needs root here"),
        ("config_valid", f"may not open {lab.nginx_conf}"),
        ("server_name", "not readable by this user (permission denied)"),
        ("firewall", "reading the firewall rules needs root"))
    note = report["sudo_note"]
    read = {item["fact"]: item["what"] for item in note["would_read"]}
    assert {"nginx", "firewall", "listening"} <= set(read), note
    assert lab.nginx_conf in read["nginx"]
    assert read["listening"] == "which program holds each port and socket"  # root's /proc fds
    assert note["text"].startswith("Not everything could be read as this user. With sudo")

    text = diagnose_as(plain_user, lab, fmt="text")

    assert "Traceback" not in text.stderr, text.stderr
    assert text.stdout.count("With sudo the wizard would also read") == 1, text.stdout
    assert "\n\nNot everything could be read as this user. With sudo the wizard would also " \
           f"read: nginx's configuration ({lab.nginx_conf})" in text.stdout, text.stdout


def test_a_user_without_root_on_a_debian_shaped_host_blames_nothing_it_cannot_see(
        make_lab: MakeLab, plain_user: str) -> None:
    """nginx's config readable (Debian's /etc/nginx is); its logs, PHP-FPM's config and
    socket are not. Before issue 12 this user was told of two causes that are not there:
    "nginx may not use the socket" (it was this user that was refused) and "nginx points
    at the wrong address" (the pool that listens there is in the config it may not read)."""
    lab = locked_lab(make_lab, config_readable=True)

    done = diagnose_as(plain_user, lab)

    report = report_of(done)
    assert report["causes"] == [], explain(report)
    assert done.returncode == 0, explain(report)
    conf = lab.prefix / "php-fpm.conf"
    assert_denials_said(
        report,
        ("nginx_log", f"{lab.error_log}: needs root to read"),
        ("listen_match", f"cannot read {conf}: Permission denied"),
        ("upstream_reachable", "run the wizard with sudo to connect as www-data"))
    read = {item["fact"]: item["what"] for item in report["sudo_note"]["would_read"]}
    assert lab.error_log in read["error_log_events"], read
    assert str(conf) in read["phpfpm"], read
    assert lab.php_socket and lab.php_socket in read["upstream_probes"], read


# -- 3. no ss, netstat, iptables or nft ----------------------------------------------------

HIDDEN = {"ss", "netstat", "nft"}
HIDDEN_PREFIXES = ("iptables", "ip6tables")  # iptables-save, iptables-nft, -legacy...
PROGRAM_DIRS = ("/usr/bin", "/usr/sbin")  # /bin and /sbin link here (merged /usr)


def hidden(name: str) -> bool:
    return name in HIDDEN or name.startswith(HIDDEN_PREFIXES)


def program_links(folder: Path, real_sbin: Path) -> list[str]:
    """Links to every program of /usr/bin and /usr/sbin but the hidden ones. Those of
    /usr/sbin point through real_sbin: in the namespace /usr/sbin is this folder."""
    folder.mkdir()
    made: list[str] = []
    for source in PROGRAM_DIRS:
        through = real_sbin if source == "/usr/sbin" else Path(source)
        for name in sorted(os.listdir(source)):
            if hidden(name) or (folder / name).exists():
                continue
            (folder / name).symlink_to(through / name)
            made.append(name)
    return made


# In a private mount namespace /usr/sbin becomes the folder of links: the wizard looks in
# the sbin folders as well as on PATH (a user's PATH often lacks them), so a PATH without
# the tools alone would not hide them.
WITHOUT_TOOLS = """\
set -e
mount --bind /usr/sbin "$1"
mount --bind "$2" /usr/sbin
shift 2
exec env PATH="$PATH_FOR_WIZARD" "$@"
"""


def test_no_ss_netstat_or_iptables_is_said_and_the_cause_is_still_found(
        make_lab: MakeLab, tmp_path: Path) -> None:
    require(shutil.which("unshare") is not None, "unshare (util-linux) is missing")
    lab = broken_lab(make_lab)
    real_sbin, links = tmp_path / "real-sbin", tmp_path / "bin"
    real_sbin.mkdir()
    made = program_links(links, real_sbin)
    assert {"nginx", "php-fpm8.2", "sh", "env", "mount"} <= set(made)
    assert not [name for name in os.listdir(links) if hidden(name)]
    env = {**os.environ, "PATH_FOR_WIZARD": str(links),
           "XDG_STATE_HOME": str(tmp_path / "state")}

    done = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", WITHOUT_TOOLS,
                "sh", str(real_sbin), str(links), sys.executable,
                *wizard_argv(lab, "/api/items")], env=env)

    report = report_of(done)
    firewall = step(report, "firewall")
    assert firewall["status"] == "unknown", firewall
    assert firewall["summary"].startswith(
        "could not check the firewall: iptables and nft are not installed"), firewall
    assert_first_cause(done.returncode, report, "upstream_down", refused(lab))


# -- 4. a state folder with no space left --------------------------------------------------

@pytest.fixture
def full_folder(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs filled to the last byte; the records' folder already made in it (so
    what fails is writing a record, as on a disk that filled up). Unmounted afterwards."""
    require(os.geteuid() == 0, "mounting a tmpfs needs root")
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(folder)])
    require(mounted.returncode == 0, f"mount -t tmpfs failed: {mounted.stderr.strip()}")
    try:
        (folder / "state" / "nginx-502-wizard").mkdir(parents=True, mode=0o700)
        filled = run(["dd", "if=/dev/zero", f"of={folder}/filler", "bs=4096"])
        assert "No space left on device" in filled.stderr, filled.stderr
        yield folder
    finally:
        unmounted = run(["umount", str(folder)])
        assert unmounted.returncode == 0, unmounted.stderr


def test_a_full_state_folder_costs_one_warning_line_not_the_diagnosis(
        make_lab: MakeLab, full_folder: Path, tmp_path: Path) -> None:
    lab = broken_lab(make_lab)
    roomy = run([sys.executable, *wizard_argv(lab, "/api/items")],
                env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "roomy")})
    full = {**os.environ, "XDG_STATE_HOME": str(full_folder / "state"),
            "TMPDIR": str(full_folder)}  # the fallback folder is on the full disk too

    done = run([sys.executable, *wizard_argv(lab, "/api/items")], env=full)

    report = report_of(done)
    assert done.stderr.splitlines() == [
        "nginx-502-wizard: transcript not saved: No space left on device"], done.stderr
    assert "transcript" not in report
    assert done.returncode == roomy.returncode == 1
    assert [c["id"] for c in report["causes"]] == [c["id"] for c in report_of(roomy)["causes"]]
    assert_first_cause(done.returncode, report, "upstream_down", refused(lab))
    left = sorted(p.name for p in (full_folder / "state" / "nginx-502-wizard").iterdir())
    assert not [name for name in left if name.endswith(".tmp")], left  # no half record


async def test_the_tui_on_a_full_state_folder_warns_once_and_walks_on(
        make_lab: MakeLab, full_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = broken_lab(make_lab)
    monkeypatch.setenv("XDG_STATE_HOME", str(full_folder / "state"))
    monkeypatch.setattr(tempfile, "tempdir", str(full_folder))
    options = lab.options(url=lab.url("/api/items"), since_seconds=600)
    app = WizardApp(find_flow("nginx-502"), Facts(options), check_timeout=20,
                    from_snapshot=False, fix_backend=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_in_app(pilot, lambda: isinstance(app.screen, VerdictScreen), 90)
        said = [note.message for note in app._notifications]
        assert (app.report or {})["causes"][0]["id"] == "upstream_down", explain(
            app.report or {})
        await pilot.press("q")
    warned = [m for m in said if "not being recorded" in m]
    assert warned == ["This session is not being recorded (the session record stopped: "
                      "No space left on device); the diagnosis goes on."], said
    assert app.return_code == 0
    with contextlib.suppress(FileNotFoundError):
        left = os.listdir(full_folder / "state" / "nginx-502-wizard")
        assert not [name for name in left if name.endswith(".tmp")], left
