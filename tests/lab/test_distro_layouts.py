"""Discovery and fixes on other distros' layouts: RHEL 9, Rocky, Alma, Amazon Linux 2023,
Fedora, Alpine, Arch, openSUSE Leap and nginx.org's own packages on Debian.

Each case builds a private root laid out like that distro: its /etc/os-release and its
packaged nginx and PHP-FPM config files (tests/data/distros, sources in SOURCES.md), the
distro's service-manager mark in /run (systemd's /run/systemd/system, OpenRC's
/run/openrc, as each creates at boot) and the users its packages add. The programs are
this machine's real ones: /usr is this machine's /usr under an overlay that puts the
PHP-FPM binary where that distro installs it (php-fpm, php-fpm82, /usr/bin on Arch) and
hides Debian's php-fpm8.2 behind /dev/null. The wizard itself runs inside the root
(`python -m wizard diagnose` through chroot), in a private mount, pid and network
namespace: the distro's nginx really runs with its packaged config and answers 502 to
the --url request, because PHP-FPM is stopped, as after a reboot with the service
disabled. The dynamic linker's cache (/etc/ld.so.cache) is this machine's, so its
programs find their libraries; nginx's mime.types and fastcgi_params are upstream
nginx's files, taken from this machine's nginx package.

Each case asserts what discovery found (family, service manager, PHP-FPM config, pool
file, listen address, pool user, log paths, nginx's worker user), the cause, and the
exact argv of the offered fix. The root-owned namespace needs root (marked `root`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import require

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "distros"
HOST_FPM = "/usr/sbin/php-fpm8.2"
SITE_PORT = 8080
RUN_TIMEOUT = 120.0  # the whole namespace: nginx start plus one diagnosis
PHP_INDEX = "<?php echo 'ok';\n"

# The site under test where the distro has none for PHP: ours, at the distro's packaged
# PHP-FPM address, in the folder the distro's nginx.conf includes.
SITE = """\
# The site under test (written by tests/lab/test_distro_layouts.py, not a distro file).
server {{
    listen {port};
    server_name _;
    root /srv/www;
    location ~ \\.php$ {{
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass {target};
    }}
}}
"""


@dataclass
class Layout:
    """One distro's private root and what the wizard must find in it."""

    name: str
    base: str  # tests/data/distros/<base>/etc
    os_release: str  # tests/data/distros/os-release/<name>
    booted: str  # the /run folder its init system makes: systemd/system or openrc
    fpm_at: str | None  # where the distro installs php-fpm, relative to /usr
    users: dict[str, int]  # the users its packages add (name -> uid; group alike)
    site: tuple[str, str] | None  # (nginx folder file, fastcgi_pass target) of our site
    run_dirs: tuple[str, ...]  # runtime folders the packages make (tmpfiles, init scripts)
    url: str
    family: str
    manager: str
    conf: str
    pool_file: str
    listen: dict[str, Any]
    pool_user: str
    worker_user: str
    fpm_logs: list[str]
    nginx_logs: list[str]
    fix: list[list[str]]
    extra_etc: dict[str, str] = field(default_factory=dict)  # root path -> host path


def rhel_like(name: str) -> Layout:
    """RHEL and its kin share Fedora's packaging: only /etc/os-release differs."""
    return Layout(
        name=name, base="rhel", os_release=name, booted="run/systemd/system",
        fpm_at="sbin/php-fpm", users={"nginx": 990, "apache": 48}, site=None,
        run_dirs=("run/php-fpm", "var/log/php-fpm", "var/lib/php/session", "var/log/nginx"),
        url="http://127.0.0.1/index.php", family="rhel", manager="systemd",
        conf="/etc/php-fpm.conf", pool_file="/etc/php-fpm.d/www.conf",
        listen={"socket": "/run/php-fpm/www.sock", "host": None, "port": None},
        pool_user="apache", worker_user="nginx",
        fpm_logs=["/var/log/php-fpm/error.log", "/var/log/php-fpm/www-error.log"],
        nginx_logs=["/var/log/nginx/error.log"],
        fix=[["systemctl", "start", "php-fpm"]])


SITE_URL = f"http://127.0.0.1:{SITE_PORT}/index.php"

LAYOUTS = [
    *(rhel_like(name) for name in ("rhel9", "rocky9", "alma9", "amazon2023", "fedora40")),
    Layout(
        name="alpine319", base="alpine", os_release="alpine319", booted="run/openrc",
        fpm_at="sbin/php-fpm82", users={"nginx": 100},
        site=("conf.d/php-site.conf", "127.0.0.1:9000"),
        run_dirs=("var/log/nginx", "var/lib/nginx", "var/log/php82"), url=SITE_URL,
        family="alpine", manager="openrc", conf="/etc/php82/php-fpm.conf",
        pool_file="/etc/php82/php-fpm.d/www.conf",
        listen={"socket": None, "host": "127.0.0.1", "port": 9000},
        pool_user="nobody", worker_user="nginx", fpm_logs=["/var/log/php-fpm.log"],
        nginx_logs=["/var/log/nginx/error.log"],
        fix=[["rc-service", "php-fpm82", "zap"], ["rc-service", "php-fpm82", "start"]]),
    Layout(
        name="arch", base="arch", os_release="arch", booted="run/systemd/system",
        fpm_at="bin/php-fpm", users={"http": 33},
        site=("sites/php-site.conf", "unix:/run/php-fpm/php-fpm.sock"),
        run_dirs=("run/php-fpm", "var/log/nginx", "var/lib/nginx"), url=SITE_URL,
        family="arch", manager="systemd", conf="/etc/php/php-fpm.conf",
        pool_file="/etc/php/php-fpm.d/www.conf",
        listen={"socket": "/run/php-fpm/php-fpm.sock", "host": None, "port": None},
        # Arch's nginx.conf leaves `user` commented, so workers run as the binary's
        # compiled-in user: nobody for this machine's Debian build (Arch's own: http)
        pool_user="http", worker_user="nobody", fpm_logs=["syslog"],
        # no error_log either: the compiled-in stderr (Arch's build says stderr too)
        nginx_logs=["stderr"], fix=[["systemctl", "start", "php-fpm"]]),
    Layout(
        name="opensuse-leap155", base="opensuse", os_release="opensuse-leap155",
        booted="run/systemd/system", fpm_at="sbin/php-fpm", users={"nginx": 480, "wwwrun": 30},
        site=("vhosts.d/php-site.conf", "127.0.0.1:9000"),
        run_dirs=("run/php-fpm", "var/log/nginx", "var/lib/nginx", "srv/www/htdocs"),
        url=SITE_URL, family="suse", manager="systemd", conf="/etc/php8/fpm/php-fpm.conf",
        pool_file="/etc/php8/fpm/php-fpm.d/www.conf",
        listen={"socket": None, "host": "127.0.0.1", "port": 9000},
        # no `user` / `error_log` in nginx.conf: this machine's build's defaults
        pool_user="wwwrun", worker_user="nobody", fpm_logs=["/var/log/php-fpm.log"],
        nginx_logs=["stderr"], fix=[["systemctl", "start", "php-fpm"]]),
    Layout(
        name="nginx-org-debian12", base="nginx-org-debian", os_release="debian12",
        booted="run/systemd/system", fpm_at=None, users={"nginx": 101, "www-data": 33},
        site=("conf.d/php-site.conf", "unix:/run/php/php8.2-fpm.sock"),
        run_dirs=("run/php", "var/log/nginx", "var/lib/nginx"), url=SITE_URL,
        family="debian", manager="systemd", conf="/etc/php/8.2/fpm/php-fpm.conf",
        pool_file="/etc/php/8.2/fpm/pool.d/www.conf",
        listen={"socket": "/run/php/php8.2-fpm.sock", "host": None, "port": None},
        pool_user="www-data", worker_user="nginx", fpm_logs=["/var/log/php8.2-fpm.log"],
        nginx_logs=["/var/log/nginx/error.log"],
        fix=[["systemctl", "start", "php8.2-fpm"]],
        # Debian's own PHP 8.2 config (fpm, php.ini, modules), as this machine's packages
        # installed it
        extra_etc={"etc/php": "/etc/php"}),
]

# Runs as PID 1 of the new namespaces: mounts the root's /proc, /dev and /usr, starts the
# distro's nginx with its packaged config, then runs the wizard inside the root. When it
# exits, the kernel ends every process of the namespace (nginx too) and drops the mounts.
IN_NAMESPACE = r"""
set -e
R=$1 LAYER=$2 MASK=$3 URL=$4 PY=$5 REPO=$6
shift 6  # the rest: programs to start in the root, each "program arg..."
ip link set lo up
mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
mount -t overlay overlay -o "lowerdir=$LAYER:/usr" "$R/usr"
[ -z "$MASK" ] || mount --bind /dev/null "$R/usr/$MASK"
mount --bind "$PY" "$R$PY"
mount --bind "$REPO" "$R$REPO"
for start in "$@"; do chroot "$R" $start; done
rc=0
chroot "$R" "$REPO/.venv/bin/python" -m wizard diagnose --format json --url "$URL" \
    --save-snapshot /tmp/facts.json > "$R/tmp/report.json" || rc=$?
exit $rc
"""


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _accounts(users: dict[str, int]) -> tuple[str, str]:
    passwd = ["root:x:0:0:root:/root:/bin/sh",
              "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"]
    # nogroup: the group this machine's (Debian's) nginx is compiled with, used where the
    # distro's nginx.conf sets no `user` (Arch, openSUSE)
    group = ["root:x:0:", "nobody:x:65534:", "nogroup:x:65534:"]
    for name, uid in users.items():
        passwd.append(f"{name}:x:{uid}:{uid}:{name}:/nonexistent:/usr/sbin/nologin")
        group.append(f"{name}:x:{uid}:")
    if "wwwrun" in users:  # openSUSE: wwwrun's group is www
        group.append("www:x:8:wwwrun")
    return "\n".join(passwd) + "\n", "\n".join(group) + "\n"


def build_root(layout: Layout, where: Path) -> tuple[Path, Path]:
    """(root, /usr layer) laid out like the distro."""
    root, layer = where / "root", where / "usr-layer"
    shutil.copytree(DATA / layout.base / "etc", root / "etc")
    shutil.copy(DATA / "os-release" / layout.os_release, root / "etc/os-release")
    for inside, host in layout.extra_etc.items():
        shutil.copytree(host, root / inside, symlinks=True)
    for name in ("mime.types", "fastcgi_params", "fastcgi.conf"):  # upstream nginx's files
        if not (root / "etc/nginx" / name).exists():
            shutil.copy(f"/etc/nginx/{name}", root / "etc/nginx" / name)
    for name in ("ld.so.cache", "ld.so.conf"):  # this machine's linker, for its programs
        if os.path.exists(f"/etc/{name}"):
            shutil.copy(f"/etc/{name}", root / "etc" / name)
    passwd, group = _accounts(layout.users)
    _write(root / "etc/passwd", passwd)
    _write(root / "etc/group", group)
    for link in ("bin", "sbin", "lib", "lib64"):
        os.symlink(f"usr/{link}", root / link)
    (root / "var").mkdir()
    os.symlink("../run", root / "var/run")
    for folder in ("usr", "proc", "dev", "tmp", "root", "srv/www", "var/lib/nginx",
                   layout.booted, *layout.run_dirs):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    for mount_point in (sys.base_prefix, str(REPO)):
        (root / mount_point.lstrip("/")).mkdir(parents=True, exist_ok=True)
    _write(root / "srv/www/index.php", PHP_INDEX)
    if layout.site:
        folder_file, target = layout.site
        _write(root / "etc/nginx" / folder_file, SITE.format(port=SITE_PORT, target=target))
    layer.mkdir()
    _write(layer / "share/nginx/html/index.php", PHP_INDEX)
    if layout.fpm_at:
        (layer / layout.fpm_at).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HOST_FPM, layer / layout.fpm_at)
    return root, layer


def diagnose_in_root(layout: Layout, where: Path, starts: tuple[str, ...] = ("/usr/sbin/nginx",),
                     ) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(exit code, JSON report, saved facts) of the wizard run inside the distro's root."""
    root, layer = build_root(layout, where)
    mask = HOST_FPM.removeprefix("/usr/") if layout.fpm_at else ""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": "/root", "LANG": "C.UTF-8"}
    done = subprocess.run(
        ["unshare", "--mount", "--net", "--pid", "--fork", "--propagation", "private",
         "sh", "-c", IN_NAMESPACE, "ns", str(root), str(layer), mask, layout.url,
         sys.base_prefix, str(REPO), *starts],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env, check=False)
    report_file, facts_file = root / "tmp/report.json", root / "tmp/facts.json"
    assert report_file.exists() and report_file.stat().st_size, done.stderr[-3000:]
    report = json.loads(report_file.read_text())
    facts = json.loads(facts_file.read_text())["facts"]
    return done.returncode, report, facts


@pytest.fixture(scope="module")
def namespaces_possible() -> None:
    require(os.geteuid() == 0, "a private root in mount, pid and network namespaces needs root")
    for tool in ("unshare", "chroot", "ip"):
        require(shutil.which(tool) is not None, f"{tool} is missing (util-linux, coreutils, "
                "iproute2)")
    require(os.access("/usr/sbin/nginx", os.X_OK) and os.access(HOST_FPM, os.X_OK),
            "nginx and php-fpm8.2 (Debian packages) are needed")


@pytest.mark.parametrize("layout", LAYOUTS, ids=[layout.name for layout in LAYOUTS])
def test_stopped_php_fpm_is_found_and_started_the_distros_way(
        layout: Layout, tmp_path: Path, namespaces_possible: None) -> None:
    code, report, facts = diagnose_in_root(layout, tmp_path)

    system, fpm, nginx = facts["system"], facts["phpfpm"], facts["nginx"]
    assert (system["family"], system["service_manager"]) == (layout.family, layout.manager)
    assert report["host"]["family"] == layout.family
    assert fpm["conf_path"] == layout.conf
    assert fpm["service"] == layout.fix[-1][-1 if layout.manager == "systemd" else 1]
    pool = next(p for p in fpm["pools"] if p["name"] == "www")
    assert pool["file"] == layout.pool_file
    assert {k: pool[k] for k in ("socket", "host", "port")} == layout.listen
    assert pool["user"] == layout.pool_user
    assert fpm["error_logs"] == layout.fpm_logs
    assert nginx["worker_user"] == layout.worker_user
    assert [log["target"] for log in nginx["error_logs"]] == layout.nginx_logs

    assert code == 1, report
    cause = report["causes"][0]
    assert cause["id"] == "php_fpm_down"
    starts = [fix for fix in cause["fixes"] if fix["id"].startswith("service.start")]
    assert starts and starts[0]["commands"] == layout.fix


def test_stopped_nginx_on_arch_is_taken_to_run_as_the_packages_user(
        tmp_path: Path, namespaces_possible: None) -> None:
    # With no worker to look at and no `user` directive, the user is the one the distro's
    # package compiles in (Arch: http), not nginx's own default nobody; started the
    # distro's way.
    arch = next(layout for layout in LAYOUTS if layout.name == "arch")
    code, report, facts = diagnose_in_root(arch, tmp_path, starts=())

    nginx = facts["nginx"]
    assert (nginx["running"], nginx["worker_user"]) == (False, "http")
    assert nginx["worker_user_source"] == "compiled default"
    assert code == 1, report
    cause = next(c for c in report["causes"] if c["id"] == "nginx_not_running")
    starts = [fix for fix in cause["fixes"] if fix["id"].startswith("service.start")]
    assert starts and starts[0]["commands"] == [["systemctl", "start", "nginx"]]


def test_nginx_org_nginx_cannot_reach_debians_php_socket(
        tmp_path: Path, namespaces_possible: None) -> None:
    # nginx.org's package runs its workers as `nginx`; Debian's php8.2-fpm gives its socket
    # to www-data, mode 0660. Both running as packaged, every PHP request is a 502.
    layout = next(layout for layout in LAYOUTS if layout.name == "nginx-org-debian12")
    code, report, facts = diagnose_in_root(layout, tmp_path, starts=(
        "/usr/sbin/nginx", f"{HOST_FPM} --fpm-config /etc/php/8.2/fpm/php-fpm.conf"))

    fpm = facts["phpfpm"]
    assert fpm["running"] and fpm["masters"][0]["conf"] == layout.conf
    pool = next(p for p in fpm["pools"] if p["name"] == "www")
    assert (pool["listen_owner"], pool["listen_group"]) == ("www-data", "www-data")
    assert facts["nginx"]["worker_user"] == "nginx"
    assert code == 1, report
    cause = report["causes"][0]
    assert cause["id"] == "socket_permission"
    acl = next(fix for fix in cause["fixes"] if fix["id"].startswith("phpfpm.set_listen_acl"))
    assert "nginx:nginx" in acl["title"]
    assert acl["commands"] == [["systemctl", "restart", "php8.2-fpm"]]
