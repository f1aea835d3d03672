"""LD-score sums for small panels through prefix sums of per-SNP Gram matrices (numpy only).

With few individuals (HapMap's 60 CEU founders, a 100-person pilot panel) a window's LD-score sum
needs no pair-by-pair work: for SNP j with standardized genotypes ``w_j`` (length n),

    sum_{i in window} a_i (w_i . w_j)^2 = w_j^T C w_j,     C = sum_{i in window} a_i w_i w_i^T  (n x n),

and since ldsc's pair set gives every SNP a contiguous range of partners ``[lefts[j], ends[j])`` (the
SNPs before j from its own window, those after j whose windows reach back to j), ``C`` is the difference
of two prefix sums. The prefix sums are kept at every ``stride``-th SNP; the rest of a range is summed
directly. Per SNP that costs about ``4 n^2 + 4 stride n`` flops, against ``window x n`` for the pairs,
so it wins while n is small next to the window.
Equal to the pairwise sums up to float64 rounding (the prefix sums grow with the chromosome; their
difference loses about ``log10(m n / window)`` of float64's 16 digits, far below ldsc's 3 decimals).
"""
from __future__ import annotations

import numpy as np

#: SNPs between stored prefix sums.
STRIDE = 64


def prefix_gram_bytes(m: int, n: int, n_annot: int, *, stride: int = STRIDE) -> int:
    """Memory of the stored prefix sums of :func:`ld_sums_prefix_gram` for m SNPs, n individuals (bytes)."""
    return (-(-m // stride) + 1) * n_annot * n * n * 8


def _partner_ends(lefts: np.ndarray) -> np.ndarray:
    """``ends[j]``: one past the last SNP i >= j with ``lefts[i] <= j`` (lefts non-decreasing)."""
    return np.searchsorted(lefts, np.arange(len(lefts)), side="right")


def _prefix_forms(w: np.ndarray, annot: np.ndarray, prefix: np.ndarray, bound: np.ndarray, stride: int) -> np.ndarray:
    """``F[j, k] = sum_{i < bound[j]} annot[i, k] (w_i . w_j)^2`` for every SNP j (bound non-decreasing).

    The stored prefix sum at ``c = bound[j] // stride`` gives ``w_j^T P_c w_j``; SNPs ``c stride ..
    bound[j] - 1`` are added directly. SNPs sharing ``c`` form a contiguous run, handled as one product.
    """
    m, n = w.shape
    out = np.empty((m, annot.shape[1]))
    c_of = bound // stride
    cuts = np.r_[0, np.flatnonzero(np.diff(c_of)) + 1, m]
    for js, je in zip(cuts[:-1], cuts[1:]):
        c = int(c_of[js])
        wj = w[js:je]
        # w_j^T P_c[k] w_j for every k: (g, K, n) * (g, 1, n) summed over n
        out[js:je] = np.einsum("gkn,gn->gk", np.matmul(wj[:, None, None, :], prefix[c]).squeeze(2), wj)
        lo = c * stride
        hi = min(lo + stride, m)
        if hi > lo and bound[je - 1] > lo:
            g = w[lo:hi] @ wj.T  # (stride, group)
            g *= g
            g *= np.arange(lo, hi)[:, None] < bound[js:je][None, :]
            out[js:je] += g.T @ annot[lo:hi]
    return out


def _block_grams(w: np.ndarray, annot: np.ndarray, stride: int, *, out: np.ndarray, group: int = 256) -> None:
    """``out[b, k] = sum_{s in block b} annot[s, k] w_s w_s^T`` over blocks of ``stride`` SNPs (the last one
    short), ``group`` blocks at a time so that the weighted copies stay small."""
    m, n = w.shape
    nb = out.shape[0]
    full = m // stride
    for b0 in range(0, full, group):
        b1 = min(b0 + group, full)
        wb = w[b0 * stride:b1 * stride].reshape(b1 - b0, stride, n)
        ab = annot[b0 * stride:b1 * stride].reshape(b1 - b0, stride, -1)
        for k in range(annot.shape[1]):
            np.matmul((wb * ab[:, :, k:k + 1]).transpose(0, 2, 1), wb, out=out[b0:b1, k])
    if nb > full:  # the short last block
        wl, al = w[full * stride:], annot[full * stride:]
        for k in range(annot.shape[1]):
            out[full, k] = (wl * al[:, k:k + 1]).T @ wl


def ld_sums_prefix_gram(w: np.ndarray, lefts: np.ndarray, annot: np.ndarray, *, stride: int = STRIDE) -> np.ndarray:
    """Annotation-weighted sums of ldsc's unbiased r^2 over ldsc's pair set, by prefix Gram sums.

    Parameters
    ----------
    w : ndarray, float64, shape (m, n)
        ldsc's standardized genotypes of the chromosome's kept SNPs, one row per SNP (mean-imputed,
        centred, divided by the ``ddof=0`` standard deviation), so ``r_ij = w_i . w_j / n``.
    lefts : ndarray, int, shape (m,)
        From :func:`stats.ld.scores.ldsc_pair_lefts`: SNPs i < j pair with j when ``i >= lefts[j]``.
    annot : ndarray, float64, shape (m, n_annot)
    stride : int
        SNPs between stored prefix sums; memory :func:`prefix_gram_bytes`.

    Returns
    -------
    ndarray, float64, shape (m, n_annot)
        ``sum_i annot[i, k] r~2(i, j)`` with ``r~2 = r^2 - (1 - r^2) / d``, ``d = n - 2`` (``n`` when
        ``n <= 2``), over j's partners (j included).
    """
    w = np.ascontiguousarray(w, dtype=np.float64)
    annot = np.ascontiguousarray(annot, dtype=np.float64)
    lefts = np.asarray(lefts, dtype=np.int64)
    m, n = w.shape
    n_annot = annot.shape[1]
    d = float(n - 2 if n > 2 else n)
    nb = -(-m // stride)
    prefix = np.zeros((nb + 1, n_annot, n, n))
    _block_grams(w, annot, stride, out=prefix[1:])
    np.cumsum(prefix[1:], axis=0, out=prefix[1:])  # running sums over blocks, in place
    ends = _partner_ends(lefts)
    forms = (_prefix_forms(w, annot, prefix, ends, stride) - _prefix_forms(w, annot, prefix, lefts, stride))
    a_cum = np.zeros((m + 1, n_annot))
    np.cumsum(annot, axis=0, out=a_cum[1:])
    n_pairs_weighted = a_cum[ends] - a_cum[lefts]
    # sum a (r^2 (1 + 1/d) - 1/d), r = w_i . w_j / n
    return forms * ((1.0 + 1.0 / d) / (n * n)) - n_pairs_weighted / d
