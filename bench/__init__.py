"""The phase benchmark: weir against npm, pnpm, bun and utoo (``python -m bench``)."""
