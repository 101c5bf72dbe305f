"""Practice sandboxes: a real, deliberately broken nginx (and PHP-FPM or a small upstream)
in a private temporary folder on free loopback ports, for learning the wizard on a 502
that is safe to break and fix. Nothing here touches the host's own services or firewall.

    parts.py      what the host must have (root, nginx, PHP-FPM, a worker user)
    templates.py  the sandbox's nginx.conf, php-fpm.conf and PHP scripts
    sandbox.py    one sandbox: its folder, ports, servers and requests
    scenarios.py  the breaks, one small entry each
    port_holder.py  the stray program that takes nginx's port (one scenario)
    sweep.py      stop every process of a sandbox and remove its folder
    reaper.py     a watcher that sweeps when the wizard dies, however it dies
    cleanup.py    signals and the watcher around one practice run
    session.py    one practice run: sandbox built, visited, handed over, swept
    headless.py   the diagnosis (and one fix) without the TUI, as JSON
"""
