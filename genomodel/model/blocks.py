"""The block registry: each architecture is a list of these, named in the params file.

Blocks follow basenji's ``blocks.py`` (the implementation the published Basenji2 parameter counts
come from): convolutions are pre-activated (activation, conv, batch norm, dropout, [residual],
[max-pool]) and carry no bias when batch norm follows them. ``dilated_residual`` is the Basenji2
tower, ``dilated_dense`` the Basenji 2018 one. Keras layer blocks (``Cropping1D``) take the layer's
own arguments.

Each block is ``block(ctx, x, **params) -> y`` with ``ctx`` a :class:`~genomodel.model.layers.BuildContext`.
The model-wide ``activation``, ``norm_type`` and ``bn_momentum`` are passed to every block that takes
them, and a block's own params override them.
"""
from __future__ import annotations

import difflib
import inspect

import keras
import numpy as np

from genomodel.model.layers import BuildContext, check_activation

GLOBAL_ARGS = ("activation", "norm_type", "bn_momentum")


def conv_block(ctx: BuildContext, x, *, filters: int | None = None, kernel_size: int = 1, activation: str = "relu",
               strides: int = 1, dilation_rate: int = 1, dropout: float = 0.0, residual: bool = False,
               pool_size: int = 1, norm_type: str | None = None, bn_momentum: float = 0.99,
               bn_gamma: str | None = None, l2_scale: float = 0.0, padding: str = "same"):
    """activation -> Conv1D -> [batch norm] -> [dropout] -> [+ input] -> [max-pool].

    ``filters`` defaults to the input's channels; ``bn_gamma`` ('ones' / 'zeros') initialises the
    batch-norm scale (zeros makes a residual branch start as the identity).
    """
    filters = int(filters or x.shape[-1])
    y = ctx.activate(x, activation)
    y = keras.layers.Conv1D(filters, kernel_size, strides=strides, padding=padding, dilation_rate=dilation_rate,
                            use_bias=norm_type is None, kernel_initializer=ctx.he_normal(),
                            kernel_regularizer=keras.regularizers.L2(l2_scale) if l2_scale else None,
                            name=ctx.name("conv"))(y)
    if norm_type == "batch":
        # a residual branch starts as the identity (basenji: zero gamma when residual)
        y = keras.layers.BatchNormalization(momentum=bn_momentum,
                                            gamma_initializer=bn_gamma or ("zeros" if residual else "ones"),
                                            name=ctx.name("bn"))(y)
    if dropout > 0:
        y = keras.layers.Dropout(dropout, seed=ctx.seed(), name=ctx.name("dropout"))(y)
    if residual:
        y = keras.layers.Add(name=ctx.name("add"))([x, y])
    if pool_size > 1:
        y = keras.layers.MaxPooling1D(pool_size, padding=padding, name=ctx.name("pool"))(y)
    return y


def conv_tower(ctx: BuildContext, x, *, filters_init: int, filters_end: int | None = None,
               filters_mult: float | None = None, divisible_by: int = 1, repeat: int = 1, **conv_args):
    """``repeat`` conv_blocks whose filters grow geometrically from ``filters_init``.

    Filters are ``round(filters_init * filters_mult**i / divisible_by) * divisible_by``; without
    ``filters_mult`` the growth is set to reach ``filters_end`` at the last block.
    """
    if filters_mult is None:
        if filters_end is None or repeat < 2:
            raise ValueError("conv_tower needs filters_mult, or filters_end with repeat >= 2")
        filters_mult = np.exp(np.log(filters_end / filters_init) / (repeat - 1))
    rep_filters = float(filters_init)
    for _ in range(repeat):
        x = conv_block(ctx, x, filters=int(np.round(rep_filters / divisible_by) * divisible_by), **conv_args)
        rep_filters *= filters_mult
    return x


def dilated_residual(ctx: BuildContext, x, *, filters: int, kernel_size: int = 3, rate_mult: float = 2.0,
                     dropout: float = 0.0, repeat: int = 1, round: bool = False, **conv_args):
    """Basenji2's tower: per repeat, a dilated width-``kernel_size`` conv to ``filters``, a width-1
    conv back to the input channels (batch-norm scale starting at zero), dropout, and a residual add.
    The dilation starts at 1 and is multiplied by ``rate_mult`` (and rounded, with ``round``)."""
    rate = 1.0
    for _ in range(repeat):
        rep_input = x
        x = conv_block(ctx, x, filters=filters, kernel_size=kernel_size, dilation_rate=int(np.round(rate)),
                       bn_gamma="ones", **conv_args)
        x = conv_block(ctx, x, filters=rep_input.shape[-1], dropout=dropout, bn_gamma="zeros", **conv_args)
        x = keras.layers.Add(name=ctx.name("add"))([rep_input, x])
        rate *= rate_mult
        if round:
            rate = np.round(rate)
    return x


def dilated_dense(ctx: BuildContext, x, *, filters: int, kernel_size: int = 3, rate_mult: float = 2.0,
                  dilation_init: int = 1, dropout: float = 0.0, repeat: int = 1, **conv_args):
    """Basenji 2018's densely connected dilated tower: each dilated conv's ``filters`` outputs are
    concatenated to its input, so later layers see every earlier one."""
    rate = float(dilation_init)
    for _ in range(repeat):
        y = conv_block(ctx, x, filters=filters, kernel_size=kernel_size, dilation_rate=int(np.round(rate)),
                       dropout=dropout, **conv_args)
        x = keras.layers.Concatenate(name=ctx.name("concat"))([x, y])
        rate *= rate_mult
    return x


def cropping_1d(ctx: BuildContext, x, *, cropping):
    """Crop ``cropping`` bins from each end (or a (left, right) pair)."""
    return keras.layers.Cropping1D(cropping=tuple(cropping) if isinstance(cropping, (list, tuple)) else cropping,
                                   name=ctx.name("crop"))(x)


def final(ctx: BuildContext, x, *, units: int, activation: str = "linear", l2_scale: float = 0.0):
    """Dense layer over channels at every bin, with its output activation (softplus for counts)."""
    check_activation(activation, "final block")
    y = keras.layers.Dense(units, kernel_initializer=ctx.he_normal(), name=ctx.name("dense"),
                           kernel_regularizer=keras.regularizers.L2(l2_scale) if l2_scale else None)(x)
    return ctx.activate(y, activation)


BLOCKS = {
    "conv_block": conv_block,
    "conv_tower": conv_tower,
    "dilated_residual": dilated_residual,
    "dilated_dense": dilated_dense,
    "Cropping1D": cropping_1d,
    "final": final,
}
# blocks that pass unnamed keyword arguments on to conv_block, and the conv_block arguments they set themselves
_PASSES_TO_CONV = {"conv_tower": ("filters",),
                   "dilated_residual": ("filters", "dilation_rate", "bn_gamma"),
                   "dilated_dense": ("filters", "dilation_rate")}


def _arg_names(func) -> list:
    return [p.name for p in list(inspect.signature(func).parameters.values())[2:] if p.kind == p.KEYWORD_ONLY]


def block_args(name: str) -> list:
    """The arguments block ``name`` accepts."""
    names = _arg_names(BLOCKS[name])
    if name in _PASSES_TO_CONV:
        names += [a for a in _arg_names(conv_block) if a not in names and a not in _PASSES_TO_CONV[name]]
    return names


def check_block(block: dict, *, where: str) -> None:
    """Raise ``KeyError`` for an unknown block name or argument, naming it and where it is."""
    name = block.get("name")
    if name not in BLOCKS:
        close = difflib.get_close_matches(str(name), list(BLOCKS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; blocks: {sorted(BLOCKS)}"
        raise KeyError(f"unknown block {name!r} at {where}{hint}")
    valid = block_args(name)
    for key in block:
        if key != "name" and key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; {name} takes {valid}"
            raise KeyError(f"unknown {name} argument {key!r} at {where}{hint}")
    if "activation" in block:
        check_activation(block["activation"], where)


def apply_block(ctx: BuildContext, x, block: dict, global_args: dict):
    """Apply one block dict, with the model-wide arguments it accepts."""
    name = block["name"]
    valid = block_args(name)
    # the output layer keeps its own activation (linear unless given): a model-wide GELU on counts
    # would allow negative rates
    args = {k: v for k, v in global_args.items() if k in valid and name != "final"}
    args.update({k: v for k, v in block.items() if k != "name"})
    return BLOCKS[name](ctx, x, **args)
