"""What a pick says about the versions it passed over (the candidates `weir why` shows)."""

from __future__ import annotations

import orjson

from weir.core.npm.packument import decode_packument
from weir.core.resolve.pick import pick_version

NODE = "20.11.0"


def test_an_uninstallable_version_outside_the_range_is_named_unusable() -> None:
    doc = {
        "name": "p",
        "dist-tags": {"latest": "2.1.0"},
        "versions": {
            "1.0.0": {"dist": {"tarball": "https://x/p-1.0.0.tgz"}},
            "1.1.0": {"dist": {"tarball": "https://x/p-1.1.0.tgz"}},
            "2.0.0": {"dist": {}},
            "2.1.0": {"dist": {"tarball": "https://x/p-2.1.0.tgz"}},
            "3.0.0": "not an object",
        },
    }
    p = decode_packument(orjson.dumps(doc))
    pick = pick_version(p, "range", "^1", node=NODE)
    verdicts = {c.version: (c.verdict, c.detail) for c in pick.candidates}
    assert pick.version == "1.1.0"
    assert verdicts["3.0.0"] == ("outside-range", "unusable")
    assert verdicts["2.0.0"] == ("outside-range", "unusable")
    assert verdicts["2.1.0"] == ("outside-range", "")
    assert verdicts["1.0.0"][0] == "lower"
    assert p.unusable["2.0.0"] == "no dist.tarball" and "not a JSON object" in p.unusable["3.0.0"]
    # the unusable ones have left the listing; a second pick neither lists nor offers them
    again = pick_version(p, "range", ">=2", node=NODE)
    assert again.version == "2.1.0" and "2.0.0" not in p.versions


def test_a_packument_picked_many_times_answers_the_same_each_time() -> None:
    versions = {f"1.{m}.{q}": {"dist": {"tarball": f"https://x/p-1.{m}.{q}.tgz"}} for m in range(5) for q in range(5)}
    versions["2.0.0-rc.1"] = {"dist": {"tarball": "https://x/p-rc.tgz"}}
    p = decode_packument(orjson.dumps({"name": "p", "dist-tags": {"latest": "1.0.0"}, "versions": versions}))
    first = [pick_version(p, "range", r, node=NODE) for r in ("^1.2.0", "~1.3.1", ">=2.0.0-rc.0")]
    second = [pick_version(p, "range", r, node=NODE) for r in ("^1.2.0", "~1.3.1", ">=2.0.0-rc.0")]
    assert [x.version for x in first] == ["1.4.4", "1.3.4", "2.0.0-rc.1"]
    assert [x.candidates for x in first] == [x.candidates for x in second]
