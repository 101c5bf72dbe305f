"""Secrets out of everything the wizard stores or exports: the session journal, the saved
transcript, the Markdown report, the summary copied to the clipboard.

What a production host shows the wizard can hold credentials: a token in a request's
query string, `user:pass@` in an address, an `Authorization` or `Cookie` header, a key
handed to PHP by `fastcgi_param` or a pool's `env[...]`, a password echoed by a prompt.
Each is replaced by REDACTED where it stands, so the record still reads (which header,
which parameter) without the value. Over-redacting a harmless value is the accepted cost:
a record goes into tickets and post-mortems, where a leaked key cannot be taken back.
"""

from __future__ import annotations

import functools
import re
from typing import Any

REDACTED = "[redacted]"

# A name that says its value is secret: DB_PASSWORD, api_key, APP_KEY, X-Auth-Token...
_SECRET_NAME = re.compile(
    r"pass(?:word|wd|phrase)|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"[_.-]key$|credential|cookie|authorization|sess(?:ion)?[_-]?id|jwt|salt",
    re.IGNORECASE)
# Query parameters are terser: ?pass=, ?auth=, ?key=, ?sig=, ?code= (OAuth) hold secrets.
_SECRET_PARAM = re.compile(r"(?:[\w.-]*[_.-])?(?:pass|pw|auth|key|sig|signature|code|sid|"
                           r"hash)", re.IGNORECASE)
# Names that hold no secret although they contain such a word.
_HARMLESS_NAME = re.compile(r"needs_password|session_cookie_path", re.IGNORECASE)

# scheme://user:password@host: the password goes, the user stays (it says who connected).
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@\"'<>]+:)([^/\s@\"'<>]+)(@)")
# ?token=...&key=...: a query (or form) parameter whose name says it is secret.
_QUERY_PARAM = re.compile(r"([?&])([\w.\-\[\]]+)=([^&#\s\"'<>]+)")
# Authorization: Basic ..., Cookie: a=b (a header line, also inside log lines and curl -H).
_HEADER_LINE = re.compile(
    r"(?i)\b((?:proxy-)?authorization|(?:set-)?cookie|x-api-key|x-auth-token|"
    r"x-access-token|api-key)(\s*:\s*)(\S[^\r\n]*)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})")
# nginx: fastcgi_param APP_KEY value; proxy_set_header Authorization "Basic ...";
_DIRECTIVE = re.compile(
    r"(?i)\b(fastcgi_param|uwsgi_param|scgi_param|proxy_set_header|grpc_set_header|"
    r"add_header|more_set_headers)(\s+)([^\s;]+)(\s+)(\"[^\"\n]*\"|'[^'\n]*'|[^\s;]+)")
# PHP-FPM pool: env[DB_PASSWORD] = ...; php_admin_value[...] = ...
_POOL_SETTING = re.compile(r"(?i)\b((?:env|php_(?:admin_)?(?:value|flag))\[([^\]\n]+)\]\s*=\s*)"
                           r"([^\n]*\S)")
# [sudo] password for alice: <anything typed or echoed>; "Password: ..."
_PROMPT = re.compile(r"(?i)((?:\[sudo\] )?pass(?:word|phrase)(?: for [^:\n]{1,64})?:)"
                     r"([ \t]*)([^\s][^\n]*)")
# NAME=value, "name": "value", name: value, where the name says it is secret.
_ASSIGNMENT = re.compile(
    r"(?i)(?<![/\w.-])([\w.-]*(?:pass(?:word|wd)|pwd|secret|token|api_?key|access_?key|private_?key|"
    r"client_secret)[\w.-]*)([\"']?\s*[=:]\s*[\"']?)([^\s\"',;&]+)")
# A value that looks like a key whatever its name: long, one word, letters and digits mixed.
_KEYLIKE = re.compile(r"^[A-Za-z0-9+/_-]{20,}={0,2}$")


@functools.lru_cache(maxsize=4096)  # the same few key names, hundreds of thousands of times
def secret_name(name: str) -> bool:
    """Does this name (a header, variable, setting or JSON key) say its value is secret?"""
    return bool(_SECRET_NAME.search(name)) and not _HARMLESS_NAME.fullmatch(name)


def _secret_param(name: str) -> bool:
    return secret_name(name) or bool(_SECRET_PARAM.fullmatch(name))


def _token_like(value: str) -> bool:
    """After Bearer or Basic: a credential (digits, base64 signs or mixed case), not a
    word of a sentence ("basic configuration")."""
    return bool(re.search(r"[0-9+/=]", value) or (re.search("[a-z]", value)
                                                  and re.search("[A-Z]", value[1:])))


def looks_like_key(value: str) -> bool:
    """A random-looking token: sk_live_4eC39HqLyjWDarjt..., a base64 or hex key. Never a
    variable ($document_root...), a path or a sentence."""
    value = value.strip("\"'")
    if value.startswith(("$", "/")) or not _KEYLIKE.match(value):
        return False
    classes = sum(bool(re.search(p, value)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
    return bool(re.search("[0-9]", value)) and (classes >= 2 or len(value) >= 32)


def _directive(match: re.Match[str]) -> str:
    directive, gap, name, gap2, value = match.groups()
    bare = value.strip("\"'")
    if bare.startswith("$") or not bare or bare == REDACTED:
        return match.group(0)  # a variable names where the value comes from: no secret
    if secret_name(name) or looks_like_key(bare):
        return f"{directive}{gap}{name}{gap2}{REDACTED}"
    return match.group(0)


def _pool_setting(match: re.Match[str]) -> str:
    head, name, value = match.groups()
    if secret_name(name) or looks_like_key(value):
        return f"{head}{REDACTED}"
    return match.group(0)


def _query_param(match: re.Match[str]) -> str:
    sep, name, value = match.groups()
    if _secret_param(name) or looks_like_key(value):
        return f"{sep}{name}={REDACTED}"
    return match.group(0)


def _bearer(match: re.Match[str]) -> str:
    scheme, gap, value = match.groups()
    return f"{scheme}{gap}{REDACTED}" if _token_like(value) else match.group(0)


# Something each pattern above needs in its match (case-blind): a text without any of them
# holds no secret they would find. Nearly every string of a snapshot (paths, names,
# numbers, most log text) is let through after this one search instead of eight.
_MAYBE_SECRET = re.compile(
    r"(?i)[?&@]|authoriz|cookie|api-key|auth-token|access-token|bearer|basic|_param|"
    r"set_header|add_header|env\[|php_|pass|pwd|secret|token|api_?key|access_?key|"
    r"private_?key")


@functools.lru_cache(maxsize=65536)  # a snapshot repeats its paths, names and values
def redact_text(text: str) -> str:
    """The text with every secret it holds replaced by REDACTED."""
    if not text or not _MAYBE_SECRET.search(text):
        return text
    return redact_all(text)


def redact_all(text: str) -> str:
    """redact_text without its quick look first (the tests hold the two equal)."""
    text = _URL_USERINFO.sub(rf"\1{REDACTED}\3", text)
    text = _QUERY_PARAM.sub(_query_param, text)
    text = _HEADER_LINE.sub(rf"\1\2{REDACTED}", text)
    text = _BEARER.sub(_bearer, text)
    text = _DIRECTIVE.sub(_directive, text)
    text = _POOL_SETTING.sub(_pool_setting, text)
    text = _PROMPT.sub(rf"\1\2{REDACTED}", text)
    return _ASSIGNMENT.sub(rf"\1\2{REDACTED}", text)


def redact_data(value: Any) -> Any:
    """A JSON-able value with its secrets redacted: every string, and the whole value of
    a key whose name says it is secret ({"password": ...}, {"Cookie": ...})."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: (REDACTED if isinstance(item, str) and item and isinstance(key, str)
                      and secret_name(key) else redact_data(item))
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(item) for item in value]
    return value
