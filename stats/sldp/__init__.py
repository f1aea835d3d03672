"""SLDP (Reshef et al. 2018): signed LD profile regression with block sign flips.

:func:`run` is the one entry point, from files to the ``.gwresults`` table; its stages live in
:mod:`stats.sldp.pipeline` (panel, annotations, phenotypes, regression grid), the per-block algebra in
:mod:`stats.sldp.regression`, the sign-flip test in :mod:`stats.sldp.signflip` and the GTEx multi-gene
summary in :mod:`stats.sldp.multigene`.
"""
from stats.sldp.pipeline import SldpResult, run

__all__ = ["SldpResult", "run"]
