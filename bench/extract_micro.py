"""Micro-benchmark of weir.core.store.extract on real npm tarballs.

    cd bench/.work && npm pack typescript @babel/core lodash ms semver react debug
    python bench/extract_micro.py [bench/.work/*.tgz]

For each tarball: files/s and MB/s of ``extract`` (best of N runs into fresh
directories), next to tarfile.extractall(filter="data") as a yardstick, and
the share of weir's time spent on the per-file CRC-32 the store keeps. Then the
question core/store/fetch.py asks: would extracting while downloading (streaming)
save time? It can save at most the extraction time, so that is printed next
to the time the download itself takes at 50 Mbit/s with a 20 ms round trip.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio
from isal import isal_zlib
from weir.core.store.extract import extract

HERE = Path(__file__).parent
RUNS = 7


def best(fn: Callable[[Path], object], runs: int) -> float:
    times = []
    with tempfile.TemporaryDirectory(dir=HERE / ".work") as tmp:
        for i in range(runs):
            dest = Path(tmp) / f"r{i}"
            t0 = time.perf_counter()
            fn(dest)
            times.append(time.perf_counter() - t0)
            shutil.rmtree(dest)
    return min(times)


def stdlib(data: bytes, dest: Path) -> None:
    dest.mkdir()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
        tf.extractall(dest, filter="data")


def crc32_time(data: bytes) -> float:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
        blobs = [tf.extractfile(m).read() for m in tf if m.isreg()]  # type: ignore[union-attr]
    t0 = time.perf_counter()
    for b in blobs:
        isal_zlib.crc32(b)
    return time.perf_counter() - t0


async def thread_hop(n: int = 2000) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        await anyio.to_thread.run_sync(int)
    return (time.perf_counter() - t0) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tarballs", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    paths = args.tarballs or sorted((HERE / ".work").glob("*.tgz"))
    if not paths:
        sys.exit("no tarballs: run `npm pack <name>` in bench/.work first")
    print(f"{'tarball':28} {'tgz KB':>7} {'files':>6} {'MB':>6} {'weir ms':>8} {'files/s':>8} "
          f"{'MB/s':>6} {'stdlib ms':>9} {'crc %':>6} {'dl ms':>6}")
    tot_files = tot_time = 0.0
    for path in paths:
        data = path.read_bytes()
        with tempfile.TemporaryDirectory(dir=HERE / ".work") as tmp:
            result = extract(io.BytesIO(data), Path(tmp) / "x")
        weir = best(lambda d, data=data: extract(io.BytesIO(data), d), args.runs)
        ref = best(lambda d, data=data: stdlib(data, d), args.runs)
        crc = crc32_time(data)
        download = 0.020 + len(data) * 8 / 50e6  # one round trip + transfer at 50 Mbit/s
        n, mb = len(result.files), result.bytes / 1e6
        tot_files += n
        tot_time += weir
        print(f"{path.name:28} {len(data) / 1e3:7.0f} {n:6} {mb:6.2f} {weir * 1e3:8.2f} {n / weir:8.0f} "
              f"{mb / weir:6.1f} {ref * 1e3:9.2f} {100 * crc / weir:6.1f} {download * 1e3:6.1f}")
    print(f"overall: {tot_files / tot_time:.0f} files/s")
    print(f"anyio.to_thread.run_sync round trip: {anyio.run(thread_hop) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
