"""Exact incremental prediction for point mutations (the fastISM idea, for any model of our blocks).

A point mutation changes the input at one position; layer by layer, only an interval of each
activation can change (it widens by each convolution's reach, shrinks by pooling, shifts by
cropping). :class:`Incremental` computes every layer's reference activation once, then for a batch of
mutations recomputes only the union of the changed intervals, reading the unchanged neighbourhood
from the reference. The result equals a full forward pass of the mutated sequence up to
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


_ACTIVATIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _activations_model(model):
    """A model returning every layer's output, built once per model (one Incremental per window or
    gene would otherwise rebuild it each time)."""
    if model not in _ACTIVATIONS:
        _ACTIVATIONS[model] = keras.Model(model.input, [l.output for l in model.layers[1:]])
    return _ACTIVATIONS[model]


def _inbound(layer) -> list:
    node = layer._inbound_nodes[0]
    return [t._keras_history.operation for t in node.input_tensors]


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
        self.inputs = {l.name: [p.name for p in _inbound(l)] for l in self.layers[1:]}

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

    def clip(self, name: str, a: int, b: int) -> tuple[int, int]:
        """Intersect a changed interval with what the requested outputs need of this layer."""
        lo, hi = self._need.get(name, (0, self.length(name)))
        a, b = max(a, lo), min(b, hi)
        return (a, b) if a < b else (a, a)

    def mutants(self, positions, bases, *, out_bins: tuple | None = None) -> tuple[np.ndarray, int, int]:
        """Outputs of point mutants over the output interval that can differ from the reference.

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
        patch : ndarray, float32, shape (n_mutants, hi - lo, targets)
            The mutants' outputs on output bins ``lo..hi-1``; every other bin equals the reference.
        lo, hi : int
        """
        positions = np.asarray(positions, int)
        n = len(positions)
        self._need = self._needs(*out_bins) if out_bins is not None else {}
        first = self.layers[0].name
        x0 = self.ref[first][0].numpy()
        lo, hi = int(positions.min()), int(positions.max()) + 1
        patch = np.repeat(x0[None, lo:hi], n, axis=0)
        rows = np.arange(n)
        patch[rows, positions - lo] = 0.0
        patch[rows, positions - lo, np.asarray(bases, int)] = 1.0
        state = {first: (tf.constant(patch), lo, hi)}
        for layer in self.layers[1:]:
            state[layer.name] = _RULES[layer.__class__.__name__](self, layer, state, n)
        out, lo, hi = state[self.layers[-1].name]
        return out.numpy(), lo, hi

    # -- helpers used by the rules ---------------------------------------------------------------
    def chunk(self, name: str, state: dict, start: int, end: int, n: int):
        """Activation of layer ``name`` on [start, end) for every mutant: the reference outside the
        mutants' patch, the patch inside, zeros beyond the sequence ends ('same' padding)."""
        ref = self.ref[name][0]
        length = int(ref.shape[0])
        p, lo, hi = state[name]
        a, b = max(start, 0), min(end, length)
        parts = []
        if a > start:
            parts.append(tf.zeros((n, a - start, ref.shape[-1]), ref.dtype))
        # reference on [a, lo), patch on [max(a, lo), min(b, hi)), reference on [hi, b)
        if a < min(lo, b):
            parts.append(tf.repeat(ref[None, a:min(lo, b)], n, axis=0))
        s, e = max(a, lo), min(b, hi)
        if s < e:
            parts.append(p[:, s - lo:e - lo])
        if max(hi, a) < b:
            parts.append(tf.repeat(ref[None, max(hi, a):b], n, axis=0))
        if end > b:
            parts.append(tf.zeros((n, end - b, ref.shape[-1]), ref.dtype))
        return tf.concat(parts, axis=1)

    def length(self, name: str) -> int:
        return int(self.ref[name].shape[1])


def _elementwise(inc, layer, state, n):
    src = inc.inputs[layer.name][0]
    p, lo, hi = state[src]
    a, b = inc.clip(layer.name, lo, hi)
    if b <= a:
        return tf.zeros((n, 0, inc.ref[layer.name].shape[-1]), tf.float32), a, a
    p = p[:, a - lo:b - lo]
    if layer.__class__.__name__ == "Dropout":
        return p, a, b
    return layer(p, training=False), a, b


def _conv(inc, layer, state, n):
    src = inc.inputs[layer.name][0]
    _, lo, hi = state[src]
    k, d = layer.kernel_size[0], layer.dilation_rate[0]
    reach = d * (k - 1)
    left = reach // 2 if layer.padding == "same" else 0
    out_len = inc.length(layer.name)
    a, b = inc.clip(layer.name, max(lo - (reach - left), 0), min(hi + left, out_len))
    if a >= b:  # nothing the requested outputs need changes here
        return tf.zeros((n, 0, layer.filters), tf.float32), a, a
    x = inc.chunk(src, state, a - left, b - left + reach, n)
    y = tf.nn.convolution(x, layer.kernel, padding="VALID", dilations=d)
    if layer.use_bias:
        y = y + layer.bias
    if layer.activation is not None and layer.activation is not keras.activations.linear:
        y = layer.activation(y)
    return y, a, b


def _pool(inc, layer, state, n):
    src = inc.inputs[layer.name][0]
    _, lo, hi = state[src]
    size = layer.pool_size[0]
    if layer.strides[0] != size or inc.length(src) % size:
        raise NotImplementedError(f"layer {layer.name}: pooling must tile its input exactly")
    a, b = inc.clip(layer.name, lo // size, (hi - 1) // size + 1) if hi > lo else (lo // size, lo // size)
    if a >= b:
        return tf.zeros((n, 0, inc.ref[layer.name].shape[-1]), tf.float32), a, a
    x = inc.chunk(src, state, a * size, b * size, n)
    return tf.nn.max_pool1d(x, size, size, "VALID"), a, b


def _crop(inc, layer, state, n):
    src = inc.inputs[layer.name][0]
    p, lo, hi = state[src]
    c = layer.cropping[0]
    out_len = inc.length(layer.name)
    a, b = inc.clip(layer.name, max(lo - c, 0), min(hi - c, out_len))
    if a >= b:  # the change falls entirely in the cropped flanks, or outside what is needed
        return tf.zeros((n, 0, p.shape[-1]), p.dtype), a, a
    return p[:, a + c - lo:b + c - lo], a, b


def _merge(inc, layer, state, n):
    srcs = inc.inputs[layer.name]
    spans = [(state[s][1], state[s][2]) for s in srcs if state[s][2] > state[s][1]]
    if not spans:
        ref = inc.ref[layer.name]
        return tf.zeros((n, 0, ref.shape[-1]), ref.dtype), 0, 0
    a, b = inc.clip(layer.name, min(s for s, _ in spans), max(e for _, e in spans))
    xs = [inc.chunk(s, state, a, b, n) for s in srcs]
    if layer.__class__.__name__ == "Add":
        return tf.add_n(xs), a, b
    return tf.concat(xs, axis=-1), a, b


_RULES = {"InputLayer": None, "Activation": _elementwise, "BatchNormalization": _elementwise,
          "Dropout": _elementwise, "Dense": _elementwise, "Conv1D": _conv, "MaxPooling1D": _pool,
          "Cropping1D": _crop, "Add": _merge, "Concatenate": _merge}
