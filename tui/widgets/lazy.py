"""Panes built the first time they are shown (tui/app.py: compose and action_show_pane).

At start the app mounts every pane but Dataset (and the form, whose rows wait on their own) as an
empty shell (``hold``): the pane's ``compose`` yields nothing while ``is_held``, so the hundred
widgets of the hidden panes are neither built nor styled unless the user opens them. The shell is
a real mounted widget: the app calls its methods, reads its state (``RunsPane.runs``...) and gets
its messages as before, and the pane keeps its state in plain attributes either way.

What a held pane cannot do is draw into children it does not have yet. Its methods that do are
decorated with ``@drawn``: while the pane is not built, the last call of each is kept (each such
method draws one part of the pane whole, from its arguments or the pane's state, so only its last
call counts), and ``build`` makes them, in the order they were last called, once the children
exist. A pane first shown after a run trained, runs were listed or the model changed thus shows
exactly what it would have shown had it been built at start.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

HELD, BUILDING, BUILT = "held", "building", "built"


def hold(pane: Any) -> Any:
    """Mount ``pane`` (not yet mounted) empty: built by ``build``. Panes never held (a test that
    mounts one alone) are built as usual."""
    pane._lazy, pane._lazy_draws = HELD, {}
    return pane


def is_held(pane: Any) -> bool:
    """The pane's children are not to be composed yet (its ``compose`` yields nothing)."""
    return getattr(pane, "_lazy", BUILT) == HELD


def is_built(pane: Any) -> bool:
    """The pane's children exist (``@drawn`` methods draw at once)."""
    return getattr(pane, "_lazy", BUILT) == BUILT


def drawn(method: Callable) -> Callable:
    """A method that draws into the pane's children: kept while the pane is not built (its last
    call only), made by ``build``."""

    @functools.wraps(method)
    def draw(self, *args, **kwargs):
        if is_built(self):
            return method(self, *args, **kwargs)
        self._lazy_draws.pop(method.__name__, None)  # at the end again: the order of the last calls
        self._lazy_draws[method.__name__] = functools.partial(method, self, *args, **kwargs)
        return None

    return draw


async def build(pane: Any) -> None:
    """Compose and mount a held pane's children, then make the draws kept meanwhile."""
    if not is_held(pane):
        return
    pane._lazy = BUILDING  # compose yields now; draws called while the children mount are still kept
    await pane.recompose()
    pane._lazy = BUILT
    draws, pane._lazy_draws = pane._lazy_draws, {}
    for draw in draws.values():
        draw()
