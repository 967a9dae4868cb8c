"""The resolved tree on disk: package-lock.json read/write (v3 and legacy) and its entries, selection (omit/platform), bundled deps, hidden lockfile."""
