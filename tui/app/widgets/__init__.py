"""Widgets of the live view; each reads the RunModel in one ``show(model)`` call per poll."""
