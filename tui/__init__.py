"""The CLI, the plain/ndjson reporters and the Textual app."""
