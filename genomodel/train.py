"""Training: Poisson (or MSE) loss, SGD/Adam with warm-up and clipping, early stopping, resume.

One :class:`Trainer` fits a :class:`~genomodel.model.seqnn.SeqNN` on one or several genomes' record
folders (``genomodel data`` output, or basenji/baskerville records). With several genomes each step
draws its batch from one genome, chosen at random in proportion to its number of training
sequences, and trains the shared trunk plus that genome's head (Basenji2's joint training).

Each epoch ends with a validation pass; the best weights (lowest validation loss, averaged over
genomes by sequence count) are saved to ``out_dir/model`` and restored at the end, and training stops
after ``patience`` epochs without improvement. With ``ema_decay`` an exponential moving average of the
weights is what is validated and kept (Polyak averaging: a smoother, usually better model than the
last step's weights for the same number of steps). After every epoch a checkpoint (weights, their
average, optimizer state, epoch and early-stopping state) is written, so a killed run resumes where it stopped and,
the data order being a function of (seed, epoch), continues as if never stopped. The loss history is
``out_dir/train_log.csv``.

Augmentation follows basenji: per batch, a random shift of the sequence by -s..s bp (zero-padded;
targets unchanged) and, with probability 1/2, the reverse complement of the sequence with the
targets reversed along the bins and stranded tracks swapped with their ``strand_pair``.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf
import keras

from genocore import provenance
from genocore.files import write_table
from genomodel.config import Params, TrainConfig
from genomodel.io import tfrecord
from genomodel.model.seqnn import SeqNN, build_model, save_model

logger = logging.getLogger(__name__)


@dataclass
class GenomeData:
    """The records of one genome.

    Attributes
    ----------
    name : str
        Head name (``human`` for ``head_human``).
    data_dir : Path
        Folder with ``statistics.json``, ``tfrecords/`` and ``targets.txt``.
    strand_pair : ndarray of int, shape (n_targets,)
        Index of each track's opposite-strand partner (itself when unstranded).
    """

    name: str
    data_dir: Path
    stats: dict = field(default_factory=dict)
    strand_pair: np.ndarray | None = None

    @classmethod
    def open(cls, name: str, data_dir, *, seq_length: int | None = None,
             target_length: int | None = None) -> "GenomeData":
        """Open a records folder; one without ``statistics.json`` (basenji's older folders) has its
        statistics inferred from the records, with ``seq_length`` and ``target_length`` (the model's
        input length and output bins) settling what the records cannot."""
        data_dir = Path(data_dir)
        if (data_dir / "statistics.json").is_file():
            stats = tfrecord.read_statistics(data_dir)
        else:
            stats = tfrecord.infer_statistics(data_dir, seq_length=seq_length, target_length=target_length)
        n = int(stats["num_targets"])
        pair = np.arange(n)
        tfile = data_dir / "targets.txt"
        if tfile.exists():
            from genomodel.data import strand_pair_positions

            pair = strand_pair_positions(tfile)
            if len(pair) != n:
                raise ValueError(f"{tfile} lists {len(pair)} targets but {data_dir}/statistics.json says {n}")
        return cls(name=name, data_dir=data_dir, stats=stats, strand_pair=pair)

    def n(self, split: str) -> int:
        return int(self.stats.get(f"{split}_seqs", 0))


def targets_info(data_dir) -> dict:
    """Identifiers, descriptions and strand-pair positions of a records folder's ``targets.txt``
    (stored with a trained model so that its outputs keep their names)."""
    from genomodel.data import strand_pair_positions

    tfile = Path(data_dir) / "targets.txt"
    if not tfile.exists():
        return {}
    t = pd.read_csv(tfile, sep="\t")
    return {"identifier": t["identifier"].astype(str).tolist(),
            "description": t.get("description", t["identifier"]).astype(str).tolist(),
            "strand_pair": strand_pair_positions(tfile).tolist()}


def poisson_loss(y_true, y_pred):
    """Mean over bins and tracks of ``pred - true * log(pred)`` (Keras's Poisson, epsilon 1e-7)."""
    return tf.reduce_mean(y_pred - y_true * tf.math.log(y_pred + 1e-7), axis=[1, 2])


def mse_loss(y_true, y_pred):
    return tf.reduce_mean(tf.square(y_pred - y_true), axis=[1, 2])


def poisson_multinomial_loss(groups, *, total_weight: float):
    """Poisson on each group's per-bin total plus the multinomial split of that total over the group.

    Parameters
    ----------
    groups : list of list of int
        Track indices of each group (one assay's cell types); every track in exactly one group.
    total_weight : float
        Weight of the Poisson term on the totals; 1 gives :func:`poisson_loss` (up to its epsilon).

    Returns
    -------
    callable ``(y_true, y_pred) -> (batch,)``, the mean over bins and tracks as :func:`poisson_loss`.
    """
    n_tracks = sum(len(g) for g in groups)

    def loss(y_true, y_pred):
        total = 0.0
        for g in groups:
            y = tf.gather(y_true, g, axis=-1)
            p = tf.gather(y_pred, g, axis=-1) + 1e-7
            y_sum, p_sum = tf.reduce_sum(y, -1), tf.reduce_sum(p, -1)
            poisson = p_sum - y_sum * tf.math.log(p_sum)
            multinomial = -tf.reduce_sum(y * tf.math.log(p / p_sum[..., None]), -1)
            total += total_weight * poisson + multinomial
        return tf.reduce_mean(total, axis=1) / n_tracks

    return loss


def averaged_variables(model, *, norm_stats: bool) -> list:
    """The variables ``train.ema_decay`` averages: every trainable weight, and with ``norm_stats`` the
    batch-norm moving means and variances too.

    Batch-norm statistics follow the raw weights over the last few steps (``bn_momentum``); put beside
    averaged weights they describe another network, which on small data makes validation jump between
    epochs. Averaging them at the weights' rate keeps the two in step (as averaging every buffer of a
    model does in PyTorch's weight-averaging recipes).
    """
    out = list(model.trainable_variables)
    if norm_stats:
        out += [v for v in model.non_trainable_variables
                if v.path.rsplit("/", 1)[-1] in ("moving_mean", "moving_variance")]
    return out


def assay_groups(descriptions) -> list:
    """Track indices grouped by assay: the description's text before ':' (basenji's ``CAGE:...``,
    ``DNASE:...``); descriptions without one form one group."""
    groups: dict = {}
    for i, d in enumerate(descriptions):
        groups.setdefault(str(d).split(":", 1)[0] if ":" in str(d) else "", []).append(i)
    return list(groups.values())


def make_loss(cfg, descriptions):
    """The configured loss for one head whose tracks have ``descriptions`` (targets.txt order)."""
    if cfg.loss == "poisson_multinomial":
        return poisson_multinomial_loss(assay_groups(descriptions), total_weight=cfg.total_weight)
    return LOSSES[cfg.loss]


LOSSES = {"poisson": poisson_loss, "mse": mse_loss}


class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to ``learning_rate`` over ``warmup`` steps, then constant."""

    def __init__(self, learning_rate: float, warmup: int):
        self.learning_rate = float(learning_rate)
        self.warmup = int(warmup)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        if self.warmup <= 0:
            return tf.constant(self.learning_rate)
        return self.learning_rate * tf.minimum(1.0, (step + 1.0) / self.warmup)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "warmup": self.warmup}


def make_optimizer(cfg: TrainConfig) -> keras.optimizers.Optimizer:
    """SGD with momentum or Adam, with warm-up and global-norm gradient clipping."""
    lr = WarmUp(cfg.learning_rate, cfg.warmup)
    clip = {"global_clipnorm": cfg.clip_norm} if cfg.clip_norm else {}
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(lr, beta_1=cfg.adam_beta1, beta_2=cfg.adam_beta2, **clip)
    return keras.optimizers.SGD(lr, momentum=cfg.momentum, **clip)


def augment_draws(seed, *, max_shift: int):
    """The random shift (int32, in -max_shift..max_shift) and strand flip (bool) drawn from ``seed``.

    Drawn apart from :func:`augment` so that an XLA-compiled training step gets the same draws as a
    plain one (XLA converts random bits to floats its own way).
    """
    k = (tf.random.stateless_uniform([], seed=seed, minval=-max_shift, maxval=max_shift + 1, dtype=tf.int32)
         if max_shift > 0 else tf.constant(0, tf.int32))
    flip = tf.random.stateless_uniform([], seed=seed + 1) < 0.5
    return k, flip


def augment(x, y, *, seed=None, draws=None, max_shift: int, rc: bool, strand_pair):
    """Random shift and reverse complement of one batch (see the module docstring).

    Parameters
    ----------
    x : Tensor, float32, shape (batch, seq_length, 4)
    y : Tensor, float32, shape (batch, target_length, n_targets)
    seed : Tensor, int32, shape (2,)
        Stateless seed: the same seed gives the same augmentation.
    draws : (Tensor, Tensor), optional
        :func:`augment_draws` of the seed, drawn beforehand (then ``seed`` is not used).
    """
    k, flip = draws if draws is not None else augment_draws(seed, max_shift=max_shift)
    if max_shift > 0:
        length = tf.shape(x)[1]
        xp = tf.pad(x, [[0, 0], [max_shift, max_shift], [0, 0]])
        x = tf.slice(xp, [0, max_shift - k, 0], [-1, length, -1])
    if rc:
        pair = tf.constant(strand_pair, dtype=tf.int32)
        x, y = tf.cond(flip,
                       lambda: (tf.reverse(x, axis=[1, 2]), tf.gather(tf.reverse(y, axis=[1]), pair, axis=2)),
                       lambda: (x, y))
    return x, y


class Trainer:
    """Fit a SeqNN on the records of one or more genomes.

    Parameters
    ----------
    seqnn : SeqNN
        Built (inside ``strategy.scope()`` when a strategy is used).
    params : Params
    data : dict of str -> GenomeData
        One entry per head to train.
    out_dir : path
        Where the checkpoint, the best model and ``train_log.csv`` go.
    strategy : tf.distribute.Strategy, optional
        For several GPUs (``tf.distribute.MirroredStrategy``); the default strategy otherwise.
    """

    def __init__(self, seqnn: SeqNN, params: Params, data: dict, out_dir, *, strategy=None,
                 model_info: dict | None = None):
        self.seqnn, self.params, self.cfg = seqnn, params, params.train
        self.data = data
        self.out_dir = Path(out_dir)
        self.strategy = strategy or tf.distribute.get_strategy()
        # the saved model keeps the names of its outputs unless the caller says otherwise
        self.model_info = {"targets": {g: targets_info(d.data_dir) for g, d in data.items()}, **(model_info or {})}
        for g, d in data.items():
            model = seqnn.model(g)
            n_out = int(model.output.shape[-1])
            if n_out != int(d.stats["num_targets"]):
                raise ValueError(f"head {g!r} predicts {n_out} tracks but {d.data_dir} has "
                                 f"{d.stats['num_targets']} targets; set the head's 'units' to {d.stats['num_targets']}")
            t_len = int(model.output.shape[1])
            if t_len != int(d.stats["target_length"]):
                raise ValueError(f"head {g!r} predicts {t_len} bins but {d.data_dir} has target_length "
                                 f"{d.stats['target_length']}; adjust the model's pooling or Cropping1D")
            if int(model.input.shape[1]) != int(d.stats["seq_length"]):
                raise ValueError(f"the model reads {model.input.shape[1]} bp but {d.data_dir} has seq_length "
                                 f"{d.stats['seq_length']}")
            if d.n("train") == 0:
                raise ValueError(f"{d.data_dir} has no training sequences")
        with self.strategy.scope():
            self.optimizer = make_optimizer(self.cfg)
            self.optimizer.build(seqnn.combined.trainable_variables)
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            self.best_loss = tf.Variable(np.inf, dtype=tf.float64, trainable=False, name="best_loss")
            self.wait = tf.Variable(0, dtype=tf.int64, trainable=False, name="wait")
            # the moving average of each trainable weight, by the weight's path (heads share the trunk's)
            averaged = averaged_variables(seqnn.combined, norm_stats=self.cfg.ema_norm_stats)
            self.ema = {v.path: tf.Variable(v.value, trainable=False, name=f"ema_{i}",
                                            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
                        for i, v in enumerate(averaged)} if self.cfg.ema_decay else {}
            if self.ema and len(self.ema) != len(averaged):
                raise ValueError("train.ema_decay needs distinct weight paths; two layers of the model share a name")
        self.checkpoint = tf.train.Checkpoint(model=seqnn.combined, optimizer=self.optimizer, epoch=self.epoch,
                                              best_loss=self.best_loss, wait=self.wait,
                                              **({"ema": list(self.ema.values())} if self.ema else {}))
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.out_dir / "checkpoint"), max_to_keep=1)
        self._losses = {g: make_loss(self.cfg, targets_info(d.data_dir).get("description", [])
                                     or range(int(d.stats["num_targets"]))) for g, d in data.items()}
        self._train_steps = {g: self._make_train_step(g) for g in data}
        self._eval_steps = {g: self._make_eval_step(g) for g in data}

    # -- steps -----------------------------------------------------------------------------
    def _global_batch(self) -> int:
        return self.cfg.batch_size * self.strategy.num_replicas_in_sync

    def _make_train_step(self, genome: str):
        model = self.seqnn.model(genome)
        pair = self.data[genome].strand_pair
        cfg = self.cfg
        loss_fn, gb = self._losses[genome], self._global_batch()

        # dropout's random state is not in a checkpoint; set it from the step's seed so that a resumed
        # run draws the masks an uninterrupted one would
        seed_states = [l.seed_generator.state for l in model.layers
                       if isinstance(l, keras.layers.Dropout) and getattr(l, "seed_generator", None) is not None]

        def replica_step(x, y, k, flip, seed):
            for i, state in enumerate(seed_states):
                state.assign(tf.stack([seed[0] * 1009 + i, seed[1]]))
            x, y = augment(x, y, draws=(k, flip), max_shift=cfg.augment_shift, rc=cfg.augment_rc, strand_pair=pair)
            with tf.GradientTape() as tape:
                pred = model(x, training=True)
                per_example = loss_fn(y, pred)
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=gb)
                if model.losses:
                    loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            grads = tape.gradient(loss, model.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, model.trainable_variables))
            if self.ema:
                d = cfg.ema_decay
                for v in averaged_variables(model, norm_stats=cfg.ema_norm_stats):
                    self.ema[v.path].assign(d * self.ema[v.path] + (1.0 - d) * v.value)
            return tf.reduce_sum(per_example)

        if cfg.xla:
            replica_step = tf.function(replica_step, autograph=False, jit_compile=True)

        @tf.function(autograph=False)  # plain tensor code; AutoGraph only warns about the closures
        def step(x, y, seed):
            k, flip = augment_draws(seed, max_shift=cfg.augment_shift)
            per_replica = self.strategy.run(replica_step, args=(x, y, k, flip, seed))
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        return step

    def _make_eval_step(self, genome: str):
        model = self.seqnn.model(genome)
        loss_fn = self._losses[genome]

        n_targets = int(model.output.shape[-1])

        def replica_step(x, y):
            n = tf.shape(x)[0]

            def sums():
                pred = model(x, training=False)
                p = tf.reshape(pred, [-1, n_targets])
                t = tf.reshape(y, [-1, n_targets])
                # per-track sums for Pearson R: n, sum p, sum t, sum p^2, sum t^2, sum p t
                moments = tf.stack([tf.cast(tf.fill([n_targets], tf.shape(p)[0]), tf.float32),
                                    tf.reduce_sum(p, 0), tf.reduce_sum(t, 0), tf.reduce_sum(p * p, 0),
                                    tf.reduce_sum(t * t, 0), tf.reduce_sum(p * t, 0)])
                return tf.reduce_sum(loss_fn(y, pred)), moments

            # the last, partial validation batch can leave a replica with no examples; batch norm
            # rejects an empty batch, so that replica contributes zero
            s, m = tf.cond(n > 0, sums, lambda: (tf.constant(0.0), tf.zeros([6, n_targets])))
            return s, tf.cast(n, tf.float32), m

        @tf.function(autograph=False)  # plain tensor code; AutoGraph only warns about the closures
        def step(x, y):
            s, n, m = self.strategy.run(replica_step, args=(x, y))
            red = tf.distribute.ReduceOp.SUM
            return (self.strategy.reduce(red, s, axis=None), self.strategy.reduce(red, n, axis=None),
                    self.strategy.reduce(red, m, axis=None))

        return step

    # -- data ------------------------------------------------------------------------------
    def _dataset(self, genome: str, split: str, *, epoch: int, repeat: bool):
        d = self.data[genome]
        ds = tfrecord.dataset(d.data_dir, split, batch_size=self._global_batch(), shuffle=split == "train", stats=d.stats,
                              seed=self.cfg.seed * 100_003 + epoch, repeat=repeat)
        return self.strategy.experimental_distribute_dataset(ds)

    def steps_per_epoch(self, genomes) -> int:
        if self.cfg.steps_per_epoch:
            return int(self.cfg.steps_per_epoch)
        return sum(math.ceil(self.data[g].n("train") / self._global_batch()) for g in genomes)

    def validate(self, genomes=None, *, with_r: bool = False) -> dict:
        """Mean loss per validation sequence, per genome (and, with ``with_r``, the mean over tracks
        of the Pearson R over validation bins, as ``(loss, r)``)."""
        out = {}
        for g in genomes or list(self.data):
            if self.data[g].n("valid") == 0:
                raise ValueError(f"{self.data[g].data_dir} has no validation sequences; early stopping needs some")
            total, n, mom = 0.0, 0.0, 0.0
            for x, y in self._dataset(g, "valid", epoch=0, repeat=False):
                s, k, m = self._eval_steps[g](x, y)
                total += float(s)
                n += float(k)
                mom = mom + m.numpy().astype(np.float64)
            loss = total / max(n, 1.0)
            out[g] = (loss, _mean_pearson(mom)) if with_r else loss
        return out

    # -- the loop --------------------------------------------------------------------------
    def fit(self, *, genomes=None, epochs: int | None = None, resume: bool = True, progress=None,
            model_dir_name: str = "model", max_seconds: float | None = None) -> pd.DataFrame:
        """Train until early stopping (or ``epochs``), keep the best weights, return the history.

        Parameters
        ----------
        genomes : list of str, optional
            Train only these heads (default: all).
        epochs : int, optional
            Override ``train_epochs_max``.
        resume : bool
            Continue from ``out_dir/checkpoint`` if there is one.
        max_seconds : float, optional
            Time budget: no new epoch starts once this much wall time has passed (an epoch that
            would start is not begun if the mean epoch time says it cannot finish in time).
        progress : callable, optional
            Called as ``progress(epoch, step, n_steps, loss)`` after every step and
            ``progress(epoch, None, n_steps, logs)`` at the end of each epoch.
        """
        genomes = list(genomes or self.data)
        max_epochs = epochs if epochs is not None else self.cfg.train_epochs_max
        log_path = self.out_dir / "train_log.csv"
        history = self._restore(log_path) if resume else []
        n_steps = self.steps_per_epoch(genomes)
        best_dir = self.out_dir / model_dir_name
        started, epoch_times = time.perf_counter(), []
        while int(self.epoch.numpy()) < max_epochs:
            epoch = int(self.epoch.numpy())
            if self._should_stop(epoch, time.perf_counter() - started, epoch_times, max_seconds):
                break
            t_epoch = time.perf_counter()
            train_loss = self._train_epoch(genomes, epoch, n_steps, progress)
            logs = self._end_epoch(genomes, epoch, train_loss, best_dir)
            history.append(logs)
            write_table(log_path, pd.DataFrame(history), sep=",", float_format="%.6g")
            self.epoch.assign_add(1)
            self.manager.save()
            logger.info("epoch %d: train %.5f valid %.5f%s", epoch, train_loss, logs["valid_loss"],
                        " (best)" if logs["best"] else "")
            epoch_times.append(time.perf_counter() - t_epoch)
            if progress is not None:
                progress(epoch, None, n_steps, logs)
        if (best_dir / "model.weights.h5").exists():
            self.seqnn.combined.load_weights(str(best_dir / "model.weights.h5"))
        return pd.DataFrame(history)

    def _restore(self, log_path: Path) -> list:
        """Restore the latest checkpoint, if any; the logged epochs it covers (a list of dicts)."""
        history = []
        if self.manager.latest_checkpoint:
            self.checkpoint.restore(self.manager.latest_checkpoint).assert_existing_objects_matched()
            if log_path.exists():
                history = pd.read_csv(log_path).to_dict("records")
                history = [h for h in history if h["epoch"] < int(self.epoch.numpy())]
            logger.info("resumed from %s at epoch %d", self.manager.latest_checkpoint, int(self.epoch.numpy()))
        return history

    def _should_stop(self, epoch: int, elapsed: float, epoch_times: list, max_seconds: float | None) -> bool:
        """Early stopping (patience), or a time budget the next epoch would overrun."""
        if epoch >= self.cfg.train_epochs_min and int(self.wait.numpy()) >= self.cfg.patience:
            return True
        if max_seconds is not None and epoch_times and elapsed + np.mean(epoch_times) > max_seconds:
            logger.info("time budget of %.0f s reached after %d epochs", max_seconds, len(epoch_times))
            return True
        return False

    def _train_epoch(self, genomes: list, epoch: int, n_steps: int, progress) -> float:
        """One epoch of steps, each on a batch of a genome drawn in proportion to its training sequences;
        the mean training loss per sequence."""
        cfg = self.cfg
        n_train = np.array([self.data[g].n("train") for g in genomes], dtype=float)
        rng = np.random.default_rng([cfg.seed, epoch])
        order = rng.choice(len(genomes), size=n_steps, p=n_train / n_train.sum())
        iters = {g: iter(self._dataset(g, "train", epoch=epoch, repeat=True)) for g in genomes}
        total, seen = 0.0, 0
        for step in range(n_steps):
            g = genomes[order[step]]
            x, y = next(iters[g])
            seed = tf.constant([cfg.seed * 100_003 + epoch, step], dtype=tf.int64)
            total += float(self._train_steps[g](x, y, seed))
            seen += self._global_batch()
            if progress is not None:
                progress(epoch, step, n_steps, total / seen)
        return total / max(seen, 1)

    def _end_epoch(self, genomes: list, epoch: int, train_loss: float, best_dir: Path) -> dict:
        """Validate, keep the model if it is the best so far, and return the epoch's log row (with
        ``ema_decay``, on the averaged weights; the raw weights go on training)."""
        weights = averaged_variables(self.seqnn.combined, norm_stats=self.cfg.ema_norm_stats)
        raw = [v.numpy() for v in weights] if self.ema else None
        for v in weights if self.ema else []:
            v.assign(self.ema[v.path].numpy())
        try:
            return self._validate_and_keep(genomes, epoch, train_loss, best_dir)
        finally:
            for v, r in zip(weights, raw or []):
                v.assign(r)

    def _validate_and_keep(self, genomes: list, epoch: int, train_loss: float, best_dir: Path) -> dict:
        valid_r = self.validate(genomes, with_r=True)
        valid = {g: v[0] for g, v in valid_r.items()}
        n_valid = np.array([self.data[g].n("valid") for g in genomes], dtype=float)
        valid_loss = float(np.dot([valid[g] for g in genomes], n_valid) / n_valid.sum())
        if not np.isfinite(train_loss):
            raise FloatingPointError(f"training loss is {train_loss} at epoch {epoch}; lower the learning "
                                     "rate or set clip_norm")
        improved = valid_loss < float(self.best_loss.numpy())
        if improved:
            self.best_loss.assign(valid_loss)
            self.wait.assign(0)
            # the best model is written before the checkpoint that records it: a kill in between
            # redoes this epoch on resume and rewrites the same best model
            save_model(self.seqnn, self.params, best_dir,
                       extra={**self.model_info, "epoch": epoch, "valid_loss": valid_loss})
        else:
            self.wait.assign_add(1)
        return {"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
                **{f"valid_loss_{g}": valid[g] for g in genomes},
                **{f"valid_r_{g}": valid_r[g][1] for g in genomes}, "best": improved,
                "learning_rate": float(self.optimizer.learning_rate.numpy()) if hasattr(
                    self.optimizer.learning_rate, "numpy") else self.cfg.learning_rate}


def _mean_pearson(m) -> float:
    """Mean over tracks of Pearson R from per-track sums (n, sp, st, spp, stt, spt); float64.

    One-pass sums lose precision only when a track's mean dwarfs its spread, which validation
    monitoring tolerates; ``genomodel test`` computes the exact two-pass figures."""
    if np.isscalar(m):
        return float("nan")
    n, sp, st, spp, stt, spt = m
    cov = spt - sp * st / np.maximum(n, 1)
    vp = spp - sp * sp / np.maximum(n, 1)
    vt = stt - st * st / np.maximum(n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vp * vt)
    r = r[np.isfinite(r)]
    return float(r.mean()) if len(r) else float("nan")


def write_summary(out_dir, history: pd.DataFrame) -> Path:
    """A small JSON summary of a finished run beside its log."""
    from genocore.files import write_text

    best = history.loc[history.valid_loss.idxmin()] if len(history) else None
    doc = {"epochs": int(len(history)), "best_epoch": int(best.epoch) if best is not None else None,
           "best_valid_loss": float(best.valid_loss) if best is not None else None}
    return write_text(Path(out_dir) / "train_summary.json", json.dumps(doc, indent=2) + "\n")


def default_strategy():
    """``MirroredStrategy`` over every GPU when there are several, else TensorFlow's default strategy."""
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        logger.info("training on %d GPUs with MirroredStrategy", len(gpus))
        return tf.distribute.MirroredStrategy()
    logger.info("training on %s", "1 GPU" if gpus else "the CPU")
    return tf.distribute.get_strategy()


def fine_tune(seqnn: SeqNN, params: Params, data: dict, out_dir, *, strategy=None, model_info: dict | None = None,
              resume: bool = True, progress=None) -> dict:
    """Fine-tune the jointly trained model on each genome alone (``fine_tune_epochs``, Basenji2).

    Each genome starts from the joint run's best weights (``out_dir/model``) and trains its head and
    the trunk into ``out_dir/fine_tune_<genome>``.

    Returns
    -------
    dict of str -> DataFrame
        The history of each genome's fine-tuning.
    """
    out = {}
    for g in data:
        seqnn.combined.load_weights(str(Path(out_dir) / "model" / "model.weights.h5"))
        ft = Trainer(seqnn, params, {g: data[g]}, Path(out_dir) / f"fine_tune_{g}", strategy=strategy,
                     model_info=model_info)
        out[g] = ft.fit(genomes=[g], epochs=params.train.fine_tune_epochs, resume=resume, progress=progress)
    return out


def parse_data_dirs(specs, genomes) -> dict:
    """Records folder of each head from ``DIR`` (a model with one head) or ``GENOME=DIR`` specs.

    Parameters
    ----------
    specs : sequence of str
    genomes : sequence of str
        The heads of the params (``Params.genomes``).

    Returns
    -------
    dict of str -> Path
    """
    out = {}
    for v in specs:
        g, d = v.split("=", 1) if "=" in v else (genomes[0] if len(genomes) == 1 else None, v)
        if g is None:
            raise ValueError(f"the params have heads {list(genomes)}: give --data GENOME=DIR for each")
        if g not in genomes:
            raise ValueError(f"--data {v}: the params have no head_{g} (heads: {list(genomes)})")
        out[g] = Path(d)
    return out


class _StepProgress:
    """:meth:`Trainer.fit`'s ``progress(epoch, step, n_steps, loss)`` as ``progress(step, n_steps, status)``
    (the end of an epoch, ``step`` None, is logged by the trainer instead)."""

    def __init__(self, progress):
        self.progress = progress

    def __call__(self, epoch, step, n_steps, value):
        if step is not None:
            self.progress(step + 1, n_steps, f"epoch {epoch}, loss {value:.4f}")


def train_model(params: Params, data_dirs: dict, out_dir, *, epochs: int | None = None, resume: bool = True,
                max_seconds: float | None = None, progress=None, strategy=None, command=None,
                config: dict | None = None, init_motifs=None, init_model=None) -> pd.DataFrame:
    """Build a model from its params and train it on the records of each genome (then fine-tune per genome
    when the params ask for it and there are several).

    Parameters
    ----------
    params : Params
    data_dirs : dict of str -> path
        Records folder of each head to train (``genomodel data`` output).
    out_dir : path
        Gets ``model/`` (the best weights), ``checkpoint/``, ``train_log.csv``, ``train_summary.json``
        and, when fine-tuned, ``fine_tune_<genome>/``.
    epochs, resume, max_seconds
        See :meth:`Trainer.fit` (``max_seconds`` bounds the joint run only).
    progress : callable, optional
        ``progress(step, n_steps, status)`` after every training step, ``status`` naming the epoch and
        its running loss; ``step`` starts again from 1 with each epoch.
    strategy : tf.distribute.Strategy, optional
        Default: :func:`default_strategy`.
    command, config
        Recorded in ``out_dir/provenance.json`` (:func:`genocore.provenance.record`) with the SHA-256 of
        the records' statistics and of the model.
    init_motifs : path-like, optional
        Motif database (MEME or JASPAR) whose motifs start the first convolution's filters
        (:func:`genomodel.model.motif_init.init_from_motifs`; a resumed run keeps its checkpoint).
    init_model : path-like, optional
        A saved model folder whose weights start this one, by layer name
        (:func:`genomodel.model.seqnn.init_from_model`; transfer learning from an imported trunk).

    Returns
    -------
    DataFrame
        The joint run's history (one row per epoch; empty when a finished run had nothing left to do).
    """
    strategy = strategy or default_strategy()
    progress = None if progress is None else _StepProgress(progress)
    with strategy.scope():
        seqnn = build_model(params.model, seed=params.train.seed)
    # the model's input length and output bins settle the shapes of records without statistics.json
    data = {g: GenomeData.open(g, d, seq_length=int(seqnn.model(g).input.shape[1]),
                               target_length=int(seqnn.model(g).output.shape[1])) for g, d in data_dirs.items()}
    stats = {g: data[g].stats for g in data_dirs}
    with strategy.scope():
        if init_motifs is not None:
            from genomodel.attribution.motifs import read_motif_database
            from genomodel.model.motif_init import init_from_motifs

            init_from_motifs(seqnn.model(), read_motif_database(init_motifs))
        if init_model is not None:
            from genomodel.model.seqnn import init_from_model

            logger.info("started %d layers from %s", init_from_model(seqnn, init_model), init_model)
        info = {"targets": {g: targets_info(d) for g, d in data_dirs.items()},
                "data": {g: {k: stats[g].get(k) for k in ("pool_width", "crop_bp", "genome", "genome_build")}
                         for g in data_dirs}}
        trainer = Trainer(seqnn, params, data, out_dir, strategy=strategy, model_info=info)
    total, trainable = seqnn.count_params()
    logger.info("model: %s parameters (%s trainable); heads %s", f"{total:,}", f"{trainable:,}", list(data_dirs))
    hist = trainer.fit(epochs=epochs, resume=resume, progress=progress, max_seconds=max_seconds)
    write_summary(out_dir, hist)
    if params.train.fine_tune_epochs and len(data) > 1:
        fine_tune(seqnn, params, data, out_dir, strategy=strategy, model_info=info, resume=resume, progress=progress)
    run = Path(out_dir)
    provenance.write(run / "provenance.json", provenance.record(
        command=command, config=config, root=run,
        inputs={**{f"{g}/statistics.json": Path(d) / "statistics.json" for g, d in data_dirs.items()
                   if (Path(d) / "statistics.json").is_file()},
                **{f"{g}/{f.name}": f for g, d in data_dirs.items() if stats[g].get("inferred_from_records")
                   for s in tfrecord.SPLITS for f in tfrecord.shard_files(d, s)},
                **({"init_motifs": Path(init_motifs)} if init_motifs is not None else {}),
                **({"init_model": Path(init_model) / "model.weights.h5"} if init_model is not None else {})},
        outputs={k: run / k for k in ("model/params.json", "model/model.weights.h5", "train_log.csv")}))
    if hist.empty:
        logger.info("no epoch was run (the run in %s had already stopped)", out_dir)
    else:
        best = hist.loc[hist.valid_loss.idxmin()]
        logger.info("best epoch %d: valid loss %.5f; model in %s", best.epoch, best.valid_loss, Path(out_dir) / "model")
    return hist
