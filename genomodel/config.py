"""Model and training configuration: basenji-style params JSON -> frozen dataclasses.

A params file has two sections, as in basenji and baskerville::

    {"train": {"batch_size": 4, "optimizer": "sgd", "learning_rate": 0.15, ...},
     "model": {"seq_length": 131072, "target_length": 1024, "activation": "gelu",
               "norm_type": "batch", "bn_momentum": 0.9,
               "trunk": [{"name": "conv_block", ...}, ...],
               "head_human": {"name": "final", "units": 5313, "activation": "softplus"}}}

Every key is checked: an unknown key in ``train`` or ``model``, an unknown block name, or an
unknown argument of a block raises an error that names the key, where it is, and the closest valid
spelling. Block arguments are checked later, against the block's signature, by
:func:`genomodel.model.blocks.check_block`.

The Basenji 2018 text format (``genome_research2018_params.txt``: ``key<TAB>value`` lines with one
``cnn_*`` group per layer) is converted by :func:`from_basenji2018_text`.
"""
from __future__ import annotations

import difflib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from genocore import config as cfgmod

logger = logging.getLogger(__name__)

PARAMS_DIR = Path(__file__).resolve().parent / "params"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (the ``train`` section).

    ``warmup`` is the number of optimizer steps of linear learning-rate warm-up; ``patience`` is in
    epochs of no improvement of the validation loss; ``clip_norm`` clips the global gradient norm.
    ``augment_shift`` is the largest random shift in bp (shifts are drawn from -s..s). ``ema_decay`` > 0
    keeps an exponential moving average of the weights (updated after every step), which is what is
    validated, kept as the best model and saved; 0 uses the raw weights. ``ema_norm_stats`` averages the
    batch-norm moving statistics at the same rate, so that they match the averaged weights. ``loss`` is ``poisson``, ``mse``
    or ``poisson_multinomial``: per bin, a Poisson term on each assay's total over its tracks (weighted by
    ``total_weight``) plus the multinomial likelihood of how that total splits between the assay's tracks
    (cell types); ``total_weight`` 1 is the Poisson loss exactly, smaller weights stress which cell type
    carries a signal (Borzoi's loss of the same name splits over positions; this one over tracks).
    ``xla`` compiles the training step with XLA (faster for Basenji2-size models on this CPU, slower
    for small ones: benchmarks/RESULTS.md).
    """

    batch_size: int = 4
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    momentum: float = 0.99
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    clip_norm: float | None = None
    patience: int = 20
    warmup: int = 0
    loss: str = "poisson"
    total_weight: float = 0.2
    train_epochs_min: int = 1
    train_epochs_max: int = 1000
    steps_per_epoch: int | None = None
    augment_rc: bool = True
    augment_shift: int = 3
    fine_tune_epochs: int = 0
    ema_decay: float = 0.0
    ema_norm_stats: bool = False
    xla: bool = False
    seed: int = 1

    def __post_init__(self):
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"train.optimizer must be 'sgd' or 'adam', not {self.optimizer!r}")
        if self.loss not in ("poisson", "mse", "poisson_multinomial"):
            raise ValueError(f"train.loss must be 'poisson', 'mse' or 'poisson_multinomial', not {self.loss!r}")
        if not 0 < self.total_weight <= 1:
            raise ValueError(f"train.total_weight must be in (0, 1], not {self.total_weight}")
        if self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError("train.batch_size must be >= 1 and train.learning_rate > 0")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"train.ema_decay must be in [0, 1), not {self.ema_decay}")
        if not 0 <= self.augment_shift < 64:
            raise ValueError(f"train.augment_shift must be in [0, 64), not {self.augment_shift}")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture (the ``model`` section): a trunk of named blocks shared by one head per genome.

    ``trunk`` is a tuple of block dicts (each with ``name``); ``heads`` maps a genome name to its
    tuple of block dicts. ``activation``, ``norm_type`` and ``bn_momentum`` are passed to every block
    that takes them, as basenji does.
    """

    seq_length: int
    target_length: int | None = None
    activation: str = "relu"
    norm_type: str | None = None
    bn_momentum: float = 0.99
    trunk: tuple = ()
    heads: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.norm_type not in (None, "batch"):
            raise ValueError(f"model.norm_type must be 'batch' or null, not {self.norm_type!r}")
        if not self.heads:
            raise ValueError("model has no head: add a 'head_<genome>' entry, e.g. "
                             "\"head_human\": {\"name\": \"final\", \"units\": 5313, \"activation\": \"softplus\"}")
        for name, blocks in [("trunk", self.trunk)] + [(f"head_{g}", h) for g, h in self.heads.items()]:
            for i, b in enumerate(blocks):
                if not isinstance(b, dict) or "name" not in b:
                    raise ValueError(f"model.{name}[{i}] must be an object with a 'name' key, got {b!r}")


@dataclass(frozen=True)
class Params:
    """A whole params file."""

    model: ModelConfig
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def genomes(self) -> tuple:
        return tuple(self.model.heads)


def _blocks(value, where: str) -> tuple:
    """A head or trunk as a tuple of plain dicts (a single dict is one block)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where} must be a list of blocks or one block, not {type(value).__name__}")
    return tuple(dict(b) if isinstance(b, dict) else b for b in value)


def model_from_dict(values: dict, *, where: str = "model") -> ModelConfig:
    """ModelConfig from the ``model`` section; ``head`` / ``head_<genome>`` keys become heads."""
    values = dict(values)
    heads = {}
    for key in [k for k in values if k == "head" or k.startswith("head_")]:
        genome = key[5:] or "default"
        heads[genome] = _blocks(values.pop(key), f"{where}.{key}")
    if "heads" in values:
        raise KeyError(f"unknown ModelConfig key 'heads' in {where}; write one 'head_<genome>' entry per genome")
    if "trunk" in values:
        values["trunk"] = _blocks(values["trunk"], f"{where}.trunk")
    values["heads"] = heads
    cfg = cfgmod.from_dict(ModelConfig, values, where=where)
    from genomodel.model.blocks import check_block  # late: blocks imports keras

    for i, b in enumerate(cfg.trunk):
        check_block(b, where=f"{where}.trunk[{i}]")
    for g, blocks in cfg.heads.items():
        for i, b in enumerate(blocks):
            check_block(b, where=f"{where}.head_{g}[{i}]")
    return cfg


def _thaw(value):
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    return value


def params_from_dict(values: dict, *, where: str = "params") -> Params:
    """Params from a parsed params JSON; unknown sections or keys raise ``KeyError``."""
    unknown = set(values) - {"model", "train"}
    if unknown:
        key = sorted(unknown)[0]
        close = difflib.get_close_matches(key, ["model", "train"], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; a params file has 'model' and 'train' sections"
        raise KeyError(f"unknown params section {key!r} in {where}{hint}")
    if "model" not in values:
        raise KeyError(f"{where} has no 'model' section")
    model = model_from_dict(values["model"], where=f"{where}: model")
    train = cfgmod.from_dict(TrainConfig, values.get("train", {}), where=f"{where}: train")
    return Params(model=model, train=train)


def read_params(path) -> Params:
    """Read a params file: basenji-style JSON, or the Basenji 2018 ``key<TAB>value`` text format.

    A bare name such as ``"basenji2_human"`` reads the params file of that name shipped in the package.
    """
    p = Path(path)
    if not p.is_file() and (PARAMS_DIR / f"{path}.json").exists():
        p = PARAMS_DIR / f"{path}.json"
    if not p.is_file():
        shipped = sorted(q.stem for q in PARAMS_DIR.glob("*.json"))
        raise FileNotFoundError(f"params file {path} does not exist (shipped params: {', '.join(shipped)})")
    text = p.read_text()
    if text.lstrip().startswith("{"):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{p}: not valid JSON ({err})") from None
        return params_from_dict(values, where=str(p))
    return from_basenji2018_text(text, where=str(p))


def params_to_dict(params: Params) -> dict:
    """The params as a basenji-style JSON dict (round-trips through :func:`params_from_dict`)."""
    m = params.model
    model = {"seq_length": m.seq_length, "target_length": m.target_length, "activation": m.activation,
             "norm_type": m.norm_type, "bn_momentum": m.bn_momentum, "trunk": _thaw(m.trunk)}
    for g, blocks in m.heads.items():
        model[f"head_{g}"] = _thaw(blocks)
    return {"train": cfgmod.to_dict(params.train), "model": model}


# Basenji 2018 (TF1) text params -------------------------------------------------------------

_TRAIN_2018 = {"batch_size": ("batch_size", int), "learning_rate": ("learning_rate", float),
               "adam_beta1": ("adam_beta1", float), "adam_beta2": ("adam_beta2", float),
               "loss": ("loss", str)}
_IGNORED_2018 = {"batch_buffer", "link", "num_targets", "seq_length", "target_pool", "optimizer",
                 "momentum", "cnn_l2_scale", "cnn_batch_norm", "batch_renorm", "full_units", "full_dropout",
                 "target_space", "ensemble_rc", "ensemble_shifts", "augment_rc", "augment_shifts"}
_LAYER_KEYS = ("cnn_filter_sizes", "cnn_filters", "cnn_pool", "cnn_dilation", "cnn_dropout", "cnn_dense")


def from_basenji2018_text(text: str, *, where: str = "params") -> Params:
    """Convert the Basenji 2018 text params to blocks.

    Each ``cnn_*`` group is one layer. Plain layers become ``conv_block``s; a run of layers with
    ``cnn_dense 1`` whose dilation doubles becomes one ``dilated_dense`` block (each layer's output
    concatenated to its input, as in the 2018 model). The output is a softplus ``final`` head with
    ``num_targets`` units (2018's ``exp_linear`` link is kept as the head activation when asked for).
    """
    scalars, layers = {}, []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"{where} line {lineno}: expected 'key value', got {raw!r}")
        key, val = parts
        if key in _LAYER_KEYS:
            if key == "cnn_filter_sizes":
                layers.append({})
            if not layers:
                raise ValueError(f"{where} line {lineno}: {key} before the first cnn_filter_sizes")
            layers[-1][key] = float(val) if key == "cnn_dropout" else int(val)
        elif key in _TRAIN_2018 or key in _IGNORED_2018:
            scalars[key] = val
        else:
            known = list(_LAYER_KEYS) + list(_TRAIN_2018) + sorted(_IGNORED_2018)
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"unknown Basenji 2018 params key {key!r} in {where} line {lineno}{hint}")
    for k in ("seq_length", "num_targets"):
        if k not in scalars:
            raise KeyError(f"{where} lacks {k!r}")
    trunk, i = [], 0
    while i < len(layers):
        lay = layers[i]
        if lay.get("cnn_dense", 0):
            run = [lay]
            while (i + len(run) < len(layers) and layers[i + len(run)].get("cnn_dense", 0)
                   and layers[i + len(run)]["cnn_filters"] == lay["cnn_filters"]):
                run.append(layers[i + len(run)])
            rates = [r.get("cnn_dilation", 1) for r in run]
            mult = rates[1] / rates[0] if len(rates) > 1 else 2
            trunk.append({"name": "dilated_dense", "filters": lay["cnn_filters"],
                          "kernel_size": lay["cnn_filter_sizes"], "dilation_init": rates[0],
                          "rate_mult": mult, "repeat": len(run), "dropout": lay.get("cnn_dropout", 0.0)})
            i += len(run)
            continue
        block = {"name": "conv_block", "filters": lay["cnn_filters"], "kernel_size": lay["cnn_filter_sizes"]}
        if lay.get("cnn_pool", 1) > 1:
            block["pool_size"] = lay["cnn_pool"]
        if lay.get("cnn_dilation", 1) > 1:
            block["dilation_rate"] = lay["cnn_dilation"]
        if lay.get("cnn_dropout", 0):
            block["dropout"] = lay["cnn_dropout"]
        trunk.append(block)
        i += 1
    head_act = "exp_linear" if scalars.get("link") == "exp_linear" else "softplus"
    model = {"seq_length": int(scalars["seq_length"]), "activation": "relu", "norm_type": "batch",
             "bn_momentum": 0.9, "trunk": trunk,
             "head": {"name": "final", "units": int(scalars["num_targets"]), "activation": head_act}}
    train = {}
    for k, (name, conv) in _TRAIN_2018.items():
        if k in scalars:
            train[name] = conv(scalars[k])
    if "adam_beta1" in scalars:
        train["optimizer"] = "adam"
    return params_from_dict({"model": model, "train": train}, where=where)
