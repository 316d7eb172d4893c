"""The data: where it comes from (sources), how it is checked (loading), the CTA calendar, the
synthetic demo series, and the model's inputs (windows). Import from the submodules; the names
below are the ones most callers need.
"""

from ..domain import DAY_TYPES, FEATURES, SCALE, TARGETS
from .loading import DataSource, RidershipData, load_csv
from .windows import Split, build_features, make_splits, make_windows

__all__ = [
    "DAY_TYPES",
    "FEATURES",
    "SCALE",
    "TARGETS",
    "DataSource",
    "RidershipData",
    "Split",
    "build_features",
    "load_csv",
    "make_splits",
    "make_windows",
]
