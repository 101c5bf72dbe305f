"""A very large nginx configuration for the huge-config test and for bench/: many small
server files pulled in by one `include .../sites-enabled/*;` glob, the way a shared host
with thousands of sites is laid out.

    site = write_big_config(folder, servers=5000, locations=4, files=5000, port=8080)
    site.nginx_conf, site.server_name(123), site.socket(123), site.file_of(123)

Every server listens on the same address and has its own server_name
(`site00123.example`), its own docroot folder (shared, to keep the disk small) and
`locations` location blocks: `/`, a PHP location whose fastcgi_pass names that site's own
socket, then proxy locations to a closed port. No PHP-FPM listens on any socket, so every
PHP request of every site fails with 502, and the evidence names that site's file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.lab.harness import HTTP_IN_PREFIX

# 5,000 names of 17 characters need a larger server_names hash than nginx's default.
NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log info;
events {{ worker_connections 64; }}
http {{
""" + HTTP_IN_PREFIX + """\
    server_names_hash_max_size 131072;
    server_names_hash_bucket_size 128;
    include {prefix}/sites-enabled/*;
}}
"""

FIRST_LOCATIONS = """\
    location / {{
        try_files $uri $uri/ =404;
    }}
    location ~ \\.php$ {{
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:{socket};
    }}
"""

PROXY_LOCATION = """\
    location /app{n}/ {{
        proxy_pass http://127.0.0.1:{closed_port};
    }}
"""


@dataclass(frozen=True)
class BigSite:
    """Where the generated config is and how its parts are named."""

    prefix: Path
    servers: int
    locations: int
    files: int

    @property
    def nginx_conf(self) -> str:
        return str(self.prefix / "nginx.conf")

    @property
    def sites_dir(self) -> Path:
        return self.prefix / "sites-enabled"

    @property
    def total_locations(self) -> int:
        return self.servers * self.locations

    def server_name(self, index: int) -> str:
        return f"site{index:05d}.example"

    def socket(self, index: int) -> str:
        return str(self.prefix / "run" / f"php-{index:05d}.sock")

    def file_of(self, index: int) -> str:
        """The server file that holds server number `index`."""
        return str(self.sites_dir / f"site{index % self.files:05d}.conf")


def server_block(site: BigSite, index: int, port: int, closed_port: int) -> str:
    """One server block with `site.locations` locations (at least the two first ones)."""
    body = FIRST_LOCATIONS.format(socket=site.socket(index))
    body += "".join(PROXY_LOCATION.format(n=n, closed_port=closed_port)
                    for n in range(max(site.locations - 2, 0)))
    return (f"server {{\n    listen 127.0.0.1:{port};\n"
            f"    server_name {site.server_name(index)};\n"
            f"    root {site.prefix}/www;\n    index index.php;\n{body}}}\n")


def write_big_config(prefix: Path, *, servers: int, locations: int = 4,
                     files: int | None = None, port: int = 8080,
                     closed_port: int = 9) -> BigSite:
    """Write nginx.conf and `files` server files (default: one per server) under
    `prefix`; server i goes to file i % files. Returns how to find each part."""
    site = BigSite(prefix, servers, max(locations, 2), files or servers)
    for sub in ("logs", "tmp", "www", "run", "sites-enabled"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "www" / "index.php").write_text("<?php echo 'hello';\n")
    blocks: list[list[str]] = [[] for _ in range(site.files)]
    for index in range(servers):
        blocks[index % site.files].append(server_block(site, index, port, closed_port))
    for number, parts in enumerate(blocks):
        (site.sites_dir / f"site{number:05d}.conf").write_text("".join(parts))
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=prefix))
    return site
