"""Fixes refuse targets outside what the diagnosis found (SECURITY.md, item 4): a flow or
a `--fix` id names files, pools and settings only as arguments; each fix checks them
against the facts read from this host before it plans anything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wizard.fixes import ACTIONS, FixNotApplicable, load_all
from wizard.host.facts import Facts

Recorded = Callable[[dict[str, Any]], Facts]


@pytest.fixture
def nginx_conf(tmp_path: Path) -> tuple[Path, Path]:
    """An nginx config whose fastcgi_pass is at line 3, and a file outside it that has a
    fastcgi_pass line too (an attacker's, or any file with that text)."""
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nhttp { server { location / {\n"
                    "    fastcgi_pass 127.0.0.1:9000;\n} } }\n")
    outside = tmp_path / "elsewhere.conf"
    outside.write_text("x\nx\n    fastcgi_pass 127.0.0.1:9000;\n")
    return conf, outside


def nginx_facts(recorded: Recorded, conf: Path) -> Facts:
    return recorded({"nginx": {
        "conf_path": str(conf), "binary": "/usr/sbin/nginx", "running": False,
        "passes": [{"kind": "fastcgi", "file": str(conf), "line": 3,
                    "target": "127.0.0.1:9000"}]}})


def test_fastcgi_pass_is_changed_only_on_a_line_nginx_loads(
        recorded: Recorded, nginx_conf: tuple[Path, Path]) -> None:
    load_all()
    conf, outside = nginx_conf
    facts = nginx_facts(recorded, conf)
    plan = ACTIONS["nginx.set_fastcgi_pass"].plan(
        {"file": str(conf), "line": "3", "target": "/run/php/php8.2-fpm.sock"}, facts)
    assert [edit.path for edit in plan.edits] == [str(conf)]  # the control: it can plan

    with pytest.raises(FixNotApplicable, match="not a fastcgi_pass"):
        ACTIONS["nginx.set_fastcgi_pass"].plan(
            {"file": str(outside), "line": "3", "target": "/run/php/php8.2-fpm.sock"}, facts)


def test_buffer_sizes_are_changed_only_on_a_pass_nginx_loads(
        recorded: Recorded, nginx_conf: tuple[Path, Path]) -> None:
    load_all()
    conf, outside = nginx_conf
    with pytest.raises(FixNotApplicable, match="no fastcgi_pass at"):
        ACTIONS["nginx.set_buffer_size"].plan(
            {"kind": "fastcgi", "size": "32k", "file": str(outside), "line": "3",
             "signature": "upstream_header_too_big"}, nginx_facts(recorded, conf))


@pytest.mark.parametrize("args", [
    {"pool": "other", "seconds": "60"},  # a pool the host does not have
    {"pool": "www", "seconds": "60", "conf": "/tmp/planted/php-fpm.conf"},  # not its config
])
def test_a_phpfpm_pool_must_be_one_that_was_found(recorded: Recorded,
                                                   args: dict[str, str]) -> None:
    load_all()
    facts = recorded({"phpfpm": {"pools": [
        {"name": "www", "conf": "/etc/php/8.2/fpm/php-fpm.conf"}], "masters": []}})
    with pytest.raises(FixNotApplicable, match="no PHP-FPM pool"):
        ACTIONS["phpfpm.set_request_terminate_timeout"].plan(args, facts)


def test_only_the_selinux_settings_the_wizard_knows_are_changed(recorded: Recorded) -> None:
    load_all()
    facts = recorded({"mac": {"selinux": {"mode": "enforcing", "booleans": {}}}})
    with pytest.raises(FixNotApplicable, match="not a setting this wizard changes"):
        ACTIONS["selinux.set_boolean"].plan({"boolean": "allow_execmem"}, facts)


def test_a_port_the_firewall_already_lets_in_is_not_touched(recorded: Recorded) -> None:
    load_all()
    facts = recorded({"firewall": {"backend": "iptables", "blocked_ports": [],
                                   "allowed_ports": [{"port": 80, "verdict": "allowed"}]}})
    with pytest.raises(FixNotApplicable, match="already lets"):
        ACTIONS["firewall.allow_port"].plan({"port": "80"}, facts)
