"""Build, save and load sequence models: a shared trunk and one head per genome.

``build_model(model_config, seed=...)`` returns a :class:`SeqNN` holding the trunk, one Keras model
per genome (one-hot DNA ``(batch, seq_length, 4)`` -> ``(batch, target_length, units)``) and a
combined model with every head, which is what weight files hold. A saved model is a folder with
``params.json`` (the architecture, as data) and ``model.weights.h5``: loading rebuilds the
architecture from the params and then reads the weights by layer name, so a model never depends
on pickled Python code.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from genocore.files import write_text
from genomodel.config import ModelConfig, Params, params_from_dict, params_to_dict
from genomodel.model.blocks import GLOBAL_ARGS, apply_block
from genomodel.model.layers import BuildContext

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.weights.h5"
PARAMS_FILE = "params.json"


@dataclass
class SeqNN:
    """A built model.

    Attributes
    ----------
    config : ModelConfig
    trunk : keras.Model
        DNA -> trunk embedding ``(batch, target_length, channels)``.
    models : dict of str -> keras.Model
        One per genome head, sharing the trunk's layers.
    combined : keras.Model
        Every head as one model with one output per genome (what weight files hold).
    """

    config: ModelConfig
    trunk: keras.Model
    models: dict
    combined: keras.Model
    block_outputs: list = None  # (block name, KerasTensor) after each trunk block

    def tower_output(self):
        """The bin representation after the convolution tower, before the first dilated block
        (Basenji's saliency layer); the trunk's last block output when there is no dilated block."""
        for i, (name, _) in enumerate(self.block_outputs):
            if name.startswith("dilated") and i > 0:
                return self.block_outputs[i - 1][1]
        return self.block_outputs[-1][1]

    @property
    def genomes(self) -> tuple:
        return tuple(self.models)

    def model(self, genome: str | None = None) -> keras.Model:
        """The model of ``genome`` (the only one when there is a single head)."""
        if genome is None:
            if len(self.models) != 1:
                raise ValueError(f"the model has heads {list(self.models)}; name the genome")
            return next(iter(self.models.values()))
        if genome not in self.models:
            raise KeyError(f"no head for genome {genome!r}; the model has {list(self.models)}")
        return self.models[genome]

    @property
    def target_length(self) -> int:
        return int(self.trunk.output.shape[1])

    def count_params(self) -> tuple[int, int]:
        """(total, trainable) parameter counts over the trunk and every head."""
        total = self.combined.count_params()
        trainable = sum(int(keras.ops.size(w)) for w in self.combined.trainable_weights)
        return total, trainable


def build_model(cfg: ModelConfig, *, seed: int = 0) -> SeqNN:
    """Build the trunk and heads of ``cfg``; the same seed gives the same initial weights."""
    ctx = BuildContext(seed)
    sequence = keras.Input(shape=(cfg.seq_length, 4), name="sequence")
    global_args = {"activation": cfg.activation, "norm_type": cfg.norm_type, "bn_momentum": cfg.bn_momentum}
    assert set(global_args) == set(GLOBAL_ARGS)
    x = sequence
    block_outputs = []
    for block in cfg.trunk:
        x = apply_block(ctx, x, block, global_args)
        block_outputs.append((block["name"], x))
    # basenji activates the trunk output once more before the heads
    x = ctx.activate(x, cfg.activation)
    trunk = keras.Model(sequence, x, name="trunk")
    outputs = {}
    for genome, blocks in cfg.heads.items():
        y = x
        for block in blocks:
            y = apply_block(ctx, y, block, global_args)
        outputs[genome] = y
    models = {g: keras.Model(sequence, y, name=f"seqnn_{g}") for g, y in outputs.items()}
    combined = keras.Model(sequence, list(outputs.values()), name="seqnn")
    out_len = int(x.shape[1])
    if cfg.target_length is not None and out_len != cfg.target_length:
        # basenji's target_length is the length before any cropping; log both to avoid confusion
        logger.debug("model target_length %d (params), %d bins after cropping", cfg.target_length, out_len)
    return SeqNN(config=cfg, trunk=trunk, models=models, combined=combined, block_outputs=block_outputs)


def save_model(seqnn: SeqNN, params: Params, out_dir, *, extra: dict | None = None) -> Path:
    """Write ``params.json`` and ``model.weights.h5`` into ``out_dir`` (each atomically).

    ``extra`` (e.g. provenance, target ids) is stored in ``params.json`` under ``"info"``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Keras insists on the .weights.h5 suffix, so the temp name keeps it
    tmp = out_dir / f".{os.getpid()}.tmp.weights.h5"
    try:
        seqnn.combined.save_weights(str(tmp))
        os.replace(tmp, out_dir / WEIGHTS_FILE)
    finally:
        if tmp.exists():
            tmp.unlink()
    doc = params_to_dict(params)
    if extra:
        doc["info"] = extra
    write_text(out_dir / PARAMS_FILE, json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return out_dir


def load_model(model_dir, *, seq_length: int | None = None) -> tuple[SeqNN, Params, dict]:
    """Rebuild a saved model from its ``params.json`` and load its weights.

    Parameters
    ----------
    model_dir : path
        A folder written by :func:`save_model`.
    seq_length : int, optional
        Build for another input length (fully convolutional trunks only).

    Returns
    -------
    seqnn, params, info
    """
    model_dir = Path(model_dir)
    pfile, wfile = model_dir / PARAMS_FILE, model_dir / WEIGHTS_FILE
    for f in (pfile, wfile):
        if not f.exists():
            raise FileNotFoundError(f"{f} is missing: {model_dir} is not a saved model folder "
                                    f"(it needs {PARAMS_FILE} and {WEIGHTS_FILE}, as written by 'genomodel train')")
    doc = json.loads(pfile.read_text())
    info = doc.pop("info", {})
    params = params_from_dict(doc, where=str(pfile))
    cfg = params.model
    if seq_length is not None and seq_length != cfg.seq_length:
        from dataclasses import replace

        cfg = replace(cfg, seq_length=seq_length)
    seqnn = build_model(cfg)
    try:
        seqnn.combined.load_weights(str(wfile))
    except ValueError as err:
        raise ValueError(f"{wfile} does not fit the architecture in {pfile}: {err}") from None
    return seqnn, params, info


def init_from_model(seqnn: SeqNN, model_dir) -> int:
    """Start a built model from a saved model's weights, layer by layer name (e.g. a published trunk
    written by ``genomodel import-weights --trunk-only``, with the head the params define).

    Returns
    -------
    int
        Number of layers whose weights were set.

    Raises
    ------
    ValueError
        Naming the first layer the saved model lacks or whose shapes differ.
    """
    source, _, _ = load_model(model_dir)
    same = {"gelu": "gelu_sigmoid"}  # two names of one function
    if same.get(source.config.activation, source.config.activation) != same.get(seqnn.config.activation,
                                                                                 seqnn.config.activation):
        # same weights under another activation (e.g. the two GELU forms) would predict something else
        raise ValueError(f"{model_dir} was built with activation {source.config.activation!r}, this model with "
                         f"{seqnn.config.activation!r}; use the same activation (gelu_tanh / gelu_sigmoid)")
    theirs = {layer.name: layer for layer in source.combined.layers if layer.weights}
    n = 0
    for layer in seqnn.combined.layers:
        if not layer.weights:
            continue
        src = theirs.get(layer.name)
        want = [tuple(w.shape) for w in layer.weights]
        found = None if src is None else [tuple(w.shape) for w in src.weights]
        if found != want:
            raise ValueError(f"{model_dir}: layer {layer.name!r} " + ("is missing" if src is None else
                             f"has weights {found}, the model expects {want}") + "; initialise from a model "
                             "built from the same params")
        layer.set_weights(src.get_weights())
        n += 1
    return n


@dataclass(frozen=True)
class Head:
    """One genome's head of a saved model, with the names of its outputs.

    Attributes
    ----------
    seqnn : SeqNN
    params : Params
    info : dict
        The ``info`` of ``params.json`` (targets and data statistics per head).
    genome : str
        The head's name.
    model : keras.Model
        DNA ``(batch, seq_length, 4)`` -> ``(batch, target_length, n_targets)``.
    target_ids : list of str, length n_targets
        ``t0, t1, ...`` when the model does not name its outputs.
    target_labels : list of str or None
        Target descriptions (``"CAGE:liver"``), when known.
    strand_pair : ndarray of int, shape (n_targets,), or None
        Opposite-strand partner of each target, when known.
    model_dir : Path
    precision, xla : str, bool
        How ``model`` computes (:func:`load_head`); chunked scoring loads the same on each worker.
    """

    seqnn: SeqNN
    params: Params
    info: dict
    genome: str
    model: keras.Model
    target_ids: list
    target_labels: list | None
    strand_pair: np.ndarray | None
    model_dir: Path
    precision: str = "float32"
    xla: bool = False

    @property
    def weights(self) -> Path:
        """The weight file (its SHA-256 identifies the model in provenance records)."""
        return self.model_dir / WEIGHTS_FILE

    @property
    def genome_build(self) -> str | None:
        """Genome build of the records the head was trained on, when they recorded one."""
        return (self.info.get("data", {}).get(self.genome) or {}).get("genome_build")


def load_head(model_dir, *, genome: str | None = None, fold: bool = True, precision: str = "float32",
              xla: bool = False) -> Head:
    """Load a saved model and pick one head: ``genome``, or the only one.

    With ``fold`` (default) ``Head.model`` is the inference copy of the head with each batch norm
    folded into its convolution (:func:`genomodel.model.fold.fold_batch_norm`: the same predictions to
    float32 rounding, fewer layers for the incremental variant and ISM paths); ``Head.seqnn`` keeps
    the model as trained. ``precision`` other than float32 (``mixed_bfloat16``, ``mixed_float16``)
    makes that copy compute in 16 bits. ``xla`` compiles full forward passes with XLA
    (:func:`genomodel.predict.compile_inference`).

    Raises
    ------
    ValueError
        No ``genome`` given for a model with several heads.
    """
    seqnn, params, info = load_model(model_dir)
    genome = genome or (params.genomes[0] if len(params.genomes) == 1 else None)
    if genome is None:
        raise ValueError(f"the model has heads {list(params.genomes)}: choose one with --genome")
    model = seqnn.model(genome)
    if fold or precision != "float32":
        from genomodel.model.fold import fold_batch_norm

        model = fold_batch_norm(model, precision=precision)
    if xla:
        from genomodel.predict import compile_inference

        compile_inference(model, xla=True)
    tinfo = info.get("targets", {}).get(genome, {})
    ids = tinfo.get("identifier") or [f"t{i}" for i in range(int(model.output.shape[-1]))]
    pair = np.array(tinfo["strand_pair"]) if "strand_pair" in tinfo else None
    return Head(seqnn=seqnn, params=params, info=info, genome=genome, model=model, target_ids=list(ids),
                target_labels=tinfo.get("description"), strand_pair=pair, model_dir=Path(model_dir),
                precision=precision, xla=bool(xla))
