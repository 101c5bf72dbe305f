"""nginx's server_name selection, rule by rule, and the `server.name_match` check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from wizard.checks.server_name import match_server, server_name_match
from wizard.host.facts import Facts
from wizard.options import Options


def server(*names: str, port: int = 80, default: bool = False, line: int = 1) -> dict[str, Any]:
    return {"file": "/etc/nginx/sites-enabled/site", "line": line, "server_names": list(names),
            "listen": [{"address": "*", "port": port, "default_server": default, "ssl": False,
                        "raw": str(port)}], "root": None, "index": []}


def test_exact_name_wins() -> None:
    servers = [server("*.example.com"), server("~^www"), server("www.example.com")]
    assert match_server("www.example.com", 80, servers) == (2, "exact")


def test_exact_match_ignores_case_and_trailing_dot() -> None:
    assert match_server("WWW.Example.COM.", 80, [server("x"), server("www.example.com")]) == \
        (1, "exact")


def test_longest_leading_wildcard_wins_over_shorter_and_order() -> None:
    servers = [server("*.example.com"), server("*.shop.example.com")]
    assert match_server("a.shop.example.com", 80, servers) == (1, "wildcard_start")
    assert match_server("a.blog.example.com", 80, servers) == (0, "wildcard_start")


def test_leading_wildcard_needs_a_label_but_dot_form_matches_bare_domain() -> None:
    assert match_server("example.com", 80, [server("other"), server("*.example.com")]) == \
        (0, "first_server")
    assert match_server("example.com", 80, [server("other"), server(".example.com")]) == \
        (1, "wildcard_start")
    assert match_server("a.b.example.com", 80, [server("other"), server(".example.com")]) == \
        (1, "wildcard_start")


def test_leading_wildcard_beats_trailing_wildcard_and_regex() -> None:
    servers = [server("~example"), server("www.example.*"), server("*.example.com")]
    assert match_server("www.example.com", 80, servers) == (2, "wildcard_start")


def test_trailing_wildcard_beats_regex_and_longest_wins() -> None:
    servers = [server("~^www"), server("www.*"), server("www.example.*")]
    assert match_server("www.example.org", 80, servers) == (2, "wildcard_end")
    assert match_server("www.other.org", 80, servers) == (1, "wildcard_end")


def test_first_regex_in_config_order_wins() -> None:
    servers = [server("a.example"), server(r"~^w+\.example\.net$"), server(r"~^www\d+\.")]
    assert match_server("www12.example.net", 80, servers) == (2, "regex")
    assert match_server("www.example.net", 80, servers) == (1, "regex")


def test_regex_named_captures_in_pcre_syntax() -> None:
    servers = [server("other"), server(r"~^(?<sub>\w+)\.example\.com$")]
    assert match_server("api.example.com", 80, servers) == (1, "regex")


def test_default_server_of_the_port_then_first_server() -> None:
    servers = [server("a.example"), server("b.example", default=True), server("c", port=8080)]
    assert match_server("nomatch.example", 80, servers) == (1, "default_server")
    assert match_server("nomatch.example", 8080, servers) == (2, "first_server")
    assert match_server("nomatch.example", 81, servers) == (None, "no_server")


def test_names_on_other_ports_do_not_count() -> None:
    servers = [server("site.example", port=8080), server("_", default=True)]
    assert match_server("site.example", 80, servers) == (1, "default_server")


def test_underscore_is_just_an_invalid_name() -> None:
    assert match_server("_", 80, [server("x"), server("_")]) == (1, "exact")
    assert match_server("anything", 80, [server("x"), server("_")]) == (0, "first_server")


labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)


@given(st.lists(labels, min_size=2, max_size=4), st.integers(min_value=0, max_value=3))
def test_exact_name_always_beats_wildcards(parts: list[str], position: int) -> None:
    host = ".".join(parts)
    rivals = [server(f"*.{'.'.join(parts[1:])}"), server(f".{'.'.join(parts[1:])}"),
              server(f"{parts[0]}.*"), server("~."), server("other", default=True)]
    servers = [*rivals[:position], server(host), *rivals[position:]]
    assert match_server(host, 80, servers) == (position, "exact")


def facts_for(url: str | None, servers: list[dict[str, Any]],
              recorded: Callable[..., Facts]) -> Facts:
    facts = recorded({"nginx": {"servers": servers}})
    facts.options = Options(url=url)
    return facts


def test_check_mismatch_names_the_default_server(recorded: Callable[..., Facts]) -> None:
    servers = [server("_", default=True, line=3), server("shop.example", line=20)]
    result = server_name_match(facts_for("http://blog.example/", servers, recorded))
    assert result.result == "mismatch"
    assert result.causes == ["server_name_mismatch"]
    assert result.vars["host"] == "blog.example"
    assert result.vars["default_server_line"] == 3
    assert result.vars["default_server_file"] == "/etc/nginx/sites-enabled/site"
    assert result.vars["server_names"] == "_"


def test_check_ok_on_a_name_match(recorded: Callable[..., Facts]) -> None:
    servers = [server("_", default=True), server("shop.example", port=8080, line=20)]
    result = server_name_match(facts_for("http://shop.example:8080/x", servers, recorded))
    assert (result.result, result.vars["server_line"], result.vars["how"]) == ("ok", 20, "exact")


def test_check_single_server_catches_everything(recorded: Callable[..., Facts]) -> None:
    result = server_name_match(facts_for("http://a.example/", [server("b.example")], recorded))
    assert result.result == "ok"


def test_check_skipped_without_url_and_no_server_on_port(recorded: Callable[..., Facts]) -> None:
    assert server_name_match(facts_for(None, [server("a")], recorded)).result == "skipped"
    result = server_name_match(facts_for("https://a.example/", [server("a.example")], recorded))
    assert (result.result, result.vars["port"]) == ("no_server", 443)


def test_check_unknown_without_nginx_facts(recorded: Callable[..., Facts]) -> None:
    facts = recorded({})
    facts.options = Options(url="http://a.example/")
    assert server_name_match(facts).result == "unknown"
