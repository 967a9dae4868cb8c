"""Registry and network faults through `weir install`, end to end (SECURITY.md, "Network").

One registry and one base install serve the module; each test publishes its
own package and aims its faults at that package only, so tests never see
each other's faults. Retries and timeouts are tiny (hardening_helpers.FAST_NPMRC).
"""

from __future__ import annotations

import pytest
from hardening_helpers import (
    Sandbox,
    State,
    assert_failed,
    cache_problems,
    events,
    shared_install_fixtures,
    with_dep,
)
from loopback import LoopbackRegistry, RequestRecord

reg, template, box = shared_install_fixtures()


def tarball_of(name: str):  # type: ignore[no-untyped-def]
    return lambda r: r.kind == "tarball" and r.package == name


def packument_of(name: str):  # type: ignore[no-untyped-def]
    return lambda r: r.kind == "packument" and r.package == name


def lost_nothing(box: Sandbox, before: State) -> None:
    assert State.of(box.project) == before
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)
    assert not list(box.cache.glob("content/*/*/*/package/NETFAULT"))


def publish(reg: LoopbackRegistry, name: str) -> None:
    reg.add(name, "1.0.0", files={"index.js": f"module.exports = {name!r};\n", "NETFAULT": "x"})


def test_5xx_twice_then_200_succeeds_with_visible_retries(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-flaky")
    with_dep(box, "n-flaky")
    reg.fault(tarball_of("n-flaky"), "status", status=503, times=2)
    out = box.weir("install", "--reporter", "ndjson")
    assert out.returncode == 0, out.stderr
    retried = [e for e in events(out.stdout) if e["type"] == "RequestRetried" and "n-flaky" in e["url"]]
    assert [e["attempt"] for e in retried] == [1, 2]
    assert all("503" in e["reason"] for e in retried)
    assert (box.project / "node_modules/n-flaky/index.js").is_file()
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_5xx_forever_is_one_clear_error_after_bounded_retries(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-down")
    before = with_dep(box, "n-down")
    reg.fault(tarball_of("n-down"), "status", status=500, times=None)
    out = box.weir("install")
    assert_failed(out, 5, "n-down", f"127.0.0.1:{reg.port}", "3 attempt")
    assert out.stderr.splitlines()[-3].startswith("weir: ENETWORK")
    assert out.stderr.splitlines()[-2] == "  package: n-down@1.0.0"
    # fetch-retries=2: one bounded set of attempts, even though the download began during resolve
    assert len(reg.tarball_requests("n-down")) == 3
    lost_nothing(box, before)


@pytest.mark.parametrize(("status", "exit_code"), [(401, 5), (403, 5), (404, 4)])
def test_401_403_404_are_not_retried(reg: LoopbackRegistry, box: Sandbox, status: int, exit_code: int) -> None:
    name = f"n-status-{status}"
    publish(reg, name)
    before = with_dep(box, name)
    reg.fault(packument_of(name), "status", status=status, times=None)
    out = box.weir("install")
    assert_failed(out, exit_code, name)
    assert len(reg.packument_requests(name)) == 1
    lost_nothing(box, before)


def test_429_retry_after_is_honoured(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-busy")
    with_dep(box, "n-busy")
    reg.fault(packument_of("n-busy"), "status", status=429, retry_after=1)
    out = box.weir("install", "--reporter", "ndjson")
    assert out.returncode == 0, out.stderr
    (retried,) = [e for e in events(out.stdout) if e["type"] == "RequestRetried" and "n-busy" in e["url"]]
    assert retried["delay"] >= 1.0 and "429" in retried["reason"]  # not the 10-50 ms backoff
    box.assert_outside_untouched()


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_broken_bodies_are_retried_and_never_stored(reg: LoopbackRegistry, box: Sandbox, kind: str) -> None:
    name = f"n-body-{kind}"
    publish(reg, name)
    before = with_dep(box, name)
    reg.fault(tarball_of(name), kind, times=3, during_body=True)  # type: ignore[arg-type]  # every attempt
    out = box.weir("install")
    assert_failed(out, 5, name, "3 attempt")
    lost_nothing(box, before)
    # once the server behaves, the same command completes
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert (box.project / f"node_modules/{name}/NETFAULT").is_file()


def test_body_past_content_length_never_reaches_the_store(reg: LoopbackRegistry, box: Sandbox) -> None:
    """Extra bytes after the promised length are dropped or fail the attempt; either way the
    package that lands is exactly the published one (its integrity was checked)."""
    publish(reg, "n-overlong")
    before = with_dep(box, "n-overlong")
    reg.fault(tarball_of("n-overlong"), "overlong", times=None)
    out = box.weir("install")
    if out.returncode == 0:
        assert (box.project / "node_modules/n-overlong/index.js").read_text() == "module.exports = 'n-overlong';\n"
    else:
        assert_failed(out, 5, "n-overlong", "3 attempt")
        lost_nothing(box, before)
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_broken_body_once_then_good_succeeds(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-reset-once")
    with_dep(box, "n-reset-once")
    reg.fault(tarball_of("n-reset-once"), "reset", during_body=True)
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert len(reg.tarball_requests("n-reset-once")) == 2
    assert not cache_problems(box.cache)


def test_tarball_with_content_encoding_gzip_is_decoded_once(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-gz")
    with_dep(box, "n-gz")
    reg.fault(tarball_of("n-gz"), "gzip_tarball")
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert (box.project / "node_modules/n-gz/index.js").read_text() == "module.exports = 'n-gz';\n"
    assert not cache_problems(box.cache)


def test_stalled_server_times_out(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-stall")
    before = with_dep(box, "n-stall", npmrc="fetch-timeout=1000\nfetch-retries=1\n")
    reg.fault(tarball_of("n-stall"), "stall", seconds=30, times=None)
    out = box.weir("install")
    assert_failed(out, 5, "n-stall", "2 attempt")
    assert "timed out" in out.stderr.lower() or "timeout" in out.stderr.lower()
    lost_nothing(box, before)


def test_html_instead_of_json(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-html")
    before = with_dep(box, "n-html")
    reg.fault(packument_of("n-html"), "html", times=None)
    out = box.weir("install")
    assert_failed(out, 5, "n-html")
    lost_nothing(box, before)


NO_TARBALL = {
    "tarball-null": {"tarball": None},
    "tarball-empty": {"tarball": ""},
    "dist-empty": {"integrity": None, "shasum": None, "tarball": None},
}


@pytest.mark.parametrize("case", list(NO_TARBALL))
def test_packument_without_a_tarball_url(reg: LoopbackRegistry, box: Sandbox, case: str) -> None:
    name, dist = f"n-nodist-{case}", NO_TARBALL[case]
    reg.add(name, "1.0.0", extra_manifest={"dist": dist})
    before = with_dep(box, name)
    out = box.weir("install")
    assert out.returncode in (4, 5), out.stderr
    assert_failed(out, out.returncode, name)
    lost_nothing(box, before)


def test_packument_without_versions(reg: LoopbackRegistry, box: Sandbox) -> None:
    reg.add("n-noversions", "1.0.0")
    reg.unpublish("n-noversions", tombstone=True)  # npm's {"time": {"unpublished": ...}}: no "versions"
    before = with_dep(box, "n-noversions")
    out = box.weir("install")
    assert_failed(out, 4, "n-noversions")
    lost_nothing(box, before)


def test_304_without_a_validator_refetches(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-304")
    with_dep(box, "n-304")
    reg.fault(lambda r: packument_of("n-304")(r) and "if-none-match" not in r.headers, "status", status=304)
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert [r.status for r in reg.packument_requests("n-304")] == [304, 200]


def test_304_with_a_validator_revalidates(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-etag")
    with_dep(box, "n-etag")
    assert box.weir("install").returncode == 0
    (box.project / "package-lock.json").unlink()
    out = box.weir("install", "--prefer-online", "--reporter", "ndjson")
    assert out.returncode == 0, out.stderr
    last: RequestRecord = reg.packument_requests("n-etag")[-1]
    assert last.status == 304 and "if-none-match" in last.headers
    statuses = {e.get("cache_status") for e in events(out.stdout) if e["type"] == "JobFinished" and e["package"].startswith("n-etag")}
    assert "revalidated" in statuses


def test_offline_miss_names_the_package(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-offline")
    before = with_dep(box, "n-offline")
    requests = len(reg.requests)
    out = box.weir("install", "--offline")
    assert_failed(out, 4, "n-offline", "offline")
    assert len(reg.requests) == requests
    lost_nothing(box, before)


def test_prefer_offline_uses_cached_metadata(reg: LoopbackRegistry, box: Sandbox) -> None:
    publish(reg, "n-prefer")
    with_dep(box, "n-prefer", "^1.0.0")
    assert box.weir("install").returncode == 0
    reg.add("n-prefer", "1.1.0")
    (box.project / "package-lock.json").unlink()
    asked = len(reg.packument_requests("n-prefer"))
    out = box.weir("install", "--prefer-offline")
    assert out.returncode == 0, out.stderr
    assert len(reg.packument_requests("n-prefer")) == asked
    assert '"version": "1.0.0"' in (box.project / "node_modules/n-prefer/package.json").read_text()
