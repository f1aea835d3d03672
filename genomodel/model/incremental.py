"""Exact incremental prediction for point mutations (the fastISM idea, for any model of our blocks).

A point mutation changes the input at one position; layer by layer, only an interval of each
activation can change (it widens by each convolution's reach, shrinks by pooling, shifts by
cropping). :class:`Incremental` computes every layer's reference activation once, then for a batch of
mutations recomputes, for each mutation, only its own changed interval (a batch shares the interval's
width, not its position), reading the unchanged neighbourhood from the reference. The result equals a full forward pass of the mutated sequence up to
floating-point summation order (the tests check 1e-4 relative against the straightforward path).

Supported layers: InputLayer, Conv1D (stride 1, 'same' or 'valid'), BatchNormalization, Activation,
Dropout (inference), Dense, MaxPooling1D (pool = stride, lengths divisible), Cropping1D, Add,
Concatenate. Anything else raises ``NotImplementedError`` naming the layer.
"""
from __future__ import annotations

import weakref

import numpy as np
import tensorflow as tf
import keras

from genomodel.model.fold import inbound_layers


_ACTIVATIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _activations_model(model):
    """A model returning every layer's output, built once per model (one Incremental per window or
    gene would otherwise rebuild it each time)."""
    if model not in _ACTIVATIONS:
        _ACTIVATIONS[model] = keras.Model(model.input, [l.output for l in model.layers[1:]])
    return _ACTIVATIONS[model]


class Incremental:
    """Reference activations of one sequence and incremental predictions of its point mutants.

    Parameters
    ----------
    model : keras.Model
        One head's model (input one-hot ``(batch, L, 4)``).
    x : ndarray, shape (L, 4)
        The reference sequence, one-hot.
    """

    def __init__(self, model, x: np.ndarray):
        self.model = model
        self.layers = [l for l in model.layers]
        for layer in self.layers:
            kind = layer.__class__.__name__
            if kind not in _RULES:
                raise NotImplementedError(f"layer {layer.name} ({kind}) has no incremental rule")
            if kind == "Conv1D" and layer.strides[0] != 1:
                raise NotImplementedError(f"layer {layer.name}: strided convolutions are not supported")
        acts = _activations_model(model)(tf.constant(x[None], tf.float32), training=False)
        self.ref = {self.layers[0].name: tf.constant(x[None], tf.float32)}
        for layer, a in zip(self.layers[1:], acts):
            self.ref[layer.name] = a
        self.inputs = {l.name: [p.name for p in inbound_layers(l)] for l in self.layers[1:]}

    @property
    def reference_output(self) -> np.ndarray:
        """ndarray, shape (bins, targets)."""
        return self.ref[self.layers[-1].name].numpy()[0]

    def _needs(self, out_lo: int, out_hi: int) -> dict:
        """Per layer, the interval of its output that the requested output bins depend on."""
        last = self.layers[-1].name
        need = {last: (out_lo, out_hi)}
        for layer in reversed(self.layers[1:]):
            if layer.name not in need:
                continue
            a, b = need[layer.name]
            kind = layer.__class__.__name__
            for src in self.inputs[layer.name]:
                n_in = self.length(src)
                if kind == "Conv1D":
                    k, d = layer.kernel_size[0], layer.dilation_rate[0]
                    reach = d * (k - 1)
                    left = reach // 2 if layer.padding == "same" else 0
                    ia, ib = a - left, b - left + reach
                elif kind == "MaxPooling1D":
                    ia, ib = a * layer.pool_size[0], b * layer.pool_size[0]
                elif kind == "Cropping1D":
                    ia, ib = a + layer.cropping[0], b + layer.cropping[0]
                else:
                    ia, ib = a, b
                ia, ib = max(ia, 0), min(ib, n_in)
                if src in need:
                    ia, ib = min(ia, need[src][0]), max(ib, need[src][1])
                need[src] = (ia, ib)
        return need

    def clip(self, name: str, a, b) -> tuple[np.ndarray, np.ndarray]:
        """Intersect each mutant's changed interval ``[a_i, b_i)`` of layer ``name`` with what the
        requested outputs need of it (and the layer's length); an empty result has ``a_i == b_i``."""
        lo, hi = self._need.get(name, (0, self.length(name)))
        a, b = np.maximum(np.asarray(a, int), lo), np.minimum(np.asarray(b, int), hi)
        return a, np.maximum(a, b)

    def mutants_each(self, positions, bases, *, out_bins: tuple | None = None):
        """Each point mutant's outputs over its own output cone, the mutants batched.

        Every layer computes, for every mutant, only the interval its mutation can change (within what
        ``out_bins`` need); the intervals of a batch have a common width but each its own start, so
        mutants far apart in a window cost no more than mutants side by side.

        Parameters
        ----------
        positions : sequence of int
            Input positions (0-based) of the mutations, one per mutant.
        bases : sequence of int
            New base (0..3) of each mutant.
        out_bins : (int, int), optional
            Only output bins ``[lo, hi)`` are wanted: every layer then computes only what they depend on.

        Returns
        -------
        patch : ndarray, float32, shape (n_mutants, width, targets)
            ``patch[i, j]`` is mutant i's output at bin ``starts[i] + j`` for ``j < ends[i] - starts[i]``
            (later columns are padding and meaningless).
        starts, ends : ndarray, int, shape (n_mutants,)
            Mutant i can differ from the reference only on bins ``[starts[i], ends[i])``.
        """
        positions = np.asarray(positions, int)
        n = len(positions)
        self._need = self._needs(*out_bins) if out_bins is not None else {}
        first = self.layers[0].name
        x0 = self.ref[first][0].numpy()
        patch = x0[positions][:, None, :].copy()
        patch[:, 0, :] = 0.0
        patch[np.arange(n), 0, np.asarray(bases, int)] = 1.0
        state = {first: (tf.constant(patch), positions, positions + 1)}
        for layer in self.layers[1:]:
            state[layer.name] = _RULES[layer.__class__.__name__](self, layer, state, n)
        out, starts, ends = state[self.layers[-1].name]
        return out.numpy(), starts, ends

    def mutants(self, positions, bases, *, out_bins: tuple | None = None) -> tuple[np.ndarray, int, int]:
        """Outputs of point mutants on one output interval that covers every bin any of them changes.

        Same parameters as :meth:`mutants_each`.

        Returns
        -------
        patch : ndarray, float32, shape (n_mutants, hi - lo, targets)
            The mutants' outputs on output bins ``lo..hi-1``; every other bin equals the reference.
        lo, hi : int
        """
        each, starts, ends = self.mutants_each(positions, bases, out_bins=out_bins)
        live = ends > starts
        if not live.any():
            return np.zeros((len(starts), 0, each.shape[-1]), np.float32), int(starts.min(initial=0)), int(starts.min(initial=0))
        lo, hi = int(starts[live].min()), int(ends[live].max())
        patch = np.repeat(self.reference_output[None, lo:hi], len(starts), axis=0)
        for i in np.flatnonzero(live):
            patch[i, starts[i] - lo:ends[i] - lo] = each[i, :ends[i] - starts[i]]
        return patch, lo, hi

    # -- helpers used by the rules ---------------------------------------------------------------
    def chunk(self, name: str, state: dict, starts, width: int):
        """Activation of layer ``name`` on ``[starts[i], starts[i] + width)`` for every mutant i: the
        mutant's patch where it changed, the reference elsewhere, zeros beyond the sequence ends
        ('same' padding).

        Returns
        -------
        tf.Tensor, float32, shape (n_mutants, width, channels)
        """
        ref = self.ref[name][0]
        length = int(ref.shape[0])
        p, ps, pe = state[name]
        g = np.asarray(starts, int)[:, None] + np.arange(width)[None, :]
        inside = (g >= 0) & (g < length)
        base = tf.gather(ref, np.clip(g, 0, length - 1))
        if not inside.all():
            base = base * tf.constant(inside[..., None], ref.dtype)
        in_patch = inside & (g >= ps[:, None]) & (g < pe[:, None])
        if not in_patch.any():
            return base
        wp = int(p.shape[1])
        flat = np.where(in_patch, np.arange(len(g))[:, None] * wp + (g - ps[:, None]), 0)
        changed = tf.gather(tf.reshape(p, (-1, p.shape[-1])), flat)
        return tf.where(tf.constant(in_patch[..., None]), changed, base)

    def length(self, name: str) -> int:
        return int(self.ref[name].shape[1])


def _empty(inc, layer, n: int, a):
    ref = inc.ref[layer.name]
    return tf.zeros((n, 0, ref.shape[-1]), ref.dtype), a, a


def _elementwise(inc, layer, state, n):
    src = inc.inputs[layer.name][0]
    p, lo, hi = state[src]
    a, b = inc.clip(layer.name, lo, hi)
    width = int((b - a).max(initial=0))
    if width == 0:
        return _empty(inc, layer, n, a)
    if not (np.array_equal(a, lo) and width == p.shape[1]):
        p = inc.chunk(src, state, a, width)
    if layer.__class__.__name__ == "Dropout":
        return p, a, b
    return layer(p, training=False), a, b


def _conv(inc, layer, state, n):
    src = inc.inputs[layer.name][0]
    _, lo, hi = state[src]
    k, d = layer.kernel_size[0], layer.dilation_rate[0]
    reach = d * (k - 1)
    left = reach // 2 if layer.padding == "same" else 0
    live = hi > lo
    a, b = inc.clip(layer.name, np.where(live, lo - (reach - left), 0), np.where(live, hi + left, 0))
    width = int((b - a).max(initial=0))
    if width == 0:  # nothing the requested outputs need changes here
        return _empty(inc, layer, n, a)
    x = inc.chunk(src, state, a - left, width + reach)
    # a mixed-precision layer keeps float32 weights and computes in its activations' dtype
    y = tf.nn.convolution(x, tf.cast(layer.kernel, x.dtype), padding="VALID", dilations=d)
    if layer.use_bias:
        y = y + tf.cast(layer.bias, x.dtype)
    if layer.activation is not None and layer.activation is not keras.activations.linear:
        y = layer.activation(y)
    return y, a, b


def _pool(inc, layer, state, n):
    src = inc.inputs[layer.name][0]
    _, lo, hi = state[src]
    size = layer.pool_size[0]
    if layer.strides[0] != size or inc.length(src) % size:
        raise NotImplementedError(f"layer {layer.name}: pooling must tile its input exactly")
    live = hi > lo
    a, b = inc.clip(layer.name, np.where(live, lo // size, 0), np.where(live, (hi - 1) // size + 1, 0))
    width = int((b - a).max(initial=0))
    if width == 0:
        return _empty(inc, layer, n, a)
    x = inc.chunk(src, state, a * size, width * size)
    return tf.nn.max_pool1d(x, size, size, "VALID"), a, b


def _crop(inc, layer, state, n):
    src = inc.inputs[layer.name][0]
    p, lo, hi = state[src]
    c = layer.cropping[0]
    live = hi > lo
    a, b = inc.clip(layer.name, np.where(live, lo - c, 0), np.where(live, hi - c, 0))
    width = int((b - a).max(initial=0))
    if width == 0:  # the change falls entirely in the cropped flanks, or outside what is needed
        return _empty(inc, layer, n, a)
    if np.array_equal(a, lo - c) and width == p.shape[1]:
        return p, a, b
    return inc.chunk(src, state, a + c, width), a, b


def _merge(inc, layer, state, n):
    srcs = inc.inputs[layer.name]
    los = np.stack([np.where(state[s][2] > state[s][1], state[s][1], np.iinfo(np.int64).max) for s in srcs])
    his = np.stack([np.where(state[s][2] > state[s][1], state[s][2], np.iinfo(np.int64).min) for s in srcs])
    live = (los.min(0) < his.max(0))
    a, b = inc.clip(layer.name, np.where(live, los.min(0), 0), np.where(live, his.max(0), 0))
    width = int((b - a).max(initial=0))
    if width == 0:
        return _empty(inc, layer, n, a)
    xs = [inc.chunk(s, state, a, width) for s in srcs]
    if layer.__class__.__name__ == "Add":
        return tf.add_n(xs), a, b
    return tf.concat(xs, axis=-1), a, b


_RULES = {"InputLayer": None, "Activation": _elementwise, "BatchNormalization": _elementwise,
          "Dropout": _elementwise, "Dense": _elementwise, "Conv1D": _conv, "MaxPooling1D": _pool,
          "Cropping1D": _crop, "Add": _merge, "Concatenate": _merge}
