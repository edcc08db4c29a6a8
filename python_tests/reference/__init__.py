"""Pure-Python reference implementation of the sbdk model contract (the differential oracle)."""

from .contract import compute
from .project_inputs import project_vars

__all__ = ["compute", "project_vars"]
