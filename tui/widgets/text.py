"""Static and Label that show text as written: never parsed as markup.

Text in this app often comes from outside (a file path, a CSV cell, an engine error, a run's
settings): a path holding ``[/]`` would raise MarkupError in a markup-parsing Static, and one holding
``[bold]`` would change the style and lose the brackets. Every pane imports ``Static`` and ``Label``
from here instead of textual.widgets, so a string given to them or to ``update()`` is always plain
(tui.format.plain makes the same Content for other places: notifications, table cells). Styled text
is passed as Content or rich Text, built on purpose (e.g. Content.from_markup of the app's own
words).
"""

from __future__ import annotations

from textual import widgets


class Static(widgets.Static):
    def __init__(self, content="", *, markup: bool = False, **kwargs) -> None:
        super().__init__(content, markup=markup, **kwargs)


class Label(widgets.Label):
    def __init__(self, content="", *, markup: bool = False, **kwargs) -> None:
        super().__init__(content, markup=markup, **kwargs)
