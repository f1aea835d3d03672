"""Training on tiny records: it learns, it resumes as if never stopped, augmentation is exact."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from genomodel import dna
from genomodel.config import params_from_dict
from genomodel.io import tfrecord
from genomodel.model.seqnn import build_model, load_model
from genomodel.predict import predict
from genomodel.train import GenomeData, Trainer, augment

SEQ, POOL = 256, 16
MOTIF = dna.encode("GATAAG")


def _targets(codes: np.ndarray) -> np.ndarray:
    """Two tracks: motif starts per bin (forward, reverse strand), a stranded pair."""
    n = len(codes)
    fwd = np.zeros(n)
    rev = np.zeros(n)
    rc = dna.reverse_complement_codes(MOTIF)
    for i in range(n - len(MOTIF) + 1):
        fwd[i] = np.array_equal(codes[i:i + len(MOTIF)], MOTIF)
        rev[i] = np.array_equal(codes[i:i + len(MOTIF)], rc)
    bins = np.stack([fwd, rev], axis=1).reshape(n // POOL, POOL, 2).sum(axis=1)
    return (bins * 4 + 0.1).astype(np.float16)


def make_records(root, *, n_train=48, n_valid=12, seed=0):
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("valid", n_valid), ("test", n_valid)):
        recs = []
        for _ in range(n):
            codes = rng.integers(0, 4, SEQ).astype(np.uint8)
            for _ in range(rng.integers(1, 5)):
                p = rng.integers(0, SEQ - 6)
                codes[p:p + 6] = MOTIF if rng.random() < 0.5 else dna.reverse_complement_codes(MOTIF)
            recs.append((codes, _targets(codes)))
        tfrecord.write_records(root, split, recs, records_per_shard=16)
    tfrecord.write_statistics(root, {"num_targets": 2, "seq_length": SEQ, "seq_1hot": True, "pool_width": POOL,
                                     "crop_bp": 0, "target_length": SEQ // POOL, "train_seqs": n_train,
                                     "valid_seqs": n_valid, "test_seqs": n_valid})
    pd.DataFrame({"index": [0, 1], "identifier": ["m+", "m-"], "file": ["x", "x"], "strand_pair": [1, 0],
                  "description": ["CHIP:m+", "CHIP:m-"]}).to_csv(root / "targets.txt", sep="\t", index=False)
    return root


def small_params(**train):
    t = {"batch_size": 8, "optimizer": "adam", "learning_rate": 0.01, "patience": 3, "train_epochs_max": 6,
         "warmup": 4, "clip_norm": 5.0, "seed": 3}
    t.update(train)
    return params_from_dict({"train": t, "model": {
        "seq_length": SEQ, "activation": "relu", "norm_type": "batch", "bn_momentum": 0.9,
        "trunk": [{"name": "conv_block", "filters": 16, "kernel_size": 11, "pool_size": 4},
                  {"name": "conv_block", "filters": 16, "kernel_size": 5, "pool_size": 4},
                  {"name": "dilated_residual", "filters": 8, "repeat": 2}],
        "head_toy": {"name": "final", "units": 2, "activation": "softplus"}}})


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return make_records(tmp_path_factory.mktemp("rec"))


def test_training_learns_the_motif_and_keeps_the_best(records, tmp_path):
    p = small_params()
    seqnn = build_model(p.model, seed=1)
    data = {"toy": GenomeData.open("toy", records)}
    trainer = Trainer(seqnn, p, data, tmp_path / "run")
    before = trainer.validate()["toy"]
    hist = trainer.fit()
    assert len(hist) >= 3 and {"train_loss", "valid_loss", "valid_r_toy", "best"} <= set(hist.columns)
    assert hist.valid_r_toy.iloc[-1] > hist.valid_r_toy.iloc[0]
    assert hist.valid_loss.min() < before - 0.05
    # the returned weights are the best epoch's
    again = trainer.validate()["toy"]
    assert again == pytest.approx(hist.valid_loss.min(), rel=1e-4)
    saved, _, info = load_model(tmp_path / "run" / "model")
    assert info["epoch"] == int(hist.loc[hist.valid_loss.idxmin(), "epoch"])
    log = pd.read_csv(tmp_path / "run" / "train_log.csv")
    assert len(log) == len(hist)
    # held-out accuracy: predicted motif counts correlate with the truth
    xs, ys = zip(*tfrecord.iterate_records(records, "test"))
    x = dna.one_hot(np.stack(xs), dtype=np.float32)
    pred = predict(saved.model(), x, rc=True, strand_pair=np.array([1, 0]))
    r = np.corrcoef(pred.ravel(), np.stack(ys).ravel())[0, 1]
    assert r > 0.5, r


def _with_dropout(p):
    from dataclasses import replace

    trunk = tuple({**b, "dropout": 0.3} if b["name"] == "dilated_residual" else b for b in p.model.trunk)
    return replace(p, model=replace(p.model, trunk=trunk))


@pytest.mark.parametrize("dropout", [False, True])
def test_resume_continues_as_if_never_stopped(records, tmp_path, dropout):
    p = small_params(patience=100)
    p = _with_dropout(p) if dropout else p
    a = build_model(p.model, seed=1)
    Trainer(a, p, {"toy": GenomeData.open("toy", records)}, tmp_path / "a").fit(epochs=3)
    b = build_model(p.model, seed=1)
    Trainer(b, p, {"toy": GenomeData.open("toy", records)}, tmp_path / "b").fit(epochs=2)
    # a new process would rebuild from scratch: a fresh model and trainer pick up the checkpoint
    c = build_model(p.model, seed=99)
    hist = Trainer(c, p, {"toy": GenomeData.open("toy", records)}, tmp_path / "b").fit(epochs=3)
    assert list(hist.epoch) == [0, 1, 2]
    la = pd.read_csv(tmp_path / "a" / "train_log.csv")
    np.testing.assert_allclose(hist.train_loss, la.train_loss, rtol=1e-4)
    for wa, wc in zip(a.combined.get_weights(), c.combined.get_weights()):
        np.testing.assert_allclose(wa, wc, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("norm_stats", [False, True])
def test_weight_average_is_what_is_validated_kept_and_resumed(records, tmp_path, norm_stats):
    p = small_params(patience=100, ema_decay=0.9, ema_norm_stats=norm_stats)
    seqnn = build_model(p.model, seed=1)
    trainer = Trainer(seqnn, p, {"toy": GenomeData.open("toy", records)}, tmp_path / "a")
    stats = [v for v in seqnn.combined.non_trainable_variables if "moving_" in v.path]
    assert len(stats) == 12  # six batch norms
    # with norm_stats the batch-norm moving statistics are averaged too; without, they are the raw ones
    weights = list(seqnn.combined.trainable_variables) + (stats if norm_stats else [])
    slow = [v.numpy().astype(np.float64) for v in weights]
    raw = []
    step = trainer._train_steps["toy"]

    def traced(x, y, seed):  # the obvious average, step by step, beside the trainer's own
        out = step(x, y, seed)
        raw[:] = [v.numpy() for v in weights]
        for k, r in enumerate(raw):
            slow[k] = 0.9 * slow[k] + 0.1 * r
        return out

    trainer._train_steps["toy"] = traced
    trainer.fit(epochs=1)
    for v, s in zip(weights, slow):
        np.testing.assert_allclose(trainer.ema[v.path].numpy(), s, rtol=1e-4, atol=1e-6)
    saved, _, _ = load_model(tmp_path / "a" / "model")
    kept = list(saved.combined.trainable_variables) + ([v for v in saved.combined.non_trainable_variables
                                                         if "moving_" in v.path] if norm_stats else [])
    for w, s in zip(kept, slow, strict=True):  # the model kept is the average, not the last step
        np.testing.assert_allclose(w.numpy(), s, rtol=1e-4, atol=1e-6)
    assert not all(np.allclose(r, s, atol=1e-6) for r, s in zip(raw, slow))
    if not norm_stats:  # the kept model's statistics are the last step's
        last = [v.numpy() for v in stats]
        for w, r in zip([v for v in saved.combined.non_trainable_variables if "moving_" in v.path], last, strict=True):
            np.testing.assert_allclose(w.numpy(), r, rtol=1e-6)
    # a resumed run continues the average where it stopped
    full = build_model(p.model, seed=1)
    Trainer(full, p, {"toy": GenomeData.open("toy", records)}, tmp_path / "full").fit(epochs=2)
    again = Trainer(build_model(p.model, seed=7), p, {"toy": GenomeData.open("toy", records)}, tmp_path / "a")
    again.fit(epochs=2)
    for a, b in zip(full.combined.get_weights(), again.seqnn.combined.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_two_genomes_share_the_trunk(records, tmp_path):
    other = make_records(tmp_path / "other", n_train=16, n_valid=4, seed=5)
    p = params_from_dict({"train": {"batch_size": 8, "learning_rate": 0.01, "optimizer": "adam", "seed": 1},
                          "model": {**_model_dict(small_params()), "head_mouse": {"name": "final", "units": 2,
                                                                                  "activation": "softplus"}}})
    seqnn = build_model(p.model)
    data = {"toy": GenomeData.open("toy", records), "mouse": GenomeData.open("mouse", other)}
    trainer = Trainer(seqnn, p, data, tmp_path / "run")
    assert trainer.steps_per_epoch(["toy", "mouse"]) == 6 + 2
    hist = trainer.fit(epochs=1)
    assert {"valid_loss_toy", "valid_loss_mouse"} <= set(hist.columns)


def test_train_model_fine_tunes_each_genome_and_records_provenance(records, tmp_path):
    import json

    from genomodel.train import train_model

    other = make_records(tmp_path / "other", n_train=16, n_valid=4, seed=5)
    p = params_from_dict({"train": {"batch_size": 8, "learning_rate": 0.01, "optimizer": "adam", "seed": 1,
                                    "fine_tune_epochs": 1},
                          "model": {**_model_dict(small_params()), "head_mouse": {"name": "final", "units": 2,
                                                                                  "activation": "softplus"}}})
    calls = []
    hist = train_model(p, {"toy": records, "mouse": other}, tmp_path / "run", epochs=1, command="test",
                       progress=lambda *a: calls.append(a))
    assert len(hist) == 1 and calls[0] == (1, 8, f"epoch 0, loss {calls[0][2].split()[-1]}")
    # the joint run's 8 steps, then one epoch of each genome alone
    assert [c[1] for c in calls] == [8] * 8 + [6] * 6 + [2] * 2
    for g in ("toy", "mouse"):
        assert (tmp_path / "run" / f"fine_tune_{g}" / "model" / "model.weights.h5").exists()
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert prov["command"] == "test" and set(prov["inputs"]) == {"toy/statistics.json", "mouse/statistics.json"}
    assert "model/model.weights.h5" in prov["outputs"]


def test_data_dirs_name_the_heads():
    from genomodel.train import parse_data_dirs

    assert parse_data_dirs(["d"], ("human",)) == {"human": Path("d")}
    assert parse_data_dirs(["mouse=m", "human=h"], ("human", "mouse")) == {"mouse": Path("m"), "human": Path("h")}
    with pytest.raises(ValueError, match="GENOME=DIR"):
        parse_data_dirs(["d"], ("human", "mouse"))
    with pytest.raises(ValueError, match="no head_rat"):
        parse_data_dirs(["rat=r"], ("human",))


def _model_dict(p):
    from genomodel.config import params_to_dict

    return params_to_dict(p)["model"]


def test_head_size_mismatch_is_a_clear_error(records, tmp_path):
    d = _model_dict(small_params())
    d["head_toy"] = [{"name": "final", "units": 5, "activation": "softplus"}]
    p = params_from_dict({"model": d})
    with pytest.raises(ValueError, match="predicts 5 tracks.*'units' to 2"):
        Trainer(build_model(p.model), p, {"toy": GenomeData.open("toy", records)}, tmp_path)


def test_augmentation_shift_and_reverse_complement_are_exact():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (1, 32)).astype(np.uint8)
    x = tf.constant(dna.one_hot(codes, dtype=np.float32))
    y = tf.constant(rng.random((1, 4, 2)).astype(np.float32))
    pair = np.array([1, 0])
    seen_shift, seen_rc = set(), set()
    for s in range(40):
        xa, ya = augment(x, y, seed=tf.constant([1, s]), max_shift=3, rc=True, strand_pair=pair)
        xa, ya = xa.numpy(), ya.numpy()
        flipped = not np.allclose(ya, y.numpy())
        if flipped:
            np.testing.assert_array_equal(ya, y.numpy()[:, ::-1][:, :, pair])
            xa = xa[:, ::-1, ::-1]  # undo the reverse complement
        # recover the shift: the sequence is the original moved by k with zero (N) padding
        for k in range(-3, 4):
            if np.array_equal(xa, _shift(x.numpy(), k)):
                seen_shift.add(k)
                break
        else:
            raise AssertionError("augmented sequence is not a shift of the input")
        seen_rc.add(flipped)
    assert seen_rc == {True, False} and len(seen_shift) >= 5


def _shift(x, k):
    out = np.zeros_like(x)
    if k > 0:
        out[:, k:] = x[:, :-k]
    elif k < 0:
        out[:, :k] = x[:, -k:]
    else:
        out = x.copy()
    return out


MIRRORED = r'''
import sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[3])
import test_train as T
from genomodel.model.seqnn import build_model
from genomodel.train import GenomeData, Trainer
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
p = T.small_params(batch_size=4)
with strategy.scope():
    seqnn = build_model(p.model, seed=1)
    trainer = Trainer(seqnn, p, {"toy": GenomeData.open("toy", sys.argv[1])}, sys.argv[2], strategy=strategy)
before = trainer.validate()["toy"]
hist = trainer.fit(epochs=3)
assert trainer.steps_per_epoch(["toy"]) == 6  # 48 sequences, global batch 2 x 4
assert hist.valid_loss.min() < before, (before, hist)
print("ok", before, hist.valid_loss.min())
'''


def test_mirrored_strategy_trains_on_two_replicas(records, tmp_path):
    """The tf.distribute path (as on several GPUs), run on two logical CPU devices in a fresh process."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    res = subprocess.run([sys.executable, str(script), str(records), str(tmp_path / "run"),
                          str(Path(__file__).parent)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.startswith("ok")


def test_baskerville_records_train(shared_data, tmp_path):
    """baskerville's own records (base-index sequences, float16 targets, strand pairs) train as they are."""
    from dataclasses import replace

    from genomodel.config import read_params

    data_dir = shared_data / "cnn_baskerville_tiny_hg38"
    p = read_params("tiny_hg38_small")
    p = replace(p, train=replace(p.train, steps_per_epoch=2, batch_size=2))
    g = GenomeData.open("human", data_dir)
    assert g.n("train") == 45 and g.n("valid") == 10
    assert (g.strand_pair[g.strand_pair != np.arange(74)] >= 0).all() and (g.strand_pair != np.arange(74)).any()
    seqnn = build_model(p.model, seed=1)
    hist = Trainer(seqnn, p, {"human": g}, tmp_path / "run").fit(epochs=1)
    assert len(hist) == 1 and np.isfinite(hist.train_loss).all() and np.isfinite(hist.valid_loss).all()


def _poisson_multinomial_slow(y, p, groups, w):
    """Per example: for each bin and group, w * Poisson(total) + multinomial NLL of the split."""
    out = np.zeros(len(y))
    for b in range(len(y)):
        for i in range(y.shape[1]):
            for g in groups:
                yt, pt = y[b, i, g], p[b, i, g] + 1e-7
                out[b] += w * (pt.sum() - yt.sum() * np.log(pt.sum())) - np.sum(yt * np.log(pt / pt.sum()))
    return out / (y.shape[1] * y.shape[2])


def test_poisson_multinomial_loss_against_the_slow_sum_and_poisson_at_weight_one():
    from genomodel.train import assay_groups, poisson_loss, poisson_multinomial_loss

    rng = np.random.default_rng(0)
    y = rng.poisson(3.0, (3, 5, 4)).astype(np.float32)
    p = rng.gamma(2.0, 1.5, (3, 5, 4)).astype(np.float32)
    groups = assay_groups(["DNASE:a", "CAGE:a", "DNASE:b", "CAGE:b"])
    assert groups == [[0, 2], [1, 3]]
    assert assay_groups(["m+", "m-"]) == [[0, 1]]
    got = poisson_multinomial_loss(groups, total_weight=0.2)(tf.constant(y), tf.constant(p)).numpy()
    np.testing.assert_allclose(got, _poisson_multinomial_slow(y, p, groups, 0.2), rtol=1e-4)
    # the Poisson likelihood factorises into the total's Poisson times the multinomial split
    one = poisson_multinomial_loss(groups, total_weight=1.0)(tf.constant(y), tf.constant(p)).numpy()
    np.testing.assert_allclose(one, poisson_loss(tf.constant(y), tf.constant(p)).numpy(), rtol=1e-4)


def test_poisson_multinomial_training_learns(records, tmp_path):
    p = small_params(loss="poisson_multinomial", total_weight=0.2)
    seqnn = build_model(p.model, seed=1)
    hist = Trainer(seqnn, p, {"toy": GenomeData.open("toy", records)}, tmp_path / "run").fit()
    assert hist.valid_r_toy.max() > hist.valid_r_toy.iloc[0] + 0.1
    with pytest.raises(ValueError, match="total_weight"):
        small_params(loss="poisson_multinomial", total_weight=0.0)


def test_basenji_cage10_records_train_without_statistics(shared_data, tmp_path):
    """basenji's older records (*.tfrecord, one-hot sequences, float-list targets, no statistics.json)
    train as they are: the model's input length and output bins settle the shapes."""
    from genomodel.train import train_model

    src = shared_data / "basenji_testdata_hg19"
    data = tmp_path / "cage10"
    data.mkdir()
    # the folder holds two training shards; the second serves as the validation split here
    (data / "cage10-train-00000-of-00100.tfrecord").symlink_to(src / "cage10-train-00000-of-00100.tfrecord")
    (data / "cage10-valid-00000-of-00001.tfrecord").symlink_to(src / "cage10-train-00001-of-00100.tfrecord")
    p = params_from_dict({"train": {"batch_size": 2, "optimizer": "adam", "learning_rate": 0.002, "patience": 2,
                                    "seed": 1},
                          "model": {"seq_length": 262_144, "activation": "relu", "norm_type": "batch",
                                    "trunk": [{"name": "conv_block", "filters": 8, "kernel_size": 15, "pool_size": 8},
                                              {"name": "conv_block", "filters": 8, "kernel_size": 5, "pool_size": 4},
                                              {"name": "conv_block", "filters": 8, "kernel_size": 5, "pool_size": 4}],
                                    "head_human": {"name": "final", "units": 10, "activation": "softplus"}}})
    hist = train_model(p, {"human": data}, tmp_path / "run", epochs=2)
    assert len(hist) == 2 and np.isfinite(hist.valid_loss).all()
    assert hist.valid_loss.iloc[1] < hist.valid_loss.iloc[0]
    g = GenomeData.open("human", data, seq_length=262_144, target_length=2048)
    assert (g.n("train"), g.n("valid"), g.stats["num_targets"]) == (10, 10, 10)
    with pytest.raises(ValueError, match="20480 values.*give target_length"):
        GenomeData.open("human", data)


def test_xla_training_step_follows_the_plain_one(records, tmp_path):
    """train.xla compiles the same step: from the same weights and batch, the same loss and update."""
    import tensorflow as tf

    out = {}
    for xla in (False, True):
        p = small_params(xla=xla)
        seqnn = build_model(p.model, seed=1)
        trainer = Trainer(seqnn, p, {"toy": GenomeData.open("toy", records)}, tmp_path / str(xla))
        x, y = next(iter(trainer._dataset("toy", "train", epoch=0, repeat=True)))
        loss = float(trainer._train_steps["toy"](x, y, tf.constant([7, 0], dtype=tf.int64)))
        out[xla] = loss, [v.numpy() for v in seqnn.combined.trainable_variables]
    assert out[True][0] == pytest.approx(out[False][0], rel=1e-5)
    for a, b in zip(out[True][1], out[False][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
