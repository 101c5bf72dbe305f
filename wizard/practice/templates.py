"""The text of a practice sandbox's files. Every path is absolute inside the sandbox's
folder, so neither nginx nor PHP-FPM reads or writes anything of the host's own (no
/var/log/nginx, /run/php, /etc/php).

Placeholders are `{name}` for str.format; nginx's own braces are doubled in the templates.
"""

from __future__ import annotations

# The first lines of an http block whose logs and temp files stay in the sandbox's own
# prefix (also what the test labs use: tests/lab/harness.py).
HTTP_IN_PREFIX = """\
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/tmp/body;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    proxy_temp_path {prefix}/tmp/proxy;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    default_type text/plain;
"""

NGINX_CONF = """\
{user_line}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log info;

events {{
    worker_connections 64;
}}

http {{
""" + HTTP_IN_PREFIX + """\
    types {{ text/html html; }}
{http_extra}

    server {{
        listen 127.0.0.1:{port};
        server_name practice.test;
        root {prefix}/www;
        index index.php index.html;
{server_extra}

        location / {{
            try_files $uri $uri/ =404;
        }}
{php_location}{locations}
    }}
}}
"""

PHP_LOCATION = """
        location ~ \\.php$ {{
            include {prefix}/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass {fastcgi_pass};
{php_location_extra}
        }}
"""

# daemonize: the start command returns once the pool listens (the parent waits for it),
# so a fix that starts this PHP-FPM ends, and the sandbox needs no process of its own.
PHPFPM_CONF = """\
[global]
pid = {prefix}/php-fpm.pid
error_log = {prefix}/logs/php-fpm.log
log_level = notice
daemonize = yes

[www]
user = {user}
group = {group}
listen = {listen}
listen.owner = {listen_owner}
listen.group = {listen_group}
listen.mode = {listen_mode}
pm = {pm}
pm.max_children = {max_children}
pm.start_servers = 1
pm.min_spare_servers = 1
pm.max_spare_servers = {max_children}
request_terminate_timeout = {request_terminate_timeout}
catch_workers_output = yes
decorate_workers_output = no
clear_env = no
php_admin_value[error_log] = {prefix}/logs/php-fpm.log
php_admin_flag[log_errors] = on
php_admin_flag[display_errors] = off
{pool_extra}
"""

FASTCGI_PARAMS = """\
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;
fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;
fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;
fastcgi_param  REDIRECT_STATUS    200;
"""

SCRIPTS: dict[str, str] = {
    "index.php": "<?php echo \"The practice site works.\\n\";\n",
    "index.html": "The practice site works.\n",
    # ?s=SECONDS: a page slower than the pool lets a script run
    "slow.php": "<?php sleep((int)($_GET['s'] ?? 2)); echo \"Done.\\n\";\n",
    # the worker kills itself with SIGSEGV, as a crashing PHP extension would
    "crash.php": "<?php posix_kill(posix_getpid(), 11); sleep(5); echo \"Survived.\\n\";\n",
    # ?n=BYTES: a response header larger than nginx's buffer for it
    "cookies.php": "<?php header('Set-Cookie: cart=' . str_repeat('x', (int)($_GET['n'] ?? "
                   "16000))); echo \"Cart saved.\\n\";\n",
}

# A server block whose proxy_pass line lacks its ';', as a hurried edit leaves it:
# `nginx -t` rejects it at line 5. (Filled by Sandbox.fill, not str.format.)
BROKEN_SITE = """\
server {
    listen 127.0.0.1:{closed_port};
    location / {
        proxy_pass http://127.0.0.1:9
    }
}
"""
