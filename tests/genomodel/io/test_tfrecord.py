"""TFRecord layout: round trips, shard order, basenji/baskerville variants, the real baskerville records."""
import json

import numpy as np
import pytest

from genocore.files import atomic_dir

from genomodel import dna
from genomodel.io import tfrecord


def _stats(d, **kw):
    stats = {"num_targets": 3, "seq_length": 64, "seq_1hot": True, "pool_width": 8, "crop_bp": 0,
             "target_length": 8, "train_seqs": 0, "valid_seqs": 0, "test_seqs": 0}
    stats.update(kw)
    tfrecord.write_statistics(d, stats)


def _random(rng, n, L=64, T=8, C=3):
    codes = rng.integers(0, 5, size=(n, L)).astype(np.uint8)
    targets = rng.gamma(2.0, 3.0, size=(n, T, C)).astype(np.float32)
    return codes, targets


def test_round_trip_codes_and_float16_targets(tmp_path):
    rng = np.random.default_rng(0)
    codes, targets = _random(rng, 7)
    n = tfrecord.write_records(tmp_path, "train", zip(codes, targets), records_per_shard=3)
    assert n == 7 and [p.name for p in tfrecord.shard_files(tmp_path, "train")] == ["train-0.tfr", "train-1.tfr",
                                                                                     "train-2.tfr"]
    _stats(tmp_path, train_seqs=7)
    got = list(tfrecord.iterate_records(tmp_path, "train"))
    assert len(got) == 7
    for (c, y), c0, y0 in zip(got, codes, targets):
        assert c.dtype == np.uint8 and y.dtype == np.float32 and y.shape == (8, 3)
        np.testing.assert_array_equal(c, c0)
        np.testing.assert_array_equal(y, y0.astype(np.float16).astype(np.float32))
    assert tfrecord.count_records(tmp_path, "train") == 7
    layout = tfrecord.record_layout(tmp_path, "train")
    assert layout == tfrecord.RecordLayout(64, False, 8, 3, "float16")


def test_dataset_one_hot_batches(tmp_path):
    rng = np.random.default_rng(1)
    codes, targets = _random(rng, 5)
    tfrecord.write_records(tmp_path, "valid", zip(codes, targets), records_per_shard=2)
    _stats(tmp_path, valid_seqs=5)
    batches = [(x.numpy(), y.numpy()) for x, y in tfrecord.dataset(tmp_path, "valid", batch_size=2)]
    assert [len(x) for x, _ in batches] == [2, 2, 1]
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    assert x.dtype == np.float32 and x.shape == (5, 64, 4) and y.shape == (5, 8, 3)
    np.testing.assert_array_equal(x, dna.one_hot(codes).astype(np.float32))  # N rows all zero
    np.testing.assert_array_equal(y, targets.astype(np.float16).astype(np.float32))


def test_shards_sorted_numerically(tmp_path):
    rng = np.random.default_rng(2)
    codes, targets = _random(rng, 12)
    codes[:, 0] = np.arange(12) % 4  # mark records so their order can be checked
    codes[:, 1] = np.arange(12) // 4
    tfrecord.write_records(tmp_path, "train", zip(codes, targets), records_per_shard=1)
    _stats(tmp_path, train_seqs=12)
    names = [p.name for p in tfrecord.shard_files(tmp_path, "train")]
    assert names == [f"train-{i}.tfr" for i in range(12)]  # train-10 after train-9
    got = [(c[0], c[1]) for c, _ in tfrecord.iterate_records(tmp_path, "train")]
    assert got == [(i % 4, i // 4) for i in range(12)]
    x, _ = next(iter(tfrecord.dataset(tmp_path, "train", batch_size=12)))
    np.testing.assert_array_equal(x.numpy()[:, 0, :].argmax(-1), np.arange(12) % 4)


def _raw_example(seq_bytes: bytes, tgt_bytes: bytes) -> bytes:
    tf = tfrecord._tf()
    f = {"sequence": tf.train.Feature(bytes_list=tf.train.BytesList(value=[seq_bytes])),
         "target": tf.train.Feature(bytes_list=tf.train.BytesList(value=[tgt_bytes]))}
    return tf.train.Example(features=tf.train.Features(feature=f)).SerializeToString()


def _write_raw(path, examples):
    tf = tfrecord._tf()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path), options=tf.io.TFRecordOptions(compression_type="ZLIB")) as w:
        for e in examples:
            w.write(e)


def test_reads_basenji_one_hot_float32_records(tmp_path):
    rng = np.random.default_rng(3)
    codes, targets = _random(rng, 3)
    oh = dna.one_hot(codes)  # (3, 64, 4) uint8, N rows zero
    _write_raw(tmp_path / "tfrecords" / "test-0.tfr",
               [_raw_example(o.tobytes(), t.astype(np.float32).tobytes()) for o, t in zip(oh, targets)])
    _stats(tmp_path, seq_1hot=False, test_seqs=3)
    assert tfrecord.record_layout(tmp_path, "test") == tfrecord.RecordLayout(64, True, 8, 3, "float32")
    got = list(tfrecord.iterate_records(tmp_path, "test"))
    for (c, y), c0, y0 in zip(got, codes, targets):
        np.testing.assert_array_equal(c, c0)
        np.testing.assert_array_equal(y, y0)
    x, y = next(iter(tfrecord.dataset(tmp_path, "test", batch_size=3)))
    np.testing.assert_array_equal(x.numpy(), oh.astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), targets)


def test_codes_above_three_read_as_n_and_shape_inferred(tmp_path):
    codes = np.array([0, 1, 2, 3, 4, 7, 255, 0], dtype=np.uint8)
    t = np.arange(6, dtype=np.float16).reshape(2, 3)
    _write_raw(tmp_path / "tfrecords" / "train-0.tfr", [_raw_example(codes.tobytes(), t.tobytes())])
    (tmp_path / "statistics.json").write_text(json.dumps({"seq_length": 8, "num_targets": 3}))
    layout = tfrecord.record_layout(tmp_path)
    assert layout.target_length == 2 and layout.target_dtype == "float16"
    (c, y), = tfrecord.iterate_records(tmp_path, "train")
    assert c.tolist() == [0, 1, 2, 3, 4, 4, 4, 0] and y.tolist() == t.astype(np.float32).tolist()
    x, _ = next(iter(tfrecord.dataset(tmp_path, "train", batch_size=1)))
    assert x.numpy()[0].sum(axis=1).tolist() == [1, 1, 1, 1, 0, 0, 0, 1]


def _float_list_example(seq_bytes: bytes, values) -> bytes:
    tf = tfrecord._tf()
    f = {"sequence": tf.train.Feature(bytes_list=tf.train.BytesList(value=[seq_bytes])),
         "target": tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))}
    return tf.train.Example(features=tf.train.Features(feature=f)).SerializeToString()


def _old_basenji_folder(root, rng, counts=(("train", 0, 3), ("train", 1, 2), ("valid", 0, 2))):
    """basenji's older layout: {prefix}-{split}-{i}-of-{n}.tfrecord in the folder, one-hot sequences,
    float-list targets, no statistics.json. Returns the written records per split, in shard order."""
    written = {}
    for split, shard, n in counts:
        codes, targets = _random(rng, n)
        oh = dna.one_hot(codes)
        _write_raw(root / f"cage3-{split}-{shard:05d}-of-00002.tfrecord",
                   [_float_list_example(o.tobytes(), t.ravel()) for o, t in zip(oh, targets)])
        written.setdefault(split, []).extend(zip(codes, targets))
    return written


def test_older_basenji_folders_read_with_inferred_statistics(tmp_path):
    written = _old_basenji_folder(tmp_path, np.random.default_rng(5))
    assert [f.name for f in tfrecord.shard_files(tmp_path, "train")] == [
        "cage3-train-00000-of-00002.tfrecord", "cage3-train-00001-of-00002.tfrecord"]
    stats = tfrecord.infer_statistics(tmp_path, target_length=8)
    assert {k: stats[k] for k in ("seq_length", "target_length", "num_targets", "train_seqs", "valid_seqs",
                                  "test_seqs")} == {"seq_length": 64, "target_length": 8, "num_targets": 3,
                                                    "train_seqs": 5, "valid_seqs": 2, "test_seqs": 0}
    assert tfrecord.infer_statistics(tmp_path, num_targets=3)["target_length"] == 8
    assert tfrecord.record_layout(tmp_path, stats=stats).target_dtype == "float_list"
    got = list(tfrecord.iterate_records(tmp_path, "train", stats=stats))
    assert len(got) == 5
    for (c, y), (c0, y0) in zip(got, written["train"]):
        np.testing.assert_array_equal(c, c0)
        np.testing.assert_array_equal(y, y0)
    x, y = next(iter(tfrecord.dataset(tmp_path, "valid", batch_size=2, stats=stats)))
    np.testing.assert_array_equal(x.numpy(), dna.one_hot(np.stack([c for c, _ in written["valid"]]), dtype=np.float32))
    np.testing.assert_array_equal(y.numpy(), np.stack([t for _, t in written["valid"]]))


def test_older_basenji_folders_ambiguous_or_empty_are_clear_errors(tmp_path):
    _old_basenji_folder(tmp_path / "a", np.random.default_rng(6))
    with pytest.raises(ValueError, match=r"target holds 24 values.*give target_length .* or num_targets"):
        tfrecord.infer_statistics(tmp_path / "a")
    with pytest.raises(ValueError, match=r"24 values, not a multiple of target_length 5"):
        tfrecord.infer_statistics(tmp_path / "a", target_length=5)
    with pytest.raises(ValueError, match=r"24 values, not target_length 8 x num_targets 4"):
        tfrecord.infer_statistics(tmp_path / "a", target_length=8, num_targets=4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no record shards"):
        tfrecord.infer_statistics(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="no test shards"):
        tfrecord.dataset(tmp_path / "a", "test", batch_size=1, stats={"seq_length": 64})


def test_wrong_sizes_are_clear_errors(tmp_path):
    _write_raw(tmp_path / "tfrecords" / "train-0.tfr", [_raw_example(b"\0" * 10, b"\0" * 48)])
    _stats(tmp_path)
    with pytest.raises(ValueError, match=r"train-0.tfr: first record's sequence has 10 bytes.*seq_length 64"):
        tfrecord.record_layout(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="statistics.json"):
        tfrecord.read_statistics(tmp_path / "nowhere")


def test_shuffle_needs_seed_and_is_deterministic(tmp_path):
    rng = np.random.default_rng(4)
    codes, targets = _random(rng, 9)
    tfrecord.write_records(tmp_path, "train", zip(codes, targets), records_per_shard=3)
    _stats(tmp_path, train_seqs=9)
    with pytest.raises(ValueError, match="seed"):
        tfrecord.dataset(tmp_path, "train", batch_size=3, shuffle=True)

    def order(seed):
        ds = tfrecord.dataset(tmp_path, "train", batch_size=9, shuffle=True, seed=seed)
        return next(iter(ds))[1].numpy()[:, 0, 0].tolist()
    assert order(5) == order(5)
    assert sorted(order(5)) == sorted(targets[:, 0, 0].astype(np.float16).astype(np.float32).tolist())
    x, _ = next(iter(tfrecord.dataset(tmp_path, "train", batch_size=4, repeat=True).skip(3)))
    assert x.shape[0] == 4  # repeat goes past one epoch


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(FileExistsError):
        with atomic_dir(target):
            pass
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("2")
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and [p.name for p in target.iterdir()] == ["b.txt"]


def test_writer_removes_partial_shard_on_error(tmp_path):
    rng = np.random.default_rng(5)
    codes, targets = _random(rng, 4)
    with pytest.raises(ValueError):
        with tfrecord.RecordWriter(tmp_path, "train", records_per_shard=3) as w:
            for c, t in zip(codes, targets):
                w.write(c, t)
            w.write(codes[0], targets[0][0])  # 1-D targets: refused
    assert [p.name for p in (tmp_path / "tfrecords").iterdir()] == ["train-0.tfr"]


def test_real_baskerville_records(shared_data):
    d = shared_data / "cnn_baskerville_tiny_hg38"
    if not d.is_dir():
        pytest.skip(f"{d} is absent")
    stats = tfrecord.read_statistics(d)
    layout = tfrecord.record_layout(d, "train")
    assert layout == tfrecord.RecordLayout(131_072, False, 2048, 74, "float16")
    names = [p.name for p in tfrecord.shard_files(d, "train")]
    assert names[-3:] == ["train-9.tfr", "train-10.tfr", "train-11.tfr"]
    for split, n in (("train", 45), ("valid", 10), ("test", 10)):
        assert stats[f"{split}_seqs"] == n
    assert tfrecord.count_records(d, "train") == 45
    recs = list(tfrecord.iterate_records(d, "valid"))
    assert len(recs) == 10
    bed = tfrecord.read_sequences_bed(d)
    # this file's intervals are 65,536 bp (the upstream test data lists them so), not seq_length
    assert (bed["split"] == "valid").sum() == 10 and len(bed) == 65 and (bed["end"] > bed["start"]).all()
    codes, y = recs[0]
    assert codes.shape == (131_072,) and y.shape == (2048, 74) and np.isfinite(y).all()
    assert codes.max() <= 4 and np.bincount(codes, minlength=5)[:4].min() > 0
    n = 0
    for x, yb in tfrecord.dataset(d, "test", batch_size=4):
        x = x.numpy()
        assert x.shape[1:] == (131_072, 4) and yb.shape[1:] == (2048, 74)
        rows = x.sum(axis=-1)
        assert set(np.unique(rows)) <= {0.0, 1.0}
        n += len(x)
    assert n == 10
    # one-hot rows sum to 1 exactly where the code is A, C, G or T
    x0, _ = next(iter(tfrecord.dataset(d, "test", batch_size=1)))
    c0, _ = next(tfrecord.iterate_records(d, "test"))
    np.testing.assert_array_equal(x0.numpy()[0].sum(axis=-1) == 1, c0 < 4)
