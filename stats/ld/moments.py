"""A SNP's standardization from its genotype counts, for the LD-score kernels and SLDP.

ldsc imputes a missing call with the mean of the observed ones and divides by the SD over all
individuals (``ddof=0``); sldp's reader (pysnptools' ``Unit`` standardization, twice) gives the same
numbers in exact arithmetic: ``(x - mean_obs) / (sd_obs * sqrt(n_obs / n))``, 0 where missing, 0 for a
monomorphic SNP. Both are computed here from integer counts, cheaply: :func:`snp_moments` the way the
LD-score kernels need it (their scores match ldsc's bytes), :func:`standardize_counts` with the
centring done in integers, for SLDP's blocks.
"""
from __future__ import annotations

import functools

import numpy as np

#: bed-reader's int8 code of a missing genotype.
MISSING_INT8 = -127

_ROWS = 64


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
    m, n = gt.shape
    if n:
        # a 64-bit fingerprint per column (its bytes as words, mixed by fixed odd multipliers), grouped, then
        # checked byte for byte: sorting 2,000 fingerprints instead of 2,000 rows of 1,000 bytes
        words = (np.pad(gt, ((0, 0), (0, -n % 8))) if n % 8 else gt).view(np.uint64)
        fingerprint = (words * _multipliers(words.shape[1])).sum(axis=1)
        _, first, inverse, counts = np.unique(fingerprint, return_index=True, return_inverse=True, return_counts=True)
        rep = first[inverse.ravel()]
        moved = np.flatnonzero(rep != np.arange(m))
        if np.array_equal(gt[moved], gt[rep[moved]]):
            return first, inverse.ravel(), counts
    keys = gt.view(np.dtype((np.void, max(n, 1)))).ravel() if n else np.zeros(m, "V1")  # a fingerprint collision
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return first, inverse.ravel(), counts


@functools.lru_cache(maxsize=8)
def _multipliers(n_words: int) -> np.ndarray:
    """Fixed odd 64-bit multipliers of :func:`identical_columns`' fingerprints (the same in every run)."""
    return np.random.default_rng(0x5EED).integers(0, 2**63, n_words, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


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


def standardize_counts(g: np.ndarray, *, out: np.ndarray | None = None, counts: np.ndarray | None = None) -> np.ndarray:
    """Standardize int8 allele counts (bed-reader's int8 read) the way sldp's reader does.

    The same numbers, to rounding, as :func:`stats.ld.signed_profile.standardize_genotypes` of the
    float dosages (tested; correctly rounded where they lose digits), in four passes over the block
    instead of about ten, or in one compiled pass when ``g`` is SNP-major (Fortran order, as bed-reader
    and :func:`stats.ld.bitplanes.decode_counts` read it), with the same bytes.

    Parameters
    ----------
    g : ndarray, int8, shape (n_individuals, n_snps)
        0, 1, 2, or ``MISSING_INT8``.
    out : ndarray, float64, shape (n_individuals, n_snps), optional
        Written in place and returned.
    counts : ndarray, int, shape (n_snps, 3), optional
        :func:`genotype_counts` of ``g`` when known already (e.g. from the .bed's bits,
        :func:`stats.io.plink.bed_counts`).

    Returns
    -------
    ndarray, float64, shape (n_individuals, n_snps)
        Mean 0 and variance 1 over all individuals per SNP; 0 where missing and for monomorphic SNPs.
    """
    g = _check_counts(g)
    n_obs, s1, scale, missing = _count_scales(g, counts)
    if out is not None and (out.shape != g.shape or out.dtype != np.float64):
        raise ValueError(f"out must be float64 of shape {g.shape}, got {out.dtype} {out.shape}")
    from stats.ld import bitplanes

    if g.flags.f_contiguous and bitplanes.available() and (out is None or out.flags.f_contiguous):
        # one compiled pass over SNP-major genotypes (bed-reader's layout), the same bytes
        x = np.empty(g.shape, order="F") if out is None else out
        return bitplanes.standardize_columns(g, n_obs=n_obs, s1=s1, scale=scale, out=x)
    if out is None:
        x = g.astype(np.float64)
    else:
        x = out
        np.copyto(x, g, casting="unsafe")
    x *= n_obs.astype(np.float64)
    x -= s1.astype(np.float64)
    x /= scale
    if missing:
        x[g == MISSING_INT8] = 0.0
    return x


def standardized_product(g: np.ndarray, y: np.ndarray, *, counts: np.ndarray | None = None,
                         x_out: np.ndarray | None = None) -> np.ndarray:
    """``standardize_counts(g, counts=counts) @ y`` without forming the standardized genotypes when ``g`` is
    SNP-major (Fortran order): read once as int8 (:func:`stats.ld.bitplanes.standardized_dot`), each sum
    over the SNPs in order; the numpy fallback makes the same operations (the same bytes, slowly).

    Parameters
    ----------
    g : ndarray, int8, shape (n_individuals, n_snps)
    y : ndarray, float64, shape (n_snps, q)
    counts : ndarray, int, shape (n_snps, 3), optional
    x_out : ndarray, float64, shape (n_individuals, n_snps), optional
        Receives ``standardize_counts(g)`` too, in the same pass (Fortran order for the compiled pass).

    Returns
    -------
    ndarray, float64, shape (n_individuals, q)
    """
    from stats.ld import bitplanes

    g = _check_counts(g)
    y = np.asarray(y, dtype=np.float64)
    if g.flags.f_contiguous and bitplanes.available() and (x_out is None or x_out.flags.f_contiguous):
        n_obs, s1, scale, _ = _count_scales(g, counts)
        return bitplanes.standardized_dot(g, y, n_obs=n_obs, s1=s1, scale=scale, x_out=x_out)
    return bitplanes.standardized_dot_reference(standardize_counts(g, counts=counts, out=x_out), y)


def _check_counts(g) -> np.ndarray:
    g = np.asarray(g)
    if g.ndim != 2 or g.dtype != np.int8:
        raise ValueError(f"g must be 2-D int8 allele counts, got {g.dtype} of shape {g.shape}")
    return g


def _count_scales(g: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Per SNP of int8 counts: called individuals ``n_obs``, their allele sum ``s1`` (int64), ``n_obs``
    times the SD that sldp's reader divides by (float64; 1 for a monomorphic SNP), and whether any call
    is missing: the standardized genotype is ``(x n_obs - s1) / scale``. ``counts``: :func:`genotype_counts`
    of ``g`` if known."""
    n = g.shape[0]
    if counts is None:
        counts = genotype_counts(g)
    elif counts.shape != (g.shape[1], 3):
        raise ValueError(f"counts must have shape {(g.shape[1], 3)}, got {counts.shape}")
    n_a, n_b, n_m = np.asarray(counts, dtype=np.int64).T
    n_obs = n - n_m
    s1, s2 = n_a + n_b, n_a + 3 * n_b
    # In integers, exactly: x - mean = (x n_obs - s1) / n_obs and n_obs^2 n var = n_obs (n_obs s2 - s1^2).
    # Only the last division and square root round, so a SNP near fixation (mean ~ 2) keeps full
    # precision, where E[x^2] - mean^2 (snp_moments, kept there for ldsc's bytes) loses ~n eps.
    d = (n_obs * s2 - s1 * s1).astype(np.float64)
    scale = np.sqrt(d * n_obs / n)                  # n_obs * sd
    scale[~(scale > 0)] = 1.0
    return n_obs, s1, scale, bool(n_m.any())


def standardized_gram(g: np.ndarray, *, weights: np.ndarray | None = None,
                      counts: np.ndarray | None = None, kernel: str = "auto") -> np.ndarray | None:
    """``X_w^T X_w`` of the standardized genotypes ``X = standardize_counts(g)`` with column weights
    ``X_w = X diag(sqrt(weights))``, formed from integer products; None when a call is missing (or for
    more than four million individuals).

    Without missing calls ``X_i^T X_j = n (n g_i^T g_j - s_i s_j) / (scale_i scale_j)`` (``s`` the allele
    sums): the products of 0/1/2 counts are integers below ``2^24``, so single-precision BLAS forms them exactly at twice the double-precision speed, and the centring
    is exact in float64. Only the final scaling rounds, so the result is at least as accurate as
    ``X^T X`` of the rounded ``X``. The compiled bit-plane kernel (:func:`stats.ld.bitplanes.counts_gram`)
    counts the same integer products with AND + popcount and applies the same float64 operations in the
    same order: the same bytes, in about a third of the time.

    Parameters
    ----------
    g : ndarray, int8, shape (n_individuals, m)
    weights : ndarray, shape (m,), optional
        Non-negative column weights (e.g. the sizes of groups of identical SNPs).
    counts : ndarray, int, shape (m, 3), optional
        :func:`genotype_counts` of ``g`` when known already.
    kernel : {"auto", "bits", "blas"}
        The integer products from bit planes (the compiled kernel; "auto" when it is built) or from
        single-precision BLAS.

    Returns
    -------
    ndarray, float64, shape (m, m), exactly symmetric; or None
    """
    g = _check_counts(g)
    n = g.shape[0]
    if 4 * n >= 2 ** 24:
        return None                                 # products of 0/1/2 counts past 2^24: not exact in float32
    n_obs, s1, scale, missing = _count_scales(g, counts)
    if missing:
        return None
    s = s1.astype(np.float64)
    f = np.sqrt(float(n)) / scale
    if weights is not None:
        f *= np.sqrt(np.asarray(weights, dtype=np.float64))
    if kernel not in ("auto", "bits", "blas"):
        raise ValueError(f"kernel must be 'auto', 'bits' or 'blas', got {kernel!r}")
    from stats.ld import bitplanes

    if kernel == "bits" or (kernel == "auto" and bitplanes.available() and g.size):
        return bitplanes.counts_gram(g, s=s, f=f, nf=float(n))
    a = g.astype(np.float32)
    c = a.T @ a                                     # numpy uses syrk: exactly symmetric
    gram = np.multiply(c, float(n), dtype=np.float64)
    for i in range(0, len(s), _ROWS):               # row bands: the outer products stay in cache
        band = gram[i:i + _ROWS]
        band -= np.multiply.outer(s[i:i + _ROWS], s)  # exact: every term is an integer below 2^53
        band *= np.multiply.outer(f[i:i + _ROWS], f)  # f_i f_j == f_j f_i: stays exactly symmetric
    return gram
