"""Reporters that turn events into output without Textual: plain text, NDJSON, the inline panel."""
