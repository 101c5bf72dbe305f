"""Diagnosis figures: `diagnose --format json --url ...` on a lab whose proxy_pass points
at a closed port, against the manual runbook as a plain shell script on the same host;
and the peak memory of diagnose on the largest config and log.

    python bench/run.py diagnose [--short]
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from biglog import write_error_log
from config import big_site, diagnose_argv
from measure import PY, Figure, medians, run_once, side_by_side

from tests.lab.harness import Lab

# The article's runbook, as someone would paste it into a script: nginx's status, its
# config test, the listening ports, nginx's error log, PHP-FPM's status and its log, the
# resources (free and df for htop), the firewall rules, and a request.
RUNBOOK = """\
systemctl status nginx --no-pager 2>&1 || service nginx status 2>&1
nginx -t -p {prefix}/ -c {conf} 2>&1
ss -ltnp
tail -n 50 {error_log}
systemctl status {fpm} --no-pager 2>&1 || service {fpm} status 2>&1
tail -n 50 {fpm_log} 2>&1
free -m
df -h
iptables -S 2>&1
curl -sS -I --max-time 5 {url}
"""
MB = 1024 * 1024


def fpm_service() -> str:
    """The distro's PHP-FPM service (php8.2-fpm on Debian 12), named after its binary."""
    found = sorted(glob.glob("/usr/sbin/php-fpm*"))
    name = os.path.basename(found[-1]) if found else "php-fpm"
    version = name.removeprefix("php-fpm")
    return f"php{version}-fpm" if version else "php-fpm"


def closed_port_lab() -> Lab:
    return Lab(php=False, php_location=False,
               locations="        location /api/ "
                         "{ proxy_pass http://127.0.0.1:{closed_port}; }")


def latency_figures(work: Path, runs: int) -> list[Figure]:
    with closed_port_lab() as lab:
        url = lab.url("/api/items")
        script = work / "runbook.sh"
        fpm = fpm_service()
        script.write_text(RUNBOOK.format(prefix=lab.prefix, conf=lab.nginx_conf,
                                         error_log=lab.error_log, fpm=fpm,
                                         fpm_log=f"/var/log/{fpm}.log", url=url))
        ours = [PY, "-m", "wizard", "diagnose", "--nginx-conf", lab.nginx_conf,
                "--url", url, "--format", "json"]
        a, b = side_by_side(ours, ["sh", str(script)], runs)
    command = ("python -m wizard diagnose --nginx-conf LAB/nginx.conf --url URL "
               "--format json; sh runbook.sh")
    return [
        Figure("diagnosis: diagnose --url, median", a.wall, 0.5, "s",
               f"diagnose {a.wall:.3f} s ({a.cpu:.2f} s CPU), {a.rss_mib:.1f} MiB", command,
               ci=False),
        Figure("diagnosis: diagnose --url vs runbook script", a.wall / b.wall, 2.0, "x",
               f"diagnose {a.wall:.3f} s vs runbook {b.wall:.3f} s "
               f"(CPU {a.cpu:.2f} s vs {b.cpu:.2f} s)", command,
               {"diagnose_s": a.wall, "runbook_s": b.wall}),
    ]


def memory_figure(work: Path, short: bool, runs: int) -> Figure:
    """Peak RSS of diagnose on the big config with a big error.log where it points."""
    servers, size = (200, 64 * MB) if short else (5000, 2048 * MB)
    site = big_site(work, servers)
    log = site.prefix / "logs" / "error.log"
    write_error_log(log, size)
    peak = work / "diagnose.peak"
    own = [PY, str(Path(__file__).with_name("own_peak.py")), str(peak), *diagnose_argv(site)[3:]]
    try:
        done = [(run_once(own), int(peak.read_text()) / 1024) for _ in range(runs)]
    finally:
        os.unlink(log)
    a = medians([run for run, _ in done])
    mib = sorted(kib for _, kib in done)[len(done) // 2]
    return Figure(f"memory: diagnose peak RSS ({servers} servers, {size // MB} MB log)",
                  mib, 80.0, "MiB",
                  f"diagnose {mib:.1f} MiB of its own in {a.wall:.2f} s (with its nginx -t "
                  f"child, as GNU time counts: {a.rss_mib:.1f} MiB)",
                  "python bench/own_peak.py OUT diagnose --nginx-conf BIG/nginx.conf "
                  "--format json (VmHWM of the wizard process)", {"diagnose_s": a.wall})


def figures(work: Path, short: bool, runs: int) -> list[Figure]:
    return [*latency_figures(work, runs), memory_figure(work, short, runs)]
