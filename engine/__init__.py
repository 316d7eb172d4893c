"""Ridership engine: data, model, training, evaluation and forecasting. No UI imports here.

Submodules are imported on demand so that ``import engine`` stays cheap (torch loads only when a
module that needs it is used).
"""

__version__ = "0.1.0"
