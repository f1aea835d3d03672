"""In-silico saturation mutagenesis, the straightforward way: one forward pass per mutation.

For every position of a window and each of the 3 other bases, the change of the prediction (summed
over chosen output bins) relative to the reference sequence, per chosen target. Reference bases
score 0.
"""
from __future__ import annotations

import numpy as np

from genomodel.predict import predict


def ism(model, x: np.ndarray, *, start: int, end: int, targets=None, bins=None, batch_size: int = 16,
        rc: bool = False, strand_pair=None) -> np.ndarray:
    """Saturation mutagenesis of positions ``start..end-1`` of one sequence.

    Parameters
    ----------
    model : keras.Model
    x : ndarray, shape (seq_length, 4)
        One-hot reference sequence.
    targets, bins : sequence of int, optional
        Targets kept and output bins summed (all by default).

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
