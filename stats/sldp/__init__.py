"""SLDP (Reshef et al. 2018): signed LD profile regression with block sign flips.

:func:`run` is the one entry point, from files to the ``.gwresults`` table, with its options in
:class:`SldpOptions` (or as keywords); it is a short composition of the public stages of
:mod:`stats.sldp.pipeline` (inputs, reference panel per chromosome, annotations, phenotypes,
regression grid), which can be called on their own. The per-block algebra lives in
:mod:`stats.sldp.regression`, the sign-flip test in :mod:`stats.sldp.signflip` and the GTEx
multi-gene summary in :mod:`stats.sldp.multigene`.
"""
from stats.sldp.pipeline import SldpOptions, SldpResult, run

__all__ = ["SldpOptions", "SldpResult", "run"]
