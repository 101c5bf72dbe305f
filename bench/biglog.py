"""Big nginx error logs for the log benchmarks, written quickly and deterministically.

The lines are a production-like mix: requests refused or timed out by the upstream, the
PHP warnings that nginx relays (a record over several lines), and the everyday lines the
wizard does not explain (missing files, bodies too large, rate limits). Times rise by a
fixed step so that the last line is `end` and a `--since` window covers a known part.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

CTX = (', client: 203.0.113.{c}, server: shop.example.com, request: "GET /p/{n} HTTP/1.1", '
       'upstream: "{up}", host: "shop.example.com"')
FPM = "fastcgi://unix:/run/php/php8.2-fpm.sock:"
HTTP = "http://127.0.0.1:8080/p/{n}"
# (weight, template): {t} time, {n} counter, {c} client octet, {ctx} nginx's context.
TEMPLATES: tuple[tuple[int, str], ...] = (
    (30, '{t} [error] 811#811: *{n} open() "/var/www/shop/p/{n}.webp" failed '
         '(2: No such file or directory), client: 203.0.113.{c}, server: shop.example.com, '
         'request: "GET /p/{n}.webp HTTP/1.1", host: "shop.example.com"'),
    (20, '{t} [error] 811#811: *{n} connect() failed (111: Connection refused) while '
         'connecting to upstream' + CTX.replace("{up}", HTTP)),
    (12, '{t} [crit] 811#811: *{n} connect() to unix:/run/php/php8.2-fpm.sock failed '
         '(2: No such file or directory) while connecting to upstream' + CTX.replace("{up}", FPM)),
    (10, '{t} [error] 811#811: *{n} upstream timed out (110: Connection timed out) while '
         'reading response header from upstream' + CTX.replace("{up}", HTTP)),
    (8, '{t} [error] 811#811: *{n} upstream prematurely closed connection while reading '
        'response header from upstream' + CTX.replace("{up}", HTTP)),
    (8, '{t} [error] 811#811: *{n} limiting requests, excess: 20.{c} by zone "perip", '
        'client: 203.0.113.{c}, server: shop.example.com, request: "POST /login HTTP/1.1", '
        'host: "shop.example.com"'),
    (5, '{t} [error] 811#811: *{n} client intended to send too large body: {n} bytes, '
        'client: 203.0.113.{c}, server: shop.example.com, request: "POST /upload HTTP/1.1",'
        ' host: "shop.example.com"'),
    (4, '{t} [error] 811#811: *{n} FastCGI sent in stderr: "PHP message: PHP Warning:  '
        'Undefined variable $cart in /var/www/shop/cart.php on line {c}\nPHP message: PHP '
        'Warning:  Trying to access array offset on null in /var/www/shop/cart.php on line '
        '{c}" while reading response header from upstream' + CTX.replace("{up}", FPM)),
    (3, '{t} [warn] 811#811: *{n} an upstream response is buffered to a temporary file '
        '/var/cache/nginx/fastcgi_temp/1/00/00000000{c} while reading upstream'
        + CTX.replace("{up}", FPM)),
)
STEP = 0.01  # seconds between lines: 360,000 lines an hour


def _cycle() -> list[str]:
    """One of each line per its weight, in a fixed shuffled order."""
    cycle = [template for weight, template in TEMPLATES for _ in range(weight)]
    random.Random(14).shuffle(cycle)
    return cycle


def _lines(count: int, start: float) -> str:
    cycle = _cycle()
    out = []
    for n in range(count):
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(start + n * STEP))
        out.append(cycle[n % len(cycle)].format(t=stamp, n=n, c=n % 250) + "\n")
    return "".join(out)


def write_error_log(path: Path, size: int, end: float | None = None,
                    recent: int = 1024 * 1024) -> None:
    """Write about `size` bytes of log to `path`, in whole lines. The last `recent` bytes
    are dated up to `end` (default now), STEP apart; what comes before them is a block of
    older lines (a day before) written again and again, which keeps a 2 GB file quick to
    make while its end reads like a busy log."""
    end = time.time() if end is None else end
    tail_lines = max(1, recent // 240)
    tail = _lines(tail_lines, end - tail_lines * STEP)
    old = _lines(40_000, end - 86_400).encode("ascii")
    with open(path, "wb") as fh:
        left = size - len(tail)
        while left > 0:
            piece = old if left >= len(old) else old[: old.rfind(b"\n", 0, left) + 1]
            if not piece:
                break
            fh.write(piece)
            left -= len(piece)
        fh.write(tail.encode("ascii"))
