"""Which running servers belong to the site being diagnosed: the nginx masters that run the
config the `nginx` fact read, and the PHP-FPM configs whose pools nginx passes PHP to. A
second nginx or PHP-FPM on the host (another site, a test instance) has its own history,
and its start must not pass for a change of this one."""

from __future__ import annotations

import os
from typing import Any

from wizard.host.phpfpm import pool_for_target


def _conf_of(instance: dict[str, Any], build_conf: str | None) -> str | None:
    conf, prefix = instance.get("c") or build_conf, instance.get("p")
    if conf and not os.path.isabs(conf) and prefix:
        conf = os.path.join(prefix, conf)  # nginx resolves -c against the prefix
    return os.path.normpath(conf) if conf else None


def nginx_masters(nginx: dict[str, Any]) -> list[int]:
    """Pids of the masters running the diagnosed config (all of them when none says)."""
    wanted = os.path.normpath(nginx["conf_path"]) if nginx.get("conf_path") else None
    build_conf = (nginx.get("build") or {}).get("conf_path")
    instances = nginx.get("instances") or []
    mine = [i["pid"] for i in instances if wanted and _conf_of(i, build_conf) == wanted]
    return mine or ([] if instances else list(nginx.get("master_pids") or []))


def phpfpm_confs(nginx: dict[str, Any], phpfpm: dict[str, Any]) -> set[str]:
    """The PHP-FPM configs whose pools nginx's fastcgi_pass lines reach; every config when
    none does (nginx points elsewhere, and any of them may be the one it should reach)."""
    pools = phpfpm.get("pools") or []
    # Thousands of sites often pass PHP to one address: look each address up once.
    addresses = {(p.get("socket"), p.get("host"), p.get("port"))
                 for p in nginx.get("passes") or [] if p.get("kind") == "fastcgi"}
    serving = set()
    for socket, host, port in addresses if pools else ():
        pool = pool_for_target(pools, socket, host, port)
        if pool and pool.get("conf"):
            serving.add(pool["conf"])
    return serving or {c["conf"] for c in phpfpm.get("configs") or [] if c.get("conf")}
