"""The engine: resolve, fetch, store, link. Never imports textual, rich or weir.tui."""

__version__ = "0.1.0"
