"""Pure-Python reference implementation of the sbdk model contract (the differential oracle)."""

from .contract import DEFAULT_VARS, compute

__all__ = ["DEFAULT_VARS", "compute"]
