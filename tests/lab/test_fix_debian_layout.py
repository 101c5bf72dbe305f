"""Config fixes on a Debian/Ubuntu-shaped installation, real nginx and PHP-FPM.

The lab's prefix is laid out the way Debian lays out /etc/nginx and /etc/php/8.2/fpm:
nginx.conf includes conf.d/*.conf and sites-enabled/*, where each site is a symlink into
sites-available/; PHP locations include Debian's snippets/fastcgi-php.conf; PHP-FPM's
config includes pool.d/*.conf with two pools. A backup or temporary file left beside an
edited file would be loaded by those globs (a second `upstream` block of the same name
makes `nginx -t` fail; a second pool on the same socket stops PHP-FPM), and a `mv` over a
symlink would turn the site into a copy. So for each config fix, applied through
Session.apply_fix from a real walk of the built-in flow: the validators pass, no stray file
appears in any config folder, the symlink stays, and a rollback puts back every file and
link byte for byte, after which `nginx -t` and `php-fpm -t` still pass.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lab.harness import (
    FASTCGI_PARAMS,
    HTTP_IN_PREFIX,
    NGINX_BIN,
    PHPFPM_BIN,
    Lab,
    wait_for,
)
from tests.lab.test_fix_proof import apply, offered, status, walk
from wizard.fixes.apply import rollback
from wizard.host.facts import Facts

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root

CONFIG_DIRS = ("conf.d", "sites-available", "sites-enabled", "snippets", "pool.d")

NGINX_CONF = """\
user www-data;
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log info;
events {{ worker_connections 64; }}
http {{
""" + HTTP_IN_PREFIX + """\
    include {prefix}/conf.d/*.conf;
    include {prefix}/sites-enabled/*;
}}
"""

# An upstream and a map: loaded twice (a backup of this file in conf.d), nginx -t fails.
CONF_D = """\
upstream app_backend {{ server 127.0.0.1:{closed_port} max_fails=3; }}
map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
"""

# Debian's snippets/fastcgi-php.conf, as the php-fpm package ships it.
FASTCGI_PHP = """\
fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
try_files $fastcgi_script_name =404;
set $path_info $fastcgi_path_info;
fastcgi_param PATH_INFO $path_info;
fastcgi_index index.php;
include {prefix}/fastcgi.conf;
"""

SITE = """\
server {{
    listen 127.0.0.1:{port};
    server_name lab.test;
    root {prefix}/www;
    index index.php index.html;
    location / {{ try_files $uri $uri/ =404; }}
    location ~ \\.php$ {{
        include {prefix}/snippets/fastcgi-php.conf;
        fastcgi_pass {fastcgi_pass};
    }}
}}
"""

PHPFPM_CONF = """\
[global]
pid = {prefix}/php-fpm.pid
error_log = {prefix}/logs/php-fpm.log
daemonize = no
include = {prefix}/pool.d/*.conf
"""

POOL = """\
[{name}]
user = www-data
group = www-data
listen = {prefix}/{socket}
listen.owner = {owner}
listen.group = {owner}
listen.mode = {mode}
pm = static
pm.max_children = 2
request_terminate_timeout = {timeout}
catch_workers_output = yes
php_admin_value[error_log] = {prefix}/logs/php-fpm.log
php_admin_flag[log_errors] = on
"""


def debian_lab(make_lab: MakeLab, fastcgi_pass: str = "unix:{prefix}/php-fpm.sock",
               owner: str = "www-data", mode: str = "0660", timeout: str = "0") -> Lab:
    lab = make_lab(start_nginx=False, start_php=False)
    fill = lab._fill  # the lab's own placeholders: {prefix}, {port}, {closed_port}
    for folder in CONFIG_DIRS:
        (lab.prefix / folder).mkdir()
    lab.write_file("fastcgi.conf", FASTCGI_PARAMS + "fastcgi_param SCRIPT_FILENAME "
                   "$document_root$fastcgi_script_name;\n")
    lab.write_file("conf.d/upstreams.conf", fill(CONF_D.format(closed_port="{closed_port}")))
    lab.write_file("snippets/fastcgi-php.conf", fill(FASTCGI_PHP.format(prefix="{prefix}")))
    site = SITE.format(port="{port}", prefix="{prefix}", fastcgi_pass=fastcgi_pass)
    lab.write_file("sites-available/example", fill(site))
    lab.write_file("sites-available/example.save", fill(site))  # not enabled: never loaded
    os.symlink(lab.prefix / "sites-available/example", lab.prefix / "sites-enabled/example")
    lab.write_nginx_conf(text=fill(NGINX_CONF.format(prefix="{prefix}")))
    lab.write_phpfpm_conf(text=fill(PHPFPM_CONF.format(prefix="{prefix}")))
    lab.write_file("pool.d/www.conf", fill(POOL.format(
        name="www", prefix="{prefix}", socket="php-fpm.sock", owner=owner, mode=mode,
        timeout=timeout)))
    lab.write_file("pool.d/other.conf", fill(POOL.format(
        name="other", prefix="{prefix}", socket="other.sock", owner="www-data",
        mode="0660", timeout="0")))
    lab.start_php()
    lab.start_nginx()
    return lab


def tree(lab: Lab) -> dict[str, tuple[Any, ...]]:
    """Every config file and link: a link's target, a file's bytes and mode."""
    found: dict[str, tuple[Any, ...]] = {}
    paths = [lab.prefix / "nginx.conf", lab.prefix / "php-fpm.conf"]
    for folder in CONFIG_DIRS:
        paths += sorted((lab.prefix / folder).iterdir())
    for path in paths:
        name = str(path.relative_to(lab.prefix))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path))
        else:
            found[name] = ("file", path.read_bytes(), path.stat().st_mode, path.stat().st_uid)
    return found


def validators_pass(lab: Lab) -> None:
    nginx = subprocess.run([NGINX_BIN, "-t", "-p", f"{lab.prefix}/", "-c", lab.nginx_conf],
                           capture_output=True, text=True, timeout=30, check=False)
    assert nginx.returncode == 0, nginx.stderr
    fpm = subprocess.run([PHPFPM_BIN, "-t", "-y", lab.phpfpm_conf], capture_output=True,
                         text=True, timeout=30, check=False)
    assert fpm.returncode == 0, fpm.stderr + fpm.stdout


def fix_and_roll_back(lab: Lab, action: str, path: str, edited: str) -> None:
    """Walk, apply `action` through the session, prove the layout stayed clean, roll back
    and prove everything is as before."""
    before = tree(lab)
    session = walk(lab)
    step, offer = offered(session, action)

    applied, lines = apply(session, step, offer)

    assert applied.succeeded, "\n".join(lines)
    validators_pass(lab)
    after = tree(lab)
    assert set(after) == set(before), "a file appeared or vanished in a config folder"
    assert [name for name in before if after[name] != before[name]] == [edited]
    assert after["sites-enabled/example"] == ("link", str(lab.prefix / "sites-available/example"))
    assert status(lab, path) == 200
    backup = Path(applied.backups[0]["backup"])
    assert not str(backup).startswith(str(lab.prefix))
    assert oct(backup.stat().st_mode & 0o777) == "0o600"

    lines.clear()
    assert rollback(applied, Facts(lab.options()), lines.append), "\n".join(lines)

    assert tree(lab) == before
    validators_pass(lab)
    backup.unlink()  # the test's own; a real backup stays for the admin


def test_fastcgi_pass_fix_edits_the_site_through_its_symlink(make_lab: MakeLab) -> None:
    # A PHP upgrade moved the socket: the site still points at the old version's.
    lab = debian_lab(make_lab, fastcgi_pass="unix:{prefix}/php7.4-fpm.sock")
    assert status(lab, "/index.php") == 502
    fix_and_roll_back(lab, "nginx.set_fastcgi_pass", "/index.php", "sites-available/example")
    wait_for(lambda: status(lab, "/index.php") == 502, 20, "the old config to be live again")


def test_buffer_fix_edits_the_site_through_its_symlink(make_lab: MakeLab) -> None:
    lab = debian_lab(make_lab)
    assert status(lab, "/bigheader.php?n=16000") == 502
    lab.wait_for_log("upstream sent too big header")
    fix_and_roll_back(lab, "nginx.set_buffer_size", "/bigheader.php?n=16000",
                      "sites-available/example")


def test_timeout_fix_edits_the_pool_file_in_pool_d(make_lab: MakeLab) -> None:
    lab = debian_lab(make_lab, timeout="2")
    assert status(lab, "/slow.php?s=4") == 502
    fix_and_roll_back(lab, "phpfpm.set_request_terminate_timeout", "/slow.php?s=4",
                      "pool.d/www.conf")


def test_listen_acl_fix_edits_the_pool_file_in_pool_d(make_lab: MakeLab) -> None:
    lab = debian_lab(make_lab, owner="root", mode="0600")
    assert status(lab, "/index.php") == 502
    fix_and_roll_back(lab, "phpfpm.set_listen_acl", "/index.php", "pool.d/www.conf")
