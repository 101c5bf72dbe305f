"""What nginx and PHP-FPM error-log records say: a catalogue of message signatures.

Every pattern is built from the message text in the programs' own source (the `origin`
of each signature names the file and the format string), so a record is recognised by
what the program really writes, not by a guess. A record is the header line written by
nginx (`2024/05/01 10:00:00 [error] 12#12: *5 ...`), PHP-FPM (`[01-May-2024 10:00:00]
WARNING: ...`) or PHP (`[01-May-2024 10:00:00 UTC] PHP Fatal error: ...`) plus the lines
that continue it (a PHP message relayed by nginx keeps its own line breaks).

Errno texts are matched by their words, not their numbers, because the numbers differ
between Linux and the BSDs while strerror()'s words do not.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wizard.compat import UTC
from wizard.log_needles import needles
from wizard.socket_path import single_leading_slash

# --- record headers -------------------------------------------------------------------

# ngx_log.c: "%4d/%02d/%02d %02d:%02d:%02d [%V] %P#%TID: *%uA " then the message.
NGINX_HEADER = re.compile(
    r"^(?P<time>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>[a-z]+)\] "
    r"(?P<pid>\d+)#(?P<tid>\d+): (?:\*(?P<conn>\d+) )?(?P<message>.*)$", re.S)
# `nginx -t` / a failed start writes "nginx: [emerg] ..." to stderr (journal, console).
NGINX_STDERR_HEADER = re.compile(r"^nginx: \[(?P<level>[a-z]+)\] (?P<message>.*)$", re.S)
# zlog.c: "[%d-%b-%Y %H:%M:%S" (".%06d" at log_level=debug) "] " "%s: " level name, and at
# debug also "pid %d, %s(), line %d: ".
PHPFPM_HEADER = re.compile(
    r"^\[(?P<time>\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2})(?:\.\d+)?\] "
    r"(?P<level>DEBUG|NOTICE|WARNING|ERROR|ALERT): "
    r"(?:pid (?P<pid>\d+), \w+\(\), line \d+: )?(?P<message>.*)$", re.S)
# PHP's own error_log: "[01-May-2024 10:00:00 UTC] PHP Fatal error:  ...".
PHP_HEADER = re.compile(
    r"^\[(?P<time>\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2})(?: (?P<tz>[\w/+-]+))?\] "
    r"(?P<message>PHP .*)$", re.S)

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
ERROR_LEVELS = {"error", "crit", "alert", "emerg", "ERROR", "ALERT"}

# ngx_http_request.c ngx_http_log_error_handler: the context nginx appends to a message.
_ACTION = re.compile(r" while (?P<action>[a-zA-Z0-9 _-]+?)(?=, client: |$)")
_TAIL = re.compile(
    r', (?P<key>client|server|request|subrequest|upstream|host|referrer): '
    r'(?P<value>"(?:[^"\\]|\\.)*"|[^,]*)')
_ERRNO = re.compile(r"\((?P<errno>\d+): (?P<errtext>[^)]{0,200})\)")  # bounded: linear
_PHPFPM_ERRNO = re.compile(r": (?P<errtext>[A-Za-z][^:()]*) \((?P<errno>\d+)\)$")
_SOCKET = re.compile(r"unix:(?P<socket>/[^\s\"]*?)(?=:?\"|:? |:?$|:/| failed)")
_POOL = re.compile(r"\[pool (?P<pool>[^\]]+)\]")

# The log actions that mean "nginx was talking to the upstream" (ngx_http_upstream.c).
UPSTREAM_ACTION = (r"(?:connecting to upstream|SSL handshaking to upstream|"
                   r"sending request to upstream|reading response header from upstream|"
                   r"reading upstream|proxying upgraded connection)")
_UPSTREAM_WHILE = rf".* while {UPSTREAM_ACTION}"


# --- the catalogue --------------------------------------------------------------------

# In the words below, "{the upstream}" stands for the program behind the address when it
# is known ("gunicorn", "PHP-FPM"), and reads as the words in the braces when it is not.
_PROGRAM = re.compile(r"\{([^{}]+)\}")


def name_program(words: str, program: str | None = None) -> str:
    """The words with each {placeholder} said as the program, or as written without it."""
    return _PROGRAM.sub(lambda m: program or m.group(1), words)


@dataclass(frozen=True)
class Signature:
    name: str
    log: str  # which program writes it: "nginx", "php-fpm" or "php"
    regex: str  # the pattern's text; `pattern` compiles it (re.S) when it is first tried
    causes: tuple[str, ...]  # cause ids (CONTRACTS.md), most likely first
    explanation: str  # what the record means, in general words
    origin: str  # where the text comes from in the program's source
    anchored: bool = True  # match at the start of the message, not anywhere in it
    said: str = ""  # what the record says, in a few words ("the upstream did not answer")
    template: str = ""  # the explanation with {the upstream} where the program fits

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        # A diagnosis tries a handful of the catalogue's patterns; compiling all of them
        # when the module loads cost more than classifying its records.
        return re.compile(self.regex, re.S)

    def explained(self, program: str | None = None) -> str:
        """The explanation, naming the program behind the address when it is known."""
        return name_program(self.template or self.explanation, program)

    def says(self, program: str | None = None) -> str:
        """What the record says in a few words, naming the program when it is known."""
        return name_program(self.said, program)


def _sig(name: str, log: str, regex: str, causes: tuple[str, ...], explanation: str,
         origin: str, anchored: bool = True, said: str = "") -> Signature:
    return Signature(name, log, regex, causes, name_program(explanation), origin, anchored,
                     said, explanation)


_CONNECT = r"connect\(\) (?:to (?P<peer>\S+) )?failed"
_UNIX_CONNECT = r"connect\(\) to (?P<peer>unix:\S+) failed"
_TCP_CONNECT = r"connect\(\) (?:to (?P<peer>[^u\s]\S*) )?failed"
_IO = r"(?:recv|readv|send|writev|sendfile|SSL_read|SSL_write|SSL_do_handshake)\(\) failed"
_STDERR = r'FastCGI sent in stderr: "'
# PHP 8 puts its own warnings before PHP-FPM's message in the same stderr record, joined
# by "; " ("PHP message: PHP Warning: ... Failed to open stream: ...; Unable to open
# primary script: ..."); older versions put them on lines of their own.
_STDERR_BEFORE = r"(?:.*?(?:; |\n))?"

SIGNATURES: tuple[Signature, ...] = (
    # -- nginx: connecting to the upstream (ngx_event_connect.c, ngx_http_upstream.c) --
    _sig("upstream_socket_missing", "nginx",
         _UNIX_CONNECT + r" \(\d+: No such file or directory\)",
         ("php_fpm_down", "upstream_address_mismatch"),
         "nginx tried to connect to the unix socket of {the upstream}, and the socket file "
         "does not exist: {the program that should create it (PHP-FPM, an app server)} is "
         "not running, or creates its socket at another path.",
         'ngx_event_connect.c: "connect() to %V failed" with ENOENT',
         said="the socket file of {the upstream} does not exist"),
    _sig("socket_permission_denied", "nginx",
         _UNIX_CONNECT + r" \(\d+: Permission denied\)",
         ("socket_permission", "mac_denied"),
         "The unix socket of {the upstream} exists, but nginx's worker user may not open it: "
         "its owner, group or mode keep nginx out (for PHP-FPM: listen.owner, listen.group "
         "and listen.mode in the pool).",
         'ngx_event_connect.c: "connect() to %V failed" with EACCES',
         said="nginx's worker user may not open the socket of {the upstream}"),
    _sig("upstream_socket_refused", "nginx",
         _UNIX_CONNECT + r" \(\d+: Connection refused\)",
         ("php_fpm_down", "upstream_down"),
         "The socket file exists but nothing accepts connections on it: {the backend that "
         "created it} has stopped or crashed and left the file behind.",
         'ngx_event_connect.c: "connect() to %V failed" with ECONNREFUSED',
         said="nothing accepts connections on the socket of {the upstream}"),
    _sig("upstream_socket_backlog_full", "nginx",
         _UNIX_CONNECT + r" \(\d+: (?:Resource temporarily unavailable|Operation would block)\)",
         ("php_fpm_saturated", "resource_exhaustion"),
         "The connection queue on the socket of {the backend} is full (Linux answers EAGAIN "
         "instead of 'refused'): every worker is busy and the waiting list (listen.backlog) "
         "overflowed.",
         'ngx_event_connect.c: "connect() to %V failed" with EAGAIN (Linux, unix sockets; '
         'musl, as on Alpine, words it "Operation would block")',
         said="the connection queue on the socket of {the upstream} is full"),
    _sig("upstream_refused", "nginx",
         # a refused non-blocking connect can surface at the first read (recv() failed)
         r"(?:" + _CONNECT + "|" + _IO + r") \(\d+: Connection refused\)" + _UPSTREAM_WHILE,
         ("php_fpm_down", "upstream_down", "upstream_address_mismatch", "firewall_blocking"),
         "Nothing listens on the address and port of {the upstream}: {the backend} is down, "
         "listens on another address, or a firewall rejects the connection.",
         'ngx_http_upstream.c: "connect() failed"; ngx_event_connect.c: "connect() to %V failed"'
         " with ECONNREFUSED",
         said="the connection to {the upstream} was refused"),
    _sig("upstream_ipv6_unavailable", "nginx",
         r"connect\(\) to (?P<peer>\[[0-9a-fA-F:.]*\]:\d+) failed "
         r"\(\d+: Cannot assign requested address\)",
         ("upstream_address_mismatch",),
         "nginx tried an IPv6 address (often 'localhost' resolving to ::1) on a host without "
         "IPv6; point proxy_pass (or fastcgi_pass) at 127.0.0.1 instead.",
         'ngx_event_connect.c: "connect() to %V failed" with EADDRNOTAVAIL',
         said="nginx tried an IPv6 address this host does not have"),
    _sig("upstream_local_ports_exhausted", "nginx",
         _CONNECT + r" \(\d+: Cannot assign requested address\)",
         ("resource_exhaustion",),
         "nginx has no free local port left to open another connection to {the upstream} "
         "(too many connections in TIME_WAIT); enable upstream keepalive.",
         'ngx_event_connect.c: "connect() to %V failed" with EADDRNOTAVAIL',
         said="nginx ran out of local ports for connections to {the upstream}"),
    _sig("upstream_unreachable", "nginx",
         _CONNECT + r" \(\d+: (?:No route to host|Network is unreachable|Host is down|"
         r"Network is down)\)",
         ("firewall_blocking", "upstream_down"),
         "The network path to {the upstream} is blocked or missing: a firewall rejects it, or "
         "the upstream host is down or unreachable.",
         'ngx_event_connect.c: "connect() to %V failed" with EHOSTUNREACH / ENETUNREACH',
         said="there is no network path to {the upstream}"),
    _sig("upstream_connect_forbidden", "nginx",
         _TCP_CONNECT + r" \(\d+: Permission denied\)",
         ("mac_denied", "firewall_blocking"),
         "The system forbade nginx to connect to {a network upstream}: usually SELinux "
         "(httpd_can_network_connect off) or a local security policy.",
         'ngx_event_connect.c: "connect() to %V failed" with EACCES',
         said="the system forbade nginx to connect to {the upstream}"),
    _sig("upstream_timed_out_connecting", "nginx",
         r"(?:upstream timed out|" + _CONNECT + r") \(\d+: Connection timed out\)"
         r".* while (?:connecting to upstream|SSL handshaking to upstream)",
         ("upstream_timeout", "firewall_blocking", "upstream_down"),
         "{The upstream} never answered the connection attempt within proxy/fastcgi_connect_"
         "timeout: a firewall silently drops the packets, or the host is down or overloaded.",
         'ngx_http_upstream.c: "upstream timed out" (ETIMEDOUT) while connecting to upstream',
         said="connecting to {the upstream} timed out"),
    _sig("upstream_connect_failed", "nginx",
         _CONNECT + r" \(\d+: [^)]*\)" + _UPSTREAM_WHILE,
         ("upstream_down",),
         "nginx could not open a connection to {the upstream}.",
         'ngx_event_connect.c: "connect() to %V failed" (other errors)',
         said="nginx could not connect to {the upstream}"),
    _sig("no_live_upstreams", "nginx",
         r"no live upstreams",
         ("upstream_down",),
         "Every server of the upstream group was marked failed after earlier errors "
         "(max_fails / fail_timeout), so nginx did not even try: look for the errors before.",
         'ngx_http_upstream.c: "no live upstreams"',
         said="no server of an upstream group was left to try"),
    _sig("upstream_server_disabled", "nginx",
         r"upstream server temporarily disabled",
         ("upstream_down",),
         "One server of an upstream group failed max_fails times and is skipped for "
         "fail_timeout.",
         'ngx_http_upstream_round_robin.c: "upstream server temporarily disabled"',
         said="a server of an upstream group was taken out after failing"),
    # -- nginx: waiting for / reading the answer --
    _sig("upstream_timed_out_reading", "nginx",
         r"upstream timed out \(\d+: [^)]*\) while "
         r"(?:reading response header from upstream|reading upstream|"
         r"proxying upgraded connection)",
         ("upstream_timeout", "php_fpm_saturated"),
         "{The upstream} accepted the request but sent no answer within proxy/fastcgi_read_"
         "timeout: the request takes too long there, or all its workers are busy.",
         'ngx_http_upstream.c: "upstream timed out" (ETIMEDOUT)',
         said="{the upstream} did not answer in time"),
    _sig("upstream_timed_out_sending", "nginx",
         r"upstream timed out \(\d+: [^)]*\) while sending request to upstream",
         ("upstream_timeout", "php_fpm_saturated"),
         "{The upstream} stopped reading the request body within proxy/fastcgi_send_timeout.",
         'ngx_http_upstream.c: "upstream timed out" while sending request to upstream',
         said="{the upstream} did not take the request in time"),
    _sig("upstream_reset", "nginx",
         _IO + r" \(\d+: Connection reset by peer\)" + _UPSTREAM_WHILE,
         ("upstream_crash", "upstream_closed", "php_fpm_timeout"),
         "{The upstream} reset the connection before answering: its worker crashed or was "
         "killed (for example by request_terminate_timeout), or it refused the request.",
         'ngx_recv.c "recv() failed" / ngx_readv_chain.c "readv() failed" with ECONNRESET',
         said="{the upstream} reset the connection before answering"),
    _sig("upstream_broken_pipe", "nginx",
         _IO + r" \(\d+: Broken pipe\)" + _UPSTREAM_WHILE,
         ("upstream_closed", "upstream_crash"),
         "{The upstream} closed the connection while nginx was still sending the request.",
         'ngx_writev_chain.c: "writev() failed" with EPIPE',
         said="{the upstream} closed the connection while nginx was sending the request"),
    _sig("upstream_prematurely_closed", "nginx",
         r"upstream prematurely closed (?:connection|FastCGI stdout|FastCGI request)",
         ("upstream_crash", "upstream_closed", "php_fpm_timeout"),
         "{The upstream} hung up before sending a complete answer: its worker crashed, was "
         "killed for running too long, or closed the connection on purpose.",
         'ngx_http_upstream.c: "upstream prematurely closed connection"; '
         'ngx_http_fastcgi_module.c: "upstream prematurely closed FastCGI stdout"',
         said="{the upstream} closed the connection before its answer was complete"),
    _sig("upstream_read_failed", "nginx",
         _IO + r" \(\d+: [^)]*\)" + _UPSTREAM_WHILE,
         ("upstream_closed",),
         "Reading from or writing to the connection to {the upstream} failed.",
         'ngx_recv.c: "recv() failed" (other errors)',
         said="reading from {the upstream} failed"),
    _sig("upstream_header_too_big", "nginx",
         r"upstream sent too big header",
         ("header_too_big",),
         "The response headers of {the upstream} (often many or large cookies) do not fit in "
         "proxy_buffer_size / fastcgi_buffer_size.",
         'ngx_http_upstream.c: "upstream sent too big header"',
         said="the response header of {the upstream} is too big for nginx's buffer"),
    _sig("fastcgi_protocol_mismatch", "nginx",
         r"upstream sent (?:unsupported FastCGI protocol version: \d+|invalid FastCGI "
         r"record type: \d+|unexpected FastCGI request id (?:high|low) byte: \d+)",
         ("upstream_address_mismatch", "invalid_response"),
         "{What answered} is not a FastCGI server: fastcgi_pass points at an HTTP server "
         "(version 72 is the 'H' of 'HTTP/1.1') or at another service.",
         'ngx_http_fastcgi_module.c: "upstream sent unsupported FastCGI protocol version: %d"',
         said="{what answered at the FastCGI address} does not speak FastCGI"),
    _sig("upstream_invalid_header", "nginx",
         r"upstream sent (?:invalid header|no valid HTTP/1\.0 header|invalid status|"
         r"duplicate header line|\"Content-Length\" and \"Transfer-Encoding\"|unknown "
         r"\"Transfer-Encoding\"|invalid \"Content-Length\" header|invalid chunked response|"
         r"unexpected FastCGI record|invalid \")",
         ("invalid_response", "upstream_address_mismatch"),
         "{The upstream} answered with something that is not a valid HTTP or FastCGI response "
         "(a wrong protocol on that port, or a broken backend).",
         'ngx_http_proxy_module.c: "upstream sent no valid HTTP/1.0 header", '
         '"upstream sent invalid header: ..."',
         said="{the upstream} sent an answer that is not valid HTTP or FastCGI"),
    # -- nginx: TLS to the upstream (ngx_event_openssl.c, ngx_http_upstream.c) --
    _sig("upstream_ssl_verify_failed", "nginx",
         r"upstream SSL certificate (?:verify error: \(\d+:[^)]*\)|does not match \"[^\"]*\")",
         ("upstream_tls",),
         "The TLS certificate of {the upstream} was rejected (proxy_ssl_verify): it is expired, "
         "self-signed, or issued for another name.",
         'ngx_http_upstream.c: "upstream SSL certificate verify error: (%l:%s)"',
         said="the TLS certificate of {the upstream} was rejected"),
    _sig("upstream_ssl_handshake_failed", "nginx",
         r"(?:SSL_do_handshake\(\) failed|peer closed connection in SSL handshake)"
         r".* while SSL handshaking to upstream",
         ("upstream_tls",),
         "The TLS handshake with {the https upstream} failed: it does not speak TLS on that "
         "port ('wrong version number'), or nginx and it share no protocol, cipher or SNI.",
         'ngx_event_openssl.c: "SSL_do_handshake() failed", '
         '"peer closed connection in SSL handshake"',
         said="the TLS handshake with {the upstream} failed"),
    _sig("upstream_tls_broken", "nginx",
         r"SSL_(?:read|write|shutdown)\(\) failed \(SSL:[^)]*\)" + _UPSTREAM_WHILE,
         ("upstream_closed", "upstream_tls"),
         "The TLS connection to {the upstream} broke after the handshake: {the upstream} "
         "closed it without ending TLS properly (OpenSSL 3 calls this 'unexpected eof'), "
         "or the data it sent was not valid TLS.",
         'ngx_event_openssl.c: "SSL_read() failed" / "SSL_write() failed" with an OpenSSL '
         "error",
         said="the TLS connection to {the upstream} broke"),
    # -- nginx: names (ngx_resolver.c, ngx_http_upstream.c, ngx_parse_url) --
    _sig("upstream_host_not_found", "nginx",
         r"(?<!\S)(?P<name>\S+) could not be resolved \(\d+: [^)]*\)",
         ("upstream_dns",),
         "nginx's resolver could not turn the upstream's host name into an address.",
         'ngx_http_upstream.c: "%V could not be resolved (%i: %s)"',
         said="an upstream host name does not resolve"),
    _sig("upstream_no_resolver", "nginx",
         r"no resolver defined to resolve (?P<name>\S+)",
         ("upstream_dns", "nginx_config_invalid"),
         "A proxy_pass (or other pass) names its host with a variable, and no `resolver` "
         "is configured to look it up.",
         'ngx_http_upstream.c: "no resolver defined to resolve %V"',
         said="a host name in a proxy_pass needs a resolver, and none is set"),
    _sig("config_host_not_found", "nginx",
         r"host not found in upstream \"(?P<name>[^\"]*)\"",
         ("nginx_config_invalid", "upstream_dns"),
         "At start or reload nginx could not resolve a host name used in the configuration, "
         "so the configuration was rejected.",
         'ngx_http_upstream.c: "%s in upstream \\"%V\\"" with "host not found"',
         said="a host name in the configuration did not resolve at start or reload"),
    # -- nginx: PHP-FPM's stderr relayed by nginx (ngx_http_fastcgi_module.c) --
    _sig("fastcgi_primary_script_unknown", "nginx",
         _STDERR + _STDERR_BEFORE + r"Primary script unknown",
         ("script_not_found",),
         "PHP-FPM found no file at the SCRIPT_FILENAME nginx sent: a wrong root, a wrong "
         "SCRIPT_FILENAME, a chroot, or a file that is simply not there.",
         'fpm_main.c "Primary script unknown", relayed as "FastCGI sent in stderr: \\"%*s\\""',
         said="PHP-FPM found no script at the path nginx sent"),
    _sig("fastcgi_script_permission_denied", "nginx",
         _STDERR + _STDERR_BEFORE + r"Unable to open primary script: .* \(Permission denied\)",
         ("file_permission",),
         "PHP-FPM's user may not read the script or one of its folders.",
         'fpm_main.c: "Unable to open primary script: %s (%s)" with EACCES',
         said="PHP-FPM may not read the script"),
    _sig("fastcgi_unable_to_open_script", "nginx",
         _STDERR + _STDERR_BEFORE + r"Unable to open primary script: ",
         ("script_not_found", "file_permission"),
         "PHP-FPM could not open the script nginx named.",
         'fpm_main.c: "Unable to open primary script: %s (%s)"',
         said="PHP-FPM could not open the script"),
    _sig("fastcgi_script_access_denied", "nginx",
         _STDERR + r"Access to the script '[^']*' has been denied",
         ("script_not_found",),
         "PHP-FPM refused to run a file whose extension is not in security.limit_extensions "
         "(nginx sent a non-.php path, e.g. through a wrong fastcgi_split_path_info).",
         "fpm_main.c: \"Access to the script '%s' has been denied (see "
         "security.limit_extensions)\"",
         said="PHP-FPM refused to run a file whose extension it does not run"),
    # -- PHP's own messages, wherever they appear (relayed by nginx, PHP-FPM or error_log) --
    _sig("php_max_execution_time", "php",
         r"PHP Fatal error:\s+Maximum execution time of \d+ seconds? exceeded",
         ("php_fpm_timeout",),
         "A PHP script ran longer than max_execution_time and PHP stopped it.",
         'Zend/zend_execute_API.c: "Maximum execution time of %d second%s exceeded"',
         anchored=False,
         said="a PHP script ran longer than max_execution_time"),
    _sig("php_memory_exhausted", "php",
         r"PHP Fatal error:\s+(?:Allowed memory size of \d+ bytes exhausted|Out of memory)",
         ("resource_exhaustion",),
         "A PHP script needed more memory than memory_limit allows (or the host ran out).",
         'Zend/zend_alloc.c: "Allowed memory size of %zu bytes exhausted"',
         anchored=False,
         said="a PHP script ran out of memory"),
    _sig("php_open_basedir", "php",
         r"open_basedir restriction in effect",
         ("script_not_found", "file_permission"),
         "PHP's open_basedir does not include the script's folder.",
         'main/fopen_wrappers.c: "open_basedir restriction in effect"',
         anchored=False,
         said="PHP's open_basedir kept a script out"),
    _sig("fastcgi_php_message", "nginx",
         _STDERR,
         (),
         "PHP-FPM wrote a message to its error stream; nginx passes it on. On its own it "
         "usually means a PHP error (500), not a 502 - read it together with other lines.",
         'ngx_http_fastcgi_module.c: "FastCGI sent in stderr: \\"%*s\\""',
         said="PHP-FPM passed on a message from PHP"),
    # -- nginx: resources and its own start-up --
    _sig("worker_connections_not_enough", "nginx",
         r"\d+ worker_connections are not enough",
         ("resource_exhaustion",),
         "nginx's worker ran out of connection slots (worker_connections); each proxied "
         "request uses two.",
         'ngx_connection.c: "%ui worker_connections are not enough"',
         said="nginx ran out of worker_connections"),
    _sig("too_many_open_files", "nginx",
         # ENFILE reads "File table overflow" in musl (Alpine)
         r".*\(\d+: (?:Too many open files(?: in system)?|File table overflow)\)",
         ("resource_exhaustion",),
         "nginx hit the open-files limit (worker_rlimit_nofile / ulimit -n / fs.file-max).",
         'ngx_event_accept.c: "accept4() failed" with EMFILE; "socket() failed" with EMFILE',
         said="nginx hit the limit of open files"),
    _sig("disk_full", "nginx",
         r".*\(\d+: No space left on device\)",
         ("resource_exhaustion",),
         "A write failed because a disk (or its inodes) is full: nginx could not keep a "
         "large answer of {the upstream} in a temporary file, or write its logs.",
         'ngx_files.c: "pwrite() \\"%s\\" failed" with ENOSPC (temporary files of proxied '
         "answers, logs)",
         said="a disk is full"),
    _sig("nginx_bind_failed", "nginx",
         r"bind\(\) to (?P<peer>\S+) failed \(\d+: Address already in use\)",
         ("port_conflict",),
         "Another program already listens on the address nginx must listen on, so nginx "
         "could not start (or reload) with it.",
         'ngx_connection.c: "bind() to %V failed" with EADDRINUSE',
         said="another program holds an address nginx must listen on"),
    _sig("nginx_bind_forbidden", "nginx",
         r"bind\(\) to (?P<peer>\S+) failed \(\d+: (?:Permission denied|Cannot assign "
         r"requested address)\)",
         ("nginx_not_running", "nginx_config_invalid"),
         "nginx may not bind that address: a port below 1024 without root, or an address "
         "this host does not have.",
         'ngx_connection.c: "bind() to %V failed" with EACCES / EADDRNOTAVAIL',
         said="nginx may not listen on an address"),
    _sig("nginx_still_could_not_bind", "nginx",
         r"still could not bind\(\)",
         ("port_conflict", "nginx_not_running"),
         "nginx gave up binding its listening sockets and did not start.",
         'ngx_connection.c: "still could not bind()"',
         said="nginx gave up opening its ports and did not start"),
    _sig("file_permission_denied", "nginx",
         r"(?:open|stat|opendir)\(\) \"(?P<path>[^\"]*)\" failed \(\d+: Permission denied\)",
         ("file_permission",),
         "nginx's worker user may not read a file or folder it needs to serve.",
         'ngx_http_static_module.c / ngx_open_file_cache.c: "open() \\"%s\\" failed"',
         said="nginx's worker user may not read a file it serves"),
    _sig("nginx_worker_killed", "nginx",
         r"(?P<process>worker process|cache manager process|cache loader process) "
         r"(?P<pid>\d+) exited on signal (?P<signal>9)\b",
         ("resource_exhaustion",),
         "An nginx worker was killed with SIGKILL, most often by the kernel's OOM killer.",
         'ngx_process.c: "%s %P exited on signal %d%s"',
         said="an nginx worker was killed, most often by the out-of-memory killer"),
    _sig("nginx_worker_crashed", "nginx",
         r"(?P<process>worker process|cache manager process|cache loader process) "
         r"(?P<pid>\d+) exited on signal (?P<signal>\d+)",
         (),
         "An nginx worker process crashed; its open connections were dropped.",
         'ngx_process.c: "%s %P exited on signal %d%s"',
         said="an nginx worker crashed"),
    _sig("nginx_exiting", "nginx",
         r"signal \d+ \((?:SIGTERM|SIGINT|SIGQUIT)\) received(?: from \d+)?, "
         r"(?:exiting|shutting down)",
         ("nginx_not_running",),
         "nginx was told to stop.",
         'ngx_process.c: "signal %d (%s) received from %P%s"',
         said="nginx was told to stop"),
    _sig("nginx_config_emerg", "nginx",
         r".* in (?P<path>/\S+):(?P<conf_line>\d+)$",
         ("nginx_config_invalid",),
         "nginx rejected its configuration at this file and line.",
         'ngx_conf_file.c: "%*s in %s:%ui"',
         said="nginx rejected its configuration"),
    # -- PHP-FPM's own log (sapi/fpm/fpm/*.c) --
    _sig("phpfpm_child_signal_segv", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] child (?P<pid>\d+) exited on signal (?P<signal>11|7|6|4|8) "
         r"\((?P<signame>SIG[A-Z]+)?",
         ("upstream_crash",),
         "A PHP-FPM worker crashed (segmentation fault, bus error or abort) while handling a "
         "request; nginx then sees the connection close or reset.",
         'fpm_children.c: "[pool %s] child %d exited %s after %ld.%06d seconds from start" '
         'with "on signal %d (%s%s)"',
         said="a PHP-FPM worker crashed"),
    _sig("phpfpm_child_signal_kill", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] child (?P<pid>\d+) exited on signal (?P<signal>9) ",
         ("upstream_crash", "resource_exhaustion"),
         "A PHP-FPM worker was killed with SIGKILL, most often by the kernel's OOM killer "
         "when memory ran out.",
         'fpm_children.c: "child %d exited on signal 9 (SIGKILL)"',
         said="a PHP-FPM worker was killed, most often by the out-of-memory killer"),
    _sig("phpfpm_child_signal_term", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] child (?P<pid>\d+) exited on signal (?P<signal>15) ",
         ("php_fpm_timeout", "upstream_crash"),
         "PHP-FPM's master ended a worker with SIGTERM, which it does when a request passes "
         "request_terminate_timeout.",
         'fpm_children.c: "child %d exited on signal 15 (SIGTERM)"',
         said="PHP-FPM ended a worker, as it does when a request runs too long"),
    _sig("phpfpm_child_signal", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] child (?P<pid>\d+) exited on signal (?P<signal>\d+) ",
         ("upstream_crash",),
         "A PHP-FPM worker died from a signal while it may have been serving a request.",
         'fpm_children.c: "child %d exited on signal %d (%s%s)"',
         said="a PHP-FPM worker died from a signal"),
    _sig("phpfpm_child_exit_code", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] child (?P<pid>\d+) exited with code (?P<code>[1-9]\d*) ",
         ("upstream_crash",),
         "A PHP-FPM worker exited with an error code.",
         'fpm_children.c: "child %d exited with code %d"',
         said="a PHP-FPM worker exited with an error"),
    _sig("phpfpm_failed_threshold", "php-fpm",
         r"failed processes threshold \(\d+ in \d+ sec\) is reached",
         ("upstream_crash",),
         "PHP-FPM workers crashed so often (emergency_restart_threshold) that the master "
         "restarts the whole service.",
         'fpm_children.c: "failed processes threshold (%d in %d sec) is reached, initiating '
         'reload"',
         said="PHP-FPM workers crashed so often that PHP-FPM restarted"),
    _sig("phpfpm_execution_timed_out", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] child (?P<pid>\d+), script '(?P<script>[^']*)' "
         r"\(request: \"(?P<request>[^\"]*)\"\) execution timed out",
         ("php_fpm_timeout",),
         "A script ran longer than request_terminate_timeout and PHP-FPM killed its worker; "
         "nginx sees the connection close and answers 502.",
         "fpm_request.c: \"[pool %s] child %d, script '%s' (request: \\\"%s %s%s%s\\\") "
         "execution timed out (%d.%06d sec), terminating\"",
         said="a script ran longer than request_terminate_timeout and PHP-FPM killed it"),
    _sig("phpfpm_slow_request", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] child (?P<pid>\d+), script '(?P<script>[^']*)' "
         r"\(request: \"(?P<request>[^\"]*)\"\) executing too slow",
         ("upstream_timeout", "php_fpm_timeout"),
         "A script ran longer than request_slowlog_timeout (written to the slow log); if it "
         "runs longer than nginx's read timeout, nginx gives up.",
         "fpm_request.c: \"... executing too slow (%d.%06d sec), logging\"",
         said="a script ran longer than request_slowlog_timeout"),
    _sig("phpfpm_max_children", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] server reached (?:pm\.)?max_children setting "
         r"\((?P<max_children>\d+)\)",
         ("php_fpm_saturated",),
         "Every PHP-FPM worker of the pool was busy (pm.max_children); new requests wait in "
         "the queue and may time out or be refused.",
         'fpm_process_ctl.c: "[pool %s] server reached pm.max_children setting (%d), '
         'consider raising it"',
         said="every PHP-FPM worker was busy (pm.max_children reached)"),
    _sig("phpfpm_seems_busy", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] seems busy",
         ("php_fpm_saturated",),
         "The pool had too few idle workers and is spawning more.",
         'fpm_process_ctl.c: "[pool %s] seems busy (you may need to increase ...)"',
         said="PHP-FPM had too few idle workers"),
    _sig("phpfpm_process_max", "php-fpm",
         r"The maximum number of processes has been reached",
         ("php_fpm_saturated",),
         "PHP-FPM reached its global process.max limit.",
         'fpm_children.c: "The maximum number of processes has been reached..."',
         said="PHP-FPM reached its limit of processes (process.max)"),
    _sig("phpfpm_unable_to_bind", "php-fpm",
         r"unable to bind listening socket for address '(?P<address>[^']*)'",
         ("php_fpm_down", "port_conflict"),
         "PHP-FPM could not open its listening address (another process holds the port, or "
         "the socket's folder is missing), so it did not start.",
         "fpm_sockets.c: \"unable to bind listening socket for address '%s'\"",
         said="PHP-FPM could not open its listening address"),
    _sig("phpfpm_another_instance", "php-fpm",
         r"(?:An a|A)nother FPM instance seems to already listen on (?P<address>\S+)",
         ("port_conflict", "php_fpm_down"),
         "Another PHP-FPM already listens on this socket, so this one did not start.",
         'fpm_sockets.c: "Another FPM instance seems to already listen on %s"',
         said="another PHP-FPM already listens on the same address"),
    _sig("phpfpm_init_failed", "php-fpm",
         r"FPM initialization failed",
         ("php_fpm_down",),
         "PHP-FPM failed to start; the lines just before say why.",
         'fpm_main.c: "FPM initialization failed"',
         said="PHP-FPM failed to start"),
    _sig("phpfpm_config_invalid", "php-fpm",
         # fpm_conf.c names the place of each mistake it parses as "[FILE:LINE] ..."
         r"(?:failed to (?:open|load) configuration file|No pool defined|"
         r"failed to post process the configuration|Unable to (?:include|globalize) .* at "
         r"line \d+|Unable to open file '|Unable to create or open slowlog|"
         r"failed to open error_log|"
         r"\[\S+:\d+\] (?:unable to parse value|value is NULL|unknown (?:entry|directive)|"
         r"two includes|empty value|error while parsing|Misspelled|Array are not allowed|"
         r"Unknown INI syntax|Unable to alloc|the parser for entry)|"
         r"\[pool [^\]]+\] (?:pm\.\S+|user has not been defined|no listen address|"
         r"the chroot path|please specify user and group other than root|failed to chdir\())",
         ("php_fpm_down",),
         "PHP-FPM's configuration is invalid, so it cannot start.",
         'fpm_conf.c: "failed to load configuration file \'%s\'", "[%s:%d] unknown entry '
         '\'%s\'", "No pool defined...", "failed to post process the configuration"',
         said="PHP-FPM's configuration is invalid"),
    _sig("phpfpm_out_of_resources", "php-fpm",
         r"(?:fork\(\) failed|.*: (?:Too many open files(?: in system)?|File table overflow|"
         r"Cannot allocate memory|Out of memory|No space left on device) \(\d+\)$)",
         ("resource_exhaustion", "php_fpm_down"),
         "PHP-FPM could not start a worker or open a socket because the host ran out of "
         "processes, memory, open files or disk space.",
         'fpm_children.c: "fork() failed"; fpm_sockets.c: "failed to create new listening '
         'socket: socket()" with EMFILE',
         said="PHP-FPM ran out of processes, memory, open files or disk"),
    _sig("phpfpm_socket_owner_failed", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] (?:failed to chown\(\) the socket|cannot get [ug]id for|"
         r"failed to (?:read|write) the ACL|cannot create ACL)",
         ("socket_permission", "php_fpm_down"),
         "PHP-FPM could not give its socket the owner or group set in listen.owner / "
         "listen.group.",
         "fpm_unix.c: \"[pool %s] failed to chown() the socket '%s'\"",
         said="PHP-FPM could not give its socket the owner or group it should have"),
    _sig("phpfpm_terminating", "php-fpm",
         r"(?:Terminating \.\.\.|exiting, bye-bye!)",
         ("php_fpm_down",),
         "PHP-FPM was stopped.",
         'fpm_events.c / fpm_process_ctl.c: "Terminating ...", "exiting, bye-bye!"',
         said="PHP-FPM was stopped"),
    _sig("phpfpm_ptrace_failed", "php-fpm",
         r"failed to ptrace\((?:ATTACH|DETACH|PEEKDATA)\) (?:child|pid) (?P<pid>\d+)",
         (),
         "PHP-FPM could not trace a slow worker for the slow log (ptrace is not allowed, "
         "e.g. in a container); harmless for requests.",
         'fpm_trace_ptrace.c: "failed to ptrace(PEEKDATA) pid %d"',
         said="PHP-FPM could not trace a slow worker"),
    _sig("phpfpm_child_said", "php-fpm",
         r"\[pool (?P<pool>[^\]]+)\] child (?P<pid>\d+) said into (?:stderr|stdout): ",
         (),
         "A PHP-FPM worker wrote this to its output (catch_workers_output).",
         'fpm_stdio.c: "[pool %s] child %d said into %s: "',
         said="a PHP-FPM worker wrote to its output"),
)

BY_NAME: dict[str, Signature] = {s.name: s for s in SIGNATURES}


# --- classifying one record -----------------------------------------------------------

@dataclass
class Record:
    """One log record, split into its header, message and context fields."""

    text: str
    log: str | None = None  # "nginx", "php-fpm", "php" or None (no known header)
    time: datetime | None = None  # local time (naive) as written in the log
    level: str | None = None
    message: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    signature: Signature | None = None
    causes: list[str] = field(default_factory=list)

    def time_iso(self) -> str | None:
        return self.time.astimezone().isoformat() if self.time else None

    def epoch(self) -> float | None:
        return self.time.timestamp() if self.time else None


def _nginx_time(text: str) -> datetime | None:
    # Sliced by hand: strptime costs more than all the matching of a record together.
    try:
        return datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]),
                        int(text[11:13]), int(text[14:16]), int(text[17:19]))
    except ValueError:
        return None


def _php_time(text: str, tz: str | None = None) -> datetime | None:
    # Our own month table: strptime's %b follows the locale, the log does not.
    try:
        day, mon, rest = text.split("-", 2)
        year, clock = rest.split(" ")
        hh, mm, ss = (int(x) for x in clock.split(":"))
        stamp = datetime(int(year), _MONTHS[mon], int(day), hh, mm, ss)
    except (ValueError, KeyError):
        return None
    if tz == "UTC":  # PHP's error_log may write UTC; turn it into local time like the rest
        stamp = stamp.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)
    return stamp


def parse_header(text: str) -> Record | None:
    """The record's header (time, level, pid) when the text starts a log record."""
    if m := NGINX_HEADER.match(text):
        rec = Record(text, "nginx", _nginx_time(m["time"]), m["level"], m["message"])
        rec.fields["pid"] = int(m["pid"])
        if m["conn"]:
            rec.fields["connection"] = int(m["conn"])
        return rec
    if m := PHPFPM_HEADER.match(text):
        rec = Record(text, "php-fpm", _php_time(m["time"]), m["level"], m["message"])
        if m["pid"]:
            rec.fields["pid"] = int(m["pid"])
        return rec
    if m := PHP_HEADER.match(text):
        level = m["message"][4:].split(":", 1)[0].strip()
        return Record(text, "php", _php_time(m["time"], m["tz"]), level, m["message"])
    if m := NGINX_STDERR_HEADER.match(text):
        return Record(text, "nginx", None, m["level"], m["message"])
    return None


# Lines that lost their date on the way: pasted as "[error] 191#0: *82 ...", "error] ..."
# (the bracket cut off) or "*82 ..."; PHP-FPM's children write "WARNING: ..." and its
# syslog output "[WARNING] ..." (zlog.c), and journald or a container adds its own time.
# Only pasted text lacks its date: these are compiled when such text first comes.
HEADERLESS_NGINX = (
    r"^\[?(?P<level>debug|info|notice|warn|error|crit|alert|emerg)\] "
    r"(?P<pid>\d+)#(?P<tid>\d+): (?:\*(?P<conn>\d+) )?(?P<message>.*)$")
CONNECTION_ONLY = r"^\*(?P<conn>\d+) (?P<message>.*)$"
HEADERLESS_PHPFPM = (
    r"^(?:\[(?P<level>DEBUG|NOTICE|WARNING|ERROR|ALERT)\]|"
    r"(?P<child_level>DEBUG|NOTICE|WARNING|ERROR|ALERT):) "
    r"(?:(?:pid (?P<pid>\d+), )?\w+\(\), line \d+: )?(?P<message>.*)$")


@functools.cache
def _headerless() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """HEADERLESS_NGINX, CONNECTION_ONLY and HEADERLESS_PHPFPM, compiled."""
    return (re.compile(HEADERLESS_NGINX, re.S | re.I), re.compile(CONNECTION_ONLY, re.S),
            re.compile(HEADERLESS_PHPFPM, re.S))


def parse_headerless(text: str) -> Record | None:
    """The record's level and pid when it starts like a record whose date was lost."""
    headerless_nginx, connection_only, headerless_phpfpm = _headerless()
    if m := headerless_nginx.match(text):
        rec = Record(text, "nginx", None, m["level"].lower(), m["message"])
        rec.fields["pid"] = int(m["pid"])
        if m["conn"]:
            rec.fields["connection"] = int(m["conn"])
        return rec
    if m := connection_only.match(text):
        rec = Record(text, "nginx", None, None, m["message"])
        rec.fields["connection"] = int(m["conn"])
        return rec
    if m := headerless_phpfpm.match(text):
        rec = Record(text, "php-fpm", None, m["level"] or m["child_level"], m["message"])
        if m["pid"]:
            rec.fields["pid"] = int(m["pid"])
        return rec
    return None


def _plain(regex: str) -> str:
    """The regex without its group names, so that several can be joined in one."""
    return re.sub(r"\(\?P<\w+>", "(?:", regex)


_ANY_HEADER = re.compile("|".join(
    f"(?:{_plain(p.pattern.split('(?P<message>')[0])})"
    for p in (NGINX_HEADER, PHPFPM_HEADER, PHP_HEADER, NGINX_STDERR_HEADER)))


@functools.cache
def _any_headerless() -> re.Pattern[str]:
    return re.compile("|".join(
        f"(?:{_plain(p.split('(?P<message>')[0])})"
        for p in (HEADERLESS_NGINX, CONNECTION_ONLY, HEADERLESS_PHPFPM)), re.I)


def is_record_start(text: str, lenient: bool = False) -> bool:
    """Whether the text starts a record; `lenient` also counts a start without its date."""
    if _ANY_HEADER.match(text) is not None:
        return True
    return lenient and _any_headerless().match(text) is not None


@functools.cache
def _header_inside() -> re.Pattern[str]:
    """A dated header anywhere in a line: where reading picks up again after binary
    garbage, the NUL run that copytruncate rotation leaves, or a torn write."""
    return re.compile("|".join(
        f"(?:{_plain(p.pattern.split('(?P<message>')[0]).removeprefix('^')})"
        for p in (NGINX_HEADER, PHPFPM_HEADER, PHP_HEADER)))


def resync(text: str) -> tuple[str, str]:
    """(what comes before, the record) when a record starts inside `text` but not at its
    start; ("", text) otherwise. A line that starts a record is split only after a NUL (a
    torn write, then copytruncate's NULs): a header quoted inside its message (a request
    line) must not become a forged record, and nginx refuses NUL bytes in requests."""
    nul = text.rfind("\x00") + 1  # no record runs on past a NUL: look after the last one
    if not nul and is_record_start(text):
        return "", text
    m = _header_inside().search(text, nul)
    if m is None or m.start() == 0:
        return "", text
    return text[:m.start()], text[m.start():]


def _at_start(sig: Signature, log: str | None) -> bool:
    """Whether the pattern is tried at the message's start only. One that begins with
    ".*" finds the same anywhere: searching it from every position is quadratic."""
    return (sig.anchored and log is not None) or sig.regex.startswith(".*")


@functools.cache
def _prefilter(log: str | None, ignore_case: bool = False) -> re.Pattern[str]:
    """All patterns that may apply to a record of `log` in one regex: most records match
    none, and one match call is far cheaper than sixty."""
    parts = []
    for sig in SIGNATURES:
        if log is not None and sig.log not in (log, "php"):
            continue
        body = _plain(sig.regex)
        parts.append(f"(?:{body})" if _at_start(sig, log) else f"(?:.*?(?:{body}))")
    return re.compile("|".join(parts), re.S | (re.I if ignore_case else 0))


@functools.cache
def _case_blind(sig: Signature) -> re.Pattern[str]:
    return re.compile(sig.regex, re.S | re.I)


@functools.cache
def _needles_of(sig: Signature) -> tuple[str, ...] | None:
    return needles(sig.regex, re.S)


@functools.cache
def _gated(log: str | None) -> tuple[tuple[Signature, tuple[str, ...] | None], ...]:
    """The signatures that may apply to a record of `log` (every one for None), each with
    its needles (log_needles), in catalogue order."""
    return tuple((sig, _needles_of(sig)) for sig in SIGNATURES
                 if log is None or sig.log in (log, "php"))


@functools.cache
def all_needles() -> tuple[str, ...] | None:
    """Every needle of the catalogue (None when a pattern has none): a text that holds
    none of them matches no signature, with or without regard to case."""
    if any(found is None for _sig, found in _gated(None)):
        return None
    return tuple(dict.fromkeys(n for _sig, found in _gated(None) for n in found or ()))


def _context_fields(message: str) -> tuple[str, dict[str, Any]]:
    """Split nginx's appended context (", client: ..., upstream: ...") off the message."""
    fields: dict[str, Any] = {}
    cut = message.find(", client: ")
    body = message if cut < 0 else message[:cut]
    if cut >= 0:
        for m in _TAIL.finditer(message, cut):
            value = m["value"]
            fields[m["key"]] = value[1:-1] if value.startswith('"') else value
    if (action := _ACTION.search(message if cut < 0 else message[: cut])) is not None:
        fields["action"] = action["action"]
    return body, fields


def _extract_fields(rec: Record, as_nginx: bool) -> None:
    message = rec.message
    if as_nginx:
        _body, ctx = _context_fields(message)
        rec.fields.update(ctx)
        if (m := _ERRNO.search(_body)) is not None and not _body.startswith("FastCGI sent"):
            rec.fields["errno"] = int(m["errno"])
            rec.fields["errtext"] = m["errtext"]
    elif rec.log == "php-fpm" and (m := _PHPFPM_ERRNO.search(message)) is not None:
        rec.fields["errno"] = int(m["errno"])
        rec.fields["errtext"] = m["errtext"]
    if (m := _POOL.search(message[:200])) is not None:
        rec.fields["pool"] = m["pool"]
    upstream = rec.fields.get("upstream")
    for candidate in (upstream, message):
        if candidate and (m := _SOCKET.search(candidate)) is not None:
            rec.fields["socket"] = single_leading_slash(m["socket"])
            break


def _for_upstream(causes: tuple[str, ...], upstream: str | None) -> list[str]:
    """PHP-FPM ids only fit when the upstream speaks FastCGI; for proxy/uwsgi/grpc the
    same message points at 'the upstream' in general."""
    ranked = list(causes)
    if not upstream or "://" not in upstream or upstream.startswith("fastcgi://"):
        return ranked
    if "upstream_closed" in ranked:
        # An app server (gunicorn, uwsgi, node) closes or resets connections on purpose
        # too (a worker timeout, a request it rejects) and stays alive; a crash needs
        # its own proof (the process gone, a signal in its log).
        ranked.remove("upstream_closed")
        ranked.insert(0, "upstream_closed")
    out: list[str] = []
    for cause_id in ranked:
        if cause_id == "php_fpm_down":
            cause_id = "upstream_down"
        elif cause_id in ("php_fpm_timeout", "php_fpm_saturated"):
            continue
        if cause_id not in out:
            out.append(cause_id)
    return out


def classify(text: str, lenient: bool = False) -> Record:
    """Parse a whole record (one or more lines) and find its signature.

    `lenient` is for text a person pasted rather than a log file: the record may have
    lost its date ("[error] 1#1: ...", "*5 ...", a bare message, whose nginx context is
    then read all the same) and its words may be capitalised differently."""
    rec = parse_header(text) or (parse_headerless(text) if lenient else None) \
        or Record(text, None, None, None, text)
    _extract_fields(rec, as_nginx=rec.log == "nginx" or (lenient and rec.log is None))
    if not _match(rec, ignore_case=False) and lenient:
        _match(rec, ignore_case=True)
    if rec.signature and rec.signature.name == "nginx_config_emerg" and rec.level != "emerg":
        rec.signature, rec.causes = None, []  # "in file:line" only means config at emerg
    _refine(rec)
    return rec


def recognises(text: str, lenient: bool = False) -> bool:
    """Whether classify(text, lenient) finds a signature, without reading its fields."""
    rec = parse_header(text) or (parse_headerless(text) if lenient else None) \
        or Record(text, None, None, None, text)
    if not _match(rec, ignore_case=False) and not (lenient and _match(rec, ignore_case=True)):
        return False
    return not (rec.signature is not None and rec.signature.name == "nginx_config_emerg"
                and rec.level != "emerg")


# nginx cuts every record at 2048 bytes (NGX_MAX_ERROR_STR), PHP-FPM at log_limit (1024):
# what a signature names is near the start. Looking at no more keeps a hostile line of a
# megabyte from making a pattern's search quadratic.
MAX_MATCH_CHARS = 4096


# The prefilter takes milliseconds to compile: a diagnosis, which reads a few records,
# turns away the ones no pattern matches by the needles alone; a log being explained has
# thousands, and the records after these go through the prefilter first. (Either way the
# catalogue's first pattern that matches names the record.)
PREFILTER_AFTER = 64
_unfiltered: dict[tuple[str | None, bool], int] = {}


def _match(rec: Record, ignore_case: bool) -> bool:
    """Find the record's signature (the first of the catalogue that matches)."""
    message = rec.message[:MAX_MATCH_CHARS]
    kind = (rec.log, ignore_case)
    seen = _unfiltered.get(kind, 0)
    if seen < PREFILTER_AFTER and message.isascii():  # the needles below gate ASCII text
        _unfiltered[kind] = seen + 1
    elif _prefilter(rec.log, ignore_case).match(message) is None:
        return False
    # A pattern is tried only when its needles are in the text (log_needles): a substring
    # search costs less than the pattern's search. Needles are lower-cased: ASCII only.
    lowered = message.lower() if message.isascii() else None
    for sig, found in _gated(rec.log):
        if lowered is not None and found is not None and not any(n in lowered for n in found):
            continue
        pattern = _case_blind(sig) if ignore_case else sig.pattern
        anchored = _at_start(sig, rec.log)
        m = pattern.match(message) if anchored else pattern.search(message)
        if m is None:
            continue
        rec.signature = sig
        for key, value in m.groupdict().items():
            if value is not None and key not in rec.fields:
                rec.fields[key] = int(value) if value.isdigit() else value
        rec.causes = _for_upstream(sig.causes, rec.fields.get("upstream"))
        return True
    return False


def _refine(rec: Record) -> None:
    """Reorder causes where the errno decides which is the more likely one."""
    if rec.signature is not None and rec.signature.name == "phpfpm_unable_to_bind" \
            and "in use" in str(rec.fields.get("errtext", "")):
        rec.causes = ["port_conflict", "php_fpm_down"]


# --- grouping physical lines into records ---------------------------------------------

MAX_RECORD_LINES = 64  # a PHP stack trace fits; a runaway file does not become one record
MAX_RECORD_CHARS = 16 * 1024


def may_continue(parts: list[str]) -> bool:
    """Whether the next line that starts no record belongs to the record of `parts`:
    where the programs really write several lines (see group_records)."""
    if PHP_HEADER.match(parts[0]):
        return True
    return _STDERR_OPEN in parts[0] and ", client: " not in parts[-1]


_STDERR_OPEN = 'FastCGI sent in stderr: "'


def group_records(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """(line number, text) of physical lines -> (first line number, record text).

    A line that starts no record continues the record before it only where the programs
    really write several lines: nginx keeps the line breaks of the PHP messages it relays
    (until its ", client: ..." context closes the record), and PHP's own error_log writes
    stack traces under a record. Any other line stands alone."""
    start = 0
    parts: list[str] = []
    size = 0
    for number, text in lines:
        starts = is_record_start(text)
        garbage = "\x00" in text  # binary data never continues a record
        if (parts and not starts and not garbage and may_continue(parts)
                and len(parts) < MAX_RECORD_LINES and size < MAX_RECORD_CHARS):
            parts.append(text)
            size += len(text)
            continue
        if parts:
            yield start, "\n".join(parts)
            parts = []
        if starts:
            start, parts, size = number, [text], len(text)
        else:
            yield number, text  # no header: a record of its own
    if parts:
        yield start, "\n".join(parts)
