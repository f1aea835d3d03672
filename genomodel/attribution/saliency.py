"""Saliency as Basenji defines it: gradient x representation at the bins after the convolution tower.

With ``H`` (bins x channels) the output of the convolution tower (before the dilated layers) and ``y``
the sum of the chosen targets over the chosen output bins, ``saliency_b = sum_c H[b, c] dy/dH[b, c]``,
signed. Summed over bins it is the derivative of ``y`` when ``H`` is scaled by ``(1 + e)``, which is
what the tests check.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def saliency(seqnn, x: np.ndarray, *, genome: str | None = None, targets=None, bins=None,
             batch_size: int = 4) -> np.ndarray:
    """Saliency per tower bin.

    Parameters
    ----------
    seqnn : SeqNN
    x : ndarray, shape (n, seq_length, 4)
        One-hot sequences.
    targets, bins : sequence of int, optional
        Output targets and bins whose predictions are summed (all by default).

    Returns
    -------
    ndarray, float32, shape (n, tower_bins)
    """
    model = seqnn.model(genome)
    h = seqnn.tower_output()
    to_h = keras.Model(model.input, h)
    from_h = keras.Model(h, model.output)
    n_t, n_b = int(model.output.shape[-1]), int(model.output.shape[1])
    t_idx = tf.constant(np.arange(n_t) if targets is None else np.asarray(targets), tf.int32)
    b_idx = tf.constant(np.arange(n_b) if bins is None else np.asarray(bins), tf.int32)
    out = []
    for i in range(0, len(x), batch_size):
        hb = to_h(tf.constant(x[i:i + batch_size], tf.float32), training=False)
        with tf.GradientTape() as tape:
            tape.watch(hb)
            pred = from_h(hb, training=False)
            y = tf.reduce_sum(tf.gather(tf.gather(pred, b_idx, axis=1), t_idx, axis=2))
        g = tape.gradient(y, hb)
        out.append(tf.reduce_sum(hb * g, axis=-1).numpy())
    return np.concatenate(out).astype(np.float32)
