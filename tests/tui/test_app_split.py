"""RidershipApp is split into mixins (tui/app_runs.py, app_forecast.py, app_sweeps.py). Their message
handlers are Textual's name-based ones, so a misspelt name would never run, and nothing would say
so: every ``on_*`` method of a mixin must be the handler name of a message the app receives, and
every worker group the app starts must end in a method that exists.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from textual.message import Message

from tui.app import RidershipApp, worker_groups
from tui.app_forecast import ForecastMixin
from tui.app_runs import RunsMixin
from tui.app_sweeps import SweepsMixin

MIXINS = (RunsMixin, ForecastMixin, SweepsMixin)


def message_handler_names() -> set[str]:
    names, todo = set(), list(Message.__subclasses__())
    while todo:
        cls = todo.pop()
        names.add(cls.handler_name)
        todo.extend(cls.__subclasses__())
    return names


def test_the_app_inherits_every_mixin():
    assert all(issubclass(RidershipApp, mixin) for mixin in MIXINS)


def test_every_mixin_handler_is_a_message_handler_name():
    known = message_handler_names()
    for mixin in MIXINS:
        handlers = [name for name in vars(mixin) if name.startswith("on_")]
        assert handlers, mixin
        assert [name for name in handlers if name not in known] == [], mixin


def test_no_mixin_uses_the_on_decorator():
    """``@on`` in a plain mixin is never collected by Textual (see the mixins' docstrings)."""
    for mixin in MIXINS:
        assert not [name for name, value in vars(mixin).items() if getattr(value, "_textual_on", None)], mixin
        assert "@on(" not in inspect.getsource(inspect.getmodule(mixin))


def test_every_worker_group_ends_in_a_method():
    groups = worker_groups(RidershipApp)
    for group, method in groups.items():
        assert callable(getattr(RidershipApp, method, None)), (group, method)
    started = set()  # every group= of a self._start(...) call in the app's modules
    for module in ("app", "app_runs", "app_forecast", "app_sweeps"):
        tree = ast.parse((Path(__file__).parents[2] / "tui" / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "_start":
                started |= {kw.value.value for kw in node.keywords if kw.arg == "group"}
    assert started == set(groups)


def test_a_worker_group_handled_twice_is_refused():
    class Twice:
        WORKER_GROUPS = {"store": "_elsewhere"}

    class App2(Twice, RidershipApp):
        pass

    try:
        worker_groups(App2)
    except TypeError as exc:
        assert "store" in str(exc)
    else:
        raise AssertionError("a group handled twice was accepted")
