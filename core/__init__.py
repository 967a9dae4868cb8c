"""The engine: resolve, fetch, store, link. Never imports textual, rich or weir.tui."""
