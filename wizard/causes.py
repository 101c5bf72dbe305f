"""The catalogue of cause ids (CONTRACTS.md): the words a report uses for each.

Ids are a public contract: add new ones, never rename or remove.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    id: str
    title: str
    meaning: str
    # While it holds, nothing behind it can be what a visitor sees (nginx that does not
    # run answers nothing, so no upstream's failure shows): it leads the report.
    leads: bool = False


_CAUSES = [
    Cause("nginx_not_running", "nginx is not running",
          "No nginx master process is serving the site, so nothing answers on its ports.",
          leads=True),
    Cause("nginx_config_invalid", "nginx's configuration is invalid",
          "`nginx -t` rejects the configuration, so nginx cannot start or reload with it."),
    Cause("port_conflict", "Another program holds nginx's port",
          "A different process already listens on a port nginx needs, so nginx cannot bind it."),
    Cause("php_fpm_down", "PHP-FPM is not running",
          "nginx hands PHP requests to PHP-FPM, and no PHP-FPM is there to take them."),
    Cause("php_fpm_config_invalid", "PHP-FPM's configuration has a mistake",
          "A line of PHP-FPM's configuration is wrong, so PHP-FPM refuses to start or "
          "restart with it."),
    Cause("upstream_address_mismatch", "nginx points at the wrong upstream address",
          "The backend runs, but it listens somewhere other than where nginx sends requests."),
    Cause("upstream_down", "The upstream is down or refuses connections",
          "The backend nginx forwards to is not accepting connections."),
    Cause("socket_permission", "nginx may not use the upstream's socket",
          "The unix socket exists, but its owner or mode keeps nginx's worker user out."),
    Cause("php_fpm_timeout", "PHP-FPM stopped a slow script",
          "The script ran longer than request_terminate_timeout or max_execution_time allows."),
    Cause("upstream_timeout", "nginx gave up waiting for the upstream",
          "The backend took longer than nginx's connect or read timeout."),
    Cause("upstream_crash", "The upstream process crashed",
          "The backend process died while handling the request (a crash or the OOM killer)."),
    Cause("upstream_closed", "The upstream closed the connection",
          "The backend hung up or reset the connection before sending a full answer."),
    Cause("header_too_big", "The upstream's response header is too big",
          "The backend sent response headers larger than nginx's buffer for them."),
    Cause("upstream_tls", "TLS to the upstream failed",
          "nginx could not complete a TLS handshake with an https backend."),
    Cause("upstream_dns", "An upstream host name does not resolve",
          "nginx cannot turn the backend's host name into an address."),
    Cause("invalid_response", "The upstream sent an invalid answer",
          "The backend answered with something that is not valid HTTP or FastCGI."),
    Cause("php_fpm_saturated", "PHP-FPM has no free workers",
          "Every PHP-FPM child is busy (pm.max_children reached), so requests wait or fail."),
    Cause("resource_exhaustion", "The server ran out of a resource",
          "Connections, open files, memory, disk space or local ports ran out."),
    Cause("firewall_blocking", "A firewall blocks the traffic",
          "A firewall rule drops or rejects connections to nginx's ports or to the backend."),
    Cause("mac_denied", "SELinux or AppArmor stops nginx",
          "The system's security policy refuses nginx a connection or a file that the "
          "permissions and the firewall would allow."),
    Cause("server_name_mismatch", "No server block is set up for this domain",
          "The requested host name matches no server_name, so another site's block answers."),
    Cause("dns_resolution", "The domain does not point at this server",
          "The requested domain does not resolve to an address of this host."),
    Cause("file_permission", "Files are not readable by the web server",
          "PHP files or their folders cannot be read by the PHP-FPM or nginx user."),
    Cause("script_not_found", "PHP-FPM cannot find the script",
          "The script path nginx sends (SCRIPT_FILENAME, root) does not exist for PHP-FPM."),
]

CAUSES: dict[str, Cause] = {c.id: c for c in _CAUSES}


def cause(cause_id: str) -> Cause:
    """The catalogue entry for an id; unknown ids (from a runbook flow) get a plain title."""
    return CAUSES.get(cause_id) or Cause(cause_id, cause_id.replace("_", " ").capitalize(), "")
