"""In-silico saturation mutagenesis, the straightforward way: one forward pass per mutation.

For every position of a window and each of the 3 other bases, the change of the prediction (summed
over chosen output bins) relative to the reference sequence, per chosen target. Reference bases
score 0.
"""
from __future__ import annotations

import numpy as np

from genomodel.predict import predict


def ism(model, x: np.ndarray, *, start: int, end: int, targets=None, bins=None, batch_size: int = 16,
        rc: bool = False, strand_pair=None, fast: bool = False) -> np.ndarray:
    """Saturation mutagenesis of positions ``start..end-1`` of one sequence.

    Parameters
    ----------
    model : keras.Model
    x : ndarray, shape (seq_length, 4)
        One-hot reference sequence.
    targets, bins : sequence of int, optional
        Targets kept and output bins summed (all by default).
    fast : bool
        Recompute only what each mutation can change (:class:`genomodel.model.incremental.Incremental`);
        the same numbers to floating-point tolerance. Not combined with ``rc``.

    Returns
    -------
    ndarray, float32, shape (end - start, 4, n_targets)
        ``alt - ref`` of the summed prediction for each position and base (0 at the reference base).
    """
    x = np.asarray(x, np.float32)
    n_t, n_b = int(model.output.shape[-1]), int(model.output.shape[1])
    t_idx = np.arange(n_t) if targets is None else np.asarray(targets)
    b_idx = np.arange(n_b) if bins is None else np.asarray(bins)

    def summed(seqs):
        p = predict(model, seqs, rc=rc, strand_pair=strand_pair, batch_size=batch_size)
        return p[:, b_idx][:, :, t_idx].astype(np.float64).sum(axis=1)

    if fast:
        if rc:
            raise ValueError("fast mutagenesis does not average reverse complements; use fast=False")
        return _ism_fast(model, x, start, end, t_idx, b_idx, batch_size)
    ref = summed(x[None])[0]
    muts, where = [], []
    for pos in range(start, end):
        for base in range(4):
            if x[pos, base] == 1:
                continue
            m = x.copy()
            m[pos] = 0
            m[pos, base] = 1
            muts.append(m)
            where.append((pos - start, base))
    out = np.zeros((end - start, 4, len(t_idx)), np.float32)
    if muts:
        vals = summed(np.stack(muts)) - ref
        for (i, b), v in zip(where, vals):
            out[i, b] = v
    return out


def _ism_fast(model, x, start, end, t_idx, b_idx, batch_size):
    from genomodel.model.incremental import Incremental

    inc = Incremental(model, x)
    ref = inc.reference_output.astype(np.float64)
    where = [(pos, base) for pos in range(start, end) for base in range(4) if x[pos, base] != 1]
    out = np.zeros((end - start, 4, len(t_idx)), np.float32)
    # mutants of nearby positions share one recomputed interval: batch them in position order
    for i in range(0, len(where), max(batch_size, 3)):
        chunk = where[i:i + max(batch_size, 3)]
        patch, lo, hi = inc.mutants([p for p, _ in chunk], [b for _, b in chunk],
                                    out_bins=(int(b_idx.min()), int(b_idx.max()) + 1))
        keep = b_idx[(b_idx >= lo) & (b_idx < hi)]
        if len(keep) == 0:
            continue
        delta = patch[:, keep - lo][:, :, t_idx].astype(np.float64) - ref[keep][:, t_idx]
        for (p, b), v in zip(chunk, delta.sum(axis=1)):
            out[p - start, b] = v
    return out
