"""Exact LD-score sums on bit planes: the ``kernel="bits"`` engine of :func:`stats.ld.scores.ld_scores`.

Genotypes are hard calls 0/1/2 (or missing), so every cross-product sum x_i . x_j is an integer that is
counted exactly with AND + popcount on three bit planes per SNP: a = (x >= 1), b = (x == 2), m = missing
(x counted as 0 there). Since b is a subset of a, ``x_i . x_j = |a_i & a_j| + 2 |b_i & b_j| +
|(a_i & b_j) | (b_i & a_j)|``. ldsc's mean-imputed, centred and scaled correlation is then assembled
analytically in float64 (x~ = x + mu m is the mean-imputed SNP):

    x~_i . x~_j = x_i . x_j + mu_j x_i . m_j + mu_i m_i . x_j + mu_i mu_j m_i . m_j,
    r_ij = (x~_i . x~_j - N mu_i mu_j) / (N s_i s_j),   s^2 = x~ . x~ / N - mu^2,

which is ldsc's r up to float64 rounding (no float32 anywhere). The planes are decoded straight from the
.bed bytes (2 bits per genotype, SNP-major: 0 = homozygous A1, 1 = missing, 2 = heterozygous, 3 =
homozygous A2; the dosage counts A1 as bed-reader's count_A1=True does).

The loops are C (``stats/ld/_bitplanes.c``), compiled when the suite is installed for AVX-512 (vector
popcount), AVX2 (nibble-lookup popcounts) and baseline x86-64, the best the CPU runs picked at run time:
a run pays no compilation and no JIT start-up. Per pair on 1,000 individuals: about 5 ns with AVX-512,
11 ns with AVX2, 57 ns baseline, every variant with the same sums to the last bit. The loops release the
GIL, so the SNPs of a block are shared among threads.

The same integer products give a block's standardized Gram matrix for SLDP (:func:`counts_gram`, used by
:func:`stats.ld.moments.standardized_gram`): about 3 ms for 800 SNPs of 1,000 individuals, a third of
single-precision BLAS's time, with the same bytes.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

try:
    from stats.ld import _bitplanes
except ImportError:  # not built: the suite was installed without a C compiler
    _bitplanes = None

#: SNPs decoded per step.
BITS_BLOCK = 8192


def available() -> bool:
    """Whether the compiled kernel is there (it is built by ``pip install``, which needs a C compiler)."""
    return _bitplanes is not None


def _require():
    if _bitplanes is None:
        raise ImportError("the compiled LD-score kernel stats.ld._bitplanes is missing: reinstall the suite with a "
                          "C compiler present (`pip install -e .`, or `make venv`), or use kernel='gemm'")
    return _bitplanes


def instruction_set() -> str:
    """The instruction set the compiled kernel runs on here (``avx512-vpopcntdq``, ``avx2`` or ``baseline``)."""
    return _require().instruction_set()


def decode_planes(rows: np.ndarray, cols: np.ndarray, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """Bit planes of the .bed SNP rows ``rows[cols]``.

    Parameters
    ----------
    rows : ndarray, uint8, shape (m_total, ceil(n / 4))
        The .bed's SNP rows (:func:`stats.io.plink.bed_rows`).
    cols : ndarray, int, shape (k,)
    n : int
        Individuals.
    out : ndarray, uint64, shape (>= k, 3 * ceil(n / 64)), optional
        Written in place (its first k rows).

    Returns
    -------
    ndarray, uint64, shape (k, 3 * nw), nw = ceil(n / 64)
        Words 0..nw-1 hold a, nw..2nw-1 b, then m; individuals beyond n are 0.
    """
    nw = (n + 63) // 64
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    if out is None:
        out = np.empty((len(cols), 3 * nw), dtype=np.uint64)
    if out.dtype != np.uint64 or out.ndim != 2 or out.shape[1] != 3 * nw or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous uint64 (k, {3 * nw}); got {out.dtype} {out.shape}")
    _require().decode_planes(np.ascontiguousarray(rows), rows.shape[1], cols, n, out)
    return out[:len(cols)]


def decode_counts(rows: np.ndarray, cols: np.ndarray, n: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """The A1 allele counts of the .bed SNP rows ``rows[cols]``, as bed-reader's int8 read gives them
    (``rows``, ``cols``, ``n`` as in :func:`decode_planes`).

    Parameters
    ----------
    out : ndarray, int8, shape (len(cols), n), C order, optional
        Written and returned transposed.

    Returns
    -------
    ndarray, int8, shape (n, k), Fortran order (a SNP's counts contiguous)
        0, 1, 2, or -127 (:data:`stats.ld.moments.MISSING_INT8`) where missing.
    """
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    if out is None:
        out = np.empty((len(cols), int(n)), dtype=np.int8)
    elif out.shape != (len(cols), int(n)) or out.dtype != np.int8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-ordered int8 of shape {(len(cols), int(n))}")
    if len(cols):
        _require().decode_counts(np.ascontiguousarray(rows), rows.shape[1], cols, int(n), out)
    return out.T


def bed_counts(rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Per .bed SNP row ``rows[cols]``: (#x >= 1, #x == 2, #missing) over the ``n`` individuals, int64
    shape (len(cols), 3) (:func:`stats.io.plink.bed_counts`, which calls this when the kernel is built)."""
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    out = np.empty((len(cols), 3), dtype=np.int64)
    if len(cols):
        _require().bed_counts(np.ascontiguousarray(rows), rows.shape[1], cols, int(n), out)
    return out


def standardize_columns(g: np.ndarray, *, n_obs: np.ndarray, s1: np.ndarray, scale: np.ndarray,
                        out: np.ndarray) -> np.ndarray:
    """``out = (g n_obs - s1) / scale`` per SNP, 0 where missing, in one pass (the float64 operations of
    :func:`stats.ld.moments.standardize_counts`, in its order: the same bytes).

    Parameters
    ----------
    g : ndarray, int8, shape (n, k), Fortran order
    n_obs, s1, scale : ndarray, shape (k,)
        Exact in float64 (counts and sums below 2^53).
    out : ndarray, float64, shape (n, k), Fortran order

    Returns
    -------
    ndarray
        ``out``.
    """
    n, k = g.shape
    if not (g.flags.f_contiguous and out.flags.f_contiguous and out.shape == g.shape and g.dtype == np.int8
            and out.dtype == np.float64):
        raise ValueError("standardize_columns needs Fortran-ordered int8 g and float64 out of its shape")
    if g.size:
        standardized_dot(g, np.zeros((k, 0)), n_obs=n_obs, s1=s1, scale=scale, x_out=out)  # X only
    return out


def standardized_dot(g: np.ndarray, y: np.ndarray, *, n_obs: np.ndarray, s1: np.ndarray,
                     scale: np.ndarray, x_out: np.ndarray | None = None) -> np.ndarray:
    """``X @ y`` for ``X = (g n_obs - s1) / scale`` (:func:`standardize_columns`) without writing ``X``, or
    writing it into ``x_out`` in the same pass.

    Each sum runs over the SNPs in order from 0, a product then an addition per term
    (:func:`standardized_dot_reference` makes the same float64 operations in numpy: the same bytes).

    Parameters
    ----------
    g : ndarray, int8, shape (n, k), Fortran order
    y : ndarray, float64, shape (k, q)
    n_obs, s1, scale : ndarray, shape (k,)
    x_out : ndarray, float64, shape (n, k), Fortran order, optional
        Receives ``X`` (the bytes of :func:`standardize_columns`).

    Returns
    -------
    ndarray, float64, shape (n, q), Fortran order
    """
    n, k = g.shape
    if x_out is not None and not (x_out.flags.f_contiguous and x_out.shape == (n, k) and x_out.dtype == np.float64):
        raise ValueError(f"x_out must be Fortran-ordered float64 of shape {(n, k)}")
    y = np.ascontiguousarray(y, dtype=np.float64)
    if not (g.flags.f_contiguous and g.dtype == np.int8) or y.ndim != 2 or y.shape[0] != k:
        raise ValueError(f"standardized_dot needs Fortran-ordered int8 g (n, k) and y (k, q); got {g.dtype} "
                         f"{g.shape} and {y.shape}")
    out = np.empty((y.shape[1], n))
    _require().standardized_dot(g.reshape(-1, order="F"), n, k, np.ascontiguousarray(n_obs, dtype=np.float64),
                                np.ascontiguousarray(s1, dtype=np.float64),
                                np.ascontiguousarray(scale, dtype=np.float64), y, y.shape[1], out,
                                *(() if x_out is None else (x_out.reshape(-1, order="F"),)))
    return out.T


def standardized_dot_reference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`standardized_dot` of the standardized ``x`` (n, k) in numpy, term by term in the kernel's
    order (the same bytes; slow, the fallback and the test's reference)."""
    out = np.zeros((y.shape[1], x.shape[0]))
    for c in range(x.shape[1]):
        out += np.multiply.outer(y[c], x[:, c])
    return out.T


def counts_gram(g: np.ndarray, *, s: np.ndarray, f: np.ndarray, nf: float) -> np.ndarray:
    """``(nf g_r . g_t - s_r s_t) (f_r f_t)`` for every pair of columns of int8 allele counts without a
    missing call: a block's standardized Gram matrix (:func:`stats.ld.moments.standardized_gram`) with the
    integer products counted on bit planes.

    Parameters
    ----------
    g : ndarray, int8, shape (n, k)
        0, 1 or 2 (a negative code would count as 0: the caller excludes missing calls).
    s, f : ndarray, float64, shape (k,)
        Allele sums and column factors.
    nf : float
        The factor of the integer products (the number of individuals).

    Returns
    -------
    ndarray, float64, shape (k, k)
        Exactly symmetric; each value rounded as ``(nf c - s_r s_t) * (f_r * f_t)`` in float64.
    """
    g = np.asfortranarray(g, dtype=np.int8)   # SNP-major: a column's counts contiguous
    n, k = g.shape
    if n == 0 or k == 0:
        raise ValueError(f"counts_gram needs individuals and SNPs, got shape {g.shape}")
    out = np.empty((k, k))
    s = np.ascontiguousarray(s, dtype=np.float64)
    f = np.ascontiguousarray(f, dtype=np.float64)
    if s.shape != (k,) or f.shape != (k,):
        raise ValueError(f"s and f must have shape ({k},), got {s.shape} and {f.shape}")
    _require().counts_gram(g.reshape(-1, order="F"), n, n, k, s, f, float(nf), out)
    return out


def _band_sums(pool, n_parts, planes, buf0, mu, scale, has_miss, lefts, annot, s, e, n, d, out):
    """Adds the sums over the pairs with j in [s, e) (i from lefts[j]) to ``out``, in ``n_parts`` pieces of j.

    The pieces run on the thread pool ``pool`` (the C kernel releases the GIL), each into its own
    accumulator covering rows lefts[piece start]..piece end - 1.
    """
    bounds = [s + ((e - s) * p) // n_parts for p in range(n_parts + 1)]
    pieces = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    nw = planes.shape[0] // 3

    def one(piece):
        a, b = piece
        lo = int(lefts[a])
        acc = np.zeros((b - lo, annot.shape[1]))
        _bitplanes.band_chunk(planes, nw, planes.shape[1], buf0, mu, scale, has_miss, lefts, annot, annot.shape[1],
                              a, b, n, d, acc, lo)
        return lo, b, acc

    results = pool.map(one, pieces) if pool is not None else map(one, pieces)
    for lo, b, acc in results:
        out[lo:b] += acc


def ld_sums_bits(rows, cols: np.ndarray, n: int, lefts: np.ndarray, annot: np.ndarray, *, mu: np.ndarray,
                 sd: np.ndarray, missing: np.ndarray, block: int = BITS_BLOCK) -> np.ndarray:
    """Streaming LD-score sums with exact integer cross-products (bit planes + popcount).

    Parameters
    ----------
    rows : ndarray-like, uint8, shape (m_total, ceil(n / 4))
        The .bed's SNP rows (:func:`stats.io.plink.bed_rows`).
    cols : ndarray, int, shape (m,)
        The kept SNPs' rows, in order.
    n : int
    lefts : ndarray, int64, shape (m,)
        From :func:`stats.ld.scores.ldsc_pair_lefts` (non-decreasing, ``lefts[j] <= j``).
    annot : ndarray, float64, shape (m, n_annot)
    mu, sd : ndarray, float64, shape (m,)
        ldsc's mean and SD of each SNP (:func:`stats.ld.moments.snp_moments`).
    missing : ndarray, bool, shape (m,)
        SNPs with a missing call.
    block : int
        SNPs decoded per step; memory ~ 2 x (window + block) x 3 x n / 8 bytes of bit planes.

    Returns
    -------
    ndarray, float64, shape (m, n_annot)
    """
    _require()
    m = len(lefts)
    lefts = np.ascontiguousarray(lefts, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    annot = np.ascontiguousarray(annot, dtype=np.float64)
    nw = (n + 63) // 64
    d = float(n - 2 if n > 2 else n)
    mu = np.ascontiguousarray(mu, dtype=np.float64)
    scale = 1.0 / (np.sqrt(float(n)) * np.asarray(sd, dtype=np.float64))  # scale_i scale_j = 1 / (N s_i s_j)
    has_miss = np.ascontiguousarray(missing, dtype=np.bool_)
    out = np.zeros((m, annot.shape[1]))
    threads = n_threads_for_kernel()
    n_parts = 4 * threads if threads > 1 else 1
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    try:
        planes = np.zeros((3 * nw, 0), dtype=np.uint64)  # word-major: column k is kept SNP buf0 + k
        buf0 = 0
        dec = np.empty((block, 3 * nw), dtype=np.uint64)
        for s in range(0, m, block):
            e = min(s + block, m)
            a0 = int(lefts[s])
            keep_old = planes[:, a0 - buf0:]  # SNPs a0..s-1 (lefts is non-decreasing, so a0 >= buf0)
            k_old = keep_old.shape[1]
            new_planes = decode_planes(rows, cols[s:e], n, dec)
            new = np.empty((3 * nw, k_old + e - s), dtype=np.uint64)
            new[:, :k_old] = keep_old
            new[:, k_old:] = new_planes.T
            planes, buf0 = new, a0
            _band_sums(pool, n_parts, planes, buf0, mu, scale, has_miss, lefts, annot, s, e, n, d, out)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return out


def n_threads_for_kernel() -> int:
    """Threads for the bit kernel: the CPUs this process may use, capped by ``OMP_NUM_THREADS`` when set."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    cap = os.environ.get("OMP_NUM_THREADS", "")
    if cap.strip().isdigit() and int(cap) > 0:
        cpus = min(cpus, int(cap))
    return max(1, cpus)
