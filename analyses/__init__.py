"""Scripts that reproduce the papers' analyses, on real data or the simulated world."""
from importlib.metadata import version as _version

__version__ = _version("genosuite")
