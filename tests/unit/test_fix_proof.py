"""How a fix is judged (engine/fix_proof.py) and which request proves it
(host/failing_request.py), from log fields as nginx writes them and recorded answers."""

from __future__ import annotations

from typing import Any

from wizard.engine.fix_proof import FAILING, FIXED, UNPROVEN, describe_answer, judge_check
from wizard.host.failing_request import from_log
from wizard.outcome import Status

NGINX = {"servers": [
    {"server_names": ["_"], "listen": [{"address": "*", "port": 80, "default_server": True}]},
    {"server_names": ["shop.example"], "listen": [{"address": "*", "port": 80},
                                                  {"address": "*", "port": 443, "ssl": True}]},
    {"server_names": [], "listen": [{"address": "127.0.0.1", "port": 18502}]},
]}


def fields(request: str, host: str, server: str) -> dict[str, Any]:
    return {"request": request, "host": host, "server": server}


def test_the_logged_request_goes_to_the_server_block_that_logged_it() -> None:
    found = from_log(fields("GET /cart?id=3 HTTP/1.1", "shop.example", "shop.example"), NGINX)
    assert found is not None
    assert (found.url, found.connect, found.host_header) == (
        "http://shop.example/cart?id=3", "127.0.0.1", "shop.example")


def test_a_host_with_a_port_picks_the_block_on_that_port() -> None:
    found = from_log(fields("GET /index.php HTTP/1.1", "127.0.0.1:18502", ""), NGINX)
    assert found is not None
    assert (found.url, found.connect) == ("http://127.0.0.1:18502/index.php", "127.0.0.1")


def test_a_post_is_never_sent_again() -> None:
    assert from_log(fields("POST /checkout HTTP/1.1", "shop.example", "shop.example"),
                    NGINX) is None
    assert from_log({"server": "shop.example"}, NGINX) is None  # no request line at all


def answer(status: int | None, error: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"url": "http://shop.example/", "status": status, "error": error,
            "duration": 15.0, "log_events": [], **extra}


def test_only_a_gateway_error_or_a_refusal_is_a_failing_answer() -> None:
    assert describe_answer(answer(200)).verdict == FIXED
    assert describe_answer(answer(500)).text.endswith("(an error of the application "
                                                      "itself, not the 502): fixed")
    assert describe_answer(answer(502)).verdict == FAILING
    assert describe_answer(answer(None, "connection refused")).verdict == FAILING
    slow = describe_answer(answer(None, "no answer within 15s", timed_out=True))
    assert slow.verdict == UNPROVEN and "reload the page" in slow.text


def test_silence_in_the_log_after_a_fix_proves_nothing_but_new_lines_do() -> None:
    assert judge_check(Status.OK, "no errors", reads_logs=True).verdict == UNPROVEN
    assert judge_check(Status.PROBLEM, "502 again", reads_logs=True).verdict == FAILING
    assert judge_check(Status.OK, "php8.2-fpm runs", reads_logs=False).verdict == FIXED
    assert judge_check(Status.PROBLEM, "stopped", reads_logs=False).verdict == FAILING
    assert judge_check(Status.UNKNOWN, "?", reads_logs=False).verdict == UNPROVEN
