"""An inference copy of a model: each batch normalization folded into the convolution before it.

At inference a BatchNormalization layer is a fixed per-channel affine map, ``gamma * (y - mean) /
sqrt(var + eps) + beta``; after a linear Conv1D it folds into that convolution's kernel and bias, so
the copy does one pass over each activation where the original does two (Basenji's blocks are
activation -> conv -> batch norm). Dropout is the identity at inference and is left out. The copy
predicts what the original predicts up to float32 rounding (tests check 1e-5 relative); it holds its
own weights: fold again after the original's weights change.
"""
from __future__ import annotations

import keras
import numpy as np

__all__ = ["fold_batch_norm", "inbound_layers", "PRECISIONS"]

#: Dtype policies an inference copy can compute in.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def inbound_layers(layer) -> list:
    """The layers whose outputs a functional model's ``layer`` reads (its first call)."""
    node = layer._inbound_nodes[0]
    return [t._keras_history.operation for t in node.input_tensors]


def _consumers(model) -> dict:
    out: dict = {}
    for layer in model.layers[1:]:
        for src in inbound_layers(layer):
            out.setdefault(src.name, []).append(layer)
    return out


def _folded_conv(conv, bn, dtype):
    """A Conv1D with bias equal to ``bn(conv(x))`` at inference."""
    kernel = conv.kernel.numpy().astype(np.float64)
    bias = conv.bias.numpy().astype(np.float64) if conv.use_bias else np.zeros(kernel.shape[-1])
    gamma = bn.gamma.numpy().astype(np.float64) if bn.scale else np.ones(kernel.shape[-1])
    beta = bn.beta.numpy().astype(np.float64) if bn.center else np.zeros(kernel.shape[-1])
    scale = gamma / np.sqrt(bn.moving_variance.numpy().astype(np.float64) + bn.epsilon)
    cfg = conv.get_config() | {"use_bias": True, "kernel_regularizer": None, "bias_initializer": "zeros",
                               **({"dtype": dtype} if dtype else {})}
    layer = keras.layers.Conv1D.from_config(cfg)
    layer.activation = conv.activation
    return layer, [(kernel * scale).astype(np.float32),
                   ((bias - bn.moving_mean.numpy()) * scale + beta).astype(np.float32)]


def fold_batch_norm(model, *, precision: str | None = None) -> keras.Model:
    """A new functional model computing ``model(x, training=False)`` with batch norms folded.

    Parameters
    ----------
    model : keras.Model
        A functional model with one input (e.g. one head of :class:`genomodel.model.seqnn.SeqNN`).
    precision : {None, 'float32', 'mixed_bfloat16', 'mixed_float16'}
        Keras dtype policy of the copy's layers (weights stay float32; a mixed policy computes in 16
        bits, which CPUs with AVX512-BF16 and GPUs run faster, at about 1e-2 relative error); the
        output is float32 either way. None keeps each layer's own policy.

    Returns
    -------
    keras.Model
        Same input and output shapes; its layers are copies (fresh weights), named as the originals.
    """
    if precision not in PRECISIONS + (None,):
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    consumers = _consumers(model)
    first = model.layers[0]
    x_in = keras.Input(shape=tuple(model.input.shape[1:]), name=first.name)
    out = {first.name: x_in}
    pending = []  # (layer, weights) to set once the copy is built
    for layer in model.layers[1:]:
        srcs = [out[s.name] for s in inbound_layers(layer)]
        kind = layer.__class__.__name__
        if kind == "Dropout":
            out[layer.name] = srcs[0]
            continue
        if kind == "BatchNormalization" and layer.name in out:  # already folded into its convolution
            continue
        nxt = consumers.get(layer.name, [])
        if (kind == "Conv1D" and len(nxt) == 1 and nxt[0].__class__.__name__ == "BatchNormalization"
                and layer.activation is keras.activations.linear
                and np.ravel(nxt[0].axis).tolist() in ([-1], [len(layer.output.shape) - 1])):
            copy, weights = _folded_conv(layer, nxt[0], precision)
            out[nxt[0].name] = out[layer.name] = copy(*srcs)
        else:
            copy = layer.__class__.from_config(layer.get_config() | ({"dtype": precision} if precision else {}))
            if hasattr(layer, "activation"):  # a config names the function; ours may not be Keras's own
                copy.activation = layer.activation
            weights = layer.get_weights()
            out[layer.name] = copy(srcs if len(srcs) > 1 else srcs[0])
        pending.append((copy, weights))
    y = out[model.layers[-1].name]
    if y.dtype != "float32":  # a 16-bit policy: hand back float32, as the original does
        y = keras.layers.Activation("linear", dtype="float32", name="output_float32")(y)
    folded = keras.Model(x_in, y, name=f"{model.name}_folded")
    for copy, weights in pending:
        copy.set_weights(weights)
    return folded
