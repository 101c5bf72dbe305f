"""SELinux fixes: let nginx (the httpd_t domain) open network connections, or label a
unix socket's folder with the type nginx may connect to.

Both change policy that survives a reboot, so each plan records its exact undo. The
boolean's plan also carries what `getsebool` printed when the plan was made: apply reads
it again and refuses, running nothing, when someone changed the setting meanwhile.

No AppArmor fix is offered: the only quick ones (complain mode, removing the profile)
switch nginx's confinement off as a whole; the check names the profile line to add.
"""

from __future__ import annotations

import os
import re
from typing import Any

from wizard.fixes.base import FixNotApplicable, FixPlan, Precondition, fix_action, fix_id
from wizard.host.facts import Facts

BOOLEANS = ("httpd_can_network_connect", "httpd_can_network_relay")
SOCKET_TYPE = "httpd_var_run_t"  # the run-time files of web servers: nginx may connect
# Folders whose label many other programs rely on: a rule for all of them is never ours.
SHARED_FOLDERS = {"/", "/run", "/var/run", "/var", "/tmp", "/var/tmp", "/home", "/srv",
                  "/opt", "/usr", "/etc", "/var/lib", "/dev", "/dev/shm"}
# Characters a folder name may have here: semanage reads the spec as a regular expression,
# and anything beyond these would match more than the folder (a "." matches one character
# of any kind, which only ever widens the rule to names that differ in that place).
_SAFE_FOLDER = re.compile(r"^/[A-Za-z0-9._/-]+$")


def _selinux(facts: Facts) -> dict[str, Any]:
    selinux = (facts.try_get("mac") or {}).get("selinux") or {}
    if selinux.get("mode") not in ("enforcing", "permissive"):
        raise FixNotApplicable("SELinux is not active on this host, so none of its settings "
                               "can be the cause")
    return selinux


def plan_set_boolean(name: str, selinux: dict[str, Any]) -> FixPlan:
    if not name:
        raise FixNotApplicable("SELinux refused nginx no network connection, so no SELinux "
                               "setting needs to change")
    if name not in BOOLEANS:
        raise FixNotApplicable(f"{name!r} is not a setting this wizard changes")
    current = (selinux.get("booleans") or {}).get(name)
    if not current:
        raise FixNotApplicable(f"the current value of {name} could not be read (getsebool), "
                               "so no undo could be planned")
    if current["value"] == "on" and not current.get("pending"):
        raise FixNotApplicable(f"{name} is already on: something else refuses the connection")
    before = "1" if current["value"] == "on" else "0"
    return FixPlan(
        id=fix_id("selinux.set_boolean", {"boolean": name}),
        title=f"Turn on the SELinux setting {name}",
        commands=[["setsebool", "-P", name, "1"]], needs_root=True,
        undo=[["setsebool", "-P", name, before]],
        verify="nginx connects to its upstream again (the request that failed answers, or "
               "SELinux refuses nginx nothing new)",
        notes=[f"-P writes {name} into the policy on disk, so it lasts after a reboot; this "
               "takes a few seconds.",
               "It lets nginx, and anything else running as the web server, connect to any "
               "network port. To allow a single port instead: semanage port -a -t "
               "http_port_t -p tcp PORT."],
        preconditions=[Precondition.of_output(["getsebool", name], current["line"],
                                              f"the SELinux setting {name}")],
    )


def _folder(socket: str) -> str:
    if not socket:
        raise FixNotApplicable("SELinux refused nginx no unix socket, so no label needs to "
                               "change")
    if not socket.startswith("/") or ".." in socket.split("/"):
        raise FixNotApplicable(f"{socket!r} is not a full path to a socket")
    folder = os.path.dirname(os.path.normpath(socket))
    if folder in SHARED_FOLDERS:
        raise FixNotApplicable(f"the socket sits directly in {folder}, which many programs "
                               "share: move it into a folder of its own (for example "
                               f"{folder.rstrip('/')}/APP/), then label that folder")
    if not _SAFE_FOLDER.match(folder):
        raise FixNotApplicable(f"the folder name {folder!r} has characters a label rule "
                               "would read as a pattern; label it by hand")
    return folder


def plan_socket_context(socket: str, mac: dict[str, Any]) -> FixPlan:
    folder = _folder(socket)
    known: dict[str, Any] = next(
        (s for s in mac.get("sockets") or [] if s.get("socket") == socket), {})
    if f":{SOCKET_TYPE}:" in str(known.get("context") or ""):
        raise FixNotApplicable(f"{socket} already has the type {SOCKET_TYPE}")
    spec = f"{folder}(/.*)?"
    relabel = ["restorecon", "-R", "-v", folder]
    return FixPlan(
        id=fix_id("selinux.socket_context", {"socket": socket}),
        title=f"Label {folder} so nginx may connect to its socket",
        commands=[["semanage", "fcontext", "-a", "-t", SOCKET_TYPE, spec], relabel],
        needs_root=True,
        undo=[["semanage", "fcontext", "-d", spec], relabel],
        verify=f"{socket} carries the type {SOCKET_TYPE} and nginx connects to it",
        notes=[f"The rule stays in the policy, so {socket} gets the type again when its "
               "program creates it after a restart; restorecon relabels what is there now.",
               "The program that creates the socket must itself be allowed to write "
               f"{SOCKET_TYPE} files (PHP-FPM is); if it is not, SELinux refuses it next."],
    )


@fix_action("selinux.set_boolean", params=("boolean",))
def set_boolean(args: dict[str, str], facts: Facts) -> FixPlan:
    """Turn on an SELinux setting that lets nginx connect to network upstreams."""
    return plan_set_boolean(str(args.get("boolean") or "").strip(), _selinux(facts))


@fix_action("selinux.socket_context", params=("socket",))
def socket_context(args: dict[str, str], facts: Facts) -> FixPlan:
    """Label a unix socket's folder with the type nginx may connect to."""
    _selinux(facts)
    return plan_socket_context(str(args.get("socket") or "").strip(),
                               facts.try_get("mac") or {})
