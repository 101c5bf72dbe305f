"""Records kept for the session share one key table per shape (wizard/host/shared_keys.py):
readers see plain dicts, and a big config's passes take half the memory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.lab.big_config import write_big_config
from wizard.host.nginx_config import parse_config, summarize
from wizard.host.shared_keys import RecordShape


def test_a_record_is_a_plain_dict_to_its_readers() -> None:
    shape = RecordShape("test")
    fields = {"kind": "proxy", "port": 8080, "settings": {"a": 1}}
    records = [shape.make(fields) for _ in range(3)]
    assert all(type(r) is dict and r == fields for r in records)
    assert json.dumps(records[0]) == json.dumps(fields)  # same keys, same order
    records[1]["extra"] = True  # a key added later: that record alone changes
    assert "extra" not in records[0] and dict(records[1]) == {**fields, "extra": True}


def test_the_passes_of_a_big_config_share_their_keys(tmp_path: Path) -> None:
    site = write_big_config(tmp_path / "site", servers=300, locations=4, files=300)
    passes = summarize(parse_config(site.nginx_conf), f"{site.prefix}/", None)["passes"]
    assert len(passes) == 900
    plain = [dict(p) for p in passes]
    assert plain == passes
    held = sum(sys.getsizeof(p) for p in passes) / len(passes)
    alone = sum(sys.getsizeof(p) for p in plain) / len(plain)
    # A plain dict of a pass's ~16 keys is ~470 bytes (3.9-3.13); shared keys ~190.
    assert held < alone * 0.6, f"{held:.0f} vs {alone:.0f} bytes per pass"
