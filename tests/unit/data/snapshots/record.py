"""Record the facts snapshots in this folder from real breakages (run as root):

    PYTHONPATH=. .venv/bin/python tests/unit/data/snapshots/record.py [NAME...]

Each scenario builds a lab (tests/lab/harness.py: the Debian nginx and php8.2-fpm, plus
the fake app servers of tests/lab/fake_upstreams.py started as `gunicorn` or `uwsgi`, see
tests/lab/named_apps.py), makes the failing request, and runs the real
`diagnose --save-snapshot`. The snapshot is then trimmed to the lab: the processes and
listening sockets of anything else on the machine (other tests, the developer's own
programs, changes to this work tree) are left out, as they say nothing about the
scenario.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.lab.harness import BROKEN_INCLUDE, Lab
from tests.lab.named_apps import start_app

HERE = Path(__file__).parent
REPO = HERE.parents[3]


def php_fpm_stopped() -> tuple[Lab, str]:
    lab = Lab(start_php=False)
    return lab, "/index.php"


def gunicorn_socket_permission() -> tuple[Lab, str]:
    lab = Lab(php=False, php_location=False,
              locations="location /app/ { proxy_pass http://unix:{prefix}/app.sock; }")
    start_app(lab, "gunicorn", "http", "--unix", f"{lab.prefix}/app.sock",
              "--socket-mode", "0600")
    return lab, "/app/"


def gunicorn_closes() -> tuple[Lab, str]:
    lab = Lab(php=False, php_location=False, start_nginx=False)
    _, address = start_app(lab, "gunicorn", "http", "--mode", "close")
    lab.write_nginx_conf(locations=f"location /app/ {{ proxy_pass http://{address}; }}")
    lab.start_nginx()
    return lab, "/app/"


def fastcgi_to_gunicorn() -> tuple[Lab, str]:
    """fastcgi_pass points at the Python app's port instead of PHP-FPM's socket."""
    lab = Lab(start_nginx=False)
    _, address = start_app(lab, "gunicorn", "http")
    lab.write_nginx_conf(fastcgi_pass=address)
    lab.start_nginx()
    return lab, "/index.php"


def uwsgi_socket_permission() -> tuple[Lab, str]:
    lab = Lab(php=False, php_location=False,
              locations="location /legacy/ { uwsgi_pass unix:{prefix}/legacy.sock; }")
    start_app(lab, "uwsgi", "uwsgi", "--unix", f"{lab.prefix}/legacy.sock",
              "--socket-mode", "0600")
    return lab, "/legacy/"


def no_live_upstreams() -> tuple[Lab, str]:
    lab = Lab(php=False, php_location=False,
              http_extra="upstream api_backend { server 127.0.0.1:{closed_port} max_fails=1; }",
              locations="location /api/ { proxy_pass http://api_backend; }")
    return lab, "/api/"


def header_too_big() -> tuple[Lab, str]:
    return Lab(), "/bigheader.php?n=16000"


def php_timeout() -> tuple[Lab, str]:
    return Lab(request_terminate_timeout="1"), "/slow.php?s=3"


def php_crash() -> tuple[Lab, str]:
    return Lab(), "/segv.php"


def php_socket_permission() -> tuple[Lab, str]:
    return Lab(listen_owner="root", listen_group="root", listen_mode="0600"), "/index.php"


def port_conflict() -> tuple[Lab, str]:
    """nginx is stopped and another program holds its port."""
    lab = Lab(start_nginx=False)
    lab.spawn_listener(lab.port, hang_up=True)
    return lab, "/index.php"


def nginx_config_invalid() -> tuple[Lab, str]:
    lab = Lab(start_nginx=False, http_extra="include {prefix}/broken.conf;")
    lab.write_file("broken.conf", BROKEN_INCLUDE)
    return lab, "/index.php"


SCENARIOS: dict[str, Callable[[], tuple[Lab, str]]] = {
    "php-fpm-stopped": php_fpm_stopped,
    "gunicorn-socket-permission": gunicorn_socket_permission,
    "gunicorn-closes": gunicorn_closes,
    "fastcgi-to-gunicorn": fastcgi_to_gunicorn,
    "uwsgi-socket-permission": uwsgi_socket_permission,
    "no-live-upstreams": no_live_upstreams,
    "header-too-big": header_too_big,
    "php-timeout": php_timeout,
    "php-crash": php_crash,
    "php-socket-permission": php_socket_permission,
    "port-conflict": port_conflict,
    "nginx-config-invalid": nginx_config_invalid,
}


def lab_pids(processes: list[dict[str, Any]], lab: Lab, listening: dict[str, Any]) -> set[int]:
    """Every process whose command line names the lab folder or that holds the lab's port
    (the program in the way of nginx), and their children (nginx's and PHP-FPM's workers)."""
    prefix = str(lab.prefix)
    keep = {p["pid"] for p in processes if prefix in " ".join(p.get("cmdline") or [])}
    keep |= {s["pid"] for s in listening.get("tcp") or [] if s.get("port") == lab.port}
    grew = True
    while grew:
        more = {p["pid"] for p in processes if p.get("ppid") in keep}
        grew = not more <= keep
        keep |= more
    return keep


def trim(snapshot: dict[str, Any], lab: Lab) -> dict[str, Any]:
    facts = snapshot["facts"]
    keep = lab_pids(facts.get("processes") or [], lab, facts.get("listening") or {})
    facts["processes"] = [p for p in facts.get("processes") or [] if p["pid"] in keep]
    changes = facts.get("changes")
    if changes:  # the recorder's own work tree is no part of the lab
        changes["entries"] = [e for e in changes.get("entries") or []
                              if not str(e.get("source")).startswith(str(REPO))]
    listening = facts.get("listening")
    if listening:
        for kind in ("tcp", "unix"):
            listening[kind] = [s for s in listening.get(kind) or [] if s.get("pid") in keep]
    return snapshot


def record(name: str) -> None:
    lab, path = SCENARIOS[name]()
    out = HERE / f"{name}.json"
    try:
        with contextlib.suppress(OSError):  # what nginx logged is what counts
            lab.request(path, timeout=15)
        argv = [sys.executable, "-m", "wizard", "diagnose", "--format", "json",
                "--nginx-conf", lab.nginx_conf, "--since", "10m", "--url", lab.url(path),
                "--save-snapshot", str(out), "--transcript", str(lab.prefix / "t.json")]
        subprocess.run(argv, capture_output=True, check=False, cwd=REPO, timeout=120)
        snapshot = trim(json.loads(out.read_text(encoding="utf-8")), lab)
        out.write_text(json.dumps(snapshot, indent=1) + "\n", encoding="utf-8")
        print(f"{out.name}: {len(out.read_bytes()) // 1024} KiB")
    finally:
        lab.stop()


if __name__ == "__main__":
    for wanted in sys.argv[1:] or list(SCENARIOS):
        record(wanted)
