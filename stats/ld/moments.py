"""A SNP's mean and SD from its genotype counts: one formula for the LD-score kernels and SLDP's
standardization.

ldsc imputes a missing call with the mean of the observed ones and divides by the SD over all
individuals (``ddof=0``); sldp's reader (pysnptools' ``Unit`` standardization, twice) gives the same
numbers in exact arithmetic: ``(x - mean_obs) / (sd_obs * sqrt(n_obs / n))``, 0 where missing, 0 for a
monomorphic SNP. Computing both from integer counts makes them cheap and exactly reproducible.
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
    float dosages (tested), in three passes over the block instead of about ten.

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
    mu, sd = snp_moments(counts, g.shape[0])
    x = g.astype(np.float64)
    x -= mu
    x /= sd
    if counts[:, 2].any():
        x[g == MISSING_INT8] = 0.0
    return x
