"""A Static for text that changes every redraw but rarely changes size.

Textual's ``Static.update`` re-lays out the whole screen by default, and a
layout pass re-renders every widget on it (the jobs table above all): on the
live screen that was half of each redraw's CPU. A readout's size follows its
text's length (its container sets the width), so an update that keeps the
length only repaints the readout. Wrapping can in principle differ at the same
length; the next change of length, or a resize, lays it out again.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.widgets import Static


class Readout(Static):
    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._shape: object = None

    def show_text(self, text: Text) -> None:
        self.show_shaped(text, text.cell_len)

    def show_shaped(self, content: RenderableType, shape: object) -> None:
        """Show ``content``; lay the screen out again only if ``shape`` (what sets its size) changed."""
        self.update(content, layout=shape != self._shape)
        self._shape = shape
