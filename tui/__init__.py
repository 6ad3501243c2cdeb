"""lakehouse-tui: the Textual control room. Only ``tui.cli`` builds a Backend."""
