"""Block sign-flip test of SLDP's per-chunk statistics (sldp 1.1.5 ``chunkstats.signflip``, ``mode='sum'``).

The statistic of a test is ``sum_c q_c`` over its chunks. Its null distribution comes from flipping
the sign of every ``q_c`` independently with probability 1/2. The schedule is sldp's: draws in blocks
of 10^5; after each block ``p = max(1, #{|null| >= |observed|}) / draws_so_far`` (no +1 in numerator
or denominator; the smallest p is ``1 / draws``); a test stops as soon as ``p >= 0.01``, else it goes
on to 10^6 draws. ``z = sign(observed) sqrt(chi2_1.isf(p))``.

Many tests (annotations x phenotypes) are run at once on shared sign draws: one ``draws x chunks``
sign matrix per block of draws, multiplied by the ``chunks x tests`` matrix of q (BLAS); tests drop
out of the active set as they stop. The signs of draw ``t`` and chunk ``c`` depend only on the seed,
the block index and ``c``, so a test gets the same p alone as in a batch, whatever the other tests'
chunk counts (a test with fewer chunks is padded with ``q_c = 0``, which no sign changes).

Randomness: from a passed ``numpy.random.Generator`` (one 63-bit draw is taken from it as the
entropy) or an int seed (used as the entropy directly); the bits of block ``i`` come from
``default_rng([entropy, i])``. The reference uses numpy's legacy global RNG, so p agrees with it
within Monte Carlo error only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.special import chdtrc, chdtri  # what chi2.sf / chi2.isf call, without scipy.stats's import

logger = logging.getLogger(__name__)

#: sldp's schedule: at most 10^6 draws, checked every 10^5, stop once p >= 0.01.
N_DRAWS = 1_000_000
DRAW_BLOCK = 100_000
STOP_P = 0.01


def fast_z(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sldp's fast p-value: ``z = sum(q) / ||q||``, ``p = chi2_1.sf(z^2)``.

    Parameters
    ----------
    q : ndarray, float, shape (C, ...)
        Per-chunk statistics along the first axis (zero padding is harmless).

    Returns
    -------
    z_fast, p_fast : ndarray, shape ``q.shape[1:]``
        NaN where q is all zero.
    """
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = q.sum(axis=0) / np.linalg.norm(q, axis=0)
    return z, chdtrc(1, z ** 2)


def entropy_of(rng: np.random.Generator | int | np.integer) -> int:
    """The integer entropy behind the sign draws: an int seed itself, or one draw from a Generator."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2 ** 63, dtype=np.int64))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError("seed must be non-negative")
        return int(rng)
    raise TypeError(f"rng must be a numpy Generator or an int seed, got {type(rng).__name__}")


#: Draws converted to float and multiplied at once.
DRAW_TILE = 4096


def flip_bits(entropy: int, block_index: int, n_chunks: int, n_draws: int) -> np.ndarray:
    """The sign bits of one block of draws: 1 means chunk ``c`` is flipped in draw ``t``.

    Row ``c`` does not depend on ``n_chunks`` (the bytes come as one stream, rows in order), so a
    test with fewer chunks sees the first rows of the same matrix.

    Parameters
    ----------
    entropy : int
    block_index : int
    n_chunks : int
    n_draws : int
        Draws in this block.

    Returns
    -------
    ndarray, uint8 (0/1), shape (n_chunks, n_draws)
    """
    row_bytes = -(-n_draws // 32) * 4  # whole 32-bit words per row keeps the stream row-aligned
    gen = np.random.default_rng([entropy, block_index])
    raw = np.frombuffer(gen.bytes(row_bytes * n_chunks), dtype=np.uint8).reshape(n_chunks, row_bytes)
    return np.unpackbits(raw, axis=1, count=n_draws)


@dataclass
class SignFlipResult:
    """Sign-flip results, one entry per test (shape ``q.shape[1:]``).

    Attributes
    ----------
    p : ndarray, float64
        ``max(1, count) / draws`` at stopping; NaN for a statistic of 0 or non-finite q.
    z : ndarray, float64
        ``sign(score) sqrt(chi2_1.isf(p))``.
    score : ndarray, float64
        Observed ``sum_c q_c``.
    count : ndarray, int64
        Draws with ``|null| >= |score|``.
    n_draws : ndarray, int64
        Draws used (a multiple of the block size, or the total).
    """

    p: np.ndarray
    z: np.ndarray
    score: np.ndarray
    count: np.ndarray
    n_draws: np.ndarray


def signflip_test(q: np.ndarray, *, rng: np.random.Generator | int, n_draws: int = N_DRAWS,
                  block: int = DRAW_BLOCK, stop_p: float = STOP_P, max_elements: int = 1 << 22,
                  rtol: float = 1e-12) -> SignFlipResult:
    """Sign-flip p-values of ``sum_c q_c`` for many tests at once, with sldp's adaptive stopping.

    Parameters
    ----------
    q : ndarray, float, shape (C,) or (C, ...)
        Per-chunk statistics (e.g. :attr:`stats.sldp.regression.SldpFit.q`, shape (C, P, K)); trailing axes
        index the tests. Zero entries (padding) are fine.
    rng : numpy Generator or int seed
    n_draws : int
        Maximum number of sign draws (sldp's ``--T``, 10^6).
    block : int
        Draws between stopping checks (sldp: 10^5). The last block is shortened to ``n_draws``.
    stop_p : float
        A test stops after the first block where its p is ``>= stop_p`` (sldp: 0.01).
    max_elements : int
        Upper bound on the null values held at once (draws x tests), to bound memory.
    rtol : float
        ``|null| >= |score| (1 - rtol)`` counts as "at least as extreme", so that exact ties
        (e.g. flipping every sign) are not decided by rounding.

    Returns
    -------
    SignFlipResult
    """
    q = np.asarray(q, dtype=np.float64)
    if q.ndim == 0:
        raise ValueError("q must have a chunk axis")
    if n_draws < 1 or block < 1:
        raise ValueError("n_draws and block must be positive")
    shape = q.shape[1:]
    c = q.shape[0]
    qf = q.reshape(c, -1)
    n_tests = qf.shape[1]
    entropy = entropy_of(rng)
    finite = np.all(np.isfinite(qf), axis=0)
    score = np.where(finite, qf.sum(axis=0), np.nan)
    thr = np.abs(score) * (1.0 - rtol)
    active = finite & (score != 0)
    n_bad = int(n_tests - active.sum())
    if n_bad:
        logger.warning("sign flip: %d of %d tests have a statistic of 0 or non-finite q (no chunk data); "
                       "their p and z are NaN", n_bad, n_tests)
    counts = np.zeros(n_tests, np.int64)
    used = np.zeros(n_tests, np.int64)
    current = 0
    bi = 0
    while current < n_draws and active.any():
        nblk = min(block, n_draws - current)
        idx = np.flatnonzero(active)
        bits = flip_bits(entropy, bi, c, nblk)
        qa = qf[:, idx]
        tot = score[idx]
        th = thr[idx]
        # draws in tiles that stay in cache: one (draws x chunks) float64 copy of a whole block of 10^5
        # draws took 1.3 s to allocate and fill, 50x its 4,096-draw tiles
        sub = max(1, min(nblk, DRAW_TILE, max_elements // max(1, len(idx))))
        tb = max(1, min(len(idx), max_elements // sub))
        cnt = np.zeros(len(idx), np.int64)
        for j0 in range(0, nblk, sub):
            bsub = bits[:, j0:j0 + sub].T.astype(np.float64)            # (ns, C)
            for t0 in range(0, len(idx), tb):
                null = tot[t0:t0 + tb] - 2.0 * (bsub @ qa[:, t0:t0 + tb])
                cnt[t0:t0 + tb] += np.count_nonzero(np.abs(null) >= th[t0:t0 + tb], axis=0)
        counts[idx] += cnt
        current += nblk
        bi += 1
        used[idx] = current
        p_now = np.maximum(1, counts[idx]) / current
        active[idx[p_now >= stop_p]] = False
        logger.debug("sign flip: %d draws, %d of %d tests still active", current, int(active.sum()), n_tests)
    ok = used > 0
    p = np.full(n_tests, np.nan)
    p[ok] = np.maximum(1, counts[ok]) / used[ok]
    with np.errstate(invalid="ignore"):
        z = np.sign(score) * np.sqrt(chdtri(1, p))
    return SignFlipResult(p=p.reshape(shape), z=z.reshape(shape), score=score.reshape(shape),
                          count=counts.reshape(shape), n_draws=used.reshape(shape))
