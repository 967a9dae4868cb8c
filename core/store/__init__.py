"""Tarball bytes: fetch, the content-addressed store, extraction."""
