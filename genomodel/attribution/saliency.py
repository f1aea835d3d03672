"""Saliency as Basenji defines it: gradient x representation at the bins after the convolution tower.

With ``H`` (bins x channels) the output of the convolution tower (before the dilated layers) and ``y``
the sum of the chosen targets over the chosen output bins, ``saliency_b = sum_c H[b, c] dy/dH[b, c]``,
signed. Summed over bins it is the derivative of ``y`` when ``H`` is scaled by ``(1 + e)``, which is
what the tests check.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class RegionSaliency:
    """Saliency of windows centred on genomic regions (:func:`region_saliency`).

    Attributes
    ----------
    values : ndarray, float32, shape (n_regions, tower_bins)
    windows : DataFrame
        chrom, start, end (0-based half-open) of each input window.
    names : list of str, length n_regions
    bin_width : int
        Base pairs per tower bin.
    """

    values: np.ndarray
    windows: pd.DataFrame
    names: list
    bin_width: int

    def write(self, out_dir, *, provenance: dict | None = None) -> Path:
        """``saliency.h5`` (:func:`genomodel.io.attribution_h5.write_saliency_h5`) and ``saliency.png``."""
        from genocore.figures import save_png
        from genomodel.attribution.plots import saliency_figure
        from genomodel.io.attribution_h5 import write_saliency_h5

        out = Path(out_dir)
        write_saliency_h5(out / "saliency.h5", self.values, self.windows, bin_width=self.bin_width,
                          provenance=provenance)
        save_png(saliency_figure(self.values, names=self.names, bin_width=self.bin_width), out / "saliency.png")
        logger.info("saliency of %d regions x %d bins -> %s", *self.values.shape, out)
        return out


def region_saliency(seqnn, fasta, regions, *, genome: str | None = None, targets=None, bins=None,
                    batch_size: int = 4) -> RegionSaliency:
    """Saliency of windows centred on genomic regions.

    Parameters
    ----------
    seqnn : SeqNN
    fasta : path-like
        The genome the regions refer to.
    regions : DataFrame
        ``chrom, start, end`` (0-based half-open) and ``name``, e.g. :func:`genocore.bed.read_bed`.
    genome, targets, bins, batch_size
        See :func:`saliency`.

    Returns
    -------
    RegionSaliency
    """
    from genomodel import dna
    from genomodel.attribution.ism import check_indices
    from genomodel.predict import region_sequences

    model = seqnn.model(genome)
    check_indices(targets, int(model.output.shape[-1]), "targets")
    check_indices(bins, int(model.output.shape[1]), "bins")
    if len(regions) == 0:
        raise ValueError("no regions to explain")
    seq_length = int(model.input.shape[1])
    codes, windows = region_sequences(fasta, regions, seq_length)
    values = saliency(seqnn, dna.one_hot(codes, dtype=np.float32), genome=genome, targets=targets, bins=bins,
                      batch_size=batch_size)
    return RegionSaliency(values=values, windows=windows, names=regions.name.tolist(),
                          bin_width=seq_length // values.shape[1])
