"""The practice scenarios: each breaks a healthy sandbox in one way a real site breaks,
and names the cause the wizard should find first. Only breaks that need nothing of the
host's own (its services, firewall, security policy or DNS) are here.

A scenario's name is the cause id it teaches (see CONTRACTS.md), so a test can check
that the diagnosis names it; its summary is the one line `practice --list` shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from wizard.practice.sandbox import Sandbox, SandboxSpec
from wizard.practice.templates import BROKEN_SITE

Visit = Callable[[Sandbox], None]
LOG_WAIT = 10.0
POLL = 0.05


@dataclass(frozen=True)
class Scenario:
    name: str  # the cause id the wizard should name first
    summary: str
    spec: SandboxSpec = field(default_factory=SandboxSpec)
    path: str = "/index.php"  # the page that fails, given to the wizard as --url
    host: str | None = None  # the name in that address, when not the sandbox's IP
    visit: Visit | None = None  # what visitors did first; default: one opened the page

    @property
    def needs_phpfpm(self) -> bool:
        return self.spec.php

    def url(self, sandbox: Sandbox) -> str:
        return sandbox.url(self.path, self.host)

    def visitors(self, sandbox: Sandbox) -> None:
        """What visitors did before the wizard opens, so the logs tell of it as they
        would on a real site."""
        if self.visit is not None:
            self.visit(sandbox)
        else:
            sandbox.request(self.path, self.host)


def wait_for_line(path: str, needle: str, timeout: float = LOG_WAIT) -> bool:
    """Has the log at `path` got `needle` (logs are written just after the response)?"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if needle in Path(path).read_text(errors="replace"):
                return True
        except OSError:
            pass
        time.sleep(POLL)  # polling a log with a deadline
    return False


def rush_of_slow_requests(sandbox: Sandbox) -> None:
    """Eight visitors at once on a two-second page: two workers and a queue of one
    cannot take them, and PHP-FPM logs that it reached pm.max_children."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: sandbox.request("/slow.php?s=2", timeout=20), range(8)))
    wait_for_line(f"{sandbox.prefix}/logs/php-fpm.log", "reached pm.max_children")


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("php_fpm_down", "PHP-FPM is stopped, so every PHP page fails.",
             SandboxSpec(start_php=False)),
    Scenario("upstream_address_mismatch",
             "nginx hands PHP pages to a socket where no PHP-FPM listens.",
             SandboxSpec(fastcgi_pass="unix:{prefix}/php8.1-fpm.sock")),
    Scenario("socket_permission",
             "PHP-FPM's socket may be opened by root only, not by nginx's workers.",
             SandboxSpec(listen_owner="root", listen_group="root", listen_mode="0600")),
    Scenario("php_fpm_timeout",
             "PHP-FPM ends scripts after one second; a report page needs two.",
             SandboxSpec(request_terminate_timeout="1s",
                         php_location_extra="            fastcgi_read_timeout 5s;"),
             path="/slow.php?s=2"),
    Scenario("upstream_crash", "A PHP page makes its worker process crash.",
             path="/crash.php"),
    Scenario("php_fpm_saturated",
             "A rush of slow requests took all of PHP-FPM's workers.",
             SandboxSpec(pm="dynamic", max_children=2, pool_extra="listen.backlog = 1"),
             visit=rush_of_slow_requests),
    Scenario("file_permission",
             "A PHP file may be read by root only, so PHP-FPM cannot open it.",
             SandboxSpec(files={"www/account.php": ("<?php echo \"Your account.\\n\";\n",
                                                    0o600)}),
             path="/account.php"),
    Scenario("upstream_down",
             "nginx passes /api/ to an application server that is not running.",
             SandboxSpec(php=False, locations=(
                 "        location /api/ { proxy_pass http://127.0.0.1:{closed_port}; }")),
             path="/api/orders"),
    Scenario("header_too_big",
             "A PHP page sends a cookie larger than nginx's buffer for headers.",
             path="/cookies.php?n=16000"),
    Scenario("upstream_tls",
             "nginx speaks HTTPS to a backend that speaks plain HTTP.",
             SandboxSpec(php=False, http_extra=(
                 "    server { listen 127.0.0.1:{spare_port};\n"
                 "             location / { return 200 'plain http\\n'; } }"),
                 locations="        location /app/ { proxy_pass https://127.0.0.1:{spare_port}; }"),
             path="/app/"),
    Scenario("upstream_dns",
             "The backend's host name does not resolve.",
             SandboxSpec(php=False,
                         server_extra=("        resolver 127.0.0.1:{closed_port};\n"
                                       "        resolver_timeout 1s;"),
                         locations=("        location /shop/ { set $backend "
                                    "http://shop-backend.invalid; proxy_pass $backend; }")),
             path="/shop/"),
    Scenario("server_name_mismatch",
             "The requested name matches no site, so an old default site answers.",
             SandboxSpec(http_extra=(
                 "    server { listen 127.0.0.1:{port} default_server; "
                 "server_name old.example;\n"
                 "             location / { proxy_pass http://127.0.0.1:{closed_port}; } }")),
             path="/", host="localhost"),
    Scenario("nginx_config_invalid",
             "A hurried edit left a syntax error, and nginx did not start again.",
             SandboxSpec(start_nginx=False,
                         http_extra="    include {prefix}/conf.d/*.conf;",
                         files={"conf.d/shop.conf": (BROKEN_SITE, 0o644)})),
    Scenario("nginx_not_running", "nginx is stopped.", SandboxSpec(start_nginx=False)),
    Scenario("port_conflict",
             "Another program took nginx's port before nginx could start.",
             SandboxSpec(start_nginx=False, hold_port=True)),
)

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
