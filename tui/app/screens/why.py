"""Why: every pinned package, searchable; its Decision; and "why not this version?".

It renders what ``weir.core.why`` answers, with the line builders of
``weir why`` (``weir.tui.cli.why_cli``): one implementation, two views. Under
``weir why --tui`` the app holds the lockfile-backed answers (flags, the
requirements as asked now, history); in a live install or a replay only the
recorded Decisions exist, and ``recorded_copy`` makes the same shape of them.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from weir.core.resolve.decision import Decision
from weir.core.errors import InputError
from weir.core.why import RULE_WORDS, Copy, recorded_copy, why_not_decision
from weir.tui.app.model import RunModel
from weir.tui.app.screens.base import ModelScreen
from weir.tui.cli.why_cli import copy_lines, why_not_lines
from weir.tui.app.widgets.keybar import KeyBar


class WhyScreen(ModelScreen):
    CSS_PATH = "why.tcss"
    AUTO_FOCUS = "#packages"  # letters stay screen keys (w, n, s, l); "/" moves to the search
    BINDINGS = [Binding("slash", "focus_search", "Search"), Binding("escape", "focus_list", "List", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self._shown_keys: list[str] = []
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="left"):
                yield Input(placeholder="search packages (/)", id="search")
                yield OptionList(id="packages")
            with Vertical(id="right"):
                with VerticalScroll(id="detail-scroll"):
                    yield Static("Select a package to see why it was chosen.", id="detail")
                yield Input(placeholder="why not version… (Enter)", id="whynot")
                yield Static(id="answer")
        yield KeyBar()

    def show(self, model: RunModel) -> None:
        query = self.query_one("#search", Input).value.strip().lower()
        keys = [k for k in sorted(model.decisions) if query in k.lower()]
        if keys != self._shown_keys:
            options = self.query_one("#packages", OptionList)
            options.clear_options()
            options.add_options(Option(k, id=k) for k in keys)
            self._shown_keys = keys
            if self.selected in keys:
                options.highlighted = keys.index(self.selected)
        target = self.weir.why_target
        if target is not None:
            self.weir.why_target = None
            self.select(target)

    def select(self, package: str) -> None:
        key = self.model.find_decision(package)
        if key is None:
            self.query_one("#detail", Static).update(Text(f"{package}: no decision recorded (yet)."))
            return
        self.selected = key
        self.query_one("#detail", Static).update(copy_view(self._copy(key)))
        self.query_one("#answer", Static).update("")
        if key in self._shown_keys:
            self.query_one("#packages", OptionList).highlighted = self._shown_keys.index(key)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search":
            self.show(self.model)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search" and self._shown_keys:
            self.select(self._shown_keys[0])
            self.query_one("#packages", OptionList).focus()
        elif event.input.id == "whynot" and self.selected is not None:
            self.query_one("#answer", Static).update(Text(why_not_text(self.model.decisions[self.selected], event.value)))

    def _copy(self, key: str) -> Copy:
        return self.weir.why_copies.get(key) or recorded_copy(self.model.decisions[key])

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None and event.option.id != self.selected:
            self.select(event.option.id)

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_focus_list(self) -> None:
        self.query_one("#packages", OptionList).focus()


def copy_view(copy: Copy) -> Text:
    """``weir why``'s lines for one copy, its first line in bold; every candidate the shortlist keeps."""
    lines = copy_lines(copy, shown=None)
    text = Text(lines[0], style="bold")
    for line in lines[1:]:
        text.append("\n" + line)
    return text


def why_not_text(decision: Decision, asked: str) -> str:
    """The answer ``weir why NAME@ASKED`` gives for this copy."""
    try:
        answer = why_not_decision(decision, asked)
    except InputError as err:
        return err.message
    if answer is None:
        return f"{decision.name}@{decision.version} is the chosen version: {RULE_WORDS.get(decision.rule, decision.rule)}"
    return "\n".join(why_not_lines(decision.name, asked.strip(), (answer,)))
