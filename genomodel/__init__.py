"""Basenji-family sequence models: data, training, prediction, variant scores, attribution."""
from importlib.metadata import version as _version

__version__ = _version("genosuite")
