"""Start a model's first convolution from known motifs (JASPAR on real data, the world's motif file on the
simulated one) instead of random filters.

The first layer of a Basset/Basenji model learns motif detectors, and on a small genome or a short
training budget most filters never get there. Setting some filters to the log-odds of a motif
database gives those detectors from the first step; training then tunes them with everything else
(the filters are not frozen), so a database motif that the tracks do not support is unlearned. What
a motif does in which cell type - the part the analyses test - is still learned from the tracks.
"""
from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

#: gelu(1): the conv blocks apply their activation to the one-hot input before the first convolution
_GELU_ONE = 0.8413447460685429


def first_conv(model):
    """The first Conv1D layer of a keras model (ValueError when there is none)."""
    for layer in model.layers:
        if layer.__class__.__name__ == "Conv1D":
            return layer
    raise ValueError("the model has no Conv1D layer to initialise from motifs")


def motif_filters(motifs: dict, *, kernel_size: int, background=(0.25, 0.25, 0.25, 0.25), pseudocount: float = 1e-3,
                  scale: float = 0.3, input_gain: float = _GELU_ONE) -> tuple[np.ndarray, list]:
    """Filters of the centred log-odds of each motif and of its reverse complement.

    Parameters
    ----------
    motifs : dict of str -> ndarray, shape (width, 4)
        Base probabilities per position (:func:`genomodel.attribution.motifs.read_motif_database`).
    kernel_size : int
        Width of the filters; each motif is centred in it (a wider motif is trimmed equally on both
        ends to its most informative ``kernel_size`` positions' span).
    background : sequence of 4 float
        Base frequencies of the genome (A, C, G, T).
    pseudocount : float
        Added to the probabilities before the log.
    scale : float
        Multiplies the log-odds, to keep the layer's output variance near that of its random filters.
    input_gain : float
        The value a one-hot 1 has at the convolution's input (the blocks activate their input first).

    Returns
    -------
    filters : ndarray, float32, shape (kernel_size, 4, 2 * n_motifs)
        Motif then reverse complement, in the order of ``motifs``.
    names : list of str
        ``name`` and ``name (rc)``, one per filter.
    """
    bg = np.asarray(background, dtype=np.float64)
    cols, names = [], []
    for name, probs in motifs.items():
        p = np.asarray(probs, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 4:
            raise ValueError(f"motif {name}: expected a (width, 4) probability matrix, got shape {p.shape}")
        if len(p) > kernel_size:
            cut = (len(p) - kernel_size) // 2
            p = p[cut:cut + kernel_size]
        lo = np.log((p + pseudocount) / bg)
        lo -= lo.mean(axis=1, keepdims=True)  # a position's weight depends on which base, not on coverage
        for label, m in ((name, lo), (f"{name} (rc)", lo[::-1, ::-1])):
            f = np.zeros((kernel_size, 4))
            a = (kernel_size - len(m)) // 2
            f[a:a + len(m)] = m * scale / input_gain
            cols.append(f)
            names.append(label)
    return np.stack(cols, axis=-1).astype(np.float32), names


def init_from_motifs(model, motifs: dict, **options) -> list:
    """Overwrite the leading filters of ``model``'s first convolution with :func:`motif_filters`.

    Parameters
    ----------
    model : keras.Model
    motifs : dict of str -> ndarray, shape (width, 4)
    **options
        Passed to :func:`motif_filters` (``background``, ``pseudocount``, ``scale``).

    Returns
    -------
    list of str
        The motif (and reverse-complement) names, in the order of the filters they set.

    Raises
    ------
    ValueError
        When the layer has fewer filters than twice the motifs, or its input is not one-hot (4 channels).
    """
    conv = first_conv(model)
    weights = conv.get_weights()
    kernel = weights[0]
    width, channels, n_filters = kernel.shape
    if channels != 4:
        raise ValueError(f"layer {conv.name}: input has {channels} channels, not the 4 of one-hot DNA")
    filters, names = motif_filters(motifs, kernel_size=width, **options)
    if filters.shape[-1] > n_filters:
        raise ValueError(f"layer {conv.name} has {n_filters} filters: too few for {len(motifs)} motifs and their "
                         f"reverse complements ({filters.shape[-1]}); use fewer motifs or a wider first layer")
    kernel[:, :, :filters.shape[-1]] = filters
    conv.set_weights([kernel, *weights[1:]])
    logger.info("initialised %d of %d filters of %s from %d motifs", len(names), n_filters, conv.name, len(motifs))
    return names
