"""Activations as basenji defines them, and the build context that names layers and seeds them.

Every layer gets an explicit, deterministic name (``conv_3``, ``bn_3``, ...) so that weight files map
onto a rebuilt model by name, whatever else was built in the process before it; every initializer
and dropout layer gets a seed from the context, so the same seed builds the same weights without
touching global random state.
"""
from __future__ import annotations

import keras
from keras import ops


def gelu(x):
    """GELU as basenji computed it from 2019 until April 2022, when Basenji2 was trained: the sigmoid
    approximation ``x * sigmoid(1.702 x)`` (also named ``gelu_sigmoid``)."""
    return x * ops.sigmoid(1.702 * x)


def gelu_tanh(x):
    """GELU as basenji (since April 2022) and baskerville compute it: Keras's tanh approximation
    ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))``; models saved by baskerville as ``gelu`` use it."""
    return keras.activations.gelu(x, approximate=True)


def exp_linear(x):
    """Basenji 2018's output link: ``exp(x)`` below 0, ``x + 1`` above (smooth, positive)."""
    return ops.where(x > 0, x + 1.0, ops.exp(ops.minimum(x, 0.0)))


ACTIVATIONS = {
    "relu": ops.relu,
    "gelu": gelu,
    "gelu_sigmoid": gelu,
    "gelu_tanh": gelu_tanh,
    "softplus": ops.softplus,
    "sigmoid": ops.sigmoid,
    "exp": ops.exp,
    "exp_linear": exp_linear,
    "linear": None,
}


def check_activation(name: str, where: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"{where}: unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")


class BuildContext:
    """Names and seeds for the layers of one model."""

    def __init__(self, seed: int = 0):
        self._seed = int(seed)
        self._counts: dict[str, int] = {}
        self._n_seeds = 0

    def name(self, prefix: str) -> str:
        i = self._counts.get(prefix, 0)
        self._counts[prefix] = i + 1
        return f"{prefix}_{i}"

    def seed(self) -> int:
        self._n_seeds += 1
        # distinct, reproducible 31-bit seeds per layer
        return (self._seed * 1_000_003 + self._n_seeds * 7919) % (2**31 - 1)

    def activate(self, x, activation: str):
        """Apply a named activation (``linear`` or None is the identity)."""
        if activation in (None, "linear"):
            return x
        check_activation(activation, "activation")
        return keras.layers.Activation(ACTIVATIONS[activation], name=self.name(f"act_{activation}"))(x)

    def he_normal(self):
        return keras.initializers.HeNormal(seed=self.seed())
