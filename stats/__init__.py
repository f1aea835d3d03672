"""Statistical genetics on variant scores: LD, SLDP, LD-score regression, fine-mapping."""
from importlib.metadata import version as _version

__version__ = _version("genosuite")
