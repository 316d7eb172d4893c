"""View-models: what the panes say, as pure functions and dataclasses of engine values (no widgets)."""
