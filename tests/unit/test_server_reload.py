"""The reload helper's own decisions, without servers (the lab tests run it for real)."""

from __future__ import annotations

from pathlib import Path

import crossplane
import pytest

from wizard.fixes.server_reload import (
    ReloadError,
    _main,
    _top_level_pid,
    fpm_targets,
    nginx_reload_argv,
    nginx_workers_missing,
    reload_argv_parts,
)
from wizard.host.phpfpm import parse_fpm_config

WORKER = "nginx: worker process"


def test_the_reload_argv_is_the_admins_command_with_the_masters_c_and_p() -> None:
    argv = nginx_reload_argv("/usr/sbin/nginx", {"c": "conf/nginx.conf", "p": "/srv/x/"})
    assert argv[argv.index("--") + 1:] == ["/usr/sbin/nginx", "-s", "reload", "-c",
                                           "/srv/x/conf/nginx.conf", "-p", "/srv/x/"]
    assert reload_argv_parts(argv[argv.index("--") + 1:]) == ("/srv/x/conf/nginx.conf",
                                                               "/srv/x/")


@pytest.mark.parametrize("argv", [
    ["/usr/sbin/nginx", "-s", "stop", "-c", "/x.conf"],  # only a reload
    ["nginx", "-s", "reload", "-c", "/x.conf"],  # a program from PATH
    ["/usr/sbin/nginx", "-s", "reload", "-g", "pid /tmp/x;"],  # no -c, and -g
    ["/usr/sbin/nginx", "-s", "reload", "-c"],
    ["/bin/sh", "-c", "reboot"],
])
def test_anything_but_an_nginx_reload_is_refused(argv: list[str]) -> None:
    with pytest.raises(ReloadError, match="expected: /path/to/nginx -s reload"):
        reload_argv_parts(argv)


def test_nginx_is_ready_once_a_new_worker_runs_and_no_old_one_accepts() -> None:
    before = {10: WORKER, 11: "nginx: cache manager process"}
    assert nginx_workers_missing(before, before) == "no new worker yet"
    # a fresh fork still wears its master's title
    assert nginx_workers_missing({**before, 12: "nginx: master process /usr/sbin/nginx"},
                                 before) == "no new worker yet"
    assert nginx_workers_missing({**before, 12: WORKER}, before) == \
        "old worker 10 still takes connections"
    assert nginx_workers_missing({10: WORKER + " is shutting down", 12: WORKER},
                                 before) is None
    assert nginx_workers_missing({12: WORKER}, before) is None


def test_pool_targets_are_where_a_client_connects(tmp_path: Path) -> None:
    conf = tmp_path / "php-fpm.conf"
    conf.write_text("[global]\npid = /run/x.pid\n"
                    "[a]\nlisten = /run/$pool.sock\n[b]\nlisten = 9000\n"
                    "[c]\nlisten = 0.0.0.0:9001\n[d]\nlisten = [::]:9002\n"
                    "[e]\nlisten = 10.0.0.5:9003\n")
    assert fpm_targets(parse_fpm_config(str(conf))) == {
        "a": "unix:/run/a.sock", "b": "127.0.0.1:9000", "c": "127.0.0.1:9001",
        "d": "[::1]:9002", "e": "10.0.0.5:9003"}


def test_the_nginx_pid_directive_is_found_in_a_main_level_include(tmp_path: Path) -> None:
    (tmp_path / "main.d").mkdir()
    (tmp_path / "main.d" / "pid.conf").write_text("pid run/n.pid;\n")
    conf = tmp_path / "nginx.conf"
    conf.write_text("include main.d/*.conf;\nevents {}\nhttp { server { listen 80; } }\n")
    payload = crossplane.parse(str(conf), check_ctx=False, check_args=False,
                               catch_errors=True, comments=False)
    assert _top_level_pid(payload, 0) == "run/n.pid"


@pytest.mark.parametrize("argv", [[], ["php-fpm", "relative.conf"], ["nginx", "/x"]])
def test_bad_usage_exits_64(argv: list[str]) -> None:
    assert _main(argv) == 64


def test_a_missing_pid_file_is_one_plain_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "php-fpm.conf"
    conf.write_text(f"[global]\npid = {tmp_path}/gone.pid\n[www]\nlisten = 9000\n")
    assert _main(["php-fpm", str(conf)]) == 1
    err = capsys.readouterr().err
    assert err == (f"reload failed: cannot read the pid file {tmp_path}/gone.pid (No such "
                   "file or directory): is the server running?\n")
