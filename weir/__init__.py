"""weir: an npm-compatible package installer that shows its resolver loop live.

The engine lives in :mod:`weir.core` (no UI imports, ever); the CLI, the
reporters and the Textual app live in :mod:`weir.tui`.
"""

__version__ = "0.1.0"
