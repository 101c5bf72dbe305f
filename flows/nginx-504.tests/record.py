"""Record the facts snapshots of the nginx-504 test cases from real labs (run as root):

    PYTHONPATH=. .venv/bin/python flows/nginx-504.tests/record.py [NAME...]

Each scenario builds a lab (tests/lab/harness.py: the Debian nginx 1.22 and php8.2-fpm,
and the fake app server of tests/lab/fake_upstreams.py started as `gunicorn`), makes the
requests that time out, and runs the real `diagnose --flow nginx-504 --save-snapshot`.
The snapshot is trimmed to the lab as tests/unit/data/snapshots/record.py trims its own:
nothing in it is typed by hand.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from tests.lab.harness import Lab
from tests.lab.named_apps import start_app
from tests.unit.data.snapshots.record import trim

HERE = Path(__file__).parent
REPO = HERE.parents[1]
SLOWLOG = "slowlog = {prefix}/logs/www.slow.log\nrequest_slowlog_timeout = 1s\n"
# A page that waits 3 s inside a function, as one waiting for a slow service would.
REPORT_PHP = ("<?php\nfunction fetch_rates() {\n    sleep(3);\n    return 'rates';\n}\n"
              "echo fetch_rates();\n")


def proxied_app(mode: str) -> tuple[Lab, list[str]]:
    """gunicorn behind proxy_pass with a 1 s read timeout; `hang` never answers."""
    lab = Lab(php=False, php_location=False, start_nginx=False)
    _, address = start_app(lab, "gunicorn", "http", "--mode", mode)
    lab.write_nginx_conf(locations=f"location /app/ {{ proxy_pass http://{address}; "
                                   "proxy_read_timeout 1s; }")
    lab.start_nginx()
    return lab, ["/app/"]


def slow_proxy() -> tuple[Lab, list[str]]:
    return proxied_app("hang")


def quick_proxy() -> tuple[Lab, list[str]]:
    """The twin of slow_proxy: the same site, and the app answers at once."""
    return proxied_app("ok")


def slow_php() -> tuple[Lab, list[str]]:
    """A 3 s script, nginx waits 2 s, PHP-FPM has no time limit and keeps a slow log."""
    lab = Lab(pool_extra=SLOWLOG, php_location_extra="fastcgi_read_timeout 2s;",
              scripts={"report.php": REPORT_PHP})
    return lab, ["/report.php"]


def php_pool_full() -> tuple[Lab, list[str]]:
    """One worker (ondemand), two slow requests at once: the second waits in the queue."""
    lab = Lab(pm="ondemand", max_children=1, php_location_extra="fastcgi_read_timeout 2s;")
    return lab, ["/slow.php?s=3", "/slow.php?s=3"]


SCENARIOS: dict[str, Callable[[], tuple[Lab, list[str]]]] = {
    "slow-proxy": slow_proxy,
    "quick-proxy": quick_proxy,
    "slow-php": slow_php,
    "php-pool-full": php_pool_full,
}


def request_all(lab: Lab, paths: list[str]) -> None:
    """Make the requests at the same moment, as visitors would, and wait for all."""
    def one(path: str) -> None:
        with contextlib.suppress(OSError):  # what nginx logged is what counts
            lab.request(path, timeout=15)

    threads = [threading.Thread(target=one, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def record(name: str) -> None:
    lab, paths = SCENARIOS[name]()
    out = HERE / f"{name}.json"
    try:
        request_all(lab, paths)
        argv = [sys.executable, "-m", "wizard", "diagnose", "--flow", "nginx-504",
                "--format", "json", "--nginx-conf", lab.nginx_conf, "--since", "10m",
                "--url", lab.url(paths[0]), "--save-snapshot", str(out),
                "--transcript", str(lab.prefix / "t.json")]
        done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO,
                              timeout=120)
        report = json.loads(done.stdout)
        snapshot = trim(json.loads(out.read_text(encoding="utf-8")), lab)
        # The log of the commands the run made is for people (whole `php-fpm -i`, dmesg
        # pages); a replay reads only the facts, so it stays out of the repository.
        snapshot.pop("commands", None)
        out.write_text(json.dumps(snapshot, indent=1) + "\n", encoding="utf-8")
        causes = ", ".join(c["id"] for c in report["causes"]) or "none"
        print(f"{out.name}: {len(out.read_bytes()) // 1024} KiB; causes: {causes}")
    finally:
        lab.stop()


if __name__ == "__main__":
    for wanted in sys.argv[1:] or list(SCENARIOS):
        record(wanted)
