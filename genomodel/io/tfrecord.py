"""Training records in the basenji / baskerville layout.

A data folder holds

- ``tfrecords/{split}-{i}.tfr``: ZLIB-compressed TFRecord shards, one ``tf.train.Example`` per window
  with two bytes features: ``sequence`` and ``target``;
- ``sequences.bed``: ``chrom start end split``, one line per record, in record order within each split;
- ``statistics.json``: ``num_targets, seq_length, seq_1hot, pool_width, crop_bp, target_length,
  train_seqs, valid_seqs, test_seqs`` (as baskerville writes them) plus extra keys of ours.

This module writes ``sequence`` as uint8 base codes (0-3 = A, C, G, T; 4 = N; ``seq_length`` bytes) and
``target`` as float16 ``(target_length, num_targets)`` raw bytes, which is what baskerville writes
(``statistics.json`` then says ``seq_1hot: true``, meaning "one-hot it on reading"). Reading also accepts
older basenji records whose ``sequence`` is already one-hot (``4 * seq_length`` bytes), float32 targets,
targets stored as a float list, and shards named ``{prefix}-{split}-{i}-of-{n}.tfrecord`` in the folder
itself: the layout is decided from the first record, not from flags. A folder without
``statistics.json`` (basenji's older ones) has its statistics inferred from the records
(:func:`infer_statistics`), with the shapes the records cannot settle given by the caller (a model's
input length and output bins).

TensorFlow is imported on first use only, so that importing this module (and ``genomodel.data``) stays
cheap for code that only needs the metadata readers.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genomodel import dna

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
TFR_INPUT = "sequence"
TFR_OUTPUT = "target"
STATISTICS_KEYS = ("num_targets", "seq_length", "seq_1hot", "pool_width", "crop_bp", "target_length",
                   "train_seqs", "valid_seqs", "test_seqs")
_SHARD_RE = re.compile(r"-(\d+)(?:-of-\d+)?\.tfr(?:ecord)?$")


def _tf():
    import tensorflow as tf  # deferred: importing TensorFlow costs seconds

    return tf


# ---------------------------------------------------------------------------------------------------
# metadata


def read_statistics(data_dir) -> dict:
    """The ``statistics.json`` of a data folder.

    Raises
    ------
    FileNotFoundError
        When the folder has no ``statistics.json``.
    """
    path = Path(data_dir) / "statistics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no statistics.json; is {data_dir} a basenji/baskerville data folder? "
                                "(training infers the statistics of basenji's older record folders from the "
                                "records and the model)")
    with open(path) as fh:
        return json.load(fh)


def write_statistics(data_dir, stats: dict) -> Path:
    """Write ``statistics.json`` (atomically; the baskerville keys first, then the others sorted)."""
    from genocore.files import write_text

    ordered = {k: stats[k] for k in STATISTICS_KEYS if k in stats}
    ordered.update({k: stats[k] for k in sorted(stats) if k not in ordered})
    return write_text(Path(data_dir) / "statistics.json", json.dumps(ordered, indent=2) + "\n")


def shard_files(data_dir, split: str) -> list[Path]:
    """A split's shards, sorted by shard index (``train-10`` after ``train-9``): baskerville's
    ``tfrecords/{split}-{i}.tfr``, or basenji's older ``{prefix}-{split}-{i}-of-{n}.tfrecord``, in
    ``tfrecords/`` or in the folder itself."""
    files = set()
    for folder in (Path(data_dir, "tfrecords"), Path(data_dir)):
        for pattern in (f"{split}-*.tfr", f"{split}-*.tfrecord", f"*-{split}-*.tfr", f"*-{split}-*.tfrecord"):
            files.update(folder.glob(pattern))

    def key(p: Path):
        m = _SHARD_RE.search(p.name)
        return (0, int(m.group(1)), str(p)) if m else (1, 0, str(p))

    return sorted(files, key=key)


@dataclass(frozen=True)
class RecordLayout:
    """How the records of a data folder are stored.

    Attributes
    ----------
    seq_length : int
    seq_one_hot : bool
        True when ``sequence`` holds ``4 * seq_length`` one-hot bytes; False for base codes.
    target_length, num_targets : int
    target_dtype : str
        ``"float16"`` or ``"float32"`` (raw bytes), or ``"float_list"`` (a float feature, basenji's older records).
    """

    seq_length: int
    seq_one_hot: bool
    target_length: int
    num_targets: int
    target_dtype: str


def _first_record(data_dir, split: str | None):
    tf = _tf()
    order = [split] if split is not None else []
    order += [s for s in SPLITS if s not in order]
    for s in order:
        for f in shard_files(data_dir, s):
            for raw in tf.data.TFRecordDataset(str(f), compression_type="ZLIB").take(1):
                return f, _parse_example(raw.numpy(), f)
    return None, None


def _parse_example(raw: bytes, where) -> tuple[bytes, bytes | np.ndarray]:
    """``sequence`` bytes and ``target``: bytes, or a float32 array when stored as a float list."""
    tf = _tf()
    ex = tf.train.Example.FromString(raw)
    feats = ex.features.feature
    if TFR_INPUT not in feats or not feats[TFR_INPUT].bytes_list.value:
        raise ValueError(f"{where}: record has no bytes feature {TFR_INPUT!r} (features: {sorted(feats)}); "
                         "expected basenji/baskerville records with 'sequence' and 'target'")
    target = feats[TFR_OUTPUT] if TFR_OUTPUT in feats else None
    if target is not None and target.bytes_list.value:
        return feats[TFR_INPUT].bytes_list.value[0], target.bytes_list.value[0]
    if target is not None and target.float_list.value:
        return feats[TFR_INPUT].bytes_list.value[0], np.asarray(target.float_list.value, np.float32)
    raise ValueError(f"{where}: record has no {TFR_OUTPUT!r} as bytes or a float list (features: "
                     f"{sorted(feats)}); expected basenji/baskerville records with 'sequence' and 'target'")


def record_layout(data_dir, split: str | None = None, *, stats: dict | None = None) -> RecordLayout:
    """Decide how a folder's records are stored, from its statistics and the first record.

    The sequence is base codes when it has ``seq_length`` bytes and one-hot when it has
    ``4 * seq_length``. A byte target is float16 or float32 by its byte length against
    ``target_length * num_targets``; when the statistics give only one of the two, the other is
    inferred assuming float16 (what basenji and baskerville write). A float-list target is float32.
    ``stats`` replaces ``statistics.json`` (e.g. the output of :func:`infer_statistics`).
    """
    stats = read_statistics(data_dir) if stats is None else stats
    if "seq_length" not in stats:
        raise ValueError(f"{Path(data_dir) / 'statistics.json'}: no seq_length; add it (the window length in bp)")
    seq_length = int(stats["seq_length"])
    t_len, n_tgt = stats.get("target_length"), stats.get("num_targets")
    path, rec = _first_record(data_dir, split)
    if rec is None:
        if t_len is None or n_tgt is None:
            raise ValueError(f"{data_dir}: no records and no target shape in statistics.json")
        return RecordLayout(seq_length, False, int(t_len), int(n_tgt), "float16")
    seq, tgt = rec
    if len(seq) == seq_length:
        one_hot = False
    elif len(seq) == 4 * seq_length:
        one_hot = True
    else:
        raise ValueError(f"{path}: first record's sequence has {len(seq)} bytes; statistics.json says "
                         f"seq_length {seq_length} (expected {seq_length} base codes or {4 * seq_length} "
                         "one-hot bytes); fix seq_length or the records")
    if isinstance(tgt, np.ndarray):
        return _float_list_layout(path, seq_length, one_hot, tgt.size, t_len, n_tgt)
    nb = len(tgt)
    if t_len is not None and n_tgt is not None:
        cells = int(t_len) * int(n_tgt)
        if nb == 2 * cells:
            dtype = "float16"
        elif nb == 4 * cells:
            dtype = "float32"
        else:
            raise ValueError(f"{path}: first record's target has {nb} bytes, which is neither float16 nor "
                             f"float32 of target_length {t_len} x num_targets {n_tgt} from statistics.json")
        return RecordLayout(seq_length, one_hot, int(t_len), int(n_tgt), dtype)
    known = t_len if t_len is not None else n_tgt
    if known is None or nb % (2 * int(known)):
        raise ValueError(f"{path}: cannot infer the target shape from {nb} bytes; statistics.json needs "
                         "target_length and num_targets")
    other = nb // (2 * int(known))
    logger.info("%s: target shape inferred as float16 with %s = %d", data_dir,
                "num_targets" if t_len is not None else "target_length", other)
    if t_len is not None:
        return RecordLayout(seq_length, one_hot, int(t_len), other, "float16")
    return RecordLayout(seq_length, one_hot, other, int(n_tgt), "float16")


def _float_list_layout(path, seq_length, one_hot, n_values, t_len, n_tgt) -> RecordLayout:
    if t_len is not None and n_tgt is not None:
        if n_values != int(t_len) * int(n_tgt):
            raise ValueError(f"{path}: first record's target holds {n_values} values, not target_length {t_len} x "
                             f"num_targets {n_tgt}")
    elif t_len is not None or n_tgt is not None:
        known = int(t_len if t_len is not None else n_tgt)
        if n_values % known:
            raise ValueError(f"{path}: first record's target holds {n_values} values, not a multiple of "
                             f"{'target_length' if t_len is not None else 'num_targets'} {known}")
        t_len, n_tgt = (known, n_values // known) if t_len is not None else (n_values // known, known)
    else:
        raise ValueError(f"{path}: the target holds {n_values} values (target_length x num_targets) and nothing "
                         "says how they split; give target_length (the model's output bins) or num_targets")
    return RecordLayout(seq_length, one_hot, int(t_len), int(n_tgt), "float_list")


def _sequence_length(seq: bytes, path) -> int:
    """Window length from a record's sequence bytes: one-hot (rows of four 0/1 bytes, most with one 1)
    or one base code per byte."""
    s = np.frombuffer(seq, dtype=np.uint8)
    if s.size % 4 == 0 and s.size and s.max() <= 1 and np.mean(s.reshape(-1, 4).sum(axis=1) == 1) > 0.5:
        return s.size // 4
    if s.size and s.max() <= dna.N_CODE:
        return s.size
    raise ValueError(f"{path}: the first record's sequence ({s.size} bytes) is neither one-hot nor base codes; "
                     "give seq_length")


def infer_statistics(data_dir, *, seq_length: int | None = None, target_length: int | None = None,
                     num_targets: int | None = None) -> dict:
    """Statistics of a records folder that has no ``statistics.json``, read from its records.

    The window length comes from the first record's sequence; the target's split into bins x tracks
    needs ``target_length`` or ``num_targets`` when the target is a float list (a trained model's output
    bins settle it); record counts per split are counted.

    Raises
    ------
    FileNotFoundError
        When the folder holds no record shards.
    ValueError
        When a shape cannot be settled or disagrees with the records (the message says which).
    """
    path, rec = _first_record(data_dir, None)
    if rec is None:
        raise FileNotFoundError(f"{data_dir}: no record shards (looked for tfrecords/{{split}}-*.tfr and "
                                "{prefix}-{split}-*.tfrecord for train, valid and test)")
    if seq_length is None:
        seq_length = _sequence_length(rec[0], path)
    known = {"seq_length": int(seq_length), "target_length": target_length, "num_targets": num_targets}
    layout = record_layout(data_dir, stats={k: v for k, v in known.items() if v is not None})
    stats = {"num_targets": layout.num_targets, "seq_length": layout.seq_length, "seq_1hot": not layout.seq_one_hot,
             "target_length": layout.target_length,
             **{f"{s}_seqs": count_records(data_dir, s) for s in SPLITS}, "inferred_from_records": True}
    logger.warning("%s has no statistics.json; inferred from its records: %s", data_dir,
                   {k: v for k, v in stats.items() if k != "inferred_from_records"})
    return stats


# ---------------------------------------------------------------------------------------------------
# writing


def encode_example(codes: np.ndarray, targets: np.ndarray) -> bytes:
    """One serialized ``tf.train.Example``.

    Parameters
    ----------
    codes : ndarray, uint8, shape (seq_length,)
        Base codes (0-3 = A, C, G, T; 4 = N).
    targets : ndarray, float, shape (target_length, num_targets)
        Stored as float16 (values beyond the float16 range are clipped to it, as baskerville does).
    """
    tf = _tf()
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim != 1:
        raise ValueError(f"codes must be 1-D base codes, got shape {codes.shape}")
    targets = np.asarray(targets)
    if targets.ndim != 2:
        raise ValueError(f"targets must be (target_length, num_targets), got shape {targets.shape}")
    f16 = np.finfo(np.float16)
    t16 = np.ascontiguousarray(np.clip(targets, f16.min, f16.max).astype(np.float16))
    feature = {
        TFR_INPUT: tf.train.Feature(bytes_list=tf.train.BytesList(value=[codes.tobytes()])),
        TFR_OUTPUT: tf.train.Feature(bytes_list=tf.train.BytesList(value=[t16.tobytes()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


class RecordWriter:
    """Write one split's records as ZLIB TFRecord shards ``tfrecords/{split}-{i}.tfr``.

    Each shard is written under a temporary name and renamed when it is complete, so an interrupted
    run never leaves a truncated shard under a final name. Use as a context manager.

    Parameters
    ----------
    data_dir : str or Path
        The data folder (``tfrecords/`` is made inside).
    split : str
    records_per_shard : int
    """

    def __init__(self, data_dir, split: str, *, records_per_shard: int = 256):
        if records_per_shard < 1:
            raise ValueError(f"records_per_shard must be >= 1, got {records_per_shard}")
        self.dir = Path(data_dir) / "tfrecords"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.split = split
        self.records_per_shard = records_per_shard
        self.n_records = 0
        self.files: list[Path] = []
        self._writer = None
        self._tmp = None
        self._in_shard = 0

    def _open(self):
        tf = _tf()
        final = self.dir / f"{self.split}-{len(self.files)}.tfr"
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=self.dir)
        os.close(fd)
        self._tmp, self._final = Path(tmp), final
        self._writer = tf.io.TFRecordWriter(str(tmp), options=tf.io.TFRecordOptions(compression_type="ZLIB"))
        self._in_shard = 0

    def _finish(self):
        if self._writer is None:
            return
        self._writer.close()
        os.replace(self._tmp, self._final)
        self.files.append(self._final)
        self._writer = self._tmp = None

    def write(self, codes: np.ndarray, targets: np.ndarray) -> None:
        """Append one record (see :func:`encode_example` for the arrays)."""
        if self._writer is None:
            self._open()
        self._writer.write(encode_example(codes, targets))
        self.n_records += 1
        self._in_shard += 1
        if self._in_shard >= self.records_per_shard:
            self._finish()

    def close(self) -> None:
        self._finish()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            if self._tmp is not None and self._tmp.exists():
                self._tmp.unlink()
            self._writer = self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def write_records(data_dir, split: str, records, *, records_per_shard: int = 256) -> int:
    """Write an iterable of ``(codes, targets)`` as the shards of one split; returns the record count."""
    with RecordWriter(data_dir, split, records_per_shard=records_per_shard) as w:
        for codes, targets in records:
            w.write(codes, targets)
    return w.n_records


def write_sequences_bed(data_dir, windows) -> Path:
    """Write ``sequences.bed`` (chrom start end split, no header) from a DataFrame with those columns."""
    from genocore.files import write_table

    return write_table(Path(data_dir) / "sequences.bed", windows[["chrom", "start", "end", "split"]], header=False)


def read_sequences_bed(data_dir):
    """``sequences.bed`` of a records folder: one window per record, 0-based half-open.

    Returns
    -------
    DataFrame
        ``chrom`` (str), ``start``, ``end`` (int64), ``split`` (str: the BED's name column), in record order.
    """
    from genocore.bed import read_bed

    bed = read_bed(Path(data_dir) / "sequences.bed")
    return bed[["chrom", "start", "end", "name"]].rename(columns={"name": "split"})


# ---------------------------------------------------------------------------------------------------
# reading


def _decode_numpy(seq: bytes, tgt: bytes, layout: RecordLayout, where) -> tuple[np.ndarray, np.ndarray]:
    s = np.frombuffer(seq, dtype=np.uint8)
    if layout.seq_one_hot:
        if s.size != 4 * layout.seq_length:
            raise ValueError(f"{where}: sequence has {s.size} bytes, expected {4 * layout.seq_length}")
        oh = s.reshape(layout.seq_length, 4)
        codes = np.where(oh.sum(axis=1) == 1, oh.argmax(axis=1), dna.N_CODE).astype(np.uint8)
    else:
        if s.size != layout.seq_length:
            raise ValueError(f"{where}: sequence has {s.size} bytes, expected {layout.seq_length}")
        codes = np.minimum(s, dna.N_CODE).astype(np.uint8)
    t = tgt if isinstance(tgt, np.ndarray) else np.frombuffer(tgt, dtype=layout.target_dtype)
    if t.size != layout.target_length * layout.num_targets:
        raise ValueError(f"{where}: target has {t.size} values, expected "
                         f"{layout.target_length} x {layout.num_targets}")
    return codes, t.reshape(layout.target_length, layout.num_targets).astype(np.float32)


def iterate_records(data_dir, split: str, *, stats: dict | None = None):
    """Iterate over a split's records as numpy arrays, in shard order (``stats`` as :func:`record_layout`).

    Yields
    ------
    codes : ndarray, uint8, shape (seq_length,)
        Base codes 0-3; 4 for N (any code above 3, or a one-hot row that is not exactly one 1).
    targets : ndarray, float32, shape (target_length, num_targets)
    """
    tf = _tf()
    layout = record_layout(data_dir, split, stats=stats)
    for f in shard_files(data_dir, split):
        for i, raw in enumerate(tf.data.TFRecordDataset(str(f), compression_type="ZLIB")):
            where = f"{f} record {i}"
            seq, tgt = _parse_example(raw.numpy(), where)
            yield _decode_numpy(seq, tgt, layout, where)


def count_records(data_dir, split: str) -> int:
    """Number of records in a split's shards (reads them all)."""
    tf = _tf()
    n = 0
    for f in shard_files(data_dir, split):
        n += sum(1 for _ in tf.data.TFRecordDataset(str(f), compression_type="ZLIB"))
    return n


def dataset(data_dir, split: str, *, batch_size: int, shuffle: bool = False, seed: int | None = None,
            repeat: bool = False, shuffle_buffer: int = 128, drop_remainder: bool = False, stats: dict | None = None):
    """A ``tf.data.Dataset`` of one split: ``(one_hot, targets)`` batches.

    Parameters
    ----------
    data_dir : str or Path
        A basenji / baskerville data folder.
    split : str
        ``"train"``, ``"valid"`` or ``"test"`` (any prefix of ``tfrecords/{split}-*.tfr`` works).
    batch_size : int
    shuffle : bool
        Shuffle the shard order and records (through a buffer of ``shuffle_buffer``); needs ``seed``.
    seed : int, optional
    repeat : bool
        Repeat forever (for training with ``steps_per_epoch``).
    drop_remainder : bool
        Drop a last, smaller batch.
    stats : dict, optional
        The folder's statistics when it has no ``statistics.json`` (:func:`infer_statistics`).

    Returns
    -------
    tf.data.Dataset
        Elements ``(x, y)``: x float32, shape (B, seq_length, 4), one-hot with all-zero rows for N;
        y float32, shape (B, target_length, num_targets).
    """
    tf = _tf()
    if shuffle and seed is None:
        raise ValueError("shuffle=True needs an explicit seed (randomness comes only from a seed)")
    files = [str(f) for f in shard_files(data_dir, split)]
    if not files:
        raise FileNotFoundError(f"{data_dir}: no {split} shards (tfrecords/{split}-*.tfr or "
                                f"{{prefix}}-{split}-*.tfrecord)")
    layout = record_layout(data_dir, split, stats=stats)
    L, T, C = layout.seq_length, layout.target_length, layout.num_targets
    tdtype = tf.float16 if layout.target_dtype == "float16" else tf.float32
    floats = layout.target_dtype == "float_list"
    spec = {TFR_INPUT: tf.io.FixedLenFeature([], tf.string),
            TFR_OUTPUT: tf.io.FixedLenFeature([T * C] if floats else [], tf.float32 if floats else tf.string)}

    def parse(raw):
        feats = tf.io.parse_single_example(raw, spec)
        seq = tf.io.decode_raw(feats[TFR_INPUT], tf.uint8)
        if layout.seq_one_hot:
            x = tf.cast(tf.reshape(seq, [L, 4]), tf.float32)
        else:
            # tf.one_hot gives an all-zero row for an index outside [0, 4): N (4) and any other code
            x = tf.one_hot(tf.cast(tf.reshape(seq, [L]), tf.int32), 4, dtype=tf.float32)
        y = feats[TFR_OUTPUT] if floats else tf.io.decode_raw(feats[TFR_OUTPUT], tdtype)
        y = tf.cast(tf.reshape(y, [T, C]), tf.float32)
        return x, y

    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.flat_map(lambda f: tf.data.TFRecordDataset(f, compression_type="ZLIB"))
    if repeat:
        ds = ds.repeat()
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)
