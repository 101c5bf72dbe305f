"""Mistakes in a PHP-FPM config, placed at their file and line (wizard/host/phpfpm_syntax.py).

The `php-fpm8.2 -t -y` outputs below were recorded from the real binary (PHP 8.2,
Debian 12) on a config /tmp/f/fpm.conf that includes /tmp/f/pool.d/www.conf, broken in
each way; only their time stamps were shortened. The lab test
tests/lab/test_pool_syntax.py runs the real binary end to end."""

from __future__ import annotations

from pathlib import Path

from wizard.host.phpfpm import read_ini
from wizard.host.phpfpm_syntax import (
    config_problems,
    lint_lines,
    problems_in_test_output,
)

CONF = "/tmp/f/fpm.conf"
POOL = "/tmp/f/pool.d/www.conf"
RECORDED = {
    "empty_value": (
        "[30-Nov-2026 06:43:08] ALERT: [pool www] pm.max_children must be a positive value\n"
        "[30-Nov-2026 06:43:08] ERROR: failed to post process the configuration\n"
        "[30-Nov-2026 06:43:08] ERROR: FPM initialization failed\n"),
    "unclosed": (
        "PHP:  syntax error, unexpected end of file, expecting ']' in Unknown on line 1\n"
        f"[30-Nov-2026 06:43:08] ERROR: Unable to include {POOL} from {CONF} at line 1\n"
        f"[30-Nov-2026 06:43:08] ERROR: failed to load configuration file '{CONF}'\n"
        "[30-Nov-2026 06:43:08] ERROR: FPM initialization failed\n"),
    "no_equals": (
        f"[30-Nov-2026 06:43:08] ERROR: [{POOL}:6] value is NULL for a "
        "ZEND_INI_PARSER_ENTRY\n"
        f"[30-Nov-2026 06:43:08] ERROR: Unable to include {POOL} from {CONF} at line 6\n"
        f"[30-Nov-2026 06:43:08] ERROR: failed to load configuration file '{CONF}'\n"
        "[30-Nov-2026 06:43:08] ERROR: FPM initialization failed\n"),
    # PHP's ini parser counts "line 2" here; the include message has the real line, 6.
    "open_paren": (
        "PHP:  syntax error, unexpected END_OF_LINE, expecting '^' or '|' or '&' or ')' in "
        "Unknown on line 2\n"
        f"[30-Nov-2026 06:43:08] ERROR: Unable to include {POOL} from {CONF} at line 6\n"
        f"[30-Nov-2026 06:43:08] ERROR: failed to load configuration file '{CONF}'\n"),
}
ENTRIES = [("www", "", "", POOL, 1), ("www", "user", "www-data", POOL, 2),
           ("www", "pm.max_children", "", POOL, 5)]


def places(output: str) -> list[tuple[str, int | None, str]]:
    found = problems_in_test_output(output, CONF, ENTRIES)
    return [(p["file"], p["line"], p["words"]) for p in found]


def test_each_recorded_message_is_placed_at_its_file_and_line() -> None:
    assert places(RECORDED["empty_value"]) == [
        (POOL, 5, "in pool www, pm.max_children must be a positive value")]
    assert places(RECORDED["unclosed"]) == [
        (POOL, 1, "PHP-FPM cannot read this line (syntax error, unexpected end of file, "
                  "expecting ']')")]
    assert places(RECORDED["no_equals"]) == [
        (POOL, 6, "this line is not a setting: PHP-FPM expects 'name = value'")]
    assert [p[:2] for p in places(RECORDED["open_paren"])] == [(POOL, 6)]


def test_php_fpm_own_message_is_kept_beside_the_words() -> None:
    [problem] = problems_in_test_output(RECORDED["no_equals"], CONF, ENTRIES)
    assert problem["said"].endswith("value is NULL for a ZEND_INI_PARSER_ENTRY")


def test_our_reading_finds_what_php_fpm_rejects_without_the_binary() -> None:
    text = "; comment\n[www\nuser = x\njust words\n# also a comment\n[ok]\nkey = \n"
    assert [(p["line"], p["words"]) for p in lint_lines(POOL, text)] == [
        (2, "the section name [www is not closed with ]"),
        (4, "this line is not a setting: PHP-FPM expects 'name = value'")]


def test_config_problems_merge_both_and_quote_the_line(tmp_path: Path) -> None:
    conf, pool = tmp_path / "fpm.conf", tmp_path / "www.conf"
    conf.write_text(f"[global]\ninclude = {pool}\n")
    pool.write_text("[www]\nuser = www-data\npm = static\npm.max_children = 2\n"
                    "this is garbage\n")
    output = (f"[30-Nov-2026 06:43:08] ERROR: [{pool}:5] value is NULL for a "
              "ZEND_INI_PARSER_ENTRY\n")
    [problem] = config_problems(str(conf), read_ini(str(conf), []),
                                {"ok": False, "output": output})
    assert (problem["file"], problem["line"], problem["text"]) == \
        (str(pool), 5, "this is garbage")
    assert problem["said"] and "value is NULL" in problem["said"]
    # without a test result (no binary, no root) our reading still finds it
    [alone] = config_problems(str(conf), read_ini(str(conf), []), {"ok": None})
    assert (alone["line"], alone["said"]) == (5, None)
