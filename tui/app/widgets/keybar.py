"""The key bar: the screen's key bindings as one line of text at the bottom of every screen.

Textual's Footer composes a widget per key and restyles each one as it
mounts: about 0.1 s of CPU when the live screen starts, half of its first
frame, taken from the install it is there to show. One line of text tells
the user the same. It follows the screen's bindings as they change (focus
moving to a widget with its own keys), as the Footer does.
"""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; padding: 0 1; background: $footer-background; color: $footer-foreground; }
    KeyBar > .keybar--key { color: $footer-key-foreground; text-style: bold; }
    """
    COMPONENT_CLASSES = {"keybar--key"}  # noqa: RUF012 - Textual's class-level declaration

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        key_style = self.get_component_rich_style("keybar--key")
        text = Text(no_wrap=True, overflow="ellipsis")
        actions: set[str] = set()
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in actions:
                continue
            actions.add(binding.action)
            if text:
                text.append("  ")
            text.append(self.app.get_key_display(binding), style=key_style if enabled else "dim")
            text.append(f" {binding.description}", style="" if enabled else "dim")
        self.update(text)
