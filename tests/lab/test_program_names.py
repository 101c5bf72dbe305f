"""On a live host the findings name the program behind nginx's upstream: the process that
holds the socket (a gunicorn or uWSGI app server, PHP-FPM), not "the backend". Where no
process holds it, the words say what should be there instead of naming a guess.

The app servers are tests/lab/fake_upstreams.py started the way their console scripts
run (tests/lab/named_apps.py), so the wizard sees real processes called gunicorn and uwsgi.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.lab.harness import Lab
from tests.lab.named_apps import start_app
from tests.lab.scenario_support import REPO, WIZARD_TIMEOUT, assert_words_filled

MakeLab = Callable[..., Lab]


def diagnose_text(lab: Lab, path: str, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """The text report of `diagnose --url` for the lab's page, and the walk's steps by node."""
    transcript = tmp_path / "t.json"
    argv = [sys.executable, "-m", "wizard", "diagnose", "--format", "text", "--nginx-conf",
            lab.nginx_conf, "--since", "10m", "--url", lab.url(path),
            "--transcript", str(transcript)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=WIZARD_TIMEOUT,
                          check=False, cwd=REPO)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    saved = json.loads(transcript.read_text(encoding="utf-8"))
    assert_words_filled({"transcript": str(transcript)})
    return proc.stdout, {s["node"]: s for s in saved["transcript"]["steps"]}


def failing(lab: Lab, path: str) -> None:
    assert lab.request(path)[0] == 502


def step_line(report: str, title: str) -> str:
    return next(line for line in report.splitlines() if f"] {title}: " in line)


def test_a_gunicorn_socket_nginx_may_not_open_names_gunicorn_and_its_settings(
        make_lab: MakeLab, tmp_path: Path) -> None:
    lab = make_lab(php=False, php_location=False,
                   locations="location /app/ { proxy_pass http://unix:{prefix}/app.sock; }")
    start_app(lab, "gunicorn", "http", "--unix", f"{lab.prefix}/app.sock",
              "--socket-mode", "0600")
    failing(lab, "/app/")

    report, steps = diagnose_text(lab, "/app/", tmp_path)

    assert step_line(report, "Upstream answers").startswith(
        f"  [PROBLEM] Upstream answers: gunicorn at http://unix:{lab.prefix}/app.sock: ")
    assert step_line(report, "nginx error log").endswith(
        ": nginx's worker user may not open the socket of gunicorn")
    assert "The unix socket of gunicorn exists, but nginx's worker user may not open it" \
        in report
    words = steps["upstream_reachable"]["text"]
    assert words.startswith(f"The socket {lab.prefix}/app.sock of gunicorn exists, but "
                            "nginx's worker user www-data may not connect to it")
    assert words.endswith("Start gunicorn with --group set to a group www-data is in and "
                          "--umask 007, so that group may use the socket, then restart it.")


def test_a_uwsgi_socket_names_uwsgi_and_its_settings(make_lab: MakeLab,
                                                     tmp_path: Path) -> None:
    lab = make_lab(php=False, php_location=False,
                   locations="location /legacy/ { uwsgi_pass unix:{prefix}/legacy.sock; }")
    start_app(lab, "uwsgi", "uwsgi", "--unix", f"{lab.prefix}/legacy.sock",
              "--socket-mode", "0600")
    failing(lab, "/legacy/")

    report, steps = diagnose_text(lab, "/legacy/", tmp_path)

    assert f"Upstream answers: uWSGI at unix:{lab.prefix}/legacy.sock: " in report
    assert "Set chown-socket = www-data (or chmod-socket = 660 with a group www-data is " \
        "in) in uWSGI's configuration" in steps["upstream_reachable"]["text"]


def test_fastcgi_pass_at_an_app_server_names_what_listens_there(
        make_lab: MakeLab, tmp_path: Path) -> None:
    lab = make_lab(start_nginx=False)
    _, address = start_app(lab, "gunicorn", "http")
    lab.write_nginx_conf(fastcgi_pass=address)
    lab.start_nginx()
    failing(lab, "/index.php")

    report, steps = diagnose_text(lab, "/index.php", tmp_path)

    assert step_line(report, "The address").endswith(
        "answers 502; nginx logged for it: gunicorn does not speak FastCGI")
    assert f"What listens at {address} now is gunicorn, which does not answer as PHP-FPM." \
        in steps["listen_match"]["text"]
    assert steps["upstream_reachable"]["text"].startswith(
        f"At {address}, gunicorn accepts connections but does not answer in nginx's protocol")


def test_a_socket_nobody_holds_says_what_should_be_there(make_lab: MakeLab,
                                                         tmp_path: Path) -> None:
    lab = make_lab(php=False, php_location=False,
                   locations="location /app/ { proxy_pass http://unix:{prefix}/gone.sock; }")
    failing(lab, "/app/")

    report, steps = diagnose_text(lab, "/app/", tmp_path)

    assert steps["upstream_reachable"]["text"] == (
        f"The socket {lab.prefix}/gone.sock that nginx connects to does not exist: the program "
        "that should create it is not running, or creates its socket somewhere else.")
    assert step_line(report, "nginx error log").endswith(
        ": the socket file of the upstream does not exist")
