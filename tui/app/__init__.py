"""The Textual live view: the app, its model and inbox, screens, widgets, replay and screenshots."""
