"""A SNP's standardization from its genotype counts, for the LD-score kernels and SLDP.

ldsc imputes a missing call with the mean of the observed ones and divides by the SD over all
individuals (``ddof=0``); sldp's reader (pysnptools' ``Unit`` standardization, twice) gives the same
numbers in exact arithmetic: ``(x - mean_obs) / (sd_obs * sqrt(n_obs / n))``, 0 where missing, 0 for a
monomorphic SNP. Both are computed here from integer counts, cheaply: :func:`snp_moments` the way the
LD-score kernels need it (their scores match ldsc's bytes), :func:`standardize_counts` with the
centring done in integers, for SLDP's blocks.
"""
from __future__ import annotations

import numpy as np

#: bed-reader's int8 code of a missing genotype.
MISSING_INT8 = -127


def genotype_counts(g: np.ndarray) -> np.ndarray:
    """Per SNP (column) of int8 allele counts (0, 1, 2; ``MISSING_INT8`` missing): (#x>=1, #x==2,
    #missing), int64 shape (n_snps, 3), the layout :func:`snp_moments` reads."""
    g = np.asarray(g)
    out = np.empty((g.shape[1], 3), dtype=np.int64)
    out[:, 0] = np.count_nonzero(g >= 1, axis=0)
    out[:, 1] = np.count_nonzero(g == 2, axis=0)
    out[:, 2] = np.count_nonzero(g == MISSING_INT8, axis=0)
    return out


def identical_columns(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups of identical columns (SNPs with the same genotype at every individual).

    Parameters
    ----------
    g : ndarray, int8, shape (n_individuals, n_snps)

    Returns
    -------
    first : ndarray, int, shape (n_distinct,)
        A column of each group.
    inverse : ndarray, int, shape (n_snps,)
        The group of each column: ``g[:, first][:, inverse]`` equals ``g``.
    counts : ndarray, int, shape (n_distinct,)
        Columns per group.
    """
    gt = np.ascontiguousarray(np.asarray(g, dtype=np.int8).T)
    keys = gt.view(np.dtype((np.void, max(gt.shape[1], 1)))).ravel() if gt.shape[1] else np.zeros(len(gt), "V1")
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return first, inverse.ravel(), counts


def snp_moments(counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """ldsc's mean and SD of SNPs from their :func:`stats.io.plink.bed_counts` or :func:`genotype_counts` (x = dosage, missing calls mean-imputed).

    Returns
    -------
    mu : ndarray, float64, shape (k,)
        Mean of the observed calls (0 where none is observed).
    sd : ndarray, float64, shape (k,)
        ``ddof=0`` SD over all n individuals after mean imputation; 1 where it is 0.
    """
    n_a, n_b, n_m = np.asarray(counts, dtype=np.float64).T
    no = n - n_m
    mu = np.where(no > 0, (n_a + n_b) / np.maximum(no, 1), 0.0)  # x >= 1 counts once, x == 2 twice
    var = (n_a + 3 * n_b + mu * mu * n_m) / n - mu * mu  # mean of the imputed x^2 (het 1, hom 4), minus mu^2
    sd = np.sqrt(np.maximum(var, 0.0))
    sd[sd == 0] = 1.0
    return mu, sd


def standardize_counts(g: np.ndarray) -> np.ndarray:
    """Standardize int8 allele counts (bed-reader's int8 read) the way sldp's reader does.

    The same numbers, to rounding, as :func:`stats.ld.signed_profile.standardize_genotypes` of the
    float dosages (tested; correctly rounded where they lose digits), in four passes over the block
    instead of about ten.

    Parameters
    ----------
    g : ndarray, int8, shape (n_individuals, n_snps)
        0, 1, 2, or ``MISSING_INT8``.

    Returns
    -------
    ndarray, float64, shape (n_individuals, n_snps)
        Mean 0 and variance 1 over all individuals per SNP; 0 where missing and for monomorphic SNPs.
    """
    g = np.asarray(g)
    if g.ndim != 2 or g.dtype != np.int8:
        raise ValueError(f"g must be 2-D int8 allele counts, got {g.dtype} of shape {g.shape}")
    counts = genotype_counts(g)
    n = g.shape[0]
    # In integers, exactly: with s1 = sum of the called x and s2 = sum of x^2, x - mean = (x n_obs - s1) / n_obs
    # and n_obs^2 n var = n_obs (n_obs s2 - s1^2). Only the last division and square root round, so a SNP
    # near fixation (mean ~ 2) keeps full precision, where E[x^2] - mean^2 (snp_moments, kept there for
    # ldsc's bytes) loses ~n eps.
    n_a, n_b, n_m = counts.T
    n_obs = n - n_m
    s1, s2 = n_a + n_b, n_a + 3 * n_b
    d = (n_obs * s2 - s1 * s1).astype(np.float64)
    scale = np.sqrt(d * n_obs / n)                  # n_obs * sd
    scale[~(scale > 0)] = 1.0
    x = g.astype(np.float64)
    x *= n_obs.astype(np.float64)
    x -= s1.astype(np.float64)
    x /= scale
    if n_m.any():
        x[g == MISSING_INT8] = 0.0
    return x
