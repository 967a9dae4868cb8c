"""Measure packument fetching and decoding on a fixture's packages.

Why: the choice of HTTP transport (httpx over h2 vs httpx over aiohttp) and of
decoder (orjson + records, msgspec typed, msgspec lazy per version) is made
by these numbers, not by taste. Run:

    python bench/packument_decode.py [--fixture medium] [--transports] [--rounds 3]

The packuments are fetched once from the public registry into bench/.work/
(gitignored), abbreviated and full; later runs decode from there.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import msgspec
import orjson
from weir.core.npm import packument as pk

ROOT = Path(__file__).resolve().parent
FIXTURES = Path("/work/shared/bench/fixtures")
REGISTRY = "https://registry.npmjs.org/"
ACCEPT = {
    "corgi": "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
    "full": "application/json",
}
CONCURRENCY = 64


def fixture_names(fixture: str) -> list[str]:
    lock = orjson.loads((FIXTURES / fixture / "package-lock.json").read_bytes())
    names = set()
    for key, entry in lock["packages"].items():
        if key:
            names.add(entry.get("name") or key.rsplit("node_modules/", 1)[1])
    return sorted(names)


def url_of(name: str) -> str:
    return REGISTRY + quote(name, safe="@")


def h2_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(http2=True, limits=httpx.Limits(max_connections=CONCURRENCY))


def aiohttp_client() -> httpx.AsyncClient:
    from httpx_aiohttp import AiohttpTransport

    return httpx.AsyncClient(transport=AiohttpTransport(limits=httpx.Limits(max_connections=CONCURRENCY)))


async def fetch_all(make: Callable[[], httpx.AsyncClient], names: list[str], accept: str) -> dict[str, bytes]:
    sem = asyncio.Semaphore(CONCURRENCY)
    out: dict[str, bytes] = {}
    async with make() as client:

        async def one(name: str) -> None:
            async with sem:
                r = await client.get(url_of(name), headers={"accept": accept, "accept-encoding": "gzip"})
                r.raise_for_status()
                out[name] = r.content

        await asyncio.gather(*(one(n) for n in names))
    return out


def cached(fixture: str, kind: str, names: list[str]) -> dict[str, bytes]:
    folder = ROOT / ".work" / fixture / kind
    folder.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if not (folder / (quote(n, safe="") + ".json")).exists()]
    if missing:
        print(f"fetching {len(missing)} {kind} packuments ...")
        for name, body in asyncio.run(fetch_all(aiohttp_client, missing, ACCEPT[kind])).items():
            (folder / (quote(name, safe="") + ".json")).write_bytes(body)
    return {n: (folder / (quote(n, safe="") + ".json")).read_bytes() for n in names}


def timed(label: str, rounds: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    print(f"  {label:<44} {best * 1000:8.1f} ms")
    return best


def bench_transports(names: list[str], rounds: int) -> None:
    print(f"fetch {len(names)} abbreviated packuments, {CONCURRENCY} concurrent (wall / CPU):")
    for label, make in (("httpx + h2", h2_client), ("httpx + AiohttpTransport", aiohttp_client)):
        for _ in range(rounds):
            w0, c0 = time.perf_counter(), time.process_time()
            bodies = asyncio.run(fetch_all(make, names, ACCEPT["corgi"]))
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            size = sum(map(len, bodies.values())) / 1e6
            print(f"  {label:<28} {wall:6.2f} s wall {cpu:6.2f} s CPU  {size:.1f} MB")


class _EagerPackument(msgspec.Struct):
    versions: dict[str, pk._WireVersion] = {}


_eager = msgspec.json.Decoder(_EagerPackument)


def build_all(name: str, wires: dict[str, pk._WireVersion]) -> None:
    for version, wire in wires.items():
        try:
            pk._build(wire, name, version)
        except pk._Unusable:
            pass


def orjson_records(bodies: dict[str, bytes]) -> None:
    for name, body in bodies.items():
        doc = orjson.loads(body)
        wires = {v: msgspec.convert(m, pk._WireVersion, from_attributes=False) for v, m in doc["versions"].items()}
        build_all(name, wires)


def orjson_only(bodies: dict[str, bytes]) -> None:
    for body in bodies.values():
        orjson.loads(body)


def msgspec_eager(bodies: dict[str, bytes]) -> None:
    for name, body in bodies.items():
        build_all(name, _eager.decode(body).versions)


def lazy_touch(count: int | None) -> Callable[[dict[str, bytes]], None]:
    """Decode the scan plus ``count`` versions per packument (None: all of them)."""

    def run(bodies: dict[str, bytes]) -> None:
        for body in bodies.values():
            p = pk.decode_packument(body)
            keys = list(p.versions)
            for version in keys if count is None else keys[len(keys) - count :]:
                p.versions.get(version)

    return run


def bench_decode(fixture: str, kind: str, bodies: dict[str, bytes], rounds: int) -> None:
    size = sum(map(len, bodies.values())) / 1e6
    versions = sum(len(orjson.loads(b).get("versions", {})) for b in bodies.values())
    print(f"decode {len(bodies)} {kind} packuments of {fixture} ({size:.1f} MB, {versions} versions):")
    timed("orjson.loads only (no records)", rounds, lambda: orjson_only(bodies))
    timed("orjson.loads + records for every version", rounds, lambda: orjson_records(bodies))
    timed("msgspec typed + records for every version", rounds, lambda: msgspec_eager(bodies))
    timed("msgspec lazy: scan + every version", rounds, lambda: lazy_touch(None)(bodies))
    timed("msgspec lazy: scan + 2 versions (a resolve)", rounds, lambda: lazy_touch(2)(bodies))
    timed("msgspec lazy: scan only", rounds, lambda: lazy_touch(0)(bodies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixture", default="medium")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transports", action="store_true", help="also time fetching over each transport")
    args = parser.parse_args()
    names = fixture_names(args.fixture)
    if args.transports:
        bench_transports(names, args.rounds)
    for kind in ("corgi", "full"):
        bench_decode(args.fixture, kind, cached(args.fixture, kind, names), args.rounds)


if __name__ == "__main__":
    main()
