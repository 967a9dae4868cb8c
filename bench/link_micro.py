"""Link-mode micro benchmark: files/s for weir's place_tree vs `cp -al` / `cp -r` on one tree.

    python bench/link_micro.py [--packages 1000] [--files 100] [--dir DIR]

Builds a fake store of PACKAGES folders of FILES small files (spread over a
few subfolders, like real packages), then times, each into a fresh target:
weir hardlink (place_tree with the file list), `cp -al`, weir copy, `cp -r`.
The target lives beside the store (same filesystem). One run each; read the
numbers as ratios.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from weir.core.linker.modes import place_tree, probe_mode


def build_store(
    root: Path, packages: int, files: int
) -> list[tuple[Path, list[tuple[str, bool]]]]:
    out = []
    for p in range(packages):
        folder = root / f"pkg{p:05d}"
        listing = []
        for f in range(files):
            rel = f"lib/sub{f % 7}/f{f}.js" if f % 3 else f"f{f}.js"
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"module.exports = 1;\n" * (1 + f % 5))
            listing.append((rel, False))
        listing.sort()
        out.append((folder, listing))
    return out


def timed(label: str, count: int, fn) -> None:
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    print(f"{label:<22} {elapsed:7.3f} s   {count / elapsed:>10,.0f} files/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=1000)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base = Path(tmp)
        store = build_store(base / "store", args.packages, args.files)
        total = args.packages * args.files
        print(f"{args.packages} packages x {args.files} files = {total:,} files")
        print(
            f"auto would pick: {probe_mode(str(store[0][0] / store[0][1][0][0]), tmp)}"
        )

        def weir(mode: str, dest: Path) -> None:
            dest.mkdir()
            for folder, listing in store:
                place_tree(str(folder), f"{dest}/{folder.name}", listing, mode)  # type: ignore[arg-type]

        timed("weir hardlink", total, lambda: weir("hardlink", base / "t1"))
        timed(
            "cp -al",
            total,
            lambda: subprocess.run(
                ["cp", "-al", str(base / "store"), str(base / "t2")], check=True
            ),
        )
        timed("weir copy", total, lambda: weir("copy", base / "t3"))
        timed(
            "cp -r",
            total,
            lambda: subprocess.run(
                ["cp", "-r", str(base / "store"), str(base / "t4")], check=True
            ),
        )
        for t in ("t1", "t2", "t3", "t4"):
            shutil.rmtree(base / t)


if __name__ == "__main__":
    main()
