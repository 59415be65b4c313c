"""Deprecated path: use :mod:`langchain_perceived_error.judge.graph`. Removed in 0.3.0."""

import sys
import warnings

from langchain_perceived_error.judge import graph as _moved

warnings.warn(
    f"{__name__} moved to {_moved.__name__}; the old path will be removed in 0.3.0",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
