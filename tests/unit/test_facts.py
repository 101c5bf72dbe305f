"""The fact cache: gathered once, replayed from snapshots, never stale after a fix."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from wizard.host.facts import PROVIDERS, SNAPSHOT_FORMAT, Facts, FactUnavailable
from wizard.options import Options


class Counter:
    """A fact `test.counter` whose value says how many times the host was read; the
    first read waits for `go_on`, so a test can act while it is under way."""

    def __init__(self) -> None:
        self.reads = 0
        self.first_read = threading.Event()
        self.go_on = threading.Event()

    def __call__(self, facts: Facts) -> int:
        self.reads += 1
        if self.reads == 1:
            self.first_read.set()
            assert self.go_on.wait(10)
        return self.reads


@pytest.fixture
def counter() -> Iterator[Counter]:
    PROVIDERS["test.counter"] = provider = Counter()
    yield provider
    PROVIDERS.pop("test.counter", None)


def test_a_fact_is_read_once_and_cached(counter: Counter) -> None:
    counter.go_on.set()
    facts = Facts(Options())
    assert facts.get("test.counter") == 1
    assert facts.get("test.counter") == 1


def test_a_read_overtaken_by_a_fix_is_read_again(counter: Counter) -> None:
    facts = Facts(Options())
    box: dict[str, object] = {}
    reader = threading.Thread(target=lambda: box.update(value=facts.get("test.counter")))
    reader.start()
    assert counter.first_read.wait(10)
    facts.invalidate()  # a fix ran while the first read was under way
    counter.go_on.set()
    reader.join(10)
    assert box["value"] == 2, "the value read before the fix must not be kept"
    assert facts.get("test.counter") == 2


def test_snapshot_round_trip_and_missing_facts(counter: Counter) -> None:
    counter.go_on.set()
    live = Facts(Options(url="http://127.0.0.1:1/"))
    live.get("test.counter")
    replay = Facts.from_snapshot(live.to_snapshot())
    assert replay.get("test.counter") == 1
    assert replay.options.url == "http://127.0.0.1:1/"
    with pytest.raises(FactUnavailable, match="the snapshot has no 'nginx' facts"):
        replay.get("nginx")
    replay.invalidate()  # a replay never reads the host, so nothing is forgotten
    assert replay.get("test.counter") == 1


def test_a_replay_runs_with_the_recorded_options_unless_the_command_line_sets_them() -> None:
    """`diagnose --from-snapshot FILE` alone must give the diagnosis that was recorded:
    without the recorded --url, log lines of a PHP-FPM the site does not use counted as a
    cause again (seen in CI after PHP-FPM was stopped on the machine)."""
    recorded = Options(nginx_conf="/etc/nginx/nginx.conf", url="http://shop.example/cart",
                       since_seconds=600.0)
    data = {"format": SNAPSHOT_FORMAT, "facts": {}, "options": recorded.to_json()}
    replay = Facts.from_snapshot(data, Options())
    assert (replay.options.url, replay.options.since_seconds, replay.options.nginx_conf) == \
        ("http://shop.example/cart", 600.0, "/etc/nginx/nginx.conf")
    told = Facts.from_snapshot(data, Options(url="http://shop.example/", since_seconds=60.0))
    assert (told.options.url, told.options.since_seconds, told.options.nginx_conf) == \
        ("http://shop.example/", 60.0, "/etc/nginx/nginx.conf")
