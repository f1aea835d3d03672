"""Exact LD-score sums on bit planes: the ``kernel="bits"`` engine of :func:`stats.ld.scores.ld_scores`.

Genotypes are hard calls 0/1/2 (or missing), so every cross-product sum x_i . x_j is an integer that
is counted exactly with AND + popcount on three bit planes per SNP. numba compiles the kernels (cached
on disk); this module is imported only when the kernel runs, so small panels scored by the numpy
kernels never pay numba's start-up.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit
from numba import types as nb_types
from numba.extending import intrinsic

#: SNPs decoded per step by the bit kernel.
BITS_BLOCK = 8192

# Genotypes are hard calls 0/1/2 (or missing), so every cross-product sum x_i . x_j is an integer that
# is counted exactly with AND + popcount on three bit planes per SNP: a = (x >= 1), b = (x == 2),
# m = missing (x counted as 0 there), so that x_i . x_j = |a_i & a_j| + |a_i & b_j| + |b_i & a_j| +
# |b_i & b_j|. ldsc's mean-imputed, centred and scaled correlation is then assembled analytically in
# float64 (x~ = x + mu m is the mean-imputed SNP):
#   x~_i . x~_j = x_i . x_j + mu_j x_i . m_j + mu_i m_i . x_j + mu_i mu_j m_i . m_j,
#   r_ij = (x~_i . x~_j - N mu_i mu_j) / (N s_i s_j),   s^2 = x~ . x~ / N - mu^2,
# which is ldsc's r up to float64 rounding (no float32 anywhere). The planes are decoded straight from
# the .bed bytes (2 bits per genotype, SNP-major: 0 = homozygous A1, 1 = missing, 2 = heterozygous,
# 3 = homozygous A2; the dosage counts A1 as bed-reader's count_A1=True does).

def _byte_luts() -> np.ndarray:
    """(3, 256) uint64: the 4-bit a / b / m nibbles of the four genotypes in one .bed byte."""
    lut = np.zeros((3, 256), dtype=np.uint64)
    for byte in range(256):
        for t in range(4):
            code = (byte >> (2 * t)) & 3
            if code in (0, 2):
                lut[0, byte] |= 1 << t
            if code == 0:
                lut[1, byte] |= 1 << t
            if code == 1:
                lut[2, byte] |= 1 << t
    return lut


_BED_LUT = _byte_luts()


@intrinsic
def _popcnt(typingctx, x):
    sig = nb_types.uint64(nb_types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@njit(cache=True, nogil=True)
def _decode_planes(raw, cols, n, lut, planes, row0):
    """Bit planes of the .bed SNP rows ``raw[cols]`` (raw: (m_total, ceil(n / 4)) uint8) into ``planes[row0 + c]``.

    ``planes`` has shape (rows, 3 * nw), nw = ceil(n / 64): words 0..nw-1 hold a, nw..2nw-1 b, then m.
    """
    k = len(cols)
    nbytes = raw.shape[1]
    nw = planes.shape[1] // 3
    tail = n - 64 * (nw - 1)
    last_mask = np.uint64(0xFFFFFFFFFFFFFFFF) if tail == 64 else (np.uint64(1) << np.uint64(tail)) - np.uint64(1)
    for c in range(k):
        row = planes[row0 + c]
        for w in range(nw):
            a = np.uint64(0)
            b = np.uint64(0)
            m = np.uint64(0)
            lo = 16 * w
            hi = min(lo + 16, nbytes)
            for q in range(lo, hi):
                v = raw[cols[c], q]
                sh = np.uint64(4 * (q - lo))
                a |= lut[0, v] << sh
                b |= lut[1, v] << sh
                m |= lut[2, v] << sh
            if w == nw - 1:
                a &= last_mask
                b &= last_mask
                m &= last_mask
            row[w] = a
            row[nw + w] = b
            row[2 * nw + w] = m


@njit(cache=True, nogil=True)
def _plane_counts(planes, row0, k, out):
    """Per SNP row0..row0+k-1: out[c] = (#x>=1, #x==2, #missing)."""
    nw = planes.shape[1] // 3
    for c in range(k):
        row = planes[row0 + c]
        na = np.uint64(0)
        nb = np.uint64(0)
        nm = np.uint64(0)
        for w in range(nw):
            na += _popcnt(row[w])
            nb += _popcnt(row[nw + w])
            nm += _popcnt(row[2 * nw + w])
        out[c, 0] = na
        out[c, 1] = nb
        out[c, 2] = nm


@njit(cache=True, nogil=True)
def _band_chunk(planes, buf0, mu, scale, has_miss, lefts, annot, j0, j1, n, d, acc, acc0):
    """LD-score sums of the pairs (i, j), lefts[j] <= i <= j, for j0 <= j < j1, into ``acc[. - acc0]``.

    ``planes`` is word-major, shape (3 * nw, rows): column k is kept SNP buf0 + k. Per j: the integer
    cross-products with every i of its window (popcounts, vectorized along i), then r~2 and the two
    annotation sums as plain vector loops.
    """
    nw = planes.shape[0] // 3
    na = annot.shape[1]
    nf = float(n)
    c1 = 1.0 + 1.0 / d
    c0 = 1.0 / d
    width = 1
    for j in range(j0, j1):
        width = max(width, j + 1 - lefts[j])
    cx = np.empty(width, dtype=np.uint64)
    cxm = np.empty(width, dtype=np.uint64)
    cmx = np.empty(width, dtype=np.uint64)
    cmm = np.empty(width, dtype=np.uint64)
    r2 = np.empty(width)
    tots = np.empty(na)
    for j in range(j0, j1):
        jr = j - buf0
        lo = lefts[j]
        l0 = lo - buf0
        cnt = j + 1 - lo
        cx[:cnt] = 0
        for w in range(nw):
            aj = planes[w, jr]
            bj = planes[nw + w, jr]
            A = planes[w, l0:l0 + cnt]
            B = planes[nw + w, l0:l0 + cnt]
            for t in range(cnt):
                ai = A[t]
                bi = B[t]
                cx[t] += _popcnt(ai & aj) + _popcnt(ai & bj) + _popcnt(bi & aj) + _popcnt(bi & bj)
        any_miss = has_miss[j]
        for t in range(cnt):
            any_miss |= has_miss[lo + t]
        muj = mu[j]
        sj = scale[j]
        if any_miss:  # x~_i . x~_j = x_i . x_j + mu_j x_i . m_j + mu_i m_i . x_j + mu_i mu_j m_i . m_j
            cxm[:cnt] = 0
            cmx[:cnt] = 0
            cmm[:cnt] = 0
            for w in range(nw):
                aj = planes[w, jr]
                bj = planes[nw + w, jr]
                mj = planes[2 * nw + w, jr]
                A = planes[w, l0:l0 + cnt]
                B = planes[nw + w, l0:l0 + cnt]
                M = planes[2 * nw + w, l0:l0 + cnt]
                for t in range(cnt):
                    mi = M[t]
                    cxm[t] += _popcnt(A[t] & mj) + _popcnt(B[t] & mj)
                    cmx[t] += _popcnt(mi & aj) + _popcnt(mi & bj)
                    cmm[t] += _popcnt(mi & mj)
            for t in range(cnt):
                i = lo + t
                mui = mu[i]
                g = float(cx[t]) + muj * float(cxm[t]) + mui * float(cmx[t]) + mui * muj * float(cmm[t])
                r = (g - nf * mui * muj) * (scale[i] * sj)
                r2[t] = r * r * c1 - c0  # r^2 - (1 - r^2) / d
        else:
            for t in range(cnt):
                i = lo + t
                r = (float(cx[t]) - nf * mu[i] * muj) * (scale[i] * sj)
                r2[t] = r * r * c1 - c0
        r2[cnt - 1] *= 0.5  # the diagonal pair enters once, through both sums below
        if na <= 8:  # few columns: vector loops along the window
            for q in range(na):
                ajq = annot[j, q]
                tot = 0.0
                for t in range(cnt):
                    tot += r2[t] * annot[lo + t, q]
                    acc[lo + t - acc0, q] += r2[t] * ajq
                acc[j - acc0, q] += tot
        else:  # many columns (e.g. genes x TSS bins): walk rows, so annot and acc are read contiguously
            tots[:na] = 0.0
            for t in range(cnt):
                rt = r2[t]
                row = lo + t
                for q in range(na):
                    tots[q] += rt * annot[row, q]
                    acc[row - acc0, q] += rt * annot[j, q]
            for q in range(na):
                acc[j - acc0, q] += tots[q]


def _band_sums(pool, n_parts, planes, buf0, mu, scale, has_miss, lefts, annot, s, e, n, d, out):
    """Adds the sums over the pairs with j in [s, e) (i from lefts[j]) to ``out``, in ``n_parts`` pieces of j.

    The pieces run on the thread pool ``pool`` (the numba kernel releases the GIL), each into its own
    accumulator covering rows lefts[piece start]..piece end - 1.
    """
    bounds = [s + ((e - s) * p) // n_parts for p in range(n_parts + 1)]
    pieces = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

    def one(piece):
        a, b = piece
        lo = int(lefts[a])
        acc = np.zeros((b - lo, annot.shape[1]))
        _band_chunk(planes, buf0, mu, scale, has_miss, lefts, annot, a, b, n, d, acc, lo)
        return lo, b, acc

    results = pool.map(one, pieces) if pool is not None else map(one, pieces)
    for lo, b, acc in results:
        out[lo:b] += acc


def ld_sums_bits(rows, cols: np.ndarray, n: int, lefts: np.ndarray, annot: np.ndarray, *,
                 block: int = BITS_BLOCK) -> np.ndarray:
    """Streaming LD-score sums with exact integer cross-products (bit planes + popcount).

    Parameters
    ----------
    rows : ndarray-like, uint8, shape (m_total, ceil(n / 4))
        The .bed's SNP rows (:func:`stats.ld.scores._bed_rows`).
    cols : ndarray, int, shape (m,)
        The kept SNPs' rows, in order.
    n : int
    lefts : ndarray, int64, shape (m,)
        From :func:`stats.ld.scores.ldsc_pair_lefts`.
    annot : ndarray, float64, shape (m, n_annot)
    block : int
        SNPs decoded per step; memory ~ 2 x (window + block) x 3 x n / 8 bytes of bit planes.

    Returns
    -------
    ndarray, float64, shape (m, n_annot)
    """
    m = len(lefts)
    lefts = np.ascontiguousarray(lefts, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    annot = np.ascontiguousarray(annot, dtype=np.float64)
    nw = (n + 63) // 64
    d = float(n - 2 if n > 2 else n)
    mu = np.zeros(m)
    scale = np.zeros(m)
    has_miss = np.zeros(m, dtype=np.bool_)
    out = np.zeros((m, annot.shape[1]))
    n_threads = n_threads_for_kernel()
    n_parts = 4 * n_threads if n_threads > 1 else 1
    pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None
    try:
        planes = np.zeros((3 * nw, 0), dtype=np.uint64)  # word-major: column k is kept SNP buf0 + k
        buf0 = 0
        cnt = np.zeros((block, 3), dtype=np.int64)
        dec = np.empty((block, 3 * nw), dtype=np.uint64)
        for s in range(0, m, block):
            e = min(s + block, m)
            a0 = int(lefts[s])
            keep_old = planes[:, a0 - buf0:]  # SNPs a0..s-1 (lefts is non-decreasing, so a0 >= buf0)
            k_old = keep_old.shape[1]
            _decode_planes(rows, cols[s:e], n, _BED_LUT, dec, 0)
            _plane_counts(dec, 0, e - s, cnt)
            new = np.empty((3 * nw, k_old + e - s), dtype=np.uint64)
            new[:, :k_old] = keep_old
            new[:, k_old:] = dec[:e - s].T
            planes, buf0 = new, a0
            n_a, n_b, n_m = (cnt[:e - s, q].astype(np.float64) for q in range(3))
            no = n - n_m
            x_sum = n_a + n_b  # sum of x over the observed individuals
            x_sq = n_a + 3 * n_b  # sum of x^2 (het 1, hom 4)
            mu_b = np.where(no > 0, x_sum / np.maximum(no, 1), 0.0)
            var = (x_sq + mu_b * mu_b * n_m) / n - mu_b * mu_b
            sd = np.sqrt(np.maximum(var, 0.0))
            sd[sd == 0] = 1.0
            mu[s:e] = mu_b
            scale[s:e] = 1.0 / (np.sqrt(float(n)) * sd)  # scale_i scale_j = 1 / (N s_i s_j)
            has_miss[s:e] = n_m > 0
            _band_sums(pool, n_parts, planes, buf0, mu, scale, has_miss, lefts, annot, s, e, n, d, out)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return out


def n_threads_for_kernel() -> int:
    """Threads for the bit kernel: the CPUs this process may use, capped by numba's thread count."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, numba.get_num_threads()))
