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
SERVERS = 5000


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
    """The issue's own size in both modes. nginx -t's cost per server grows with the
    config (here 0.13 ms of CPU a server at 1,000 servers, 0.23 ms at 5,000), so a smaller
    config flatters nginx: the short mode before, the difference between 200 and 1,000
    servers, swung from 4x to 8x between machines. Short mode only makes fewer runs (3;
    a pair takes about 5 s on an idle 2-core machine)."""
    command = ("python -m wizard diagnose --nginx-conf BIG/nginx.conf --format json; "
               "nginx -t -q -p BIG/ -c BIG/nginx.conf")
    site, a, b = _measure(work, SERVERS, runs)
    return [Figure(
        f"config: {site.servers} servers / {site.total_locations} locations vs nginx -t",
        a.wall / b.wall, 2.0, "x",
        f"diagnose --nginx-conf {a.wall:.2f} s vs nginx -t {b.wall:.2f} s "
        f"(CPU {a.cpu:.2f} s vs {b.cpu:.2f} s; {site.servers} files)", command,
        {"diagnose_s": a.wall, "nginx_t_s": b.wall, "diagnose_mib": a.rss_mib})]
