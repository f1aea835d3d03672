"""Weights from basenji's and baskerville's Keras 2 HDF5 files into a model built here.

basenji and baskerville save a model as the whole Keras 2 model in HDF5 (``SeqNN.save``; the
published ``model_human.h5`` and ``model_mouse.h5`` are such files) and load one by rebuilding the
network from its params and reading the weights back. The same is done here with h5py, without
Keras 2: the file's weighted layers (Conv1D kernels and biases; BatchNormalization gamma, beta,
moving mean and moving variance; Dense kernels and biases) are matched by order onto the weighted
layers of a model built from the same params, each checked by shape.

What the file cannot say is which GELU the network was trained with; basenji's ``gelu`` was the
sigmoid approximation until April 2022 (Basenji2's published weights) and Keras's tanh approximation
after, which is baskerville's ``gelu``. :func:`with_gelu` rewrites a params dict to name one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

GELU_FORMS = {"sigmoid": "gelu_sigmoid", "tanh": "gelu_tanh"}


def with_gelu(params: dict, form: str) -> dict:
    """A copy of a params dict whose every ``"activation": "gelu"`` names ``form`` ('sigmoid' or 'tanh')."""
    if form not in GELU_FORMS:
        raise ValueError(f"GELU form {form!r} is not one of {sorted(GELU_FORMS)}")
    if isinstance(params, dict):
        return {k: GELU_FORMS[form] if k == "activation" and v == "gelu" else with_gelu(v, form)
                for k, v in params.items()}
    if isinstance(params, list):
        return [with_gelu(v, form) for v in params]
    return params


def gelu_form_of_h5(path) -> str | None:
    """The GELU form a whole-model Keras 2 file was built with, from its saved model config: basenji's
    sigmoid-form ``GELU`` layer (2019 - April 2022) gives 'sigmoid', ``tf.nn.gelu(approximate=True)``
    (basenji since, baskerville) 'tanh'; None when the file has no GELU or no model config (weights only).

    Raises
    ------
    ValueError
        For the exact (erf) GELU, which basenji never used and this suite does not build.
    """
    import json

    import h5py

    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            return None
        config = json.loads(_text(f.attrs["model_config"]))
    forms = set()
    for layer in config.get("config", {}).get("layers", []):
        if layer.get("class_name") == "GELU":
            forms.add("sigmoid")
        elif layer.get("class_name") == "TFOpLambda" and layer.get("config", {}).get("function") == "nn.gelu":
            # the call's keyword arguments sit in the inbound nodes (nested one level deeper or not)
            kwargs = list(_dicts(layer.get("inbound_nodes", [])))
            if not kwargs or not all(k.get("approximate", False) for k in kwargs):
                raise ValueError(f"{path}: the model uses the exact (erf) GELU, which basenji never used; "
                                 "only the sigmoid and tanh forms are supported")
            forms.add("tanh")
    if len(forms) > 1:
        raise ValueError(f"{path}: the model mixes GELU forms {sorted(forms)}")
    return forms.pop() if forms else None


def _dicts(x):
    if isinstance(x, dict):
        yield x
    elif isinstance(x, list):
        for v in x:
            yield from _dicts(v)


def _text(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def read_keras2_h5(path) -> list[tuple[str, list[np.ndarray]]]:
    """The weighted layers of a Keras 2 HDF5 file (whole model or weights only), in the file's order.

    Returns
    -------
    list of (layer name, list of ndarray)
        Each layer's weights in Keras's order (kernel, bias; gamma, beta, moving mean, moving variance).
    """
    import h5py

    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise ValueError(f"{path}: not a Keras 2 HDF5 model or weights file (no layer_names); files written "
                             "by Keras 3 (.weights.h5, .keras) load with genomodel's own model folders")
        out = []
        for name in map(_text, group.attrs["layer_names"]):
            names = [_text(w) for w in group[name].attrs.get("weight_names", [])]
            if names:
                out.append((name, [np.asarray(group[name][w]) for w in names]))
    return out


def import_keras2_h5(seqnn, path, *, genome: str | None = None, trunk_only: bool = False) -> int:
    """Set a built model's weights from a basenji / baskerville Keras 2 HDF5 file.

    Parameters
    ----------
    seqnn : genomodel.model.seqnn.SeqNN
        Built from the same params as the file's model (the activation named as it was trained).
    path : path-like
    genome : str, optional
        The head to fill (the only one when there is one).
    trunk_only : bool
        Fill the trunk only, from the file's first layers, and leave the heads as built (transfer
        learning: a new head on a published trunk).

    Returns
    -------
    int
        Number of layers whose weights were set.

    Raises
    ------
    ValueError
        Naming the first layer that does not fit (its shapes in the file and in the model), or the
        layer counts when they differ.
    """
    theirs = read_keras2_h5(path)
    model = seqnn.trunk if trunk_only else seqnn.model(genome)
    ours = [layer for layer in model.layers if layer.weights]
    if len(theirs) < len(ours) or (not trunk_only and len(theirs) != len(ours)):
        raise ValueError(f"{path}: {len(theirs)} weighted layers in the file, {len(ours)} in the "
                         f"{'trunk' if trunk_only else 'model'}; build the model from the params the file was "
                         "trained with" + ("" if trunk_only else " (or import the trunk only)"))
    n_trunk = sum(1 for layer in seqnn.trunk.layers if layer.weights)
    for i, (layer, (name, arrays)) in enumerate(zip(ours, theirs)):
        expected = [tuple(w.shape) for w in layer.weights]
        found = [tuple(a.shape) for a in arrays]
        if expected != found:
            hint = "; the trunk fits: a new head? import the trunk only" if i >= n_trunk else ""
            raise ValueError(f"{Path(path)}: weighted layer {i + 1} does not fit: {name!r} in the file has weights "
                             f"{found}, the model's {layer.name!r} expects {expected}{hint}")
    for layer, (_, arrays) in zip(ours, theirs):
        layer.set_weights(arrays)
    return len(ours)
