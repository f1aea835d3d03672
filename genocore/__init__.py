"""Leaf utilities shared by genomodel, stats and analyses: atomic files, provenance, strict configs.

It imports none of the suite's other packages, so the one-way dependency rule still holds.
"""
from importlib.metadata import version as _version

__version__ = _version("genosuite")
