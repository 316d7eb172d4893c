"""Two imports that every training or forecasting process paid for without using, left out.

Measured on this project's machine (``python -X importtime``, a fresh process each):
- torchmetrics imports ``scipy.signal`` (0.7-0.8 s) in its ``__init__`` and its audio package only
  to alias ``scipy.signal.hamming`` for an audio metric; MAE never touches it.
- torch's optimizers import ``torch._dynamo`` (1.1 s) on their first ``add_param_group`` and
  ``step``, for wrappers that matter only under ``torch.compile``, which the engine does not use.
Together about 1.9 s: ``import engine.training`` took 2.2-2.4 s and now 1.2-1.5 s, and the first
optimizer no longer adds 1.1 s. Every ``ridership train``/``forecast``, every sweep worker and
every Ray trial paid it.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types

import torch


class _SignalStandIn(types.ModuleType):
    """What torchmetrics' import looks at in ``scipy.signal``: that ``hamming`` exists. Any other
    attribute loads the real module (and takes this stand-in out of the way first)."""

    def __getattr__(self, name: str):
        if sys.modules.get("scipy.signal") is self:
            del sys.modules["scipy.signal"]
        import importlib

        return getattr(importlib.import_module("scipy.signal"), name)


def import_torchmetrics():
    """``import torchmetrics`` without its ``scipy.signal`` import; the real ``scipy.signal`` still
    loads for anyone who imports it afterwards."""
    if "torchmetrics" in sys.modules or "scipy.signal" in sys.modules:
        import torchmetrics

        return torchmetrics
    stand_in = _SignalStandIn("scipy.signal")
    stand_in.hamming = None  # torchmetrics only checks that the alias exists
    sys.modules["scipy.signal"] = stand_in
    try:
        import torchmetrics
    finally:
        if sys.modules.get("scipy.signal") is stand_in:
            del sys.modules["scipy.signal"]
        scipy = sys.modules.get("scipy")
        if scipy is not None and scipy.__dict__.get("signal") is stand_in:
            del scipy.signal
    return torchmetrics


# torch's ``_disable_dynamo`` wrapper (torch/_compile.py) imports the compiler on its first call to
# build ``torch._dynamo.disable(fn)``, cached on ``fn`` as ``__dynamo_disable``; identified by its code.
_DISABLE_WRAPPER_CODE = torch._disable_dynamo(lambda: None).__code__


def _eager_disable_wrappers(cls: type) -> None:
    """Seed that cache with ``fn`` itself for ``cls``'s wrapped methods (``add_param_group``,
    ``zero_grad``, ``state_dict``...): outside ``torch.compile`` a disabled function runs as it is,
    so an eager process gets the same calls without the import. Were a process to compile code that
    calls these methods, they would be traced rather than skipped; the engine compiles nothing. A
    torch whose wrapper differs matches nothing here and imports the compiler as before."""
    for klass in cls.__mro__:
        for attr in vars(klass).values():
            fn = getattr(attr, "__wrapped__", None)
            if getattr(attr, "__code__", None) is _DISABLE_WRAPPER_CODE and fn is not None:
                if getattr(fn, "__dynamo_disable", None) is None:
                    setattr(fn, "__dynamo_disable", fn)


@functools.cache
def without_compiler_import(optimizer_class: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """``optimizer_class`` that works without importing torch's compiler. Its ``step`` does what
    torch's wrapper does in eager mode (gradients off unless the optimizer is differentiable; the
    wrapper's graph breaks matter only under ``torch.compile``) around torch's own ``step``: the
    same arithmetic. torch's step hooks and the learning-rate schedulers' step tracking still wrap
    it (``Optimizer.__init__`` patches the subclass as usual)."""
    _eager_disable_wrappers(optimizer_class)
    raw_step = inspect.unwrap(optimizer_class.step)

    @functools.wraps(raw_step)
    def step(self, *args, **kwargs):
        with torch.set_grad_enabled(self.defaults.get("differentiable", False)):
            return raw_step(self, *args, **kwargs)

    return type(optimizer_class.__name__, (optimizer_class,), {"step": step, "__module__": __name__})
