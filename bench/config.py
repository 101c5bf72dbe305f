"""Config figure: a generated nginx config with 5,000 server blocks and 20,000 locations
over 5,000 included files (tests/lab/big_config.py), loaded and checked by the wizard
(`diagnose --nginx-conf`) against `nginx -t` on the same files.

    python bench/run.py config [--short]
"""

from __future__ import annotations

import shutil
from pathlib import Path

from measure import PY, Figure, Run, side_by_side

from tests.lab.big_config import BigSite, write_big_config

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SHORT_SERVERS = (200, 1000)  # short mode: what 800 servers more cost each side


def big_site(work: Path, servers: int) -> BigSite:
    return write_big_config(work / f"big-{servers}", servers=servers, locations=4,
                            files=servers)


def diagnose_argv(site: BigSite) -> list[str]:
    return [PY, "-m", "wizard", "diagnose", "--nginx-conf", site.nginx_conf,
            "--format", "json"]


def _measure(work: Path, servers: int, runs: int) -> tuple[BigSite, Run, Run]:
    site = big_site(work, servers)
    nginx_t = [NGINX, "-t", "-q", "-p", f"{site.prefix}/", "-c", site.nginx_conf]
    return (site, *side_by_side(diagnose_argv(site), nginx_t, runs))


def figures(work: Path, short: bool, runs: int) -> list[Figure]:
    command = ("python -m wizard diagnose --nginx-conf BIG/nginx.conf --format json; "
               "nginx -t -q -p BIG/ -c BIG/nginx.conf")
    if short:
        # diagnose does more than load the config (facts, probes, the walk): on a small
        # config that fixed part hides the config's cost, so compare what more costs, in
        # CPU time (a difference of two wall times on a busy machine is mostly noise).
        small, large = SHORT_SERVERS
        _s, a0, b0 = _measure(work, small, runs)
        _l, a, b = _measure(work, large, runs)
        return [Figure(
            f"config: {large - small} servers more, diagnose vs nginx -t",
            (a.cpu - a0.cpu) / max(b.cpu - b0.cpu, 1e-3), 2.0, "x",
            f"CPU: diagnose {a0.cpu:.2f} -> {a.cpu:.2f} s vs nginx -t {b0.cpu:.2f} -> "
            f"{b.cpu:.2f} s ({small} -> {large} servers)", command)]
    site, a, b = _measure(work, 5000, runs)
    return [Figure(
        f"config: {site.servers} servers / {site.total_locations} locations vs nginx -t",
        a.wall / b.wall, 2.0, "x",
        f"diagnose --nginx-conf {a.wall:.2f} s vs nginx -t {b.wall:.2f} s "
        f"(CPU {a.cpu:.2f} s vs {b.cpu:.2f} s; {site.servers} files)", command,
        {"diagnose_s": a.wall, "nginx_t_s": b.wall, "diagnose_mib": a.rss_mib})]
